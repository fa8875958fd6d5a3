/**
 * CDK context keys of the Cirrus app and their validation.
 *
 * Every key is optional; defaults match the runtime defaults (SPEC section 1). Values given with
 * `cdk synth -c key=value` arrive as strings, values in `cdk.json` may be numbers or arrays: both
 * are accepted. Anything malformed is rejected with a {@link ConfigurationError} naming the key.
 * @module
 */
import { DEFAULT_ROOT_PREFIX, normalizeRootPrefix, parseBucketList } from '../shared/config';
import { ConfigurationError } from '../shared/errors';
import { START_EXECUTION_QUOTA } from './process-limits';

/** The context keys this app reads. */
export const CONTEXT_KEYS = {
  resourcePrefix: 'resourcePrefix',
  payloadRootPrefix: 'payloadRootPrefix',
  tmpExpirationDays: 'tmpExpirationDays',
  payloadBucketName: 'payloadBucketName',
  referenceBuckets: 'referenceBuckets',
  processMaxConcurrency: 'processMaxConcurrency',
  stackName: 'stackName',
  lambdaBundleDir: 'lambdaBundleDir',
  nag: 'nag',
} as const;

/** Default `resourcePrefix`. */
export const DEFAULT_RESOURCE_PREFIX = 'cirrus';
/** Default `tmpExpirationDays`. */
export const DEFAULT_TMP_EXPIRATION_DAYS = 10;

/**
 * Workflows one `process` invocation starts per second when nothing throttles it: a batch of
 * `PROCESS_BATCH_SIZE` payloads takes about 250 ms with AWS calls of about 20 ms each
 * (measured, BENCHMARKS.md "Process latency").
 */
export const STARTS_PER_SECOND_PER_INVOCATION = 40;

/**
 * Headroom over the concurrency that just matches the quota's refill rate: invocations spend
 * part of their time on records, claims and uploads, and per-invocation speed varies.
 */
export const PROCESS_CONCURRENCY_HEADROOM = 1.5;

/**
 * Default `processMaxConcurrency`, from the `StartExecution` quota: enough invocations to start
 * workflows at the quota's refill rate with headroom, ceil(1.5 × 300 / 40) = 12, and no more,
 * since every invocation beyond that only waits for tokens (paying Lambda time) and adds throttles.
 */
export const DEFAULT_PROCESS_MAX_CONCURRENCY = Math.ceil(
  (PROCESS_CONCURRENCY_HEADROOM * START_EXECUTION_QUOTA.refillPerSecond) / STARTS_PER_SECOND_PER_INVOCATION,
);

/**
 * Longest accepted resource prefix. State machine names are limited to 80 characters and hold
 * `<resourcePrefix>-<workflow>`, so the prefix keeps most of that room for workflow names.
 */
export const MAX_RESOURCE_PREFIX_LENGTH = 32;

/** The validated configuration of a Cirrus deployment. */
export interface CirrusConfig {
  /**
   * Prefix of every named resource: state machines are `<resourcePrefix>-<workflow>`, and the
   * default stack name is the prefix itself.
   */
  readonly resourcePrefix: string;
  /** Normalised payload root prefix (no leading/trailing `/`). */
  readonly payloadRootPrefix: string;
  /** Days after which objects under `<root>/tmp/` expire (created bucket only). */
  readonly tmpExpirationDays: number;
  /** Existing bucket to use instead of creating one; `undefined` creates the bucket. */
  readonly payloadBucketName?: string;
  /** Buckets, besides the payload bucket, from which `{"url": …}` references may be read. */
  readonly referenceBuckets: readonly string[];
  /**
   * Maximum concurrent invocations of `process` by its SQS event source (default
   * {@link DEFAULT_PROCESS_MAX_CONCURRENCY}, chosen from the `StartExecution` quota).
   */
  readonly processMaxConcurrency: number;
}

/** Reads one raw context value (e.g. `(k) => app.node.tryGetContext(k)`). */
export type ContextReader = (key: string) => unknown;

const RESOURCE_PREFIX_RE = /^[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
// Bucket names: the current S3 rules, plus capitals and underscores that legacy us-east-1 names
// may hold (an imported bucket can be old).
const BUCKET_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$/;

function fail(key: string, value: unknown, why: string): never {
  throw new ConfigurationError(`invalid CDK context "${key}" (${JSON.stringify(value)}): ${why}`);
}

/** Treats `undefined`, `null` and blank strings as "not given". */
function isUnset(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

function stringValue(key: string, value: unknown): string {
  if (typeof value !== 'string') fail(key, value, 'expected a string');
  return value.trim();
}

/** Validates a resource prefix (letters, digits and inner `-`, starting with a letter). */
export function validateResourcePrefix(value: unknown, key: string = CONTEXT_KEYS.resourcePrefix): string {
  if (isUnset(value)) return DEFAULT_RESOURCE_PREFIX;
  const s = stringValue(key, value);
  if (s.length > MAX_RESOURCE_PREFIX_LENGTH) {
    fail(key, value, `at most ${MAX_RESOURCE_PREFIX_LENGTH} characters`);
  }
  if (!RESOURCE_PREFIX_RE.test(s)) {
    fail(key, value, 'use letters, digits and "-" only, starting with a letter and not ending with "-"');
  }
  return s;
}

/** Validates and normalises a payload root prefix exactly as the runtime does. */
export function validatePayloadRootPrefix(value: unknown, key: string = CONTEXT_KEYS.payloadRootPrefix): string {
  if (value === undefined || value === null) return DEFAULT_ROOT_PREFIX;
  if (typeof value !== 'string') fail(key, value, 'expected a string');
  let root: string;
  try {
    root = normalizeRootPrefix(value);
  } catch (e) {
    fail(key, value, e instanceof Error ? e.message : String(e));
  }
  // The prefix ends up in IAM resource ARNs (`<bucket>/<root>/*`), where these are wildcards or
  // policy variables and would widen the grant.
  if (/[*?$]/.test(root)) fail(key, value, 'it must not contain "*", "?" or "$"');
  return root;
}

/** Parses a positive integer given as a number or a string of digits. */
export function validatePositiveInteger(
  value: unknown,
  key: string,
  fallback: number | undefined,
  max?: number,
): number | undefined {
  if (isUnset(value)) return fallback;
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && /^\s*\d+\s*$/.test(value)) n = Number(value);
  else fail(key, value, 'expected a positive integer');
  if (!Number.isSafeInteger(n) || n < 1) fail(key, value, 'expected a positive integer');
  if (max !== undefined && n > max) fail(key, value, `expected at most ${max}`);
  return n;
}

/** Validates a bucket name. */
export function validateBucketName(value: unknown, key: string): string {
  const s = stringValue(key, value);
  if (!BUCKET_NAME_RE.test(s) || s.includes('..')) fail(key, value, `"${s}" is not a valid S3 bucket name`);
  return s;
}

/** Parses a bucket list: a comma-separated string or an array of names; duplicates removed. */
export function validateBucketList(value: unknown, key: string = CONTEXT_KEYS.referenceBuckets): string[] {
  if (isUnset(value)) return [];
  let names: string[];
  if (typeof value === 'string') names = parseBucketList(value);
  else if (Array.isArray(value)) names = value.map((v) => stringValue(key, v)).filter((v) => v.length > 0);
  else fail(key, value, 'expected a comma-separated string or a list of bucket names');
  return [...new Set(names.map((n) => validateBucketName(n, key)))];
}

/**
 * Reads and validates the Cirrus configuration from CDK context.
 * @throws ConfigurationError naming the offending key.
 */
export function readCirrusConfig(read: ContextReader): CirrusConfig {
  const payloadBucketRaw = read(CONTEXT_KEYS.payloadBucketName);
  const payloadBucketName = isUnset(payloadBucketRaw)
    ? undefined
    : validateBucketName(payloadBucketRaw, CONTEXT_KEYS.payloadBucketName);
  const referenceBuckets = validateBucketList(read(CONTEXT_KEYS.referenceBuckets)).filter(
    (b) => b !== payloadBucketName,
  );
  return {
    resourcePrefix: validateResourcePrefix(read(CONTEXT_KEYS.resourcePrefix)),
    payloadRootPrefix: validatePayloadRootPrefix(read(CONTEXT_KEYS.payloadRootPrefix)),
    tmpExpirationDays: validatePositiveInteger(
      read(CONTEXT_KEYS.tmpExpirationDays),
      CONTEXT_KEYS.tmpExpirationDays,
      DEFAULT_TMP_EXPIRATION_DAYS,
    ) as number,
    payloadBucketName,
    referenceBuckets,
    // Lambda's SQS event source accepts 2..1000.
    processMaxConcurrency: validateMaxConcurrency(read(CONTEXT_KEYS.processMaxConcurrency)),
  };
}

function validateMaxConcurrency(value: unknown): number {
  const key = CONTEXT_KEYS.processMaxConcurrency;
  const n = validatePositiveInteger(value, key, DEFAULT_PROCESS_MAX_CONCURRENCY, 1000) as number;
  if (n < 2) fail(key, value, 'the SQS event source accepts 2 to 1000');
  return n;
}

/** Reads a boolean context flag (`true`/`false`, also as strings). */
export function readBooleanContext(read: ContextReader, key: string, fallback: boolean): boolean {
  const v = read(key);
  if (isUnset(v)) return fallback;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  fail(key, v, 'expected true or false');
}
