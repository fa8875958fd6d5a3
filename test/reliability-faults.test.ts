/**
 * Reliability under faults: every AWS call made by `process` and `update-state`
 * is failed in turn on the local stack, with throttling, a 5xx and a timeout (see
 * `helpers/faults.ts`: the fault is raised on every attempt of the chosen logical call, so the
 * SDK's own three attempts all fail). Then the message (or the EventBridge event) is delivered
 * again without the fault, and the end state must be the one a fault-free run reaches: exactly one
 * execution for the payload, one execution ARN in the StateDB, input.json and output.json right.
 */
import { handler as processHandler } from '../lambdas/process/index';
import type { SQSBatchResponse } from '../lambdas/process/types';
import { handler as updateStateHandler } from '../lambdas/update-state/index';
import { resetHandlerRuntime } from '../shared/runtime';
import type { JsonObject } from '../shared/json';
import * as processModule from '../shared/process';
import type { ProcessSummary } from '../shared/process';
import type { StepFunctionsStatusChangeEvent } from '../local';
import {
  FAULT_KINDS,
  InjectedFault,
  installFaults,
  maxAttemptsOf,
  printFigures,
  scaleRetryDelays,
  handlerClients,
  type FaultInjector,
  type FaultKind,
  type ServiceName,
} from './helpers/faults';
import { expectedExecutionName, makeItem, makePayload, padding, sqsEvent, sqsRecord, uid, type PipelineStack, type SqsRecord } from './helpers/pipeline';
import { startMinimalPipeline, type TestPayload as Payload } from './helpers/pipeline-suite';

type Input = Record<string, unknown>;

let p: PipelineStack;
let faults: FaultInjector;

/** Figures printed at the end, for the CI log. */
const figures = { faultPoints: 0, combinations: 0, failedAttempts: 0, redeliveries: 0, lost: 0, doubleStarts: 0, started: 0, duplicates: 0 };
const pointsSeen = new Set<string>();

beforeAll(async () => (p = await startMinimalPipeline()));

/** SDK attempts per call of each client of the handlers' runtime (DynamoDB's default is 4, the others' 3). */
const attempts = {} as Record<ServiceName, number>;

beforeEach(async () => {
  // Fresh runtime clients for every test (a full SDK retry quota), with the fault middlewares on
  // them. The SDK keeps its retry decisions and attempt counts; its back-off waits are scaled down
  // 50 times (a throttled DynamoDB call would otherwise wait about 3.5 s).
  resetHandlerRuntime();
  const clients = handlerClients();
  faults = installFaults(clients);
  for (const [service, client] of Object.entries(clients) as [ServiceName, unknown][]) {
    attempts[service] = await maxAttemptsOf(client);
    await scaleRetryDelays(client, 0.02);
  }
});

afterEach(() => {
  faults.uninstall();
  jest.restoreAllMocks();
});

afterAll(async () => {
  figures.faultPoints = pointsSeen.size;
  const line =
    `reliability-faults: fault points tried=${figures.faultPoints}, fault combinations=${figures.combinations}, ` +
    `failed SDK attempts=${figures.failedAttempts}, redeliveries=${figures.redeliveries}, payloads started=${figures.started}, ` +
    `lost=${figures.lost}, double starts=${figures.doubleStarts}, ` +
    `duplicate item/chain messages (at-least-once)=${figures.duplicates}`;
  printFigures(line);
  await p?.stop();
});

// ---------------------------------------------------------------------------------------------
// Helpers

/** Invokes the process handler with an SQS event; returns its response and the per-record results. */
async function invoke(...records: SqsRecord[]): Promise<{ response: SQSBatchResponse; summary: ProcessSummary }> {
  const spy = jest.spyOn(processModule, 'processEvent');
  try {
    const response = (await processHandler(sqsEvent(...records))) as SQSBatchResponse;
    const summary = await (spy.mock.results.at(-1)!.value as Promise<ProcessSummary>);
    return { response, summary };
  } finally {
    spy.mockRestore();
  }
}

function failed(...records: SqsRecord[]): SQSBatchResponse {
  return { batchItemFailures: records.map((r) => ({ itemIdentifier: r.messageId })) };
}

/** The name of the error an injected fault raises. */
function faultName(kind: FaultKind, service: ServiceName): string {
  return new InjectedFault(kind, service, 'x').name;
}

/** Executions (in the local Step Functions) whose input is this payload, inline or by reference. */
async function executionsOfPayload(id: string): Promise<ReturnType<PipelineStack['executionsOf']>> {
  const out: ReturnType<PipelineStack['executionsOf']> = [];
  for (const e of p.stack.sfn.executions()) {
    let input = JSON.parse(e.input) as JsonObject;
    if (typeof input.url === 'string' && Object.keys(input).length === 1) input = (await p.getJson(input.url)) as JsonObject;
    if (input.id === id) out.push(e);
  }
  return out;
}

function arnOf(payload: Payload): string {
  return p.executionArn('minimal', expectedExecutionName(payload.id));
}

/** Messages published to the publish topic for an item id. */
function publishedItems(itemId: string): JsonObject[] {
  return p.stack.sns
    .messages(p.stack.publishTopicArn)
    .map((m) => JSON.parse(m.message) as JsonObject)
    .filter((m) => m.id === itemId);
}

/** Chained payloads sent to the process queue holding an item id (references re-hydrated). */
async function chainedFor(itemId: string): Promise<JsonObject[]> {
  const out: JsonObject[] = [];
  for (const m of p.stack.sqs.sent(p.stack.processQueueUrl)) {
    let body = JSON.parse(m.body) as JsonObject;
    if (typeof body.url === 'string') body = (await p.getJson(body.url)) as JsonObject;
    if ((body.features as JsonObject[] | undefined)?.some((f) => f.id === itemId)) out.push(body);
  }
  return out;
}

function itemIdOf(payload: Payload): string {
  return String((payload.features as JsonObject[])[0].id);
}

/**
 * The end state of a payload after process succeeded (with or without redeliveries): exactly one
 * execution, PROCESSING with that one execution ARN, input.json equal to the payload; then its
 * status event through update-state gives SUCCEEDED and output.json equal to the payload.
 */
async function expectStartedOnce(payload: Payload): Promise<void> {
  const arn = arnOf(payload);
  const name = arn.split(':').at(-1)!;
  const executions = await executionsOfPayload(payload.id);
  if (executions.length === 0) figures.lost++;
  if (executions.length > 1) figures.doubleStarts += executions.length - 1;
  expect(executions.map((e) => e.executionArn)).toEqual([arn]);
  const item = await p.db.getItem(payload.id);
  expect(item).toMatchObject({ state: 'PROCESSING', executions: [arn] });
  expect(await p.getJson(p.executionKey(payload.id, name, 'input.json'))).toEqual(payload);

  const done = await p.stack.waitForExecution(arn);
  expect(done.status).toBe('SUCCEEDED');
  await updateStateHandler(done.event);
  expect(await p.db.getItem(payload.id)).toMatchObject({ state: 'SUCCEEDED', executions: [arn] });
  expect(await p.getJson(p.executionKey(payload.id, name, 'output.json'))).toEqual(payload);
  figures.started++;
}

function countFault(point: string, rule: { hits: number; attemptsFailed: number }): void {
  pointsSeen.add(point);
  figures.combinations++;
  figures.failedAttempts += rule.attemptsFailed;
}

const isClaim = (i: Input): boolean => String(i.UpdateExpression ?? '').includes('claimed_at');
const isSetProcessing = (i: Input): boolean => i.ConditionExpression === 'begins_with(state_updated, :claim)';
const keyOf = (i: Input): string => String(i.Key ?? '');

// ---------------------------------------------------------------------------------------------
// process

interface ProcessPoint {
  point: string;
  service: ServiceName;
  command: string;
  match?: (input: Input) => boolean;
  /** The payload; default a fresh minimal payload. */
  payload?: () => Payload;
  /** The message body for a payload (default the payload itself). */
  body?: (payload: Payload) => Promise<unknown>;
  /** Whether the fault makes process report the message failed. */
  reported: boolean;
}

const bigPayload = (): Payload => makePayload({ features: [makeItem(uid('big'), 'sentinel-s2-l2a', { pad: padding(125_000) })] });

const PROCESS_POINTS: ProcessPoint[] = [
  {
    point: 'S3 GetObject of a {"url"} reference',
    service: 's3',
    command: 'GetObject',
    match: (i) => keyOf(i).startsWith('incoming/'),
    body: async (payload) => ({ url: await p.putJson(`incoming/${uid('ref')}.json`, payload) }),
    reported: true,
  },
  { point: 'DynamoDB BatchGetItem (states)', service: 'dynamodb', command: 'BatchGetItem', reported: true },
  { point: 'DynamoDB UpdateItem (claim)', service: 'dynamodb', command: 'UpdateItem', match: isClaim, reported: true },
  { point: 'S3 PutObject input.json', service: 's3', command: 'PutObject', match: (i) => keyOf(i).endsWith('/input.json'), reported: true },
  {
    point: 'S3 CopyObject input.json → tmp/oversized',
    service: 's3',
    command: 'CopyObject',
    match: (i) => keyOf(i).includes('/tmp/oversized/'),
    payload: bigPayload,
    reported: true,
  },
  { point: 'Step Functions StartExecution', service: 'sfn', command: 'StartExecution', reported: true },
  { point: 'DynamoDB UpdateItem (set PROCESSING)', service: 'dynamodb', command: 'UpdateItem', match: isSetProcessing, reported: true },
  {
    point: 'SNS PublishBatch of workflow events (process)',
    service: 'sns',
    command: 'PublishBatch',
    match: (i) => i.TopicArn === p.stack.workflowEventTopicArn,
    reported: false,
  },
];

describe('process: a failed AWS call reports the message; its redelivery starts the payload exactly once', () => {
  it.each(PROCESS_POINTS.map((pt) => [pt.point, pt] as const))('%s', async (point, pt) => {
    for (const kind of FAULT_KINDS) {
      const payload = (pt.payload ?? (() => makePayload()))();
      const record = sqsRecord(pt.body ? await pt.body(payload) : payload);
      const rule = faults.inject({ service: pt.service, command: pt.command, match: pt.match, fail: kind });

      const first = await invoke(record);
      rule.disarm();
      countFault(point, rule);
      expect({ kind, hits: rule.hits, attemptsFailed: rule.attemptsFailed }).toEqual({ kind, hits: 1, attemptsFailed: attempts[pt.service] });

      if (pt.reported) {
        expect({ kind, response: first.response }).toEqual({ kind, response: failed(record) });
        expect(first.summary.results[0]).toMatchObject({ outcome: 'retry', error: expect.stringContaining('injected') });
        // SQS redelivers the same message.
        figures.redeliveries++;
        expect({ kind, response: (await invoke(record)).response }).toEqual({ kind, response: failed() });
      } else {
        // Workflow events are best effort: the payload itself is started.
        expect({ kind, response: first.response }).toEqual({ kind, response: failed() });
        expect(first.summary.results[0].outcome).toBe('started');
        expect(await p.db.getItem(payload.id)).toMatchObject({ state: 'PROCESSING', executions: [arnOf(payload)] });
      }
      await expectStartedOnce(payload);
    }
  });

  it.each(FAULT_KINDS.map((k) => [k] as const))('DynamoDB GetItem after a lost claim race (%s): the claimed execution is resumed on redelivery', async (kind) => {
    const payload = makePayload();
    const record = sqsRecord(payload);
    // Another invocation claims the payload between our BatchGetItem and our claim, then dies.
    const rival = faults.inject({ service: 'dynamodb', command: 'UpdateItem', match: isClaim, before: () => p.db.claim(payload.id, arnOf(payload)).then(() => undefined) });
    const rule = faults.inject({ service: 'dynamodb', command: 'GetItem', fail: kind });

    const first = await invoke(record);
    rival.disarm();
    rule.disarm();
    countFault('DynamoDB GetItem (current item after a failed condition)', rule);
    expect(rival.hits).toBe(1);
    expect(rule).toMatchObject({ hits: 1, attemptsFailed: attempts.dynamodb });
    expect(first.response).toEqual(failed(record));
    expect(await p.db.getItem(payload.id)).toMatchObject({ state: 'CLAIMED', executions: [arnOf(payload)] });

    figures.redeliveries++;
    expect((await invoke(record)).response).toEqual(failed());
    await expectStartedOnce(payload);
  });

  it.each(FAULT_KINDS.map((k) => [k] as const))('S3 PutObject tmp/invalid (%s): reported failed, and stored on redelivery', async (kind) => {
    const id = `sentinel-s2-l2a/workflow-minimal/${uid('noproc')}`;
    const body = { type: 'FeatureCollection', id, features: [makeItem(id.split('/').at(-1)!)] };
    const record = sqsRecord(body);
    const rule = faults.inject({ service: 's3', command: 'PutObject', match: (i) => keyOf(i).includes('/tmp/invalid/'), fail: kind });

    const first = await invoke(record);
    rule.disarm();
    countFault('S3 PutObject tmp/invalid', rule);
    expect(rule).toMatchObject({ hits: 1, attemptsFailed: attempts.s3 });
    expect(first.response).toEqual(failed(record));
    expect(first.summary.results[0]).toMatchObject({ outcome: 'retry' });

    figures.redeliveries++;
    const again = await invoke(record);
    expect(again.response).toEqual(failed(record));
    const r = again.summary.results[0];
    expect(r.outcome).toBe('invalid');
    expect(r.inputPayloadUrl).toMatch(/^s3:\/\/cirrus-payloads\/cirrus\/tmp\/invalid\/[0-9a-f-]{36}\.json$/);
    expect(await p.getJson(r.inputPayloadUrl!)).toEqual(body);
    expect(await p.db.getItem(id)).toBeUndefined();
    expect(await executionsOfPayload(id)).toEqual([]);
  });
});

describe('process: a response lost once (the SDK retries a request that already took effect)', () => {
  const LOST_ONCE: Omit<ProcessPoint, 'reported'>[] = [
    { point: 'claim UpdateItem', service: 'dynamodb', command: 'UpdateItem', match: isClaim },
    { point: 'set PROCESSING UpdateItem', service: 'dynamodb', command: 'UpdateItem', match: isSetProcessing },
    { point: 'StartExecution', service: 'sfn', command: 'StartExecution' },
    { point: 'PutObject input.json', service: 's3', command: 'PutObject', match: (i) => keyOf(i).endsWith('/input.json') },
  ];
  it.each(LOST_ONCE.map((pt) => [pt.point, pt] as const))('%s: nothing is lost and nothing runs twice', async (point, pt) => {
    const payload = makePayload();
    const record = sqsRecord(payload);
    const rule = faults.inject({ service: pt.service, command: pt.command, match: pt.match, fail: 'timeout', when: 'after', attempts: 1 });

    const first = await invoke(record);
    rule.disarm();
    countFault(`${point} (response lost once)`, rule);
    expect(rule).toMatchObject({ hits: 1, attemptsFailed: 1 });
    // The SDK's retry went through: the call succeeded or was understood, so nothing is reported.
    expect(first.response).toEqual(failed());
    expect(first.summary.results[0].outcome).toMatch(/^(started|skipped)$/);
    await expectStartedOnce(payload);
  });
});

// ---------------------------------------------------------------------------------------------
// update-state

interface UpdateStatePoint {
  point: string;
  service: ServiceName;
  command: string;
  match?: (input: Input) => boolean;
  payload: () => Payload;
  /** Changes the event before delivery (default: as emitted). */
  event?: (e: StepFunctionsStatusChangeEvent) => StepFunctionsStatusChangeEvent;
  /** Whether the fault makes update-state throw (EventBridge retries the event). */
  throws: boolean;
  /** True when the failing call comes after the items were published (the retry publishes them again). */
  afterPublish?: boolean;
  /** True when the chained payloads are sent before the failure is thrown (the retry sends them again). */
  chainedBeforeThrow?: boolean;
}

const chainPayload = (): Payload => makePayload({ next: [{ workflow: 'next-step', note: 'chained' }] });
const bigChainPayload = (): Payload =>
  makePayload({ features: [makeItem(uid('bigchain'), 'sentinel-s2-l2a', { pad: padding(125_000) })], next: [{ workflow: 'next-step' }] });
const withoutInputOutput = (e: StepFunctionsStatusChangeEvent): StepFunctionsStatusChangeEvent => {
  const copy = structuredClone(e);
  Object.assign(copy.detail, { input: null, inputDetails: { included: false }, output: null, outputDetails: { included: false } });
  return copy;
};

const UPDATE_STATE_POINTS: UpdateStatePoint[] = [
  { point: 'Step Functions DescribeExecution', service: 'sfn', command: 'DescribeExecution', payload: chainPayload, event: withoutInputOutput, throws: true },
  {
    point: 'S3 GetObject of the oversized input',
    service: 's3',
    command: 'GetObject',
    match: (i) => keyOf(i).includes('/tmp/oversized/'),
    payload: bigChainPayload,
    throws: true,
  },
  { point: 'S3 PutObject output.json', service: 's3', command: 'PutObject', match: (i) => keyOf(i).endsWith('/output.json'), payload: chainPayload, throws: true },
  {
    point: 'DynamoDB UpdateItem (state SUCCEEDED)',
    service: 'dynamodb',
    command: 'UpdateItem',
    match: (i) => JSON.stringify(i.ExpressionAttributeValues ?? {}).includes('SUCCEEDED_'),
    payload: chainPayload,
    throws: true,
  },
  {
    point: 'SNS PublishBatch of output items',
    service: 'sns',
    command: 'PublishBatch',
    match: (i) => i.TopicArn === p.stack.publishTopicArn,
    payload: chainPayload,
    throws: true,
    // A failed item publish no longer holds back the chained payloads: they are sent, then it throws.
    chainedBeforeThrow: true,
  },
  {
    point: 'S3 PutObject of an oversized chained payload',
    service: 's3',
    command: 'PutObject',
    match: (i) => keyOf(i).includes('/tmp/oversized/'),
    payload: bigChainPayload,
    throws: true,
    afterPublish: true,
  },
  { point: 'SQS SendMessageBatch (chain)', service: 'sqs', command: 'SendMessageBatch', payload: chainPayload, throws: true, afterPublish: true },
  {
    point: 'SNS PublishBatch of workflow events (update-state)',
    service: 'sns',
    command: 'PublishBatch',
    match: (i) => i.TopicArn === p.stack.workflowEventTopicArn,
    payload: chainPayload,
    throws: false,
  },
];

describe('update-state: a failed AWS call throws (EventBridge retries); the retried event completes the payload', () => {
  it.each(UPDATE_STATE_POINTS.map((pt) => [pt.point, pt] as const))('%s', async (point, pt) => {
    for (const kind of FAULT_KINDS) {
      const payload = pt.payload();
      const itemId = itemIdOf(payload);
      expect(await processHandler(sqsEvent(sqsRecord(payload)))).toEqual(failed());
      const arn = arnOf(payload);
      const name = arn.split(':').at(-1)!;
      const done = await p.stack.waitForExecution(arn);
      expect(done.status).toBe('SUCCEEDED');
      const event = pt.event ? pt.event(done.event) : done.event;

      const rule = faults.inject({ service: pt.service, command: pt.command, match: pt.match, fail: kind });
      const outcome = await updateStateHandler(structuredClone(event)).then(
        (r) => ({ threw: false as const, result: r }),
        (e: unknown) => ({ threw: true as const, error: e }),
      );
      rule.disarm();
      countFault(point, rule);
      expect({ kind, hits: rule.hits, attemptsFailed: rule.attemptsFailed }).toEqual({ kind, hits: 1, attemptsFailed: attempts[pt.service] });

      if (pt.throws) {
        expect({ kind, threw: outcome.threw }).toEqual({ kind, threw: true });
        expect((outcome as { error: Error }).error).toMatchObject({ name: faultName(kind, pt.service) });
        // EventBridge delivers the same event again.
        figures.redeliveries++;
        await updateStateHandler(structuredClone(event));
      } else {
        expect({ kind, threw: outcome.threw }).toEqual({ kind, threw: false });
      }

      // One execution, SUCCEEDED with that execution, output.json = the (re-hydrated) output.
      const executions = await executionsOfPayload(payload.id);
      if (executions.length === 0) figures.lost++;
      if (executions.length > 1) figures.doubleStarts += executions.length - 1;
      expect(executions.map((e) => e.executionArn)).toEqual([arn]);
      expect(await p.db.getItem(payload.id)).toMatchObject({ state: 'SUCCEEDED', executions: [arn] });
      expect(await p.getJson(p.executionKey(payload.id, name, 'input.json'))).toEqual(payload);
      expect(await p.getJson(p.executionKey(payload.id, name, 'output.json'))).toEqual(payload);
      // Items published and the next process chained: at least once (exactly once unless the
      // lost response of a timeout made a retry send them again).
      const published = publishedItems(itemId);
      const chained = await chainedFor(itemId);
      const { id: _id, ...withoutId } = payload;
      expect(chained.length).toBeGreaterThanOrEqual(1);
      for (const c of chained) expect(c).toEqual({ ...withoutId, process: [{ workflow: 'next-step', ...(payload.process as JsonObject[])[1] }] });
      expect(published.length).toBeGreaterThanOrEqual(1);
      if (kind !== 'timeout') {
        // Published once per delivery that reached the publish step; chained once per delivery
        // that reached the chaining step.
        expect({ kind, published: published.length }).toEqual({ kind, published: pt.afterPublish ? 2 : 1 });
        expect({ kind, chained: chained.length }).toEqual({ kind, chained: pt.chainedBeforeThrow ? 2 : 1 });
      }
      figures.duplicates += published.length - 1 + chained.length - 1;
      figures.started++;
    }
  });
});
