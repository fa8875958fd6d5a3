/**
 * Builds the Cirrus CDK app from context: used by `bin/app.ts` and by the tests, so both
 * synthesize exactly the same thing.
 * @module
 */
import { resolve } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CONTEXT_KEYS, readBooleanContext, readCirrusConfig, validateResourcePrefix, type CirrusConfig } from './config';
import { ConfigurationError } from '../shared/errors';
import { CirrusStack } from './cirrus-stack';

/** Options of {@link buildCirrusApp}. */
export interface BuildCirrusAppOptions {
  /**
   * Directory holding `<name>/index.js` for every function.
   * @default the `lambdaBundleDir` context (relative to the current directory), else
   * `<project root>/dist/lambdas`
   */
  readonly lambdaBundleDir?: string;
  /**
   * Directory of the workflow definitions.
   * @default `<project root>/workflows`
   */
  readonly workflowsDir?: string;
  /**
   * Called with the imported-bucket warning, besides the synth annotation.
   * @default console.warn
   */
  readonly warn?: (message: string) => void;
}

/** What {@link buildCirrusApp} built. */
export interface CirrusApp {
  /** The app. */
  readonly app: App;
  /** The stack (named after the `stackName` context, default `<resourcePrefix>`). */
  readonly stack: CirrusStack;
  /** The validated configuration. */
  readonly config: CirrusConfig;
  /** The cdk-nag AwsSolutions pack registered on the app, unless context `nag` is `false`. */
  readonly nag?: AwsSolutionsChecks;
}

/**
 * Adds the Cirrus stack to `app`, configured from its context (see `CONTEXT_KEYS`), and registers
 * the cdk-nag AwsSolutions checks as a validation plugin (synth fails on unacknowledged findings).
 * @throws ConfigurationError for malformed context, MissingBundleError for missing bundles.
 */
export function buildCirrusApp(app: App, options: BuildCirrusAppOptions = {}): CirrusApp {
  const read = (key: string): unknown => app.node.tryGetContext(key);
  const config = readCirrusConfig(read);
  const rawStackName = read(CONTEXT_KEYS.stackName);
  const stackName =
    rawStackName === undefined || rawStackName === ''
      ? config.resourcePrefix
      : validateResourcePrefix(rawStackName, CONTEXT_KEYS.stackName);
  const bundleDirContext = read(CONTEXT_KEYS.lambdaBundleDir);
  let lambdaBundleDir = options.lambdaBundleDir;
  if (lambdaBundleDir === undefined && bundleDirContext !== undefined && bundleDirContext !== '') {
    if (typeof bundleDirContext !== 'string') {
      throw new ConfigurationError(`invalid CDK context "${CONTEXT_KEYS.lambdaBundleDir}": expected a path`);
    }
    lambdaBundleDir = resolve(bundleDirContext);
  }
  const stack = new CirrusStack(app, stackName, {
    stackName,
    config,
    lambdaBundleDir,
    workflowsDir: options.workflowsDir,
    warn: options.warn,
  });
  let nag: AwsSolutionsChecks | undefined;
  if (readBooleanContext(read, CONTEXT_KEYS.nag, true)) {
    nag = new AwsSolutionsChecks(app);
    Validations.of(app).addPlugins(nag);
  }
  return { app, stack, config, nag };
}
