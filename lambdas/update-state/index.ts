/**
 * The `update-state` Lambda: EventBridge "Step Functions Execution Status Change" → StateDB,
 * `output.json`, workflow events, published items and chained payloads. It throws on failure so
 * EventBridge retries (and dead-letters) the event.
 * @module
 */
import { updateState, type UpdateStateResult } from '../../shared/update-state';

/** Lambda entry point. */
export async function handler(event: unknown): Promise<UpdateStateResult> {
  return updateState(event);
}
