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
import { WorkflowMetrics, metricsServiceFromEnv } from '../../shared/metrics';
import { handlerRuntime } from '../../shared/runtime';
import { updateState, type StatusChangeDetail, type UpdateStateResult } from '../../shared/update-state';

/** The event EventBridge delivers. */
export type StatusChangeEvent = EventBridgeEvent<'Step Functions Execution Status Change', StatusChangeDetail>;

// The composition root reads the process environment; the shared functions are given what they need.
const logger = createLogger('update-state', process.env);
const metrics = new WorkflowMetrics({ service: metricsServiceFromEnv(process.env), logger });

/** Lambda entry point. */
export async function handler(event: StatusChangeEvent | unknown, context?: Context): Promise<UpdateStateResult> {
  startInvocation(logger, context, process.env);
  // Built on the first invocation (a configuration error rejects this one); see handlerRuntime.
  const deps = handlerRuntime(process.env).updateStateDeps(logger);
  try {
    return await updateState(event, deps);
  } finally {
    finishInvocation(metrics, deps.events);
  }
}
