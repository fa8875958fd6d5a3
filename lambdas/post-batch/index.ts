/**
 * The `post-batch` Lambda: returns an AWS Batch job's output inline or as an oversized reference,
 * or raises the job's own error. Every log line carries the Lambda context.
 * @module
 */
import type { Context } from 'aws-lambda';
import { cloudWatchLogReader, postBatch } from '../../shared/batch';
import { startInvocation } from '../../shared/invocation';
import type { JsonObject } from '../../shared/json';
import { createLogger } from '../../shared/logger';
import { handlerRuntime } from '../../shared/runtime';

const logger = createLogger('post-batch', process.env);

/** Lambda entry point: the Step Functions state after the Batch job (its `url_out`, or the job's error). */
export async function handler(event: unknown, context?: Context): Promise<JsonObject> {
  startInvocation(logger, context, process.env);
  const runtime = handlerRuntime(process.env);
  return postBatch(event, { bucket: runtime.bucket, readLog: cloudWatchLogReader(runtime.clients.logs), logger });
}
