/**
 * Errors of the `cirrus` command and how they map to exit codes and one-line messages.
 * @module
 */
import {
  CirrusError,
  ConfigurationError,
  ExecutionNotFoundError,
  NotAProcessPayloadError,
  PayloadNotFoundError,
  UndefinedPayloadBucketError,
  errorMessage,
  errorName,
} from '../shared/errors';
import type { PayloadProblem } from './send';

/** Exit codes of the `cirrus` command: one table, documented in `--help` and the README. */
export const EXIT = {
  /** Success (doctor: healthy). */
  ok: 0,
  /** Not found: unknown payload or execution, no execution yet, no output, missing object (doctor: warnings). */
  notFound: 1,
  /** Configuration or usage error, or a bucket, table, stack or queue that does not exist (doctor: errors). */
  usage: 2,
  /** A service cannot be reached (connection refused, unknown host, timeout) or refuses access. */
  unreachable: 3,
  /** The workflow ended FAILED or ABORTED (run-workflow), or some payloads could not be sent (process, rerun). */
  failed: 4,
  /** A payload is invalid (payload validate, process, run-workflow; run-workflow: recorded INVALID). */
  invalid: 5,
  /** run-workflow gave up waiting (--timeout) before the payload reached a final state. */
  timedOut: 6,
  /** Any other failure (an unexpected AWS error). */
  failure: 7,
} as const;

/** An error the CLI reports as one line, with a chosen exit code. */
export class CliError extends CirrusError {
  constructor(
    message: string,
    /** The process exit code to use. */
    readonly exitCode: number = EXIT.failure,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Bad command-line usage (malformed argument or option value): exit code 2. */
export class UsageError extends CliError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT.usage, options);
  }
}

/** Something the command looked for is not there: exit code 1. */
export class NotFoundError extends CliError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT.notFound, options);
  }
}

/** `get-output-payload` on an item whose run has not succeeded: exit code 1. */
export class NoOutputError extends NotFoundError {
  constructor(
    /** The payload id. */
    readonly payloadId: string,
    /** The item's state (`UNKNOWN` when the record has none). */
    readonly state: string,
  ) {
    super(`no output: payload ${payloadId} is in state ${state}, output.json is only written when the run succeeds`);
  }
}

/** An execution's `input.json` / `output.json` is not in the bucket: exit code 1. */
export class PayloadObjectMissingError extends NotFoundError {
  constructor(
    /** `input.json` or `output.json`. */
    readonly objectName: string,
    /** The execution id. */
    readonly executionId: string,
    /** The object's URL. */
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    super(`${objectName} for execution ${executionId} is missing from ${url}: it may have expired or been deleted`, options);
  }
}

/** A service could not be reached or refused access: exit code 3. */
export class ServiceUnreachableError extends CliError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT.unreachable, options);
  }
}

/** Node.js network error codes meaning "the endpoint cannot be reached". */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);
/** AWS error names meaning "the service refuses these credentials or this action". */
const ACCESS_ERRORS = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'Forbidden',
  'UnrecognizedClientException',
  'InvalidAccessKeyId',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidSignatureException',
]);
/** Error names the AWS SDK uses when it has no credentials or no region. */
const SDK_CONFIG_ERRORS = new Set(['CredentialsProviderError', 'ProviderError']);

function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
  }
  const name = errorName(err);
  if (name === 'TimeoutError' || name === 'RequestTimeout') return 'ETIMEDOUT';
  // Some wrappers keep only the text of the network error ("… connect ECONNREFUSED 127.0.0.1:9").
  return /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)\b/.exec(errorMessage(err))?.[1];
}

/** A payload (or several) that cannot be sent: exit code 5, nothing is sent. */
export class InvalidPayloadsError extends CliError {
  constructor(readonly problems: PayloadProblem[]) {
    super(
      problems.length === 1
        ? `invalid payload (#${problems[0].index}): ${problems[0].message}`
        : `${problems.length} invalid payloads, nothing sent; first (#${problems[0].index}): ${problems[0].message}`,
      EXIT.invalid,
    );
  }
}

/** True for a failure to reach an endpoint (connection refused, unknown host, timeout). */
export function isUnreachable(err: unknown): boolean {
  return networkCode(err) !== undefined;
}

/** True when the service answered but refused access (HTTP 403, rejected credentials). */
export function isAccessRefused(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return ACCESS_ERRORS.has(errorName(err)) || status === 403;
}

/** Exit code for anything thrown by a command. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof ConfigurationError || err instanceof UndefinedPayloadBucketError) return EXIT.usage;
  if (err instanceof PayloadNotFoundError || err instanceof ExecutionNotFoundError) return EXIT.notFound;
  if (err instanceof NotAProcessPayloadError) return EXIT.invalid;
  if (isSdkConfigurationFailure(err)) return EXIT.usage;
  if (isUnreachable(err) || isAccessRefused(err)) return EXIT.unreachable;
  return EXIT.failure;
}

/**
 * Turns anything thrown into the CLI's one-line message (without the `cirrus: ` prefix), giving
 * the most common AWS SDK failures a readable explanation.
 */
export function describeError(err: unknown): string {
  const name = errorName(err);
  const message = errorMessage(err).split('\n')[0].trim();
  if (err instanceof CirrusError) return message;
  if (/region is missing/i.test(message)) return 'no AWS region configured: set AWS_REGION or pass --region';
  if (SDK_CONFIG_ERRORS.has(name) || /could not load credentials/i.test(message)) return `no AWS credentials: ${message}`;
  const code = networkCode(err);
  if (code) return `service unreachable (${code}): ${message || name}; check the endpoint, the network and that the stack is up`;
  if (isAccessRefused(err)) return `access refused (${name}): ${message || 'HTTP 403'}; check the credentials and their permissions`;
  if (name === 'Error' || name === 'TypeError' || !name) return message || String(err);
  return message && message !== name ? `${name}: ${message}` : name;
}

/** True for AWS SDK failures caused by missing local configuration (region, credentials). */
export function isSdkConfigurationFailure(err: unknown): boolean {
  const message = errorMessage(err);
  return /region is missing/i.test(message) || SDK_CONFIG_ERRORS.has(errorName(err)) || /could not load credentials/i.test(message);
}
