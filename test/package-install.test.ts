/**
 * The package as a consumer installs it: `npm pack` gives a tarball with the built library, its
 * declarations, the `cirrus` bin, and the CDK constructs (`./cdk`) with the function bundles and
 * example workflows they deploy (and nothing the tests or the local tools need), and a fresh
 * project installs it and imports it. Offline and quick: the consumer gets a lockfile pinning the
 * package's runtime dependencies, and `aws-cdk-lib`/`constructs` (its own dependencies, as for a
 * user with a CDK app: they are the package's optional peer dependencies), exactly as this
 * repository's package-lock.json does, so `npm ci --offline` takes them from the npm cache `npm ci`
 * filled.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { BUNDLE_NAMES } from '../cdk/lambda-bundles';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dev?: boolean;
  devOptional?: boolean;
  dependencies?: Record<string, string>;
  bin?: Record<string, string>;
  [k: string]: unknown;
}

let dir: string;
let tarball: string;
let files: string[];
let consumer: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cirrus-pack-'));
  // The build is npm test's (prepare would rebuild dist/ under the other suites' feet).
  const packed = await run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root });
  const info = (JSON.parse(packed.stdout) as { filename: string; files: { path: string; mode: number }[] }[])[0];
  tarball = path.join(dir, info.filename);
  files = info.files.map((f) => f.path).sort();

  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    dependencies: Record<string, string>;
    peerDependencies: Record<string, string>;
    peerDependenciesMeta: Record<string, { optional?: boolean }>;
    devDependencies: Record<string, string>;
    bin: Record<string, string>;
  };
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  consumer = path.join(dir, 'consumer');
  mkdirSync(consumer);
  const spec = `file:../${info.filename}`;
  // The consumer's CDK app depends on the peer dependencies itself, at this repository's versions.
  const peers = Object.keys(pkg.peerDependencies);
  const dependencies: Record<string, string> = { [pkg.name]: spec };
  for (const peer of peers) dependencies[peer] = pkg.devDependencies[peer];
  const packages: Record<string, LockEntry> = {
    '': { name: 'consumer', version: '1.0.0', dependencies },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: spec,
      integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
      dependencies: pkg.dependencies,
      peerDependencies: pkg.peerDependencies,
      peerDependenciesMeta: pkg.peerDependenciesMeta,
      bin: pkg.bin,
    },
  };
  const wanted = (p: string, e: LockEntry): boolean => p !== '' && !p.startsWith('node_modules/.') && !e.dev && !e.devOptional;
  const peerTree = lockClosure(lock.packages, peers.map((peer) => `node_modules/${peer}`));
  for (const [p, e] of Object.entries(lock.packages)) {
    if (!wanted(p, e) && !peerTree.has(p)) continue;
    // Dev-only here, a dependency of the consumer there.
    const { dev: _dev, devOptional: _devOptional, ...entry } = e;
    // An entry without `resolved` makes npm ask the registry for metadata; give the tarball URL
    // npm itself would derive, so the cached tarball (found by its integrity) is used. Bundled
    // dependencies come inside their parent's tarball.
    const name = p.slice(p.lastIndexOf('node_modules/') + 'node_modules/'.length);
    packages[p] =
      entry.resolved || entry.inBundle ? entry : { ...entry, resolved: `https://registry.npmjs.org/${name}/-/${name.split('/').pop()}-${entry.version}.tgz` };
  }
  writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, dependencies }));
  writeFileSync(path.join(consumer, 'package-lock.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', lockfileVersion: 3, requires: true, packages }));
  // A CDK app has its own cdk.json: the constructs must still find their bundles in the package.
  writeFileSync(path.join(consumer, 'cdk.json'), JSON.stringify({ app: 'node app.js' }));
  await run(npm, ['ci', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: consumer });
}, 180_000);

/** The lockfile paths `starts` need, resolved as Node does (nested node_modules first). */
function lockClosure(packages: Record<string, LockEntry>, starts: string[]): Set<string> {
  const seen = new Set<string>();
  const resolveFrom = (from: string, dep: string): string | undefined => {
    for (let base = from; ; ) {
      const candidate = `${base ? `${base}/` : ''}node_modules/${dep}`;
      if (packages[candidate]) return candidate;
      if (!base) return undefined;
      const i = base.lastIndexOf('/node_modules/');
      base = i < 0 ? '' : base.slice(0, i);
    }
  };
  const queue = [...starts];
  for (let p = queue.pop(); p !== undefined; p = queue.pop()) {
    if (seen.has(p) || !packages[p]) continue;
    seen.add(p);
    const e = packages[p];
    const deps = { ...e.dependencies, ...(e.optionalDependencies as Record<string, string> | undefined) };
    for (const dep of Object.keys(deps)) {
      const found = resolveFrom(p, dep);
      if (found) queue.push(found);
    }
  }
  return seen;
}

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds the library, the CDK constructs with the bundles and workflows they deploy, the cirrus bin and the README, and nothing else', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'README.md',
        'package.json',
        'dist/lib/index.js',
        'dist/lib/types/index.d.ts',
        'dist/cdk/index.js',
        'dist/cdk/types/cdk/index.d.ts',
        ...BUNDLE_NAMES.map((name) => `dist/lambdas/${name}/index.js`),
        'workflows/minimal.asl.json',
        'workflows/stamp-items.asl.json',
        'dist/bin/cirrus.js',
      ]),
    );
    const allowed = /^(README\.md|package\.json|dist\/(lib|cdk)\/.*|dist\/lambdas\/[^/]+\/index\.js|workflows\/[^/]+\.asl\.json|dist\/bin\/cirrus\.js)$/;
    expect(files.filter((f) => !allowed.test(f))).toEqual([]);
  });

  it('installs into a fresh project, which can require it by name', async () => {
    const script = "const api = require('cirrus-payload-bucket'); console.log(typeof api.PayloadBucket, typeof api.validateProcessPayload, api.MAX_PAYLOAD_LENGTH)";
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: consumer });
    expect(stdout.trim()).toBe('function function 120000');
  });

  it('links an executable cirrus bin that runs', async () => {
    const bin = path.join(consumer, 'node_modules', '.bin', 'cirrus');
    expect(statSync(bin).mode & 0o111).not.toBe(0);
    const { stdout } = await run(bin, ['--help'], { cwd: consumer });
    expect(stdout).toMatch(/get-input-payload/);
  });

  it('gives the CDK constructs under ./cdk: a stack of the consumer synthesizes with the packaged bundles', async () => {
    writeFileSync(
      path.join(consumer, 'mine.asl.json'),
      JSON.stringify({ StartAt: 'Stamp', States: { Stamp: { Type: 'Task', Resource: '${StampArn}', End: true } } }),
    );
    writeFileSync(
      path.join(consumer, 'app.js'),
      `
      const path = require('node:path');
      const { App, Stack } = require('aws-cdk-lib');
      const { Template } = require('aws-cdk-lib/assertions');
      const cdk = require('cirrus-payload-bucket/cdk');
      const { ConfigurationError } = require('cirrus-payload-bucket');
      const app = new App({ outdir: path.join(__dirname, 'cdk.out') });
      const stack = new Stack(app, 'Mine');
      const cirrus = new cdk.CirrusDeployment(stack, 'Cirrus', { config: { resourcePrefix: 'mine', monitoring: { dashboard: false } } });
      const stamp = cirrus.addTaskFunction('Stamp', 'stamp-items', { memorySize: 256 });
      cirrus.addWorkflow({ name: 'stamp', definitionFile: path.join(__dirname, 'mine.asl.json'), lambdas: { StampArn: stamp } });
      const t = Template.fromStack(stack);
      const assembly = app.synth();
      let sameErrorClass = false;
      try { cdk.resolveCirrusConfig({ resourcePrefix: 'not_valid' }); } catch (e) { sameErrorClass = e instanceof ConfigurationError; }
      console.log(JSON.stringify({
        functions: Object.keys(t.findResources('AWS::Lambda::Function')).length,
        buckets: Object.keys(t.findResources('AWS::S3::Bucket')).length,
        stateMachines: Object.values(t.findResources('AWS::StepFunctions::StateMachine')).map((r) => r.Properties.StateMachineName),
        alarms: Object.keys(t.findResources('AWS::CloudWatch::Alarm')).length,
        bundleDir: path.relative(__dirname, cdk.defaultBundleDir()),
        stacks: assembly.stacks.map((s) => s.stackName),
        sameErrorClass,
      }));
      `,
    );
    const { stdout } = await run(process.execPath, ['app.js'], { cwd: consumer, env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(out).toEqual({
      functions: 5, // process, update-state, pre-batch, post-batch and the task
      buckets: 2, // payload bucket and its access logs
      stateMachines: ['mine-stamp'],
      alarms: expect.any(Number),
      bundleDir: path.join('node_modules', 'cirrus-payload-bucket', 'dist', 'lambdas'),
      stacks: ['Mine'],
      sameErrorClass: true,
    });
    expect(out.alarms).toBeGreaterThan(0);
  }, 60_000);
});
