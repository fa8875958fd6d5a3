/**
 * The one payload-id rule: every function, the StateDB key and the workflow events split an id the
 * same way, and ids whose keys could leave their prefix or share a StateDB item are refused.
 */
import { NotAProcessPayloadError } from '../shared/errors';
import { validateProcessPayload } from '../shared/payload';
import { checkPayloadId, cirrusEventParts, InvalidPayloadIdError, parsePayloadId } from '../shared/payload-id';
import { PayloadBucket } from '../shared/payload-bucket';
import { payloadIdToKey } from '../shared/statedb';

const bucket = new PayloadBucket('payloads', 'cirrus');

function payloadWithId(id: string): Record<string, unknown> {
  return { type: 'FeatureCollection', features: [], process: [{ workflow: 'minimal' }], id };
}

describe('splitting a payload id', () => {
  it('splits collections, workflow and item ids as the StateDB key does', () => {
    expect(checkPayloadId('col-a/col-b/workflow-wf/i1/i2')).toEqual({ collections: 'col-a/col-b', workflow: 'wf', itemids: 'i1/i2' });
    expect(payloadIdToKey('col-a/col-b/workflow-wf/i1/i2')).toEqual({ collections_workflow: 'col-a/col-b_wf', itemids: 'i1/i2' });
  });

  it('refuses an id with "/workflow-" twice, where the events and the StateDB key would name different workflows', () => {
    const id = 'a/workflow-b/c/workflow-d/e';
    expect(parsePayloadId(id)).toBeUndefined();
    expect(() => checkPayloadId(id)).toThrow(InvalidPayloadIdError);
    expect(() => validateProcessPayload(payloadWithId(id))).toThrow(/"\/workflow-" more than once/);
  });

  it('keys such an id as Cirrus does (first "/workflow-", text after the second dropped) and names it in events by the last', () => {
    const id = 'a/workflow-b/c/workflow-d/e';
    expect(payloadIdToKey(id)).toEqual({ collections_workflow: 'a_b', itemids: 'c' });
    expect(cirrusEventParts(id)).toEqual({ collections: 'a/workflow-b/c', workflow: 'd', itemids: 'e' });
  });
});

describe('ids whose keys could leave their prefix are invalid', () => {
  it.each([
    ['a ".." segment', '../../escaped/workflow-minimal/i1', /"\.\."/],
    ['a "." segment', 'c/workflow-minimal/./i1', /"\."/],
    ['an empty segment', 'c//x/workflow-minimal/i1', /empty/],
    ['a trailing empty item segment', 'c/workflow-minimal/i1/', /empty/],
    ['a control character', 'c/workflow-minimal/i\u00011', /control character/],
  ])('%s', (_what, id, rule) => {
    expect(() => validateProcessPayload(payloadWithId(id))).toThrow(NotAProcessPayloadError);
    expect(() => validateProcessPayload(payloadWithId(id))).toThrow(rule);
  });

  it('no payload-bucket key is built for such an id', () => {
    expect(() => bucket.execPayloadPrefix('../../escaped/workflow-minimal/i1', 'e')).toThrow(InvalidPayloadIdError);
    expect(() => bucket.getInputPayloadUrl('c/workflow-minimal/../../../x', 'e')).toThrow(InvalidPayloadIdError);
  });

  it('pre-batch refuses such an id before writing under tmp/batch/', async () => {
    await expect(bucket.uploadBatchPayload(payloadWithId('c/workflow-minimal/../../../../x') as never)).rejects.toThrow(InvalidPayloadIdError);
  });

  it('the workflow part holds no "_" (its StateDB key would be another id\'s)', () => {
    expect(() => checkPayloadId('C/workflow-b_c/x1')).toThrow(/contains "_"/);
  });
});

describe('the built library', () => {
  it('refuses a traversal id as the sources do', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const lib = require('../dist/lib/index.js') as { validateProcessPayload: typeof validateProcessPayload };
    expect(() => lib.validateProcessPayload(payloadWithId('../../escaped/workflow-minimal/i1'))).toThrow(/"\.\." path segment/);
  });
});
