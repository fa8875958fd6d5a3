/**
 * Example task for the `stamp-items` workflow, written with the {@link lambdaTask} helper: it
 * stamps `processing:stamped` (and, when `process[0].tasks["stamp-items"].pad_bytes` is set, a
 * padding property of that many bytes) on every item. The helper re-hydrates a referenced input and
 * offloads an output that grows past the inline limit.
 * @module
 */
import { isJsonObject, type JsonObject } from '../../shared/json';
import { handlerRuntime } from '../../shared/runtime';
import { lambdaTask } from '../../shared/task';

/** Stamps every feature of the payload. */
export function stampItems(payload: JsonObject, now: string = new Date().toISOString()): JsonObject {
  const process = Array.isArray(payload.process) ? payload.process : [];
  const first = isJsonObject(process[0]) ? process[0] : {};
  const tasks = isJsonObject(first.tasks) ? first.tasks : {};
  const params = isJsonObject(tasks['stamp-items']) ? tasks['stamp-items'] : {};
  const pad = typeof params.pad_bytes === 'number' && params.pad_bytes > 0 ? 'x'.repeat(Math.floor(params.pad_bytes)) : undefined;
  const features = (Array.isArray(payload.features) ? payload.features : []).map((f) => {
    if (!isJsonObject(f)) return f;
    const properties = isJsonObject(f.properties) ? f.properties : {};
    return { ...f, properties: { ...properties, 'processing:stamped': now, ...(pad ? { 'processing:padding': pad } : {}) } };
  });
  return { ...payload, features };
}

/** Lambda entry point. */
export const handler = lambdaTask(async (payload) => stampItems(payload), { bucket: () => handlerRuntime(process.env).bucket });
