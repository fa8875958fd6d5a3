/**
 * JSON helpers: the object test and the serialise-once wrapper.
 */
import { SerializedPayload, isJsonObject } from '../shared/json';

describe('isJsonObject', () => {
  it('is true only for plain objects', () => {
    expect(isJsonObject({})).toBe(true);
    expect(isJsonObject({ a: 1 })).toBe(true);
    for (const v of [null, [], 'x', 1, true, undefined]) expect(isJsonObject(v)).toBe(false);
  });
});

describe('SerializedPayload', () => {
  it('serialises the value once with JSON.stringify', () => {
    const value = { a: 'é', b: [1, 2] };
    const s = new SerializedPayload(value);
    expect(s.text).toBe('{"a":"é","b":[1,2]}');
    expect(s.value).toBe(value);
  });

  it('keeps a text that was already serialised', () => {
    expect(new SerializedPayload({ a: 1 }, '{ "a": 1 }').text).toBe('{ "a": 1 }');
  });
});
