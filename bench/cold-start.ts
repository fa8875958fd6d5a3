/**
 * Measure 3: bundle sizes and cold-start cost. A fresh `node` process requires a bundle and
 * creates its SDK clients; the process function's bundle is compared with a bundle holding only
 * the SDK clients it uses (S3, DynamoDB + lib-dynamodb, SFN, SNS), built here with the same
 * esbuild options as `scripts/build.mjs`. The two are run alternately so machine noise hits both.
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
  /** Median time for a fresh node process to `require` it, ms (no client created). */
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
  /** The process bundle built for the comparison (the same code plus exported client getters). */
  processBundleBytes: number;
  sdkOnlyBundleBytes: number;
  breakdown: BundleBreakdown;
  /** require + create clients, process bundle, ms. */
  processMs: Summary;
  /** require + create clients, SDK-only bundle, ms. */
  sdkOnlyMs: Summary;
  /** require only (module evaluation), ms. */
  processRequireMs: Summary;
  sdkOnlyRequireMs: Summary;
  /** Per-pair ratio process / SDK-only of require + create. */
  ratio: Summary;
  /** CPU time of require + create, ms: less sensitive to other load on the machine than wall time. */
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

const PROCESS_ENTRY = `
export { handler } from './lambdas/process/index';
/** Creates every client the process function uses, as its first invocation does (its runtime's clients). */
import { clientSettingsFromEnv, createClients as createClientSet } from './shared/clients';
export const clients = {};
export function createClients() {
  const set = createClientSet(clientSettingsFromEnv(process.env));
  Object.assign(clients, { s3: set.s3, ddb: set.dynamoDoc, sfn: set.sfn, sns: set.sns });
}
`;

const SDK_ONLY_ENTRY = `
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
export const clients = {};
export function createClients() {
  const region = process.env.AWS_REGION || 'us-west-2';
  clients.s3 = new S3Client({ region, forcePathStyle: false });
  clients.ddb = DynamoDBDocumentClient.from(new DynamoDBClient({ region }), { marshallOptions: { removeUndefinedValues: true } });
  clients.sfn = new SFNClient({ region });
  clients.sns = new SNSClient({ region });
}
`;

/** Runs in the fresh node process: times require and client creation, prints JSON. */
const CHILD_SCRIPT = `
const c0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const m = require(process.argv[1]);
const t1 = process.hrtime.bigint();
if (process.argv[2] === 'create') m.createClients();
const t2 = process.hrtime.bigint();
const cpu = process.cpuUsage(c0);
process.stdout.write(JSON.stringify({ requireMs: Number(t1 - t0) / 1e6, totalMs: Number(t2 - t0) / 1e6, cpuMs: (cpu.user + cpu.system) / 1e3 }));
`;

function childEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    AWS_REGION: 'us-west-2',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** Spawns a fresh node process that loads `bundle`; returns its own timings. */
interface LoadTiming {
  /** Wall time of the require, ms. */
  requireMs: number;
  /** Wall time of require + client creation, ms. */
  totalMs: number;
  /** CPU time (user + system) of require + client creation, ms. */
  cpuMs: number;
}

function loadOnce(bundle: string, create: boolean): LoadTiming {
  const r = spawnSync(process.execPath, ['-e', CHILD_SCRIPT, bundle, create ? 'create' : 'require'], { env: childEnv(), encoding: 'utf8' });
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

/**
 * Runs the benchmark. `root` is the repository root, `runs` the number of alternating pairs.
 * The temporary bundles are removed afterwards.
 */
export async function benchColdStart(root: string, runs: number, sizeRuns: number): Promise<ColdStartResult> {
  const lambdasDir = path.join(root, 'dist', 'lambdas');
  if (!existsSync(lambdasDir)) throw new Error('dist/lambdas is missing: run "npm run build" first');
  const names = readdirSync(lambdasDir).filter((n) => existsSync(path.join(lambdasDir, n, 'index.js'))).sort();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'cirrus-bench-'));
  try {
    const ours = path.join(tmp, 'process.js');
    const sdk = path.join(tmp, 'sdk-only.js');
    const built = await build({ ...LAMBDA_BUILD, stdin: { contents: PROCESS_ENTRY, resolveDir: root, loader: 'ts', sourcefile: 'bench-process-entry.ts' }, outfile: ours, metafile: true });
    await build({ ...LAMBDA_BUILD, stdin: { contents: SDK_ONLY_ENTRY, resolveDir: root, loader: 'js', sourcefile: 'bench-sdk-only-entry.js' }, outfile: sdk });
    const breakdown = breakdownOf(built.metafile as Metafile);

    // One warm-up each (file system cache), then alternating pairs, the order flipped every pair.
    loadOnce(ours, true);
    loadOnce(sdk, true);
    const p: number[] = [];
    const s: number[] = [];
    const pr: number[] = [];
    const sr: number[] = [];
    const ratio: number[] = [];
    const pc: number[] = [];
    const sc: number[] = [];
    const cpuRatio: number[] = [];
    for (let i = 0; i < runs; i++) {
      const order = i % 2 === 0 ? [ours, sdk] : [sdk, ours];
      const t = new Map(order.map((b) => [b, loadOnce(b, true)] as const));
      const a = t.get(ours) as LoadTiming;
      const c = t.get(sdk) as LoadTiming;
      p.push(a.totalMs);
      s.push(c.totalMs);
      pr.push(a.requireMs);
      sr.push(c.requireMs);
      ratio.push(a.totalMs / c.totalMs);
      pc.push(a.cpuMs);
      sc.push(c.cpuMs);
      cpuRatio.push(a.cpuMs / c.cpuMs);
    }

    // Every built function bundle: size, and require time (round robin).
    const files = names.map((n) => path.join(lambdasDir, n, 'index.js'));
    const req = new Map<string, number[]>(files.map((f) => [f, []]));
    for (const f of files) loadOnce(f, false);
    for (let i = 0; i < sizeRuns; i++) for (const f of files) req.get(f)?.push(loadOnce(f, false).requireMs);
    const bundles = names.map((name, i) => ({ name, bytes: statSync(files[i]).size, requireMs: summarize(req.get(files[i]) ?? []) }));

    return {
      bundles,
      processBundleBytes: statSync(ours).size,
      sdkOnlyBundleBytes: statSync(sdk).size,
      breakdown,
      processMs: summarize(p),
      sdkOnlyMs: summarize(s),
      processRequireMs: summarize(pr),
      sdkOnlyRequireMs: summarize(sr),
      ratio: summarize(ratio),
      processCpuMs: summarize(pc),
      sdkOnlyCpuMs: summarize(sc),
      cpuRatio: summarize(cpuRatio),
      runs,
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
