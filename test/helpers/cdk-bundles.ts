/**
 * The function bundles CDK tests synthesize with: the real `dist/lambdas` when every bundle is
 * built (npm test builds first), else a temp dir with the built ones copied and tiny stand-ins
 * for the missing ones (asset hashes are normalised in the snapshot anyway).
 */
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE_NAMES, defaultBundleDir, missingBundles } from '../../cdk/lambda-bundles';

let bundleDirCache: string | undefined;

/** The bundle directory to pass to the CDK app in tests. */
export function bundleDir(): string {
  if (bundleDirCache) return bundleDirCache;
  const real = defaultBundleDir();
  const missing = missingBundles(real);
  if (missing.length === 0) return (bundleDirCache = real);
  const dir = mkdtempSync(join(tmpdir(), 'cirrus-bundles-'));
  for (const name of BUNDLE_NAMES) {
    mkdirSync(join(dir, name), { recursive: true });
    if (missing.includes(name)) writeFileSync(join(dir, name, 'index.js'), 'exports.handler = async () => ({});\n');
    else cpSync(join(real, name), join(dir, name), { recursive: true });
  }
  return (bundleDirCache = dir);
}
