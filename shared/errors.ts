/**
 * Named error classes shared by every function, the CLI and the CDK code.
 *
 * Each class sets `name` to its own class name so that logs, Step Functions error names and
 * tests can tell them apart without `instanceof` across bundles.
 * @module
 */

/** Base class of every error this project raises on purpose. */
export class CirrusError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** `CIRRUS_PAYLOAD_BUCKET` is missing or empty where a payload bucket is needed. */
export class UndefinedPayloadBucketError extends CirrusError {}

/** A configuration value (environment variable, flag or CDK context) is malformed. */
export class ConfigurationError extends CirrusError {}

/** A string that should be an `s3://bucket/key` URL is not one. */
export class InvalidS3UrlError extends CirrusError {}

/** A record has no `url` and therefore cannot be read from S3 (Cirrus `NoUrlError`). */
export class NoUrlError extends CirrusError {}

/** A `{"url": …}` reference points to a bucket this deployment may not read payloads from. */
export class ReferenceNotAllowedError extends CirrusError {}

/** A referenced payload object does not exist or is not a JSON object. */
export class PayloadReadError extends CirrusError {}

/** A message could not be turned into a record (not JSON, unknown envelope, …). */
export class RecordExtractError extends CirrusError {}

/**
 * The record is not a valid process payload. `field` names the offending field
 * (`type`, `features`, `process`, `process[0].workflow`, `id`, …).
 */
export class NotAProcessPayloadError extends CirrusError {
  /** The payload field that failed validation. */
  readonly field: string;

  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(`not a process payload: ${field}: ${message}`, options);
    this.field = field;
  }
}

/** No StateDB item exists for the payload id. */
export class PayloadNotFoundError extends CirrusError {
  constructor(readonly payloadId: string) {
    super(`payload not found in the state database: ${payloadId}`);
  }
}

/** The StateDB item has no recorded execution. */
export class ExecutionNotFoundError extends CirrusError {
  constructor(readonly payloadId: string) {
    super(`payload has no execution yet: ${payloadId}`);
  }
}

/** A workflow execution status-change event lacks a field update-state needs. */
export class MalformedEventError extends CirrusError {}

/** Returns `err.name` for errors and `typeof` for anything thrown that is not an Error. */
export function errorName(err: unknown): string {
  if (err instanceof Error) return err.name;
  if (err && typeof err === 'object' && 'name' in err) return String((err as { name: unknown }).name);
  return typeof err;
}

/** Returns a readable message for anything thrown. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  try {
    return typeof err === 'string' ? err : JSON.stringify(err);
  } catch {
    return String(err);
  }
}

/**
 * The text Python's botocore gives an AWS service error (`str(ClientError)`):
 * `An error occurred (<Code>) when calling the <Operation> operation: <message>`. Cirrus records
 * and announces AWS errors in this form, so subscribers filtering workflow events on `error`
 * see the same text from either implementation.
 */
export function awsErrorText(err: unknown, operation: string): string {
  return `An error occurred (${errorName(err)}) when calling the ${operation} operation: ${errorMessage(err)}`;
}
