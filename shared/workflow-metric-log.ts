/**
 * Workflow metric events in CloudWatch Logs, as Cirrus v2 writes them: when
 * `CIRRUS_WORKFLOW_LOG_GROUP` names a log group, every workflow event `process` and
 * `update-state` announce is also written there as one log event
 * `{"event": "<EVENT_TYPE>", "workflow": "<workflow>", "source": "<collections>", "execution_arn": <arn or null>}`,
 * printed as Python's `json.dumps` prints it, in a log stream named `workflow-metrics-<uuid4>`.
 * The log group's metric filters (`all_workflows_by_event` by `event`, `a_workflow_by_event` by
 * `event` and `workflow`, in namespace `<resourcePrefix>-workflow`) count them, so a deployment
 * that switches between Cirrus and this project keeps one series of workflow metrics.
 *
 * (Separate from `metrics.ts`, this project's own embedded metrics: these are Cirrus's.) Writing
 * never fails a payload: errors are logged and counted.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { CreateLogStreamCommand, PutLogEventsCommand, type CloudWatchLogsClient, type InputLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import { errorMessage, errorName } from './errors';
import { CIRRUS_EVENT_TYPES } from './event-types';
import type { WorkflowEvent } from './events';
import type { Logger } from './logger';
import { cirrusEventParts } from './payload-id';
import { utf8Length } from './size';

/** Prefix of the log streams metric events are written to (`workflow-metrics-<uuid4>`). */
export const METRIC_LOG_STREAM_PREFIX = 'workflow-metrics-';

/** The fields of one metric event. */
export interface WorkflowMetricFields {
  event: string;
  /** The workflow of the payload id, or `could not parse` when the id has no workflow part. */
  workflow: string;
  /** The collections of the payload id, or the whole id when it cannot be parsed. */
  source: string;
  execution_arn: string | null;
}

/** The metric fields of a workflow event (the id is split as Cirrus splits it). */
export function metricFields(event: WorkflowEvent): WorkflowMetricFields {
  const parts = cirrusEventParts(event.payloadId);
  return {
    event: event.eventType,
    workflow: parts ? parts.workflow : 'could not parse',
    source: parts ? parts.collections : event.payloadId,
    execution_arn: event.executionArn ?? null,
  };
}

/**
 * A JSON string as Python's `json.dumps` writes it (`ensure_ascii`): everything outside printable
 * ASCII is escaped as `\uXXXX` (lower-case hex, UTF-16 code units).
 */
function pythonJsonString(s: string): string {
  return JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The log message of a metric event, byte for byte what Cirrus writes (`json.dumps` of the fields). */
export function metricMessage(event: WorkflowEvent): string {
  const fields = metricFields(event);
  const entries = (Object.keys(fields) as (keyof WorkflowMetricFields)[]).map((k) => {
    const v = fields[k];
    return `${pythonJsonString(k)}: ${v === null ? 'null' : pythonJsonString(v)}`;
  });
  return `{${entries.join(', ')}}`;
}

/** PutLogEvents limits: events per call, and bytes per call (each event counts 26 bytes more). */
const MAX_EVENTS_PER_CALL = 10000;
const MAX_BYTES_PER_CALL = 1048576;
const EVENT_OVERHEAD_BYTES = 26;

/** Log streams created by this process, by log group: one per Lambda environment, reused across invocations. */
const streams = new Map<string, Promise<string>>();

/**
 * Collects metric events and writes them with PutLogEvents on {@link WorkflowMetricLogger.flush}
 * (the functions flush once per invocation, with the workflow events).
 */
export class WorkflowMetricLogger {
  private buffer: InputLogEvent[] = [];
  private lastTimestamp = 0;
  /** Number of metric events that could not be written. */
  failedCount = 0;
  /** Number of metric events written. */
  writtenCount = 0;

  constructor(
    /** The log group. */
    readonly logGroupName: string,
    private readonly logger: Logger | undefined,
    /** The CloudWatch Logs client, asked for when events are written. */
    private readonly client: () => CloudWatchLogsClient,
  ) {}

  /** Queues the metric event of a workflow event (of a type Cirrus has). */
  add(event: WorkflowEvent): void {
    if (!CIRRUS_EVENT_TYPES.has(event.eventType)) return;
    // PutLogEvents wants the events of one call in chronological order.
    const timestamp = Math.max(Date.now(), this.lastTimestamp);
    this.lastTimestamp = timestamp;
    this.buffer.push({ timestamp, message: metricMessage(event) });
  }

  /** Writes everything queued. Never throws. */
  async flush(): Promise<void> {
    const events = this.buffer.splice(0);
    if (events.length === 0) return;
    for (const chunk of chunks(events)) {
      try {
        await this.put(chunk);
        this.writtenCount += chunk.length;
      } catch (err) {
        this.failedCount += chunk.length;
        this.logger?.error('failed to write workflow metric events; the payloads themselves are unaffected', {
          log_group: this.logGroupName,
          error: errorMessage(err),
          error_name: errorName(err),
          events: chunk.length,
        });
      }
    }
  }

  private async put(logEvents: InputLogEvent[]): Promise<void> {
    const stream = await this.stream();
    try {
      await this.client().send(new PutLogEventsCommand({ logGroupName: this.logGroupName, logStreamName: stream, logEvents }));
    } catch (err) {
      if (errorName(err) !== 'ResourceNotFoundException') throw err;
      // The stream is gone (deleted with the group, or by hand): start a new one, once.
      streams.delete(this.logGroupName);
      const fresh = await this.stream();
      await this.client().send(new PutLogEventsCommand({ logGroupName: this.logGroupName, logStreamName: fresh, logEvents }));
    }
  }

  /** This environment's stream in the group, created on first use. */
  private stream(): Promise<string> {
    let s = streams.get(this.logGroupName);
    if (!s) {
      const name = `${METRIC_LOG_STREAM_PREFIX}${randomUUID()}`;
      s = this.client()
        .send(new CreateLogStreamCommand({ logGroupName: this.logGroupName, logStreamName: name }))
        .then(() => name);
      streams.set(this.logGroupName, s);
      // A failed creation is tried again by the next flush.
      s.catch(() => {
        if (streams.get(this.logGroupName) === s) streams.delete(this.logGroupName);
      });
    }
    return s;
  }
}

function* chunks(events: InputLogEvent[]): Generator<InputLogEvent[]> {
  let chunk: InputLogEvent[] = [];
  let bytes = 0;
  for (const e of events) {
    const size = utf8Length(e.message ?? '') + EVENT_OVERHEAD_BYTES;
    if (chunk.length > 0 && (chunk.length >= MAX_EVENTS_PER_CALL || bytes + size > MAX_BYTES_PER_CALL)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(e);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}
