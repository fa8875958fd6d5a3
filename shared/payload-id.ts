/**
 * The one payload-id rule: how an id `<collections>/workflow-<workflow>/<itemids>` is split, and
 * which ids are refused because a key built from them could leave its own prefix or share a
 * StateDB item with another id. Used by process, pre-batch, the task helpers, update-state, the
 * StateDB key, the workflow events and the CLI.
 * @module
 */
import { InvalidPayloadIdError } from './errors';

export { InvalidPayloadIdError };

/** The text that separates collections from the workflow in a payload id. */
export const WORKFLOW_SEPARATOR = '/workflow-';

/** `<collections>/workflow-<workflow>/<itemids>` (the shape Cirrus's `PAYLOAD_ID_REGEX` accepts). */
export const PAYLOAD_ID_REGEX = /^(.+)\/workflow-([^/]+)\/(.+)$/s;

/** Cirrus's `PAYLOAD_ID_REGEX` as Python's `re.match` applies it (`.` is anything but `\n`). */
const CIRRUS_EVENT_REGEX = /^([^\n]+)\/workflow-([^/]+)\/([^\n]+)/;

/** The parts of a payload id. */
export interface PayloadIdParts {
  collections: string;
  workflow: string;
  itemids: string;
}

// eslint-disable-next-line no-control-regex
const CONTROL_CHAR = /[\u0000-\u001f\u007f-\u009f]/;
/** A high surrogate not followed by a low one, or a low surrogate not preceded by a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Cirrus's StateDB split (`payload_id_to_key`): collections before the first `/workflow-`, workflow
 * up to the next `/`, item ids the rest of that part. Text after a second `/workflow-` is dropped,
 * as Cirrus drops it.
 */
function stateDbSplit(id: string): PayloadIdParts {
  const parts1 = id.split(WORKFLOW_SEPARATOR);
  const rest = parts1[1] ?? '';
  const slash = rest.indexOf('/');
  return {
    collections: parts1[0],
    workflow: slash === -1 ? rest : rest.slice(0, slash),
    itemids: slash === -1 ? '' : rest.slice(slash + 1),
  };
}

/**
 * The StateDB rule: an id Cirrus could have keyed a StateDB item under. It holds `/workflow-`
 * followed by a workflow and item ids (Cirrus's `PAYLOAD_ID_REGEX`) and no lone surrogate (no
 * DynamoDB key can hold one). Returns Cirrus's StateDB split. Nothing is built from such an id but
 * a DynamoDB key: S3 keys need {@link checkRecordedPayloadId}.
 */
export function checkStateDbPayloadId(id: string): PayloadIdParts {
  if (!PAYLOAD_ID_REGEX.test(id)) {
    throw new InvalidPayloadIdError(id, "must match '<collections>/workflow-<workflow>/<itemids>'");
  }
  if (LONE_SURROGATE.test(id)) {
    throw new InvalidPayloadIdError(id, 'holds a lone UTF-16 surrogate, which has no UTF-8 form: no S3 or DynamoDB key can hold it');
  }
  const parts = stateDbSplit(id);
  if (parts.workflow === '' || parts.itemids === '') {
    throw new InvalidPayloadIdError(id, 'has an empty workflow or item-id part where its StateDB key is split');
  }
  return parts;
}

/**
 * The key rule: what every id whose S3 keys this project builds must pass, however the payload
 * was started: the StateDB rule ({@link checkStateDbPayloadId}), no control character, and no
 * `/`-separated part that is empty, `.` or `..`, so every key built from it stays under its own
 * prefix on any S3 implementation. Returns Cirrus's StateDB split.
 *
 * update-state writes `output.json` under this rule alone: Cirrus (or an older version of this
 * project) may have started a payload that {@link checkPayloadId} refuses today (a workflow name
 * with `_`, an id with two `/workflow-` parts), and its item must not stay PROCESSING. Such an id
 * is keyed exactly as Cirrus keyed it.
 */
export function checkRecordedPayloadId(id: string): PayloadIdParts {
  const parts = checkStateDbPayloadId(id);
  if (CONTROL_CHAR.test(id)) {
    throw new InvalidPayloadIdError(id, 'holds a control character');
  }
  for (const segment of id.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      // A key built from such an id could leave its prefix on a store that resolves dot segments.
      throw new InvalidPayloadIdError(id, `holds an empty, "." or ".." path segment (${JSON.stringify(segment)})`);
    }
  }
  return parts;
}

/** True when S3 keys may be built from `id` ({@link checkRecordedPayloadId}). */
export function keysMayBeBuilt(id: string): boolean {
  try {
    checkRecordedPayloadId(id);
    return true;
  } catch (err) {
    if (err instanceof InvalidPayloadIdError) return false;
    throw err;
  }
}

/**
 * The id rule for payloads this project accepts (process, pre-batch, the task helpers, the CLI):
 * the key rule ({@link checkRecordedPayloadId}), one `/workflow-` only, and no `_` in the workflow.
 *
 * An id with a second `/workflow-` is refused: Cirrus keys it on the first and drops the text after
 * the second (so it would share an item with a shorter id) while Cirrus's events take the last
 * ({@link cirrusEventParts}), so no split of such an id can agree with both. A `_` in the workflow
 * is refused because `_` joins collections and workflow in the StateDB key: `a_b/workflow-c/…` and
 * `a/workflow-b_c/…` would share one item.
 */
export function checkPayloadId(id: string): PayloadIdParts {
  const parts = checkRecordedPayloadId(id);
  if (id.indexOf(WORKFLOW_SEPARATOR) !== id.lastIndexOf(WORKFLOW_SEPARATOR)) {
    throw new InvalidPayloadIdError(id, 'holds "/workflow-" more than once, so its StateDB key would be ambiguous');
  }
  if (parts.workflow.includes('_')) {
    throw new InvalidPayloadIdError(id, `its workflow part ${JSON.stringify(parts.workflow)} contains "_", which workflow names never do`);
  }
  return parts;
}

/**
 * Cirrus's `PAYLOAD_ID_REGEX.match(id)` (Python: anchored at the start only, `.` stops at a
 * newline, collections greedy so the last `/workflow-` wins): how Cirrus names the workflow and
 * collections of an id in its SNS event attributes and workflow metric events. No rule is checked:
 * events also name ids that were refused. For every id {@link checkPayloadId} accepts it agrees
 * with that split.
 */
export function cirrusEventParts(id: string): PayloadIdParts | undefined {
  const m = CIRRUS_EVENT_REGEX.exec(id);
  return m ? { collections: m[1], workflow: m[2], itemids: m[3] } : undefined;
}

/** Splits a payload id by {@link checkPayloadId}; `undefined` when it breaks the id rule. */
export function parsePayloadId(id: string): PayloadIdParts | undefined {
  try {
    return checkPayloadId(id);
  } catch (err) {
    if (err instanceof InvalidPayloadIdError) return undefined;
    throw err;
  }
}
