/**
 * CDK context keys of the Cirrus app and their validation.
 *
 * Every key is optional; defaults match the runtime defaults (README, "Configuration"). Values given with
 * `cdk synth -c key=value` arrive as strings, values in `cdk.json` may be numbers or arrays: both
 * are accepted. Anything malformed is rejected with a {@link ConfigurationError} naming the key.
 * @module
 */
import { DEFAULT_ROOT_PREFIX, normalizeRootPrefix, parseBucketList, parsePositiveInt } from '../shared/config';
import { ConfigurationError } from '../shared/errors';
import { START_EXECUTION_QUOTA } from './process-limits';

/** Default `resourcePrefix`. */
export const DEFAULT_RESOURCE_PREFIX = 'cirrus';
/** Default `tmpExpirationDays`. */
export const DEFAULT_TMP_EXPIRATION_DAYS = 10;
/** Default `processQueueAgeAlarmSeconds`: ten minutes (a healthy queue is drained in seconds). */
export const DEFAULT_PROCESS_QUEUE_AGE_ALARM_SECONDS = 600;
/** Bounds of `processQueueAgeAlarmSeconds`: one minute to the longest SQS retention (14 days). */
export const PROCESS_QUEUE_AGE_ALARM_SECONDS_RANGE = [60, 1209600] as const;
/** Default `workflowFailureAlarmThreshold`. */
export const DEFAULT_WORKFLOW_FAILURE_ALARM_THRESHOLD = 1;

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
  alarms: 'alarms',
  alarmEmail: 'alarmEmail',
  processQueueAgeAlarmSeconds: 'processQueueAgeAlarmSeconds',
  workflowFailureAlarmThreshold: 'workflowFailureAlarmThreshold',
  dashboard: 'dashboard',
} as const;

/** One of {@link CONTEXT_KEYS}. */
export type ContextKey = keyof typeof CONTEXT_KEYS;

/** The context keys whose values make up `CirrusConfig.monitoring`. */
export const MONITORING_CONTEXT_KEYS = [
  'alarms',
  'alarmEmail',
  'processQueueAgeAlarmSeconds',
  'workflowFailureAlarmThreshold',
  'dashboard',
] as const satisfies readonly ContextKey[];


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
  /** Alarms and dashboard. */
  readonly monitoring: MonitoringConfig;
}

/** The validated monitoring settings (context keys `alarms`, `alarmEmail`, …, `dashboard`). */
export interface MonitoringConfig {
  /** Whether the alarms and the alarm topic are created. */
  readonly alarms: boolean;
  /** E-mail address subscribed to the alarm topic; `undefined` = none. */
  readonly alarmEmail?: string;
  /** Age of the oldest process-queue message, in seconds, that raises the alarm. */
  readonly processQueueAgeAlarmSeconds: number;
  /** Failed + timed-out + throttled executions of one workflow in 5 minutes that raise its alarm. */
  readonly workflowFailureAlarmThreshold: number;
  /** Whether the dashboard is created. */
  readonly dashboard: boolean;
}

/**
 * Monitoring settings as construct props: every member optional, with the default of the context
 * key of the same name ({@link CONTEXT_KEY_DOCS}); a {@link MonitoringConfig} is one too.
 */
export interface MonitoringOptions {
  /**
   * Whether the alarms and the alarm topic are created.
   * @default true (context key `alarms`)
   */
  readonly alarms?: boolean;
  /**
   * E-mail address subscribed to the alarm topic (needs `alarms`).
   * @default - no subscription (context key `alarmEmail`)
   */
  readonly alarmEmail?: string;
  /**
   * Age of the oldest process-queue message, in seconds, that raises the alarm (60 to 1209600).
   * @default DEFAULT_PROCESS_QUEUE_AGE_ALARM_SECONDS (context key `processQueueAgeAlarmSeconds`)
   */
  readonly processQueueAgeAlarmSeconds?: number;
  /**
   * Failed + timed-out + throttled executions of one workflow in 5 minutes that raise its alarm.
   * @default DEFAULT_WORKFLOW_FAILURE_ALARM_THRESHOLD (context key `workflowFailureAlarmThreshold`)
   */
  readonly workflowFailureAlarmThreshold?: number;
  /**
   * Whether the dashboard is created.
   * @default true (context key `dashboard`)
   */
  readonly dashboard?: boolean;
}

/**
 * The configuration as construct props: every member optional, with the default of the context
 * key of the same name ({@link CONTEXT_KEY_DOCS}), and validated exactly like the context
 * ({@link resolveCirrusConfig}). A validated {@link CirrusConfig} is one too.
 */
export interface CirrusConfigOptions {
  /**
   * Prefix of every named resource (state machines are `<resourcePrefix>-<workflow>`).
   * @default DEFAULT_RESOURCE_PREFIX (context key `resourcePrefix`)
   */
  readonly resourcePrefix?: string;
  /**
   * Payload root prefix, normalised like `CIRRUS_PAYLOAD_ROOT_PREFIX`.
   * @default DEFAULT_ROOT_PREFIX (context key `payloadRootPrefix`)
   */
  readonly payloadRootPrefix?: string;
  /**
   * Days after which objects under `<root>/tmp/` expire (created bucket only).
   * @default DEFAULT_TMP_EXPIRATION_DAYS (context key `tmpExpirationDays`)
   */
  readonly tmpExpirationDays?: number;
  /**
   * Name of an existing bucket to import instead of creating one. In a construct, prefer
   * passing the bucket itself (`existingBucket` of `CirrusDeployment`).
   * @default - a bucket is created (context key `payloadBucketName`)
   */
  readonly payloadBucketName?: string;
  /**
   * Buckets, besides the payload bucket, from which `{"url": …}` references may be read.
   * @default - none (context key `referenceBuckets`)
   */
  readonly referenceBuckets?: readonly string[];
  /**
   * Maximum concurrent invocations of `process` by its SQS event source (2 to 1000).
   * @default DEFAULT_PROCESS_MAX_CONCURRENCY (context key `processMaxConcurrency`)
   */
  readonly processMaxConcurrency?: number;
  /**
   * Alarms and dashboard.
   * @default - alarms and dashboard with the default thresholds, no e-mail subscription
   */
  readonly monitoring?: MonitoringOptions;
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
  const problem = rootPrefixIamProblem(root);
  if (problem !== undefined) fail(key, value, problem);
  return root;
}

/**
 * Why a normalised root prefix cannot go into IAM resource ARNs (`<bucket>/<root>/*`), or
 * `undefined` when it can: there `*` and `?` are wildcards and `$` starts a policy variable, which
 * would widen every grant. The one check of the context key and of the `CirrusPayloadBucket` construct.
 */
export function rootPrefixIamProblem(root: string): string | undefined {
  return /[*?$]/.test(root) ? 'it must not contain "*", "?" or "$"' : undefined;
}

/**
 * Parses a positive integer given as a number or a string of digits, with the runtime's parser
 * (`parsePositiveInt`: decimal digits only, so `1e3` is refused), and errors naming the context key.
 */
export function validatePositiveInteger(
  value: unknown,
  key: string,
  fallback: number | undefined,
  max?: number,
): number | undefined {
  if (isUnset(value)) return fallback;
  if (typeof value !== 'number' && typeof value !== 'string') fail(key, value, 'expected a positive integer');
  let n: number;
  try {
    // A number is read as its decimal text: 1.5, 1e21 and NaN are not digits and are refused.
    n = parsePositiveInt(String(value), { what: key });
  } catch {
    fail(key, value, 'expected a positive integer');
  }
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
    monitoring: readMonitoringConfig(read),
  };
}

/**
 * The validated configuration from construct props: each missing member takes the default of its
 * context key, and every value is checked by the same code as the context ({@link readCirrusConfig}),
 * so a deployment built from props and one built from the same context are identical.
 * @throws ConfigurationError naming the offending key.
 */
export function resolveCirrusConfig(options: CirrusConfigOptions = {}): CirrusConfig {
  const monitoringKeys: ReadonlySet<string> = new Set(MONITORING_CONTEXT_KEYS);
  const top: Readonly<Record<string, unknown>> = { ...options };
  const monitoring: Readonly<Record<string, unknown>> = { ...options.monitoring };
  return readCirrusConfig((key) => (monitoringKeys.has(key) ? monitoring[key] : top[key]));
}

/** The validated monitoring settings from construct props (see {@link resolveCirrusConfig}). */
export function resolveMonitoringConfig(options: MonitoringOptions = {}): MonitoringConfig {
  const values: Readonly<Record<string, unknown>> = { ...options };
  return readMonitoringConfig((key) => values[key]);
}

// Deliberately simple: one "@", no spaces, a dot in the domain. SNS checks the rest by mailing it.
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Validates an e-mail address for the alarm topic subscription. */
export function validateEmail(value: unknown, key: string = CONTEXT_KEYS.alarmEmail): string | undefined {
  if (isUnset(value)) return undefined;
  const s = stringValue(key, value);
  if (!EMAIL_RE.test(s)) fail(key, value, 'expected an e-mail address such as ops@example.com');
  return s;
}

/** Reads and validates the monitoring context keys. */
export function readMonitoringConfig(read: ContextReader): MonitoringConfig {
  const ageKey = CONTEXT_KEYS.processQueueAgeAlarmSeconds;
  const [minAge, maxAge] = PROCESS_QUEUE_AGE_ALARM_SECONDS_RANGE;
  const age = validatePositiveInteger(read(ageKey), ageKey, DEFAULT_PROCESS_QUEUE_AGE_ALARM_SECONDS, maxAge) as number;
  if (age < minAge) fail(ageKey, read(ageKey), `expected ${minAge} to ${maxAge} seconds`);
  const alarms = readBooleanContext(read, CONTEXT_KEYS.alarms, true);
  const alarmEmail = validateEmail(read(CONTEXT_KEYS.alarmEmail));
  if (alarmEmail !== undefined && !alarms) {
    fail(CONTEXT_KEYS.alarmEmail, alarmEmail, `there is no alarm topic to subscribe to when "${CONTEXT_KEYS.alarms}" is false`);
  }
  return {
    alarms,
    alarmEmail,
    processQueueAgeAlarmSeconds: age,
    workflowFailureAlarmThreshold: validatePositiveInteger(
      read(CONTEXT_KEYS.workflowFailureAlarmThreshold),
      CONTEXT_KEYS.workflowFailureAlarmThreshold,
      DEFAULT_WORKFLOW_FAILURE_ALARM_THRESHOLD,
    ) as number,
    dashboard: readBooleanContext(read, CONTEXT_KEYS.dashboard, true),
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

/**
 * What each context key means and its default: the one list the README table and `bin/app.ts`
 * help are generated from ({@link contextKeysMarkdown}).
 */
export const CONTEXT_KEY_DOCS: Readonly<Record<ContextKey, { readonly default: string; readonly meaning: string }>> = {
  resourcePrefix: { default: '`cirrus`', meaning: 'state machines are `<resourcePrefix>-<workflow>`; letters, digits and `-`' },
  payloadRootPrefix: { default: '`cirrus`', meaning: 'normalised like `CIRRUS_PAYLOAD_ROOT_PREFIX` (`/custom/` → `custom`)' },
  tmpExpirationDays: { default: '`10`', meaning: 'lifecycle expiry of `<root>/tmp/` (positive integer)' },
  payloadBucketName: {
    default: '(create one)',
    meaning: 'use this existing bucket; it gets the grants, and synth warns that you must add the `<root>/tmp/` expiry rule yourself',
  },
  referenceBuckets: {
    default: '(none)',
    meaning: 'comma-separated buckets `{"url"}` references may be read from (read-only grant on exactly those, `CIRRUS_REFERENCE_BUCKETS`)',
  },
  processMaxConcurrency: {
    default: `\`${DEFAULT_PROCESS_MAX_CONCURRENCY}\``,
    meaning: 'maximum concurrent `process` invocations (SQS event source); the default comes from the `StartExecution` quota, see "Bursts and the StartExecution quota"',
  },
  stackName: { default: '`<resourcePrefix>`', meaning: 'the stack name (`cirrus --stack <name>` reads its outputs)' },
  lambdaBundleDir: { default: '`dist/lambdas`', meaning: 'where the function bundles are' },
  nag: { default: '`true`', meaning: 'run the cdk-nag AwsSolutions checks during synth; unacknowledged findings fail it' },
  alarms: { default: '`true`', meaning: 'create the CloudWatch alarms and the alarm topic (`AlarmTopicArn`)' },
  alarmEmail: { default: '(none)', meaning: 'subscribe this e-mail address to the alarm topic (AWS sends a confirmation mail)' },
  processQueueAgeAlarmSeconds: {
    default: `\`${DEFAULT_PROCESS_QUEUE_AGE_ALARM_SECONDS}\``,
    meaning: 'alarm when the oldest message of the process queue is at least this old (60-1209600 seconds)',
  },
  workflowFailureAlarmThreshold: {
    default: '`1`',
    meaning: "alarm when a workflow's executions failed, timed out or were throttled at least this often in 5 minutes",
  },
  dashboard: { default: '`true`', meaning: 'create the CloudWatch dashboard `<resourcePrefix>`' },
};

/** The context keys as a Markdown table (README) or as plain help lines. */
export function contextKeysMarkdown(): string {
  const rows = (Object.keys(CONTEXT_KEY_DOCS) as ContextKey[]).map((k) => `| \`${CONTEXT_KEYS[k]}\` | ${CONTEXT_KEY_DOCS[k].default} | ${CONTEXT_KEY_DOCS[k].meaning} |`);
  return ['| key | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}
