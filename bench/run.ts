/**
 * `npm run bench`: runs the five benchmarks on the embedded local stack, prints a table and writes
 * the results to `bench/results.local.json` (ignored by git); `--write` writes the tracked
 * `bench/results.json` instead, for a deliberate update of the published figures. Not part of
 * `npm test`.
 *
 * ```text
 * node dist/bench/run.js [--only 1,2,3,4,5] [--write]
 * node dist/bench/run.js burst [--n N] [--quota scaled|aws-large|aws-other] [--burst B] [--refill R]
 *                              [--concurrency C] [--one-process] [--label TEXT] [--write] [--help]
 * node dist/bench/run.js logs [--n 200]
 * ```
 *
 * The same script serves as its own child processes (`--child stack|burst-stack|large|size-heap`), so each
 * child loads only the modules it needs (they are imported dynamically).
 * @module
 */
import './env';
import os from 'node:os';
import path from 'node:path';
import type { BenchResults } from './report';

/** Runs per measurement: enough for stable medians, small enough for < 5 minutes on 2 cores. */
const RUNS = {
  latencyPairs: 15,
  coldStartPairs: 30,
  bundleRequireRuns: 5,
  sizeSamples: 11,
  sizeHeapRepeats: 5,
  large: [
    { mb: 1, runs: 5 },
    { mb: 10, runs: 5 },
    { mb: 50, runs: 3 },
  ],
  largeNonAscii: [{ mb: 10, runs: 3 }],
} as const;

async function child(mode: string, arg: string | undefined): Promise<void> {
  if (mode === 'stack') return (await import('./stack.js')).runStackHost();
  if (mode === 'burst-stack') return (await import('./burst.js')).runBurstStackHost(String(arg));
  if (mode === 'large') {
    process.send?.(await (await import('./large.js')).runLargeChild(String(arg)));
    return;
  }
  if (mode === 'size-heap') {
    const a = JSON.parse(String(arg)) as { sizes: number[]; repeats: number };
    process.send?.((await import('./size-check.js')).runSizeHeapChild(a.sizes, a.repeats));
    return;
  }
  throw new Error(`unknown child mode ${mode}`);
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return child(args[1], args[2]);
  if (args[0] === 'burst') return (await import('./burst.js')).benchBurst(args.slice(1));
  if (args[0] === 'logs') return (await import('./logs.js')).benchLogs(args.slice(1));
  const onlyArg = args.indexOf('--only');
  const only = new Set(onlyArg >= 0 ? String(args[onlyArg + 1]).split(',') : ['1', '2', '3', '4', '5']);
  const script = process.argv[1];
  const root = (await import('../local/pipeline.js')).repoRoot(__dirname);
  const startLoad = os.loadavg()[0];
  const started = process.hrtime.bigint();

  const results: BenchResults = { latency: [], calls: [], coldStart: undefined as never, sizeCheck: [], large: [] };

  if (only.has('3')) {
    log('3/5 cold start: bundle sizes, require + first invocation in fresh node processes');
    results.coldStart = await (await import('./cold-start.js')).benchColdStart(root, RUNS.coldStartPairs, RUNS.bundleRequireRuns);
  }
  if (only.has('4')) {
    log('4/5 inline size check: throughput and heap growth');
    const sc = await import('./size-check.js');
    results.sizeCheck = sc.benchSizeCheck([1e5, 1e6, 1e7], RUNS.sizeSamples);
    await sc.addHeapDeltas(script, results.sizeCheck, RUNS.sizeHeapRepeats);
  }
  if (only.has('1') || only.has('2') || only.has('5')) {
    log('starting the local stack in a child process');
    const b = await (await import('./stack.js')).startBenchStack(script);
    try {
      if (only.has('1')) {
        log('1/5 process latency with 20 ms per AWS call, and without');
        results.latency = await (await import('./latency.js')).benchLatency(b, [20, 0], RUNS.latencyPairs);
      }
      if (only.has('2')) {
        log('2/5 AWS calls per payload');
        results.calls = await (await import('./calls.js')).benchCalls(b);
      }
      if (only.has('5')) {
        log('5/5 large payloads: 1, 10, 50 MB through the oversized path');
        const { benchLarge } = await import('./large.js');
        results.large = [
          ...(await benchLarge(b, script, RUNS.large.map((x) => x.mb), RUNS.large.map((x) => x.runs))),
          ...(await benchLarge(b, script, RUNS.largeNonAscii.map((x) => x.mb), RUNS.largeNonAscii.map((x) => x.runs), { nonAscii: true })),
        ];
      }
    } finally {
      await b.stop();
    }
  }

  const report = await import('./report.js');
  const env = report.environment(root, startLoad, Number(process.hrtime.bigint() - started) / 1e9);
  const complete = only.size === 5;
  const targets = complete ? report.checkTargets(results) : [];
  console.log(complete ? report.renderReport(results, targets, env) : JSON.stringify(results, null, 1));
  if (complete) {
    const file = path.join(root, 'bench', args.includes('--write') ? 'results.json' : 'results.local.json');
    report.writeResults(file, env, results, targets);
    log(`wrote ${path.relative(process.cwd(), file)} (${env.durationSeconds} s)`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
