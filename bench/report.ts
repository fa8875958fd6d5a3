/**
 * Targets, the printed table and `bench/results.json`.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CallCount } from './calls';
import type { ColdStartResult } from './cold-start';
import type { LargeResult } from './large';
import type { LatencyResult } from './latency';
import type { CallTally } from './middleware';
import type { SizeCheckResult } from './size-check';
import { fmt, fmtBytes, round, type Summary } from './stats';

/** Everything one `npm run bench` measured. */
export interface BenchResults {
  latency: LatencyResult[];
  calls: CallCount[];
  coldStart: ColdStartResult;
  sizeCheck: SizeCheckResult[];
  large: LargeResult[];
}

/** One target and whether it held. */
export interface TargetCheck {
  id: string;
  target: string;
  measured: string;
  pass: boolean;
}

/** The machine and software the figures come from. */
export interface Environment {
  date: string;
  node: string;
  platform: string;
  cpus: number;
  cpuModel: string;
  memoryBytes: number;
  /** 1-minute load average at the start and at the end (other work on the machine skews figures). */
  loadAverage: { start: number; end: number };
  gitCommit?: string;
  /** Versions of the SDK packages in node_modules. */
  packages: Record<string, string>;
  durationSeconds: number;
}

/** Largest process bundle allowed (1 MB = 10^6 bytes, the stricter reading). */
export const MAX_PROCESS_BUNDLE_BYTES = 1_000_000;
/** Largest allowed share our code adds to the SDK-only load time. */
export const MAX_LOAD_OVERHEAD = 0.15;
/** Largest allowed peak memory growth, as a multiple of the payload size. */
export const MAX_MEMORY_GROWTH = 4;
/**
 * Heap growth of the size check below which it made no copy of the payload: 10% of the payload,
 * or 64 KiB. Measuring allocates a few small objects (about 12 KB, the same from 100 KB to 10 MB);
 * a copy of the escaped text would be at least the payload's size.
 */
export const NO_COPY_SLACK = { share: 0.1, bytes: 64 * 1024 } as const;
/** Largest scaling exponent of time vs size still called linear (1 = linear; noise allowance). */
export const MAX_TIME_EXPONENT = 1.15;

const sum = (r: CallTally): number => Object.values(r).reduce((a, n) => a + n, 0);
const ops = (r: CallTally): string =>
  Object.entries(r)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || '—';

/** Scaling exponent of time between two sizes: log(t2/t1) / log(s2/s1). */
export function scalingExponent(a: LargeResult, b: LargeResult): number {
  return Math.log(b.ms.median / a.ms.median) / Math.log(b.bytes / a.bytes);
}

/** Target 1: a batch of 10 within twice the time of 1, with a delay on every AWS call. */
function latencyTargets(r: BenchResults): TargetCheck[] {
  const delayed = r.latency.find((l) => l.delayMs > 0);
  if (!delayed) return [];
  return [
    {
      id: '1',
      target: `batch of 10 ≤ 2× batch of 1 (${delayed.delayMs} ms per AWS call)`,
      measured: `${delayed.ratio.median.toFixed(2)}× (pairs ${delayed.ratio.min.toFixed(2)}–${delayed.ratio.max.toFixed(2)})`,
      pass: delayed.ratio.median <= 2,
    },
  ];
}

/** Target 2: AWS calls per payload (process) and per execution (update-state). */
function callTargets(r: BenchResults): TargetCheck[] {
  const events = (c: CallCount): string => (c.workflowEvents ? '' : ' (no workflow events)');
  const process = r.calls.filter((x) => x.scenario.startsWith('process')).map((c): TargetCheck => {
    const oversized = c.scenario.includes('oversized');
    const allowed = oversized ? 5 : 4;
    return {
      id: '2',
      target: `${c.scenario}${events(c)}: ≤ ${allowed} calls per payload + 1 BatchGetItem`,
      measured: `${c.workPerUnit} per payload + ${c.batchGetItem} BatchGetItem`,
      pass: c.workPerUnit <= allowed && c.batchGetItem === 1 && (!oversized || (c.work.PutObject ?? 0) + (c.work.CopyObject ?? 0) === 2),
    };
  });
  const updateState = r.calls.filter((x) => x.scenario.startsWith('update-state')).map((c): TargetCheck => ({
    id: '2',
    target: `${c.scenario}${events(c)}: ≤ 3 calls before publishing`,
    measured: `${sum(c.work)} (${ops(c.work)})`,
    pass: sum(c.work) <= 3,
  }));
  return [...process, ...updateState];
}

/** Target 3: the process bundle's size, and what our code adds to the SDK's cold start. */
function coldStartTargets(r: BenchResults): TargetCheck[] {
  const cs = r.coldStart;
  const processBundle = cs.bundles.find((b) => b.name === 'process');
  const size: TargetCheck[] = processBundle
    ? [{ id: '3', target: 'process bundle < 1 MB', measured: fmtBytes(processBundle.bytes), pass: processBundle.bytes < MAX_PROCESS_BUNDLE_BYTES }]
    : [];
  return [
    ...size,
    {
      id: '3',
      target: `our code adds ≤ ${MAX_LOAD_OVERHEAD * 100}% to SDK-only load + first invocation`,
      measured: `${pct(cs.ratio.median - 1)} wall (pairs ${pct(cs.ratio.q1 - 1)}…${pct(cs.ratio.q3 - 1)} IQR), ${pct(cs.cpuRatio.median - 1)} CPU`,
      pass: cs.ratio.median - 1 <= MAX_LOAD_OVERHEAD,
    },
  ];
}

/** Target 4: the size check is as fast as the naive ones, agrees with them and copies nothing. */
function sizeCheckTargets(r: BenchResults): TargetCheck[] {
  return r.sizeCheck.map((s) => {
    const noCopy = s.heapDelta ? s.heapDelta.ours.median < Math.max(NO_COPY_SLACK.share * s.jsonBytes, NO_COPY_SLACK.bytes) : false;
    return {
      id: '4',
      target: `size check ${fmtBytes(s.targetBytes)}: as fast as naive, same result, no payload copy`,
      measured:
        `${s.speedup.naiveFull.median.toFixed(1)}× naive, ${s.speedup.naiveText.median.toFixed(1)}× naive-on-text; ` +
        `${s.equal ? 'equal' : 'DIFFERENT'}; heap +${s.heapDelta ? fmtBytes(s.heapDelta.ours.median) : '?'}`,
      pass: s.equal && s.speedup.naiveFull.median >= 1 && s.speedup.naiveText.median >= 1 && noCopy,
    };
  });
}

/** Target 5: large payloads take linear time and bounded memory. */
function largeTargets(r: BenchResults): TargetCheck[] {
  const out: TargetCheck[] = [];
  const ascii = r.large.filter((l) => !l.nonAscii).sort((a, b) => a.bytes - b.bytes);
  if (ascii.length >= 2) {
    const k = scalingExponent(ascii[ascii.length - 2], ascii[ascii.length - 1]);
    out.push({
      id: '5',
      target: `large payloads: linear time (exponent ≤ ${MAX_TIME_EXPONENT} between the two largest sizes)`,
      measured: `exponent ${k.toFixed(2)}; ${ascii.map((l) => `${l.msPerMb.toFixed(0)} ms/MB @${l.mb} MB`).join(', ')}`,
      pass: k <= MAX_TIME_EXPONENT,
    });
  }
  for (const l of r.large) {
    out.push({
      id: '5',
      target: `large payload ${l.mb} MB${l.nonAscii ? ' non-ASCII' : ''}: peak memory growth ≤ ${MAX_MEMORY_GROWTH}× payload`,
      measured: `peak RSS +${l.rssGrowthRatio.median.toFixed(1)}× (heap+external +${l.heapGrowthRatio.median.toFixed(1)}×)`,
      pass: l.rssGrowthRatio.median <= MAX_MEMORY_GROWTH,
    });
  }
  return out;
}

/** Evaluates every target, in the order of the measures. */
export function checkTargets(r: BenchResults): TargetCheck[] {
  return [...latencyTargets(r), ...callTargets(r), ...coldStartTargets(r), ...sizeCheckTargets(r), ...largeTargets(r)];
}

function pct(x: number): string {
  return `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
}

/** Formats rows as an aligned text table. */
export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => (c ?? '').padEnd(widths[i])).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const mbFmt = (s: Summary): string => `${(s.median / 1e6).toFixed(0)} MB (${(s.min / 1e6).toFixed(0)}–${(s.max / 1e6).toFixed(0)})`;

/** One section of the report: its title, a table, and the lines after it. */
function section(title: string, head: string[], rows: string[][], ...after: string[]): string[] {
  return [title, table(head, rows), ...after, ''];
}

function latencySection(r: BenchResults): string[] {
  return section(
    '1. Process latency, one invocation (ms)',
    ['delay/call', '1 payload', '10 payloads', '10 / 1 (per pair)', 'CPU 1', 'CPU 10', 'calls 1/10', 'runs'],
    r.latency.map((l) => [
      `${l.delayMs} ms`,
      fmt(l.one),
      fmt(l.ten),
      fmt(l.ratio, '×', 2),
      fmt(l.cpuOne),
      fmt(l.cpuTen),
      `${l.callsOne}/${l.callsTen}`,
      String(l.one.n),
    ]),
  );
}

function callsSection(r: BenchResults): string[] {
  return section(
    "2. AWS calls (counted on the handlers' clients)",
    ['scenario', 'workflow events', 'work calls', 'per unit', 'publishing'],
    r.calls.map((c) => [c.scenario, c.workflowEvents ? 'on' : 'off', ops(c.work), String(c.workPerUnit), ops(c.publishing)]),
  );
}

function coldStartSection(r: BenchResults): string[] {
  const cs = r.coldStart;
  return section(
    `3. Cold start (fresh node process; ${cs.runs} alternating pairs)`,
    ['bundle', 'size', 'require (ms)'],
    cs.bundles.map((b) => [`dist/lambdas/${b.name}/index.js`, fmtBytes(b.bytes), fmt(b.requireMs)]),
    '',
    table(
      ['comparison', 'size', 'require (ms)', 'require + first invocation (ms)', 'CPU (ms)'],
      [
        ['process (same build, first invocation)', fmtBytes(cs.processBundleBytes), fmt(cs.processRequireMs), fmt(cs.processMs), fmt(cs.processCpuMs)],
        ['SDK clients only (created)', fmtBytes(cs.sdkOnlyBundleBytes), fmt(cs.sdkOnlyRequireMs), fmt(cs.sdkOnlyMs), fmt(cs.sdkOnlyCpuMs)],
        ['ratio process / SDK-only (per pair)', '', '', fmt(cs.ratio, '×', 3), fmt(cs.cpuRatio, '×', 3)],
      ],
    ),
    `process bundle bytes: SDK ${fmtBytes(cs.breakdown.sdk)}, our code ${fmtBytes(cs.breakdown.ours)}, other deps ${fmtBytes(cs.breakdown.otherDeps)}`,
  );
}

function sizeCheckSection(r: BenchResults): string[] {
  return section(
    '4. Inline size check (ms per call; speed-up = naive time / ours, per sample)',
    ['payload', 'ours', 'naive', 'naive on text', 'vs naive', 'vs naive on text', 'MB/s ours / naive', 'same', 'heap: ours / naive on text / naive'],
    r.sizeCheck.map((s) => [
      `${fmtBytes(s.jsonBytes)} (${s.jsonChars} chars)`,
      fmt(s.ms.ours, '', 2),
      fmt(s.ms.naiveFull, '', 2),
      fmt(s.ms.naiveText, '', 2),
      fmt(s.speedup.naiveFull, '×', 1),
      fmt(s.speedup.naiveText, '×', 1),
      `${s.mbPerSecond.ours.toFixed(0)} / ${s.mbPerSecond.naiveFull.toFixed(0)}`,
      s.equal ? 'yes' : 'NO',
      s.heapDelta ? `${fmtBytes(s.heapDelta.ours.median)} / ${fmtBytes(s.heapDelta.naiveText.median)} / ${fmtBytes(s.heapDelta.naiveFull.median)}` : '?',
    ]),
  );
}

function largeSection(r: BenchResults): string[] {
  return section(
    '5. Large payloads through the oversized path (one fresh child process per run)',
    ['payload', 'time (ms)', 'ms/MB', 'peak RSS growth', '× payload', 'peak heap+ext growth', '× payload', 'runs'],
    r.large.map((l) => [
      `${fmtBytes(l.bytes)}${l.nonAscii ? ' non-ASCII' : ''}`,
      fmt(l.ms, '', 0),
      l.msPerMb.toFixed(0),
      mbFmt(l.rssGrowth),
      fmt(l.rssGrowthRatio, '×', 1),
      mbFmt(l.heapGrowth),
      fmt(l.heapGrowthRatio, '×', 1),
      String(l.ms.n),
    ]),
    `calls per large payload: ${r.large.length ? ops(r.large[r.large.length - 1].calls) : '—'}`,
  );
}

/** The whole printed report. */
export function renderReport(r: BenchResults, targets: TargetCheck[], env: Environment): string {
  return [
    `Benchmarks — node ${env.node}, ${env.cpus} CPU (${env.cpuModel}), load ${env.loadAverage.start.toFixed(1)}→${env.loadAverage.end.toFixed(1)}, ${env.date}`,
    'Every figure: median (min–max) of the runs noted; ratios are per pair of runs made back to back.',
    '',
    ...latencySection(r),
    ...callsSection(r),
    ...coldStartSection(r),
    ...sizeCheckSection(r),
    ...largeSection(r),
    'Targets',
    table(
      ['#', 'target', 'measured', 'result'],
      targets.map((t) => [t.id, t.target, t.measured, t.pass ? 'PASS' : 'FAIL']),
    ),
  ].join('\n');
}

function packageVersion(root: string, name: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Collects the environment description. */
export function environment(root: string, startLoad: number, durationSeconds: number): Environment {
  let gitCommit: string | undefined;
  try {
    gitCommit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    gitCommit = undefined;
  }
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryBytes: os.totalmem(),
    loadAverage: { start: round(startLoad), end: round(os.loadavg()[0]) },
    gitCommit,
    packages: Object.fromEntries(
      ['@aws-sdk/client-s3', '@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-sfn', '@aws-sdk/client-sns', 'esbuild', 's3rver', 'dynalite'].map((n) => [n, packageVersion(root, n)]),
    ),
    durationSeconds: round(durationSeconds, 1),
  };
}

/** Writes results.json atomically (through `results.json.tmp`), numbers rounded. */
export function writeResults(file: string, env: Environment, results: BenchResults, targets: TargetCheck[]): void {
  const text = JSON.stringify({ environment: env, targets, results }, (_k, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? round(v, 3) : v), 2);
  writeFileSync(`${file}.tmp`, `${text}\n`);
  renameSync(`${file}.tmp`, file);
}
