/**
 * Workflow metric events (`CIRRUS_WORKFLOW_LOG_GROUP`): the message Cirrus v2 writes for each
 * workflow event, and how they are written to CloudWatch Logs (mocked with aws-sdk-client-mock;
 * the local-stack run is in `cirrus-interop.test.ts`).
 */
import { CloudWatchLogsClient, CreateLogStreamCommand, PutLogEventsCommand, ResourceNotFoundException } from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { WorkflowEventType, type WorkflowEvent } from '../shared/events';
import { createRuntime, loadRuntimeConfig } from '../shared/runtime';
import { WorkflowMetricLogger, metricMessage } from '../shared/workflow-metric-log';
import { TIMESTAMPS } from './helpers/samples';

const ARN = 'arn:aws:states:us-west-2:123456789012:execution:cirrus-cog-archive:492fca12-ae13-5b13-8f98-4873fed8f3d3';
const [TS] = TIMESTAMPS;
const GROUP = 'cirrus-workflow-event-metrics';

function event(extra: Partial<WorkflowEvent> = {}): WorkflowEvent {
  return { eventType: WorkflowEventType.SUCCEEDED, payloadId: 'sentinel-s2-l2a/workflow-cog-archive/S2B_1', isoTimestamp: TS, ...extra };
}

describe('metricMessage: Python json.dumps of {event, workflow, source, execution_arn}', () => {
  it('splits the payload id into workflow and source (its collections), with the execution ARN', () => {
    expect(metricMessage(event({ executionArn: ARN }))).toBe(
      `{"event": "SUCCEEDED", "workflow": "cog-archive", "source": "sentinel-s2-l2a", "execution_arn": "${ARN}"}`,
    );
  });

  it('an event without an execution has "execution_arn": null', () => {
    expect(metricMessage(event({ eventType: WorkflowEventType.CLAIMED_PROCESSING }))).toBe(
      '{"event": "CLAIMED_PROCESSING", "workflow": "cog-archive", "source": "sentinel-s2-l2a", "execution_arn": null}',
    );
  });

  it('an id that does not parse: workflow "could not parse", source the whole id', () => {
    expect(metricMessage(event({ eventType: WorkflowEventType.NOT_A_PROCESS_PAYLOAD, payloadId: 'no workflow here' }))).toBe(
      '{"event": "NOT_A_PROCESS_PAYLOAD", "workflow": "could not parse", "source": "no workflow here", "execution_arn": null}',
    );
  });

  it('escapes everything outside printable ASCII as \\uXXXX (lower-case hex, UTF-16 units), as ensure_ascii does', () => {
    expect(metricMessage(event({ payloadId: 'café\u007f"/workflow-w/😀' }))).toBe(
      '{"event": "SUCCEEDED", "workflow": "w", "source": "caf\\u00e9\\u007f\\"", "execution_arn": null}',
    );
    expect(metricMessage(event({ payloadId: '😀' }))).toContain('"source": "\\ud83d\\ude00"');
  });

  // Checked with Python 3.11: re.compile(r"(?P<collections>.+)/workflow-(?P<workflow>[^/]+)/(?P<itemids>.+)").match(id)
  it('a newline before "/workflow-" does not parse, as "." stops at a newline in Python', () => {
    expect(metricMessage(event({ payloadId: 'a\n/workflow-w/i' }))).toBe(
      '{"event": "SUCCEEDED", "workflow": "could not parse", "source": "a\\n/workflow-w/i", "execution_arn": null}',
    );
  });

  it('an id with two "/workflow-" parts names the last one, as Cirrus’s greedy regex does', () => {
    expect(metricMessage(event({ payloadId: 'a/workflow-b/c/workflow-d/e' }))).toBe(
      '{"event": "SUCCEEDED", "workflow": "d", "source": "a/workflow-b/c", "execution_arn": null}',
    );
  });
});

describe('WorkflowMetricLogger', () => {
  const logs = mockClient(CloudWatchLogsClient);
  const client = new CloudWatchLogsClient({ region: 'us-west-2' });

  beforeEach(() => {
    logs.reset();
    logs.on(CreateLogStreamCommand).resolves({});
    logs.on(PutLogEventsCommand).resolves({});
  });

  afterAll(() => {
    logs.restore();
  });

  it('writes the queued events in one PutLogEvents call, in chronological order, to a workflow-metrics-<uuid4> stream it created', async () => {
    const m = new WorkflowMetricLogger(`${GROUP}-a`, undefined, () => client);
    m.add(event({ eventType: WorkflowEventType.CLAIMED_PROCESSING }));
    m.add(event({ eventType: WorkflowEventType.STARTED_PROCESSING, executionArn: ARN }));
    await m.flush();

    const created = logs.commandCalls(CreateLogStreamCommand).map((c) => c.args[0].input);
    expect(created).toEqual([{ logGroupName: `${GROUP}-a`, logStreamName: expect.stringMatching(/^workflow-metrics-[0-9a-f-]{36}$/) }]);
    const puts = logs.commandCalls(PutLogEventsCommand).map((c) => c.args[0].input);
    expect(puts).toHaveLength(1);
    expect(puts[0].logStreamName).toBe(created[0].logStreamName);
    const events = puts[0].logEvents ?? [];
    expect(events.map((e) => JSON.parse(e.message ?? '') as { event: string }).map((e) => e.event)).toEqual(['CLAIMED_PROCESSING', 'STARTED_PROCESSING']);
    expect(events[1].timestamp).toBeGreaterThanOrEqual(events[0].timestamp ?? Infinity);
    expect(m.writtenCount).toBe(2);
  });

  it('writes nothing for event types Cirrus does not have (PUBLISH_FAILED)', async () => {
    const m = new WorkflowMetricLogger(`${GROUP}-e`, undefined, () => client);
    m.add(event({ eventType: WorkflowEventType.PUBLISH_FAILED }));
    await m.flush();
    expect(logs.commandCalls(PutLogEventsCommand)).toHaveLength(0);
  });

  it('reuses its stream across invocations (one per Lambda environment)', async () => {
    for (let i = 0; i < 3; i++) {
      const m = new WorkflowMetricLogger(`${GROUP}-b`, undefined, () => client);
      m.add(event());
      await m.flush();
    }
    expect(logs.commandCalls(CreateLogStreamCommand)).toHaveLength(1);
    expect(logs.commandCalls(PutLogEventsCommand)).toHaveLength(3);
  });

  it('starts a new stream when its stream is gone', async () => {
    const first = new WorkflowMetricLogger(`${GROUP}-c`, undefined, () => client);
    first.add(event());
    await first.flush();
    const oldStream = logs.commandCalls(CreateLogStreamCommand)[0].args[0].input.logStreamName;
    logs.reset();
    logs.on(CreateLogStreamCommand).resolves({});
    logs.on(PutLogEventsCommand).rejectsOnce(new ResourceNotFoundException({ message: 'The specified log stream does not exist.', $metadata: {} })).resolves({});
    const second = new WorkflowMetricLogger(`${GROUP}-c`, undefined, () => client);
    second.add(event());
    await second.flush();
    const puts = logs.commandCalls(PutLogEventsCommand).map((c) => c.args[0].input.logStreamName);
    const created = logs.commandCalls(CreateLogStreamCommand).map((c) => c.args[0].input.logStreamName);
    expect(created).toHaveLength(1);
    expect(created[0]).not.toBe(oldStream);
    expect(puts).toEqual([oldStream, created[0]]);
    expect(second.writtenCount).toBe(1);
  });

  it('never throws: a missing log group is logged and counted, and the payloads are unaffected', async () => {
    logs.on(CreateLogStreamCommand).rejects(new ResourceNotFoundException({ message: 'The specified log group does not exist.', $metadata: {} }));
    const errors: unknown[] = [];
    const m = new WorkflowMetricLogger(`${GROUP}-d`, { error: (...a: unknown[]) => errors.push(a) } as never, () => client);
    m.add(event());
    await expect(m.flush()).resolves.toBeUndefined();
    expect(m.failedCount).toBe(1);
    expect(errors).toHaveLength(1);
  });

  it("is off unless CIRRUS_WORKFLOW_LOG_GROUP is set, and the functions' event publisher feeds it every event it announces", async () => {
    const off = createRuntime(loadRuntimeConfig({ CIRRUS_PAYLOAD_BUCKET: 'b' }));
    const on = createRuntime(loadRuntimeConfig({ CIRRUS_PAYLOAD_BUCKET: 'b', CIRRUS_WORKFLOW_LOG_GROUP: GROUP }));
    try {
      expect(off.eventPublisher().metrics).toBeUndefined();
      const publisher = on.eventPublisher();
      expect(publisher.metrics?.logGroupName).toBe(GROUP);
      expect(publisher.enabled).toBe(false);
    } finally {
      off.destroy();
      on.destroy();
    }
  });
});
