/**
 * Where the function bundles built by `npm run build` live, and a check that they are there.
 * @module
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { NamedError } from '../shared/errors';

/** The deployed functions; each is `<bundleDir>/<name>/index.js` exporting `handler`. */
export const LAMBDA_NAMES = ['process', 'update-state', 'pre-batch', 'post-batch'] as const;

/** Example workflow task functions deployed with the example workflows. */
export const EXAMPLE_LAMBDA_NAMES = ['stamp-items'] as const;

/** Every bundle the CDK app deploys. */
export const BUNDLE_NAMES: readonly string[] = [...LAMBDA_NAMES, ...EXAMPLE_LAMBDA_NAMES];

/** One of {@link LAMBDA_NAMES}. */
export type LambdaName = (typeof LAMBDA_NAMES)[number];

/** The file every bundle directory must hold. */
export const BUNDLE_ENTRY = 'index.js';

/**
 * The project root: the nearest directory at or above `start` holding `cdk.json`, else the
 * current directory. Works both from the TypeScript sources and from an esbuild bundle of the app.
 */
export function findProjectRoot(start: string = __dirname): string {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, 'cdk.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

/** The npm package name; its root holds `dist/lambdas` and `workflows`. */
export const PACKAGE_NAME = 'cirrus-payload-bucket';

function isPackageRoot(dir: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === PACKAGE_NAME;
  } catch {
    return false;
  }
}

/**
 * The root of this package: the nearest directory at or above `start` whose `package.json` is
 * this package's. The repository from the sources or the CDK app's bundle, and
 * `node_modules/cirrus-payload-bucket` from the `./cdk` export of an installed package (whose
 * consumer's own `cdk.json` must not be taken for it). Else {@link findProjectRoot}.
 */
export function findPackageRoot(start: string = __dirname): string {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (isPackageRoot(dir)) return dir;
    if (dirname(dir) === dir) return findProjectRoot(start);
  }
}

/** `<package root>/dist/lambdas`: the bundles built by `npm run build`, shipped in the package. */
export function defaultBundleDir(): string {
  return join(findPackageRoot(), 'dist', 'lambdas');
}

/** `<package root>/workflows`: the example workflow definitions, shipped in the package. */
export function defaultWorkflowsDir(): string {
  return join(findPackageRoot(), 'workflows');
}

/** The bundles missing from `bundleDir` (those without `<name>/index.js`). */
export function missingBundles(bundleDir: string, names: readonly string[] = BUNDLE_NAMES): string[] {
  return names.filter((name) => {
    const entry = join(bundleDir, name, BUNDLE_ENTRY);
    return !(existsSync(entry) && statSync(entry).isFile());
  });
}

/** Raised when a function bundle has not been built. */
export class MissingBundleError extends NamedError {
  /**
   * @param bundleDir - the directory that was searched.
   * @param missing - the function names without `<name>/index.js`.
   */
  constructor(
    readonly bundleDir: string,
    readonly missing: readonly string[],
  ) {
    super(
      `missing Lambda bundle(s) ${missing.map((m) => `${m}/${BUNDLE_ENTRY}`).join(', ')} in ${bundleDir}: ` +
        'run npm run build first',
    );
  }
}

/**
 * Throws {@link MissingBundleError} ("run npm run build first") unless every bundle exists.
 * @returns `bundleDir`, for chaining.
 */
export function assertBundles(bundleDir: string, names: readonly string[] = LAMBDA_NAMES): string {
  const missing = missingBundles(bundleDir, names);
  if (missing.length > 0) throw new MissingBundleError(bundleDir, missing);
  return bundleDir;
}
