/**
 * Helpers for task authors: wrap a `(payload) => payload` function as a Step Functions Lambda task
 * or an AWS Batch task, so it always sees the full payload and never returns one too large for
 * Step Functions.
 * @module
 */
import { ConfigurationError, TaskInputError } from './errors';

export { TaskInputError };
import { isJsonObject, type JsonObject } from './json';
import type { PayloadBucket } from './payload-bucket';
import { MAX_PAYLOAD_LENGTH, inlineOrReference } from './size';

/** A task function: receives the full payload, returns the new payload. */
export type TaskFunction<C = unknown> = (payload: JsonObject, context?: C) => JsonObject | Promise<JsonObject>;

/** Options of {@link lambdaTask} and {@link batchTask}. */
export interface TaskOptions {
  /**
   * The payload bucket (with its S3 client), or a function returning it (called on each use; a
   * handler passes its runtime's, so that it is built on the first invocation). The task helpers
   * read no environment: build it in the handler module, e.g. with `PayloadBucket.fromEnv`.
   */
  bucket: PayloadBucket | (() => PayloadBucket);
  /** Inline limit in bytes; defaults to {@link MAX_PAYLOAD_LENGTH}. */
  limit?: number;
}

/** @throws ConfigurationError when no bucket was given (a JavaScript caller of the old one-argument form). */
function bucketOf(options: TaskOptions | undefined): () => PayloadBucket {
  const bucket = options?.bucket;
  if (bucket === undefined || bucket === null) {
    throw new ConfigurationError('the task helpers need { bucket }: a PayloadBucket (e.g. PayloadBucket.fromEnv(process.env, { s3 })) or a function returning one');
  }
  return typeof bucket === 'function' ? bucket : () => bucket;
}

/**
 * Wraps a task function as a Lambda handler for a Step Functions Task state. The wrapper
 * re-hydrates an incoming `{"url": …}` reference, calls the function with the full payload, and
 * returns the result inline, or offloaded under `tmp/oversized/` as `{"url": …}` when it is over
 * the inline limit.
 *
 * ```ts
 * export const handler = lambdaTask(async (payload) => ({ ...payload, features: stamp(payload.features) }), { bucket });
 * ```
 * where `bucket` is the payload bucket the handler module built from its environment, with its S3
 * client (README, "Using the payload bucket from your own code").
 */
export function lambdaTask<C = unknown>(fn: TaskFunction<C>, options: TaskOptions): (event: unknown, context?: C) => Promise<JsonObject> {
  const bucket = bucketOf(options);
  return async (event, context) => {
    if (!isJsonObject(event)) throw new TaskInputError('task input must be a JSON object (a payload or {"url": …})');
    const payload = await bucket().resolve(event);
    const result = await fn(payload, context);
    if (!isJsonObject(result)) throw new TaskInputError('task function must return a JSON object (the new payload)');
    return inlineOrReference(result, bucket(), options.limit ?? MAX_PAYLOAD_LENGTH);
  };
}

/** The input of a Batch task: what pre-batch returned. */
export interface BatchTaskInput {
  url: string;
  url_out: string;
}

/**
 * Wraps a task function for an AWS Batch job: reads the payload from `url`, calls the function,
 * and writes the result to `url_out` (where post-batch reads it). Returns `url_out`. Both URLs pass
 * the reference rule, and `url_out` must lie in the payload bucket under `<root>/tmp/batch/`.
 */
export function batchTask<C = unknown>(fn: TaskFunction<C>, options: TaskOptions): (input: BatchTaskInput, context?: C) => Promise<string> {
  const bucket = bucketOf(options);
  return async (input, context) => {
    if (!isJsonObject(input) || typeof input.url !== 'string' || typeof input.url_out !== 'string') {
      throw new TaskInputError('batch task input must be {"url": …, "url_out": …} as returned by pre-batch');
    }
    // url_out is checked before anything is read or run: a task writes only under <prefixBatch>/.
    bucket().batchOutputLocation(input.url_out);
    const payload = await bucket().readPayload(input.url);
    const result = await fn(payload, context);
    if (!isJsonObject(result)) throw new TaskInputError('task function must return a JSON object (the new payload)');
    return bucket().uploadBatchOutput(input.url_out, result);
  };
}
