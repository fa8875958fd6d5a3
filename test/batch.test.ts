/**
 * Integration tests of the batch helpers (README, "`pre-batch` / `post-batch`") and the task wrappers
 * (`lambdaTask`, `batchTask`) on the local stack's S3. CloudWatch Logs (read by post-batch for a
 * failed job) is mocked with aws-sdk-client-mock.
 */
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { handler as postBatchHandler } from '../lambdas/post-batch/index';
import { handler as preBatchHandler } from '../lambdas/pre-batch/index';
import { BatchJobError, cloudWatchLogReader, postBatch, type LogReader } from '../shared/batch';
import type { JsonObject } from '../shared/json';
import { batchTask, lambdaTask } from '../shared/task';
import { makePayload, padding, sqsEvent, sqsRecord, startPipelineStack, uid, type PipelineStack } from './helpers/pipeline';
import { UUID } from './helpers/samples';

const BUCKET = 'cirrus-payloads';

let p: PipelineStack;

beforeAll(async () => {
  p = await startPipelineStack();
});

afterAll(async () => {
  await p?.stop();
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A task function: stamps every feature; `pad` adds a property of that many bytes. */
function stamp(pad = 0): (payload: JsonObject) => JsonObject {
  return (payload) => ({
    ...payload,
    features: (payload.features as JsonObject[]).map((f) => ({
      ...f,
      properties: { ...(f.properties as JsonObject), 'batch:done': true, ...(pad ? { 'batch:pad': padding(pad) } : {}) },
    })),
  });
}

/** The output of a `batch:submitJob.sync` state that succeeded: the job description, with its Parameters. */
function succeededJob(parameters: { url: string; url_out: string }): JsonObject {
  return {
    JobName: 'cirrus-task',
    JobId: '3f1c2e0a-0000-4000-8000-000000000001',
    Status: 'SUCCEEDED',
    Parameters: parameters,
    Container: { ExitCode: 0, LogStreamName: 'cirrus-task/default/0123' },
  };
}

/** The state input post-batch receives when the Batch job failed (Catch with ResultPath $.error). */
function failedJobEvent(attempt: JsonObject | undefined, jobStatusReason = 'Essential container in task exited'): JsonObject {
  const cause = {
    JobName: 'cirrus-task',
    JobId: '3f1c2e0a-0000-4000-8000-000000000000',
    Status: 'FAILED',
    StatusReason: jobStatusReason,
    Attempts: attempt ? [attempt] : [],
  };
  // pre-batch's output, with the error the Catch put at $.error
  return {
    url: `s3://${BUCKET}/cirrus/tmp/batch/x/workflow-y/z/a.json`,
    url_out: `s3://${BUCKET}/cirrus/tmp/batch/x/workflow-y/z/a_out.json`,
    error: { Error: 'States.TaskFailed', Cause: JSON.stringify(cause) },
  };
}

describe('pre-batch', () => {
  it('returns {url, url_out}: url under tmp/batch/<payload_id>/<uuid>.json holding the payload, url_out = _out.json', async () => {
    const payload = makePayload();
    const out = await preBatchHandler(payload);

    expect(Object.keys(out).sort()).toEqual(['url', 'url_out']);
    expect(out.url).toMatch(new RegExp(`^s3://${BUCKET}/cirrus/tmp/batch/${escapeRe(payload.id)}/${UUID}\\.json$`));
    expect(out.url_out).toBe(`${out.url.slice(0, -'.json'.length)}_out.json`);
    expect(await p.getJson(out.url)).toEqual(payload);
    expect(await p.contentType(out.url)).toBe('application/json');
    expect(await p.exists(out.url_out)).toBe(false);

    // The event is read like any record: the same from an SQS message.
    const fromSqs = await preBatchHandler(sqsEvent(sqsRecord(payload)));
    expect(fromSqs.url).not.toBe(out.url);
    expect(await p.getJson(fromSqs.url)).toEqual(payload);
  });

  it('with a {"url"} reference: stores the re-hydrated content under tmp/batch, not the reference', async () => {
    const payload = makePayload();
    const ref = await p.putJson(`cirrus/tmp/oversized/${uid('ref')}.json`, payload);
    const out = await preBatchHandler({ url: ref });

    expect(out.url).not.toBe(ref);
    expect(out.url).toMatch(new RegExp(`^s3://${BUCKET}/cirrus/tmp/batch/${escapeRe(payload.id)}/${UUID}\\.json$`));
    expect(await p.getJson(out.url)).toEqual(payload);
    expect(out.url_out).toBe(out.url.replace(/\.json$/, '_out.json'));
  });
});

describe('batch task round trip: pre-batch → batchTask → post-batch', () => {
  it('returns the task output inline when it fits', async () => {
    const payload = makePayload();
    const pre = await preBatchHandler(payload);
    const written = await batchTask(stamp(), { bucket: p.bucket })(pre);
    expect(written).toBe(pre.url_out);
    expect(await p.getJson(pre.url_out)).toEqual(stamp()(payload));

    const out = await postBatchHandler(succeededJob(pre));
    expect(out).toEqual(stamp()(payload));
  });

  it('returns a reference to the job output when it holds numbers JavaScript would round (a 20-digit integer, 1.0)', async () => {
    const payload = makePayload();
    const pre = await preBatchHandler(payload);
    // What a Python task writes: json.dumps keeps 12345678901234567890 and 1.0 as they are.
    const text = JSON.stringify(payload).replace('"properties":{', '"properties":{"test:big":12345678901234567890,"test:one":1.0,');
    await p.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: pre.url_out.slice(`s3://${BUCKET}/`.length), Body: text }));

    const out = await postBatchHandler(succeededJob(pre));
    expect(out).toEqual({ url: pre.url_out });
    expect(await p.getText(pre.url_out)).toBe(text);
  });

  it('returns a tmp/oversized reference when the output is over the inline limit', async () => {
    const payload = makePayload();
    const pre = await preBatchHandler(payload);
    await batchTask(stamp(130_000), { bucket: p.bucket })(pre);

    const out = await postBatchHandler(succeededJob(pre));
    expect(Object.keys(out)).toEqual(['url']);
    expect(out.url).toMatch(new RegExp(`^s3://${BUCKET}/cirrus/tmp/oversized/${UUID}\\.json$`));
    expect(await p.getJson(String(out.url))).toEqual(stamp(130_000)(payload));
  });
});

describe('post-batch error paths', () => {
  const cw = mockClient(CloudWatchLogsClient);
  afterEach(() => cw.reset());
  afterAll(() => cw.restore());

  const ranAndFailed = {
    Container: { ExitCode: 1, LogStreamName: 'cirrus-task/default/0123456789abcdef', Reason: null },
    StatusReason: 'Essential container in task exited',
  };

  it('raises the error the job logged: "ValueError: bad thing" → name ValueError, message "bad thing"', async () => {
    cw.on(GetLogEventsCommand).resolves({
      events: [{ message: 'Traceback (most recent call last):' }, { message: '  File "task.py", line 3' }, { message: 'ValueError: bad thing' }],
    });
    const readLog = cloudWatchLogReader(new CloudWatchLogsClient({ region: 'us-west-2' }));

    const err = await postBatch(failedJobEvent(ranAndFailed), { bucket: p.bucket, readLog }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('ValueError');
    expect((err as Error).message).toBe('bad thing');
    expect(cw.commandCalls(GetLogEventsCommand).map((c) => c.args[0].input)).toEqual([
      expect.objectContaining({ logGroupName: '/aws/batch/job', logStreamName: 'cirrus-task/default/0123456789abcdef' }),
    ]);

    // The Lambda handler reads the log the same way (its runtime's CloudWatch Logs client).
    const viaHandler = await postBatchHandler(failedJobEvent(ranAndFailed)).catch((e: unknown) => e);
    expect(viaHandler).toMatchObject({ name: 'ValueError', message: 'bad thing' });
  });

  it('a log line without an error name raises UnknownError with the whole line', async () => {
    const readLog: LogReader = cloudWatchLogReader(new CloudWatchLogsClient({ region: 'us-west-2' }));
    cw.on(GetLogEventsCommand).resolves({ events: [{ message: 'Killed' }] });
    const err = await postBatch(failedJobEvent(ranAndFailed), { bucket: p.bucket, readLog }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'UnknownError', message: 'Killed' });
  });

  it('no log line: "container likely never ran" with the Container Reason and the Status Reason', async () => {
    const neverRan = {
      Container: { Reason: 'CannotPullContainerError: pull access denied for cirrus-task' },
      StatusReason: 'Task failed to start',
    };
    const readLog = jest.fn<ReturnType<LogReader>, Parameters<LogReader>>(async () => undefined);

    const noStream = await postBatch(failedJobEvent(neverRan), { bucket: p.bucket, readLog }).catch((e: unknown) => e);
    expect(noStream).toBeInstanceOf(BatchJobError);
    expect((noStream as Error).message).toMatch(/container likely never ran/i);
    expect((noStream as Error).message).toContain('Container Reason: CannotPullContainerError: pull access denied for cirrus-task');
    expect((noStream as Error).message).toContain('Status Reason: Task failed to start');

    // A log stream that holds nothing: the same error.
    const emptyLog = await postBatch(
      failedJobEvent({ ...neverRan, Container: { ...neverRan.Container, LogStreamName: 'cirrus-task/default/empty' } }),
      { bucket: p.bucket, readLog },
    ).catch((e: unknown) => e);
    expect(readLog).toHaveBeenCalledWith('cirrus-task/default/empty');
    expect((emptyLog as Error).message).toMatch(/container likely never ran.*Container Reason: CannotPullContainerError.*Status Reason: Task failed to start/i);
  });

  it('Cause missing or Attempts empty: a clear error', async () => {
    const readLog = jest.fn<ReturnType<LogReader>, Parameters<LogReader>>(async () => undefined);
    const noCause = await postBatch({ Parameters: {}, error: { Error: 'States.TaskFailed' } }, { bucket: p.bucket, readLog }).catch((e: unknown) => e);
    expect(noCause).toBeInstanceOf(BatchJobError);
    expect((noCause as Error).message).toMatch(/Cause/);

    const noAttempts = await postBatch(failedJobEvent(undefined, 'Job was cancelled'), { bucket: p.bucket, readLog }).catch((e: unknown) => e);
    expect(noAttempts).toBeInstanceOf(BatchJobError);
    expect((noAttempts as Error).message).toMatch(/Attempts/);
    expect((noAttempts as Error).message).toContain('Job was cancelled');
    expect(readLog).not.toHaveBeenCalled();
  });
});

describe('lambdaTask wrapper', () => {
  it('inline input and output: calls the function with the payload and returns its result inline', async () => {
    const payload = makePayload();
    const seen: JsonObject[] = [];
    const task = lambdaTask(
      async (input) => {
        seen.push(input);
        return stamp()(input);
      },
      { bucket: p.bucket },
    );
    expect(await task(payload)).toEqual(stamp()(payload));
    expect(seen).toEqual([payload]);
  });

  it('oversized input and output: re-hydrates the {"url"} input and offloads the result under tmp/oversized', async () => {
    const big = stamp(130_000)(makePayload());
    const ref = await p.putJson(`cirrus/tmp/oversized/${uid('in')}.json`, big);
    const seen: JsonObject[] = [];
    const grow = lambdaTask(
      (input) => {
        seen.push(input);
        return { ...input, note: 'grown' };
      },
      { bucket: p.bucket },
    );

    const out = await grow({ url: ref });
    expect(seen).toEqual([big]);
    expect(Object.keys(out)).toEqual(['url']);
    expect(out.url).toMatch(new RegExp(`^s3://${BUCKET}/cirrus/tmp/oversized/${UUID}\\.json$`));
    expect(out.url).not.toBe(ref);
    expect(await p.getJson(String(out.url))).toEqual({ ...big, note: 'grown' });

    // A result that fits again is returned inline.
    const shrink = lambdaTask((input) => ({ ...input, features: [] }), { bucket: p.bucket });
    expect(await shrink({ url: ref })).toEqual({ ...big, features: [] });
  });
});
