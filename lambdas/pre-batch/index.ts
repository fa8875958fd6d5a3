/**
 * The `pre-batch` Lambda: stores a payload for an AWS Batch job and returns `{url, url_out}`.
 * @module
 */
import { preBatch } from '../../shared/batch';

/** Lambda entry point. */
export async function handler(event: unknown): Promise<{ url: string; url_out: string }> {
  return preBatch(event);
}
