/**
 * Measure 3: bundle sizes and cold-start cost. A fresh `node` process requires a bundle and runs
 * what a Lambda sandbox runs before its first AWS call: for the process function, its handler's
 * first invocation (on an empty batch, so no AWS call is made), which reads the configuration and
 * builds the handler runtime of `shared/runtime.ts` (`handlerRuntime`: the S3, DynamoDB and Step
 * Functions clients, the StateDB, the event publisher), then the SNS client its first workflow
 * event creates. It is compared with a bundle holding only those SDK clients (S3, DynamoDB +
 * lib-dynamodb, SFN, SNS) that creates them; both are built here with the same esbuild options as
 * `scripts/build.mjs`. The two are run alternately so machine noise hits both.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { summarize, type Summary } from './stats';

/** Size of one built function bundle. */
export interface BundleSize {
  name: string;
  bytes: number;
  /** Median time for a fresh node process to `require` it, ms (nothing invoked). */
  requireMs: Summary;
}

/** Where the bytes of the process bundle come from. */
export interface BundleBreakdown {
  /** `@aws-sdk/*`, `@smithy/*` and the SDK's own dependencies. */
  sdk: number;
  /** `shared/` and `lambdas/`: this project's code. */
  ours: number;
  /** Other dependencies (Powertools logger, p-limit, uuid, …). */
  otherDeps: number;
  total: number;
}

/** Result of the cold-start benchmark. */
export interface ColdStartResult {
  bundles: BundleSize[];
  /** The process bundle built for the comparison (the same code plus the export of `handlerRuntime`). */
  processBundleBytes: number;
  sdkOnlyBundleBytes: number;
  breakdown: BundleBreakdown;
  /** require + first invocation (runtime and clients built), process bundle, ms. */
  processMs: Summary;
  /** require + create the clients, SDK-only bundle, ms. */
  sdkOnlyMs: Summary;
  /** require only (module evaluation), ms. */
  processRequireMs: Summary;
  sdkOnlyRequireMs: Summary;
  /** Per-pair ratio process / SDK-only of require + first invocation. */
  ratio: Summary;
  /** CPU time of require + first invocation, ms: less sensitive to other load on the machine than wall time. */
  processCpuMs: Summary;
  sdkOnlyCpuMs: Summary;
  /** Per-pair ratio of those CPU times. */
  cpuRatio: Summary;
  runs: number;
}

/** Same settings as the Lambda bundles of scripts/build.mjs. */
const LAMBDA_BUILD: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  logLevel: 'warning',
  legalComments: 'none',
  target: 'node22',
  minify: true,
  sourcemap: false,
};

/**
 * The process function's entry, and the first invocation of its handler: on an empty batch it
 * builds the runtime (configuration, S3, DynamoDB and SFN clients, StateDB, event publisher) and
 * makes no AWS call; the SNS client, which the handler creates when it publishes its first
 * workflow event, is then taken from the same cached runtime.
 */
const PROCESS_ENTRY = `
import { handler } from './lambdas/process/index';
import { handlerRuntime } from './shared/runtime';
export { handler };
export async function firstInvocation() {
  await handler({ Records: [] });
  return handlerRuntime(process.env).clients.sns;
}
`;

const SDK_ONLY_ENTRY = `
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
export const clients = {};
export async function firstInvocation() {
  const region = process.env.AWS_REGION || 'us-west-2';
  clients.s3 = new S3Client({ region, forcePathStyle: false });
  clients.ddb = DynamoDBDocumentClient.from(new DynamoDBClient({ region }), { marshallOptions: { removeUndefinedValues: true } });
  clients.sfn = new SFNClient({ region });
  clients.sns = new SNSClient({ region });
}
`;

/** Runs in the fresh node process: times the require and the first invocation, prints JSON. */
const CHILD_SCRIPT = `
const c0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const m = require(process.argv[1]);
const t1 = process.hrtime.bigint();
(process.argv[2] === 'invoke' ? m.firstInvocation() : Promise.resolve()).then(() => {
  const t2 = process.hrtime.bigint();
  const cpu = process.cpuUsage(c0);
  process.stdout.write(JSON.stringify({ requireMs: Number(t1 - t0) / 1e6, totalMs: Number(t2 - t0) / 1e6, cpuMs: (cpu.user + cpu.system) / 1e3 }));
});
`;

/** The configuration the stack gives the process function (no AWS call is made with it). */
function childEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    AWS_REGION: 'us-west-2',
    CIRRUS_PAYLOAD_BUCKET: 'bench-payloads',
    CIRRUS_STATE_DB: 'bench-state',
    CIRRUS_BASE_WORKFLOW_ARN: 'arn:aws:states:us-west-2:123456789012:stateMachine:cirrus-',
    CIRRUS_WORKFLOW_EVENT_TOPIC_ARN: 'arn:aws:sns:us-west-2:123456789012:cirrus-workflow-event',
    CIRRUS_WORKFLOW_LOG_GROUP: '/aws/vendedlogs/states/cirrus-workflow-metrics',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** The timings one fresh node process reports. */
interface LoadTiming {
  /** Wall time of the require, ms. */
  requireMs: number;
  /** Wall time of require + first invocation, ms. */
  totalMs: number;
  /** CPU time (user + system) of require + first invocation, ms. */
  cpuMs: number;
}

/** Spawns a fresh node process that loads `bundle` (and, with `invoke`, runs its first invocation). */
function loadOnce(bundle: string, invoke: boolean): LoadTiming {
  const r = spawnSync(process.execPath, ['-e', CHILD_SCRIPT, bundle, invoke ? 'invoke' : 'require'], { env: childEnv(), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`loading ${bundle} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as LoadTiming;
}

function breakdownOf(meta: Metafile): BundleBreakdown {
  const out = Object.values(meta.outputs)[0];
  const b: BundleBreakdown = { sdk: 0, ours: 0, otherDeps: 0, total: out.bytes };
  const sdkDeps = /node_modules\/(@aws-sdk|@smithy|@aws-crypto|@aws\/|bowser|mnemonist|obliterator|fast-xml-parser|strnum|tslib)/;
  for (const [file, v] of Object.entries(out.inputs)) {
    if (sdkDeps.test(file)) b.sdk += v.bytesInOutput;
    else if (file.includes('node_modules/')) b.otherDeps += v.bytesInOutput;
    else b.ours += v.bytesInOutput;
  }
  return b;
}

/** The two bundles of the comparison, built into `dir`, and where the process bundle's bytes come from. */
async function buildComparison(root: string, dir: string): Promise<{ ours: string; sdk: string; breakdown: BundleBreakdown }> {
  const ours = path.join(dir, 'process.js');
  const sdk = path.join(dir, 'sdk-only.js');
  const built = await build({ ...LAMBDA_BUILD, stdin: { contents: PROCESS_ENTRY, resolveDir: root, loader: 'ts', sourcefile: 'bench-process-entry.ts' }, outfile: ours, metafile: true });
  await build({ ...LAMBDA_BUILD, stdin: { contents: SDK_ONLY_ENTRY, resolveDir: root, loader: 'js', sourcefile: 'bench-sdk-only-entry.js' }, outfile: sdk });
  return { ours, sdk, breakdown: breakdownOf(built.metafile as Metafile) };
}

type Comparison = Pick<ColdStartResult, 'processMs' | 'sdkOnlyMs' | 'processRequireMs' | 'sdkOnlyRequireMs' | 'ratio' | 'processCpuMs' | 'sdkOnlyCpuMs' | 'cpuRatio'>;

/** One warm-up each (file system cache), then `runs` pairs, the order flipped every pair. */
function comparePairs(ours: string, sdk: string, runs: number): Comparison {
  loadOnce(ours, true);
  loadOnce(sdk, true);
  const pairs: { p: LoadTiming; s: LoadTiming }[] = [];
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? [ours, sdk] : [sdk, ours];
    const t = new Map(order.map((b) => [b, loadOnce(b, true)] as const));
    pairs.push({ p: t.get(ours) as LoadTiming, s: t.get(sdk) as LoadTiming });
  }
  const of = (f: (pair: { p: LoadTiming; s: LoadTiming }) => number): Summary => summarize(pairs.map(f));
  return {
    processMs: of(({ p }) => p.totalMs),
    sdkOnlyMs: of(({ s }) => s.totalMs),
    processRequireMs: of(({ p }) => p.requireMs),
    sdkOnlyRequireMs: of(({ s }) => s.requireMs),
    ratio: of(({ p, s }) => p.totalMs / s.totalMs),
    processCpuMs: of(({ p }) => p.cpuMs),
    sdkOnlyCpuMs: of(({ s }) => s.cpuMs),
    cpuRatio: of(({ p, s }) => p.cpuMs / s.cpuMs),
  };
}

/** Every built function bundle of `dist/lambdas`: its size, and its require time (round robin, after one warm-up each). */
function bundleSizes(lambdasDir: string, sizeRuns: number): BundleSize[] {
  const names = readdirSync(lambdasDir).filter((n) => existsSync(path.join(lambdasDir, n, 'index.js'))).sort();
  const files = names.map((n) => path.join(lambdasDir, n, 'index.js'));
  const req = new Map<string, number[]>(files.map((f) => [f, []]));
  for (const f of files) loadOnce(f, false);
  for (let i = 0; i < sizeRuns; i++) for (const f of files) req.get(f)?.push(loadOnce(f, false).requireMs);
  return names.map((name, i) => ({ name, bytes: statSync(files[i]).size, requireMs: summarize(req.get(files[i]) ?? []) }));
}

/**
 * Runs the benchmark. `root` is the repository root, `runs` the number of alternating pairs,
 * `sizeRuns` the require runs of each `dist` bundle. The temporary bundles are removed afterwards.
 */
export async function benchColdStart(root: string, runs: number, sizeRuns: number): Promise<ColdStartResult> {
  const lambdasDir = path.join(root, 'dist', 'lambdas');
  if (!existsSync(lambdasDir)) throw new Error('dist/lambdas is missing: run "npm run build" first');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'cirrus-bench-'));
  try {
    const { ours, sdk, breakdown } = await buildComparison(root, tmp);
    const comparison = comparePairs(ours, sdk, runs);
    return {
      bundles: bundleSizes(lambdasDir, sizeRuns),
      processBundleBytes: statSync(ours).size,
      sdkOnlyBundleBytes: statSync(sdk).size,
      breakdown,
      ...comparison,
      runs,
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
