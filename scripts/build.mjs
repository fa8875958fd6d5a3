// Builds one self-contained CommonJS bundle per Lambda function (dist/lambdas/<name>/index.js),
// plus the CLI, the local demo and the benchmarks (dist/bin, dist/bench), the public library
// (dist/lib) and the CDK constructs (dist/cdk, the package's "./cdk" export), with esbuild.
import { build } from 'esbuild';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
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

// A package entry point (package.json "exports"): a CommonJS bundle of `entry` at
// dist/<out>/index.js with its dependencies left external, plus its declarations from tsc
// (`tsconfig`, which writes them to dist/<out>/types).
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
async function buildPackageEntry(entry, out, tsconfig, plugins = []) {
  await build({
    ...common,
    entryPoints: [join(root, entry)],
    outfile: join(dist, out, 'index.js'),
    target: 'node20',
    packages: 'external',
    plugins,
  });
  rmSync(join(dist, out, 'types'), { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, '-p', join(root, tsconfig)], { stdio: 'inherit' });
}

// The public library.
await buildPackageEntry('shared/index.ts', 'lib', 'tsconfig.lib.json');

// The CDK constructs (package.json "exports" "./cdk"): CommonJS bundle of cdk/index.ts with
// aws-cdk-lib and constructs (peer dependencies) and the runtime dependencies left external, plus
// declarations. The error classes the library exports are taken from it (dist/lib/index.js), not
// copied, so `instanceof ConfigurationError` holds whichever entry point the class came from.
const errorsFile = join(root, 'shared', 'errors.ts');
const errorClasses = [...readFileSync(errorsFile, 'utf8').matchAll(/^export class (\w+)/gm)].map((m) => m[1]);
const libExports = new Set(Object.keys(createRequire(import.meta.url)(join(dist, 'lib', 'index.js'))));
const shared = errorClasses.filter((name) => libExports.has(name));
const errorsFromLibrary = {
  name: 'errors-from-library',
  setup(b) {
    b.onResolve({ filter: /(^|\/)errors$/ }, (args) =>
      args.namespace === 'file' && resolve(args.resolveDir, args.path) + '.ts' === errorsFile
        ? { path: 'errors', namespace: 'errors-from-library' }
        : undefined,
    );
    b.onResolve({ filter: /.*/, namespace: 'errors-from-library' }, (args) =>
      args.path === '../lib/index.js' ? { path: args.path, external: true } : { path: errorsFile },
    );
    b.onLoad({ filter: /.*/, namespace: 'errors-from-library' }, () => ({
      // Explicit re-exports win over the star export: the library's classes, the rest (helpers,
      // classes the library does not export) from the module itself.
      contents: `export * from 'errors.ts';\nexport { ${shared.join(', ')} } from '../lib/index.js';\n`,
      resolveDir: root,
      loader: 'js',
    }));
  },
};
await buildPackageEntry('cdk/index.ts', 'cdk', 'tsconfig.cdk.json', [errorsFromLibrary]);

console.log(`built ${lambdas.length} function bundle(s): ${lambdas.join(', ') || '(none yet)'}; ${tools.length} tool(s)`);
