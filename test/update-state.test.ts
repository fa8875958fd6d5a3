/**
 * Integration tests of the `update-state` function (README, "`update-state`") on the local
 * stack. The full loop runs for real: process (SQS event) → the execution runs on the local Step
 * Functions → its status-change event → update-state (subscribed with `onStatusChange`).
 */
import path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { StopExecutionCommand } from '@aws-sdk/client-sfn';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { handler as processHandler } from '../lambdas/process/index';
import { handler as stampItemsHandler } from '../lambdas/stamp-items/index';
import { handler as updateStateHandler } from '../lambdas/update-state/index';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { handlerRuntime } from '../shared/runtime';
import { MalformedEventError } from '../shared/errors';
import type { JsonObject } from '../shared/json';
import type { UpdateStateResult } from '../shared/update-state';
import type { CompletedExecution, StepFunctionsStatusChangeEvent } from '../local';
import { WORKFLOWS_DIR, expectedExecutionName, makeItem, makePayload, padding, sqsEvent, sqsRecord, uid, type PayloadOptions, type PipelineStack } from './helpers/pipeline';
import { registerRaiseWorkflow, startMinimalPipeline } from './helpers/pipeline-suite';
import { UUID } from './helpers/samples';

const BUCKET = 'cirrus-payloads';

const WAIT_DEFINITION = { StartAt: 'Sleep', States: { Sleep: { Type: 'Wait', Seconds: 30, End: true } } };
const TIMEOUT_DEFINITION = { TimeoutSeconds: 1, StartAt: 'Sleep', States: { Sleep: { Type: 'Wait', Seconds: 30, End: true } } };

let p: PipelineStack;
let paused = false;
const results = new Map<string, UpdateStateResult>();

beforeAll(async () => {
  p = await startMinimalPipeline();
  await p.stack.registerWorkflow('stamp-items', path.join(WORKFLOWS_DIR, 'stamp-items.asl.json'), {
    substitutions: { StampItemsFunctionArn: 'arn:aws:lambda:us-west-2:123456789012:function:stamp-items' },
    lambdaHandlers: { 'stamp-items': stampItemsHandler },
  });
  await registerRaiseWorkflow(p.stack);
  await p.stack.registerWorkflow('wait', WAIT_DEFINITION);
  await p.stack.registerWorkflow('timeout', TIMEOUT_DEFINITION);
  // EventBridge rule → update-state.
  p.stack.onStatusChange(async (event) => {
    if (paused) return;
    results.set(event.detail.executionArn, await updateStateHandler(event));
  });
});

afterAll(async () => {
  await p?.stop();
});

afterEach(() => {
  paused = false;
  jest.restoreAllMocks();
});

interface Loop {
  id: string;
  arn: string;
  name: string;
  done: CompletedExecution;
  result: UpdateStateResult | undefined;
}

/** process (SQS event) → execution → status event → update-state; resolves once all ran. */
async function runLoop(payload: JsonObject & { id: string }): Promise<Loop> {
  expect(await processHandler(sqsEvent(sqsRecord(payload)))).toEqual({ batchItemFailures: [] });
  const item = await p.db.getItem(payload.id);
  const arn = item!.executions.at(-1)!;
  const done = await p.stack.waitForExecution(arn);
  expect(p.stack.deliveryFailures.filter((f) => f.event.detail.executionArn === arn).map((f) => f.error)).toEqual([]);
  return { id: payload.id, arn, name: arn.split(':').at(-1)!, done, result: results.get(arn) };
}

/** Runs the loop with update-state unsubscribed: the test delivers (a variant of) the event itself. */
async function runWithoutUpdateState(payload: JsonObject & { id: string }): Promise<Loop> {
  paused = true;
  try {
    return await runLoop(payload);
  } finally {
    paused = false;
  }
}

function url(key: string): string {
  return `s3://${BUCKET}/${key}`;
}

function consoleUrl(arn: string): string {
  return `https://us-west-2.console.aws.amazon.com/states/home?region=us-west-2#/v2/executions/details/${arn}`;
}

/** Messages sent to the process queue whose features include `itemId`. */
function chainedMessages(itemId: string): JsonObject[] {
  return p.stack.sqs
    .sent(p.stack.processQueueUrl)
    .map((m) => JSON.parse(m.body) as JsonObject)
    .filter((b) => (b.features as JsonObject[]).some((f) => f.id === itemId));
}

/** The SendMessageBatch commands a spied `send` received. */
function sendMessageBatchCalls(send: jest.SpiedFunction<(command: unknown) => unknown>): SendMessageBatchCommand[] {
  return send.mock.calls.map((c) => c[0]).filter((c): c is SendMessageBatchCommand => c instanceof SendMessageBatchCommand);
}

function withoutId(payload: JsonObject): JsonObject {
  const copy = { ...payload };
  delete copy.id;
  return copy;
}

function failing(name: string, message: string, extra: PayloadOptions = {}): JsonObject & { id: string } {
  return makePayload({ workflow: 'raise', ...extra, process0: { raise: { name, message } } });
}

describe('update-state on the local stack', () => {
  it('full loop: output.json equals the execution output, StateDB SUCCEEDED, SUCCEEDED event with input and output URLs', async () => {
    const payload = makePayload();
    const { id, arn, name, done, result } = await runLoop(payload);
    expect(done.status).toBe('SUCCEEDED');

    const outputKey = p.executionKey(id, name, 'output.json');
    const described = await p.describe(arn);
    expect(await p.getJson(outputKey)).toEqual(JSON.parse(described.output!));
    expect(await p.contentType(outputKey)).toBe('application/json');
    expect(result).toMatchObject({ state: 'SUCCEEDED', payloadId: id, outputPayloadUrl: url(outputKey), describedExecution: false });

    const item = await p.db.getItem(id);
    expect(item).toMatchObject({ state: 'SUCCEEDED', executions: [arn] });
    expect(item?.lastError).toBeUndefined();

    // process and update-state publish independently: only the set of events is fixed, not their order.
    const events = p.workflowEvents(id);
    expect(events.map((e) => e.event_type)).toEqual(expect.arrayContaining(['CLAIMED_PROCESSING', 'SUCCEEDED']));
    const succeeded = events.filter((e) => e.event_type === 'SUCCEEDED');
    expect(succeeded).toHaveLength(1);
    expect(succeeded[0]).toMatchObject({
      input_payload_url: url(p.executionKey(id, name, 'input.json')),
      output_payload_url: url(outputKey),
      execution: consoleUrl(arn),
      attributes: { event_type: 'SUCCEEDED', workflow: 'minimal', collections: 'sentinel-s2-l2a' },
    });
  });

  it('oversized output: the task returns a tmp/oversized reference; output.json holds the re-hydrated full payload', async () => {
    const payload = makePayload({ workflow: 'stamp-items', process0: { tasks: { 'stamp-items': { pad_bytes: 130_000 } } } });
    const { id, arn, name, done } = await runLoop(payload);
    expect(done.status).toBe('SUCCEEDED');

    const output = JSON.parse(done.output!) as JsonObject;
    expect(Object.keys(output)).toEqual(['url']);
    expect(output.url).toMatch(new RegExp(`^s3://${BUCKET}/cirrus/tmp/oversized/${UUID}\\.json$`));
    const full = (await p.getJson(String(output.url))) as JsonObject & { features: { properties: JsonObject }[] };
    expect(Buffer.byteLength(JSON.stringify(JSON.stringify(full)))).toBeGreaterThan(120_000);
    expect(full.id).toBe(id);
    expect(full.features[0].properties['processing:padding']).toBe('x'.repeat(130_000));
    expect(typeof full.features[0].properties['processing:stamped']).toBe('string');

    expect(await p.getJson(p.executionKey(id, name, 'output.json'))).toEqual(full);
    expect(await p.db.getItem(id)).toMatchObject({ state: 'SUCCEEDED', executions: [arn] });
  });

  it('oversized input: the {"url"} execution input is re-hydrated to find the payload; output.json holds the full payload', async () => {
    const itemId = uid('bigin');
    const payload = makePayload({ features: [makeItem(itemId, 'sentinel-s2-l2a', { pad: padding(125_000) })] });
    const { id, name, done, result } = await runLoop(payload);
    expect(done.status).toBe('SUCCEEDED');
    expect(Object.keys(JSON.parse(done.event.detail.input!) as JsonObject)).toEqual(['url']);
    expect(Object.keys(JSON.parse(done.event.detail.output!) as JsonObject)).toEqual(['url']);

    expect(result).toMatchObject({ state: 'SUCCEEDED', payloadId: id, inputPayloadUrl: url(p.executionKey(id, name, 'input.json')) });
    expect(await p.getJson(p.executionKey(id, name, 'output.json'))).toEqual(payload);
    expect(await p.db.getItem(id)).toMatchObject({ state: 'SUCCEEDED' });
  });

  it('pass-through of an oversized input: the reference both ends share is read once (1 GetObject)', async () => {
    const itemId = uid('passthru');
    const payload = makePayload({ features: [makeItem(itemId, 'sentinel-s2-l2a', { pad: padding(125_000) })] });
    const { id, name, done } = await runWithoutUpdateState(payload);
    expect(JSON.parse(done.event.detail.output!)).toEqual(JSON.parse(done.event.detail.input!));
    const send = jest.spyOn(handlerRuntime(process.env).clients.s3, 'send');
    try {
      const result = await updateStateHandler(done.event);
      expect(result).toMatchObject({ state: 'SUCCEEDED', payloadId: id });
      const gets = send.mock.calls.filter(([command]) => command instanceof GetObjectCommand);
      expect(gets).toHaveLength(1);
    } finally {
      send.mockRestore();
    }
    expect(await p.getJson(p.executionKey(id, name, 'output.json'))).toEqual(payload);
  });

  it('output missing on SUCCEEDED: SUCCEEDED, no output.json, a warning', async () => {
    const payload = makePayload();
    const { id, name, done } = await runWithoutUpdateState(payload);
    const event = structuredClone(done.event);
    event.detail.output = null;
    event.detail.outputDetails = { included: true };
    const warn = jest.spyOn(Logger.prototype, 'warn');

    const result = await updateStateHandler(event);

    expect(result).toMatchObject({ state: 'SUCCEEDED', payloadId: id, describedExecution: false });
    expect(result.outputPayloadUrl).toBeUndefined();
    expect(await p.exists(p.executionKey(id, name, 'output.json'))).toBe(false);
    expect(await p.db.getItem(id)).toMatchObject({ state: 'SUCCEEDED' });
    expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([expect.stringMatching(/no output/)]);
    const succeeded = p.workflowEvents(id).filter((e) => e.event_type === 'SUCCEEDED');
    expect(succeeded).toHaveLength(1);
    expect(succeeded[0].input_payload_url).toBe(url(p.executionKey(id, name, 'input.json')));
    expect(succeeded[0].output_payload_url).toBeUndefined();
  });

  it('input and output not included in the event: reads them with DescribeExecution', async () => {
    // stamp-items changes the payload, so output.json can only be right if the output was described.
    const payload = makePayload({ workflow: 'stamp-items', process0: { tasks: {} } });
    const { id, arn, name, done } = await runWithoutUpdateState(payload);
    expect(done.status).toBe('SUCCEEDED');
    const event: StepFunctionsStatusChangeEvent = structuredClone(done.event);
    Object.assign(event.detail, { input: null, inputDetails: { included: false }, output: null, outputDetails: { included: false } });

    const result = await updateStateHandler(event);

    expect(result).toMatchObject({ state: 'SUCCEEDED', payloadId: id, describedExecution: true });
    const described = await p.describe(arn);
    const output = JSON.parse(described.output!) as { features: { properties: JsonObject }[] };
    expect(output.features[0].properties['processing:stamped']).toEqual(expect.any(String));
    expect(await p.getJson(p.executionKey(id, name, 'output.json'))).toEqual(output);
    expect(await p.db.getItem(id)).toMatchObject({ state: 'SUCCEEDED', executions: [arn] });
    expect(p.workflowEvents(id).filter((e) => e.event_type === 'SUCCEEDED')).toEqual([
      expect.objectContaining({
        input_payload_url: url(p.executionKey(id, name, 'input.json')),
        output_payload_url: url(p.executionKey(id, name, 'output.json')),
      }),
    ]);
  });

  it('FAILED with a JSON cause: "<Error>: <errorMessage>", FAILED event with the input URL', async () => {
    const payload = failing('PayloadTooDullError', 'not interesting enough');
    const { id, arn, name, done, result } = await runLoop(payload);
    expect(done.status).toBe('FAILED');
    expect(JSON.parse(done.event.detail.cause!)).toMatchObject({ errorType: 'PayloadTooDullError', errorMessage: 'not interesting enough' });

    const text = 'PayloadTooDullError: not interesting enough';
    expect(result).toMatchObject({ state: 'FAILED', error: text });
    expect(await p.db.getItem(id)).toMatchObject({ state: 'FAILED', lastError: text, executions: [arn] });
    expect(p.workflowEvents(id).filter((e) => e.event_type === 'FAILED')).toEqual([
      expect.objectContaining({
        error: text,
        input_payload_url: url(p.executionKey(id, name, 'input.json')),
        attributes: { event_type: 'FAILED', workflow: 'raise', collections: 'sentinel-s2-l2a', error: text },
      }),
    ]);
    expect(await p.exists(p.executionKey(id, name, 'output.json'))).toBe(false);
  });

  it('FAILED with a raw (non-JSON) cause: "<Error>: <cause>"', async () => {
    const payload = makePayload({ succeed: false });
    const { id, done } = await runLoop(payload);
    expect(done.status).toBe('FAILED');
    expect(done.event.detail).toMatchObject({ error: 'WorkflowFailed', cause: 'process[0].succeed is not true' });
    expect(await p.db.getItem(id)).toMatchObject({ state: 'FAILED', lastError: 'WorkflowFailed: process[0].succeed is not true' });
  });

  it('TIMED_OUT: FAILED with a TimedOutError text and a TIMED_OUT event', async () => {
    const payload = makePayload({ workflow: 'timeout' });
    const { id, name, done, result } = await runLoop(payload);
    expect(done.status).toBe('TIMED_OUT');

    const item = await p.db.getItem(id);
    expect(item?.state).toBe('FAILED');
    expect(item?.lastError).toMatch(/^TimedOutError: \S/);
    expect(result).toMatchObject({ state: 'FAILED', error: item?.lastError });
    expect(p.workflowEvents(id).filter((e) => e.event_type === 'TIMED_OUT')).toEqual([
      expect.objectContaining({ error: item?.lastError, input_payload_url: url(p.executionKey(id, name, 'input.json')) }),
    ]);
  });

  it('ABORTED (StopExecution): ABORTED, with an ABORTED event', async () => {
    const payload = makePayload({ workflow: 'wait' });
    expect(await processHandler(sqsEvent(sqsRecord(payload)))).toEqual({ batchItemFailures: [] });
    const arn = p.executionArn('wait', expectedExecutionName(payload.id));
    expect(await p.db.getItem(payload.id)).toMatchObject({ state: 'PROCESSING', executions: [arn] });

    await p.sfn.send(new StopExecutionCommand({ executionArn: arn, error: 'Stopped', cause: 'by the test' }));
    const done = await p.stack.waitForExecution(arn, 5000);
    expect(done.status).toBe('ABORTED');

    expect(results.get(arn)).toMatchObject({ state: 'ABORTED' });
    expect(await p.db.getItem(payload.id)).toMatchObject({ state: 'ABORTED', executions: [arn] });
    expect(p.workflowEvents(payload.id).filter((e) => e.event_type === 'ABORTED')).toEqual([
      expect.objectContaining({ input_payload_url: url(p.executionKey(payload.id, arn.split(':').at(-1)!, 'input.json')) }),
    ]);
  });

  it.each(['stactask.exceptions.InvalidInput', 'cirrus.lib.errors.InvalidInput'])('%s: INVALID, with an INVALID event', async (errorName) => {
    const payload = failing(errorName, 'the input has no assets');
    const { id, done, result } = await runLoop(payload);
    expect(done.status).toBe('FAILED');
    expect(done.event.detail.error).toBe(errorName);

    const text = `${errorName}: the input has no assets`;
    expect(result).toMatchObject({ state: 'INVALID', error: text });
    expect(await p.db.getItem(id)).toMatchObject({ state: 'INVALID', lastError: text });
    const events = p.workflowEvents(id).map((e) => e.event_type);
    expect(events).toContain('INVALID');
    expect(events).not.toContain('FAILED');
  });

  it('chains one next process: sent to the process queue without id, process advanced', async () => {
    const next: JsonObject[] = [{ workflow: 'next-one', note: 'n1' }, { workflow: 'after-that' }];
    const payload = makePayload({ next });
    const itemId = (payload.features as JsonObject[])[0].id as string;
    const { result } = await runLoop(payload);

    expect(result).toMatchObject({ state: 'SUCCEEDED', chained: 1 });
    expect(chainedMessages(itemId)).toEqual([{ ...withoutId(payload), process: next }]);
  });

  it('chains several next processes (process[1] a list): one message each', async () => {
    const defs: JsonObject[] = [{ workflow: 'next-a' }, { workflow: 'next-b', replace: true }];
    const payload = makePayload({ next: [defs] });
    const itemId = (payload.features as JsonObject[])[0].id as string;
    await runLoop(payload);

    const sent = chainedMessages(itemId);
    expect(sent).toHaveLength(2);
    expect(sent).toEqual(expect.arrayContaining(defs.map((d) => ({ ...withoutId(payload), process: [d] }))));
  });

  it('chains with chain_filter: only the matching features go to that next process', async () => {
    const keep: JsonObject = { ...makeItem(uid('keep')), properties: { datetime: '2021-01-01T00:00:00Z', confidence: 90 } };
    const drop: JsonObject = { ...makeItem(uid('drop')), properties: { datetime: '2021-01-01T00:00:00Z', confidence: 10 } };
    const filtered: JsonObject = { workflow: 'next-filtered', chain_filter: '@.properties.confidence > 80' };
    const all: JsonObject = { workflow: 'next-all' };
    const payload = makePayload({ features: [keep, drop], next: [[filtered, all]] });
    await runLoop(payload);

    const sent = chainedMessages(keep.id as string);
    expect(sent).toHaveLength(2);
    const byWorkflow = Object.fromEntries(sent.map((m) => [(m.process as JsonObject[])[0].workflow, m]));
    expect(byWorkflow['next-filtered']).toEqual({ ...withoutId(payload), features: [keep], process: [filtered] });
    expect(byWorkflow['next-all']).toEqual({ ...withoutId(payload), features: [keep, drop], process: [all] });
  });

  it('sends chained payloads in batches of at most 10: 12 next processes → 2 SendMessageBatch calls', async () => {
    const defs = Array.from({ length: 12 }, (_, i) => ({ workflow: `next-${i}` }));
    const payload = makePayload({ next: [defs] });
    const itemId = (payload.features as JsonObject[])[0].id as string;
    const send = jest.spyOn(handlerRuntime(process.env).clients.sqs as unknown as { send: (command: unknown) => unknown }, 'send');

    await runLoop(payload);

    const batches = sendMessageBatchCalls(send);
    expect(batches.map((b) => b.input.Entries?.length)).toEqual([10, 2]);
    const sent = chainedMessages(itemId);
    expect(sent).toHaveLength(12);
    expect(sent.map((m) => (m.process as JsonObject[])[0].workflow).sort()).toEqual(defs.map((d) => d.workflow).sort());
    for (const m of sent) expect(m).not.toHaveProperty('id');
  });

  it('keeps each SendMessageBatch under the 256 KB request limit: three ~100 KB chained payloads all arrive', async () => {
    const defs = [{ workflow: 'next-a' }, { workflow: 'next-b' }, { workflow: 'next-c' }];
    const itemId = uid('chain');
    const payload = makePayload({ features: [makeItem(itemId, 'sentinel-s2-l2a', { pad: padding(100_000) })], next: [defs] });
    const send = jest.spyOn(handlerRuntime(process.env).clients.sqs as unknown as { send: (command: unknown) => unknown }, 'send');

    const { result } = await runLoop(payload);

    expect(result).toMatchObject({ state: 'SUCCEEDED', chained: 3 });
    const batches = sendMessageBatchCalls(send);
    for (const b of batches) {
      expect(b.input.Entries!.reduce((n, e) => n + Buffer.byteLength(e.MessageBody!), 0)).toBeLessThanOrEqual(262_144);
    }
    expect(batches.flatMap((b) => b.input.Entries!.map((e) => Buffer.byteLength(e.MessageBody!)))).toEqual([
      expect.any(Number),
      expect.any(Number),
      expect.any(Number),
    ]);
    expect(Buffer.byteLength(batches[0].input.Entries![0].MessageBody!)).toBeGreaterThan(100_000);
    expect(chainedMessages(itemId).map((m) => (m.process as JsonObject[])[0].workflow).sort()).toEqual(['next-a', 'next-b', 'next-c']);
  });

  it('publishes every item even when ten items exceed one 256 KB PublishBatch request', async () => {
    const items = Array.from({ length: 10 }, () => makeItem(uid('big'), 'sentinel-s2-l2a', { pad: padding(30_000) }));
    const payload = makePayload({ features: items });
    const { result } = await runLoop(payload);

    expect(result).toMatchObject({ state: 'SUCCEEDED', published: 10 });
    const ids = new Set(items.map((i) => i.id));
    const published = p.stack.sns.messages(p.stack.publishTopicArn).filter((m) => ids.has((JSON.parse(m.message) as JsonObject).id as string));
    expect(published).toHaveLength(10);
  });

  it('publishes each output item with its attributes: bbox, datetime range, cloud cover, status', async () => {
    const itemId = uid('attrs');
    const item = {
      ...makeItem(itemId, 'landsat-c2-l2'),
      bbox: [-105.5, 39.25, -104.75, 40.125],
      properties: {
        datetime: null,
        start_datetime: '2021-06-01T00:00:00Z',
        end_datetime: '2021-06-30T23:59:59Z',
        'eo:cloud_cover': 12.5,
        created: '2021-07-01T00:00:00Z',
        updated: '2021-07-02T00:00:00Z',
      },
    };
    const payload = makePayload({ features: [item] });
    await runLoop(payload);

    const published = p.stack.sns.messages(p.stack.publishTopicArn).filter((m) => (JSON.parse(m.message) as JsonObject).id === itemId);
    expect(published).toHaveLength(1);
    expect(JSON.parse(published[0].message)).toEqual(item);
    expect(published[0].attributes).toEqual({
      collection: 'landsat-c2-l2',
      'bbox.ll_lon': '-105.5',
      'bbox.ll_lat': '39.25',
      'bbox.ur_lon': '-104.75',
      'bbox.ur_lat': '40.125',
      start_datetime: '2021-06-01T00:00:00Z',
      end_datetime: '2021-06-30T23:59:59Z',
      cloud_cover: '12.5',
      status: 'updated',
    });
    expect(published[0].messageAttributes['bbox.ll_lon'].DataType).toBe('Number');
    expect(published[0].messageAttributes.cloud_cover.DataType).toBe('Number');
    expect(published[0].messageAttributes.start_datetime.DataType).toBe('String');
  });

  it('malformed event: a MalformedEventError naming the missing field', async () => {
    const base = p.stack.statusEvents[0];
    expect(base).toBeDefined();
    const noArn = structuredClone(base) as unknown as { detail: Record<string, unknown> };
    delete noArn.detail.executionArn;
    const noStatus = structuredClone(base) as unknown as { detail: Record<string, unknown> };
    delete noStatus.detail.status;

    const errArn = await updateStateHandler(noArn).catch((e: unknown) => e);
    expect(errArn).toBeInstanceOf(MalformedEventError);
    expect((errArn as Error).message).toMatch(/detail\.executionArn/);
    const errStatus = await updateStateHandler(noStatus).catch((e: unknown) => e);
    expect(errStatus).toBeInstanceOf(MalformedEventError);
    expect((errStatus as Error).message).toMatch(/detail\.status/);
    const noDetail = await updateStateHandler({ 'detail-type': 'Step Functions Execution Status Change' }).catch((e: unknown) => e);
    expect(noDetail).toBeInstanceOf(MalformedEventError);
    expect((noDetail as Error).message).toMatch(/detail/);
  });
});
