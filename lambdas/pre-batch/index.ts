/**
 * The `pre-batch` Lambda: stores a payload for an AWS Batch job and returns `{url, url_out}`.
 * It writes no log line of its own (a failure is raised to the Step Functions state).
 * @module
 */
import { preBatch } from '../../shared/batch';
import { handlerRuntime } from '../../shared/runtime';

/** Lambda entry point: a payload (or `{"url": …}` reference) from the Step Functions state. */
export async function handler(event: unknown): Promise<{ url: string; url_out: string }> {
  return preBatch(event, handlerRuntime(process.env).bucket);
}
