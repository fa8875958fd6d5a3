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
 * node dist/bench/run.js burst [--n 10000] [--quota scaled|aws-large|aws-other] [--burst B] [--refill R]
 *                              [--concurrency C] [--one-process] [--write] [--help]
 * ```
 *
 * The local stack (s3rver, dynalite, the SQS, SNS and Step Functions endpoints) runs in a child
 * process (`--child burst-stack`), as for the other benchmarks: in one process it shares one
 * event loop with the function sandboxes, and the pipeline is bound by that one core (see
 * BENCHMARKS.md for the profile). `--one-process` runs it in the benchmark's own process, as
 * before, for comparison.
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
import { PROCESS_CONCURRENCY_HEADROOM, STARTS_PER_SECOND_PER_INVOCATION } from '../cdk/config';
import { START_EXECUTION_QUOTA } from '../cdk/process-limits';
import {
  applyStackEnv,
  SqsEventSource,
  startLocalStack,
  type LocalClientConfig,
  type LocalService,
  type LocalStack,
  type LocalStackEnv,
  type SqsBatchHandler,
  type SqsEventSourceStats,
  type TokenBucketStats,
} from '../local';
import { repoRoot } from '../local/pipeline';
import { forkHost } from './host';
import { newPayload } from './payloads';

/**
 * The quotas a run can use. `scaled` is the default: AWS's large-region burst (1,300) with the
 * refill divided by 10 (300 → 30 per second). Only the refill is a rate the machine must sustain:
 * this 2-core machine runs the emulated AWS services, the event source and the function sandboxes
 * itself, at about 17–19 ms of CPU per payload, which is some 100 starts per second when it is idle
 * and 35–45 when other work shares it; 30 per second leaves room for that, and a 10,000-payload
 * burst has a floor of (10,000 − 1,300) / 30 = 290 s. The burst costs no speed (it is drained at
 * whatever rate the pipeline reaches), so it stays as deployed. The real quotas are a flag away.
 */
export const QUOTAS = {
  scaled: { burst: 1300, refillPerSecond: 30, note: 'AWS large-region burst (1,300), refill ÷ 10 (300 → 30/s)' },
  'aws-large': { ...START_EXECUTION_QUOTA, note: 'AWS standard workflows, largest regions (us-east-1, us-west-2, …)' },
  'aws-other': { burst: 800, refillPerSecond: 150, note: 'AWS standard workflows, other regions' },
} as const;
export type QuotaName = keyof typeof QUOTAS | 'custom';

/** Options of one burst. */
export interface BurstOptions {
  n: number;
  quota: QuotaName;
  burst: number;
  refillPerSecond: number;
  concurrency: number;
  /** Run the local stack in this process instead of a child. */
  oneProcess: boolean;
}

/** The figures of one burst. */
export interface BurstResult extends BurstOptions {
  /** Seconds from the event source's start until the N-th execution was started. */
  allStartedSeconds: number;
  /** `(N − burst) / refill`, seconds: no client can start the N payloads sooner. */
  floorSeconds: number;
  ratio: number;
  /** Seconds from the event source's start until the queue was empty (every message deleted). */
  drainedSeconds: number;
  /** Seconds to send the N messages (before the clock starts). */
  sendSeconds: number;
  startExecutionCalls: number;
  throttles: number;
  eventSource: SqsEventSourceStats;
  lost: number;
  startedTwice: number;
  recordedFailed: number;
  /** Billed Lambda ms per payload (invocation durations summed over N). */
  billedMsPerPayload: number;
  memoryMb: number;
  /**
   * CPU time per payload (ms) from the event source's start to the empty queue: the benchmark's
   * process (function sandboxes, event source) and the stack's child process (emulated services);
   * with `--one-process` all of it is in `bench`.
   */
  cpuMsPerPayload: { bench: number; stack?: number };
  /** Executions started per 10 s window from the event source's start. */
  startsPer10s: number[];
}

const MEMORY_MB = 512; // the process function's memory in the CDK stack

const USAGE = `npm run bench -- burst [options]
  --n N              payloads (default 10000)
  --quota Q          scaled (default: ${QUOTAS.scaled.burst} + ${QUOTAS.scaled.refillPerSecond}/s, ${QUOTAS.scaled.note}),
                     aws-large (${QUOTAS['aws-large'].burst} + ${QUOTAS['aws-large'].refillPerSecond}/s) or aws-other (${QUOTAS['aws-other'].burst} + ${QUOTAS['aws-other'].refillPerSecond}/s)
  --burst B          bucket size (overrides the quota's)
  --refill R         refill per second (overrides the quota's)
  --concurrency C    the event source's maximum concurrency (default: the stack's rule,
                     ceil(${PROCESS_CONCURRENCY_HEADROOM} × refill / ${STARTS_PER_SECOND_PER_INVOCATION}), at least 2)
  --one-process      run the local stack in the benchmark's process (the old set-up)
  --label TEXT       a note kept with the figures (for example "beside yes > /dev/null")
  --write            add the run to the tracked bench/burst.json (default: write it alone to
                     bench/burst.local.json, ignored by git)
  --help             this text`;

const FLAGS_WITH_VALUE = new Set(['--n', '--quota', '--burst', '--refill', '--concurrency', '--label']);
const FLAGS = new Set(['--one-process', '--write', '--help']);

/** Reads the burst options; undefined for `--help`. */
export function parseBurstArgs(args: readonly string[]): BurstOptions | undefined {
  for (let i = 0; i < args.length; i++) {
    if (FLAGS_WITH_VALUE.has(args[i])) i++;
    else if (!FLAGS.has(args[i])) throw new RangeError(`unknown argument ${args[i]}\n${USAGE}`);
  }
  if (args.includes('--help')) return undefined;
  const num = (flag: string): number | undefined => {
    const i = args.indexOf(flag);
    if (i < 0) return undefined;
    const v = Number(args[i + 1]);
    if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${flag} needs a positive number, got ${String(args[i + 1])}`);
    return v;
  };
  const qi = args.indexOf('--quota');
  const qname = qi < 0 ? 'scaled' : String(args[qi + 1]);
  if (!(qname in QUOTAS)) throw new RangeError(`--quota must be one of ${Object.keys(QUOTAS).join(', ')}, got ${qname}`);
  const preset = QUOTAS[qname as keyof typeof QUOTAS];
  const burst = num('--burst') ?? preset.burst;
  const refillPerSecond = num('--refill') ?? preset.refillPerSecond;
  const custom = burst !== preset.burst || refillPerSecond !== preset.refillPerSecond;
  const n = num('--n') ?? 10000;
  const concurrency = num('--concurrency') ?? Math.max(2, Math.ceil((PROCESS_CONCURRENCY_HEADROOM * refillPerSecond) / STARTS_PER_SECOND_PER_INVOCATION));
  if (!Number.isInteger(n) || !Number.isInteger(burst) || !Number.isInteger(concurrency)) throw new RangeError('--n, --burst and --concurrency must be integers');
  return { n, quota: custom ? 'custom' : (qname as QuotaName), burst, refillPerSecond, concurrency, oneProcess: args.includes('--one-process') };
}

function log(message: string): void {
  process.stderr.write(`[bench burst] ${message}\n`);
}

/** What the benchmark needs from the local stack, wherever it runs. */
interface BurstStack {
  env: LocalStackEnv;
  processQueueUrl: string;
  stateDbTable: string;
  clientConfig(service: LocalService): LocalClientConfig;
  /** Messages not deleted from the process queue, and executions started so far. */
  progress(): Promise<{ pending: number; started: number }>;
  /**
   * Every execution (ARN, payload id of its input, start time in ms since the epoch), the quota's
   * counts, and the CPU time of the stack's process (ms; undefined when it is this process).
   */
  executions(): Promise<{ executions: ExecutionInfo[]; quota: TokenBucketStats; cpuMs?: number }>;
  stop(): Promise<void>;
}

interface ExecutionInfo {
  arn: string;
  payloadId: string;
  startedAt: number;
}

async function startStack(burst: number, refillPerSecond: number, root: string): Promise<LocalStack> {
  const stack = await startLocalStack({ validateDefinitions: false, startExecutionQuota: { burst, refillPerSecond } });
  await stack.registerWorkflow('minimal', path.join(root, 'workflows', 'minimal.asl.json'));
  return stack;
}

function progressOf(stack: LocalStack): { pending: number; started: number } {
  return { pending: stack.sqs.pending(stack.processQueueUrl).length, started: stack.sfn.executions().length };
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function executionsOf(stack: LocalStack): { executions: ExecutionInfo[]; quota: TokenBucketStats; cpuMs: number } {
  return {
    cpuMs: cpuMs(),
    executions: stack.sfn.executions().map((e) => ({
      arn: e.executionArn,
      payloadId: String((JSON.parse(e.input) as { id?: string }).id),
      startedAt: e.startDate.getTime(),
    })),
    quota: stack.sfn.startExecutionStats(),
  };
}

function wrap(stack: LocalStack, stop: () => Promise<void>): Omit<BurstStack, 'progress' | 'executions'> {
  return {
    env: stack.env,
    processQueueUrl: stack.processQueueUrl,
    stateDbTable: stack.stateDbTable,
    clientConfig: (s) => stack.clientConfig(s),
    stop,
  };
}

async function inProcessStack(burst: number, refillPerSecond: number, root: string): Promise<BurstStack> {
  const stack = await startStack(burst, refillPerSecond, root);
  return {
    ...wrap(stack, () => stack.stop()),
    progress: async () => progressOf(stack),
    executions: async () => ({ ...executionsOf(stack), cpuMs: undefined }),
  };
}

type HostRequest = { id: number; op: 'progress' | 'executions' | 'stop' };
type HostMessage =
  | { type: 'ready'; env: LocalStackEnv; processQueueUrl: string; stateDbTable: string; configs: Record<LocalService, LocalClientConfig> }
  | { type: 'failed'; error: string }
  | { type: 'reply'; id: number; value: unknown };

/** The body of the `--child burst-stack <quota JSON>` process: the local stack, served over IPC. */
export async function runBurstStackHost(arg: string): Promise<void> {
  const q = JSON.parse(arg) as { burst: number; refillPerSecond: number };
  const send = (m: HostMessage): void => {
    process.send?.(m);
  };
  let stack: LocalStack;
  try {
    stack = await startStack(q.burst, q.refillPerSecond, repoRoot(__dirname));
  } catch (err) {
    send({ type: 'failed', error: String((err as Error).stack ?? err) });
    process.exit(1);
  }
  const s = stack;
  // Stops by itself when the benchmark process goes away.
  process.on('disconnect', () => void s.stop().then(() => process.exit(0)));
  process.on('message', (req: HostRequest) => {
    void (async () => {
      if (req.op === 'progress') send({ type: 'reply', id: req.id, value: progressOf(s) });
      else if (req.op === 'executions') send({ type: 'reply', id: req.id, value: executionsOf(s) });
      else {
        await s.stop();
        send({ type: 'reply', id: req.id, value: null });
        process.disconnect();
      }
    })();
  });
  const services: LocalService[] = ['s3', 'dynamodb', 'sfn', 'sns', 'sqs', 'logs'];
  send({
    type: 'ready',
    env: s.env,
    processQueueUrl: s.processQueueUrl,
    stateDbTable: s.stateDbTable,
    configs: Object.fromEntries(services.map((x) => [x, s.clientConfig(x)])) as Record<LocalService, LocalClientConfig>,
  });
}

async function childStack(script: string, burst: number, refillPerSecond: number): Promise<BurstStack> {
  type Ready = Omit<Extract<HostMessage, { type: 'ready' }>, 'type'>;
  const host = await forkHost<Ready, { value: unknown }>(script, ['burst-stack', JSON.stringify({ burst, refillPerSecond })]);
  const request = async <T>(op: HostRequest['op']): Promise<T> => (await host.request({ op })).value as T;
  const { ready } = host;
  return {
    env: ready.env,
    processQueueUrl: ready.processQueueUrl,
    stateDbTable: ready.stateDbTable,
    clientConfig: (s) => ready.configs[s],
    progress: () => request('progress'),
    executions: () => request('executions'),
    stop: () => host.stop(),
  };
}

/** A factory of fresh copies of the process bundle: each its own SDK clients and start gate, like a Lambda sandbox. */
function sandboxFactory(root: string): () => SqsBatchHandler {
  const bundle = path.join(root, 'dist', 'lambdas', 'process', 'index.js');
  const req = createRequire(__filename);
  return () => {
    delete req.cache[req.resolve(bundle)];
    return (req(bundle) as { handler: SqsBatchHandler }).handler;
  };
}

/** Puts `n` new payloads on the process queue, 10 a batch; returns their ids and the seconds it took. */
async function sendPayloads(sqs: SQSClient, queueUrl: string, n: number): Promise<{ ids: Set<string>; sendSeconds: number }> {
  const ids = new Set<string>();
  log(`sending ${n} payloads`);
  const sendStart = performance.now();
  for (let i = 0; i < n; i += 10) {
    const bodies = Array.from({ length: Math.min(10, n - i) }, () => newPayload('bench-burst'));
    for (const b of bodies) ids.add(String(b.id));
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: bodies.map((b, j) => ({ Id: String(j), MessageBody: JSON.stringify(b) })) }));
  }
  return { ids, sendSeconds: (performance.now() - sendStart) / 1000 };
}

/** What draining the queue measured. */
interface Drain {
  /** When the event source started (ms since the epoch): the clock's zero. */
  t0: number;
  drainedSeconds: number;
  /** CPU time of this process while draining, ms. */
  benchCpuMs: number;
  /** CPU time of the stack's process when draining started (undefined when it is this process). */
  stackCpu0: number | undefined;
  eventSource: SqsEventSourceStats;
}

/** Runs the SQS event source on the process queue until it is empty, polling every 250 ms. */
async function drainQueue(stack: BurstStack, o: BurstOptions, root: string): Promise<Drain> {
  const source = new SqsEventSource({ queueUrl: stack.processQueueUrl, client: stack.clientConfig('sqs'), maxConcurrency: o.concurrency, handlerFactory: sandboxFactory(root), memoryMb: MEMORY_MB });
  log(`draining: burst ${o.burst}, refill ${o.refillPerSecond}/s, concurrency ${o.concurrency}, stack ${o.oneProcess ? 'in this process' : 'in a child process'}`);
  const stackCpu0 = o.oneProcess ? undefined : (await stack.executions()).cpuMs;
  const cpu0 = cpuMs();
  const t0 = Date.now();
  source.start();
  // Bounded: 3× the floor plus two visibility timeouts' worth of slack, then give up.
  const giveUp = t0 + ((3 * Math.max(0, o.n - o.burst)) / o.refillPerSecond) * 1000 + 720_000;
  let drainedSeconds = NaN;
  try {
    let lastLog = Date.now();
    for (;;) {
      const p = await stack.progress();
      if (p.pending === 0) {
        drainedSeconds = (Date.now() - t0) / 1000;
        break;
      }
      if (Date.now() > giveUp) throw new Error(`gave up: ${p.started} of ${o.n} started, ${p.pending} message(s) left`);
      if (Date.now() - lastLog >= 10000) {
        log(`${p.started} started after ${((Date.now() - t0) / 1000).toFixed(0)} s, ${p.pending} message(s) left`);
        lastLog = Date.now();
      }
      await sleep(250);
    }
  } finally {
    await source.stop();
  }
  return { t0, drainedSeconds, benchCpuMs: cpuMs() - cpu0, stackCpu0, eventSource: source.stats() };
}

/**
 * Every payload checked: its StateDB item exists, is not FAILED and names one execution that
 * exists; and no payload is the input of two executions.
 */
async function verifyPayloads(ddb: DynamoDBDocumentClient, table: string, ids: Set<string>, executions: ExecutionInfo[]): Promise<Pick<BurstResult, 'lost' | 'startedTwice' | 'recordedFailed'>> {
  const rows = new Map<string, { state: string; executions: string[] }>();
  for await (const page of paginateScan({ client: ddb }, { TableName: table })) {
    for (const it of page.Items ?? []) {
      const id = `${String(it.collections_workflow).replace(/_minimal$/, '/workflow-minimal')}/${String(it.itemids)}`;
      rows.set(id, { state: String(it.state_updated).split('_')[0], executions: (it.executions as string[] | undefined) ?? [] });
    }
  }
  const arns = new Set(executions.map((e) => e.arn));
  const perPayload = new Map<string, number>();
  for (const e of executions) perPayload.set(e.payloadId, (perPayload.get(e.payloadId) ?? 0) + 1);
  let lost = 0;
  let startedTwice = 0;
  let recordedFailed = 0;
  for (const id of ids) {
    const r = rows.get(id);
    if (!r || r.executions.length === 0 || !r.executions.some((a) => arns.has(a)) || !perPayload.has(id)) lost++;
    if ((r?.executions.length ?? 0) > 1 || (perPayload.get(id) ?? 0) > 1) startedTwice++;
    if (r?.state === 'FAILED') recordedFailed++;
  }
  return { lost, startedTwice, recordedFailed };
}

/**
 * When every payload had started, in seconds from `t0` (the start of the last execution; NaN
 * unless every payload has one), and the executions started per 10 s window.
 */
function startTimeline(executions: ExecutionInfo[], ids: Set<string>, t0: number): { allStartedSeconds: number; startsPer10s: number[] } {
  const startedIds = new Set(executions.filter((e) => ids.has(e.payloadId)).map((e) => e.payloadId));
  const lastStart = Math.max(...executions.map((e) => e.startedAt));
  const startsPer10s: number[] = [];
  for (const e of executions) {
    const k = Math.max(0, Math.floor((e.startedAt - t0) / 10000));
    while (startsPer10s.length <= k) startsPer10s.push(0);
    startsPer10s[k]++;
  }
  return { allStartedSeconds: startedIds.size === ids.size ? (lastStart - t0) / 1000 : NaN, startsPer10s };
}

/** Runs one burst on a fresh local stack. */
export async function runBurst(o: BurstOptions, script: string = process.argv[1]): Promise<BurstResult> {
  // The embedded metric lines of every invocation would drown the figures.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const root = repoRoot(__dirname);
  const stack = o.oneProcess ? await inProcessStack(o.burst, o.refillPerSecond, root) : await childStack(script, o.burst, o.refillPerSecond);
  const restore = applyStackEnv(stack.env);
  const sqs = new SQSClient(stack.clientConfig('sqs'));
  const ddb = DynamoDBDocumentClient.from(new DynamoDBClient(stack.clientConfig('dynamodb')));
  try {
    const { ids, sendSeconds } = await sendPayloads(sqs, stack.processQueueUrl, o.n);
    const drain = await drainQueue(stack, o, root);
    const { executions, quota, cpuMs: stackCpu1 } = await stack.executions();
    const verified = await verifyPayloads(ddb, stack.stateDbTable, ids, executions);
    const { allStartedSeconds, startsPer10s } = startTimeline(executions, ids, drain.t0);
    const floorSeconds = Math.max(0, o.n - o.burst) / o.refillPerSecond;
    const { eventSource, stackCpu0 } = drain;
    return {
      ...o,
      allStartedSeconds: round(allStartedSeconds),
      floorSeconds: round(floorSeconds),
      ratio: round(floorSeconds > 0 ? allStartedSeconds / floorSeconds : NaN, 3),
      drainedSeconds: round(drain.drainedSeconds),
      sendSeconds: round(sendSeconds),
      startExecutionCalls: quota.calls,
      throttles: quota.throttled,
      eventSource: { ...eventSource, billedMs: round(eventSource.billedMs, 0) },
      ...verified,
      billedMsPerPayload: round(eventSource.billedMs / o.n, 2),
      memoryMb: MEMORY_MB,
      cpuMsPerPayload: {
        bench: round(drain.benchCpuMs / o.n, 2),
        ...(stackCpu0 !== undefined && stackCpu1 !== undefined ? { stack: round((stackCpu1 - stackCpu0) / o.n, 2) } : {}),
      },
      startsPer10s,
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
  const quota =
    r.quota === 'custom'
      ? 'custom quota (--burst/--refill)'
      : r.quota === 'scaled'
        ? `scaled quota: ${QUOTAS.scaled.note}, so that this machine, which also runs the emulated services, can honour it (--quota aws-large / aws-other for the real ones)`
        : `real quota: ${QUOTAS[r.quota].note}`;
  return [
    `Burst — N ${r.n}, quota burst ${r.burst} + ${r.refillPerSecond}/s, concurrency ${r.concurrency}, batch 10, ${r.memoryMb} MB, stack ${r.oneProcess ? 'in the same process' : 'in a child process'}`,
    `                    ${quota}`,
    `all started after   ${r.allStartedSeconds} s  (queue empty after ${r.drainedSeconds} s; sending the ${r.n} messages took ${r.sendSeconds} s before the clock started)`,
    `quota floor         ${r.floorSeconds} s  ((N − burst) / refill)`,
    `ratio               ${r.ratio} ×  (target ≤ 1.25: ${r.ratio <= 1.25 ? 'pass' : 'FAIL'})`,
    `StartExecution      ${r.startExecutionCalls} calls, ${r.throttles} throttled`,
    `event source        ${e.invocations} invocations, ${e.received} received, ${e.redeliveries} redeliveries, ${e.reportedFailed} reported failed, ${e.timeouts} timeouts, ${e.errors} errors`,
    `billed              ${e.billedMs} ms (${r.billedMsPerPayload} ms per payload)`,
    `CPU per payload     ${r.cpuMsPerPayload.bench} ms in the function's process${r.cpuMsPerPayload.stack !== undefined ? ` + ${r.cpuMsPerPayload.stack} ms in the stack's (emulated AWS)` : ' (stack included)'}`,
    `starts per 10 s     ${r.startsPer10s.join(' ')}`,
    `lost / started twice / recorded FAILED   ${r.lost} / ${r.startedTwice} / ${r.recordedFailed}`,
  ].join('\n');
}

/** The `burst` command of `bench/run.ts`. */
export async function benchBurst(args: readonly string[]): Promise<void> {
  const o = parseBurstArgs(args);
  if (!o) {
    console.log(USAGE);
    return;
  }
  const loadBefore = os.loadavg().map((x) => round(x, 2));
  const r = await runBurst(o);
  const out = renderBurst(r);
  console.log(out);
  const root = repoRoot(__dirname);
  const li = args.indexOf('--label');
  const env = {
    date: new Date().toISOString(),
    command: `npm run bench -- burst${args.length ? ` ${args.join(' ')}` : ''}`,
    ...(li >= 0 ? { label: String(args[li + 1]) } : {}),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    loadavgBefore: loadBefore,
    loadavgAfter: os.loadavg().map((x) => round(x, 2)),
  };
  const run = { env, result: r };
  let file: string;
  if (args.includes('--write')) {
    // The tracked file keeps every published run, newest last.
    file = path.join(root, 'bench', 'burst.json');
    const prior = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { runs?: unknown[] }).runs ?? [] : [];
    fs.writeFileSync(file, `${JSON.stringify({ runs: [...prior, run] }, null, 1)}\n`);
  } else {
    file = path.join(root, 'bench', 'burst.local.json');
    fs.writeFileSync(file, `${JSON.stringify(run, null, 1)}\n`);
  }
  log(`wrote ${path.relative(process.cwd(), file)}`);
  if (r.lost + r.startedTwice + r.recordedFailed > 0 || Number.isNaN(r.allStartedSeconds)) process.exitCode = 1;
}
