/**
 * Measure 4: the inline-size check. `measureInlineSize(text)` (shared/size.ts, given the JSON text
 * process already holds) against the naive `Buffer.byteLength(JSON.stringify(JSON.stringify(p)))`
 * (which serialises the payload, then escapes that text into a second full-size string), and
 * against the naive escape of the same text, `Buffer.byteLength(JSON.stringify(text))`.
 * Payloads hold non-ASCII text (beyond Latin-1), quotes, backslashes and control characters.
 * @module
 */
import { fork } from 'node:child_process';
import v8 from 'node:v8';
import { measureInlineSize } from '../shared/size';
import type { JsonObject } from '../shared/json';
import { payloadOfSize, withId, freshId } from './payloads';
import { msSince, summarize, type Summary } from './stats';

/** The three ways of measuring. */
export type SizeMethod = 'ours' | 'naiveText' | 'naiveFull';

/** Results for one payload size. */
export interface SizeCheckResult {
  /** Nominal payload size (its compact JSON, UTF-8 bytes, at least this). */
  targetBytes: number;
  /** UTF-8 bytes of the compact JSON. */
  jsonBytes: number;
  /** Characters of the JSON text (V8 holds it two bytes per character: it has non-Latin-1 text). */
  jsonChars: number;
  /** The inline size every method returned. */
  inlineSize: number;
  /** True when the three methods agree. */
  equal: boolean;
  /** Time per measurement, ms. */
  ms: Record<SizeMethod, Summary>;
  /** Throughput (JSON bytes per second), MB/s, from the median time. */
  mbPerSecond: Record<SizeMethod, number>;
  /** Per-sample speed-up of ours: naive time / our time. */
  speedup: { naiveText: Summary; naiveFull: Summary };
  /**
   * Growth of the V8 data spaces (every heap space but the code spaces) plus external memory during
   * one measurement (no GC in between), bytes; filled by the child process. Code spaces are left
   * out: V8 now and then recompiles the control-character regexp to native code (about 200 KB,
   * whatever the payload size), which is not payload data.
   */
  heapDelta?: Record<SizeMethod, Summary>;
}

const methods: Record<SizeMethod, (p: JsonObject, text: string) => number> = {
  ours: (_p, text) => measureInlineSize(text),
  naiveText: (_p, text) => Buffer.byteLength(JSON.stringify(text)),
  naiveFull: (p) => Buffer.byteLength(JSON.stringify(JSON.stringify(p))),
};

function payloadText(bytes: number): { p: JsonObject; text: string } {
  const text = withId(JSON.stringify(payloadOfSize(bytes, 'bench-size', { nonAscii: true })), freshId('bench-size'));
  return { p: JSON.parse(text) as JsonObject, text };
}

/** Times the three methods on each size, alternating their order sample by sample. */
export function benchSizeCheck(sizes: readonly number[], samples: number): SizeCheckResult[] {
  const out: SizeCheckResult[] = [];
  for (const target of sizes) {
    const { p, text } = payloadText(target);
    const values = (Object.keys(methods) as SizeMethod[]).map((m) => methods[m](p, text));
    const iterations = Math.max(1, Math.round(2e6 / target));
    const times: Record<SizeMethod, number[]> = { ours: [], naiveText: [], naiveFull: [] };
    const names = Object.keys(methods) as SizeMethod[];
    let sink = 0;
    for (const m of names) sink += methods[m](p, text); // warm-up
    for (let s = 0; s < samples; s++) {
      const order = s % 2 === 0 ? names : [...names].reverse();
      for (const m of order) {
        const fn = methods[m];
        const start = process.hrtime.bigint();
        for (let i = 0; i < iterations; i++) sink += fn(p, text);
        times[m].push(msSince(start) / iterations);
      }
    }
    if (sink === 0) throw new Error('unreachable');
    const jsonBytes = Buffer.byteLength(text);
    const ms = { ours: summarize(times.ours), naiveText: summarize(times.naiveText), naiveFull: summarize(times.naiveFull) };
    const ratio = (m: SizeMethod): Summary => summarize(times[m].map((t, i) => t / times.ours[i]));
    out.push({
      targetBytes: target,
      jsonBytes,
      jsonChars: text.length,
      inlineSize: values[0],
      equal: values.every((v) => v === values[0]),
      ms,
      mbPerSecond: {
        ours: jsonBytes / 1e6 / (ms.ours.median / 1000),
        naiveText: jsonBytes / 1e6 / (ms.naiveText.median / 1000),
        naiveFull: jsonBytes / 1e6 / (ms.naiveFull.median / 1000),
      },
      speedup: { naiveText: ratio('naiveText'), naiveFull: ratio('naiveFull') },
    });
  }
  return out;
}

/** Bytes in the V8 data spaces (not code) plus external memory. */
function dataBytes(): number {
  let n = process.memoryUsage().external;
  for (const sp of v8.getHeapSpaceStatistics()) if (!sp.space_name.startsWith('code')) n += sp.space_used_size;
  return n;
}

/** Body of the `--child size-heap` process (run with `--expose-gc`): heap growth of each method. */
export function runSizeHeapChild(sizes: readonly number[], repeats: number): Record<number, Record<SizeMethod, Summary>> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  const out: Record<number, Record<SizeMethod, Summary>> = {};
  for (const target of sizes) {
    const { p, text } = payloadText(target);
    const deltas: Record<SizeMethod, number[]> = { ours: [], naiveText: [], naiveFull: [] };
    for (const m of Object.keys(methods) as SizeMethod[]) methods[m](p, text); // warm-up
    for (let r = 0; r < repeats; r++) {
      for (const m of Object.keys(methods) as SizeMethod[]) {
        gc();
        gc();
        const before = dataBytes();
        const v = methods[m](p, text);
        const after = dataBytes();
        if (v <= 0) throw new Error('unreachable');
        deltas[m].push(after - before);
      }
    }
    out[target] = { ours: summarize(deltas.ours), naiveText: summarize(deltas.naiveText), naiveFull: summarize(deltas.naiveFull) };
  }
  return out;
}

/** Runs {@link runSizeHeapChild} in a fresh process and adds its figures to `results`. */
export async function addHeapDeltas(script: string, results: SizeCheckResult[], repeats: number): Promise<void> {
  const sizes = results.map((r) => r.targetBytes);
  const child = fork(script, ['--child', 'size-heap', JSON.stringify({ sizes, repeats })], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const heap = await new Promise<Record<number, Record<SizeMethod, Summary>>>((resolve, reject) => {
    child.once('message', (m) => resolve(m as Record<number, Record<SizeMethod, Summary>>));
    child.once('exit', (code) => reject(new Error(`the size-heap child exited with code ${code} without a result`)));
  });
  for (const r of results) r.heapDelta = heap[r.targetBytes];
}
