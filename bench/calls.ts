/**
 * Measure 2: AWS calls per payload, counted by operation on the clients of the handlers' runtime.
 * Publishing calls (SNS PublishBatch, SQS SendMessageBatch) are reported apart from the calls that do the work,
 * and every scenario runs with and without `CIRRUS_WORKFLOW_EVENT_TOPIC_ARN`.
 * @module
 */
import { handler as processHandler } from '../lambdas/process/index';
import { handler as updateStateHandler } from '../lambdas/update-state/index';
import type { StepFunctionsStatusChangeEvent } from '../local';
import { measureInlineSize, MAX_PAYLOAD_LENGTH } from '../shared/size';
import type { CallTally, CountedCall } from './middleware';
import { newPayload, sqsEvent } from './payloads';
import type { BenchStack } from './stack';

/** Calls of one scenario. */
export interface CallCount {
  scenario: string;
  /** Whether `CIRRUS_WORKFLOW_EVENT_TOPIC_ARN` was set. */
  workflowEvents: boolean;
  /** Payloads (or executions) the scenario handles. */
  units: number;
  /** Every call by operation. */
  byOperation: CallTally;
  /** Calls other than PublishBatch / SendMessageBatch. */
  work: CallTally;
  /** PublishBatch / SendMessageBatch by destination (`workflow-event`, `publish`, `process-queue`). */
  publishing: CallTally;
  /** Work calls per unit, not counting the batch's BatchGetItem. */
  workPerUnit: number;
  /** BatchGetItem calls of the invocation. */
  batchGetItem: number;
}

const PUBLISHING = new Set(['PublishBatch', 'Publish', 'SendMessageBatch', 'SendMessage']);

function destination(c: CountedCall, b: BenchStack): string {
  if (c.target === b.env.CIRRUS_WORKFLOW_EVENT_TOPIC_ARN) return `${c.operation} → workflow-event topic`;
  if (c.target === b.env.CIRRUS_PUBLISH_TOPIC_ARN) return `${c.operation} → publish topic`;
  if (c.target === b.env.CIRRUS_PROCESS_QUEUE_URL) return `${c.operation} → process queue`;
  return `${c.operation} → ${c.target ?? '?'}`;
}

function tally(scenario: string, workflowEvents: boolean, units: number, b: BenchStack): CallCount {
  const calls = b.aws.calls;
  const work = b.aws.byOperation((c) => !PUBLISHING.has(c.operation));
  const publishing: CallTally = {};
  for (const c of calls.filter((x) => PUBLISHING.has(x.operation))) {
    const k = destination(c, b);
    publishing[k] = (publishing[k] ?? 0) + 1;
  }
  const batchGetItem = work.BatchGetItem ?? 0;
  const workTotal = Object.values(work).reduce((a, n) => a + n, 0);
  // Every scenario writes to S3 and the StateDB: nothing counted means uninstrumented clients.
  if (workTotal === 0) throw new Error(`${scenario}: no AWS call counted (were the handlers' clients instrumented? see AwsCallInstrumentation.attach)`);
  return {
    scenario,
    workflowEvents,
    units,
    byOperation: b.aws.byOperation(),
    work,
    publishing,
    workPerUnit: (workTotal - batchGetItem) / units,
    batchGetItem,
  };
}

async function runProcess(b: BenchStack, bodies: string[]): Promise<void> {
  const res = (await processHandler(sqsEvent(bodies, b.region))) as { batchItemFailures?: unknown[] };
  if (!res.batchItemFailures || res.batchItemFailures.length > 0) throw new Error(`process failed: ${JSON.stringify(res)}`);
}

/** The execution ARNs of the StartExecution calls counted since the last reset. */
function startedExecutions(b: BenchStack): string[] {
  return b.aws.calls.flatMap((c) => (c.executionArn ? [c.executionArn] : []));
}

/** Runs every scenario; returns one {@link CallCount} per scenario and topic setting. */
export async function benchCalls(b: BenchStack): Promise<CallCount[]> {
  const topic = b.env.CIRRUS_WORKFLOW_EVENT_TOPIC_ARN;
  const out: CallCount[] = [];
  const events: { inline?: StepFunctionsStatusChangeEvent; oversized?: StepFunctionsStatusChangeEvent } = {};
  b.aws.delayMs = 0;
  try {
    for (const withEvents of [true, false]) {
      if (withEvents) process.env.CIRRUS_WORKFLOW_EVENT_TOPIC_ARN = topic;
      else delete process.env.CIRRUS_WORKFLOW_EVENT_TOPIC_ARN;
      // Another environment: the handlers build another runtime, whose clients are counted too.
      b.aws.attach();

      // A batch of 10 new payloads.
      const batch = Array.from({ length: 10 }, () => newPayload('bench-calls'));
      b.aws.reset();
      await runProcess(b, batch.map((p) => JSON.stringify(p)));
      out.push(tally('process: batch of 10 new payloads', withEvents, 10, b));
      const startArns = startedExecutions(b);

      // One oversized new payload.
      const big = newPayload('bench-calls', 60);
      const size = measureInlineSize(JSON.stringify(big));
      if (size <= MAX_PAYLOAD_LENGTH) throw new Error(`the oversized payload is only ${size} bytes inline`);
      b.aws.reset();
      await runProcess(b, [JSON.stringify(big)]);
      out.push(tally(`process: 1 oversized new payload (${Math.round(size / 1000)} KB inline)`, withEvents, 1, b));
      const bigArns = startedExecutions(b);

      events.inline ??= await b.waitForExecution(startArns[0]);
      events.oversized ??= await b.waitForExecution(bigArns[0]);
      await b.waitForIdle();

      // update-state for one successful execution: inline, oversized, and input/output left out of the event.
      const describe = structuredClone(events.inline);
      describe.detail.input = null;
      describe.detail.inputDetails = { included: false };
      describe.detail.output = null;
      describe.detail.outputDetails = { included: false };
      for (const [name, ev] of [
        ['update-state: 1 succeeded execution (inline payload)', events.inline],
        ['update-state: 1 succeeded execution (oversized payload)', events.oversized],
        ['update-state: 1 succeeded execution (input/output left out of the event)', describe],
      ] as const) {
        if (ev.detail.status !== 'SUCCEEDED') throw new Error(`execution ${ev.detail.executionArn} ended ${ev.detail.status}`);
        b.aws.reset();
        await updateStateHandler(structuredClone(ev));
        out.push(tally(name, withEvents, 1, b));
      }
    }
  } finally {
    process.env.CIRRUS_WORKFLOW_EVENT_TOPIC_ARN = topic;
    b.aws.attach();
  }
  return out;
}
