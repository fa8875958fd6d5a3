/**
 * Named error classes shared by every function, the CLI and the CDK code.
 *
 * Each class sets `name` to its own class name so that logs, Step Functions error names and
 * tests can tell them apart without `instanceof` across bundles.
 * @module
 */

/**
 * An error whose `name` is the name of the class it was created from, set once here so that each
 * named error class is a one-line declaration. The bundles keep class names (esbuild `keepNames`).
 */
export class NamedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Base class of every error this project raises on purpose. */
export class CirrusError extends NamedError {}

/** `CIRRUS_PAYLOAD_BUCKET` is missing or empty where a payload bucket is needed. */
export class UndefinedPayloadBucketError extends CirrusError {}

/** A configuration value (environment variable, flag or CDK context) is malformed. */
export class ConfigurationError extends CirrusError {}

/**
 * The record is invalid: process stores it under `tmp/invalid` and reports it failed, and retrying
 * cannot help. Any other error while a record is read (S3 throttling, a network error, …) means the
 * record is fine and is retried. process decides between the two with one `instanceof` on this class.
 */
export class InvalidRecordError extends CirrusError {}

/** A string that should be an `s3://bucket/key` URL is not one. */
export class InvalidS3UrlError extends InvalidRecordError {}

/** A record has no `url` and therefore cannot be read from S3 (Cirrus `NoUrlError`). */
export class NoUrlError extends CirrusError {}

/** A `{"url": …}` reference points to a bucket this deployment may not read payloads from. */
export class ReferenceNotAllowedError extends InvalidRecordError {}

/** A referenced payload object does not exist or is not a JSON object. */
export class PayloadReadError extends InvalidRecordError {}

/** A message could not be turned into a record (not JSON, unknown envelope, …). */
export class RecordExtractError extends InvalidRecordError {}

/**
 * The record is not a valid process payload. `field` names the offending field
 * (`type`, `features`, `process`, `process[0].workflow`, `id`, …).
 */
export class NotAProcessPayloadError extends InvalidRecordError {
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

function quoted(s: string, n = 200): string {
  return JSON.stringify(s.length > n ? `${s.slice(0, n)}…` : s) + (s.length > n ? ` (${s.length} characters)` : '');
}

/** A payload id that breaks the id rule (`shared/payload-id.ts`); `rule` names the rule it breaks. */
export class InvalidPayloadIdError extends NotAProcessPayloadError {
  constructor(
    readonly payloadId: string,
    readonly rule: string,
  ) {
    super('id', `${rule}: ${quoted(payloadId)}`);
  }
}

/** One record's result as {@link ProcessFailedError} reports it (process's `RecordResult` is one). */
export interface ProcessedRecord {
  index: number;
  payloadId?: string;
  outcome: string;
  error?: string;
}

/**
 * Process outcomes that make the handler report the message failed: `invalid` (an
 * {@link InvalidRecordError}, stored under tmp/invalid) and `retry` (anything else; SQS redelivers it).
 */
export function isReportedFailure(outcome: string): boolean {
  return outcome === 'invalid' || outcome === 'retry';
}

/** Error thrown by a direct (non-SQS) invocation of process when any record failed. */
export class ProcessFailedError<R extends ProcessedRecord = ProcessedRecord> extends CirrusError {
  constructor(readonly results: R[]) {
    const failed = results.filter((r) => isReportedFailure(r.outcome));
    super(
      `${failed.length} of ${results.length} payload(s) failed to process: ` +
        failed.map((r) => `${r.payloadId ?? `record ${r.index}`}: ${r.error ?? r.outcome}`).join('; '),
    );
  }
}

/** Still throttled when the invocation had no time left; the payload stays CLAIMED. */
export class StartExecutionThrottledError extends CirrusError {
  constructor(
    readonly attempts: number,
    cause: unknown,
  ) {
    super(`StartExecution still throttled after ${attempts} attempt(s) when the invocation's time was spent${cause ? `: ${errorName(cause)}` : ''}`, { cause });
  }
}

/** The task's input was neither a payload nor a `{"url"}` reference. */
export class TaskInputError extends CirrusError {}

/** A Batch job failure, named after the error the job logged (e.g. `ValueError`). */
export class BatchJobError extends CirrusError {}

/** A `chain_filter` expression could not be parsed. */
export class ChainFilterError extends CirrusError {}

/** Some entries of an SNS batch call were not accepted. */
export class BatchSendError extends CirrusError {
  constructor(
    message: string,
    /** Messages of the failed entries. */
    readonly failedEntries: { id: string; code?: string; message?: string }[],
  ) {
    super(message);
  }
}

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
