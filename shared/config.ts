/**
 * Configuration read from the environment (README, "Configuration") and its validation.
 * @module
 */
import { ConfigurationError, UndefinedPayloadBucketError } from './errors';

/** Default root prefix of every payload object. */
export const DEFAULT_ROOT_PREFIX = 'cirrus';

/** One environment variable: the key {@link ENV} knows it by, its name, and what it means. */
interface EnvVariable {
  readonly key: string;
  readonly name: string;
  readonly meaning: string;
}

/**
 * The environment variables of the functions and the CLI: the one list {@link ENV} takes the names
 * from. The README's "Configuration" table has a row `` | `name` | meaning | `` for each
 * (test/unit-config.test.ts checks it), and the variables the SDK and the logger read besides.
 */
export const ENV_VARIABLES = [
  { key: 'payloadBucket', name: 'CIRRUS_PAYLOAD_BUCKET', meaning: 'payload bucket name. Missing or empty → `UndefinedPayloadBucketError`.' },
  {
    key: 'rootPrefix',
    name: 'CIRRUS_PAYLOAD_ROOT_PREFIX',
    meaning: 'root prefix, default `cirrus`. Leading/trailing `/` are stripped; empty means the default; `//`, `.`/`..` segments or control characters are a configuration error.',
  },
  { key: 'stateDb', name: 'CIRRUS_STATE_DB', meaning: 'StateDB (DynamoDB) table name.' },
  { key: 'baseWorkflowArn', name: 'CIRRUS_BASE_WORKFLOW_ARN', meaning: '`arn:aws:states:<region>:<account>:stateMachine:<resourcePrefix>-`; workflow `w` runs on `<base>w`.' },
  { key: 'workflowEventTopicArn', name: 'CIRRUS_WORKFLOW_EVENT_TOPIC_ARN', meaning: 'optional SNS topic for workflow events; unset → none published.' },
  { key: 'publishTopicArn', name: 'CIRRUS_PUBLISH_TOPIC_ARN', meaning: 'optional SNS topic where update-state publishes output items.' },
  { key: 'processQueueUrl', name: 'CIRRUS_PROCESS_QUEUE_URL', meaning: 'optional SQS queue where update-state sends chained payloads.' },
  {
    key: 'referenceBuckets',
    name: 'CIRRUS_REFERENCE_BUCKETS',
    meaning: 'optional, comma-separated buckets besides the payload bucket from which `{"url": …}` references may be read; any other bucket makes the record invalid.',
  },
  { key: 'processConcurrency', name: 'CIRRUS_PROCESS_CONCURRENCY', meaning: 'optional, payloads of one batch handled at once by `process` (default 10).' },
  {
    key: 'workflowLogGroup',
    name: 'CIRRUS_WORKFLOW_LOG_GROUP',
    meaning:
      "optional CloudWatch Logs group where `process` and `update-state` also write each workflow event as Cirrus v2's workflow metric event (see [Switching from Cirrus](#switching-from-cirrus)); the CDK stack sets it. Unset: none written.",
  },
] as const satisfies readonly EnvVariable[];

/** The names of {@link ENV_VARIABLES} by key. */
type EnvNames = { readonly [V in (typeof ENV_VARIABLES)[number] as V['key']]: V['name'] };

/** The environment variable names this project reads, by key: `ENV.payloadBucket` is `'CIRRUS_PAYLOAD_BUCKET'`. */
export const ENV = Object.fromEntries(ENV_VARIABLES.map((v) => [v.key, v.name])) as EnvNames;

/** The environment shape functions read (the handlers and the CLI pass the process environment). */
export type Env = Record<string, string | undefined>;

/**
 * Normalises a root prefix: strips leading and trailing `/`; empty (or undefined) means
 * {@link DEFAULT_ROOT_PREFIX}. Rejects `//`, `.` or `..` segments and control characters.
 *
 * @throws ConfigurationError when the prefix is malformed.
 */
export function normalizeRootPrefix(prefix: string | undefined | null): string {
  if (prefix === undefined || prefix === null) return DEFAULT_ROOT_PREFIX;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(prefix)) {
    throw new ConfigurationError(
      `invalid payload root prefix ${JSON.stringify(prefix)}: it contains a control character`,
    );
  }
  const stripped = prefix.replace(/^\/+/, '').replace(/\/+$/, '');
  if (stripped === '') return DEFAULT_ROOT_PREFIX;
  if (stripped.includes('//')) {
    throw new ConfigurationError(
      `invalid payload root prefix ${JSON.stringify(prefix)}: it contains an empty path segment ("//")`,
    );
  }
  for (const segment of stripped.split('/')) {
    if (segment === '.' || segment === '..') {
      throw new ConfigurationError(
        `invalid payload root prefix ${JSON.stringify(prefix)}: it contains a "${segment}" path segment`,
      );
    }
  }
  return stripped;
}

/**
 * Reads `CIRRUS_PAYLOAD_BUCKET`.
 * @throws UndefinedPayloadBucketError when it is missing or empty.
 */
export function payloadBucketFromEnv(env: Env): string {
  const name = env[ENV.payloadBucket]?.trim();
  if (!name) {
    throw new UndefinedPayloadBucketError(`${ENV.payloadBucket} env var is not defined`);
  }
  return name;
}

/** Parses a comma-separated bucket list (`CIRRUS_REFERENCE_BUCKETS`); blanks are ignored. */
export function parseBucketList(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** The value of a required variable `name` (trimmed), or a {@link ConfigurationError} naming it. */
export function requireValue(name: string, value: string | undefined): string {
  const v = value?.trim();
  if (!v) throw new ConfigurationError(`${name} env var is not defined`);
  return v;
}

/** An optional variable's value: `undefined` when unset or blank (trimmed otherwise). */
export function optionalEnv(name: string, env: Env): string | undefined {
  return env[name]?.trim() || undefined;
}

/** Region used when nothing names one (Cirrus's default): execution names, console URLs, the CLI. */
export const DEFAULT_REGION = 'us-west-2';

/** The AWS region: `AWS_REGION`, then `AWS_DEFAULT_REGION`, else {@link DEFAULT_REGION}. */
export function regionFromEnv(env: Env): string {
  return env.AWS_REGION || env.AWS_DEFAULT_REGION || DEFAULT_REGION;
}

/** Options of {@link parsePositiveInt}. */
export interface IntOptions {
  /** What the text is, for the message: a flag (`--limit`) or a variable name. */
  what: string;
  /** The smallest value accepted; 1 unless given (0 accepts zero). */
  min?: number;
  /** The largest value accepted; `Number.MAX_SAFE_INTEGER` unless given. */
  max?: number;
}

/**
 * The one integer parser of the runtime and the CLI: decimal digits only (surrounding blanks are
 * ignored), so `1e3`, `0x10`, `1.0`, `+1` and `-1` are refused, within `min`..`max`.
 * (The CDK context keys use it too, through `validatePositiveInteger` in cdk/config.ts.)
 *
 * @throws ConfigurationError naming `what`; the CLI reports it as a usage error (exit 2).
 */
export function parsePositiveInt(text: string, options: IntOptions): number {
  const { what, min = 1, max = Number.MAX_SAFE_INTEGER } = options;
  const t = text.trim();
  const n = Number(t);
  if (!/^\d+$/.test(t) || !Number.isSafeInteger(n) || n < min || n > max) {
    const expected = min === 0 ? 'a non-negative integer' : min === 1 ? 'a positive integer' : `an integer of at least ${min}`;
    const bound = max === Number.MAX_SAFE_INTEGER ? '' : ` no larger than ${max}`;
    throw new ConfigurationError(`invalid ${what} value ${JSON.stringify(text)}: expected ${expected}${bound}`);
  }
  return n;
}

/** Reads a positive integer variable ({@link parsePositiveInt}), with a default when unset or blank. */
export function positiveIntFromEnv(name: string, fallback: number, env: Env): number {
  const raw = env[name];
  return raw?.trim() ? parsePositiveInt(raw, { what: name }) : fallback;
}
