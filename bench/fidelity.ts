/**
 * The CPU cost of fidelity, measured on one run with the old and new code paths interleaved (the
 * machine's load then weighs on both alike). No AWS stack: only the JSON work each path does.
 *
 * - process, payload with its id (the common path): before, the payload was serialised again for
 *   input.json and StartExecution; now the received text is used as it is, after a depth scan.
 * - process, payload without id: before, `JSON.stringify`; now a lossless re-reading of the text.
 * - update-state, publishing the items and building the chained payload: before, `JSON.parse` and
 *   `JSON.stringify` (structuredClone for the copy); now lossless-json.
 *
 *     node scripts/run-ts.mjs bench/fidelity.ts [--rounds 200]
 * @module
 */
import { performance } from 'node:perf_hooks';
import { nextPayloads } from '../shared/chain';
import { MAX_JSON_DEPTH, SerializedPayload, hasInexactNumber, jsonDepthExceeds, parseLossless, stringifyLossless, type JsonObject, type JsonValue } from '../shared/json';
import { validateProcessPayload } from '../shared/payload';
import { withId as withBuiltId } from '../shared/process';
import { extractRecordWithText } from '../shared/records';
import { payloadOfSize, withId } from './payloads';
import { round, summarize } from './stats';

const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf('--rounds') + 1]) || 200;

function structuredNext(payload: JsonObject): JsonObject[] {
  const proc = payload.process as JsonObject[];
  const copy = structuredClone(payload);
  delete copy.id;
  copy.process = [proc[1], ...proc.slice(2)];
  return [copy];
}

type Path = () => unknown;

function compare(name: string, before: Path, after: Path): Record<string, unknown> {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < 20; i++) {
    before();
    after();
  }
  for (let i = 0; i < rounds; i++) {
    for (const [fn, out] of i % 2 === 0 ? ([[before, a], [after, b]] as const) : ([[after, b], [before, a]] as const)) {
      const t0 = performance.now();
      fn();
      out.push(performance.now() - t0);
    }
  }
  const sa = summarize(a);
  const sb = summarize(b);
  return { path: name, before_ms: round(sa.median, 3), after_ms: round(sb.median, 3), after_iqr_ms: [round(sb.q1, 3), round(sb.q3, 3)], ratio: round(sb.median / sa.median, 2) };
}

const rows: Record<string, unknown>[] = [];
for (const bytes of [4_000, 100_000]) {
  const base = payloadOfSize(bytes, 'bench-collection');
  (base.process as JsonObject[]).push({ workflow: 'next' });
  (base.features as JsonObject[]).forEach((f, i) => (f.id = `f${i}`)); // so the built id fits the key limits
  const noId = JSON.stringify(base);
  const id = `bench-collection/workflow-minimal/fidelity-${bytes}`;
  const withIdText = withId(noId, id);
  const record = (body: string): JsonObject => ({ messageId: 'm', body, eventSource: 'aws:sqs' });

  rows.push(
    compare(
      `process, payload with id (${bytes / 1000} KB)`,
      () => {
        const { value } = extractRecordWithText(record(withIdText));
        return new SerializedPayload(validateProcessPayload(value)).text;
      },
      () => {
        const { value, text } = extractRecordWithText(record(withIdText));
        validateProcessPayload(value);
        return jsonDepthExceeds(text as string, MAX_JSON_DEPTH) ? undefined : text;
      },
    ),
  );
  rows.push(
    compare(
      `process, payload without id (${bytes / 1000} KB)`,
      () => new SerializedPayload(validateProcessPayload(extractRecordWithText(record(noId)).value)).text,
      () => {
        const { value, text } = extractRecordWithText(record(noId));
        const valid = validateProcessPayload(value);
        return withBuiltId(new SerializedPayload(value, text), valid.id).text;
      },
    ),
  );
  // The same output with one 20-digit integer in its first item: the lossless reading is needed.
  const inexactText = withIdText.replace('"properties":{', '"properties":{"test:big":12345678901234567890,');
  for (const [label, text] of [['', withIdText], [', one 20-digit integer', inexactText]] as const)
  rows.push(
    compare(
      `update-state, publish items + chain (${bytes / 1000} KB${label})`,
      () => {
        const out = JSON.parse(text) as JsonObject;
        const items = (out.features as JsonObject[]).map((f) => JSON.stringify(f));
        return [items, structuredNext(out).map((p) => JSON.stringify(p))];
      },
      () => {
        // As update-state's passOn: the native reading and JSON.stringify unless the text holds a
        // number JavaScript would rewrite; lossless-json only then.
        const lossless = hasInexactNumber(text);
        const out = (lossless ? parseLossless(text) : JSON.parse(text)) as JsonObject;
        const write = (v: JsonValue): string => (lossless ? stringifyLossless(v) : JSON.stringify(v));
        const items = (out.features as JsonObject[]).map((f) => write(f));
        return [items, nextPayloads(out).map((p) => write(p))];
      },
    ),
  );
}
console.log(JSON.stringify({ rounds, node: process.version, results: rows }, null, 2));
