/**
 * Integration tests of the `process` function (README, "`process`") on the local
 * stack: real S3 (s3rver), DynamoDB (dynalite) and Step Functions protocols. Each test uses its
 * own payload ids; the handler is imported from the TypeScript sources.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { handler } from '../lambdas/process/index';
import type { SQSBatchResponse } from '../lambdas/process/types';
import { handlerRuntime } from '../shared/runtime';
import { UndefinedPayloadBucketError } from '../shared/errors';
import type { JsonObject } from '../shared/json';
import { PayloadBucket } from '../shared/payload-bucket';
import { ProcessFailedError, processEvent } from '../shared/process';
import { expectedExecutionName, instrumentS3, makeItem, makePayload, padding, snsEvent, snsThroughSqsRecord, sqsEvent, sqsRecord, uid, type PipelineStack } from './helpers/pipeline';
import { startMinimalPipeline } from './helpers/pipeline-suite';
import { UUID } from './helpers/samples';
import { processDeps } from './helpers/deps';

const BUCKET = 'cirrus-payloads';
const MINIMAL_SM = 'arn:aws:states:us-west-2:123456789012:stateMachine:cirrus-minimal';

let p: PipelineStack;

beforeAll(async () => (p = await startMinimalPipeline()));
afterAll(() => p?.stop());

/** Invokes the handler with an SQS event and returns the partial batch response. */
async function processSqs(...records: ReturnType<typeof sqsRecord>[]): Promise<SQSBatchResponse> {
  return (await handler(sqsEvent(...records))) as SQSBatchResponse;
}

/** The executions whose (inline) input is a payload with this id. */
function executionsOfPayload(id: string): ReturnType<PipelineStack['executionsOf']> {
  return p.stack.sfn.executions().filter((e) => {
    const input = JSON.parse(e.input) as JsonObject;
    return input.id === id;
  });
}

/** Workflow events published from now on: call the returned function to read them. */
function eventsFromNow(): () => ReturnType<PipelineStack['workflowEvents']> {
  const mark = p.workflowEvents().length;
  return () => p.workflowEvents().slice(mark);
}

function consoleUrl(arn: string): string {
  return `https://us-west-2.console.aws.amazon.com/states/home?region=us-west-2#/v2/executions/details/${arn}`;
}

function withProcess0(payload: JsonObject & { id: string }, fields: JsonObject): JsonObject & { id: string } {
  const [p0, ...rest] = payload.process as JsonObject[];
  return { ...payload, process: [{ ...p0, ...fields }, ...rest] };
}

/** Processes a payload once and waits for its execution; returns the execution ARN. */
async function processOnce(payload: JsonObject & { id: string }): Promise<string> {
  expect(await processSqs(sqsRecord(payload))).toEqual({ batchItemFailures: [] });
  const item = await p.db.getItem(payload.id);
  const arn = item!.executions.at(-1)!;
  await p.stack.waitForExecution(arn);
  return arn;
}

describe('process on the local stack', () => {
  it('new payload: claims, stores input.json, starts <base><workflow> named uuid5(<payload_id>/[]), sets PROCESSING and announces', async () => {
    // The independent formula reproduces a known value: the name of this payload's first execution.
    expect(expectedExecutionName('sentinel-2-l2a/workflow-cog-archive/S2B_10TFK_20210713_0_L2A')).toBe('492fca12-ae13-5b13-8f98-4873fed8f3d3');

    const payload = makePayload();
    const events = eventsFromNow();
    expect(await processSqs(sqsRecord(payload))).toEqual({ batchItemFailures: [] });

    const name = expectedExecutionName(payload.id);
    const arn = `arn:aws:states:us-west-2:123456789012:execution:cirrus-minimal:${name}`;
    const item = await p.db.getItem(payload.id);
    expect(item).toMatchObject({ state: 'PROCESSING', executions: [arn] });

    const key = `cirrus/executions/${payload.id}/${name}/input.json`;
    expect(await p.getJson(key)).toEqual(payload);
    expect(await p.contentType(key)).toBe('application/json');

    const d = await p.describe(arn);
    expect(d.name).toBe(name);
    expect(d.stateMachineArn).toBe(MINIMAL_SM);
    expect(JSON.parse(d.input!)).toEqual(payload);
    expect((await p.stack.waitForExecution(arn)).status).toBe('SUCCEEDED');

    const published = events().filter((e) => e.payload_id === payload.id);
    expect(published.map((e) => e.event_type)).toEqual(['CLAIMED_PROCESSING', 'STARTED_PROCESSING']);
    for (const e of published) {
      expect(e.attributes).toEqual({ event_type: e.event_type, workflow: 'minimal', collections: 'sentinel-s2-l2a' });
    }
    expect(published[1]).toMatchObject({ input_payload_url: `s3://${BUCKET}/${key}`, execution: consoleUrl(arn) });
  });

  it('payload without id: builds <sorted collections>/workflow-<workflow>/<sorted item ids>', async () => {
    const a = uid('a');
    const b = uid('b');
    const payload = makePayload({ withoutId: true, features: [makeItem(b, 'sentinel-s2-l2a'), makeItem(a, 'landsat-c2-l2')] });
    expect(payload).not.toHaveProperty('id');
    const id = `landsat-c2-l2/sentinel-s2-l2a/workflow-minimal/${a}/${b}`;

    expect(await processSqs(sqsRecord(payload))).toEqual({ batchItemFailures: [] });

    const name = expectedExecutionName(id);
    const item = await p.db.getItem(id);
    expect(item).toMatchObject({ state: 'PROCESSING', executions: [p.executionArn('minimal', name)] });
    expect(await p.getJson(p.executionKey(id, name, 'input.json'))).toEqual({ ...payload, id });
  });

  it.each([
    ['SQS', (payload: JsonObject) => sqsEvent(sqsRecord(payload)), () => ({ batchItemFailures: [] })],
    ['SNS', (payload: JsonObject) => snsEvent(payload), (id: string) => ({ started: [id], skipped: [], failed: [] })],
    ['SNS through SQS', (payload: JsonObject) => sqsEvent(snsThroughSqsRecord(payload)), () => ({ batchItemFailures: [] })],
    ['bare payload (direct invocation)', (payload: JsonObject) => payload, (id: string) => ({ started: [id], skipped: [], failed: [] })],
  ])('accepts the %s envelope', async (_kind, envelope, response) => {
    const payload = makePayload();
    expect(await handler(envelope(payload))).toEqual(response(payload.id));
    const arn = p.executionArn('minimal', expectedExecutionName(payload.id));
    expect(await p.db.getItem(payload.id)).toMatchObject({ state: 'PROCESSING', executions: [arn] });
    expect(JSON.parse((await p.describe(arn)).input!)).toEqual(payload);
  });

  it('{"url"} reference input: reads the object; input.json and the execution input hold its content', async () => {
    const payload = makePayload();
    const ref = await p.putJson(`incoming/${uid('ref')}.json`, payload);
    expect(await processSqs(sqsRecord({ url: ref }))).toEqual({ batchItemFailures: [] });

    const name = expectedExecutionName(payload.id);
    expect(await p.getJson(p.executionKey(payload.id, name, 'input.json'))).toEqual(payload);
    expect(JSON.parse((await p.describe(p.executionArn('minimal', name))).input!)).toEqual(payload);
  });

  it('oversized payload: input.json holds the full payload; the execution input is a tmp/oversized reference', async () => {
    const itemId = uid('big');
    const payload = makePayload({ itemId, features: [makeItem(itemId, 'sentinel-s2-l2a', { pad: padding(125_000) })] });
    expect(Buffer.byteLength(JSON.stringify(JSON.stringify(payload)))).toBeGreaterThan(120_000);

    expect(await processSqs(sqsRecord(payload))).toEqual({ batchItemFailures: [] });

    const name = expectedExecutionName(payload.id);
    const arn = p.executionArn('minimal', name);
    expect(await p.getJson(p.executionKey(payload.id, name, 'input.json'))).toEqual(payload);
    const input = JSON.parse((await p.describe(arn)).input!) as { url: string };
    expect(Object.keys(input)).toEqual(['url']);
    expect(input.url).toMatch(new RegExp(`^s3://${BUCKET}/cirrus/tmp/oversized/${UUID}\\.json$`));
    expect(await p.getJson(input.url)).toEqual(payload);
    expect(await p.db.getItem(payload.id)).toMatchObject({ state: 'PROCESSING', executions: [arn] });
    // minimal passes a reference through
    expect((await p.stack.waitForExecution(arn)).status).toBe('SUCCEEDED');
  });

  it('measures the size escaped as inside an event: under 120000 bytes of JSON but over it escaped is offloaded; under both is inline', async () => {
    const quoted = makePayload({ process0: { pad: padding(32_000, '"') } });
    expect(Buffer.byteLength(JSON.stringify(quoted))).toBeLessThan(120_000);
    expect(Buffer.byteLength(JSON.stringify(JSON.stringify(quoted)))).toBeGreaterThan(120_000);
    const plain = makePayload({ process0: { pad: padding(100_000) } });
    expect(Buffer.byteLength(JSON.stringify(JSON.stringify(plain)))).toBeLessThan(120_000);

    expect(await processSqs(sqsRecord(quoted), sqsRecord(plain))).toEqual({ batchItemFailures: [] });

    const quotedInput = JSON.parse((await p.describe(p.executionArn('minimal', expectedExecutionName(quoted.id)))).input!) as JsonObject;
    expect(Object.keys(quotedInput)).toEqual(['url']);
    expect(await p.getJson(String(quotedInput.url))).toEqual(quoted);
    const plainInput = JSON.parse((await p.describe(p.executionArn('minimal', expectedExecutionName(plain.id)))).input!) as JsonObject;
    expect(plainInput).toEqual(plain);
  });

  it('invalid JSON body: stores the raw message under tmp/invalid, announces RECORD_EXTRACT_FAILED, reports the message failed', async () => {
    const body = `{"type": "FeatureCollection", "id": "${uid('broken')}", oops`;
    const record = sqsRecord(body);
    const events = eventsFromNow();
    expect(await processSqs(record)).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });

    const fresh = events();
    expect(fresh.map((e) => e.event_type)).toEqual(['RECORD_EXTRACT_FAILED']);
    const url = fresh[0].input_payload_url!;
    expect(url).toMatch(new RegExp(`^s3://${BUCKET}/cirrus/tmp/invalid/${UUID}\\.json$`));
    expect(fresh[0].error).toMatch(/JSON/);
    expect(fresh[0].attributes).toMatchObject({ event_type: 'RECORD_EXTRACT_FAILED' });
    const stored = await p.getJson(url);
    // The raw message: the SQS record, or its body; either way the unparseable text is kept.
    expect(typeof stored === 'string' ? stored : (stored as { body: string }).body).toBe(body);
  });

  it('not a process payload: stores it under tmp/invalid, announces NOT_A_PROCESS_PAYLOAD, reports it failed', async () => {
    const id = `sentinel-s2-l2a/workflow-minimal/${uid('noproc')}`;
    const body = { type: 'FeatureCollection', id, features: [makeItem(id.split('/').at(-1)!)] };
    const record = sqsRecord(body);
    const events = eventsFromNow();
    expect(await processSqs(record)).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });

    const fresh = events();
    expect(fresh.map((e) => [e.event_type, e.payload_id])).toEqual([['NOT_A_PROCESS_PAYLOAD', id]]);
    expect(fresh[0].error).toMatch(/process/);
    expect(fresh[0].input_payload_url).toMatch(new RegExp(`^s3://${BUCKET}/cirrus/tmp/invalid/${UUID}\\.json$`));
    expect(await p.getJson(fresh[0].input_payload_url!)).toEqual(body);
    expect(await p.db.getItem(id)).toBeUndefined();
    expect(executionsOfPayload(id)).toEqual([]);
  });

  it('rerun after SUCCEEDED: skipped with ALREADY_SUCCEEDED, no new execution', async () => {
    const payload = makePayload();
    const first = await processOnce(payload);
    await p.db.setSucceeded(payload.id);

    const events = eventsFromNow();
    expect(await processSqs(sqsRecord(payload))).toEqual({ batchItemFailures: [] });

    expect(executionsOfPayload(payload.id).map((e) => e.executionArn)).toEqual([first]);
    expect(await p.db.getItem(payload.id)).toMatchObject({ state: 'SUCCEEDED', executions: [first] });
    const name = expectedExecutionName(payload.id);
    expect(events().map((e) => [e.event_type, e.payload_id, e.input_payload_url, e.output_payload_url])).toEqual([
      [
        'ALREADY_SUCCEEDED',
        payload.id,
        `s3://${BUCKET}/${p.executionKey(payload.id, name, 'input.json')}`,
        `s3://${BUCKET}/${p.executionKey(payload.id, name, 'output.json')}`,
      ],
    ]);
  });

  it('rerun after SUCCEEDED with replace: true starts a new execution named from the recorded executions', async () => {
    const payload = makePayload();
    const first = await processOnce(payload);
    await p.db.setSucceeded(payload.id);

    const replace = withProcess0(payload, { replace: true });
    expect(await processSqs(sqsRecord(replace))).toEqual({ batchItemFailures: [] });

    const name = expectedExecutionName(payload.id, [first]);
    const second = p.executionArn('minimal', name);
    expect(second).not.toBe(first);
    expect(await p.db.getItem(payload.id)).toMatchObject({ state: 'PROCESSING', executions: [first, second] });
    expect(JSON.parse((await p.describe(second)).input!)).toEqual(replace);
    expect(await p.getJson(p.executionKey(payload.id, name, 'input.json'))).toEqual(replace);
  });

  it.each(['FAILED', 'ABORTED'] as const)('rerun after %s: claims again and starts a new execution', async (state) => {
    const payload = makePayload({ succeed: false });
    const first = await processOnce(payload);
    expect(p.stack.sfn.execution(first)?.status).toBe('FAILED');
    if (state === 'FAILED') await p.db.setFailed(payload.id, 'WorkflowFailed: process[0].succeed is not true');
    else await p.db.setAborted(payload.id);

    const events = eventsFromNow();
    expect(await processSqs(sqsRecord(payload))).toEqual({ batchItemFailures: [] });

    const second = p.executionArn('minimal', expectedExecutionName(payload.id, [first]));
    const item = await p.db.getItem(payload.id);
    expect(item).toMatchObject({ state: 'PROCESSING', executions: [first, second] });
    expect(item?.lastError).toBeUndefined();
    expect(JSON.parse((await p.describe(second)).input!)).toEqual(payload);
    expect(events().map((e) => e.event_type)).toEqual(['CLAIMED_PROCESSING', 'STARTED_PROCESSING']);
  });

  it('processEvent with another environment plans the execution name from the console URLs of its region, not process.env\'s', async () => {
    const payload = makePayload({ succeed: false });
    const first = await processOnce(payload);
    await p.db.setFailed(payload.id, 'WorkflowFailed: process[0].succeed is not true');
    expect(process.env.AWS_REGION).not.toBe('eu-west-1');

    const events = eventsFromNow();
    const { results } = await processEvent(sqsEvent(sqsRecord(payload)), processDeps({ ...process.env, AWS_REGION: 'eu-west-1' }));
    expect(results).toMatchObject([{ outcome: 'started' }]);

    const second = p.executionArn('minimal', expectedExecutionName(payload.id, [first], 'eu-west-1'));
    expect(second).not.toBe(p.executionArn('minimal', expectedExecutionName(payload.id, [first])));
    expect(await p.db.getItem(payload.id)).toMatchObject({ state: 'PROCESSING', executions: [first, second] });
    const started = events().find((e) => e.event_type === 'STARTED_PROCESSING');
    expect(started?.execution).toContain('https://eu-west-1.console.aws.amazon.com/');
  });

  it('rerun after INVALID: skipped with ALREADY_INVALID, unless replace: true', async () => {
    const payload = makePayload();
    const first = await processOnce(payload);
    await p.db.setInvalid(payload.id, 'stactask.exceptions.InvalidInput: no assets');

    const events = eventsFromNow();
    expect(await processSqs(sqsRecord(payload))).toEqual({ batchItemFailures: [] });
    expect(events().map((e) => [e.event_type, e.payload_id])).toEqual([['ALREADY_INVALID', payload.id]]);
    expect(await p.db.getItem(payload.id)).toMatchObject({ state: 'INVALID', executions: [first] });
    expect(executionsOfPayload(payload.id)).toHaveLength(1);

    const replace = withProcess0(payload, { replace: true });
    expect(await processSqs(sqsRecord(replace))).toEqual({ batchItemFailures: [] });
    const second = p.executionArn('minimal', expectedExecutionName(payload.id, [first]));
    expect(await p.db.getItem(payload.id)).toMatchObject({ state: 'PROCESSING', executions: [first, second] });
    expect(p.stack.sfn.execution(second)).toBeDefined();
  });

  it('found CLAIMED: reuses exactly the claimed execution name', async () => {
    const payload = makePayload();
    const claimed = p.executionArn('minimal', `claimed-${uid('crashed')}`);
    expect(await p.db.claim(payload.id, claimed)).toEqual({ claimed: true });

    expect(await processSqs(sqsRecord(payload))).toEqual({ batchItemFailures: [] });

    expect(await p.db.getItem(payload.id)).toMatchObject({ state: 'PROCESSING', executions: [claimed] });
    expect(executionsOfPayload(payload.id).map((e) => e.executionArn)).toEqual([claimed]);
    expect(JSON.parse((await p.describe(claimed)).input!)).toEqual(payload);
    expect(await p.getJson(p.executionKey(payload.id, claimed.split(':').at(-1)!, 'input.json'))).toEqual(payload);
  });

  it('already PROCESSING: skipped with ALREADY_PROCESSING', async () => {
    const payload = makePayload();
    const first = await processOnce(payload);

    const events = eventsFromNow();
    expect(await processSqs(sqsRecord(payload))).toEqual({ batchItemFailures: [] });

    expect(executionsOfPayload(payload.id).map((e) => e.executionArn)).toEqual([first]);
    expect(await p.db.getItem(payload.id)).toMatchObject({ state: 'PROCESSING', executions: [first] });
    expect(events().map((e) => [e.event_type, e.input_payload_url])).toEqual([
      ['ALREADY_PROCESSING', `s3://${BUCKET}/${p.executionKey(payload.id, first.split(':').at(-1)!, 'input.json')}`],
    ]);
  });

  it('duplicate ids in one batch: the first occurrence wins, DUPLICATE_ID_ENCOUNTERED, neither reported failed', async () => {
    const first = makePayload({ process0: { note: 'first' } });
    const second = withProcess0(first, { note: 'second' });
    const events = eventsFromNow();
    expect(await processSqs(sqsRecord(first), sqsRecord(second))).toEqual({ batchItemFailures: [] });

    const executions = executionsOfPayload(first.id);
    expect(executions).toHaveLength(1);
    expect(JSON.parse(executions[0].input)).toEqual(first);
    expect(events().map((e) => e.event_type).sort()).toEqual(['CLAIMED_PROCESSING', 'DUPLICATE_ID_ENCOUNTERED', 'STARTED_PROCESSING']);
  });

  it('mixed good and bad records: the good ones start, the bad ones are the only batchItemFailures', async () => {
    const goods = [makePayload(), makePayload(), makePayload()];
    const notJson = sqsRecord('{not json');
    const notProcess = sqsRecord({ type: 'FeatureCollection', features: [makeItem(uid('np'))] });
    const records = [sqsRecord(goods[0]), notJson, sqsRecord(goods[1]), notProcess, sqsRecord(goods[2])];

    expect(await processSqs(...records)).toEqual({
      batchItemFailures: [{ itemIdentifier: notJson.messageId }, { itemIdentifier: notProcess.messageId }],
    });
    for (const g of goods) {
      const arn = p.executionArn('minimal', expectedExecutionName(g.id));
      expect(await p.db.getItem(g.id)).toMatchObject({ state: 'PROCESSING', executions: [arn] });
      expect(p.stack.sfn.execution(arn)).toBeDefined();
    }
  });

  it('state machine missing: records FAILED with the StateMachineDoesNotExist message and does not report the message', async () => {
    const payload = makePayload({ workflow: 'nosuchworkflow' });
    const events = eventsFromNow();
    expect(await processSqs(sqsRecord(payload))).toEqual({ batchItemFailures: [] });

    const item = await p.db.getItem(payload.id);
    expect(item?.state).toBe('FAILED');
    expect(item?.lastError).toMatch(/^An error occurred \(StateMachineDoesNotExist\) when calling the StartExecution operation: \S/);
    expect(p.executionsOf('nosuchworkflow')).toEqual([]);
    const failed = events().filter((e) => e.event_type === 'FAILED');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ payload_id: payload.id, error: item?.lastError });
  });

  it('S3 upload failure: the message is reported failed and nothing is started; the redelivery resumes the claim', async () => {
    const payload = makePayload();
    const record = sqsRecord(payload);
    const name = expectedExecutionName(payload.id);
    const arn = p.executionArn('minimal', name);
    const s3 = instrumentS3(handlerRuntime(process.env).clients.s3, { fail: (key) => key.endsWith('/input.json') });
    let res: SQSBatchResponse;
    try {
      res = await processSqs(record);
    } finally {
      s3.restore();
    }
    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
    expect(s3.puts).toEqual([p.executionKey(payload.id, name, 'input.json')]);
    expect(p.stack.sfn.execution(arn)).toBeUndefined();
    expect(executionsOfPayload(payload.id)).toEqual([]);
    expect(await p.db.getItem(payload.id)).toMatchObject({ state: 'CLAIMED', executions: [arn] });

    // SQS redelivers the message: the claim is resumed with the same execution name.
    expect(await processSqs(record)).toEqual({ batchItemFailures: [] });
    expect(await p.db.getItem(payload.id)).toMatchObject({ state: 'PROCESSING', executions: [arn] });
    expect(JSON.parse((await p.describe(arn)).input!)).toEqual(payload);
  });

  it('missing CIRRUS_PAYLOAD_BUCKET: the handler throws UndefinedPayloadBucketError', async () => {
    const payload = makePayload();
    const saved = process.env.CIRRUS_PAYLOAD_BUCKET;
    try {
      for (const value of [undefined, '']) {
        if (value === undefined) delete process.env.CIRRUS_PAYLOAD_BUCKET;
        else process.env.CIRRUS_PAYLOAD_BUCKET = value;
        const err = await handler(sqsEvent(sqsRecord(payload))).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(UndefinedPayloadBucketError);
        expect(err).toMatchObject({ name: 'UndefinedPayloadBucketError', message: expect.stringContaining('CIRRUS_PAYLOAD_BUCKET') });
      }
    } finally {
      process.env.CIRRUS_PAYLOAD_BUCKET = saved;
    }
    expect(await p.db.getItem(payload.id)).toBeUndefined();
  });

  it('direct invocation (bare payload) throws when the payload fails', async () => {
    const bad = { type: 'FeatureCollection', features: [makeItem(uid('direct'))] };
    const err = await handler(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessFailedError);
    expect((err as Error).name).toBe('ProcessFailedError');
    expect((err as Error).message).toMatch(/1 of 1 payload\(s\) failed to process/);
  });

  it('handles a batch of 10 concurrently while duplicates stay deterministic (first occurrence wins)', async () => {
    const client = new S3Client({ ...p.stack.clientConfig('s3'), maxAttempts: 1 });
    try {
      const firsts = Array.from({ length: 7 }, (_, i) => makePayload({ process0: { note: `first-${i}` } }));
      // Record 1 is a reference (slower to extract than the inline duplicates that follow it).
      const ref = await p.putJson(`incoming/${uid('ref')}.json`, firsts[1]);
      const dup = (i: number): JsonObject => withProcess0(firsts[i], { note: `dup-${i}` });
      const bodies: unknown[] = [firsts[0], { url: ref }, dup(1), firsts[2], firsts[3], dup(3), firsts[4], firsts[5], dup(5), firsts[6]];
      const records = bodies.map((b) => sqsRecord(b));

      const s3 = instrumentS3(client, { delayMs: 40 });
      const { sqs, results } = await processEvent(sqsEvent(...records), processDeps(process.env, { bucket: new PayloadBucket(BUCKET, 'cirrus', { s3: client }) }));
      expect(sqs).toBe(true);
      expect(results.map((r) => r.outcome)).toEqual([
        'started',
        'started',
        'duplicate',
        'started',
        'started',
        'duplicate',
        'started',
        'started',
        'duplicate',
        'started',
      ]);
      expect(s3.puts.filter((k) => k.endsWith('/input.json'))).toHaveLength(7);
      expect(s3.maxInFlight).toBeGreaterThan(1);
      for (const [i, f] of firsts.entries()) {
        const executions = executionsOfPayload(f.id);
        expect(executions).toHaveLength(1);
        expect((JSON.parse(executions[0].input) as { process: JsonObject[] }).process[0].note).toBe(`first-${i}`);
      }

      s3.restore();

      // The measurement tells concurrency apart: with a bound of 1 there is never more than one.
      const serial = instrumentS3(client, { delayMs: 10 });
      const more = [makePayload(), makePayload(), makePayload()];
      const again = await processEvent(
        sqsEvent(...more.map((m) => sqsRecord(m))),
        processDeps(process.env, { bucket: new PayloadBucket(BUCKET, 'cirrus', { s3: client }), concurrency: 1 }),
      );
      expect(again.results.map((r) => r.outcome)).toEqual(['started', 'started', 'started']);
      expect(serial.puts).toHaveLength(3);
      expect(serial.maxInFlight).toBe(1);
    } finally {
      client.destroy();
    }
  });
});
