/**
 * Test data the repository owns (`test/fixtures/`: STAC items, process payloads, and the events
 * Lambda receives from SQS, SNS, SNS through SQS, AWS Batch and EventBridge), the location of
 * and small assertion helpers shared by the unit tests. (The reference system's vectors are read
 * by the conformance suite alone, which says where they are.)
 *
 * Layout of `test/fixtures/`:
 * - `items/<name>.json` → `items/<name>.attributes.json`: a STAC item and the SNS message
 *   attributes published for it.
 * - `payloads/<name>.json`: process payloads.
 * - `events/<name>.json` → `events/<name>.records.json`: an event and the records extraction
 *   yields; `events/sfn-<status>.json`: Step Functions status-change events from EventBridge.
 * - `statedb/create-table.json`: the StateDB `CreateTable` input.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { JsonObject, JsonValue } from '../../shared/json';

/** `test/fixtures`: the repository's own test data. */
export const FIXTURES_DIR = path.resolve(__dirname, '../fixtures');

/** Parses a JSON file. */
export function readJsonFile(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** Parses a fixture, by its path under {@link FIXTURES_DIR} (e.g. `payloads/sentinel-2-cog-archive.json`). */
export function readFixture(name: string): JsonObject {
  return readJsonFile(path.join(FIXTURES_DIR, name)) as JsonObject;
}

/** The names (without `.json`) of the fixtures in `dir` ending in `suffix`, sorted. */
export function fixtureNames(dir: string, suffix: string): string[] {
  return readdirSync(path.join(FIXTURES_DIR, dir))
    .filter((f) => f.endsWith(suffix))
    .map((f) => f.slice(0, -suffix.length))
    .sort();
}

/** A Sentinel-2 L2A process payload for workflow `cog-archive`, with its `id`. */
export function sentinel2Payload(): JsonObject {
  return readFixture('payloads/sentinel-2-cog-archive.json');
}

/** A Landsat process payload whose producer chose its own `id` (`replace` set, workflow `publish-only`). */
export function landsatPayload(): JsonObject {
  return readFixture('payloads/landsat-publish-only.json');
}

/** The error `fn` throws; fails the test when it does not throw. */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to throw');
}

/** The error `promise` rejects with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the promise to reject');
}

/**
 * cirrus-geo's `chain_payload` fixture (tests/test_process_payload.py) made of `payload`: process
 * doubled, the second definition with `chain_filter: filter`; features[0].properties.gsd = 3, then
 * copies fake_id1..3 of it with gsd 2, 1, 0. Changes and returns `payload`.
 */
export function chainPayloadOf(payload: JsonObject, filter: string): JsonObject {
  const p0 = (payload.process as JsonObject[])[0];
  payload.process = [p0, { ...structuredClone(p0), chain_filter: filter }];
  const features = payload.features as JsonObject[];
  (features[0].properties as JsonObject).gsd = 3;
  for (let i = 1; i <= 3; i++) {
    const f = structuredClone(features[0]);
    f.id = `fake_id${i}`;
    (f.properties as JsonObject).gsd = 3 - i;
    features.push(f);
  }
  return payload;
}

/** The ids of STAC items. */
export function featureIds(features: JsonValue[]): string[] {
  return features.map((f) => (f as JsonObject).id as string);
}

/** The SNS messages in the bodies of an SNS-through-SQS event, parsed: the records extraction must yield. */
export function snsMessagesOfBodies(event: JsonObject): JsonObject[] {
  return (event.Records as { body: string }[]).map((r) => JSON.parse((JSON.parse(r.body) as JsonObject).Message as string) as JsonObject);
}
