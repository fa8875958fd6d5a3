/**
 * `cirrus payload get-id|validate|template`: offline helpers (no AWS call) built on the same
 * validation and id rules as the process function.
 * @module
 */
import { NotAProcessPayloadError, errorMessage } from '../../shared/errors';
import { isJsonObject, type JsonObject, type JsonValue } from '../../shared/json';
import { validateProcessPayload } from '../../shared/payload';
import { InvalidPayloadIdError, checkPayloadId } from '../../shared/payload-id';
import { UsageError } from '../errors';
import { toJsonText, type InputDocument } from '../input';

/** One problem of a payload, with the path of the field. */
export interface Problem {
  path: string;
  message: string;
}

/** What `payload validate` prints per payload. */
export interface ValidationReport {
  index: number;
  payload_id: string | null;
  valid: boolean;
  problems: Problem[];
}

function featureProblems(features: JsonValue, needIds: boolean): Problem[] {
  if (!Array.isArray(features)) return [{ path: 'features', message: 'must be an array of STAC items' }];
  const out: Problem[] = [];
  features.forEach((f, i) => {
    if (!isJsonObject(f)) out.push({ path: `features[${i}]`, message: 'must be a JSON object (a STAC item)' });
    else if (needIds && (typeof f.id !== 'string' || f.id === '')) out.push({ path: `features[${i}].id`, message: 'every feature needs a non-empty string id to build the payload id' });
  });
  return out;
}

function processProblems(process: JsonValue | undefined): Problem[] {
  if (process === undefined) return [{ path: 'process', message: "payload must contain a 'process' array of process definitions" }];
  if (!Array.isArray(process) || process.length === 0) return [{ path: 'process', message: 'must be an array with at least one process definition' }];
  const pd = process[0];
  if (!isJsonObject(pd)) return [{ path: 'process[0]', message: 'the current process definition must be a JSON object' }];
  if (typeof pd.workflow !== 'string' || pd.workflow === '') return [{ path: 'process[0].workflow', message: 'must be a non-empty string naming the workflow' }];
  return [];
}

/** The problems each field has on its own (validation stops at the first; this lists them all). */
function structuralProblems(p: JsonObject): Problem[] {
  const out: Problem[] = [];
  if ('type' in p && p.type !== 'FeatureCollection') out.push({ path: 'type', message: `must be "FeatureCollection", got ${JSON.stringify(p.type)}` });
  if ('features' in p) out.push(...featureProblems(p.features, !('id' in p)));
  out.push(...processProblems(p.process));
  if ('id' in p && typeof p.id !== 'string') out.push({ path: 'id', message: `must be a string, got ${p.id === null ? 'null' : typeof p.id}` });
  return out;
}

/** Every problem of one document, the shared validator having the last word. */
function sharedProblem(value: unknown): Problem | undefined {
  try {
    validateProcessPayload(value);
    return undefined;
  } catch (err) {
    const path = err instanceof NotAProcessPayloadError ? err.field : '$';
    return { path, message: errorMessage(err).replace(/^not a process payload: [^:]+: /, '') };
  }
}

/** Stands for a feature id in ids built to test one part of a payload id alone. */
const GOOD_ITEM_ID = 'item';

/**
 * When the payload id is built from the features (no `id` field), the features whose own id
 * breaks the payload-id rule ({@link checkPayloadId}): an id with a `..` segment, a control
 * character, a second `/workflow-`, … Each is checked inside an id whose other parts are valid,
 * so a problem is reported on the feature that causes it.
 */
function featureIdRuleProblems(p: JsonObject): Problem[] {
  if ('id' in p || !Array.isArray(p.features)) return [];
  const out: Problem[] = [];
  p.features.forEach((f, i) => {
    if (!isJsonObject(f) || typeof f.id !== 'string' || f.id === '') return;
    try {
      checkPayloadId(`collections/workflow-workflow/${f.id}`);
    } catch (err) {
      if (!(err instanceof InvalidPayloadIdError)) throw err;
      out.push({ path: `features[${i}].id`, message: `the payload id built from it ${err.rule}` });
    }
  });
  return out;
}

/** A copy of `p` whose features at `paths` (`features[n].id`) have a valid id. */
function withGoodFeatureIds(p: JsonObject, paths: readonly string[]): JsonObject {
  const copy = structuredClone(p);
  for (const path of paths) {
    const n = Number(/^features\[(\d+)\]\.id$/.exec(path)?.[1]);
    const f = (copy.features as JsonValue[])[n];
    if (isJsonObject(f)) f.id = `${GOOD_ITEM_ID}-${n}`;
  }
  return copy;
}

/** Validates one document: every problem found, each with the path of its field. */
export function validateDocument(doc: InputDocument): ValidationReport {
  if (doc.error !== undefined) return { index: doc.index, payload_id: null, valid: false, problems: [{ path: '$', message: doc.error }] };
  if (!isJsonObject(doc.value)) {
    return { index: doc.index, payload_id: null, valid: false, problems: [{ path: '$', message: `expected a JSON object, got ${Array.isArray(doc.value) ? 'an array' : typeof doc.value}` }] };
  }
  const plain = JSON.parse(toJsonText(doc.value)) as JsonObject;
  const problems = structuralProblems(plain);
  const featureIds = featureIdRuleProblems(plain);
  problems.push(...featureIds.filter((p) => !problems.some((q) => q.path === p.path)));
  // The shared validator has the last word: on the process definition alone (so its rules are
  // reported even when another field fails first), then on the whole payload. A problem of the
  // built id that the feature ids above explain is not repeated on `id`; one that remains with
  // those ids replaced (a bad collection, a key limit) is.
  const processOnly = sharedProblem({ process: plain.process ?? null, id: 'none/workflow-none/none' });
  let whole = sharedProblem(structuredClone(plain));
  if (whole?.path === 'id' && featureIds.length > 0) {
    const remaining = sharedProblem(withGoodFeatureIds(plain, featureIds.map((p) => p.path)));
    // Its message quotes the id with stand-in feature ids: give the rule alone.
    whole = remaining?.path === 'id' ? { path: 'id', message: `${remaining.message.replace(/: ".*$/s, '')} (still, with the feature ids above corrected)` } : undefined;
  }
  for (const p of [processOnly, whole]) if (p && !problems.some((q) => q.path === p.path)) problems.push(p);
  const valid = problems.length === 0;
  return { index: doc.index, payload_id: valid ? validateProcessPayload(plain).id : null, valid, problems };
}

/** Options of `payload template`. */
export interface TemplateOptions {
  workflow: string;
  /** Collection ids (one: every item's `collection`; several: `process[0].collections`). */
  collections: string[];
  itemIds: string[];
  replace?: boolean;
}

/** A STAC item stub with an id and a collection. */
function itemStub(id: string, collection: string | undefined): JsonObject {
  return { type: 'Feature', stac_version: '1.0.0', id, ...(collection ? { collection } : {}), geometry: null, properties: {}, links: [], assets: {} };
}

/**
 * A process payload for item ids, collections and a workflow, with its id computed and checked
 * by the process rules.
 * @throws UsageError when the result would not be a valid payload.
 */
export function payloadTemplate(o: TemplateOptions): JsonObject {
  if (o.itemIds.length === 0) throw new UsageError('give at least one item id: the payload id is built from them');
  const single = o.collections.length === 1 ? o.collections[0] : undefined;
  const processDef: JsonObject = { workflow: o.workflow, ...(o.collections.length > 1 ? { collections: o.collections } : {}), ...(o.replace ? { replace: true } : {}) };
  const payload: JsonObject = { type: 'FeatureCollection', features: o.itemIds.map((id) => itemStub(id, single)), process: [processDef] };
  try {
    const { id, ...rest } = validateProcessPayload(payload);
    return { id, ...rest };
  } catch (err) {
    throw new UsageError(`cannot build a valid payload: ${errorMessage(err).replace(/^not a process payload: /, '')}`, { cause: err });
  }
}
