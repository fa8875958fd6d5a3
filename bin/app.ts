/**
 * CDK entry point (`cdk.json` runs it through `scripts/run-ts.mjs`).
 *
 * Context keys (all optional; `-c key=value` or `cdk.json`): listed with their defaults in
 * `CONTEXT_KEY_DOCS` (`cdk/config.ts`), from which the README table is generated.
 * @module
 */
import { App } from 'aws-cdk-lib';
import { buildCirrusApp } from '../cdk/app';
import { MissingBundleError } from '../cdk/lambda-bundles';
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
