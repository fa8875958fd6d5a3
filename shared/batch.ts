/**
 * AWS Batch helpers (README, "`pre-batch` / `post-batch`"): `pre-batch` stores the payload for a Batch job and returns
 * `{url, url_out}`; `post-batch` reads the job's output back, or turns a failed job into an error
 * named after the job's own error.
 * @module
 */
import { GetLogEventsCommand, type CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { BatchJobError, RecordExtractError, errorMessage } from './errors';

export { BatchJobError };
import { SerializedPayload, hasInexactNumber, isJsonObject, type JsonObject } from './json';
import type { Logger } from './logger';
import { PayloadBucket, isReference } from './payload-bucket';
import { assertWritableDepth } from './payload';
import { extractEventRecords } from './records';
import { inlineOrReference } from './size';

/** Log group AWS Batch jobs write to. */
export const BATCH_LOG_GROUP = '/aws/batch/job';
/** Error name used when a log line carries no `<Name>:` prefix. */
export const DEFAULT_BATCH_ERROR = 'UnknownError';
const ERROR_REGEX = /^(?:([.\w]+):)?\s*([\s\S]*)/;

/** The one record of a batch-helper event (a `{"url"}` reference is not resolved here). */
export function singleRecord(event: unknown): JsonObject {
  const records = extractEventRecords(event);
  if (records.length === 0) throw new RecordExtractError(`failed to extract a record from the event`);
  if (records.length > 1) throw new RecordExtractError(`multiple payloads are not supported (got ${records.length})`);
  return records[0];
}

/** `url` with its final `.json` replaced by `_out.json`. */
export function outputUrlFor(url: string): string {
  return url.endsWith('.json') ? `${url.slice(0, -'.json'.length)}_out.json` : `${url}_out.json`;
}

/**
 * pre-batch: stores the (re-hydrated) payload under `tmp/batch/<id>/` and returns `{url, url_out}`.
 * A referenced payload is stored as the bytes read, so its numbers are what the sender wrote. The
 * `url_out` handed to the task is checked like post-batch checks it: a task writes only under
 * `<root>/tmp/batch/` (a reference whose object is itself a reference elsewhere is refused).
 */
export async function preBatch(event: unknown, bucket: PayloadBucket): Promise<{ url: string; url_out: string }> {
  const record = singleRecord(event);
  const payload = isReference(record) ? await bucket.readSerialized(String(record.url)) : record;
  if (payload instanceof SerializedPayload) assertWritableDepth(payload, 'the batch payload');
  const url = await bucket.uploadBatchPayload(payload);
  const urlOut = outputUrlFor(url);
  bucket.batchOutputLocation(urlOut);
  return { url, url_out: urlOut };
}

/** Builds an error whose `name` (and constructor name) is the job's error type. */
export function namedBatchError(type: string, message: string): BatchJobError {
  const err = new BatchJobError(message);
  err.name = type;
  return err;
}

/** Reads the last line of a Batch job's log and splits it into error type and message. */
export type LogReader = (logStreamName: string) => Promise<{ type: string; message: string } | undefined>;

/** The {@link LogReader} of the functions: CloudWatch Logs GetLogEvents on `/aws/batch/job`, with the client given. */
export function cloudWatchLogReader(client: CloudWatchLogsClient): LogReader {
  return async (logStreamName) => {
    const res = await client.send(new GetLogEventsCommand({ logGroupName: BATCH_LOG_GROUP, logStreamName, startFromHead: false, limit: 50 }));
    const last = res.events?.at(-1)?.message;
    if (last === undefined) return undefined;
    const m = ERROR_REGEX.exec(last.trim()) as RegExpExecArray;
    return { type: m[1] || DEFAULT_BATCH_ERROR, message: m[2] };
  };
}

/** Dependencies of {@link postBatch}, given by the caller (the handler builds them from its runtime). */
export interface PostBatchDeps {
  bucket: PayloadBucket;
  /** Reads the failed job's log ({@link cloudWatchLogReader}). */
  readLog: LogReader;
  /** Where a failure to read the log is reported. */
  logger?: Logger;
}

/**
 * post-batch: without an `error`, reads the job output (`Parameters.url_out`) and returns it inline
 * or as an oversized reference. With an `error`, throws an error named after the job's logged
 * error, or carrying the container and status reasons when no log line can be read.
 */
export async function postBatch(event: unknown, deps: PostBatchDeps): Promise<JsonObject> {
  const { bucket } = deps;
  if (!isJsonObject(event) || !('error' in event)) {
    const record = singleRecord(event);
    // A Batch job's output is read only from where pre-batch told it to write.
    const params = isJsonObject(event) && isJsonObject(event.Parameters) ? event.Parameters : undefined;
    if (params && 'url_out' in params) bucket.batchOutputLocation(params.url_out);
    if (!isReference(record)) return inlineOrReference(record, bucket);
    // The URL actually read (a record's own `url` wins over `Parameters.url_out`) is checked too.
    bucket.batchOutputLocation(record.url);
    const read = await bucket.readSerialized(String(record.url));
    assertWritableDepth(read, 'the batch output');
    // An output holding numbers JavaScript would rewrite (a Python task's 20-digit integer, 1.0)
    // is passed on as a reference to the object the job wrote: returned inline, the Lambda runtime
    // would serialise it again and round them.
    if (hasInexactNumber(read.text)) return { url: String(record.url) };
    return inlineOrReference(read.value, bucket);
  }
  const error = isJsonObject(event.error) ? event.error : {};
  if (typeof error.Cause !== 'string') {
    throw new BatchJobError(`Unable to get error log: Cause is not defined (error: ${JSON.stringify(event.error)})`);
  }
  let cause: JsonObject = {};
  try {
    const parsed: unknown = JSON.parse(error.Cause);
    if (isJsonObject(parsed)) cause = parsed;
  } catch {
    throw new BatchJobError(`Unable to get error log: Cause is not JSON: ${error.Cause}`);
  }
  const attempts = Array.isArray(cause.Attempts) ? cause.Attempts : [];
  const attempt = attempts.at(-1);
  if (!isJsonObject(attempt)) {
    throw new BatchJobError(`Unable to get error log: Attempts is empty (status reason: ${String(cause.StatusReason ?? 'unknown')})`);
  }
  const container = isJsonObject(attempt.Container) ? attempt.Container : undefined;
  if (!container) throw new BatchJobError('Unable to get error log: Container for last Attempt is missing');
  const logName = typeof container.LogStreamName === 'string' ? container.LogStreamName : undefined;
  let fromLog: { type: string; message: string } | undefined;
  if (logName) {
    try {
      fromLog = await deps.readLog(logName);
    } catch (err) {
      deps.logger?.error('unable to read the Batch job log', { log_stream: `${BATCH_LOG_GROUP}/${logName}`, error: errorMessage(err) });
    }
  }
  if (fromLog) throw namedBatchError(fromLog.type, fromLog.message);
  throw new BatchJobError(
    `Unable to get error log, container likely never ran. Container Reason: ${String(container.Reason ?? 'None')}; ` +
      `Status Reason: ${String(attempt.StatusReason ?? 'None')}`,
  );
}
