/**
 * The payload commands of the `cirrus` CLI (README, "Operations: the `cirrus` CLI"): `get-input-payload`,
 * `get-output-payload`, `get-state` and `list-executions`. Each is a plain async function of a
 * {@link CliConfig}, so the demo and tests can call them without going through commander.
 * @module
 */
import { paginateListObjectsV2, type ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import { ConfigurationError, ExecutionNotFoundError, NotAProcessPayloadError, PayloadNotFoundError, PayloadReadError, errorMessage, errorName } from '../../shared/errors';
import { executionIdFromArn } from '../../shared/execution';
import type { JsonObject } from '../../shared/json';
import { INPUT_KEY, OUTPUT_KEY, type PayloadBucket } from '../../shared/payload-bucket';
import { State, itemUrls, type StateDb, type StateItem } from '../../shared/statedb';
import { requireBucket, requireStateDb, type CliConfig } from '../config';
import { NoOutputError, NotFoundError, PayloadObjectMissingError, UsageError } from '../errors';
import { checkKeyLimits } from '../../shared/payload';
import { InvalidPayloadIdError, checkPayloadId } from '../../shared/payload-id';
import { missingBucketMessage, missingTableMessage } from '../resources';

/**
 * Checks a payload id with the rule `process` applies ({@link checkPayloadId}): the form
 * `<collections>/workflow-<workflow>/<itemids>`, no control character, no empty, `.` or `..`
 * segment, one `/workflow-` only and no `_` in the workflow part (whose StateDB key would be
 * another id's), then the DynamoDB and S3 key limits. Runs before any configuration is read or
 * any service called, so a malformed id is a usage error however the deployment is doing.
 * @throws UsageError naming the rule the id breaks.
 */
export function validatePayloadId(payloadId: string): string {
  try {
    checkPayloadId(payloadId);
    checkKeyLimits(payloadId);
  } catch (err) {
    if (!(err instanceof NotAProcessPayloadError)) throw err;
    const reason = err instanceof InvalidPayloadIdError ? err.rule : errorMessage(err).replace(/^not a process payload: id: /, '');
    throw new UsageError(`invalid payload id ${JSON.stringify(payloadId)}: ${reason}`, { cause: err });
  }
  return payloadId;
}

/** Translates AWS "does not exist" failures of the configured resources into configuration errors. */
export function translateResourceError(err: unknown, config: CliConfig): unknown {
  const name = errorName(err);
  if (name === 'ResourceNotFoundException') {
    return new ConfigurationError(missingTableMessage(String(config.tableName)), { cause: err });
  }
  if (name === 'NoSuchBucket') {
    return new ConfigurationError(missingBucketMessage(String(config.bucketName)), { cause: err });
  }
  return err;
}

/** Reads a StateDB item; `undefined` when there is none. */
async function readItem(config: CliConfig, db: StateDb, payloadId: string): Promise<StateItem | undefined> {
  try {
    return await db.getItem(payloadId);
  } catch (err) {
    throw translateResourceError(err, config);
  }
}

/**
 * Looks a payload up in the StateDB.
 * @throws PayloadNotFoundError when there is no item.
 */
export async function lookupItem(config: CliConfig, payloadId: string): Promise<StateItem> {
  validatePayloadId(payloadId);
  const item = await readItem(config, requireStateDb(config), payloadId);
  if (!item) throw new PayloadNotFoundError(payloadId);
  return item;
}

/** The last execution id of an item. @throws ExecutionNotFoundError when it has none. */
function lastExecutionId(item: StateItem): string {
  const last = item.executions.at(-1);
  if (!last) throw new ExecutionNotFoundError(item.payloadId);
  return executionIdFromArn(last);
}

/**
 * The execution id an `--execution` value names: an execution ARN or an execution id (any
 * attempt, recorded or not); without one, the item's last execution.
 * @throws UsageError for an ARN of another state machine type or a malformed id.
 */
export function selectExecutionId(item: StateItem, execution: string | undefined): string {
  if (execution === undefined) return lastExecutionId(item);
  const id = execution.startsWith('arn:') ? executionIdFromArn(execution) : execution;
  if (!/^[^\s/:]{1,80}$/.test(id) || (execution.startsWith('arn:') && !execution.includes(':execution:'))) {
    throw new UsageError(`invalid --execution value ${JSON.stringify(execution)}: expected an execution id or an execution ARN`);
  }
  return id;
}

/** Options of the get-payload commands. */
export interface ExecutionOption {
  /** An execution id or ARN (any attempt); default the last execution. */
  execution?: string;
}

/**
 * Reads an execution's `input.json` or `output.json`.
 * @throws PayloadObjectMissingError when the object is not in the bucket.
 */
export async function readExecutionObject(
  config: CliConfig,
  bucket: PayloadBucket,
  objectName: typeof INPUT_KEY | typeof OUTPUT_KEY,
  payloadId: string,
  executionId: string,
): Promise<JsonObject> {
  const url = objectName === INPUT_KEY ? bucket.getInputPayloadUrl(payloadId, executionId) : bucket.getOutputPayloadUrl(payloadId, executionId);
  try {
    return await bucket.readPayload(url);
  } catch (err) {
    const cause = err instanceof PayloadReadError ? err.cause : err;
    const name = errorName(cause);
    if (name === 'NoSuchKey' || name === 'NotFound') throw new PayloadObjectMissingError(objectName, executionId, url, { cause });
    const translated = translateResourceError(cause, config);
    throw translated === cause ? err : translated;
  }
}

/**
 * The `input.json` of a payload's last execution.
 * @throws PayloadNotFoundError, ExecutionNotFoundError, PayloadObjectMissingError, ConfigurationError
 */
export async function getInputPayload(config: CliConfig, payloadId: string, options: ExecutionOption = {}): Promise<JsonObject> {
  validatePayloadId(payloadId);
  const bucket = requireBucket(config);
  const item = await lookupItem(config, payloadId);
  return readExecutionObject(config, bucket, INPUT_KEY, payloadId, selectExecutionId(item, options.execution));
}

/**
 * The `output.json` of a payload's last execution (only a SUCCEEDED payload has one), or of the
 * execution `options.execution` names (whose output.json must exist).
 * @throws PayloadNotFoundError, ExecutionNotFoundError, NoOutputError, PayloadObjectMissingError, ConfigurationError
 */
export async function getOutputPayload(config: CliConfig, payloadId: string, options: ExecutionOption = {}): Promise<JsonObject> {
  validatePayloadId(payloadId);
  const bucket = requireBucket(config);
  const item = await lookupItem(config, payloadId);
  const executionId = selectExecutionId(item, options.execution);
  if (options.execution === undefined && item.state !== State.SUCCEEDED) throw new NoOutputError(payloadId, item.state ?? 'UNKNOWN');
  return readExecutionObject(config, bucket, OUTPUT_KEY, payloadId, executionId);
}

/** What `get-state` prints: the StateDB item, every field present (`null` when absent). */
export interface PayloadStateReport {
  payload_id: string;
  collections: string;
  workflow: string;
  items: string;
  state: string | null;
  created: string | null;
  updated: string | null;
  /** Execution ARNs, oldest first. */
  executions: string[];
  last_error: string | null;
  outputs: string[] | null;
  claimed_at: string | null;
  /** `input.json` of the last execution; `null` without an execution or without a configured bucket. */
  input_payload_url: string | null;
  /** `output.json` of the last execution; only for a SUCCEEDED item with a configured bucket. */
  output_payload_url: string | null;
}

/**
 * The StateDB item of a payload. Needs only the table; the payload URLs are filled in when the
 * bucket is configured too.
 * @throws PayloadNotFoundError, ConfigurationError
 */
export async function getState(config: CliConfig, payloadId: string): Promise<PayloadStateReport> {
  const item = await lookupItem(config, payloadId);
  return stateReport(item, config.bucketName ? requireBucket(config) : undefined);
}

/**
 * The report of one StateDB item (`get-state`, one NDJSON line of `query`, the state of `process`):
 * the one place the CLI turns a {@link StateItem} into its printed JSON, with Cirrus's snake_case keys.
 */
export function stateReport(item: StateItem, bucket: PayloadBucket | undefined): PayloadStateReport {
  const urls = bucket ? itemUrls(item, bucket) : {};
  return {
    payload_id: item.payloadId,
    collections: item.collections,
    workflow: item.workflow,
    items: item.items,
    state: item.state ?? null,
    created: item.created ?? null,
    updated: item.updated ?? null,
    executions: item.executions,
    last_error: item.lastError ?? null,
    outputs: item.outputs ?? null,
    claimed_at: item.claimedAt ?? null,
    input_payload_url: urls.inputPayloadUrl ?? null,
    output_payload_url: urls.outputPayloadUrl ?? null,
  };
}

/** One execution object found in the bucket. */
export interface ExecutionObjectInfo {
  url: string;
  /** ISO-8601 time of the object's last modification. */
  last_modified: string | null;
  size: number | null;
}

/** One execution of a payload, as found in the bucket (and the StateDB when configured). */
export interface ExecutionEntry {
  execution_id: string;
  /** The execution ARN, when the StateDB records this execution. */
  execution_arn: string | null;
  /** `input.json`, or `null` when it is not in the bucket. */
  input_json: ExecutionObjectInfo | null;
  /** `output.json`, or `null` when it is not in the bucket. */
  output_json: ExecutionObjectInfo | null;
  /** Latest modification time of the execution's objects. */
  last_modified: string | null;
  /** True for the StateDB's last execution; `null` when the StateDB is not configured. */
  last_execution: boolean | null;
}

/** What `list-executions` prints. */
export interface ExecutionListing {
  payload_id: string;
  /** `s3://<bucket>/<root>/executions/<payload_id>/` */
  prefix: string;
  /** The StateDB state; `null` when the table is not configured or has no item. */
  state: string | null;
  /** `found`, `no item` or `not configured`. */
  state_db: 'found' | 'no item' | 'not configured';
  /** Oldest first. */
  executions: ExecutionEntry[];
}

/** Lists every object under `prefix`, following continuation tokens, without a delimiter. */
async function listAll(config: CliConfig, bucket: PayloadBucket, prefix: string): Promise<NonNullable<ListObjectsV2CommandOutput['Contents']>> {
  const out: NonNullable<ListObjectsV2CommandOutput['Contents']> = [];
  try {
    for await (const page of paginateListObjectsV2({ client: config.clients.s3 }, { Bucket: bucket.bucketName, Prefix: prefix })) {
      out.push(...(page.Contents ?? []));
    }
  } catch (err) {
    throw translateResourceError(err, config);
  }
  return out;
}

/** One execution being listed, with the time of its oldest object (for ordering). */
type ListedExecution = ExecutionEntry & { first: number | undefined };

/**
 * The executions found in a listing of the payload's executions prefix, by execution id, and a
 * function that returns (adding it when new) the entry of an execution id.
 */
function executionEntries(
  objects: NonNullable<ListObjectsV2CommandOutput['Contents']>,
  payloadId: string,
  bucket: PayloadBucket,
): { entries: Map<string, ListedExecution>; entry: (id: string) => ListedExecution } {
  const entries = new Map<string, ListedExecution>();
  const entry = (id: string): ListedExecution => {
    let e = entries.get(id);
    if (!e) {
      e = { execution_id: id, execution_arn: null, input_json: null, output_json: null, last_modified: null, last_execution: null, first: undefined };
      entries.set(id, e);
    }
    return e;
  };
  for (const obj of objects) {
    const parsed = obj.Key === undefined ? undefined : bucket.layout.parseExecutionKey(obj.Key);
    if (parsed?.payloadId !== payloadId) continue;
    const e = entry(parsed.executionId);
    const modified = obj.LastModified ? new Date(obj.LastModified) : undefined;
    const info: ExecutionObjectInfo = { url: bucket.url(obj.Key as string), last_modified: modified?.toISOString() ?? null, size: obj.Size ?? null };
    if (parsed.name === INPUT_KEY) e.input_json = info;
    else e.output_json = info;
    if (modified) {
      const t = modified.getTime();
      e.first = e.first === undefined ? t : Math.min(e.first, t);
      if (e.last_modified === null || Date.parse(e.last_modified) < t) e.last_modified = modified.toISOString();
    }
  }
  return { entries, entry };
}

/**
 * Oldest first (by the first object's time); then in the StateDB's order of executions; then by
 * execution id, so the order never depends on the listing.
 */
function byFirstSeen(order: Map<string, number>): (a: ListedExecution, b: ListedExecution) => number {
  return (a, b) => {
    const ta = a.first ?? -Infinity;
    const tb = b.first ?? -Infinity;
    if (ta !== tb) return ta - tb;
    const oa = order.get(a.execution_id) ?? Infinity;
    const ob = order.get(b.execution_id) ?? Infinity;
    if (oa !== ob) return oa - ob;
    return a.execution_id < b.execution_id ? -1 : a.execution_id > b.execution_id ? 1 : 0;
  };
}

/**
 * The executions of a payload from a listing of `<root>/executions/<payload_id>/`, oldest first,
 * marking the StateDB's last execution when the table is configured. Needs only the bucket.
 *
 * Only keys of the form `<prefix><execution_id>/input.json|output.json` count: the prefix of one
 * payload id can also hold other payloads (ids that continue with `/…`).
 * @throws PayloadNotFoundError, ExecutionNotFoundError or CliError when there is nothing to list.
 */
export async function listExecutions(config: CliConfig, payloadId: string): Promise<ExecutionListing> {
  validatePayloadId(payloadId);
  const bucket = requireBucket(config);
  let item: StateItem | undefined;
  if (config.tableName) item = await readItem(config, requireStateDb(config), payloadId);

  const prefix = bucket.layout.payloadExecutionsPrefix(payloadId);
  const objects = await listAll(config, bucket, prefix);

  const { entries, entry } = executionEntries(objects, payloadId, bucket);

  const order = new Map<string, number>();
  if (item) {
    item.executions.forEach((arn, i) => {
      const id = executionIdFromArn(arn);
      order.set(id, i);
      entry(id).execution_arn = arn;
    });
  }
  if (entries.size === 0) {
    if (config.tableName && !item) throw new PayloadNotFoundError(payloadId);
    if (item) throw new ExecutionNotFoundError(payloadId);
    throw new NotFoundError(`no executions of payload ${payloadId} under ${bucket.url(prefix)}`);
  }
  const last = item?.executions.at(-1);
  const lastId = last ? executionIdFromArn(last) : undefined;
  const sorted = [...entries.values()].sort(byFirstSeen(order));
  return {
    payload_id: payloadId,
    prefix: bucket.url(prefix),
    state: item?.state ?? null,
    state_db: !config.tableName ? 'not configured' : item ? 'found' : 'no item',
    executions: sorted.map(({ first: _first, ...e }) => ({ ...e, last_execution: config.tableName ? e.execution_id === lastId : null })),
  };
}
