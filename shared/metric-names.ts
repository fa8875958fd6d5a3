/**
 * The metric contract of a deployment: the CloudWatch namespace, metric names and dimensions the
 * functions emit (as embedded metric format log lines) and the CDK dashboard and alarms read.
 * Both sides import these constants, so a chart can never ask for a series nobody writes.
 *
 * Every metric is a `Count` in namespace {@link METRICS_NAMESPACE} with exactly two dimensions:
 * - `service`: the deployment (its `resourcePrefix`; the stack sets `POWERTOOLS_SERVICE_NAME`);
 * - `workflow`: the workflow named by the payload id, or {@link UNKNOWN_WORKFLOW} when the id names
 *   none (records that could not be read, ids without `/workflow-<name>/`).
 *
 * This module has no dependencies, so the CDK code can import it without the runtime.
 * @module
 */

/** The CloudWatch namespace of every Cirrus metric. */
export const METRICS_NAMESPACE = 'Cirrus';

/** The dimension naming the deployment (Powertools' `service`, set to the resource prefix). */
export const SERVICE_DIMENSION = 'service';

/** The dimension naming the workflow of the payload. */
export const WORKFLOW_DIMENSION = 'workflow';

/** The `workflow` dimension value when the payload id names no (valid) workflow. */
export const UNKNOWN_WORKFLOW = 'unknown';

/** The environment variable holding the `service` dimension value (the Powertools convention). */
export const METRICS_SERVICE_ENV = 'POWERTOOLS_SERVICE_NAME';

/** The `service` value when {@link METRICS_SERVICE_ENV} is unset (the default resource prefix). */
export const DEFAULT_METRICS_SERVICE = 'cirrus';

/**
 * Metric names, one per outcome. Counted from the workflow events `process` and `update-state`
 * announce:
 * - `Claimed`: CLAIMED_PROCESSING (process claimed the payload);
 * - `Started`: STARTED_PROCESSING (its workflow was started and the state set PROCESSING);
 * - `Succeeded`, `Failed`, `TimedOut`, `Aborted`, `Invalid`: how an execution ended (update-state;
 *   `Failed` also when process found the state machine missing);
 * - `Skipped`: ALREADY_SUCCEEDED, ALREADY_PROCESSING, ALREADY_CLAIMED, ALREADY_INVALID;
 * - `Duplicate`: DUPLICATE_ID_ENCOUNTERED (the same id twice in one batch);
 * - `InvalidRecord`: RECORD_EXTRACT_FAILED, NOT_A_PROCESS_PAYLOAD (stored under `tmp/invalid`);
 * - `PublishFailed`: PUBLISH_FAILED (an output item SNS refuses, not published).
 */
export const METRIC_NAMES = {
  claimed: 'Claimed',
  started: 'Started',
  succeeded: 'Succeeded',
  failed: 'Failed',
  timedOut: 'TimedOut',
  aborted: 'Aborted',
  invalid: 'Invalid',
  skipped: 'Skipped',
  duplicate: 'Duplicate',
  invalidRecord: 'InvalidRecord',
  publishFailed: 'PublishFailed',
} as const;

/** One of {@link METRIC_NAMES}. */
export type MetricName = (typeof METRIC_NAMES)[keyof typeof METRIC_NAMES];

/**
 * Workflow names accepted as a `workflow` dimension value: what a deployable workflow may be
 * called (letters, digits and inner `-`, at most 80 characters). Anything else would let
 * arbitrary ids of invalid payloads create new metric series.
 */
export const METRIC_WORKFLOW_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,78}[A-Za-z0-9])?$/;
