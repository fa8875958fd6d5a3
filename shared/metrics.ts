/**
 * Workflow outcome metrics as CloudWatch embedded metric format (EMF) log lines, written with
 * Powertools Metrics: CloudWatch extracts the metrics from the function's log, so counting costs
 * no AWS call. The names, namespace and dimensions are in `metric-names.ts`.
 *
 * A handler counts the workflow events of one invocation and flushes once at its end: one EMF line
 * per workflow seen, holding every outcome count of that workflow.
 * @module
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Env } from './config';
import { errorMessage } from './errors';
import { WorkflowEventType, type WorkflowEvent } from './events';
import {
  DEFAULT_METRICS_SERVICE,
  METRICS_NAMESPACE,
  METRICS_SERVICE_ENV,
  METRIC_NAMES,
  METRIC_WORKFLOW_RE,
  UNKNOWN_WORKFLOW,
  WORKFLOW_DIMENSION,
  type MetricName,
} from './metric-names';
import type { Logger } from './logger';
import { cirrusEventParts } from './payload-id';

/** The metric each workflow event type is counted in. */
export const EVENT_METRICS: Readonly<Record<WorkflowEventType, MetricName>> = {
  [WorkflowEventType.CLAIMED_PROCESSING]: METRIC_NAMES.claimed,
  [WorkflowEventType.STARTED_PROCESSING]: METRIC_NAMES.started,
  [WorkflowEventType.SUCCEEDED]: METRIC_NAMES.succeeded,
  [WorkflowEventType.FAILED]: METRIC_NAMES.failed,
  [WorkflowEventType.TIMED_OUT]: METRIC_NAMES.timedOut,
  [WorkflowEventType.ABORTED]: METRIC_NAMES.aborted,
  [WorkflowEventType.INVALID]: METRIC_NAMES.invalid,
  [WorkflowEventType.ALREADY_SUCCEEDED]: METRIC_NAMES.skipped,
  [WorkflowEventType.ALREADY_PROCESSING]: METRIC_NAMES.skipped,
  [WorkflowEventType.ALREADY_CLAIMED]: METRIC_NAMES.skipped,
  [WorkflowEventType.ALREADY_INVALID]: METRIC_NAMES.skipped,
  [WorkflowEventType.DUPLICATE_ID_ENCOUNTERED]: METRIC_NAMES.duplicate,
  [WorkflowEventType.RECORD_EXTRACT_FAILED]: METRIC_NAMES.invalidRecord,
  [WorkflowEventType.NOT_A_PROCESS_PAYLOAD]: METRIC_NAMES.invalidRecord,
  [WorkflowEventType.PUBLISH_FAILED]: METRIC_NAMES.publishFailed,
};

/** The `workflow` dimension of a payload id: its workflow part, or `unknown`. */
export function metricWorkflow(payloadId: string): string {
  const workflow = cirrusEventParts(payloadId)?.workflow;
  return workflow !== undefined && METRIC_WORKFLOW_RE.test(workflow) ? workflow : UNKNOWN_WORKFLOW;
}

/** The `service` dimension an environment names: `POWERTOOLS_SERVICE_NAME`, else `cirrus`. */
export function metricsServiceFromEnv(env: Env): string {
  return env[METRICS_SERVICE_ENV] || DEFAULT_METRICS_SERVICE;
}

/** Options of {@link WorkflowMetrics}. */
export interface WorkflowMetricsOptions {
  /** The `service` dimension (the deployment; a handler passes {@link metricsServiceFromEnv}). */
  readonly service: string;
  /**
   * The Powertools emitter (tests pass their own).
   * @default a `Metrics` for {@link METRICS_NAMESPACE} and the service
   */
  readonly metrics?: Metrics;
  /**
   * Where a failure to write the metrics is reported.
   * @default - not reported
   */
  readonly logger?: Logger;
}

/** Counts workflow outcomes per workflow and writes them as EMF on {@link WorkflowMetrics.flush}. */
export class WorkflowMetrics {
  /** The `service` dimension. */
  readonly service: string;
  private readonly metrics: Metrics;
  private readonly logger?: Logger;
  /** Counts by workflow, then by metric name. */
  private readonly counts = new Map<string, Map<MetricName, number>>();

  constructor(options: WorkflowMetricsOptions) {
    this.service = options.service;
    this.metrics = options.metrics ?? new Metrics({ namespace: METRICS_NAMESPACE, serviceName: this.service });
    this.logger = options.logger;
  }

  /** Counts each event under its workflow and outcome. */
  count(events: Iterable<WorkflowEvent>): void {
    for (const e of events) {
      const workflow = metricWorkflow(e.payloadId);
      let byName = this.counts.get(workflow);
      if (!byName) this.counts.set(workflow, (byName = new Map()));
      const name = EVENT_METRICS[e.eventType];
      byName.set(name, (byName.get(name) ?? 0) + 1);
    }
  }

  /** What has been counted and not flushed yet, by workflow (for tests and summaries). */
  pending(): Record<string, Partial<Record<MetricName, number>>> {
    return Object.fromEntries([...this.counts].map(([w, byName]) => [w, Object.fromEntries(byName)]));
  }

  /**
   * Writes one EMF line per counted workflow (dimensions `service` and `workflow`) and forgets the
   * counts. Writes nothing when nothing was counted. Never throws: metrics never fail a payload.
   */
  flush(): void {
    const counts = [...this.counts];
    this.counts.clear();
    for (const [workflow, byName] of counts) {
      try {
        this.metrics.addDimension(WORKFLOW_DIMENSION, workflow);
        for (const [name, n] of byName) this.metrics.addMetric(name, MetricUnit.Count, n);
        this.metrics.publishStoredMetrics();
      } catch (err) {
        this.metrics.clearMetrics();
        this.metrics.clearDimensions();
        this.logger?.error('could not write workflow metrics; the payloads themselves are unaffected', { workflow, error: errorMessage(err) });
      }
    }
  }
}
