/**
 * CDK entry point (`cdk.json` runs it through `scripts/run-ts.mjs`).
 *
 * Context keys (all optional; `-c key=value` or `cdk.json`):
 * - `resourcePrefix` (default `cirrus`): state machines are `<resourcePrefix>-<workflow>`; the stack
 *   is named `<resourcePrefix>` unless `stackName` is given.
 * - `payloadRootPrefix` (default `cirrus`): normalised like `CIRRUS_PAYLOAD_ROOT_PREFIX`.
 * - `tmpExpirationDays` (default 10): expiry of `<root>/tmp/` in a created bucket.
 * - `payloadBucketName`: use this existing bucket instead of creating one.
 * - `referenceBuckets`: comma-separated buckets `{"url": …}` references may also be read from.
 * - `processMaxConcurrency`: limit of concurrent `process` invocations (2-1000).
 * - `stackName` (default `<resourcePrefix>`): name of the stack.
 * - `lambdaBundleDir` (default `dist/lambdas`): where the function bundles are.
 * - `nag` (default true): run the cdk-nag AwsSolutions checks during synth (unacknowledged
 *   findings fail the synth).
 * @module
 */
import { App } from 'aws-cdk-lib';
import { buildCirrusApp } from '../lib/app';
import { MissingBundleError } from '../lib/lambda-bundles';
import { ConfigurationError } from '../shared/errors';

try {
  const app = new App();
  buildCirrusApp(app);
  app.synth();
} catch (e) {
  if (e instanceof ConfigurationError || e instanceof MissingBundleError) {
    console.error(`error: ${e.message}`);
    process.exit(1);
  }
  throw e;
}
