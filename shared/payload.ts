/**
 * The process payload model: validation and id construction (docs/ARCHITECTURE.md, "Where each rule lives").
 * @module
 */
import { NotAProcessPayloadError } from './errors';
import { MAX_JSON_DEPTH, isJsonObject, jsonDepthExceeds, type JsonObject, type JsonValue, type SerializedPayload } from './json';
import type { PayloadBucket } from './payload-bucket';

import { checkPayloadId } from './payload-id';
import { utf8Length } from './size';

export { checkPayloadId, checkRecordedPayloadId, cirrusEventParts, InvalidPayloadIdError, parsePayloadId, PAYLOAD_ID_REGEX, type PayloadIdParts } from './payload-id';

/** DynamoDB's limit on a partition key value, in UTF-8 bytes. */
export const DYNAMODB_MAX_PARTITION_KEY_BYTES = 2048;
/** DynamoDB's limit on a sort key value, in UTF-8 bytes. */
export const DYNAMODB_MAX_SORT_KEY_BYTES = 1024;

/** A process definition (`process[0]`). */
export interface ProcessDefinition extends JsonObject {
  workflow: string;
}

/** A validated process payload: a FeatureCollection with a process array and an id. */
export interface ProcessPayload extends JsonObject {
  id: string;
  /** STAC items; may be absent when the payload has an id (then it is kept absent, as received). */
  features: JsonObject[];
  process: JsonValue[];
}

/**
 * Characters AWS does not allow in a state machine name, and `_`, which separates collections
 * from the workflow in StateDB keys.
 */
// eslint-disable-next-line no-control-regex
const BAD_WORKFLOW_CHARS = /[\s<>{}[\]?*"#%\\^|~`$&,;:/_\u0000-\u001f\u007f-\u009f]/;

/** Compares strings by Unicode code point, as Python's `sorted` does. */
export function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const cx = x.value.codePointAt(0) as number;
    const cy = y.value.codePointAt(0) as number;
    if (cx !== cy) return cx - cy;
  }
}

/** The workflow of a payload (`process[0].workflow`); assumes a validated payload. */
export function workflowOf(payload: ProcessPayload): string {
  return (payload.process[0] as ProcessDefinition).workflow;
}

/** The current process definition (`process[0]`); assumes a validated payload. */
export function processDefinition(payload: ProcessPayload): ProcessDefinition {
  return payload.process[0] as ProcessDefinition;
}

/**
 * Builds the payload id `<collections>/workflow-<workflow>/<itemids>`: collections is
 * `process[0].collections` when given, else the sorted unique feature collections joined by `/`
 * (or `none`); itemids is the sorted feature ids joined by `/`.
 *
 * @throws NotAProcessPayloadError when there are no features or a feature has no string id.
 */
export function buildPayloadId(payload: JsonObject): string {
  const features = Array.isArray(payload.features) ? payload.features : [];
  if (features.length === 0) {
    throw new NotAProcessPayloadError('id', "payload has no 'id' and one cannot be built without 'features'");
  }
  const pd = (payload.process as JsonValue[])[0] as ProcessDefinition;
  let collections: string;
  if (typeof pd.collections === 'string' && pd.collections.length > 0) {
    collections = pd.collections;
  } else if (Array.isArray(pd.collections) && pd.collections.length > 0 && pd.collections.every((c) => typeof c === 'string')) {
    collections = [...new Set(pd.collections as string[])].sort(compareCodePoints).join('/');
  } else {
    const cols = new Set<string>();
    for (const f of features) {
      if (isJsonObject(f) && typeof f.collection === 'string') cols.add(f.collection);
    }
    collections = cols.size > 0 ? [...cols].sort(compareCodePoints).join('/') : 'none';
  }
  const ids = features.map((f, i) => {
    if (!isJsonObject(f) || typeof f.id !== 'string' || f.id.length === 0) {
      throw new NotAProcessPayloadError(`features[${i}].id`, 'every feature needs a non-empty string id to build the payload id');
    }
    return f.id;
  });
  return `${collections}/workflow-${pd.workflow}/${ids.sort(compareCodePoints).join('/')}`;
}

/** Options of {@link validateProcessPayload}. */
export interface ValidateOptions {
  /** Build the id when it is missing (default true, as `process` does). */
  setIdIfMissing?: boolean;
  /** When given, ids whose keys would exceed S3's key limit in this bucket are rejected. */
  bucket?: PayloadBucket;
}

/**
 * Validates a process payload and returns it with its id set.
 *
 * @throws NotAProcessPayloadError naming the offending field.
 */
export function validateProcessPayload(raw: unknown, options: ValidateOptions = {}): ProcessPayload {
  if (!isJsonObject(raw)) {
    throw new NotAProcessPayloadError('payload', `expected a JSON object, got ${Array.isArray(raw) ? 'an array' : raw === null ? 'null' : typeof raw}`);
  }
  if ('type' in raw && raw.type !== 'FeatureCollection') {
    throw new NotAProcessPayloadError('type', `must be "FeatureCollection", got ${JSON.stringify(raw.type)}`);
  }
  if ('features' in raw) {
    if (!Array.isArray(raw.features)) {
      throw new NotAProcessPayloadError('features', 'must be an array of STAC items');
    }
    raw.features.forEach((f, i) => {
      if (!isJsonObject(f)) throw new NotAProcessPayloadError(`features[${i}]`, 'must be a JSON object (a STAC item)');
    });
  }
  if (!('process' in raw)) {
    throw new NotAProcessPayloadError('process', "payload must contain a 'process' array of process definitions");
  }
  if (!Array.isArray(raw.process) || raw.process.length === 0) {
    throw new NotAProcessPayloadError('process', 'must be an array with at least one process definition');
  }
  const pd = raw.process[0];
  if (!isJsonObject(pd)) {
    throw new NotAProcessPayloadError('process[0]', 'the current process definition must be a JSON object');
  }
  if (typeof pd.workflow !== 'string' || pd.workflow.length === 0) {
    throw new NotAProcessPayloadError('process[0].workflow', 'must be a non-empty string naming the workflow');
  }
  if (BAD_WORKFLOW_CHARS.test(pd.workflow)) {
    throw new NotAProcessPayloadError(
      'process[0].workflow',
      `${JSON.stringify(pd.workflow)} contains a character not allowed in a workflow name (no "_", whitespace or punctuation other than "-" and ".")`,
    );
  }
  const payload = raw as JsonObject;
  if (!('id' in payload) || payload.id === undefined) {
    if (options.setIdIfMissing === false) throw new NotAProcessPayloadError('id', 'is missing');
    payload.id = buildPayloadId(payload);
  }
  const id = payload.id;
  if (typeof id !== 'string') {
    throw new NotAProcessPayloadError('id', `must be a string, got ${id === null ? 'null' : typeof id}`);
  }
  checkKeyLimits(id, options.bucket);
  return payload as ProcessPayload;
}

/**
 * Rejects ids whose StateDB keys exceed DynamoDB's key limits or whose payload-bucket keys exceed
 * S3's 1,024-byte limit, ids holding a lone surrogate (no UTF-8 form), and ids whose workflow part
 * holds `_` (its StateDB key would be another id's): such payloads could never be stored, or not
 * apart from another, so they are invalid, not retried.
 */
export function checkKeyLimits(id: string, bucket?: PayloadBucket): void {
  const { collections, workflow, itemids: sort } = checkPayloadId(id);
  const partition = `${collections}_${workflow}`;
  if (utf8Length(partition) > DYNAMODB_MAX_PARTITION_KEY_BYTES) {
    throw new NotAProcessPayloadError('id', `its collections and workflow take ${utf8Length(partition)} bytes, over DynamoDB's ${DYNAMODB_MAX_PARTITION_KEY_BYTES}-byte partition key limit`);
  }
  if (utf8Length(sort) > DYNAMODB_MAX_SORT_KEY_BYTES) {
    throw new NotAProcessPayloadError('id', `its item ids take ${utf8Length(sort)} bytes, over DynamoDB's ${DYNAMODB_MAX_SORT_KEY_BYTES}-byte sort key limit`);
  }
  if (sort.length === 0) {
    throw new NotAProcessPayloadError('id', 'the item ids part is empty');
  }
  if (bucket && !bucket.keysFit(id)) {
    throw new NotAProcessPayloadError('id', `its payload keys would take ${bucket.longestKeyBytes(id)} bytes, over S3's 1024-byte key limit`);
  }
}

/**
 * Refuses a payload that could never be written back as JSON (nested deeper than
 * {@link MAX_JSON_DEPTH} levels: `JSON.parse` reads it, `JSON.stringify` overflows the stack),
 * however it arrived: process, pre-batch and post-batch call it on the bytes they hold.
 * @param what - names the payload in the message (e.g. `the batch output`).
 * @throws NotAProcessPayloadError
 */
export function assertWritableDepth(p: SerializedPayload, what?: string): void {
  if (jsonDepthExceeds(p.body, MAX_JSON_DEPTH)) {
    throw new NotAProcessPayloadError('payload', `${what ? `${what} ` : ''}nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels, more than can be written back as JSON`);
  }
}
