/**
 * Nothing a payload says leads a write or read out of its prefix, on the local stack: s3rver is a
 * path-style store that resolves dot segments (as MinIO- and LocalStack-like stores do), so a key
 * with `..` segments really lands elsewhere there. Each case checks that no object exists outside
 * the payload bucket's `cirrus/` root, nor in another bucket.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { handler as postBatchHandler } from '../lambdas/post-batch/index';
import { handler as preBatchHandler } from '../lambdas/pre-batch/index';
import { handler as processHandler } from '../lambdas/process/index';
import type { SQSBatchResponse } from '../lambdas/process/types';
import type { JsonObject } from '../shared/json';
import { handlerRuntime } from '../shared/runtime';
import { batchTask } from '../shared/task';
import { makeItem, makePayload, sqsEvent, sqsRecord, uid, type PipelineStack } from './helpers/pipeline';
import { startMinimalPipeline } from './helpers/pipeline-suite';
import { UUID } from './helpers/samples';

const BUCKET = 'cirrus-payloads';
const OTHER = 'other-bucket';
const PROCESS_BUNDLE = path.resolve(__dirname, '..', 'dist', 'lambdas', 'process', 'index.js');

let p: PipelineStack;

beforeAll(async () => {
  p = await startMinimalPipeline();
  await p.s3.send(new CreateBucketCommand({ Bucket: OTHER }));
});
afterAll(() => p?.stop());

async function keysOf(bucket: string): Promise<string[]> {
  const res = await p.s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (res.Contents ?? []).map((o) => o.Key!);
}

/** No object outside `cirrus/` in the payload bucket, none in the other bucket but those set up. */
async function expectNothingEscaped(otherKeys: string[] = []): Promise<void> {
  expect((await keysOf(BUCKET)).filter((k) => !k.startsWith('cirrus/'))).toEqual([]);
  expect(await keysOf(OTHER)).toEqual(otherKeys);
}

function traversalPayload(id: string): JsonObject {
  return { type: 'FeatureCollection', id, features: [makeItem('i1')], process: [{ workflow: 'minimal' }] };
}

/** Runs one payload through a process handler and checks it was made invalid (a reference that cannot be read fails at extraction), naming the rule. */
async function expectInvalid(handler: (e: unknown) => Promise<unknown>, body: unknown, payloadId: string, rule: RegExp, eventType = 'NOT_A_PROCESS_PAYLOAD'): Promise<void> {
  const record = sqsRecord(body);
  const mark = p.workflowEvents().length;
  const executions = p.stack.sfn.executions().length;
  expect((await handler(sqsEvent(record))) as SQSBatchResponse).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
  const events = p.workflowEvents().slice(mark);
  expect(events.map((e) => [e.event_type, e.payload_id])).toEqual([[eventType, payloadId]]);
  expect(events[0].error).toMatch(rule);
  expect(events[0].input_payload_url).toMatch(new RegExp(`^s3://${BUCKET}/cirrus/tmp/invalid/${UUID}\\.json$`));
  expect(p.stack.sfn.executions().length).toBe(executions);
}

describe('payload ids with dot segments', () => {
  it.each([['../../escaped/workflow-minimal/i1'], ['../../../other-bucket/x/workflow-minimal/i1'], ['c/workflow-minimal/../../../../i1']])(
    'process: %j is invalid (tmp/invalid, reported, never started, no StateDB row)',
    async (id) => {
      await expectInvalid(processHandler, traversalPayload(id), id, /"\.\." path segment/);
      // The item the id's text would key (collections before the first "/workflow-") was never written.
      const [collections, rest] = [id.slice(0, id.indexOf('/workflow-')), id.slice(id.indexOf('/workflow-') + '/workflow-'.length)];
      const Key = { collections_workflow: `${collections}_${rest.slice(0, rest.indexOf('/'))}`, itemids: rest.slice(rest.indexOf('/') + 1) };
      expect((await p.doc.send(new GetCommand({ TableName: p.stack.stateDbTable, Key }))).Item).toBeUndefined();
      await expectNothingEscaped();
    },
  );

  it('pre-batch: refuses a traversal id before writing anything', async () => {
    const id = '../../../escaped/workflow-minimal/i1';
    await expect(preBatchHandler(traversalPayload(id))).rejects.toMatchObject({ name: 'InvalidPayloadIdError', message: expect.stringMatching(/path segment \("\.\."\)/) });
    await expectNothingEscaped();
  });

  it('the built process bundle applies the same rule', async () => {
    expect(existsSync(PROCESS_BUNDLE)).toBe(true);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const bundled = (require(PROCESS_BUNDLE) as { handler: (e: unknown) => Promise<unknown> }).handler;
    const id = '../../escaped-bundle/workflow-minimal/i1';
    await expectInvalid(bundled, traversalPayload(id), id, /"\.\." path segment/);
    await expectNothingEscaped();
  });
});

describe('references', () => {
  it('process: s3://<payload-bucket>/../<other>/key is invalid and the other bucket is not read', async () => {
    const payload = makePayload();
    const key = `secret/${uid('ref')}.json`;
    await p.s3.send(new PutObjectCommand({ Bucket: OTHER, Key: key, Body: JSON.stringify(payload) }));
    await expectInvalid(processHandler, { url: `s3://${BUCKET}/../${OTHER}/${key}` }, 'unknown', /"\.\." path segment/, 'RECORD_EXTRACT_FAILED');
    expect(await p.db.getItem(payload.id)).toBeUndefined();
    await expectNothingEscaped([key]);
    await p.s3.send(new PutObjectCommand({ Bucket: OTHER, Key: key, Body: '' }));
  });

  it('process: a reference key over 1,024 bytes is invalid (tmp/invalid), not retried, even where the store holds it', async () => {
    const payload = makePayload();
    // s3rver does not enforce the key limit (and fails on segments over 255 bytes): 5 × 220 bytes.
    const key = `cirrus/incoming/${Array.from({ length: 5 }, () => 'k'.repeat(220)).join('/')}.json`;
    await p.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: JSON.stringify(payload) }));
    await expectInvalid(processHandler, { url: `s3://${BUCKET}/${key}` }, 'unknown', /1024-byte key limit/, 'RECORD_EXTRACT_FAILED');
    expect(await p.db.getItem(payload.id)).toBeUndefined();
  });

  it('batchTask: a url_out escaping tmp/batch (into another payload’s input.json) is refused before the task runs', async () => {
    const victim = makePayload();
    const victimKey = p.executionKey(victim.id, '11111111-1111-5111-8111-111111111111', 'input.json');
    await p.putJson(victimKey, victim);
    const pre = await preBatchHandler(makePayload());
    let ran = false;
    // The payload bucket of the functions (its reference rule), as a task handler gets it.
    const task = batchTask(
      (x) => {
        ran = true;
        return { ...x, overwritten: true };
      },
      { bucket: () => handlerRuntime(process.env).bucket },
    );
    const err = await task({ url: pre.url, url_out: `s3://${BUCKET}/cirrus/tmp/batch/../../${victimKey.slice('cirrus/'.length)}` }).catch((e: unknown) => e as Error);
    expect(err).toMatchObject({ name: 'InvalidS3UrlError' });
    expect(ran).toBe(false);
    expect(await p.getJson(victimKey)).toEqual(victim);
  });

  it('post-batch: a url_out outside tmp/batch, or in another bucket through "..", is not read', async () => {
    const key = `secret/${uid('out')}.json`;
    await p.s3.send(new PutObjectCommand({ Bucket: OTHER, Key: key, Body: JSON.stringify(makePayload()) }));
    for (const urlOut of [`s3://${BUCKET}/cirrus/tmp/batch/../../../${OTHER}/${key}`, `s3://${OTHER}/${key}`]) {
      await expect(postBatchHandler({ Parameters: { url: `s3://${BUCKET}/cirrus/tmp/batch/x.json`, url_out: urlOut } })).rejects.toMatchObject({ name: 'InvalidS3UrlError' });
    }
    await p.s3.send(new PutObjectCommand({ Bucket: OTHER, Key: key, Body: '' }));
  });

  it('post-batch: a record whose own url (which wins over Parameters.url_out) lies outside tmp/batch is not read', async () => {
    const key = `secret/${uid('url')}.json`;
    await p.s3.send(new PutObjectCommand({ Bucket: OTHER, Key: key, Body: JSON.stringify(makePayload()) }));
    const event = { url: `s3://${OTHER}/${key}`, Parameters: { url_out: `s3://${BUCKET}/cirrus/tmp/batch/x_out.json` } };
    await expect(postBatchHandler(event)).rejects.toMatchObject({ name: 'InvalidS3UrlError' });
    const oversized = await p.putJson(`cirrus/tmp/oversized/${uid('o')}.json`, makePayload());
    await expect(postBatchHandler({ url: oversized })).rejects.toMatchObject({ name: 'InvalidS3UrlError' });
  });

  it('pre-batch: a referenced object that is itself a reference elsewhere is refused; no url_out outside tmp/batch is handed out', async () => {
    const before = await keysOf(OTHER);
    const foreign = `s3://${OTHER}/evil/steal.json`;
    const inner = await p.putJson(`cirrus/tmp/oversized/${uid('nested')}.json`, { url: foreign });
    await expect(preBatchHandler({ url: inner })).rejects.toMatchObject({ name: 'ReferenceNotAllowedError' });
    const traversal = await p.putJson(`cirrus/tmp/oversized/${uid('nested')}.json`, { url: `s3://${BUCKET}/cirrus/tmp/batch/../../executions/x.json` });
    await expect(preBatchHandler({ url: traversal })).rejects.toMatchObject({ name: 'InvalidS3UrlError' });
    const elsewhere = await p.putJson(`cirrus/tmp/oversized/${uid('nested')}.json`, { url: `s3://${BUCKET}/cirrus/tmp/oversized/y.json` });
    await expect(preBatchHandler({ url: elsewhere })).rejects.toMatchObject({ name: 'InvalidS3UrlError' });
    await expectNothingEscaped(before);
  });
});
