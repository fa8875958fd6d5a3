/**
 * Workflow events (README, "`process`"): what `process` and `update-state` decided, published to
 * `CIRRUS_WORKFLOW_EVENT_TOPIC_ARN` in batches. Publishing never fails a payload: errors are
 * logged and counted.
 * @module
 */
import type { MessageAttributeValue, SNSClient } from '@aws-sdk/client-sns';
import { errorMessage } from './errors';
import { WorkflowEventType } from './event-types';
import { executionUrl } from './execution';
import type { Logger } from './logger';
import { cirrusEventParts } from './payload-id';
import { MAX_BATCH, publishBatch, type SnsMessage } from './sns';
import { State } from './statedb';
import type { WorkflowMetricLogger } from './workflow-metric-log';

export { WorkflowEventType } from './event-types';

/** The skip event for a state found before or during a claim. */
export function skipEventFor(state: State): WorkflowEventType {
  switch (state) {
    case State.INVALID:
      return WorkflowEventType.ALREADY_INVALID;
    case State.PROCESSING:
      return WorkflowEventType.ALREADY_PROCESSING;
    case State.CLAIMED:
      return WorkflowEventType.ALREADY_CLAIMED;
    case State.SUCCEEDED:
      return WorkflowEventType.ALREADY_SUCCEEDED;
    default:
      throw new RangeError(`no skip event for state ${state}`);
  }
}

/** One workflow event, as the code passes it around; {@link serializeEvent} gives its wire form (Cirrus's snake_case keys). */
export interface WorkflowEvent {
  eventType: WorkflowEventType;
  payloadId: string;
  isoTimestamp: string;
  inputPayloadUrl?: string;
  outputPayloadUrl?: string;
  /** Execution ARN; published as the console URL under `execution`. */
  executionArn?: string;
  error?: string;
}

/** The JSON message body of an event: empty fields are left out; the ARN becomes a console URL. */
export function serializeEvent(e: WorkflowEvent, region: string): string {
  const body: Record<string, string> = { event_type: e.eventType, payload_id: e.payloadId, isotimestamp: e.isoTimestamp };
  if (e.inputPayloadUrl) body.input_payload_url = e.inputPayloadUrl;
  if (e.outputPayloadUrl) body.output_payload_url = e.outputPayloadUrl;
  if (e.error) body.error = e.error;
  if (e.executionArn) body.execution = executionUrl(e.executionArn, region);
  return JSON.stringify(body);
}

const LONE_SURROGATES = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * An attribute value SNS can carry: lone surrogates (from an invalid payload's id or error) have no
 * UTF-8 form and would make the whole PublishBatch request unsendable, so they become U+FFFD.
 */
function attributeText(s: string): string {
  return s.replace(LONE_SURROGATES, '\ufffd');
}

/** SNS attributes of an event: `event_type`, and `workflow`/`collections` from the id, `error`. */
export function eventAttributes(e: WorkflowEvent): Record<string, MessageAttributeValue> {
  const attrs: Record<string, MessageAttributeValue> = { event_type: { DataType: 'String', StringValue: e.eventType } };
  const parts = cirrusEventParts(e.payloadId);
  if (parts) {
    attrs.workflow = { DataType: 'String', StringValue: attributeText(parts.workflow) };
    attrs.collections = { DataType: 'String', StringValue: attributeText(parts.collections) };
  }
  if (e.error) attrs.error = { DataType: 'String', StringValue: attributeText(e.error) };
  return attrs;
}

/** What a {@link WorkflowEventPublisher} is given (the handlers' runtime builds it: `shared/runtime.ts`). */
export interface WorkflowEventPublisherDeps {
  /** The SNS client, asked for when a batch is sent. */
  readonly sns: () => SNSClient;
  /** The region of the console URLs in the events. */
  readonly region: string;
  /** Where every event, and a failure to publish, is logged. */
  readonly logger?: Logger;
  /** Where each event is also written as a workflow metric event (`CIRRUS_WORKFLOW_LOG_GROUP`), if anywhere. */
  readonly metrics?: WorkflowMetricLogger;
}

/**
 * Collects workflow events and publishes them with PublishBatch, 10 per call, when 10 are waiting
 * and on {@link WorkflowEventPublisher.flush}. Disabled (events are only logged) when no topic is set.
 */
export class WorkflowEventPublisher {
  private buffer: WorkflowEvent[] = [];
  private inflight: Promise<void>[] = [];
  /** Every event announced, in order (for tests and summaries). */
  readonly announced: WorkflowEvent[] = [];
  /** Number of events that could not be published. */
  failedCount = 0;
  private readonly logger?: Logger;
  private readonly sns: () => SNSClient;
  /** Where each event is also written as a workflow metric event, if anywhere. */
  readonly metrics?: WorkflowMetricLogger;
  /** The region of the console URLs in the events. */
  readonly region: string;

  constructor(
    /** The topic; `undefined` disables publishing. */
    readonly topicArn: string | undefined,
    deps: WorkflowEventPublisherDeps,
  ) {
    this.logger = deps.logger;
    this.sns = deps.sns;
    this.metrics = deps.metrics;
    this.region = deps.region;
  }

  /** True when a topic is configured. */
  get enabled(): boolean {
    return this.topicArn !== undefined;
  }

  /** Queues an event; sends a batch when 10 are waiting. */
  announce(event: WorkflowEvent): void {
    this.announced.push(event);
    this.logger?.info('workflow event', { event_type: event.eventType, payload_id: event.payloadId, error: event.error });
    this.metrics?.add(event);
    if (!this.enabled) return;
    this.buffer.push(event);
    if (this.buffer.length >= MAX_BATCH) this.inflight.push(this.send(this.buffer.splice(0, MAX_BATCH)));
  }

  private async send(events: WorkflowEvent[]): Promise<void> {
    if (events.length === 0 || !this.topicArn) return;
    const messages: SnsMessage[] = events.map((e) => ({ message: serializeEvent(e, this.region), attributes: eventAttributes(e) }));
    try {
      await publishBatch(this.sns(), this.topicArn, messages);
    } catch (err) {
      this.failedCount += events.length;
      this.logger?.error('failed to publish workflow events; the payloads themselves are unaffected', {
        error: errorMessage(err),
        events: events.map((e) => `${e.eventType} ${e.payloadId}`),
      });
    }
  }

  /** Publishes everything still waiting and waits for every batch sent so far. Never throws. */
  async flush(): Promise<void> {
    while (this.buffer.length > 0) this.inflight.push(this.send(this.buffer.splice(0, MAX_BATCH)));
    const pending = this.inflight;
    this.inflight = [];
    await Promise.all([...pending, this.metrics?.flush()]);
  }
}
