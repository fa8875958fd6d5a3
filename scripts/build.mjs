// Builds one self-contained CommonJS bundle per Lambda function (dist/lambdas/<name>/index.js),
// plus the CLI, the local demo and the benchmarks (dist/bin, dist/bench), with esbuild.
import { build } from 'esbuild';
import { chmodSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
// `--if-missing` (used by cdk.json): build the function bundles only when one is missing, so
// `npx cdk synth` works straight after `npm ci`.
const ifMissing = process.argv.includes('--if-missing');

const lambdaDir = join(root, 'lambdas');
const lambdas = existsSync(lambdaDir)
  ? readdirSync(lambdaDir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(lambdaDir, d.name, 'index.ts')))
      .map((d) => d.name)
  : [];

if (ifMissing && lambdas.every((name) => existsSync(join(dist, 'lambdas', name, 'index.js')))) process.exit(0);
rmSync(join(dist, 'lambdas'), { recursive: true, force: true });

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  logLevel: 'warning',
  legalComments: 'none',
  // Error class names are part of the contract: Step Functions Retry/Catch rules, last_error and
  // dead-letter triage match on err.name, so minification must not rename classes.
  keepNames: true,
};

// Lambda bundles: everything inlined (the AWS SDK too, so the deployed code is exactly what we
// tested), minified, targeting the nodejs22.x runtime.
await Promise.all(
  lambdas.map((name) =>
    build({
      ...common,
      entryPoints: [join(lambdaDir, name, 'index.ts')],
      outfile: join(dist, 'lambdas', name, 'index.js'),
      target: 'node22',
      minify: true,
      sourcemap: false,
      metafile: false,
    }),
  ),
);

if (ifMissing) {
  console.error(`built ${lambdas.length} function bundle(s) for the CDK app`);
  process.exit(0);
}

// Tools that run on the developer's machine: dependencies stay in node_modules.
const tools = [
  ['bin/cirrus.ts', 'bin/cirrus.js'],
  ['bin/demo.ts', 'bin/demo.js'],
  ['bin/local.ts', 'bin/local.js'],
  ['bench/run.ts', 'bench/run.js'],
].filter(([src]) => existsSync(join(root, src)));
await Promise.all(
  tools.map(([src, out]) =>
    build({
      ...common,
      entryPoints: [join(root, src)],
      outfile: join(dist, out),
      target: 'node20',
      packages: 'external',
      banner: src === 'bin/cirrus.ts' ? { js: '#!/usr/bin/env node' } : undefined,
    }),
  ),
);
// esbuild writes files 0644: the `cirrus` bin must be executable for `npx cirrus` and installs.
if (existsSync(join(dist, 'bin', 'cirrus.js'))) chmodSync(join(dist, 'bin', 'cirrus.js'), 0o755);

// The public library (package.json "exports"): CommonJS bundle plus declarations from tsc.
await build({
  ...common,
  entryPoints: [join(root, 'shared', 'index.ts')],
  outfile: join(dist, 'lib', 'index.js'),
  target: 'node20',
  packages: 'external',
});
rmSync(join(dist, 'lib', 'types'), { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.lib.json')], { stdio: 'inherit' });

console.log(`built ${lambdas.length} function bundle(s): ${lambdas.join(', ') || '(none yet)'}; ${tools.length} tool(s)`);
