/**
 * Measure 5: large payloads through the oversized path. Each run gets its own fresh `node` child
 * (run with `--expose-gc`), so that its memory figures hold only what one invocation costs: the
 * payload is stored in the bucket by this process, and the child invokes the process handler on an
 * SQS record holding `{"url": …}` (how a payload too big for SQS arrives). process reads it,
 * claims it, writes `input.json`, measures it, writes `tmp/oversized/<uuid>.json` and starts the
 * workflow with the small reference.
 * @module
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { PutObjectCommand, DeleteObjectsCommand, S3Client } from '@aws-sdk/client-s3';
import { handler as processHandler } from '../lambdas/process/index';
import { instrumentHandlerClients, type CallTally } from './middleware';
import { freshId, newPayload, payloadOfSize, sqsEvent, withId, type ItemOptions } from './payloads';
import type { BenchStack } from './stack';
import { msSince, summarize, type Summary } from './stats';

/** What the child reports for one invocation. */
export interface LargeRun {
  /** Wall time of the process invocation, ms. */
  ms: number;
  /** RSS before the invocation (after a warm-up and a full GC), bytes. */
  rssBefore: number;
  /** Peak RSS during the invocation, bytes (kernel high-water mark, or sampled when that was set earlier). */
  rssPeak: number;
  /** heapUsed + external before, bytes. */
  heapBefore: number;
  /** Peak heapUsed + external sampled every 2 ms during the invocation, bytes. */
  heapPeak: number;
  /** AWS calls of the invocation by operation. */
  calls: CallTally;
}

/** Figures for one payload size. */
export interface LargeResult {
  /** Nominal size, MB. */
  mb: number;
  /** UTF-8 bytes of the payload's JSON. */
  bytes: number;
  /** Whether the payload holds non-Latin-1 text (V8 then holds its JSON two bytes per character). */
  nonAscii: boolean;
  ms: Summary;
  /** Milliseconds per MB (median time / size). */
  msPerMb: number;
  /** Peak RSS growth, bytes. */
  rssGrowth: Summary;
  /** Peak RSS growth / payload bytes. */
  rssGrowthRatio: Summary;
  /** Peak sampled heap (+ external) growth, bytes. */
  heapGrowth: Summary;
  heapGrowthRatio: Summary;
  calls: CallTally;
}

/** Body of the `--child large` process. */
export async function runLargeChild(url: string): Promise<LargeRun> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  const aws = instrumentHandlerClients(0);
  // Warm-up: one small payload, so module loading, client creation and JIT are not counted.
  const warm = (await processHandler(sqsEvent([JSON.stringify(newPayload('bench-large-warmup'))]))) as { batchItemFailures: unknown[] };
  if (warm.batchItemFailures.length > 0) throw new Error('warm-up invocation failed');
  gc();
  gc();
  aws.reset();
  const maxRssBefore = process.resourceUsage().maxRSS * 1024;
  const before = process.memoryUsage();
  let rssSampled = before.rss;
  let heapPeak = before.heapUsed + before.external;
  const sample = (): void => {
    const m = process.memoryUsage();
    rssSampled = Math.max(rssSampled, m.rss);
    heapPeak = Math.max(heapPeak, m.heapUsed + m.external);
  };
  const timer = setInterval(sample, 2);
  const start = process.hrtime.bigint();
  const res = (await processHandler(sqsEvent([JSON.stringify({ url })]))) as { batchItemFailures: unknown[] };
  const ms = msSince(start);
  clearInterval(timer);
  sample();
  if (res.batchItemFailures.length > 0) throw new Error(`the large payload failed: ${JSON.stringify(res)}`);
  const maxRssAfter = process.resourceUsage().maxRSS * 1024;
  return {
    ms,
    rssBefore: before.rss,
    rssPeak: maxRssAfter > maxRssBefore ? maxRssAfter : rssSampled,
    heapBefore: before.heapUsed + before.external,
    heapPeak,
    calls: aws.byOperation(),
  };
}

function runChild(script: string, url: string): Promise<LargeRun> {
  const child = fork(script, ['--child', 'large', url], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as LargeRun));
    child.once('exit', (code) => reject(new Error(`the large-payload child exited with code ${code} without a result`)));
  });
}

/** Runs `runs[i]` invocations of each size in `mbs` (MB), each in a fresh child. */
export async function benchLarge(b: BenchStack, script: string, mbs: readonly number[], runs: readonly number[], options: ItemOptions = {}): Promise<LargeResult[]> {
  const s3 = new S3Client({ endpoint: b.env.AWS_ENDPOINT_URL_S3, region: b.region, forcePathStyle: true });
  const out: LargeResult[] = [];
  try {
    for (const [i, mb] of mbs.entries()) {
      const base = JSON.stringify(payloadOfSize(mb * 1e6, 'bench-large', options));
      const results: LargeRun[] = [];
      let bytes = 0;
      for (let r = 0; r < runs[i]; r++) {
        const text = withId(base, freshId('bench-large'));
        bytes = Buffer.byteLength(text);
        const key = `bench/large/${randomUUID()}.json`;
        await s3.send(new PutObjectCommand({ Bucket: b.env.CIRRUS_PAYLOAD_BUCKET, Key: key, Body: text, ContentType: 'application/json' }));
        results.push(await runChild(script, `s3://${b.env.CIRRUS_PAYLOAD_BUCKET}/${key}`));
        await b.waitForIdle();
        await s3.send(new DeleteObjectsCommand({ Bucket: b.env.CIRRUS_PAYLOAD_BUCKET, Delete: { Objects: [{ Key: key }] } }));
      }
      const ms = summarize(results.map((x) => x.ms));
      const rss = results.map((x) => x.rssPeak - x.rssBefore);
      const heap = results.map((x) => x.heapPeak - x.heapBefore);
      out.push({
        mb,
        bytes,
        nonAscii: options.nonAscii === true,
        ms,
        msPerMb: ms.median / (bytes / 1e6),
        rssGrowth: summarize(rss),
        rssGrowthRatio: summarize(rss.map((x) => x / bytes)),
        heapGrowth: summarize(heap),
        heapGrowthRatio: summarize(heap.map((x) => x / bytes)),
        calls: results[results.length - 1].calls,
      });
    }
  } finally {
    s3.destroy();
  }
  return out;
}
