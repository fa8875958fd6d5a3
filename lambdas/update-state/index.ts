/**
 * The `update-state` Lambda: EventBridge "Step Functions Execution Status Change" → StateDB,
 * `output.json`, workflow events, published items and chained payloads. It throws on failure so
 * EventBridge retries (and dead-letters) the event. Every log line carries the Lambda context;
 * the workflow outcome is written as an embedded metric once per invocation.
 * @module
 */
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { finishInvocation, startInvocation } from '../../shared/invocation';
import { createLogger } from '../../shared/logger';
import { WorkflowMetrics } from '../../shared/metrics';
import { handlerRuntime } from '../../shared/runtime';
import { updateState, type StatusChangeDetail, type UpdateStateResult } from '../../shared/update-state';

/** The event EventBridge delivers. */
export type StatusChangeEvent = EventBridgeEvent<'Step Functions Execution Status Change', StatusChangeDetail>;

const logger = createLogger('update-state');
const metrics = new WorkflowMetrics({ logger });

/** Lambda entry point. */
export async function handler(event: StatusChangeEvent | unknown, context?: Context): Promise<UpdateStateResult> {
  startInvocation(logger, context);
  // Built on the first invocation (a configuration error rejects this one); see handlerRuntime.
  const runtime = handlerRuntime(process.env);
  const events = runtime.eventPublisher(logger);
  try {
    const { clients } = runtime;
    return await updateState(event, {
      bucket: runtime.bucket,
      stateDb: runtime.stateDb(),
      sfn: clients.sfn,
      sns: clients.sns,
      sqs: clients.sqs,
      events,
      logger,
      env: runtime.config.env,
    });
  } finally {
    finishInvocation(metrics, events);
  }
}
