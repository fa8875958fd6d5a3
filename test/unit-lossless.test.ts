/**
 * Reading and writing JSON without rounding numbers, and the nesting limit, on the text alone.
 */
import { isLosslessNumber } from 'lossless-json';
import { MAX_JSON_DEPTH, cloneJson, hasInexactNumber, jsonDepthExceeds, parseLossless, stringifyLossless, type JsonObject } from '../shared/json';

describe('parseLossless / stringifyLossless', () => {
  it('keeps a 20-digit integer, 1.0, 1e5 and -0 as they were written', () => {
    const text = '{"big":12345678901234567890,"one":1.0,"exp":1e5,"zero":-0,"plain":[1,2.5,-3],"s":"1.0"}';
    expect(stringifyLossless(parseLossless(text))).toBe(text);
  });

  it('reads numbers JavaScript holds exactly as plain numbers', () => {
    const v = parseLossless('{"a":12,"b":2.5,"c":12345678901234567890}') as JsonObject;
    expect(v.a).toBe(12);
    expect(v.b).toBe(2.5);
    expect(isLosslessNumber(v.c)).toBe(true);
  });

  it('reads a key given twice as JSON.parse does (the last value wins)', () => {
    expect(parseLossless('{"a":1.0,"a":2}')).toEqual({ a: 2 });
  });

  it('cloneJson keeps lossless numbers (structuredClone would turn them into plain objects)', () => {
    const v = parseLossless('{"x":[{"n":1.0}]}') as JsonObject;
    expect(stringifyLossless(cloneJson(v))).toBe('{"x":[{"n":1.0}]}');
  });
});

describe('hasInexactNumber', () => {
  it.each(['12345678901234567890', '1.0', '1e5', '-0', '0.10', '1E3'])('finds %s', (n) => {
    expect(hasInexactNumber(`{"a":[1,${n}]}`)).toBe(true);
  });

  it('ignores numbers JavaScript writes back the same, and digits inside strings', () => {
    expect(hasInexactNumber('{"a":[1,-2.5,0,1e+21],"s":"1.0 and 12345678901234567890","e":"\\"1.0"}')).toBe(false);
  });
});

describe('jsonDepthExceeds', () => {
  it(`allows ${MAX_JSON_DEPTH} levels and refuses one more`, () => {
    const nest = (n: number): string => `${'['.repeat(n)}${']'.repeat(n)}`;
    expect(jsonDepthExceeds(nest(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(false);
    expect(jsonDepthExceeds(nest(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)).toBe(true);
  });

  it('does not count brackets inside strings, also on UTF-8 bytes', () => {
    const text = `{"s":"${'['.repeat(50)}\\"{{{","t":"é"}`;
    expect(jsonDepthExceeds(text, 1)).toBe(false);
    expect(jsonDepthExceeds(Buffer.from(text), 1)).toBe(false);
    expect(jsonDepthExceeds(Buffer.from('{"a":{"b":1}}'), 1)).toBe(true);
  });
});
