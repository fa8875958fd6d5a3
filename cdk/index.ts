/**
 * The Cirrus CDK constructs: the `cirrus-payload-bucket/cdk` export of the package
 * (`aws-cdk-lib` and `constructs` are peer dependencies).
 *
 * ```ts
 * import { CirrusDeployment } from 'cirrus-payload-bucket/cdk';
 * ```
 *
 * `buildCirrusApp` (`cdk/app.ts`, this repository's CDK app with the cdk-nag checks) is not part
 * of it: it needs `cdk-nag`, a development dependency.
 * @module
 */
export * from './cirrus-deployment';
export * from './cirrus-stack';
export * from './config';
export * from './lambda-bundles';
export * from './monitoring';
export * from './nag';
export * from './payload-bucket-construct';
export * from './workflow';
export * from './workflow-metric-log';
export { CirrusError, ConfigurationError } from '../shared/errors';
