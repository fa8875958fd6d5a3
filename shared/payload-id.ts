/**
 * The one payload-id rule: how an id `<collections>/workflow-<workflow>/<itemids>` is split, and
 * which ids are refused because a key built from them could leave its own prefix or share a
 * StateDB item with another id. Used by process, pre-batch, the task helpers, update-state, the
 * StateDB key, the workflow events and the CLI.
 * @module
 */
import { NotAProcessPayloadError } from './errors';

/** The text that separates collections from the workflow in a payload id. */
export const WORKFLOW_SEPARATOR = '/workflow-';

/** `<collections>/workflow-<workflow>/<itemids>` (the shape Cirrus's `PAYLOAD_ID_REGEX` accepts). */
export const PAYLOAD_ID_REGEX = /^(.+)\/workflow-([^/]+)\/(.+)$/s;

/** The parts of a payload id. */
export interface PayloadIdParts {
  collections: string;
  workflow: string;
  itemids: string;
}

/** A payload id that breaks the id rule; `rule` names the rule it breaks. */
export class InvalidPayloadIdError extends NotAProcessPayloadError {
  constructor(
    readonly payloadId: string,
    readonly rule: string,
  ) {
    super('id', `${rule}: ${truncate(payloadId)}`);
    this.name = 'InvalidPayloadIdError';
  }
}

// eslint-disable-next-line no-control-regex
const CONTROL_CHAR = /[\u0000-\u001f\u007f-\u009f]/;
/** A high surrogate not followed by a low one, or a low surrogate not preceded by a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function truncate(s: string, n = 200): string {
  return JSON.stringify(s.length > n ? `${s.slice(0, n)}…` : s) + (s.length > n ? ` (${s.length} characters)` : '');
}

/**
 * Splits a payload id, or says which rule it breaks. The split is Cirrus's StateDB split
 * (`payload_id_to_key`): collections before the first `/workflow-`, workflow up to the next `/`,
 * item ids the rest. An id with a second `/workflow-` is refused: Cirrus keys it on the first and
 * drops the text after the second (so it would share an item with a shorter id) while Cirrus's
 * events take the last, so no split of such an id can agree with both.
 */
export function checkPayloadId(id: string): PayloadIdParts {
  const first = id.indexOf(WORKFLOW_SEPARATOR);
  if (first === -1 || !PAYLOAD_ID_REGEX.test(id)) {
    throw new InvalidPayloadIdError(id, "must match '<collections>/workflow-<workflow>/<itemids>'");
  }
  if (id.indexOf(WORKFLOW_SEPARATOR, first + 1) !== -1) {
    throw new InvalidPayloadIdError(id, 'holds "/workflow-" more than once, so its StateDB key would be ambiguous');
  }
  const collections = id.slice(0, first);
  const rest = id.slice(first + WORKFLOW_SEPARATOR.length);
  const slash = rest.indexOf('/');
  const parts: PayloadIdParts = { collections, workflow: rest.slice(0, slash), itemids: rest.slice(slash + 1) };
  if (CONTROL_CHAR.test(id)) {
    throw new InvalidPayloadIdError(id, 'holds a control character');
  }
  if (LONE_SURROGATE.test(id)) {
    throw new InvalidPayloadIdError(id, 'holds a lone UTF-16 surrogate, which has no UTF-8 form: no S3 or DynamoDB key can hold it');
  }
  for (const segment of id.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      // A key built from such an id could leave its prefix on a store that resolves dot segments.
      throw new InvalidPayloadIdError(id, `holds an empty, "." or ".." path segment (${JSON.stringify(segment)})`);
    }
  }
  if (parts.workflow.includes('_')) {
    // "_" separates collections from the workflow in the StateDB key: "a_b/workflow-c/…" and
    // "a/workflow-b_c/…" would share one item.
    throw new InvalidPayloadIdError(id, `its workflow part ${JSON.stringify(parts.workflow)} contains "_", which workflow names never do`);
  }
  return parts;
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
