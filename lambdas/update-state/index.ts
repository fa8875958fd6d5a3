/**
 * The `update-state` Lambda: EventBridge "Step Functions Execution Status Change" → StateDB,
 * `output.json`, workflow events, published items and chained payloads. It throws on failure so
 * EventBridge retries (and dead-letters) the event. Every log line carries the Lambda context;
 * the workflow outcome is written as an embedded metric once per invocation.
 * @module
 */
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { WorkflowEventPublisher } from '../../shared/events';
import { finishInvocation, startInvocation } from '../../shared/invocation';
import { createLogger } from '../../shared/logger';
import { WorkflowMetrics } from '../../shared/metrics';
import { updateState, type StatusChangeDetail, type UpdateStateResult } from '../../shared/update-state';

/** The event EventBridge delivers. */
export type StatusChangeEvent = EventBridgeEvent<'Step Functions Execution Status Change', StatusChangeDetail>;

const logger = createLogger('update-state');
const metrics = new WorkflowMetrics({ logger });

/** Lambda entry point. */
export async function handler(event: StatusChangeEvent | unknown, context?: Context): Promise<UpdateStateResult> {
  startInvocation(logger, context);
  const events = WorkflowEventPublisher.fromEnv(logger);
  try {
    return await updateState(event, { logger, events });
  } finally {
    finishInvocation(metrics, events);
  }
}
