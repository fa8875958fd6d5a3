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
  /** The compact JSON text of `value`. */
  readonly text: string;

  constructor(
    /** The payload object. */
    readonly value: JsonObject,
    text?: string,
  ) {
    this.text = text ?? JSON.stringify(value);
  }
}
