/**
 * The `post-batch` Lambda: returns an AWS Batch job's output inline or as an oversized reference,
 * or raises the job's own error.
 * @module
 */
import { postBatch } from '../../shared/batch';
import type { JsonObject } from '../../shared/json';
import { createLogger } from '../../shared/logger';

const logger = createLogger('post-batch');

/** Lambda entry point. */
export async function handler(event: unknown): Promise<JsonObject> {
  return postBatch(event, { logger });
}
