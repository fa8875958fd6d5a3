/**
 * The payload key layout, pure: the prefixes under the root, the keys and URLs built from a payload
 * id, the parsing of execution keys, and S3's key limit. No S3 client, no environment: the runtime
 * ({@link PayloadBucket} holds one), the CLI, doctor and the CDK stack all build keys from it.
 *
 * ```text
 * <root>/tmp/oversized/<uuid>.json
 * <root>/tmp/batch/<payload_id>/<uuid>.json
 * <root>/tmp/invalid/<uuid>.json
 * <root>/executions/<payload_id>/<execution_id>/input.json|output.json
 * ```
 *
 * Which payload ids keys may be built from is the key rule of `shared/payload-id.ts`.
 * @module
 */
import { normalizeRootPrefix } from './config';
import { NotAProcessPayloadError } from './errors';
import { checkRecordedPayloadId, keysMayBeBuilt } from './payload-id';
import { utf8Length } from './size';

/** Name of the execution input object. */
export const INPUT_KEY = 'input.json';
/** Name of the execution output object. */
export const OUTPUT_KEY = 'output.json';
/** S3's limit on the length of an object key, in UTF-8 bytes. */
export const S3_MAX_KEY_BYTES = 1024;
/** Length of an execution id (a UUID) in the execution key layout. */
const EXECUTION_ID_LENGTH = 36;

/** The name of an execution object. */
export type ExecutionObjectName = typeof INPUT_KEY | typeof OUTPUT_KEY;

/** The parts of an execution key `<root>/executions/<payload_id>/<execution_id>/<name>`. */
export interface ExecutionKey {
  payloadId: string;
  executionId: string;
  name: ExecutionObjectName;
}

/** Builds `s3://bucket/key`. */
export function formatUrl(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/** True when `id` is one plain key segment: not empty, `.` or `..`, no `/` and no control character. */
function isPlainSegment(id: string): boolean {
  // eslint-disable-next-line no-control-regex
  return id !== '' && id !== '.' && id !== '..' && !/[/\u0000-\u001f\u007f]/.test(id);
}

/** The key layout under one root prefix. */
export class PayloadLayout {
  /** The normalised root prefix (no leading or trailing `/`). */
  readonly rootPrefix: string;
  /** `<root>/tmp`: ephemeral objects, expired by the lifecycle rule. */
  readonly prefixTmp: string;
  /** `<root>/tmp/batch`. */
  readonly prefixBatch: string;
  /** `<root>/tmp/invalid`. */
  readonly prefixInvalid: string;
  /** `<root>/tmp/oversized`. */
  readonly prefixOversized: string;
  /** `<root>/executions`: persistent execution inputs and outputs. */
  readonly prefixExecutions: string;

  /**
   * @param rootPrefix - the root prefix, normalised with {@link normalizeRootPrefix} (default `cirrus`).
   * @throws ConfigurationError when the prefix is malformed.
   */
  constructor(rootPrefix?: string) {
    this.rootPrefix = normalizeRootPrefix(rootPrefix);
    this.prefixTmp = `${this.rootPrefix}/tmp`;
    this.prefixBatch = `${this.prefixTmp}/batch`;
    this.prefixInvalid = `${this.prefixTmp}/invalid`;
    this.prefixOversized = `${this.prefixTmp}/oversized`;
    this.prefixExecutions = `${this.rootPrefix}/executions`;
  }

  /**
   * `<root>/executions/<payloadId>/`: where every execution of the payload is stored (ids that
   * continue with `/…` are stored below it too, see {@link PayloadLayout.parseExecutionKey}).
   * @throws InvalidPayloadIdError when the id breaks the key rule.
   */
  payloadExecutionsPrefix(payloadId: string): string {
    checkRecordedPayloadId(payloadId);
    return `${this.prefixExecutions}/${payloadId}/`;
  }

  /**
   * `<root>/executions/<payloadId>/<executionId>`.
   * @throws InvalidPayloadIdError when the id breaks the key rule (its keys could leave the prefix).
   * @throws NotAProcessPayloadError when the execution id is not one plain key segment.
   */
  execPayloadPrefix(payloadId: string, executionId: string): string {
    checkRecordedPayloadId(payloadId);
    // The execution id is one plain key segment, or its keys could leave the payload's prefix.
    if (!isPlainSegment(executionId)) {
      throw new NotAProcessPayloadError('execution id', `${JSON.stringify(executionId)} is not one plain key segment`);
    }
    return `${this.prefixExecutions}/${payloadId}/${executionId}`;
  }

  /** Key of an execution's `input.json` or `output.json`. */
  executionKey(payloadId: string, executionId: string, name: ExecutionObjectName): string {
    return `${this.execPayloadPrefix(payloadId, executionId)}/${name}`;
  }

  /** Key of an execution's `input.json`. */
  inputKey(payloadId: string, executionId: string): string {
    return this.executionKey(payloadId, executionId, INPUT_KEY);
  }

  /** Key of an execution's `output.json`. */
  outputKey(payloadId: string, executionId: string): string {
    return this.executionKey(payloadId, executionId, OUTPUT_KEY);
  }

  /** `s3://<bucket>/` URL of an execution's `input.json`. */
  inputUrl(bucket: string, payloadId: string, executionId: string): string {
    return formatUrl(bucket, this.inputKey(payloadId, executionId));
  }

  /** `s3://<bucket>/` URL of an execution's `output.json`. */
  outputUrl(bucket: string, payloadId: string, executionId: string): string {
    return formatUrl(bucket, this.outputKey(payloadId, executionId));
  }

  /** `<root>/tmp/oversized/<name>.json`. */
  oversizedKey(name: string): string {
    return `${this.prefixOversized}/${name}.json`;
  }

  /** `<root>/tmp/invalid/<name>.json`. */
  invalidKey(name: string): string {
    return `${this.prefixInvalid}/${name}.json`;
  }

  /** `<root>/tmp/batch/<payloadId>/<name>.json` (the id is checked by the caller's rule). */
  batchKey(payloadId: string, name: string): string {
    return `${this.prefixBatch}/${payloadId}/${name}.json`;
  }

  /** True when `key` lies under the root prefix. */
  isPayloadKey(key: string): boolean {
    return key.startsWith(`${this.rootPrefix}/`);
  }

  /** True when `key` lies under `<root>/tmp/batch/`. */
  isBatchKey(key: string): boolean {
    return key.startsWith(`${this.prefixBatch}/`);
  }

  /**
   * The parts of an execution key `<root>/executions/<payload_id>/<execution_id>/(input|output).json`,
   * or `undefined` for any other key (or one whose payload id breaks the key rule). The payload id
   * is everything between the prefix and the execution id, so a listing of one payload's prefix also
   * parses the keys of ids that continue it with `/…`: compare the parsed id.
   */
  parseExecutionKey(key: string): ExecutionKey | undefined {
    const head = `${this.prefixExecutions}/`;
    if (!key.startsWith(head)) return undefined;
    const parts = key.slice(head.length).split('/');
    if (parts.length < 3) return undefined;
    const name = parts[parts.length - 1];
    const executionId = parts[parts.length - 2];
    const payloadId = parts.slice(0, -2).join('/');
    if (name !== INPUT_KEY && name !== OUTPUT_KEY) return undefined;
    if (!isPlainSegment(executionId) || !keysMayBeBuilt(payloadId)) return undefined;
    return { payloadId, executionId, name };
  }

  /**
   * The longest key this layout would write for `payloadId` (its execution `output.json` or its
   * batch object), in UTF-8 bytes. Used to reject ids that S3 could never store.
   */
  longestKeyBytes(payloadId: string): number {
    const exec = utf8Length(`${this.prefixExecutions}/${payloadId}/`) + EXECUTION_ID_LENGTH + 1 + OUTPUT_KEY.length;
    const batch = utf8Length(`${this.prefixBatch}/${payloadId}/`) + EXECUTION_ID_LENGTH + '.json'.length;
    return Math.max(exec, batch);
  }

  /** True when every key this layout would write for `payloadId` fits S3's 1,024-byte limit. */
  keysFit(payloadId: string): boolean {
    return this.longestKeyBytes(payloadId) <= S3_MAX_KEY_BYTES;
  }
}
