/**
 * The pure key layout: prefixes under the root, key and URL builders, execution key parsing, and
 * S3's key limit. No bucket and no S3 client are involved.
 */
import { ConfigurationError, InvalidPayloadIdError, NotAProcessPayloadError } from '../shared/errors';
import { PayloadLayout as PublicPayloadLayout } from '../shared/index';
import { PayloadBucket } from '../shared/payload-bucket';
import { INPUT_KEY, OUTPUT_KEY, PayloadLayout, S3_MAX_KEY_BYTES } from '../shared/payload-layout';

const ID = 'sentinel-2-l2a/workflow-cog/S2B_1';
const EXEC = '492fca12-ae13-5b13-8f98-4873fed8f3d3';

describe('PayloadLayout prefixes', () => {
  it('has the root prefix cirrus by default', () => {
    expect(new PayloadLayout().rootPrefix).toBe('cirrus');
  });

  it.each<[keyof PayloadLayout, string]>([
    ['prefixTmp', 'cirrus/tmp'],
    ['prefixBatch', 'cirrus/tmp/batch'],
    ['prefixInvalid', 'cirrus/tmp/invalid'],
    ['prefixOversized', 'cirrus/tmp/oversized'],
    ['prefixExecutions', 'cirrus/executions'],
  ])('puts %s under the default root: %s', (prefix, value) => {
    expect(new PayloadLayout()[prefix]).toBe(value);
  });

  it('normalises the root prefix it is given, as the CDK stack passes it', () => {
    expect(new PayloadLayout('/custom/deep/').prefixTmp).toBe('custom/deep/tmp');
  });

  it('rejects a malformed root prefix', () => {
    expect(() => new PayloadLayout('a//b')).toThrow(ConfigurationError);
  });

  it('is the layout a PayloadBucket holds and delegates to', () => {
    const b = new PayloadBucket('bucket', 'root');
    expect(b.layout).toBeInstanceOf(PayloadLayout);
    expect(b.layout.prefixExecutions).toBe('root/executions');
    expect(b.getInputPayloadUrl(ID, EXEC)).toBe(b.layout.inputUrl('bucket', ID, EXEC));
    expect(PublicPayloadLayout).toBe(PayloadLayout);
  });
});

describe('PayloadLayout keys and URLs', () => {
  const l = new PayloadLayout('root');

  it('builds execution keys and URLs', () => {
    expect(l.execPayloadPrefix(ID, EXEC)).toBe(`root/executions/${ID}/${EXEC}`);
    expect(l.inputKey(ID, EXEC)).toBe(`root/executions/${ID}/${EXEC}/${INPUT_KEY}`);
    expect(l.outputKey(ID, EXEC)).toBe(`root/executions/${ID}/${EXEC}/${OUTPUT_KEY}`);
    expect(l.outputUrl('b', ID, EXEC)).toBe(`s3://b/root/executions/${ID}/${EXEC}/output.json`);
    expect(l.payloadExecutionsPrefix(ID)).toBe(`root/executions/${ID}/`);
  });

  it('builds tmp keys', () => {
    expect(l.oversizedKey('u')).toBe('root/tmp/oversized/u.json');
    expect(l.invalidKey('u')).toBe('root/tmp/invalid/u.json');
    expect(l.batchKey(ID, 'u')).toBe(`root/tmp/batch/${ID}/u.json`);
  });

  it('tells batch keys from other tmp keys', () => {
    expect(l.isBatchKey(l.batchKey(ID, 'u'))).toBe(true);
    expect(l.isBatchKey('root/tmp/invalid/u.json')).toBe(false);
  });

  it('tells keys under the root from keys of a longer prefix', () => {
    expect(l.isPayloadKey('root/x')).toBe(true);
    expect(l.isPayloadKey('rootx/x')).toBe(false);
  });

  it('refuses ids and execution ids whose keys could leave their prefix', () => {
    expect(() => l.inputKey('c/workflow-w/../i', EXEC)).toThrow(InvalidPayloadIdError);
    expect(() => l.payloadExecutionsPrefix('no-workflow')).toThrow(InvalidPayloadIdError);
    for (const bad of ['', '.', '..', 'a/b', 'a\nb']) {
      expect(() => l.execPayloadPrefix(ID, bad)).toThrow(NotAProcessPayloadError);
    }
  });
});

describe('PayloadLayout.parseExecutionKey', () => {
  const l = new PayloadLayout('root');

  it('is the inverse of the key builders', () => {
    expect(l.parseExecutionKey(l.inputKey(ID, EXEC))).toEqual({ payloadId: ID, executionId: EXEC, name: 'input.json' });
    expect(l.parseExecutionKey(l.outputKey(ID, EXEC))).toEqual({ payloadId: ID, executionId: EXEC, name: 'output.json' });
  });

  it('gives the longer id for keys of an id that continues another with /…', () => {
    expect(l.parseExecutionKey(`root/executions/${ID}/more/${EXEC}/input.json`)?.payloadId).toBe(`${ID}/more`);
  });

  it.each([
    ['another root', `other/executions/${ID}/${EXEC}/input.json`],
    ['the tmp prefix', `root/tmp/batch/${ID}/${EXEC}.json`],
    ['another object name', `root/executions/${ID}/${EXEC}/input.txt`],
    ['no execution id', `root/executions/${ID}/input.json`],
    ['an id without /workflow-', `root/executions/a/b/${EXEC}/input.json`],
    ['an id with a dot segment', `root/executions/c/workflow-w/./i/${EXEC}/output.json`],
  ])('refuses a key under %s', (_what, key) => {
    expect(l.parseExecutionKey(key)).toBeUndefined();
  });
});

describe('PayloadLayout key limits', () => {
  it('measures the longest key in UTF-8 bytes against S3 limit', () => {
    const l = new PayloadLayout();
    const fixed = 'cirrus/executions/'.length + 1 + 36 + 1 + 'output.json'.length;
    const id = `c/workflow-w/${'x'.repeat(S3_MAX_KEY_BYTES - fixed - 'c/workflow-w/'.length)}`;
    expect(l.longestKeyBytes(id)).toBe(S3_MAX_KEY_BYTES);
    expect(l.keysFit(id)).toBe(true);
    expect(l.keysFit(`${id}é`)).toBe(false);
  });
});
