// Runs a TypeScript entry point (the CDK app) without ts-node: bundles it with esbuild
// (platform node, CommonJS, dependencies left in node_modules) into a temporary file under
// node_modules/.cache, runs it with the remaining arguments, and removes the file.
//
//   node scripts/run-ts.mjs bin/app.ts [args…]
//
// The exit code is the app's (1 if bundling fails or the app throws).
import { build } from 'esbuild';
import { mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join, resolve } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const [entryArg, ...rest] = process.argv.slice(2);
if (!entryArg) {
  console.error('usage: node scripts/run-ts.mjs <entry.ts> [args…]');
  process.exit(2);
}
const entry = resolve(entryArg);

// Inside the project's node_modules so that the external packages resolve from the bundle.
const cacheDir = join(root, 'node_modules', '.cache', 'run-ts');
mkdirSync(cacheDir, { recursive: true });
const outfile = join(cacheDir, `${basename(entry).replace(/\.[cm]?ts$/, '')}-${process.pid}.cjs`);
// Removed however the process ends, including an explicit process.exit() in the app.
process.on('exit', () => rmSync(outfile, { force: true }));

try {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    sourcemap: 'inline',
    logLevel: 'error',
  });
} catch {
  // esbuild has already printed the errors.
  process.exit(1);
}

process.setSourceMapsEnabled(true);
process.argv = [process.argv[0], entry, ...rest];
try {
  createRequire(import.meta.url)(outfile);
} catch (e) {
  console.error(e);
  // Exit at once, before anything scheduled for 'beforeExit' (such as the CDK app's automatic
  // synth) runs again.
  process.exit(1);
}
