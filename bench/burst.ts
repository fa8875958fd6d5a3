/**
 * `npm run bench -- burst`: a backfill burst beyond the Step Functions `StartExecution` quota. N
 * payloads are put on the local process queue at once; Lambda's SQS event source (batch size,
 * maximum concurrency, one sandbox per concurrent invocation, each a fresh copy of the built
 * `dist/lambdas/process/index.js`) drains it while the local Step Functions endpoint throttles at a
 * token bucket. Measured: the time until every payload has started, against the quota's floor
 * `(N − burst) / refill`; then every payload is checked in the StateDB and among the executions
 * (lost, started twice, recorded FAILED: all must be 0).
 *
 * ```text
 * node dist/bench/run.js burst [--n 10000] [--burst 1000] [--refill 100] [--concurrency C] [--write]
 * ```
 *
 * The quota is scaled down by default (AWS: 1,300 and 300 per second) so that a run takes 1–2
 * minutes (floor 90 s); `--concurrency` defaults to the stack's rule, ceil(1.5 × refill / 40), at
 * least 2 (the SQS event source's minimum).
 * @module
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PROCESS_CONCURRENCY_HEADROOM, STARTS_PER_SECOND_PER_INVOCATION } from '../lib/config';
import { SqsEventSource, startLocalStack, type SqsBatchHandler, type SqsEventSourceStats } from '../local';
import { repoRoot } from '../local/pipeline';
import { newPayload } from './payloads';

/** Options of one burst. */
export interface BurstOptions {
  n: number;
  burst: number;
  refillPerSecond: number;
  concurrency: number;
}

/** The figures of one burst. */
export interface BurstResult extends BurstOptions {
  /** Seconds from the event source's start until the N-th execution was started. */
  allStartedSeconds: number;
  /** `(N − burst) / refill`, seconds: no client can start the N payloads sooner. */
  floorSeconds: number;
  ratio: number;
  startExecutionCalls: number;
  throttles: number;
  eventSource: SqsEventSourceStats;
  lost: number;
  startedTwice: number;
  recordedFailed: number;
  /** Billed Lambda ms per payload (invocation durations summed over N). */
  billedMsPerPayload: number;
  memoryMb: number;
}

const MEMORY_MB = 512; // the process function's memory in the CDK stack

function parseArgs(args: readonly string[]): BurstOptions {
  const num = (flag: string, fallback: number): number => {
    const i = args.indexOf(flag);
    if (i < 0) return fallback;
    const v = Number(args[i + 1]);
    if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${flag} needs a positive number, got ${String(args[i + 1])}`);
    return v;
  };
  const refillPerSecond = num('--refill', 100);
  // Defaults: floor (10,000 − 1,000) / 100 = 90 s; a loaded 2-core machine may not reach 100 starts/s.
  return {
    n: num('--n', 10000),
    burst: num('--burst', 1000),
    refillPerSecond,
    concurrency: num('--concurrency', Math.max(2, Math.ceil((PROCESS_CONCURRENCY_HEADROOM * refillPerSecond) / STARTS_PER_SECOND_PER_INVOCATION))),
  };
}

function log(message: string): void {
  process.stderr.write(`[bench burst] ${message}\n`);
}

/** Runs one burst on a fresh local stack. */
export async function runBurst(o: BurstOptions): Promise<BurstResult> {
  // The embedded metric lines of every invocation would drown the figures.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const root = repoRoot(__dirname);
  const bundle = path.join(root, 'dist', 'lambdas', 'process', 'index.js');
  const req = createRequire(__filename);
  /** A fresh copy of the bundle: its own SDK clients and start gate, like a Lambda sandbox. */
  const sandbox = (): SqsBatchHandler => {
    delete req.cache[req.resolve(bundle)];
    return (req(bundle) as { handler: SqsBatchHandler }).handler;
  };
  const stack = await startLocalStack({ validateDefinitions: false, startExecutionQuota: { burst: o.burst, refillPerSecond: o.refillPerSecond } });
  const restore = stack.applyEnv();
  const sqs = new SQSClient(stack.clientConfig('sqs'));
  const ddb = DynamoDBDocumentClient.from(new DynamoDBClient(stack.clientConfig('dynamodb')));
  try {
    await stack.registerWorkflow('minimal', path.join(root, 'workflows', 'minimal.asl.json'));
    const ids = new Set<string>();
    log(`sending ${o.n} payloads`);
    for (let i = 0; i < o.n; i += 10) {
      const bodies = Array.from({ length: Math.min(10, o.n - i) }, () => newPayload('bench-burst'));
      for (const b of bodies) ids.add(String(b.id));
      await sqs.send(new SendMessageBatchCommand({ QueueUrl: stack.processQueueUrl, Entries: bodies.map((b, j) => ({ Id: String(j), MessageBody: JSON.stringify(b) })) }));
    }
    const source = new SqsEventSource({ queueUrl: stack.processQueueUrl, client: stack.clientConfig('sqs'), maxConcurrency: o.concurrency, handlerFactory: sandbox, memoryMb: MEMORY_MB });
    log(`draining: burst ${o.burst}, refill ${o.refillPerSecond}/s, concurrency ${o.concurrency}`);
    const t0 = performance.now();
    source.start();
    let allStartedSeconds = NaN;
    // Bounded: 3× the floor plus two visibility timeouts' worth of slack, then give up.
    const giveUp = Date.now() + (3 * (o.n - o.burst)) / o.refillPerSecond * 1000 + 720_000;
    try {
      let lastLog = Date.now();
      while (stack.sqs.pending(stack.processQueueUrl).length > 0 || Number.isNaN(allStartedSeconds)) {
        const started = stack.sfn.executions().length;
        if (Number.isNaN(allStartedSeconds) && started >= o.n) allStartedSeconds = (performance.now() - t0) / 1000;
        if (Date.now() > giveUp) throw new Error(`gave up: ${started} of ${o.n} started, ${stack.sqs.pending(stack.processQueueUrl).length} message(s) left`);
        if (Date.now() - lastLog > 10000) {
          log(`${started} started after ${((performance.now() - t0) / 1000).toFixed(0)} s`);
          lastLog = Date.now();
        }
        await sleep(100);
      }
    } finally {
      await source.stop();
    }
    const eventSource = source.stats();
    const q = stack.sfn.startExecutionStats();

    // Verify: every payload has its StateDB item, not FAILED, with one execution that exists; and
    // no payload is the input of two executions.
    const rows = new Map<string, { state: string; executions: string[] }>();
    for await (const page of paginateScan({ client: ddb }, { TableName: stack.stateDbTable })) {
      for (const it of page.Items ?? []) {
        const id = `${String(it.collections_workflow).replace(/_minimal$/, '/workflow-minimal')}/${String(it.itemids)}`;
        rows.set(id, { state: String(it.state_updated).split('_')[0], executions: (it.executions as string[] | undefined) ?? [] });
      }
    }
    const executions = stack.sfn.executions();
    const arns = new Set(executions.map((e) => e.executionArn));
    const perPayload = new Map<string, number>();
    for (const e of executions) {
      const id = String((JSON.parse(e.input) as { id?: string }).id);
      perPayload.set(id, (perPayload.get(id) ?? 0) + 1);
    }
    let lost = 0;
    let startedTwice = 0;
    let recordedFailed = 0;
    for (const id of ids) {
      const r = rows.get(id);
      if (!r || r.executions.length === 0 || !r.executions.some((a) => arns.has(a)) || !perPayload.has(id)) lost++;
      if ((r?.executions.length ?? 0) > 1 || (perPayload.get(id) ?? 0) > 1) startedTwice++;
      if (r?.state === 'FAILED') recordedFailed++;
    }
    const floorSeconds = Math.max(0, o.n - o.burst) / o.refillPerSecond;
    return {
      ...o,
      allStartedSeconds: round(allStartedSeconds),
      floorSeconds: round(floorSeconds),
      ratio: round(floorSeconds > 0 ? allStartedSeconds / floorSeconds : NaN, 3),
      startExecutionCalls: q.calls,
      throttles: q.throttled,
      eventSource: { ...eventSource, billedMs: round(eventSource.billedMs, 0) },
      lost,
      startedTwice,
      recordedFailed,
      billedMsPerPayload: round(eventSource.billedMs / o.n, 2),
      memoryMb: MEMORY_MB,
    };
  } finally {
    sqs.destroy();
    ddb.destroy();
    restore();
    await stack.stop();
  }
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Prints the figures of one burst. */
export function renderBurst(r: BurstResult): string {
  const e = r.eventSource;
  return [
    `Burst — N ${r.n}, quota burst ${r.burst} + ${r.refillPerSecond}/s, concurrency ${r.concurrency}, batch 10, ${r.memoryMb} MB`,
    `all started after   ${r.allStartedSeconds} s`,
    `quota floor         ${r.floorSeconds} s  ((N − burst) / refill)`,
    `ratio               ${r.ratio} ×  (target ≤ 1.25: ${r.ratio <= 1.25 ? 'pass' : 'FAIL'})`,
    `StartExecution      ${r.startExecutionCalls} calls, ${r.throttles} throttled`,
    `event source        ${e.invocations} invocations, ${e.received} received, ${e.redeliveries} redeliveries, ${e.reportedFailed} reported failed, ${e.timeouts} timeouts, ${e.errors} errors`,
    `billed              ${e.billedMs} ms (${r.billedMsPerPayload} ms per payload)`,
    `lost / started twice / recorded FAILED   ${r.lost} / ${r.startedTwice} / ${r.recordedFailed}`,
  ].join('\n');
}

/** The `burst` command of `bench/run.ts`. */
export async function benchBurst(args: readonly string[]): Promise<void> {
  const o = parseArgs(args);
  const r = await runBurst(o);
  const out = renderBurst(r);
  console.log(out);
  const root = repoRoot(__dirname);
  const file = path.join(root, 'bench', args.includes('--write') ? 'burst.json' : 'burst.local.json');
  const env = { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, loadavg: os.loadavg().map((x) => round(x, 2)) };
  fs.writeFileSync(file, `${JSON.stringify({ env, result: r }, null, 1)}\n`);
  log(`wrote ${path.relative(process.cwd(), file)}`);
  if (r.lost + r.startedTwice + r.recordedFailed > 0) process.exitCode = 1;
}
