/**
 * The process payload model (docs/ARCHITECTURE.md, "Where each rule lives"): validation, id construction, key limits.
 */
import { NotAProcessPayloadError } from '../shared/errors';
import type { JsonObject } from '../shared/json';
import {
  DYNAMODB_MAX_PARTITION_KEY_BYTES,
  DYNAMODB_MAX_SORT_KEY_BYTES,
  PAYLOAD_ID_REGEX,
  buildPayloadId,
  compareCodePoints,
  parsePayloadId,
  processDefinition,
  validateProcessPayload,
  workflowOf,
} from '../shared/payload';
import { PayloadBucket } from '../shared/payload-bucket';
import { landsatPayload, readFixture, sentinel2Payload } from './helpers/fixtures';

function notAProcessPayload(raw: unknown, options?: Parameters<typeof validateProcessPayload>[1]): NotAProcessPayloadError {
  try {
    validateProcessPayload(raw, options);
  } catch (err) {
    expect(err).toBeInstanceOf(NotAProcessPayloadError);
    expect((err as Error).name).toMatch(/^(NotAProcessPayloadError|InvalidPayloadIdError)$/);
    return err as NotAProcessPayloadError;
  }
  throw new Error('expected validateProcessPayload to throw');
}

function feature(id: string, collection?: string): JsonObject {
  const f: JsonObject = { type: 'Feature', id, properties: {} };
  if (collection !== undefined) f.collection = collection;
  return f;
}

function payload(extra: JsonObject = {}, process0: JsonObject = { workflow: 'wf' }): JsonObject {
  return { type: 'FeatureCollection', features: [feature('item-1', 'col-a')], process: [process0], ...extra };
}

const S2_ID = 'sentinel-2-l2a/workflow-cog-archive/S2A_32TMT_20240721_0_L2A';

describe('payload fixtures', () => {
  it('validates the Sentinel-2 payload and keeps it unchanged', () => {
    const p = sentinel2Payload();
    const v = validateProcessPayload(structuredClone(p));
    expect(v.id).toBe(S2_ID);
    expect(v).toEqual(p);
    expect(workflowOf(v)).toBe('cog-archive');
    expect(processDefinition(v)).toBe(v.process[0]);
  });

  it('keeps the id a producer chose, though the features would give another', () => {
    const v = validateProcessPayload(landsatPayload());
    expect(v.id).toBe('landsat-c2-l2/workflow-publish-only/LC09_195027_20240803');
    expect(workflowOf(v)).toBe('publish-only');
  });

  it('builds the id of the Sentinel-2 payload from its features when the id is missing', () => {
    const p = sentinel2Payload();
    delete p.id;
    expect(validateProcessPayload(p).id).toBe(S2_ID);
  });

  it('builds the id of a payload delivered by SNS through SQS without one', () => {
    const event = readFixture('events/sns-through-sqs-multiple.json') as { Records: { body: string }[] };
    const p = JSON.parse(JSON.parse(event.Records[1].body).Message) as JsonObject;
    expect(p).not.toHaveProperty('id');
    expect(validateProcessPayload(p).id).toBe('sentinel-2-l2a/workflow-cog-archive/S2B_31UFU_20240719_0_L2A');
  });

  it('uses process[0].collections of the Landsat payload when given', () => {
    const p = landsatPayload();
    delete p.id;
    (p.process as JsonObject[])[0].collections = 'my-collections';
    expect(validateProcessPayload(p).id).toBe('my-collections/workflow-publish-only/LC09_L2SP_195027_20240803_02_T1');
  });
});

describe('id construction', () => {
  it('uses process[0].collections when given', () => {
    const p = payload({ features: [feature('i1', 'col-z')] }, { workflow: 'wf', collections: 'override' });
    expect(buildPayloadId(p)).toBe('override/workflow-wf/i1');
  });

  it('otherwise joins the sorted unique feature collections with /', () => {
    const p = payload({ features: [feature('i1', 'col-b'), feature('i2', 'col-a'), feature('i3', 'col-b')] });
    expect(buildPayloadId(p)).toBe('col-a/col-b/workflow-wf/i1/i2/i3');
  });

  it('uses "none" when no feature has a collection', () => {
    const p = payload({ features: [feature('i1'), feature('i2')] });
    expect(buildPayloadId(p)).toBe('none/workflow-wf/i1/i2');
  });

  it('ignores features without a collection when others have one', () => {
    const p = payload({ features: [feature('i1'), feature('i2', 'col-a')] });
    expect(buildPayloadId(p)).toBe('col-a/workflow-wf/i1/i2');
  });

  it('sorts item ids', () => {
    const p = payload({ features: [feature('c', 'x'), feature('a', 'x'), feature('b', 'x')] });
    expect(buildPayloadId(p)).toBe('x/workflow-wf/a/b/c');
  });

  it('sorts item ids by code point as Python does', () => {
    // python3 -c "print('/'.join(sorted(['😀','～','a','B','É','b'])))"  →  B/a/b/É/～/😀
    const ids = ['😀', '～', 'a', 'B', 'É', 'b'];
    const p = payload({ features: ids.map((id) => feature(id, 'x')) });
    expect(buildPayloadId(p)).toBe('x/workflow-wf/B/a/b/É/～/😀');
  });

  it('sets the id when validating a payload without one', () => {
    const p = payload({ features: [feature('i2', 'c'), feature('i1', 'c')] });
    expect(validateProcessPayload(p).id).toBe('c/workflow-wf/i1/i2');
  });

  it('rejects a payload without id and without features (field "id")', () => {
    const err = notAProcessPayload({ type: 'FeatureCollection', process: [{ workflow: 'wf' }] });
    expect(err.field).toBe('id');
    expect(err.message).toMatch(/\bid\b/);
    expect(err.message).toMatch(/features/);
  });

  it('rejects a payload without id and with empty features (field "id")', () => {
    expect(notAProcessPayload(payload({ features: [] })).field).toBe('id');
  });

  it('does not build a missing id with setIdIfMissing: false', () => {
    expect(notAProcessPayload(payload(), { setIdIfMissing: false }).field).toBe('id');
  });

  it('rejects a feature without an id when building the id', () => {
    const err = notAProcessPayload(payload({ features: [feature('ok', 'c'), { type: 'Feature', collection: 'c' }] }));
    expect(err.field).toBe('features[1].id');
  });

  it('accepts a payload without features when an id is given, and keeps it as received', () => {
    const v = validateProcessPayload({ id: 'c/workflow-wf/i', process: [{ workflow: 'wf' }] });
    expect(v.id).toBe('c/workflow-wf/i');
    expect('features' in v).toBe(false);
  });
});

describe('validation errors name the field', () => {
  it.each<[string, JsonObject, string]>([
    ['missing process', { type: 'FeatureCollection', id: 'c/workflow-wf/i', features: [] }, 'process'],
    ['process not an array', payload({ id: 'c/workflow-wf/i', process: { workflow: 'wf' } }), 'process'],
    ['empty process', payload({ id: 'c/workflow-wf/i', process: [] }), 'process'],
    ['process[0] a string', payload({ id: 'c/workflow-wf/i', process: ['wf'] }), 'process[0]'],
    ['process[0] null', payload({ id: 'c/workflow-wf/i', process: [null] }), 'process[0]'],
    ['process[0] an array', payload({ id: 'c/workflow-wf/i', process: [[{ workflow: 'wf' }]] }), 'process[0]'],
    ['no workflow', payload({ id: 'c/workflow-wf/i' }, { tasks: {} }), 'process[0].workflow'],
    ['a non-string workflow', payload({ id: 'c/workflow-wf/i' }, { workflow: 42 }), 'process[0].workflow'],
    ['an empty workflow', payload({ id: 'c/workflow-wf/i' }, { workflow: '' }), 'process[0].workflow'],
    ['a workflow with _', payload({ id: 'c/workflow-my_wf/i' }, { workflow: 'my_wf' }), 'process[0].workflow'],
    ['a workflow with /', payload({ id: 'c/workflow-a/b/i' }, { workflow: 'a/b' }), 'process[0].workflow'],
    ['a workflow with a space', payload({ id: 'c/workflow-a b/i' }, { workflow: 'a b' }), 'process[0].workflow'],
    ['type not FeatureCollection', payload({ id: 'c/workflow-wf/i', type: 'Feature' }), 'type'],
    ['features not an array', payload({ id: 'c/workflow-wf/i', features: {} }), 'features'],
    ['a feature that is not an object', payload({ id: 'c/workflow-wf/i', features: ['x'] }), 'features[0]'],
  ])('rejects %s', (_label, raw, field) => {
    const err = notAProcessPayload(raw);
    expect(err.field).toBe(field);
    expect(err.message).toContain(field);
  });

  it.each([[null], [[]], ['text'], [42]])('rejects the non-object %j (field "payload")', (raw) => {
    expect(notAProcessPayload(raw).field).toBe('payload');
  });

  it('accepts workflow names with - and .', () => {
    expect(validateProcessPayload(payload({ id: 'c/workflow-my-wf.v2/i' }, { workflow: 'my-wf.v2' })).id).toBe('c/workflow-my-wf.v2/i');
  });
});

describe('id format', () => {
  it('PAYLOAD_ID_REGEX is ^(.+)/workflow-([^/]+)/(.+)$', () => {
    expect(PAYLOAD_ID_REGEX.source).toBe('^(.+)\\/workflow-([^/]+)\\/(.+)$');
  });

  it('splits an id into collections, workflow and item ids', () => {
    expect(parsePayloadId('sentinel-s2-l2a/workflow-cog-archive/S2B_17HQD_20201103_0_L2A')).toEqual({
      collections: 'sentinel-s2-l2a',
      workflow: 'cog-archive',
      itemids: 'S2B_17HQD_20201103_0_L2A',
    });
    expect(parsePayloadId('a/b/workflow-wf/i1/i2')).toEqual({ collections: 'a/b', workflow: 'wf', itemids: 'i1/i2' });
  });

  it.each([
    ['some-collection/some-workflow/an-item-id'],
    ['workflow-wf/i'],
    ['c/workflow-wf/'],
    ['c/workflow-/i'],
    ['c/workflow-wf'],
    ['c/wf/i'],
  ])('rejects the id %j (field "id")', (id) => {
    expect(parsePayloadId(id)).toBeUndefined();
    const err = notAProcessPayload(payload({ id }));
    expect(err.field).toBe('id');
    expect(err.message).toContain(id);
  });

  it('rejects a non-string id (field "id")', () => {
    expect(notAProcessPayload(payload({ id: 42 })).field).toBe('id');
  });
});

describe('ids over key limits (beyond Cirrus)', () => {
  it('uses the DynamoDB key limits 2048 (partition) and 1024 (sort)', () => {
    expect(DYNAMODB_MAX_PARTITION_KEY_BYTES).toBe(2048);
    expect(DYNAMODB_MAX_SORT_KEY_BYTES).toBe(1024);
  });

  it('accepts item ids of exactly 1024 bytes without a bucket', () => {
    const id = `c/workflow-wf/${'x'.repeat(1024)}`;
    expect(validateProcessPayload(payload({ id })).id).toBe(id);
  });

  it('rejects item ids over 1024 bytes (DynamoDB sort key)', () => {
    const err = notAProcessPayload(payload({ id: `c/workflow-wf/${'x'.repeat(1025)}` }));
    expect(err.field).toBe('id');
    expect(err.message).toMatch(/1024/);
  });

  it('counts item ids in UTF-8 bytes', () => {
    // 513 × "é" = 1026 bytes but only 513 characters.
    expect(notAProcessPayload(payload({ id: `c/workflow-wf/${'é'.repeat(513)}` })).field).toBe('id');
  });

  it('rejects collections and workflow over 2048 bytes (DynamoDB partition key "<collections>_<workflow>")', () => {
    const collections = 'c'.repeat(2048 - '_wf'.length + 1);
    const err = notAProcessPayload(payload({ id: `${collections}/workflow-wf/i` }));
    expect(err.field).toBe('id');
    expect(err.message).toMatch(/2048/);
  });

  it('accepts a partition key of exactly 2048 bytes without a bucket', () => {
    const collections = 'c'.repeat(2048 - '_wf'.length);
    expect(validateProcessPayload(payload({ id: `${collections}/workflow-wf/i` })).id).toMatch(/workflow-wf\/i$/);
  });

  it('rejects an id whose payload keys exceed 1024 bytes in the given bucket', () => {
    const bucket = new PayloadBucket('bucket');
    const id = `c/workflow-wf/${'x'.repeat(1000)}`; // fine for DynamoDB, too long for S3
    expect(validateProcessPayload(payload({ id })).id).toBe(id);
    expect(bucket.keysFit(id)).toBe(false);
    const err = notAProcessPayload(payload({ id }), { bucket });
    expect(err.field).toBe('id');
    expect(err.message).toMatch(/1024/);
  });

  it('accepts the longest id that fits the bucket', () => {
    const bucket = new PayloadBucket('bucket');
    const overhead = 'cirrus/executions/'.length + 1 + 36 + 1 + 'output.json'.length;
    const id = `c/workflow-wf/${'x'.repeat(1024 - overhead - 'c/workflow-wf/'.length)}`;
    expect(validateProcessPayload(payload({ id }), { bucket }).id).toBe(id);
    expect(notAProcessPayload(payload({ id: `${id}x` }), { bucket }).field).toBe('id');
  });
});

describe('compareCodePoints', () => {
  it('orders by code point, placing astral characters after the BMP', () => {
    expect(compareCodePoints('😀', '～')).toBeGreaterThan(0);
    expect(compareCodePoints('a', 'b')).toBeLessThan(0);
    expect(compareCodePoints('ab', 'a')).toBeGreaterThan(0);
    expect(compareCodePoints('same', 'same')).toBe(0);
  });
});
