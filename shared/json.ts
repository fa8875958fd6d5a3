/**
 * JSON value types used across the project.
 * @module
 */
import { isLosslessNumber, LosslessNumber, parse as losslessParse, stringify as losslessStringify } from 'lossless-json';

/** Any JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;

/** A JSON object. */
export interface JsonObject {
  [key: string]: JsonValue;
}

/** True when `v` is a plain JSON object (not an array, not null). */
export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A payload together with its one JSON serialisation, so that the size check, the S3 upload and
 * `StartExecution` share a single `JSON.stringify` (large payloads are never serialised twice).
 */
export class SerializedPayload {
  private cachedText: string | undefined;

  constructor(
    /** The payload object. */
    readonly value: JsonObject,
    text?: string,
    /**
     * The UTF-8 bytes of the JSON, when they are at hand already (a payload read from S3). The
     * text is then decoded only if asked for, so a large payload is held once as bytes and once
     * as an object, not also as a string.
     */
    readonly bytes?: Buffer,
  ) {
    this.cachedText = text ?? (bytes === undefined ? JSON.stringify(value) : undefined);
  }

  /** The JSON text of `value` (compact, unless it was read as it is from a stored object). */
  get text(): string {
    this.cachedText ??= (this.bytes as Buffer).toString('utf8');
    return this.cachedText;
  }

  /** What to store: the UTF-8 bytes when at hand (no further copy), else the text. */
  get body(): string | Buffer {
    return this.bytes ?? this.text;
  }
}

/**
 * Parses JSON keeping every number's exact value and text: a number JavaScript holds exactly and
 * prints the same (`12`, `2.5`) becomes a `number`; any other (`12345678901234567890`, `1.0`,
 * `1e5`, `-0`) a lossless-json `LosslessNumber`, which {@link stringifyLossless} writes back as it
 * was. Used only where a payload must be written again (an `id` added, items published, chained
 * payloads built); a payload stored or forwarded unchanged keeps the bytes it came with.
 *
 * JSON with a key given twice is read as `JSON.parse` reads it (the last value wins), since
 * lossless-json refuses it.
 */
export function parseLossless(text: string): JsonValue {
  // Most payloads hold only numbers JavaScript keeps exactly: the native parser reads them alike.
  if (!hasInexactNumber(text)) return JSON.parse(text) as JsonValue;
  try {
    return losslessParse(text, null, keepNumberText) as JsonValue;
  } catch (err) {
    if (err instanceof SyntaxError && /^Duplicate key/.test(err.message)) return JSON.parse(text) as JsonValue;
    throw err;
  }
}

/**
 * True when the JSON text holds a number that `JSON.parse` followed by `JSON.stringify` would not
 * write back as it is (`12345678901234567890`, `1.0`, `1e5`, `-0`). A scan: no parse, no recursion.
 */
export function hasInexactNumber(text: string): boolean {
  for (let i = 0, n = text.length; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      i = stringEnd(text, i) - 1;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      for (let d = text.charCodeAt(j); (d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d; d = text.charCodeAt(++j));
      const token = text.slice(i, j);
      if (String(Number(token)) !== token) return true;
      i = j - 1;
    }
  }
  return false;
}

/** Writes JSON as compact text; numbers read by {@link parseLossless} keep their text. */
export function stringifyLossless(value: JsonValue): string {
  return losslessStringify(value) as string;
}

/** A number's value as a JavaScript number (`LosslessNumber`s are rounded), else undefined. */
export function numericValue(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (isLosslessNumber(v)) return Number(v.value);
  return undefined;
}

/** The JSON text of a number (a `LosslessNumber` keeps its own), else undefined. */
export function numberText(v: unknown): string | undefined {
  if (typeof v === 'number') return JSON.stringify(v);
  if (isLosslessNumber(v)) return v.value;
  return undefined;
}

function keepNumberText(text: string): number | LosslessNumber {
  const n = Number(text);
  return String(n) === text ? n : new LosslessNumber(text);
}

/**
 * The end (exclusive) of the JSON string whose opening quote is at `open`: the next quote not
 * escaped by an odd number of backslashes. Found with the native `indexOf`, so the text inside
 * strings (most of a payload) is never walked character by character.
 */
function stringEnd(json: string | Buffer, open: number): number {
  let q = nextQuote(json, open + 1);
  for (;;) {
    if (q === -1) return json.length;
    let backslashes = 0;
    while (code(json, q - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return q + 1;
    q = nextQuote(json, q + 1);
  }
}

function nextQuote(json: string | Buffer, from: number): number {
  return typeof json === 'string' ? json.indexOf('"', from) : json.indexOf(0x22, from);
}

function code(json: string | Buffer, i: number): number {
  return typeof json === 'string' ? json.charCodeAt(i) : json[i];
}

/**
 * True when the JSON text (or its UTF-8 bytes) nests arrays and objects deeper than `limit`. A
 * scan of the text: it needs no parse and no recursion, so it is safe on any input.
 */
export function jsonDepthExceeds(json: string | Uint8Array, limit: number): boolean {
  const j = typeof json === 'string' || Buffer.isBuffer(json) ? json : Buffer.from(json.buffer, json.byteOffset, json.byteLength);
  let depth = 0;
  for (let i = 0, n = j.length; i < n; i++) {
    const c = code(j, i);
    if (c === 0x22) {
      i = stringEnd(j, i) - 1;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

/**
 * The deepest nesting of arrays and objects a payload may have. Deeper JSON parses, but cannot be
 * written back by every part of the pipeline (JavaScript's serialisers recurse and overflow the
 * stack near 5,000 levels; Cirrus's Python tasks stop at 1,000), so it is invalid however it arrives.
 */
export const MAX_JSON_DEPTH = 1000;

/**
 * A deep copy of a JSON value. Unlike `structuredClone`, numbers read by {@link parseLossless}
 * stay lossless numbers (they are immutable, so they are shared).
 */
export function cloneJson<T extends JsonValue>(v: T): T {
  if (Array.isArray(v)) return v.map((x) => cloneJson(x)) as T;
  if (isJsonObject(v) && !isLosslessNumber(v)) {
    const out: JsonObject = {};
    for (const k of Object.keys(v)) out[k] = cloneJson(v[k]);
    return out as T;
  }
  return v;
}
