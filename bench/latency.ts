/**
 * Measure 1: latency of one process invocation with 1 and with 10 new payloads, with a fixed
 * delay added to every AWS call (a stand-in for the network round trip) and without it.
 * @module
 */
import { handler as processHandler } from '../lambdas/process/index';
import type { BenchStack } from './stack';
import { msSince, summarize, type Summary } from './stats';
import { newPayload, sqsEvent } from './payloads';

/** Latency figures for one delay setting. */
export interface LatencyResult {
  /** Delay added to every AWS call, in ms. */
  delayMs: number;
  /** Invocation time with 1 new payload, ms. */
  one: Summary;
  /** Invocation time with 10 new payloads, ms. */
  ten: Summary;
  /** Per-pair ratio ten/one (each pair measured back to back). */
  ratio: Summary;
  /** CPU time (user + system) of this process during the invocation, ms: the function's own work. */
  cpuOne: Summary;
  cpuTen: Summary;
  /** AWS calls of the last 1-payload and 10-payload invocation. */
  callsOne: number;
  callsTen: number;
}

interface Timed {
  ms: number;
  cpuMs: number;
  calls: number;
}

async function timeBatch(b: BenchStack, size: number, collection: string): Promise<Timed> {
  const bodies = Array.from({ length: size }, () => JSON.stringify(newPayload(collection)));
  const event = sqsEvent(bodies, b.region);
  b.aws.reset();
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const res = (await processHandler(event)) as { batchItemFailures?: unknown[] };
  const ms = msSince(start);
  const used = process.cpuUsage(cpu);
  const calls = b.aws.calls.length;
  if (!res.batchItemFailures || res.batchItemFailures.length > 0) {
    throw new Error(`process reported failures in the latency benchmark: ${JSON.stringify(res)}`);
  }
  await b.waitForIdle();
  return { ms, cpuMs: (used.user + used.system) / 1000, calls };
}

/** Runs the latency benchmark for each delay; `runs` pairs per delay, alternating the order. */
export async function benchLatency(b: BenchStack, delays: readonly number[], runs: number, warmup = 2): Promise<LatencyResult[]> {
  const out: LatencyResult[] = [];
  for (const delayMs of delays) {
    b.aws.delayMs = delayMs;
    const collection = `bench-latency-${delayMs}ms`;
    for (let i = 0; i < warmup; i++) {
      await timeBatch(b, 1, collection);
      await timeBatch(b, 10, collection);
    }
    const one: number[] = [];
    const ten: number[] = [];
    const ratio: number[] = [];
    const cpuOne: number[] = [];
    const cpuTen: number[] = [];
    let callsOne = 0;
    let callsTen = 0;
    for (let r = 0; r < runs; r++) {
      // Alternate which size goes first so drift affects both alike.
      const first = r % 2 === 0 ? 1 : 10;
      const a = await timeBatch(b, first, collection);
      const c = await timeBatch(b, first === 1 ? 10 : 1, collection);
      const [o, t] = first === 1 ? [a, c] : [c, a];
      one.push(o.ms);
      ten.push(t.ms);
      ratio.push(t.ms / o.ms);
      cpuOne.push(o.cpuMs);
      cpuTen.push(t.cpuMs);
      callsOne = o.calls;
      callsTen = t.calls;
    }
    out.push({ delayMs, one: summarize(one), ten: summarize(ten), ratio: summarize(ratio), cpuOne: summarize(cpuOne), cpuTen: summarize(cpuTen), callsOne, callsTen });
  }
  b.aws.delayMs = 0;
  return out;
}
