/**
 * Workflow chaining: the payloads `update-state` sends on after a success (`process[1]`, one
 * definition or a list), with `chain_filter` applied to the features (the filter language is in
 * `shared/chain-filter.ts`).
 * @module
 */
import { filterFeatures } from './chain-filter';
import { ChainFilterError } from './errors';
import { cloneJson, isJsonObject, type JsonObject, type JsonValue } from './json';

export { ChainFilterError };
export { compileChainFilter, filterFeatures } from './chain-filter';

/**
 * The payloads that follow a successful one: for each definition in `process[1]` (an object or a
 * list of objects), a copy of the payload without `id`, with `process` advanced by one and that
 * definition first, and features filtered by its `chain_filter` when present. A definition whose
 * filter is in error is left out and passed to `onFilterError` when given; without it the
 * {@link ChainFilterError} is thrown.
 */
export function nextPayloads(payload: JsonObject, onFilterError?: (error: ChainFilterError, index: number) => void): JsonObject[] {
  const proc = payload.process;
  if (!Array.isArray(proc) || proc.length <= 1) return [];
  const next = proc[1];
  const defs = Array.isArray(next) ? next : [next];
  const out: JsonObject[] = [];
  defs.forEach((def, index) => {
    try {
      out.push(nextPayload(payload, def));
    } catch (err) {
      if (!(err instanceof ChainFilterError) || !onFilterError) throw err;
      onFilterError(err, index);
    }
  });
  return out;
}

function nextPayload(payload: JsonObject, def: JsonValue): JsonObject {
  // cloneJson, not structuredClone: numbers read without rounding (lossless numbers) must stay
  // what they are, which structuredClone would turn into plain objects.
  const copy = cloneJson(payload);
  delete copy.id;
  copy.process = [cloneJson(def), ...(copy.process as JsonValue[]).slice(2)];
  if (isJsonObject(def) && typeof def.chain_filter === 'string' && Array.isArray(copy.features)) {
    copy.features = filterFeatures(copy.features, def.chain_filter);
  }
  return copy;
}
