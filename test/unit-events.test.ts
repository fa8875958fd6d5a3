/**
 * Workflow events (README, "`process`"): message body, attributes, and batched publishing to
 * `CIRRUS_WORKFLOW_EVENT_TOPIC_ARN` (SNS mocked with aws-sdk-client-mock).
 */
import { PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import {
  WorkflowEventPublisher,
  WorkflowEventType,
  eventAttributes,
  serializeEvent,
  skipEventFor,
  type WorkflowEvent,
} from '../shared/events';
import type { Env } from '../shared/config';
import { createRuntime, loadRuntimeConfig, type Runtime } from '../shared/runtime';
import { State } from '../shared/statedb';
import { S2_PAYLOAD_ID as PAYLOAD_ID, TIMESTAMPS, testExecutionArn } from './helpers/samples';

const TOPIC = 'arn:aws:sns:us-west-2:123456789012:cirrus-test-workflow-event';
const ARN = testExecutionArn('cog-archive', '492fca12-ae13-5b13-8f98-4873fed8f3d3');
const [TS] = TIMESTAMPS;

function event(i: number, extra: Partial<WorkflowEvent> = {}): WorkflowEvent {
  return { eventType: WorkflowEventType.STARTED_PROCESSING, payloadId: `col/workflow-wf/item-${i}`, isoTimestamp: TS, ...extra };
}

describe('serializeEvent', () => {
  it('writes every field, with the execution as its console URL', () => {
    const body = JSON.parse(
      serializeEvent(
        {
          eventType: WorkflowEventType.SUCCEEDED,
          payloadId: PAYLOAD_ID,
          isoTimestamp: TS,
          inputPayloadUrl: 's3://b/in.json',
          outputPayloadUrl: 's3://b/out.json',
          executionArn: ARN,
          error: 'none really',
        },
        'us-west-2',
      ),
    );
    expect(body).toEqual({
      event_type: 'SUCCEEDED',
      payload_id: PAYLOAD_ID,
      isotimestamp: TS,
      input_payload_url: 's3://b/in.json',
      output_payload_url: 's3://b/out.json',
      execution: `https://us-west-2.console.aws.amazon.com/states/home?region=us-west-2#/v2/executions/details/${ARN}`,
      error: 'none really',
    });
  });

  it('uses the given region in the console URL', () => {
    const body = JSON.parse(serializeEvent({ ...event(1), executionArn: ARN }, 'eu-central-1'));
    expect(body.execution).toBe(`https://eu-central-1.console.aws.amazon.com/states/home?region=eu-central-1#/v2/executions/details/${ARN}`);
  });

  it('omits empty fields', () => {
    const body = JSON.parse(serializeEvent({ ...event(1), inputPayloadUrl: '', outputPayloadUrl: undefined, error: '' }, 'us-west-2'));
    expect(Object.keys(body).sort()).toEqual(['event_type', 'isotimestamp', 'payload_id']);
  });
});

describe('eventAttributes', () => {
  it('has event_type, workflow and collections from the payload id', () => {
    expect(eventAttributes({ ...event(1), payloadId: PAYLOAD_ID })).toEqual({
      event_type: { DataType: 'String', StringValue: 'STARTED_PROCESSING' },
      workflow: { DataType: 'String', StringValue: 'cog-archive' },
      collections: { DataType: 'String', StringValue: 'sentinel-s2-l2a' },
    });
  });

  it('adds error only when present', () => {
    expect(eventAttributes({ ...event(1), error: 'boom' }).error).toEqual({ DataType: 'String', StringValue: 'boom' });
    expect(eventAttributes(event(1))).not.toHaveProperty('error');
    expect(eventAttributes({ ...event(1), error: '' })).not.toHaveProperty('error');
  });

  it('has only event_type for an id that is not a payload id', () => {
    expect(Object.keys(eventAttributes({ ...event(1), payloadId: 'unknown', eventType: WorkflowEventType.RECORD_EXTRACT_FAILED }))).toEqual([
      'event_type',
    ]);
  });
});

describe('skipEventFor', () => {
  it('maps the states that skip a payload to ALREADY_* events', () => {
    expect(skipEventFor(State.INVALID)).toBe('ALREADY_INVALID');
    expect(skipEventFor(State.PROCESSING)).toBe('ALREADY_PROCESSING');
    expect(skipEventFor(State.CLAIMED)).toBe('ALREADY_CLAIMED');
    expect(skipEventFor(State.SUCCEEDED)).toBe('ALREADY_SUCCEEDED');
  });

  it('has no skip event for states that are processed', () => {
    expect(() => skipEventFor(State.FAILED)).toThrow(RangeError);
  });
});

describe('WorkflowEventPublisher', () => {
  const snsMock = mockClient(SNSClient);
  let client: SNSClient;

  beforeEach(() => {
    snsMock.reset();
    snsMock.on(PublishBatchCommand).resolves({ Successful: [], Failed: [] });
    client = new SNSClient({ region: 'us-west-2', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  });

  afterEach(() => {
    client.destroy();
  });

  /** A publisher to `topic` through the mocked client (console URLs in us-west-2). */
  function publisher(topic: string | undefined): WorkflowEventPublisher {
    return new WorkflowEventPublisher(topic, { sns: () => client, region: 'us-west-2' });
  }

  /** The publisher the functions' runtime builds from `env` (its clients destroyed after the tests). */
  const runtimes: Runtime[] = [];
  function runtimePublisher(env: Env): WorkflowEventPublisher {
    const runtime = createRuntime(loadRuntimeConfig({ CIRRUS_PAYLOAD_BUCKET: 'b', ...env }));
    runtimes.push(runtime);
    return runtime.eventPublisher();
  }

  afterAll(() => {
    for (const r of runtimes) r.destroy();
    snsMock.restore();
  });

  function entryCounts(): number[] {
    return snsMock.commandCalls(PublishBatchCommand).map((c) => c.args[0].input.PublishBatchRequestEntries?.length ?? 0);
  }

  it('is disabled when the topic is unset: no SNS call', async () => {
    const pub = publisher(undefined);
    expect(pub.enabled).toBe(false);
    for (let i = 0; i < 23; i++) pub.announce(event(i));
    await pub.flush();
    expect(snsMock.calls()).toHaveLength(0);
    expect(pub.announced).toHaveLength(23);
  });

  it('is disabled by the runtime when CIRRUS_WORKFLOW_EVENT_TOPIC_ARN is unset or empty', async () => {
    for (const env of [{}, { CIRRUS_WORKFLOW_EVENT_TOPIC_ARN: '' }]) {
      const pub = runtimePublisher(env);
      expect(pub.enabled).toBe(false);
      pub.announce(event(1));
      await pub.flush();
    }
    expect(snsMock.calls()).toHaveLength(0);
  });

  it('is enabled by the runtime with the topic of CIRRUS_WORKFLOW_EVENT_TOPIC_ARN', () => {
    const pub = runtimePublisher({ CIRRUS_WORKFLOW_EVENT_TOPIC_ARN: TOPIC });
    expect(pub.enabled).toBe(true);
    expect(pub.topicArn).toBe(TOPIC);
  });

  it('publishes 23 events in 3 PublishBatch calls of 10, 10 and 3', async () => {
    const pub = publisher(TOPIC);
    for (let i = 0; i < 23; i++) pub.announce(event(i));
    await pub.flush();
    expect(entryCounts()).toEqual([10, 10, 3]);
    for (const c of snsMock.commandCalls(PublishBatchCommand)) expect(c.args[0].input.TopicArn).toBe(TOPIC);
  });

  it('never sends more than 10 entries per call', async () => {
    const pub = publisher(TOPIC);
    for (let i = 0; i < 47; i++) pub.announce(event(i));
    await pub.flush();
    const counts = entryCounts();
    expect(Math.max(...counts)).toBeLessThanOrEqual(10);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(47);
  });

  it('sends a batch as soon as 10 events are waiting, the rest on flush', async () => {
    const pub = publisher(TOPIC);
    for (let i = 0; i < 12; i++) pub.announce(event(i));
    await new Promise((r) => setImmediate(r));
    expect(entryCounts()).toEqual([10]);
    await pub.flush();
    expect(entryCounts()).toEqual([10, 2]);
  });

  it('sends each event in order with its serialised body and attributes, ids unique per batch', async () => {
    const pub = publisher(TOPIC);
    const events = Array.from({ length: 13 }, (_, i) => event(i, i % 2 ? { error: `e${i}`, executionArn: ARN } : {}));
    for (const e of events) pub.announce(e);
    await pub.flush();
    const calls = snsMock.commandCalls(PublishBatchCommand);
    const entries = calls.flatMap((c) => c.args[0].input.PublishBatchRequestEntries ?? []);
    expect(entries.map((e) => JSON.parse(e.Message as string))).toEqual(events.map((e) => JSON.parse(serializeEvent(e, 'us-west-2'))));
    expect(entries.map((e) => e.MessageAttributes)).toEqual(events.map((e) => eventAttributes(e)));
    for (const c of calls) {
      const ids = (c.args[0].input.PublishBatchRequestEntries ?? []).map((e) => e.Id);
      expect(new Set(ids).size).toBe(ids.length);
    }
  });

  it('sends nothing on flush when nothing was announced', async () => {
    await publisher(TOPIC).flush();
    expect(snsMock.calls()).toHaveLength(0);
  });

  it('does not throw from flush() when PublishBatch fails, and counts the lost events', async () => {
    snsMock.on(PublishBatchCommand).rejects(new Error('SNS is down'));
    const pub = publisher(TOPIC);
    for (let i = 0; i < 23; i++) pub.announce(event(i));
    await expect(pub.flush()).resolves.toBeUndefined();
    expect(entryCounts()).toEqual([10, 10, 3]);
    expect(pub.failedCount).toBe(23);
  });

  it('does not throw from flush() when some entries are reported Failed', async () => {
    snsMock.on(PublishBatchCommand).resolves({ Successful: [], Failed: [{ Id: '0', Code: 'InternalError', SenderFault: false }] });
    const pub = publisher(TOPIC);
    for (let i = 0; i < 3; i++) pub.announce(event(i));
    await expect(pub.flush()).resolves.toBeUndefined();
    expect(pub.failedCount).toBeGreaterThan(0);
  });
});
