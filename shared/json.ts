/**
 * JSON value types used across the project.
 * @module
 */

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
