/**
 * Inline-size measurement and the oversize decision (README, "Key layout"), the boundary against s3rver.
 */
import fc from 'fast-check';
import { newPayloadBucket, startS3rver, type LocalS3 } from './helpers/s3rver';
import { SerializedPayload, type JsonObject } from '../shared/json';
import { PayloadBucket, parseUrl } from '../shared/payload-bucket';
import {
  MAX_PAYLOAD_LENGTH,
  escapedJsonStringBytes,
  escapedJsonUtf8Bytes,
  inlineOrReference,
  isOversized,
  measureInlineSize,
  toInlineOrReference,
} from '../shared/size';
import { UUID } from './helpers/samples';


/** The inline size as the README's "Key layout" section defines it, computed the slow and obvious way: JSON, embedded again as a JSON string, in UTF-8 bytes. */
function oracle(p: unknown): number {
  return Buffer.byteLength(JSON.stringify(JSON.stringify(p)), 'utf8');
}

function basePayload(pad = ''): JsonObject {
  return {
    type: 'FeatureCollection',
    id: 'sentinel-s2-l2a/workflow-cog-archive/S2B_17HQD_20201103_0_L2A',
    features: [{ type: 'Feature', id: 'S2B_17HQD_20201103_0_L2A', collection: 'sentinel-s2-l2a', properties: {} }],
    process: [{ workflow: 'cog-archive', upload_options: {}, tasks: {} }],
    pad,
  };
}

/**
 * A payload whose measured size is exactly `target`: the `pad` field holds `unit` repeated as
 * often as fits, then ASCII `x` (1 byte each) for the rest.
 */
function payloadOfSize(target: number, unit = 'x'): JsonObject {
  const empty = oracle(basePayload(''));
  const perUnit = oracle(basePayload(unit)) - empty;
  const units = Math.floor((target - empty) / perUnit);
  const p = basePayload(unit.repeat(units) + 'x'.repeat(target - empty - units * perUnit));
  expect(oracle(p)).toBe(target); // the construction itself is checked against the definition
  return p;
}

/** Bytes one occurrence of `s` adds to the measured size of a payload. */
function addedBytes(s: string): number {
  return measureInlineSize({ s }) - measureInlineSize({ s: '' });
}

describe('measureInlineSize', () => {
  it('MAX_PAYLOAD_LENGTH is 120000', () => {
    expect(MAX_PAYLOAD_LENGTH).toBe(120000);
  });

  it.each([
    ['an empty object', {}],
    ['a realistic payload', basePayload('padding')],
    ['é (2 bytes in UTF-8)', { s: 'café' }],
    ['中 (3 bytes in UTF-8)', { s: '中文字' }],
    ['an emoji (4 bytes, a surrogate pair)', { s: '😀🛰️' }],
    ['double quotes', { s: 'say "hi"', 'k"ey': '"' }],
    ['backslashes', { s: 'C:\\path\\to\\file', re: '\\d+' }],
    ['newline, tab, CR, backspace, form feed', { s: 'a\nb\tc\rd\be\f' }],
    ['other control characters', { s: '\u0000\u0001\u001f\u007f' }],
    ['lone surrogates', { s: '\ud800 x \udfff', ['\udc00']: 1 }],
    ['U+2028 and U+2029', { s: '\u2028\u2029' }],
    ['nested arrays, numbers, booleans and null', { a: [1, -2.5, 1e21, true, false, null, [{ b: 'é"\\' }]] }],
  ])('equals the UTF-8 bytes of JSON.stringify(JSON.stringify(p)) for %s', (_label, p) => {
    expect(measureInlineSize(p as JsonObject)).toBe(oracle(p));
  });

  it('equals the definition for arbitrary payloads, including any unicode and lone surrogates', () => {
    const unit = fc.oneof(
      fc.constantFrom('"', '\\', '\n', '\u0000', '\u001f', 'é', '中', '😀', '\ud800', '\udfff'),
      fc.integer({ min: 0, max: 0x10ffff }).map((cp) => String.fromCodePoint(cp)),
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit }), fc.jsonValue({ stringUnit: unit, maxDepth: 3 })), (p) => {
        expect(measureInlineSize(p as JsonObject)).toBe(oracle(p));
      }),
      { numRuns: 300 },
    );
  });

  it.each([
    ['é', 2],
    ['中', 3],
    ['😀', 4],
    ['"', 4], // \" inside the JSON, \\\" once embedded again
    ['\\', 4], // \\ inside the JSON, \\\\ once embedded again
    ['\n', 3], // \n, then \\n
    ['\u0001', 7], // \u0001, then \\u0001
    ['x', 1],
  ])('counts %j as %i bytes', (s, bytes) => {
    expect(addedBytes(s)).toBe(bytes);
  });

  it('measures a SerializedPayload by its text', () => {
    const p = basePayload('é"\\');
    expect(measureInlineSize(new SerializedPayload(p))).toBe(oracle(p));
    const pretty = JSON.stringify(p, null, 2);
    expect(measureInlineSize(new SerializedPayload(p, pretty))).toBe(Buffer.byteLength(JSON.stringify(pretty)));
  });

  it('measures a JSON text string as that text embedded as a JSON string', () => {
    const text = JSON.stringify(basePayload('中"\\\n'));
    expect(measureInlineSize(text)).toBe(Buffer.byteLength(JSON.stringify(text)));
  });

  it('escapedJsonStringBytes equals the UTF-8 length of JSON.stringify(text)', () => {
    for (const text of ['', 'plain', '"\\', '\u0000\b\f\n\r\t\u000b\u001f', 'é中😀', '{"a":"\\"b\\""}']) {
      expect(escapedJsonStringBytes(text)).toBe(Buffer.byteLength(JSON.stringify(text)));
    }
  });

  it('builds boundary payloads of the exact size with multi-byte and escaped padding', () => {
    for (const unit of ['x', 'é', '中', '😀', '"', '\\']) {
      expect(measureInlineSize(payloadOfSize(MAX_PAYLOAD_LENGTH, unit))).toBe(MAX_PAYLOAD_LENGTH);
    }
  });
});

describe('isOversized', () => {
  it('is false at exactly 120000 bytes', () => {
    expect(isOversized(payloadOfSize(120000))).toBe(false);
  });

  it('is true at 120001 bytes', () => {
    expect(isOversized(payloadOfSize(120001))).toBe(true);
  });

  it('counts multi-byte characters in bytes, not characters', () => {
    // 120000 bytes, but far fewer characters (and far fewer UTF-16 code units) than that.
    const p = payloadOfSize(120001, '中');
    expect(JSON.stringify(JSON.stringify(p)).length).toBeLessThan(120000);
    expect(isOversized(p)).toBe(true);
  });

  it('counts quotes and backslashes escaped twice', () => {
    const p = payloadOfSize(120001, '"');
    expect(JSON.stringify(p).length).toBeLessThan(120000);
    expect(isOversized(p)).toBe(true);
    const q = payloadOfSize(120001, '\\');
    expect(JSON.stringify(q).length).toBeLessThan(120000);
    expect(isOversized(q)).toBe(true);
  });

  it('honours a custom limit', () => {
    const p = payloadOfSize(5000);
    expect(isOversized(p, 5000)).toBe(false);
    expect(isOversized(p, 4999)).toBe(true);
  });
});

describe('toInlineOrReference against s3rver', () => {
  let local: LocalS3;

  beforeAll(async () => {
    local = await startS3rver();
  });

  afterAll(async () => {
    await local?.stop();
  });

  async function freshBucket(): Promise<{ name: string; pb: PayloadBucket }> {
    const { name, bucket: pb } = await newPayloadBucket(local, 'size');
    return { name, pb };
  }

  it.each([['x'], ['é'], ['中'], ['😀'], ['"'], ['\\']])(
    'keeps a payload of exactly 120000 bytes inline (padding %j): same text, no upload',
    async (unit) => {
      const { name, pb } = await freshBucket();
      const p = payloadOfSize(120000, unit);
      const serialized = new SerializedPayload(p);
      const r = await toInlineOrReference(serialized, pb);
      expect(r.text).toBe(serialized.text);
      expect(r.size).toBe(120000);
      expect(r.url).toBeUndefined();
      expect(await local.listKeys(name)).toEqual([]);
    },
  );

  it.each([['x'], ['é'], ['中'], ['😀'], ['"'], ['\\']])(
    'offloads a payload of 120001 bytes (padding %j) to tmp/oversized and returns {"url"}',
    async (unit) => {
      const { name, pb } = await freshBucket();
      const p = payloadOfSize(120001, unit);
      const r = await toInlineOrReference(p, pb);
      expect(r.size).toBe(120001);
      expect(r.url).toMatch(new RegExp(`^s3://${name}/cirrus/tmp/oversized/${UUID}\\.json$`));
      expect(r.text).toBe(JSON.stringify({ url: r.url }));
      const key = parseUrl(r.url as string).key;
      expect(await local.listKeys(name)).toEqual([key]);
      expect(await local.getText(name, key)).toBe(JSON.stringify(p));
      expect(await local.contentType(name, key)).toBe('application/json');
    },
  );

  it('inlineOrReference returns the payload object itself at the limit', async () => {
    const { name, pb } = await freshBucket();
    const p = payloadOfSize(120000);
    expect(await inlineOrReference(p, pb)).toBe(p);
    expect(await local.listKeys(name)).toEqual([]);
  });

  it('inlineOrReference returns {"url"} one byte over the limit, and the object re-hydrates to the payload', async () => {
    const { name, pb } = await freshBucket();
    const p = payloadOfSize(120001, 'é');
    const r = await inlineOrReference(p, pb);
    expect(Object.keys(r)).toEqual(['url']);
    expect(String(r.url)).toMatch(new RegExp(`^s3://${name}/cirrus/tmp/oversized/${UUID}\\.json$`));
    expect(await pb.readPayload(String(r.url))).toEqual(p);
  });

  it('honours a custom limit', async () => {
    const { name, pb } = await freshBucket();
    const p = payloadOfSize(3000);
    expect((await toInlineOrReference(p, pb, 3000)).url).toBeUndefined();
    expect((await toInlineOrReference(p, pb, 2999)).url).toBeDefined();
    expect(await local.listKeys(name)).toHaveLength(1);
  });
});

describe('measuring UTF-8 bytes read from S3 (no decoded string kept)', () => {
  it('escapedJsonUtf8Bytes equals the string measure for text with quotes, backslashes, control and multi-byte characters', () => {
    const samples = [
      '{"a":"plain"}',
      '{"q":"say \\"hi\\"","b":"back\\\\slash"}',
      '{\n  "pretty": "printed\\ttext"\n}',
      '{"é":"中文 😀 ✓","ctl":"\\u0001\\u001f"}',
      JSON.stringify({ mixed: 'x"y\\z\n\t\u0000é中😀'.repeat(50) }),
    ];
    for (const text of samples) {
      const expected = Buffer.byteLength(JSON.stringify(text));
      expect(escapedJsonUtf8Bytes(Buffer.from(text, 'utf8'))).toBe(expected);
      expect(measureInlineSize(new SerializedPayload(JSON.parse(text) as JsonObject, undefined, Buffer.from(text, 'utf8')))).toBe(expected);
    }
  });

  it('a SerializedPayload built from bytes decodes its text only when asked', () => {
    const text = JSON.stringify({ id: 'c/workflow-w/i', features: [] });
    const s = new SerializedPayload(JSON.parse(text) as JsonObject, undefined, Buffer.from(text));
    expect(s.body).toBeInstanceOf(Buffer);
    expect(s.text).toBe(text);
  });
});
