/**
 * Nothing a payload says can lead a key out of its prefix: the one id rule and the one payload-id
 * parser (shared/payload.ts), the one reference rule (shared/payload-bucket.ts), and a property
 * over random ids and reference URLs that every key the project writes starts with its own prefix,
 * read as a path-style store that resolves dot segments would read it.
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';
import type { S3Client } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { InvalidS3UrlError, NotAProcessPayloadError, PayloadReadError } from '../shared/errors';
import { SerializedPayload, type JsonObject } from '../shared/json';
import { InvalidPayloadIdError, PAYLOAD_ID_REGEX, checkPayloadId, checkRecordedPayloadId, parsePayloadId, validateProcessPayload } from '../shared/payload';
import { keysMayBeBuilt } from '../shared/payload-id';
import { postBatch, preBatch } from '../shared/batch';
import { PayloadBucket, parseUrl } from '../shared/payload-bucket';
import { payloadIdToKey } from '../shared/statedb';
import { noBatchLog } from './helpers/deps';
import { FIXTURES_DIR, rejection } from './helpers/fixtures';

interface IdFixtures {
  rejected: { id: string; rule: string }[];
  processOnly: { id: string; rule: string; collections_workflow: string; itemids: string }[];
  accepted: { id: string; collections_workflow: string; itemids: string }[];
}
const IDS = JSON.parse(readFileSync(path.join(FIXTURES_DIR, 'security/ids.json'), 'utf8')) as IdFixtures;
const EXEC = '492fca12-ae13-5b13-8f98-4873fed8f3d3';

/** Records the commands sent; GetObject answers a small JSON object, or `answer` throws. */
function recordingS3(answer?: (input: { Bucket: string; Key: string }) => void): { s3: S3Client; sent: { command: string; Bucket: string; Key: string }[] } {
  const sent: { command: string; Bucket: string; Key: string }[] = [];
  const s3 = {
    send: async (command: { constructor: { name: string }; input: { Bucket: string; Key: string } }) => {
      sent.push({ command: command.constructor.name, Bucket: command.input.Bucket, Key: command.input.Key });
      answer?.(command.input);
      await Promise.resolve();
      return { Body: { transformToString: async () => '{"type":"FeatureCollection","features":[],"process":[{"workflow":"w"}],"id":"c/workflow-w/i"}' } };
    },
  } as unknown as S3Client;
  return { s3, sent };
}

/** Where a path-style store that resolves dot segments puts `Key` of `Bucket`: `/<bucket>/<key>`. */
function resolved(bucket: string, key: string): string {
  return path.posix.normalize(`/${bucket}/${key}`);
}

function s3Error(name: string, status: number): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
}

/** The error reading a reference fails with when S3 answers GetObject with error `name` (HTTP `status`). */
async function readReferenceAnswered(name: string, status: number): Promise<Error> {
  const { s3 } = recordingS3(() => {
    throw s3Error(name, status);
  });
  const bucket = new PayloadBucket('payloads', 'cirrus', { s3 });
  return rejection(bucket.readPayload('s3://payloads/cirrus/tmp/oversized/x.json'));
}

describe('the id rule', () => {
  it.each(IDS.rejected.map((r) => [r.id, r.rule]))('rejects %j: %s', (id, rule) => {
    expect(parsePayloadId(id)).toBeUndefined();
    expect(() => checkPayloadId(id)).toThrow(InvalidPayloadIdError);
    expect(() => checkPayloadId(id)).toThrow(rule);
    const payload = { type: 'FeatureCollection', id, features: [], process: [{ workflow: 'minimal' }] };
    expect(() => validateProcessPayload(payload)).toThrow(rule);
    expect(() => checkRecordedPayloadId(id)).toThrow(rule);
  });

  it.each(IDS.processOnly.map((r) => [r.id, r.rule, r.collections_workflow, r.itemids]))(
    'refuses %j in process (%s) but keys it as Cirrus does, so update-state can record an execution Cirrus started',
    (id, rule, cw, itemids) => {
      expect(parsePayloadId(id)).toBeUndefined();
      expect(() => checkPayloadId(id)).toThrow(rule);
      const payload = { type: 'FeatureCollection', id, features: [], process: [{ workflow: 'minimal' }] };
      expect(() => validateProcessPayload(payload)).toThrow(rule);
      expect(checkRecordedPayloadId(id)).toMatchObject({ itemids });
      expect(payloadIdToKey(id)).toEqual({ collections_workflow: cw, itemids });
    },
  );

  it('is the rule the bucket applies before it builds any key from an id', async () => {
    const { s3, sent } = recordingS3();
    const bucket = new PayloadBucket('payloads', 'cirrus', { s3 });
    for (const { id } of IDS.rejected) {
      expect(() => bucket.getInputPayloadUrl(id, EXEC)).toThrow(NotAProcessPayloadError);
      await expect(bucket.uploadInputPayload({ id }, id, EXEC)).rejects.toThrow(NotAProcessPayloadError);
      await expect(bucket.uploadOutputPayload({ id }, id, EXEC)).rejects.toThrow(NotAProcessPayloadError);
      await expect(bucket.uploadBatchPayload({ id })).rejects.toThrow(NotAProcessPayloadError);
    }
    for (const { id } of IDS.processOnly) {
      await expect(bucket.uploadBatchPayload({ id })).rejects.toThrow(NotAProcessPayloadError);
    }
    expect(() => bucket.getInputPayloadUrl('c/workflow-w/i', '../x')).toThrow(NotAProcessPayloadError);
    expect(sent).toEqual([]);
  });

  it('keeps the workflow "_" rule and names it', () => {
    expect(() => checkPayloadId('C/workflow-b_c/x1')).toThrow(/workflow part "b_c" contains "_"/);
  });
});

describe('the one payload-id parser', () => {
  it.each(IDS.accepted.map((a) => [a.id, a.collections_workflow, a.itemids]))('%j: StateDB key %j / %j', (id, cw, itemids) => {
    expect(payloadIdToKey(id)).toEqual({ collections_workflow: cw, itemids });
  });

  /** Cirrus's StateDB key: split on "/workflow-", then the second part at its first "/". */
  function cirrusKey(id: string): { collections_workflow: string; itemids: string } {
    const parts1 = id.split('/workflow-');
    const slash = parts1[1].indexOf('/');
    return { collections_workflow: `${parts1[0]}_${parts1[1].slice(0, slash)}`, itemids: parts1[1].slice(slash + 1) };
  }

  it("agrees with Cirrus's id pattern and Cirrus's StateDB key for every id it accepts", () => {
    const segment = fc.stringMatching(/^[-a-z0-9._]{1,6}$/);
    const part = fc.array(fc.oneof(segment, fc.constantFrom('workflow-x', '.', '..', '')), { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));
    fc.assert(
      fc.property(part, fc.stringMatching(/^[-a-z0-9.]{1,6}$/), part, (collections, workflow, itemids) => {
        const id = `${collections}/workflow-${workflow}/${itemids}`;
        const parts = parsePayloadId(id);
        if (!parts) return;
        const m = PAYLOAD_ID_REGEX.exec(id)!;
        expect([m[1], m[2], m[3]]).toEqual([parts.collections, parts.workflow, parts.itemids]);
        expect(payloadIdToKey(id)).toEqual(cirrusKey(id));
      }),
      { numRuns: 500 },
    );
  });
});

describe('the reference rule', () => {
  it.each([
    ['s3://payloads/../other/key.json', '".." path segment'],
    ['s3://payloads/cirrus/./tmp/x.json', '"." path segment'],
    ['s3://payloads/cirrus//x.json', 'empty path segment'],
    ['s3://payloads/dir/', 'empty path segment'],
    ['s3://../other/key.json', 'invalid bucket name'],
    [`s3://payloads/${'k/'.repeat(600)}x`, "over S3's 1024-byte key limit"],
  ])('rejects %j before any read or write (%s)', async (url, rule) => {
    expect(() => parseUrl(url)).toThrow(InvalidS3UrlError);
    expect(() => parseUrl(url)).toThrow(rule);
    const { s3, sent } = recordingS3();
    const bucket = new PayloadBucket('payloads', 'cirrus', { s3, referenceBuckets: [] });
    await expect(bucket.readPayload(url)).rejects.toThrow(InvalidS3UrlError);
    await expect(bucket.uploadBatchOutput(url, { id: 'c/workflow-w/i' })).rejects.toThrow(InvalidS3UrlError);
    expect(sent).toEqual([]);
  });

  it('a batch output URL in the payload bucket under <root>/tmp/batch/ is where the batch output goes', () => {
    const bucket = new PayloadBucket('payloads', 'cirrus');
    expect(bucket.batchOutputLocation('s3://payloads/cirrus/tmp/batch/c/workflow-w/i/u_out.json')).toEqual({ bucket: 'payloads', key: 'cirrus/tmp/batch/c/workflow-w/i/u_out.json' });
  });

  it.each([
    ['leaves <root>/tmp/batch/ by dot segments', 's3://payloads/cirrus/tmp/batch/../../executions/c/workflow-w/i/e/input.json'],
    ['only starts like <root>/tmp/batch', 's3://payloads/cirrus/tmp/batchx/u.json'],
    ['names another bucket', 's3://other/cirrus/tmp/batch/u.json'],
  ])('refuses a batch output URL that %s', (_why, url) => {
    expect(() => new PayloadBucket('payloads', 'cirrus').batchOutputLocation(url)).toThrow(InvalidS3UrlError);
  });

  it.each([
    ['KeyTooLongError', 400],
    ['InvalidArgument', 400],
    ['InvalidObjectState', 403],
    ['MethodNotAllowed', 405],
  ])('an S3 %s (%i) answer to a reference is a PayloadReadError (the record is invalid, not retried)', async (name, status) => {
    const err = await readReferenceAnswered(name, status);
    expect(err).toBeInstanceOf(PayloadReadError);
    expect(err.message).toContain(name);
  });

  it.each([
    ['SlowDown', 503],
    ['ThrottlingException', 400],
    ['TooManyRequests', 429],
    ['InternalError', 500],
  ])('an S3 %s (%i) answer is thrown as it is, to be retried', async (name, status) => {
    expect((await readReferenceAnswered(name, status)).name).toBe(name);
  });
});

describe('property: every key the project writes starts with its own prefix', () => {
  const segment = fc.oneof(
    { weight: 4, arbitrary: fc.stringMatching(/^[-a-zA-Z0-9_.]{1,8}$/) },
    { weight: 2, arbitrary: fc.constantFrom('..', '.', '', 'workflow-wf', '%2e%2e') },
    { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 4 }) },
  );
  const part = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join('/'));
  const id = fc.oneof(
    fc.tuple(part, fc.stringMatching(/^[-a-z0-9.]{1,6}$/), part).map(([c, w, i]) => `${c}/workflow-${w}/${i}`),
    fc.array(segment, { minLength: 1, maxLength: 8 }).map((s) => s.join('/')),
  );
  const url = fc.oneof(
    fc.tuple(fc.constantFrom('payloads', 'other', '..', '.'), part).map(([b, k]) => `s3://${b}/${k}`),
    part.map((k) => `s3://payloads/cirrus/tmp/batch/${k}`),
    fc.string().map((s) => `s3://payloads/${s}`),
  );

  it('every key written for an id stays under <root>/executions/<id>/, <root>/tmp/batch/<id>/ or <root>/tmp/ (and is written for every id the rule accepts)', async () => {
    const seen = { accepted: 0, rejected: 0 };
    await fc.assert(
      fc.asyncProperty(id, async (payloadId) => {
        const { s3, sent } = recordingS3();
        const bucket = new PayloadBucket('payloads', 'cirrus', { s3 });
        const p: JsonObject = { type: 'FeatureCollection', features: [], process: [{ workflow: 'w' }], id: payloadId };
        await bucket.uploadInputPayload(p, payloadId, EXEC).catch(() => undefined);
        await bucket.createInputPayload(new SerializedPayload(p), payloadId, EXEC).catch(() => undefined);
        await bucket.uploadOutputPayload(p, payloadId, EXEC).catch(() => undefined);
        await bucket.uploadBatchPayload(p).catch(() => undefined);
        await preBatch(p, bucket).catch(() => undefined);
        await bucket.uploadInvalidPayload(p).catch(() => undefined);
        await bucket.uploadOversizePayload(p).catch(() => undefined);
        const exec = `/payloads/cirrus/executions/${payloadId}/${EXEC}/`;
        const batch = `/payloads/cirrus/tmp/batch/${payloadId}/`;
        for (const s of sent) {
          const where = resolved(s.Bucket, s.Key);
          expect(where).toBe(`/${s.Bucket}/${s.Key}`);
          expect(where.startsWith(exec) || where.startsWith(batch) || /^\/payloads\/cirrus\/tmp\/(invalid|oversized)\/[^/]+\.json$/.test(where)).toBe(true);
        }
        const puts = sent.filter((s) => s.command === 'PutObjectCommand').length;
        if (parsePayloadId(payloadId)) {
          seen.accepted += 1;
          expect(puts).toBe(7);
        } else if (keysMayBeBuilt(payloadId)) {
          // Refused by process (a second /workflow-, a "_" workflow) but safe to key: update-state
          // writes the execution objects of such an id Cirrus started; batch payloads are refused.
          expect(puts).toBe(5);
        } else {
          seen.rejected += 1;
          expect(puts).toBe(2); // tmp/invalid and tmp/oversized only: no key is built from the id
        }
      }),
      { numRuns: 400 },
    );
    expect(seen.accepted).toBeGreaterThan(20);
    expect(seen.rejected).toBeGreaterThan(20);
  });

  it('references are read only from allowed buckets as written, and batch outputs written only under <root>/tmp/batch/', async () => {
    const seen = { reads: 0, writes: 0 };
    await fc.assert(
      fc.asyncProperty(url, async (ref) => {
        const { s3, sent } = recordingS3();
        const bucket = new PayloadBucket('payloads', 'cirrus', { s3, referenceBuckets: [] });
        await bucket.readPayload(ref).catch(() => undefined);
        await bucket.uploadBatchOutput(ref, { id: 'c/workflow-w/i' }).catch(() => undefined);
        const handedOut = await preBatch({ url: ref }, bucket).catch(() => undefined);
        await postBatch({ Parameters: { url_out: ref } }, { bucket, readLog: noBatchLog }).catch(() => undefined);
        if (handedOut) expect(resolved('payloads', parseUrl(handedOut.url_out).key).startsWith('/payloads/cirrus/tmp/batch/')).toBe(true);
        for (const s of sent) {
          const where = resolved(s.Bucket, s.Key);
          expect(where).toBe(`/${s.Bucket}/${s.Key}`);
          expect(where.startsWith('/payloads/')).toBe(true);
          if (s.command === 'PutObjectCommand') expect(where.startsWith('/payloads/cirrus/tmp/batch/')).toBe(true);
        }
        seen.reads += sent.filter((s) => s.command === 'GetObjectCommand').length;
        seen.writes += sent.filter((s) => s.command === 'PutObjectCommand').length;
      }),
      { numRuns: 400 },
    );
    expect(seen.reads).toBeGreaterThan(20);
    expect(seen.writes).toBeGreaterThan(20);
  });
});
