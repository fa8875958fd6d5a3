/**
 * The Cirrus CDK constructs.
 * @module
 */
export * from './app';
export * from './cirrus-deployment';
export * from './cirrus-stack';
export * from './config';
export * from './lambda-bundles';
export * from './nag';
export * from './payload-bucket-construct';
export * from './workflow';
