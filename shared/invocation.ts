/**
 * Per-invocation set-up of a Lambda handler: every log line carries the Lambda context
 * (`function_request_id`, `function_name`, `function_version`, `cold_start`), and the workflow
 * metrics counted during the invocation are flushed once when it ends.
 *
 * The context keys are appended to the function's logger, so the per-payload child loggers
 * (`payloadLogger`) inherit them with `payload_id`. `cold_start` is tracked here, once per
 * execution environment: Powertools' own flag is per Logger instance, so its child loggers would
 * each report a cold start of their own.
 * @module
 */
import type { Context } from 'aws-lambda';
import type { Env } from './config';
import type { WorkflowEventPublisher } from './events';
import type { Logger } from './logger';
import type { WorkflowMetrics } from './metrics';

/** The log keys of the Lambda context. */
export interface LambdaContextKeys {
  function_request_id?: string;
  function_name?: string;
  function_version?: string;
  cold_start: boolean;
}

let coldStart = true;

/**
 * True for the first invocation of this execution environment (module instance), false after.
 * Each call counts as an invocation.
 */
export function takeColdStart(): boolean {
  const cold = coldStart;
  coldStart = false;
  return cold;
}

/**
 * The log keys of a Lambda context; without one (a local run), the function name and version from
 * the environment given (`AWS_LAMBDA_FUNCTION_NAME`, `AWS_LAMBDA_FUNCTION_VERSION`).
 */
export function lambdaContextKeys(context: Partial<Context> | undefined, cold: boolean, env: Env): LambdaContextKeys {
  const keys: LambdaContextKeys = { cold_start: cold };
  const requestId = context?.awsRequestId;
  const functionName = context?.functionName ?? env.AWS_LAMBDA_FUNCTION_NAME;
  const version = context?.functionVersion ?? env.AWS_LAMBDA_FUNCTION_VERSION;
  if (requestId) keys.function_request_id = requestId;
  if (functionName) keys.function_name = functionName;
  if (version) keys.function_version = version;
  return keys;
}

/**
 * Appends this invocation's Lambda context keys to the logger (replacing the previous invocation's);
 * `env` is the handler's environment ({@link lambdaContextKeys}).
 */
export function startInvocation(logger: Logger, context: Partial<Context> | undefined, env: Env): LambdaContextKeys {
  const keys = lambdaContextKeys(context, takeColdStart(), env);
  logger.removeKeys(['function_request_id', 'function_name', 'function_version']);
  logger.appendKeys({ ...keys });
  return keys;
}

/**
 * Counts the workflow events the publisher announced and flushes the metrics: called once, when
 * the invocation ends (whether it returned or threw).
 */
export function finishInvocation(metrics: WorkflowMetrics, events: WorkflowEventPublisher): void {
  metrics.count(events.announced);
  metrics.flush();
}
