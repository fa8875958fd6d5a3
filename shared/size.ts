/**
 * Inline-size measurement and the oversize decision (README, "Key layout").
 * @module
 */
import type { PayloadBucket } from './payload-bucket';
import { SerializedPayload, type JsonObject } from './json';

/** The largest payload, in UTF-8 bytes of its doubly-escaped JSON, passed inline. */
export const MAX_PAYLOAD_LENGTH = 120000;

/** The length of a string in UTF-8 bytes (S3 keys, DynamoDB keys, SNS and SQS limits count bytes). */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function countChar(text: string, ch: string): number {
  let n = 0;
  let i = text.indexOf(ch);
  while (i !== -1) {
    n++;
    i = text.indexOf(ch, i + 1);
  }
  return n;
}

/**
 * UTF-8 byte length of `JSON.stringify(text)` computed without building that string: the
 * native UTF-8 length of `text`, plus the two enclosing quotes, plus one byte for every `"` and
 * `\` (escaped as two characters), plus the escape overhead of control characters (`\n` and
 * friends add one byte, the rest become `\u00XX` and add five).
 */
export function escapedJsonStringBytes(text: string): number {
  let bytes = utf8Length(text) + 2 + countChar(text, '"') + countChar(text, '\\');
  // eslint-disable-next-line no-control-regex
  const control = /[\u0000-\u001f]/g;
  if (control.test(text)) {
    control.lastIndex = 0;
    for (let m = control.exec(text); m !== null; m = control.exec(text)) {
      const c = m[0];
      bytes += c === '\b' || c === '\f' || c === '\n' || c === '\r' || c === '\t' ? 1 : 5;
    }
  }
  return bytes;
}

/**
 * {@link escapedJsonStringBytes} computed on UTF-8 bytes instead of a string: in UTF-8 every byte
 * below 0x80 is an ASCII character, so quotes, backslashes and control characters are counted
 * exactly without decoding.
 */
export function escapedJsonUtf8Bytes(bytes: Uint8Array): number {
  let extra = 2;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x22 || b === 0x5c) extra += 1;
    else if (b < 0x20) extra += b === 0x08 || b === 0x0c || b === 0x0a || b === 0x0d || b === 0x09 ? 1 : 5;
  }
  return bytes.length + extra;
}

/**
 * The inline size of a payload: its JSON, embedded again as a JSON string (as EventBridge embeds
 * Step Functions input and output), in UTF-8 bytes.
 */
export function measureInlineSize(payload: JsonObject | SerializedPayload | string): number {
  if (payload instanceof SerializedPayload && payload.bytes) return escapedJsonUtf8Bytes(payload.bytes);
  const text = typeof payload === 'string' ? payload : payload instanceof SerializedPayload ? payload.text : JSON.stringify(payload);
  return escapedJsonStringBytes(text);
}

/** True when the payload must be offloaded (its inline size is over {@link MAX_PAYLOAD_LENGTH}). */
export function isOversized(payload: JsonObject | SerializedPayload | string, limit = MAX_PAYLOAD_LENGTH): boolean {
  return measureInlineSize(payload) > limit;
}

/** What goes to Step Functions for a payload. */
export interface InlineOrReference {
  /** The JSON text to pass as execution input or task output. */
  text: string;
  /** The measured inline size of the full payload. */
  size: number;
  /** The `tmp/oversized/` URL when the payload was offloaded. */
  url?: string;
}

/**
 * Decides how a payload travels: inline when it fits, else uploaded to `tmp/oversized/` and
 * replaced by `{"url": …}`. The payload is serialised once; the same text serves the size check,
 * the upload and the returned inline value. `options.storedAt`: the URL of an object of the payload
 * bucket that already holds exactly this text; the oversized object is then a server-side copy.
 */
export async function toInlineOrReference(
  payload: JsonObject | SerializedPayload,
  bucket: PayloadBucket,
  limit = MAX_PAYLOAD_LENGTH,
  options: { storedAt?: string } = {},
): Promise<InlineOrReference> {
  const serialized = payload instanceof SerializedPayload ? payload : new SerializedPayload(payload);
  const size = measureInlineSize(serialized);
  if (size <= limit) return { text: serialized.text, size };
  // When the same text is already stored in the bucket (process has just written input.json), the
  // oversized object is a server-side copy of it.
  const url = options.storedAt ? await bucket.copyToOversized(options.storedAt) : await bucket.uploadOversizePayload(serialized);
  return { text: JSON.stringify({ url }), size, url };
}

/** Like {@link toInlineOrReference} but returns the object form (`payload` or `{url}`). */
export async function inlineOrReference(
  payload: JsonObject,
  bucket: PayloadBucket,
  limit = MAX_PAYLOAD_LENGTH,
): Promise<JsonObject> {
  const serialized = new SerializedPayload(payload);
  const r = await toInlineOrReference(serialized, bucket, limit);
  return r.url ? { url: r.url } : payload;
}
