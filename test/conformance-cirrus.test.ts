/**
 * Conformance with the reference system: the test vectors of cirrus-geo's own test suite, read from
 * `<repo>/../shared/fixtures/cirrus` (beside the repository in this project's CI only). Where that
 * folder is absent, jest.config.js leaves this suite out and says so in one line; `.ci/run` fails
 * when it did not run in CI.
 *
 * - `events/*.json` → `*.json.expected`: records extracted from SQS, SNS, SNS-through-SQS, bare and
 *   Batch `Parameters.url_out` events.
 * - `items/*.json` → `*.json.expected`: SNS message attributes of a published item.
 * - `test-payload.json`, `basic_payload.json`, `sqs-event.json`: payload ids and chaining.
 * - `statedb-schema.json`: the StateDB table definition.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { filterFeatures, nextPayloads } from '../shared/chain';
import { itemAttributes } from '../shared/item-attributes';
import type { JsonObject, JsonValue } from '../shared/json';
import { validateProcessPayload, workflowOf } from '../shared/payload';
import { extractEventRecords } from '../shared/records';
import { createTableInput } from '../shared/statedb-schema';
import { chainPayloadOf, featureIds, readJsonFile, snsMessagesOfBodies } from './helpers/fixtures';

/**
 * `<repo>/../shared/fixtures/cirrus`: test vectors of the reference system (cirrus-geo), present
 * beside the repository only in this project's CI; jest leaves this suite out elsewhere.
 */
const REFERENCE_FIXTURES_DIR = path.resolve(__dirname, '../../shared/fixtures/cirrus');

if (!existsSync(REFERENCE_FIXTURES_DIR)) {
  throw new Error(`conformance-cirrus: the reference vectors are not at ${REFERENCE_FIXTURES_DIR} (they exist beside the repository in CI only)`);
}

function reference(name: string): JsonObject {
  return readJsonFile(path.join(REFERENCE_FIXTURES_DIR, name)) as JsonObject;
}

function vectors(dir: string): string[] {
  return readdirSync(path.join(REFERENCE_FIXTURES_DIR, dir))
    .filter((f) => f.endsWith('.json'))
    .sort();
}

describe('conformance: record extraction (events/)', () => {
  const names = vectors('events');

  it('finds the SQS, SNS, SNS-through-SQS, bare and Batch vectors', () => {
    expect(names).toEqual(
      expect.arrayContaining([
        'plain-batch-url.json',
        'plain.json',
        'sns-multiple.json',
        'sns-single.json',
        'sns-sqs-multiple.json',
        'sns-sqs-single.json',
        'sqs-multiple.json',
        'sqs-single.json',
      ]),
    );
  });

  it.each(names)('extracts %s as its .json.expected', (name) => {
    expect(extractEventRecords(reference(`events/${name}`))).toEqual(readJsonFile(path.join(REFERENCE_FIXTURES_DIR, 'events', `${name}.expected`)));
  });

  it('extracts sqs-event.json (SNS through SQS) to the SNS Message of each body', () => {
    const event = reference('sqs-event.json');
    const records = extractEventRecords(event);
    expect(records).toEqual(snsMessagesOfBodies(event));
    expect(records[0]).toMatchObject({ type: 'FeatureCollection', process: [expect.objectContaining({ workflow: 'publish-sentinel' })] });
  });
});

describe('conformance: item SNS attributes (items/)', () => {
  const names = vectors('items');

  it('finds the item vectors', () => {
    expect(names).toEqual(expect.arrayContaining(['item.json', 'item_alt.json', 'item_no_properties.json']));
  });

  it.each(names)('builds the attributes of %s as its .json.expected', (name) => {
    expect(itemAttributes(reference(`items/${name}`))).toEqual(reference(`items/${name}.expected`));
  });
});

describe('conformance: payload ids', () => {
  it('validates test-payload.json and keeps it unchanged', () => {
    const p = reference('test-payload.json');
    const v = validateProcessPayload(structuredClone(p));
    expect(v.id).toBe('sentinel-s2-l2a/workflow-cog-archive/S2B_17HQD_20201103_0_L2A');
    expect(v).toEqual(p);
    expect(workflowOf(v)).toBe('cog-archive');
  });

  it('builds the id of test-payload.json from its features when the id is missing', () => {
    const p = reference('test-payload.json');
    delete p.id;
    expect(validateProcessPayload(p).id).toBe('sentinel-s2-l2a/workflow-cog-archive/S2B_17HQD_20201103_0_L2A');
  });

  it('keeps the id of basic_payload.json', () => {
    const v = validateProcessPayload(reference('basic_payload.json'));
    expect(v.id).toBe('test/workflow-test-workflow1/test-item');
    expect(workflowOf(v)).toBe('test-workflow1');
  });

  it('uses process[0].collections of basic_payload.json when given', () => {
    const p = reference('basic_payload.json');
    delete p.id;
    (p.process as JsonObject[])[0].collections = 'my-collections';
    expect(validateProcessPayload(p).id).toBe('my-collections/workflow-test-workflow1/dummy-item');
  });

  it('builds the id of the payload in sqs-event.json (cirrus test_from_event)', () => {
    const event = reference('sqs-event.json') as { Records: { body: string }[] };
    const p = JSON.parse((JSON.parse(event.Records[0].body) as JsonObject).Message as string) as JsonObject;
    expect(p).not.toHaveProperty('id');
    expect(validateProcessPayload(p).id).toBe('sentinel-s2-l2a-aws/workflow-publish-sentinel/tiles-17-H-QD-2020-11-3-0');
  });
});

describe('conformance: chaining (cirrus chain_payload of tests/test_process_payload.py)', () => {
  /** test-payload.json with process doubled and copies fake_id1..3 of the item, gsd 3, 2, 1, 0. */
  const chainPayload = (filter: string): JsonObject => chainPayloadOf(reference('test-payload.json'), filter);
  const ids = featureIds;

  it("keeps only fake_id3 for \"@.id =~ 'fake*' & @.properties.gsd <= 0\"", () => {
    const next = nextPayloads(chainPayload("@.id =~ 'fake*' & @.properties.gsd <= 0"));
    expect(next).toHaveLength(1);
    expect(ids(next[0].features as JsonValue[])).toEqual(['fake_id3']);
  });

  it('filters on a colon key of the reference item (eo:cloud_cover 51.56)', () => {
    const p = chainPayload('@.properties.eo:cloud_cover > 50');
    expect(ids(filterFeatures(p.features as JsonValue[], '@.properties.eo:cloud_cover > 50'))).toEqual(['S2B_17HQD_20201103_0_L2A', 'fake_id1', 'fake_id2', 'fake_id3']);
  });
});

describe('conformance: StateDB table (statedb-schema.json)', () => {
  it('createTableInput equals the reference definition apart from the table name', () => {
    const ref = reference('statedb-schema.json');
    expect(createTableInput(String(ref.TableName))).toEqual(ref);
  });
});
