/**
 * AWS Batch helpers (README, "`pre-batch` / `post-batch`") against s3rver: pre-batch stores the payload under
 * tmp/batch, post-batch reads the job output back or raises the job's error.
 */
import { startS3rverBucket, type LocalS3 } from './helpers/s3rver';
import { BatchJobError, outputUrlFor, postBatch, preBatch, singleRecord } from '../shared/batch';
import { ConfigurationError, RecordExtractError } from '../shared/errors';
import { batchTask, lambdaTask } from '../shared/task';
import type { JsonObject } from '../shared/json';
import { PayloadBucket, parseUrl } from '../shared/payload-bucket';
import { S2_PAYLOAD_ID as PAYLOAD_ID, UUID } from './helpers/samples';
import { noBatchLog } from './helpers/deps';


function payload(extra: JsonObject = {}): JsonObject {
  return { type: 'FeatureCollection', id: PAYLOAD_ID, features: [], process: [{ workflow: 'cog-archive' }], ...extra };
}

describe('outputUrlFor / singleRecord', () => {
  it('replaces the final .json by _out.json', () => {
    expect(outputUrlFor('s3://b/cirrus/tmp/batch/c/workflow-w/i/x.json')).toBe('s3://b/cirrus/tmp/batch/c/workflow-w/i/x_out.json');
  });

  it('rejects an event with several records', () => {
    expect(() => singleRecord({ Records: [{ body: '{}' }, { body: '{}' }] })).toThrow(RecordExtractError);
  });
});

describe('pre-batch and post-batch against s3rver', () => {
  let local: LocalS3;
  let name: string;
  let bucket: PayloadBucket;

  beforeAll(async () => ({ local, name, bucket } = await startS3rverBucket('batch')));
  afterAll(() => local?.stop());

  it('pre-batch stores a payload under tmp/batch/<payload_id>/<uuid>.json and returns {url, url_out}', async () => {
    const p = payload();
    const r = await preBatch(p, bucket);
    expect(r.url).toMatch(new RegExp(`^s3://${name}/cirrus/tmp/batch/${PAYLOAD_ID}/${UUID}\\.json$`));
    expect(r.url_out).toBe(r.url.replace(/\.json$/, '_out.json'));
    expect(JSON.parse(await local.getText(name, parseUrl(r.url).key))).toEqual(p);
  });

  it('pre-batch re-hydrates a {"url"} reference and stores its content under tmp/batch', async () => {
    const p = payload({ marker: 'referenced' });
    await local.putText(name, 'refs/p.json', JSON.stringify(p));
    const r = await preBatch({ url: `s3://${name}/refs/p.json` }, bucket);
    expect(r.url).toMatch(new RegExp(`/cirrus/tmp/batch/${PAYLOAD_ID}/${UUID}\\.json$`));
    expect(JSON.parse(await local.getText(name, parseUrl(r.url).key))).toEqual(p);
  });

  it('pre-batch reads a payload delivered through SQS', async () => {
    const r = await preBatch({ Records: [{ messageId: 'm', body: JSON.stringify(payload()) }] }, bucket);
    expect(r.url).toMatch(/\/cirrus\/tmp\/batch\//);
  });

  it('post-batch reads Parameters.url_out and returns the output inline', async () => {
    const out = payload({ stage: 'after batch' });
    await local.putText(name, 'cirrus/tmp/batch/job_out.json', JSON.stringify(out));
    const r = await postBatch({ Parameters: { url: `s3://${name}/cirrus/tmp/batch/job.json`, url_out: `s3://${name}/cirrus/tmp/batch/job_out.json` } }, { bucket, readLog: noBatchLog });
    expect(r).toEqual(out);
  });

  it('post-batch returns an oversized output as a tmp/oversized reference', async () => {
    const out = payload({ pad: 'x'.repeat(130000) });
    await local.putText(name, 'cirrus/tmp/batch/big_out.json', JSON.stringify(out));
    const r = await postBatch({ Parameters: { url_out: `s3://${name}/cirrus/tmp/batch/big_out.json` } }, { bucket, readLog: noBatchLog });
    expect(Object.keys(r)).toEqual(['url']);
    expect(String(r.url)).toMatch(new RegExp(`^s3://${name}/cirrus/tmp/oversized/${UUID}\\.json$`));
    expect(await bucket.readPayload(String(r.url))).toEqual(out);
  });

  it("post-batch raises the job's logged error by name", async () => {
    const cause = { Attempts: [{ Container: { LogStreamName: 'job/default/abc' }, StatusReason: 'Essential container exited' }] };
    const readLog = jest.fn(async () => ({ type: 'ValueError', message: 'bad band' }));
    const err = await postBatch({ error: { Error: 'States.TaskFailed', Cause: JSON.stringify(cause) } }, { bucket, readLog }).catch((e: unknown) => e);
    expect(readLog).toHaveBeenCalledWith('job/default/abc');
    expect(err).toBeInstanceOf(BatchJobError);
    expect((err as Error).name).toBe('ValueError');
    expect((err as Error).message).toBe('bad band');
  });

  it('post-batch carries the container and status reasons when no log can be read', async () => {
    const cause = { Attempts: [{ Container: { Reason: 'CannotPullContainerError' }, StatusReason: 'Task failed to start' }] };
    const err = (await postBatch({ error: { Cause: JSON.stringify(cause) } }, { bucket, readLog: noBatchLog }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(BatchJobError);
    expect(err.message).toContain('CannotPullContainerError');
    expect(err.message).toContain('Task failed to start');
  });

  it('post-batch raises BatchJobError for an error without a JSON Cause', async () => {
    await expect(postBatch({ error: { Cause: 'not json' } }, { bucket, readLog: noBatchLog })).rejects.toBeInstanceOf(BatchJobError);
    await expect(postBatch({ error: {} }, { bucket, readLog: noBatchLog })).rejects.toBeInstanceOf(BatchJobError);
  });
});

describe('task helpers without a bucket', () => {
  it.each([
    ['lambdaTask', lambdaTask],
    ['batchTask', batchTask],
  ] as const)('%s called without { bucket } throws a ConfigurationError naming what it needs', (_name, wrap) => {
    const call = (): unknown => (wrap as (fn: unknown, options?: unknown) => unknown)((p: JsonObject) => p);
    expect(call).toThrow(ConfigurationError);
    expect(call).toThrow(/need \{ bucket \}/);
  });
});
