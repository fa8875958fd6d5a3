/**
 * `npm run bench -- logs [--n 200]`: what one payload writes to CloudWatch Logs, for the cost
 * table. N new payloads of the `minimal` workflow go through the whole local pipeline
 * (`local/pipeline.ts`: process in batches of 10, the execution, update-state on its status event)
 * with the settings of the deployed stack: log level INFO (Powertools' default, the stack sets no
 * other), the project's embedded metrics on, and the workflow metric events on
 * (`CIRRUS_WORKFLOW_LOG_GROUP`, which the stack sets by default). Counted: the bytes the functions
 * print (their Lambda log streams) and the events written to the metric log group, each with the 26
 * bytes per event CloudWatch Logs adds to the ingested size. Lambda's own START/END/REPORT lines
 * are not printed locally and are left out (about 0.3 KB per invocation).
 * @module
 */
import type { BundleHandler } from '../local/pipeline';
import { newPayload } from './payloads';

/** What N payloads wrote. */
export interface LogBytesResult {
  n: number;
  /** Lines and bytes the functions printed, by Powertools `service` (`metrics`: embedded metric lines). */
  printed: Record<string, { lines: number; bytes: number }>;
  /** Workflow metric events put to the metric log group. */
  metricEvents: { events: number; bytes: number };
  /** Ingested bytes per payload (26 bytes of metadata per log event included). */
  ingestedBytesPerPayload: { lambdaLogs: number; metricEvents: number };
  /**
   * Median duration of one invocation here, ms: process (a batch of 10) and update-state (one
   * status event), on the local stack in this process (no network latency; the emulators' CPU included).
   */
  medianMs: { process: number; updateState: number };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : Math.round((s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) * 10) / 10;
}

function timed(f: BundleHandler, into: number[]): BundleHandler {
  return async (event, context) => {
    const t = performance.now();
    try {
      return await f(event, context);
    } finally {
      into.push(performance.now() - t);
    }
  };
}

const EVENT_OVERHEAD_BYTES = 26; // CloudWatch Logs bills each event's message plus 26 bytes

/** Runs N payloads through the local pipeline and counts what reaches CloudWatch Logs. */
export async function measureLogBytes(n: number): Promise<LogBytesResult> {
  // As deployed: before the bundles are loaded, so their loggers and metrics read it.
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  const { startPipeline, loadBundles } = await import('../local/pipeline.js');
  const bundles = loadBundles();
  const processMs: number[] = [];
  const updateStateMs: number[] = [];
  const handlers = { ...bundles, process: timed(bundles.process, processMs), updateState: timed(bundles.updateState, updateStateMs) };
  const pipeline = await startPipeline({ validateDefinitions: false, startExecutionQuota: false, handlers, taskLambdas: {} });
  const stack = pipeline.stack;
  process.env.CIRRUS_WORKFLOW_LOG_GROUP = stack.workflowLogGroup;
  const printed: LogBytesResult['printed'] = {};
  const count = (chunk: unknown): void => {
    for (const line of String(chunk).split('\n')) {
      if (line.trim() === '') continue;
      let key = 'other';
      try {
        const o = JSON.parse(line) as { service?: string; _aws?: unknown };
        key = o._aws ? 'metrics' : String(o.service ?? 'other');
      } catch {
        // not JSON: counted as other
      }
      const e = (printed[key] ??= { lines: 0, bytes: 0 });
      e.lines++;
      e.bytes += Buffer.byteLength(line) + EVENT_OVERHEAD_BYTES;
    }
  };
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: unknown) => (count(chunk), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: unknown) => (count(chunk), true)) as typeof process.stderr.write;
  try {
    for (let i = 0; i < n; i += 10) {
      const bodies = Array.from({ length: Math.min(10, n - i) }, () => JSON.stringify(newPayload('bench-logs')));
      await pipeline.sendBatch(bodies);
    }
    await stack.waitForIdle(120000);
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  const events = stack.logs.events(stack.workflowLogGroup);
  const metricBytes = events.reduce((s, e) => s + Buffer.byteLength(e.message) + EVENT_OVERHEAD_BYTES, 0);
  const lambdaBytes = Object.values(printed).reduce((s, e) => s + e.bytes, 0);
  await pipeline.stop();
  delete process.env.CIRRUS_WORKFLOW_LOG_GROUP;
  return {
    n,
    printed,
    metricEvents: { events: events.length, bytes: metricBytes },
    ingestedBytesPerPayload: { lambdaLogs: Math.round(lambdaBytes / n), metricEvents: Math.round(metricBytes / n) },
    medianMs: { process: median(processMs), updateState: median(updateStateMs) },
  };
}

/** The `logs` command of `bench/run.ts`. */
export async function benchLogs(args: readonly string[]): Promise<void> {
  const i = args.indexOf('--n');
  const n = i >= 0 ? Number(args[i + 1]) : 200;
  if (!Number.isInteger(n) || n < 1) throw new RangeError('--n needs a positive integer');
  const r = await measureLogBytes(n);
  console.log(JSON.stringify(r, null, 1));
}
