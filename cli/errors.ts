/**
 * Errors of the `cirrus` command and how they map to exit codes and one-line messages.
 * @module
 */
import {
  CirrusError,
  ConfigurationError,
  ExecutionNotFoundError,
  PayloadNotFoundError,
  UndefinedPayloadBucketError,
  errorMessage,
  errorName,
} from '../shared/errors';

/** Exit codes of the `cirrus` command. */
export const EXIT = {
  /** Success (doctor: healthy). */
  ok: 0,
  /** Not found / wrong state / missing object / AWS failure (doctor: warnings). */
  failure: 1,
  /** Configuration or usage error (doctor: errors found). */
  usage: 2,
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

/** `get-output-payload` on an item whose run has not succeeded: exit code 1. */
export class NoOutputError extends CliError {
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
export class PayloadObjectMissingError extends CliError {
  constructor(
    /** `input.json` or `output.json`. */
    readonly objectName: string,
    /** The execution id. */
    readonly executionId: string,
    /** The object's URL. */
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    super(`${objectName} for execution ${executionId} is missing from ${url}: it may have expired or been deleted`, EXIT.failure, options);
  }
}

/** Exit code for anything thrown by a command. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof ConfigurationError || err instanceof UndefinedPayloadBucketError) return EXIT.usage;
  if (err instanceof PayloadNotFoundError || err instanceof ExecutionNotFoundError) return EXIT.failure;
  if (isSdkConfigurationFailure(err)) return EXIT.usage;
  return EXIT.failure;
}

/** Error names the AWS SDK uses when it has no credentials or no region. */
const SDK_CONFIG_ERRORS = new Set(['CredentialsProviderError', 'ProviderError']);

/**
 * Turns anything thrown into the CLI's one-line message (without the `cirrus: ` prefix), giving
 * the most common AWS SDK failures a readable explanation.
 */
export function describeError(err: unknown): string {
  const name = errorName(err);
  const message = errorMessage(err).split('\n')[0].trim();
  if (err instanceof CirrusError) return message;
  if (/region is missing/i.test(message)) {
    return 'no AWS region configured: set AWS_REGION or pass --region';
  }
  if (SDK_CONFIG_ERRORS.has(name) || /could not load credentials/i.test(message)) {
    return `no AWS credentials: ${message}`;
  }
  if (name === 'Error' || name === 'TypeError' || !name) return message || String(err);
  return message && message !== name ? `${name}: ${message}` : name;
}

/** True for AWS SDK failures caused by missing local configuration (region, credentials). */
export function isSdkConfigurationFailure(err: unknown): boolean {
  const message = errorMessage(err);
  return /region is missing/i.test(message) || SDK_CONFIG_ERRORS.has(errorName(err)) || /could not load credentials/i.test(message);
}
