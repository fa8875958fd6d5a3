/**
 * Environment for the benchmarks. Imported first by `bench/run.ts` so that it runs before any
 * module creates its logger: Powertools reads `POWERTOOLS_LOG_LEVEL` when a logger is built, and
 * the per-payload log and metric lines would otherwise drown the table (and cost terminal time).
 * @module
 */
if (!process.env.POWERTOOLS_LOG_LEVEL) process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
// The embedded-metric lines too (one per invocation, printed to stdout): `bench logs` turns them back on.
if (!process.env.POWERTOOLS_METRICS_DISABLED) process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export {};
