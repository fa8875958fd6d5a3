/**
 * PayloadBucket conformance (README, "Configuration" and "Key layout") against a real S3 wire protocol (s3rver).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { newPayloadBucket, startS3rverBucket, type LocalS3 } from './helpers/s3rver';
import { rejection, thrown } from './helpers/fixtures';
import { S3Client } from '@aws-sdk/client-s3';
import { clientSettingsFromEnv, createClients, type Clients } from '../shared/clients';
import { DEFAULT_ROOT_PREFIX } from '../shared/config';
import {
  ConfigurationError,
  InvalidS3UrlError,
  NoUrlError,
  PayloadReadError,
  ReferenceNotAllowedError,
  UndefinedPayloadBucketError,
} from '../shared/errors';
import { SerializedPayload, type JsonObject } from '../shared/json';
import { PayloadBucket, S3_MAX_KEY_BYTES, formatUrl, isReference, parseUrl, readPayload, readPayloadUnrestricted } from '../shared/payload-bucket';
import { S2_PAYLOAD_ID as PAYLOAD_ID, UUID } from './helpers/samples';

const EXEC_ID = '492fca12-ae13-5b13-8f98-4873fed8f3d3';

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The S3 client of the buckets that only build keys and URLs: these tests never send anything with it. */
const UNUSED_S3 = { s3: new S3Client({ region: 'us-west-2' }) };

function samplePayload(extra: JsonObject = {}): JsonObject {
  return {
    type: 'FeatureCollection',
    id: PAYLOAD_ID,
    features: [{ type: 'Feature', id: 'S2B_17HQD_20201103_0_L2A', collection: 'sentinel-s2-l2a', properties: { note: 'é 中 😀 "q" \\' } }],
    process: [{ workflow: 'cog-archive', upload_options: {}, tasks: {} }],
    ...extra,
  };
}

describe('root prefix', () => {
  it('defaults to "cirrus"', () => {
    const b = new PayloadBucket('bucket');
    expect(b.layout.rootPrefix).toBe('cirrus');
    expect(DEFAULT_ROOT_PREFIX).toBe('cirrus');
  });

  it('uses a custom root prefix', () => {
    expect(new PayloadBucket('bucket', 'custom').layout.rootPrefix).toBe('custom');
  });

  it('keeps a nested custom root prefix', () => {
    expect(new PayloadBucket('bucket', 'team/custom').layout.rootPrefix).toBe('team/custom');
  });

  it.each([['custom/'], ['/custom'], ['/custom/'], ['//custom//']])('normalises %j to "custom"', (prefix) => {
    expect(new PayloadBucket('bucket', prefix).layout.rootPrefix).toBe('custom');
  });

  it.each([[''], ['/'], ['///']])('treats %j (empty after stripping) as the default', (prefix) => {
    expect(new PayloadBucket('bucket', prefix).layout.rootPrefix).toBe('cirrus');
  });

  it.each([
    ['a//b', 'a//b', '//'],
    ['./x', './x', '"."'],
    ['x/.', 'x/.', '"."'],
    ['a/../b', 'a/../b', '".."'],
    ['..', '..', '".."'],
    ['a<LF>b', 'a\nb', 'control character'],
    ['a<NUL>b', 'a\u0000b', 'control character'],
    ['a<DEL>b', 'a\u007fb', 'control character'],
  ])('rejects %s with a ConfigurationError naming the problem', (_label, prefix, reason) => {
    const err = thrown(() => new PayloadBucket('bucket', prefix));
    expect(err).toBeInstanceOf(ConfigurationError);
    expect(err.name).toBe('ConfigurationError');
    expect(err.message).toContain(JSON.stringify(prefix));
    expect(err.message).toContain(reason);
  });

  // U+0080–U+009F are control characters (Unicode category Cc) just like U+0000–U+001F.
  it('rejects a C1 control character (U+0085) with a ConfigurationError', () => {
    const err = thrown(() => new PayloadBucket('bucket', 'a\u0085b'));
    expect(err.name).toBe('ConfigurationError');
  });

  it('reads CIRRUS_PAYLOAD_ROOT_PREFIX in fromEnv and normalises it', () => {
    const b = PayloadBucket.fromEnv({ CIRRUS_PAYLOAD_BUCKET: 'bkt', CIRRUS_PAYLOAD_ROOT_PREFIX: '/custom/' }, UNUSED_S3);
    expect(b.bucketName).toBe('bkt');
    expect(b.layout.rootPrefix).toBe('custom');
    expect(b.layout.prefixTmp).toBe('custom/tmp');
  });

  it('uses the default root in fromEnv when CIRRUS_PAYLOAD_ROOT_PREFIX is unset or empty', () => {
    expect(PayloadBucket.fromEnv({ CIRRUS_PAYLOAD_BUCKET: 'bkt' }, UNUSED_S3).layout.rootPrefix).toBe('cirrus');
    expect(PayloadBucket.fromEnv({ CIRRUS_PAYLOAD_BUCKET: 'bkt', CIRRUS_PAYLOAD_ROOT_PREFIX: '' }, UNUSED_S3).layout.rootPrefix).toBe('cirrus');
  });

  it('rejects a malformed CIRRUS_PAYLOAD_ROOT_PREFIX in fromEnv', () => {
    const err = thrown(() => PayloadBucket.fromEnv({ CIRRUS_PAYLOAD_BUCKET: 'bkt', CIRRUS_PAYLOAD_ROOT_PREFIX: 'a/../b' }, UNUSED_S3));
    expect(err.name).toBe('ConfigurationError');
  });
});

describe('a bucket built without an S3 client', () => {
  it('builds keys and URLs, and refuses every read and write with a ConfigurationError (it builds no client)', async () => {
    const b = new PayloadBucket('bucket');
    expect(b.getInputPayloadUrl(PAYLOAD_ID, EXEC_ID)).toBe(`s3://bucket/cirrus/executions/${PAYLOAD_ID}/${EXEC_ID}/input.json`);
    await expect(b.readPayload('s3://bucket/cirrus/tmp/oversized/x.json')).rejects.toBeInstanceOf(ConfigurationError);
    await expect(b.uploadInputPayload(samplePayload(), PAYLOAD_ID, EXEC_ID)).rejects.toThrow(/without an S3 client/);
  });
});

describe('missing payload bucket', () => {
  it('throws UndefinedPayloadBucketError from fromEnv when CIRRUS_PAYLOAD_BUCKET is missing', () => {
    const err = thrown(() => PayloadBucket.fromEnv({}, UNUSED_S3));
    expect(err).toBeInstanceOf(UndefinedPayloadBucketError);
    expect(err.name).toBe('UndefinedPayloadBucketError');
    expect(err.message).toContain('CIRRUS_PAYLOAD_BUCKET');
  });

  it('throws UndefinedPayloadBucketError from fromEnv when CIRRUS_PAYLOAD_BUCKET is empty', () => {
    const err = thrown(() => PayloadBucket.fromEnv({ CIRRUS_PAYLOAD_BUCKET: '' }, UNUSED_S3));
    expect(err.name).toBe('UndefinedPayloadBucketError');
  });

  it('reads only the environment it is given in fromEnv, never process.env', () => {
    const saved = process.env.CIRRUS_PAYLOAD_BUCKET;
    try {
      process.env.CIRRUS_PAYLOAD_BUCKET = 'from-process-env';
      expect(thrown(() => PayloadBucket.fromEnv({}, UNUSED_S3)).name).toBe('UndefinedPayloadBucketError');
      expect(PayloadBucket.fromEnv({ CIRRUS_PAYLOAD_BUCKET: 'given' }, UNUSED_S3).bucketName).toBe('given');
    } finally {
      if (saved === undefined) delete process.env.CIRRUS_PAYLOAD_BUCKET;
      else process.env.CIRRUS_PAYLOAD_BUCKET = saved;
    }
  });
});

describe('prefix attributes', () => {
  it('has the exact default prefixes, without trailing slashes', () => {
    const b = new PayloadBucket('bucket');
    expect({
      prefixTmp: b.layout.prefixTmp,
      prefixBatch: b.layout.prefixBatch,
      prefixInvalid: b.layout.prefixInvalid,
      prefixOversized: b.layout.prefixOversized,
      prefixExecutions: b.layout.prefixExecutions,
    }).toEqual({
      prefixTmp: 'cirrus/tmp',
      prefixBatch: 'cirrus/tmp/batch',
      prefixInvalid: 'cirrus/tmp/invalid',
      prefixOversized: 'cirrus/tmp/oversized',
      prefixExecutions: 'cirrus/executions',
    });
  });

  it('derives every prefix from a custom root', () => {
    const b = new PayloadBucket('bucket', '/team/custom/');
    expect([b.layout.prefixTmp, b.layout.prefixBatch, b.layout.prefixInvalid, b.layout.prefixOversized, b.layout.prefixExecutions]).toEqual([
      'team/custom/tmp',
      'team/custom/tmp/batch',
      'team/custom/tmp/invalid',
      'team/custom/tmp/oversized',
      'team/custom/executions',
    ]);
  });

  it('builds execPayloadPrefix as <root>/executions/<payload_id>/<execution_id> (pure)', () => {
    expect(new PayloadBucket('bucket').execPayloadPrefix(PAYLOAD_ID, EXEC_ID)).toBe(`cirrus/executions/${PAYLOAD_ID}/${EXEC_ID}`);
  });

  it('builds getInputPayloadUrl and getOutputPayloadUrl without touching S3', () => {
    // No client and no endpoint: a network call would fail, a pure function does not care.
    const b = new PayloadBucket('bucket', 'custom');
    expect(b.getInputPayloadUrl(PAYLOAD_ID, EXEC_ID)).toBe(`s3://bucket/custom/executions/${PAYLOAD_ID}/${EXEC_ID}/input.json`);
    expect(b.getOutputPayloadUrl(PAYLOAD_ID, EXEC_ID)).toBe(`s3://bucket/custom/executions/${PAYLOAD_ID}/${EXEC_ID}/output.json`);
  });
});

describe('parseUrl', () => {
  it('accepts s3://bucket/key/with/slashes', () => {
    expect(parseUrl('s3://bucket/key/with/slashes')).toEqual({ bucket: 'bucket', key: 'key/with/slashes' });
  });

  it('keeps a key that holds spaces and unicode', () => {
    expect(parseUrl('s3://b/a b/é.json')).toEqual({ bucket: 'b', key: 'a b/é.json' });
  });

  it('is also available as PayloadBucket.parseUrl and round-trips formatUrl', () => {
    expect(PayloadBucket.parseUrl(formatUrl('bkt', 'cirrus/tmp/x.json'))).toEqual({ bucket: 'bkt', key: 'cirrus/tmp/x.json' });
  });

  it.each([
    ['http://bucket/key'],
    ['https://bucket.s3.amazonaws.com/key'],
    ['s3://bucket'],
    ['s3://bucket/'],
    ['s3:///key'],
    ['S3://bucket/key'],
    ['s3:/bucket/key'],
    ['bucket/key'],
    [''],
    ['s3://buck et/key'],
  ])('rejects %j with InvalidS3UrlError', (url) => {
    const err = thrown(() => parseUrl(url));
    expect(err).toBeInstanceOf(InvalidS3UrlError);
    expect(err.name).toBe('InvalidS3UrlError');
  });

  it.each([[undefined], [null], [42], [{ url: 's3://bucket/key' }], [['s3://bucket/key']]])('rejects the non-string %j', (url) => {
    expect(thrown(() => parseUrl(url)).name).toBe('InvalidS3UrlError');
  });
});

describe('isReference', () => {
  it('is true for {"url": …} and false for an inline payload', () => {
    expect(isReference({ url: 's3://b/k' })).toBe(true);
    expect(isReference(samplePayload())).toBe(false);
  });
});

describe('keysFit / the 1,024-byte S3 key limit (beyond Cirrus)', () => {
  const b = new PayloadBucket('bucket');
  // Longest key: cirrus/executions/<id>/<36-char uuid>/output.json = 18 + len(id) + 1 + 36 + 1 + 11 bytes.
  const overhead = 'cirrus/executions/'.length + 1 + 36 + 1 + 'output.json'.length;

  it('S3_MAX_KEY_BYTES is 1024', () => {
    expect(S3_MAX_KEY_BYTES).toBe(1024);
  });

  it('fits an id whose output.json key is exactly 1024 bytes', () => {
    const id = `c/workflow-w/${'x'.repeat(1024 - overhead - 'c/workflow-w/'.length)}`;
    expect(b.longestKeyBytes(id)).toBe(1024);
    expect(b.keysFit(id)).toBe(true);
  });

  it('does not fit an id one byte longer', () => {
    const id = `c/workflow-w/${'x'.repeat(1025 - overhead - 'c/workflow-w/'.length)}`;
    expect(b.longestKeyBytes(id)).toBe(1025);
    expect(b.keysFit(id)).toBe(false);
  });

  it('counts multi-byte characters of the id in UTF-8 bytes', () => {
    const ascii = `c/workflow-w/${'x'.repeat(1024 - overhead - 'c/workflow-w/'.length)}`;
    const multi = `${ascii.slice(0, -2)}é`; // one character fewer, same byte count
    expect(b.longestKeyBytes(multi)).toBe(1024);
    expect(b.keysFit(multi)).toBe(true);
    expect(b.keysFit(`${multi.slice(0, -1)}中`)).toBe(false); // 3 bytes instead of 2
  });

  it('accounts for a longer root prefix', () => {
    const id = `c/workflow-w/${'x'.repeat(1024 - overhead - 'c/workflow-w/'.length)}`;
    expect(new PayloadBucket('bucket', 'cirrus2').keysFit(id)).toBe(false);
  });
});

describe('PayloadBucket against s3rver', () => {
  let local: LocalS3;
  let bucketName: string;
  let bucket: PayloadBucket;

  beforeAll(async () => ({ local, name: bucketName, bucket } = await startS3rverBucket('payload-bucket')));
  afterAll(() => local?.stop());

  /** A fresh bucket (for tests that list what was written). */
  async function freshBucket(rootPrefix?: string): Promise<{ name: string; pb: PayloadBucket }> {
    const { name, bucket: pb } = await newPayloadBucket(local, 'fresh', rootPrefix);
    return { name, pb };
  }

  function keyOf(url: string): string {
    const loc = parseUrl(url);
    expect(loc.bucket).toBe(bucketName);
    return loc.key;
  }

  describe('uploadOversizePayload', () => {
    it('writes <root>/tmp/oversized/<uuid>.json and returns its s3:// URL', async () => {
      const url = await bucket.uploadOversizePayload(samplePayload());
      expect(url).toMatch(new RegExp(`^s3://${escapeRegExp(bucketName)}/cirrus/tmp/oversized/${UUID}\\.json$`));
      expect(await local.listKeys(bucketName, 'cirrus/tmp/oversized/')).toContain(keyOf(url));
    });

    it('stores the payload JSON as the body', async () => {
      const p = samplePayload();
      const url = await bucket.uploadOversizePayload(p);
      expect(await local.getText(bucketName, keyOf(url))).toBe(JSON.stringify(p));
    });

    it('stores it with Content-Type: application/json', async () => {
      const url = await bucket.uploadOversizePayload(samplePayload());
      expect(await local.contentType(bucketName, keyOf(url))).toBe('application/json');
    });

    it('uses a new uuid for every upload', async () => {
      const p = samplePayload();
      const [a, b] = await Promise.all([bucket.uploadOversizePayload(p), bucket.uploadOversizePayload(p)]);
      expect(a).not.toBe(b);
    });

    it('stores the text of a SerializedPayload as it is (serialised once)', async () => {
      const p = samplePayload();
      const text = JSON.stringify(p, null, 1); // differs from JSON.stringify(p): proves the text is used
      const url = await bucket.uploadOversizePayload(new SerializedPayload(p, text));
      expect(await local.getText(bucketName, keyOf(url))).toBe(text);
    });

    it('uses a custom root prefix', async () => {
      const { name, pb } = await freshBucket('/custom/');
      const url = await pb.uploadOversizePayload(samplePayload());
      expect(url).toMatch(new RegExp(`^s3://${escapeRegExp(name)}/custom/tmp/oversized/${UUID}\\.json$`));
      expect(await local.listKeys(name)).toEqual([parseUrl(url).key]);
    });
  });

  describe('uploadInvalidPayload', () => {
    it('writes <root>/tmp/invalid/<uuid>.json with the payload JSON and Content-Type', async () => {
      const p = { not: 'a process payload', n: 1 };
      const url = await bucket.uploadInvalidPayload(p);
      expect(url).toMatch(new RegExp(`^s3://${escapeRegExp(bucketName)}/cirrus/tmp/invalid/${UUID}\\.json$`));
      expect(await local.getText(bucketName, keyOf(url))).toBe(JSON.stringify(p));
      expect(await local.contentType(bucketName, keyOf(url))).toBe('application/json');
    });

    it('stores a raw message string as a JSON string', async () => {
      const raw = 'not json at all {';
      const url = await bucket.uploadInvalidPayload(raw);
      expect(url).toMatch(new RegExp(`/cirrus/tmp/invalid/${UUID}\\.json$`));
      expect(JSON.parse(await local.getText(bucketName, keyOf(url)))).toBe(raw);
    });

    it('stores the referenced content for a readable reference', async () => {
      const referenced = samplePayload({ marker: 'invalid-ref' });
      await local.putText(bucketName, 'elsewhere/invalid-ref.json', JSON.stringify(referenced));
      const url = await bucket.uploadInvalidPayload({ url: `s3://${bucketName}/elsewhere/invalid-ref.json` });
      expect(JSON.parse(await local.getText(bucketName, keyOf(url)))).toEqual(referenced);
    });

    it('keeps an unreadable reference as it is (an invalid record is always stored)', async () => {
      const ref = { url: `s3://${bucketName}/does/not/exist.json` };
      const url = await bucket.uploadInvalidPayload(ref);
      expect(JSON.parse(await local.getText(bucketName, keyOf(url)))).toEqual(ref);
    });
  });

  describe('uploadBatchPayload', () => {
    it('writes <prefixBatch>/<id>/<uuid>.json with the payload JSON', async () => {
      const p = samplePayload();
      const url = await bucket.uploadBatchPayload(p);
      expect(url).toMatch(new RegExp(`^s3://${escapeRegExp(bucketName)}/cirrus/tmp/batch/${escapeRegExp(PAYLOAD_ID)}/${UUID}\\.json$`));
      expect(await local.getText(bucketName, keyOf(url))).toBe(JSON.stringify(p));
      expect(await local.contentType(bucketName, keyOf(url))).toBe('application/json');
    });

    it('returns the url of {"url": …} unchanged and writes nothing', async () => {
      const { name, pb } = await freshBucket();
      const ref = { url: 's3://some-other-bucket/some/payload.json' };
      expect(await pb.uploadBatchPayload(ref)).toBe('s3://some-other-bucket/some/payload.json');
      expect(await local.listKeys(name)).toEqual([]);
    });

    it('rejects a payload without a string id', async () => {
      const { name, pb } = await freshBucket();
      await expect(pb.uploadBatchPayload({ type: 'FeatureCollection', features: [] })).rejects.toThrow(/id/);
      expect(await local.listKeys(name)).toEqual([]);
    });
  });

  describe('uploadInputPayload / uploadOutputPayload', () => {
    it('writes input.json under executions/<payload_id>/<execution_id>', async () => {
      const p = samplePayload();
      const url = await bucket.uploadInputPayload(p, PAYLOAD_ID, EXEC_ID);
      expect(url).toBe(`s3://${bucketName}/cirrus/executions/${PAYLOAD_ID}/${EXEC_ID}/input.json`);
      expect(url).toBe(bucket.getInputPayloadUrl(PAYLOAD_ID, EXEC_ID));
      expect(await local.getText(bucketName, `cirrus/executions/${PAYLOAD_ID}/${EXEC_ID}/input.json`)).toBe(JSON.stringify(p));
    });

    it('writes output.json under executions/<payload_id>/<execution_id>', async () => {
      const p = samplePayload({ stage: 'output' });
      const url = await bucket.uploadOutputPayload(p, PAYLOAD_ID, EXEC_ID);
      expect(url).toBe(`s3://${bucketName}/cirrus/executions/${PAYLOAD_ID}/${EXEC_ID}/output.json`);
      expect(url).toBe(bucket.getOutputPayloadUrl(PAYLOAD_ID, EXEC_ID));
      expect(await local.getText(bucketName, `cirrus/executions/${PAYLOAD_ID}/${EXEC_ID}/output.json`)).toBe(JSON.stringify(p));
    });

    it('stores input.json and output.json with Content-Type: application/json', async () => {
      await bucket.uploadInputPayload(samplePayload(), PAYLOAD_ID, 'ct-exec');
      await bucket.uploadOutputPayload(samplePayload(), PAYLOAD_ID, 'ct-exec');
      expect(await local.contentType(bucketName, `cirrus/executions/${PAYLOAD_ID}/ct-exec/input.json`)).toBe('application/json');
      expect(await local.contentType(bucketName, `cirrus/executions/${PAYLOAD_ID}/ct-exec/output.json`)).toBe('application/json');
    });

    it('overwrites the same deterministic key when uploaded again', async () => {
      const { name, pb } = await freshBucket();
      const a = await pb.uploadInputPayload(samplePayload({ v: 1 }), PAYLOAD_ID, EXEC_ID);
      const b = await pb.uploadInputPayload(samplePayload({ v: 2 }), PAYLOAD_ID, EXEC_ID);
      expect(a).toBe(b);
      expect(await local.listKeys(name)).toEqual([`cirrus/executions/${PAYLOAD_ID}/${EXEC_ID}/input.json`]);
      expect(JSON.parse(await local.getText(name, parseUrl(a).key)).v).toBe(2);
    });

    it('lists every execution of a workflow under <root>/executions/<collections>/workflow-<wf>/', async () => {
      const { name, pb } = await freshBucket();
      await pb.uploadInputPayload(samplePayload(), 'c1/workflow-wf/item-a', 'e1');
      await pb.uploadInputPayload(samplePayload(), 'c1/workflow-wf/item-b', 'e2');
      await pb.uploadOutputPayload(samplePayload(), 'c1/workflow-wf/item-a', 'e1');
      await pb.uploadInputPayload(samplePayload(), 'c1/workflow-other/item-a', 'e3');
      await pb.uploadInputPayload(samplePayload(), 'c2/workflow-wf/item-a', 'e4');
      expect(await local.listKeys(name, 'cirrus/executions/c1/workflow-wf/')).toEqual([
        'cirrus/executions/c1/workflow-wf/item-a/e1/input.json',
        'cirrus/executions/c1/workflow-wf/item-a/e1/output.json',
        'cirrus/executions/c1/workflow-wf/item-b/e2/input.json',
      ]);
    });

    it('writes a key of exactly 1024 bytes for the longest id that keysFit accepts', async () => {
      const { name, pb } = await freshBucket();
      const overhead = 'cirrus/executions/'.length + 1 + 36 + 1 + 'output.json'.length;
      let itemids = '';
      const target = 1024 - overhead - 'c/workflow-w/'.length;
      while (itemids.length < target) itemids += itemids.length % 100 === 99 ? '/' : 'x'; // keep path segments short
      const id = `c/workflow-w/${itemids}`;
      expect(pb.keysFit(id)).toBe(true);
      const url = await pb.uploadOutputPayload(samplePayload({ id }), id, EXEC_ID);
      const key = parseUrl(url).key;
      expect(Buffer.byteLength(key, 'utf8')).toBe(1024);
      expect(await local.listKeys(name)).toEqual([key]);
    });
  });

  describe('reference re-hydration on upload', () => {
    const referenced = samplePayload({ marker: 'referenced-content' });
    let refUrl: string;

    beforeAll(async () => {
      await local.putText(bucketName, 'references/payload.json', JSON.stringify(referenced));
      refUrl = `s3://${bucketName}/references/payload.json`;
    });

    it('stores the referenced object, not the reference, for input.json', async () => {
      const url = await bucket.uploadInputPayload({ url: refUrl }, PAYLOAD_ID, 'rehydrate-in');
      const stored = JSON.parse(await local.getText(bucketName, keyOf(url)));
      expect(stored).toEqual(referenced);
      expect(stored).not.toHaveProperty('url');
    });

    it('stores the referenced object, not the reference, for output.json', async () => {
      const url = await bucket.uploadOutputPayload({ url: refUrl }, PAYLOAD_ID, 'rehydrate-out');
      expect(JSON.parse(await local.getText(bucketName, keyOf(url)))).toEqual(referenced);
    });

    it('stores the referenced object, not the reference, for an oversized upload', async () => {
      const url = await bucket.uploadOversizePayload({ url: refUrl });
      expect(JSON.parse(await local.getText(bucketName, keyOf(url)))).toEqual(referenced);
    });

    it('re-hydrates a reference wrapped in a SerializedPayload', async () => {
      const url = await bucket.uploadInputPayload(new SerializedPayload({ url: refUrl }), PAYLOAD_ID, 'rehydrate-ser');
      expect(JSON.parse(await local.getText(bucketName, keyOf(url)))).toEqual(referenced);
    });

    it('fails with PayloadReadError when the referenced object is missing, writing nothing', async () => {
      const { name, pb } = await freshBucket();
      const err = await rejection(pb.uploadInputPayload({ url: `s3://${name}/missing.json` }, PAYLOAD_ID, EXEC_ID));
      expect(err.name).toBe('PayloadReadError');
      expect(await local.listKeys(name)).toEqual([]);
    });
  });

  describe('readPayload / resolve', () => {
    it('reads and parses the object at an s3:// URL', async () => {
      const p = samplePayload({ marker: 'read' });
      await local.putText(bucketName, 'read/ok.json', JSON.stringify(p));
      expect(await bucket.readPayload(`s3://${bucketName}/read/ok.json`)).toEqual(p);
    });

    it('round-trips what an upload wrote', async () => {
      const p = samplePayload({ marker: 'roundtrip' });
      const url = await bucket.uploadOversizePayload(p);
      expect(await bucket.readPayload(url)).toEqual(p);
    });

    it('throws PayloadReadError for a missing object', async () => {
      const err = await rejection(bucket.readPayload(`s3://${bucketName}/read/missing.json`));
      expect(err).toBeInstanceOf(PayloadReadError);
      expect(err.message).toContain(`s3://${bucketName}/read/missing.json`);
    });

    it('throws PayloadReadError for an object that is not JSON', async () => {
      await local.putText(bucketName, 'read/not-json.json', '{"truncated": ');
      const err = await rejection(bucket.readPayload(`s3://${bucketName}/read/not-json.json`));
      expect(err.name).toBe('PayloadReadError');
      expect(err.message).toMatch(/not valid JSON/);
    });

    it('throws PayloadReadError for JSON that is not an object', async () => {
      await local.putText(bucketName, 'read/array.json', '[1, 2, 3]');
      const err = await rejection(bucket.readPayload(`s3://${bucketName}/read/array.json`));
      expect(err.name).toBe('PayloadReadError');
    });

    it('throws InvalidS3UrlError for a malformed URL', async () => {
      expect((await rejection(bucket.readPayload('https://example.com/x.json'))).name).toBe('InvalidS3UrlError');
    });

    it('resolve returns an inline payload unchanged and re-hydrates a reference', async () => {
      const p = samplePayload({ marker: 'resolve' });
      await local.putText(bucketName, 'read/resolve.json', JSON.stringify(p));
      const inline = samplePayload();
      expect(await bucket.resolve(inline)).toBe(inline);
      expect(await bucket.resolve({ url: `s3://${bucketName}/read/resolve.json` })).toEqual(p);
    });
  });

  describe('readPayloadUnrestricted (Cirrus payload_from_s3, any bucket)', () => {
    it('is what the deprecated name readPayload refers to', () => {
      expect(readPayload).toBe(readPayloadUnrestricted);
    });

    it('refuses a call without { s3 } with a ConfigurationError (the library creates no client)', async () => {
      const call = readPayloadUnrestricted as (record: string, options?: unknown) => Promise<unknown>;
      await expect(call('s3://bucket/x.json')).rejects.toThrow(ConfigurationError);
    });

    it('reads a {"url"} record', async () => {
      const p = samplePayload({ marker: 'module' });
      await local.putText(bucketName, 'module/ok.json', JSON.stringify(p));
      expect(await readPayloadUnrestricted({ url: `s3://${bucketName}/module/ok.json` }, { s3: local.s3 })).toEqual(p);
    });

    it('reads a URL string', async () => {
      const p = samplePayload({ marker: 'module-str' });
      await local.putText(bucketName, 'module/str.json', JSON.stringify(p));
      expect(await readPayloadUnrestricted(`s3://${bucketName}/module/str.json`, { s3: local.s3 })).toEqual(p);
    });

    it('throws NoUrlError for a record without url', async () => {
      const err = await rejection(readPayloadUnrestricted(samplePayload(), { s3: local.s3 }));
      expect(err).toBeInstanceOf(NoUrlError);
      expect(err.name).toBe('NoUrlError');
    });

    it('throws PayloadReadError for a missing object', async () => {
      const err = await rejection(readPayloadUnrestricted({ url: `s3://${bucketName}/module/missing.json` }, { s3: local.s3 }));
      expect(err.name).toBe('PayloadReadError');
    });
  });

  describe('a client set (createClients, as the runtime builds it) from AWS_ENDPOINT_URL_S3', () => {
    const VARS = ['AWS_ENDPOINT_URL_S3', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION'] as const;
    const saved: Partial<Record<(typeof VARS)[number], string>> = {};
    let clients: Clients;

    beforeAll(() => {
      for (const v of VARS) saved[v] = process.env[v];
      process.env.AWS_ENDPOINT_URL_S3 = local.endpoint;
      process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
      process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
      process.env.AWS_REGION = 'us-west-2';
      clients = createClients(clientSettingsFromEnv(process.env));
    });

    afterAll(() => {
      clients.destroy();
      for (const v of VARS) {
        if (saved[v] === undefined) delete process.env[v];
        else process.env[v] = saved[v];
      }
    });

    it('works against a local endpoint with path-style addressing', async () => {
      const pb = PayloadBucket.fromEnv({ CIRRUS_PAYLOAD_BUCKET: bucketName }, { s3: clients.s3 });
      const p = samplePayload({ marker: 'env-endpoint' });
      const url = await pb.uploadInputPayload(p, PAYLOAD_ID, 'env-endpoint');
      expect(url).toBe(`s3://${bucketName}/cirrus/executions/${PAYLOAD_ID}/env-endpoint/input.json`);
      expect(JSON.parse(await local.getText(bucketName, keyOf(url)))).toEqual(p);
      expect(await pb.readPayload(url)).toEqual(p);
      expect(await readPayloadUnrestricted({ url }, { s3: clients.s3 })).toEqual(p);
    });
  });

  describe('reference allow-list (CIRRUS_REFERENCE_BUCKETS)', () => {
    let refBucket: string;
    let otherBucket: string;
    const content = samplePayload({ marker: 'allow-list' });

    beforeAll(async () => {
      refBucket = await local.createBucket('refs');
      otherBucket = await local.createBucket('other');
      for (const b of [bucketName, refBucket, otherBucket]) await local.putText(b, 'ref/p.json', JSON.stringify(content));
    });

    function fromEnv(referenceBuckets?: string): PayloadBucket {
      const env: Record<string, string> = { CIRRUS_PAYLOAD_BUCKET: bucketName };
      if (referenceBuckets !== undefined) env.CIRRUS_REFERENCE_BUCKETS = referenceBuckets;
      return PayloadBucket.fromEnv(env, { s3: local.s3 });
    }

    it('reads references in the payload bucket', async () => {
      expect(await fromEnv(refBucket).readPayload(`s3://${bucketName}/ref/p.json`)).toEqual(content);
    });

    it('reads references in a listed reference bucket', async () => {
      expect(await fromEnv(` ${refBucket} , ,extra`).readPayload(`s3://${refBucket}/ref/p.json`)).toEqual(content);
    });

    it('rejects a reference to any other bucket with ReferenceNotAllowedError', async () => {
      const err = await rejection(fromEnv(refBucket).readPayload(`s3://${otherBucket}/ref/p.json`));
      expect(err).toBeInstanceOf(ReferenceNotAllowedError);
      expect(err.name).toBe('ReferenceNotAllowedError');
      expect(err.message).toContain(otherBucket);
    });

    it('allows only the payload bucket when CIRRUS_REFERENCE_BUCKETS is unset', async () => {
      const pb = fromEnv();
      expect(await pb.readPayload(`s3://${bucketName}/ref/p.json`)).toEqual(content);
      expect((await rejection(pb.readPayload(`s3://${refBucket}/ref/p.json`))).name).toBe('ReferenceNotAllowedError');
    });

    it('refuses to re-hydrate a disallowed reference on upload', async () => {
      const err = await rejection(fromEnv(refBucket).uploadInputPayload({ url: `s3://${otherBucket}/ref/p.json` }, PAYLOAD_ID, 'disallowed'));
      expect(err.name).toBe('ReferenceNotAllowedError');
      await expect(local.getText(bucketName, `cirrus/executions/${PAYLOAD_ID}/disallowed/input.json`)).rejects.toThrow();
    });

    it('allows any bucket when constructed without a reference list', async () => {
      expect(await bucket.readPayload(`s3://${otherBucket}/ref/p.json`)).toEqual(content);
    });
  });
});

describe('one module owns the layout', () => {
  const ROOT = path.resolve(__dirname, '..');

  function sources(dir: string): string[] {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return [];
    }
    return entries.flatMap((e) => {
      const full = path.join(dir, e);
      if (statSync(full).isDirectory()) return e === 'node_modules' ? [] : sources(full);
      return /\.(ts|mts|cts)$/.test(e) && !e.endsWith('.d.ts') ? [full] : [];
    });
  }

  it('no runtime module other than shared/payload-bucket.ts calls S3 PutObject', () => {
    const offenders = ['shared', 'lambdas', 'cli', 'cdk']
      .flatMap((d) => sources(path.join(ROOT, d)))
      .filter((f) => path.relative(ROOT, f) !== path.join('shared', 'payload-bucket.ts'))
      .filter((f) => /\bPutObjectCommand\b/.test(readFileSync(f, 'utf8')))
      .map((f) => path.relative(ROOT, f));
    expect(offenders).toEqual([]);
  });
});

describe('PayloadBucket.readPayload with a record', () => {
  it('reads the url of a {"url": …} record and rejects a record without url (NoUrlError)', async () => {
    const b = new PayloadBucket('some-bucket');
    await expect(b.readPayload({ id: 'x' })).rejects.toMatchObject({ name: 'NoUrlError' });
    await expect(b.readPayload({ url: 'http://not-s3/key' })).rejects.toMatchObject({ name: 'InvalidS3UrlError' });
  });
});
