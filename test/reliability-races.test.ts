/**
 * Reliability under races: the same payload delivered many times at once, and
 * redeliveries racing with update-state. Whatever the interleaving, a payload gets exactly one
 * execution: counted in the local Step Functions, and as successful `StartExecution` calls seen by
 * a counting middleware (`helpers/faults.ts`).
 */
import { handler as processHandler } from '../lambdas/process/index';
import type { SQSBatchResponse } from '../lambdas/process/types';
import { handler as updateStateHandler } from '../lambdas/update-state/index';
import type { JsonObject } from '../shared/json';
import * as processModule from '../shared/process';
import type { ProcessSummary } from '../shared/process';
import type { StepFunctionsStatusChangeEvent } from '../local';
import { barrier, installFaults, printFigures, type FaultInjector } from './helpers/faults';
import { expectedExecutionName, makePayload, sqsEvent, sqsRecord, type PipelineStack, type SqsRecord } from './helpers/pipeline';
import { startMinimalPipeline, type TestPayload as Payload } from './helpers/pipeline-suite';

type Input = Record<string, unknown>;

let p: PipelineStack;
let faults: FaultInjector;
/** Executions whose status event the test delivers itself (update-state is not run for them). */
const manual = new Set<string>();
const manualEvents = new Map<string, StepFunctionsStatusChangeEvent>();
const updateStateErrors: unknown[] = [];

const figures = {
  invocations: 0,
  duplicatesSent: 0,
  payloads: 0,
  executions: 0,
  startCalls: 0,
  resumedStartCalls: 0,
  lost: 0,
  doubleStarts: 0,
  reportedFailed: 0,
};

beforeAll(async () => {
  p = await startMinimalPipeline();
  // EventBridge rule → update-state, as deployed.
  p.stack.onStatusChange(async (event) => {
    if (manual.has(event.detail.executionArn)) {
      manualEvents.set(event.detail.executionArn, event);
      return;
    }
    try {
      await updateStateHandler(event);
    } catch (err) {
      updateStateErrors.push(err);
      throw err;
    }
  });
  faults = installFaults();
});

afterAll(async () => {
  printFigures(
    `reliability-races: invocations=${figures.invocations}, payloads=${figures.payloads}, duplicates sent=${figures.duplicatesSent}, ` +
      `executions=${figures.executions}, successful StartExecution calls (new payloads)=${figures.startCalls}, ` +
      `StartExecution calls resuming one CLAIMED name=${figures.resumedStartCalls}, reported failed (injected crashes)=${figures.reportedFailed}, ` +
      `lost=${figures.lost}, double starts=${figures.doubleStarts}`,
  );
  faults?.uninstall();
  await p?.stop();
});

afterEach(() => {
  faults.clearRules();
  jest.restoreAllMocks();
});

// ---------------------------------------------------------------------------------------------

function arnOf(payload: Payload): string {
  return p.executionArn('minimal', expectedExecutionName(payload.id));
}

function executionsOfPayload(id: string): ReturnType<PipelineStack['executionsOf']> {
  return p.stack.sfn.executions().filter((e) => (JSON.parse(e.input) as JsonObject).id === id);
}

/** Successful StartExecution calls naming this payload's execution. */
function startCallsOf(payload: Payload): number {
  const name = arnOf(payload).split(':').at(-1);
  return faults.successes('sfn', 'StartExecution', (i) => i.name === name).length;
}

const keyHas = (payload: Payload) => (i: Input) => JSON.stringify(i.Key ?? {}).includes(String((payload.features as JsonObject[])[0].id));
const isClaim = (i: Input): boolean => String(i.UpdateExpression ?? '').includes('claimed_at');
const isSetProcessing = (i: Input): boolean => i.ConditionExpression === 'begins_with(state_updated, :claim)';

/** Runs the handler on every event at once; returns the responses and per-record results. */
async function invokeAll(events: { Records: SqsRecord[] }[]): Promise<{ responses: SQSBatchResponse[]; summaries: ProcessSummary[] }> {
  const spy = jest.spyOn(processModule, 'processEvent');
  try {
    const responses = (await Promise.all(events.map((e) => processHandler(e)))) as SQSBatchResponse[];
    const summaries = await Promise.all(spy.mock.results.map((r) => r.value as Promise<ProcessSummary>));
    figures.invocations += events.length;
    figures.reportedFailed += responses.reduce((n, r) => n + r.batchItemFailures.length, 0);
    return { responses, summaries };
  } finally {
    spy.mockRestore();
  }
}

/** Waits for the payload's execution (and its status event), then checks and counts the end state. */
async function expectOneExecution(payload: Payload, state: 'SUCCEEDED' | 'PROCESSING' = 'SUCCEEDED'): Promise<void> {
  const arn = arnOf(payload);
  const executions = executionsOfPayload(payload.id);
  figures.payloads++;
  figures.executions += executions.length;
  if (executions.length === 0) figures.lost++;
  if (executions.length > 1) figures.doubleStarts += executions.length - 1;
  expect(executions.map((e) => e.executionArn)).toEqual([arn]);
  await p.stack.waitForExecution(arn);
  expect(await p.db.getItem(payload.id)).toMatchObject({ state, executions: [arn] });
  const name = arn.split(':').at(-1)!;
  expect(await p.getJson(p.executionKey(payload.id, name, 'input.json'))).toEqual(payload);
  if (state === 'SUCCEEDED') expect(await p.getJson(p.executionKey(payload.id, name, 'output.json'))).toEqual(payload);
}

function shuffle<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------

describe('duplicates delivered at the same time', () => {
  it('50 concurrent invocations of one payload (claims released together): one StartExecution, 49 skipped, one execution recorded', async () => {
    const payload = makePayload();
    const records = Array.from({ length: 50 }, () => sqsRecord(payload));
    // Every invocation reads "no item" first; then all 50 claims hit DynamoDB together.
    const gate = barrier(50);
    faults.inject({ service: 'dynamodb', command: 'UpdateItem', match: (i) => isClaim(i) && keyHas(payload)(i), count: Infinity, before: gate.wait });

    const { responses, summaries } = await invokeAll(records.map((r) => sqsEvent(r)));
    figures.duplicatesSent += records.length;

    expect(gate.arrived()).toBe(50);
    expect(responses).toEqual(records.map(() => ({ batchItemFailures: [] })));
    const outcomes = summaries.map((s) => s.results[0].outcome);
    expect(outcomes.filter((o) => o === 'started')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'skipped')).toHaveLength(49);
    expect(faults.successes('dynamodb', 'UpdateItem', (i) => isClaim(i) && keyHas(payload)(i))).toHaveLength(1);
    const startCalls = startCallsOf(payload);
    figures.startCalls += startCalls;
    expect(startCalls).toBe(1);
    expect(faults.callsOf('sfn', 'StartExecution', (i) => i.name === arnOf(payload).split(':').at(-1))).toHaveLength(1);
    await expectOneExecution(payload);
  });

  it('5 payloads × 50 deliveries in 25 concurrent batches of 10 (each payload twice per batch): 5 executions, nothing reported failed', async () => {
    const payloads = Array.from({ length: 5 }, () => makePayload());
    const events = Array.from({ length: 25 }, (_, b) => sqsEvent(...shuffle([...payloads, ...payloads], b + 1).map((pl) => sqsRecord(pl))));
    const { responses, summaries } = await invokeAll(events);
    figures.duplicatesSent += 250;

    expect(responses).toEqual(events.map(() => ({ batchItemFailures: [] })));
    for (const s of summaries) {
      // Inside a batch the second copy is dropped as a duplicate.
      expect(s.results.filter((r) => r.outcome === 'duplicate')).toHaveLength(5);
    }
    const started = summaries.flatMap((s) => s.results).filter((r) => r.outcome === 'started');
    expect(started.map((r) => r.payloadId).sort()).toEqual(payloads.map((pl) => pl.id).sort());
    for (const pl of payloads) {
      const startCalls = startCallsOf(pl);
      figures.startCalls += startCalls;
      expect({ id: pl.id, startCalls }).toEqual({ id: pl.id, startCalls: 1 });
      await expectOneExecution(pl);
    }
  });

  it('50 concurrent redeliveries of a payload left CLAIMED by a crash: one execution, under the claimed name', async () => {
    const payload = makePayload();
    const arn = arnOf(payload);
    // The first invocation claimed the payload and died before StartExecution.
    expect(await p.db.claim(payload.id, arn)).toEqual({ claimed: true });
    const records = Array.from({ length: 50 }, () => sqsRecord(payload));

    const { responses } = await invokeAll(records.map((r) => sqsEvent(r)));
    figures.duplicatesSent += records.length;

    expect(responses).toEqual(records.map(() => ({ batchItemFailures: [] })));
    // Every copy resumes the same claimed execution name (there is no new claim to win): Step
    // Functions starts it once, as a name is unique per state machine; the other StartExecution
    // calls find it (idempotent success while it runs, ExecutionAlreadyExists after) and are not errors.
    figures.resumedStartCalls += faults.callsOf('sfn', 'StartExecution', (i) => i.name === arn.split(':').at(-1)).length;
    await expectOneExecution(payload);
  });
});

describe('a redelivery racing with update-state', () => {
  /**
   * How the redelivered message and the status event meet: one after the other (both orders), or
   * concurrently with offsets (ms) for the redelivery and the event, covering overlaps both ways.
   */
  type Meeting = { order: 'eventFirst' | 'redeliveryFirst' } | { order: 'concurrent'; redeliverAt: number; eventAt: number };
  const MEETINGS: Meeting[] = [
    { order: 'eventFirst' },
    { order: 'eventFirst' },
    { order: 'eventFirst' },
    { order: 'redeliveryFirst' },
    { order: 'redeliveryFirst' },
    ...(
      [
        [0, 0],
        [0, 2],
        [2, 0],
        [0, 5],
        [5, 0],
        [0, 10],
        [10, 0],
        [0, 20],
        [20, 0],
        [1, 1],
        [3, 7],
        [7, 3],
        [0, 40],
        [40, 0],
        [15, 15],
      ] as const
    ).map(([redeliverAt, eventAt]) => ({ order: 'concurrent' as const, redeliverAt, eventAt })),
  ];

  it.each([
    ['after a crash between StartExecution and set-PROCESSING (payload CLAIMED)', true],
    ['after a complete first invocation (payload PROCESSING)', false],
  ] as const)('%s: never a second execution', async (_title, crash) => {
    const payloads = MEETINGS.map(() => makePayload());
    for (const pl of payloads) manual.add(arnOf(pl));
    const records = payloads.map((pl) => sqsRecord(pl));

    // First delivery of each payload.
    const crashes = crash
      ? faults.inject({ service: 'dynamodb', command: 'UpdateItem', match: isSetProcessing, count: Infinity, fail: '5xx' })
      : undefined;
    const first = await invokeAll(records.map((r) => sqsEvent(r)));
    crashes?.disarm();
    expect(first.responses).toEqual(records.map((r) => ({ batchItemFailures: crash ? [{ itemIdentifier: r.messageId }] : [] })));
    for (const pl of payloads) {
      await p.stack.waitForExecution(arnOf(pl));
      expect(await p.db.getItem(pl.id)).toMatchObject({ state: crash ? 'CLAIMED' : 'PROCESSING' });
    }

    // The execution finished; its status event and the redelivered message meet (see MEETINGS),
    // with jitter on the calls that decide the race.
    faults.inject({ service: 'dynamodb', command: 'BatchGetItem', count: Infinity, delayMs: () => Math.floor(Math.random() * 4) });
    faults.inject({ service: 'dynamodb', command: 'UpdateItem', count: Infinity, delayMs: () => Math.floor(Math.random() * 4) });
    faults.inject({ service: 'sfn', command: 'StartExecution', count: Infinity, delayMs: () => Math.floor(Math.random() * 4) });
    const redeliveries = await Promise.all(
      payloads.map(async (pl, i) => {
        const event = manualEvents.get(arnOf(pl))!;
        expect(event).toBeDefined();
        const redeliver = (): Promise<SQSBatchResponse> => processHandler(sqsEvent(records[i])) as Promise<SQSBatchResponse>;
        const deliverEvent = (): Promise<unknown> => updateStateHandler(structuredClone(event));
        const m = MEETINGS[i];
        if (m.order === 'concurrent') {
          const [response] = await Promise.all([sleep(m.redeliverAt).then(redeliver), sleep(m.eventAt).then(deliverEvent)]);
          return response;
        }
        if (m.order === 'eventFirst') {
          await deliverEvent();
          return redeliver();
        }
        const response = await redeliver();
        await deliverEvent();
        return response;
      }),
    );
    figures.duplicatesSent += payloads.length;
    figures.invocations += payloads.length;

    expect(redeliveries).toEqual(payloads.map(() => ({ batchItemFailures: [] })));
    for (const pl of payloads) {
      // The first delivery's StartExecution; a redelivery's finds the execution (ExecutionAlreadyExists).
      const startCalls = startCallsOf(pl);
      figures.startCalls += startCalls;
      expect({ id: pl.id, startCalls }).toEqual({ id: pl.id, startCalls: 1 });
      await expectOneExecution(pl, 'SUCCEEDED');
    }
    expect(updateStateErrors).toEqual([]);
  });
});
