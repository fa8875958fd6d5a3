/**
 * Fidelity on the local stack: what the payload bucket stores, what runs and what update-state
 * sends on are exactly what was sent and what ran. The loop runs for real: process (SQS event) →
 * the execution on the local Step Functions → its status-change event → update-state (retried up
 * to three times, as an EventBridge target would be) → published items and chained payloads.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { handler as postBatchHandler } from '../lambdas/post-batch/index';
import { handler as preBatchHandler } from '../lambdas/pre-batch/index';
import { handler as processHandler } from '../lambdas/process/index';
import { handler as updateStateHandler } from '../lambdas/update-state/index';
import type { JsonObject } from '../shared/json';
import { payloadIdToKey } from '../shared/statedb';
import type { UpdateStateResult } from '../shared/update-state';
import { expectedExecutionName, makeItem, makePayload, padding, snsThroughSqsRecord, sqsEvent, sqsRecord, uid, type PipelineStack } from './helpers/pipeline';
import { startMinimalPipeline } from './helpers/pipeline-suite';

let p: PipelineStack;
const results = new Map<string, UpdateStateResult>();

beforeAll(async () => {
  p = await startMinimalPipeline({ statusEventDelivery: { maxAttempts: 3, retryDelayMs: 10 } });
  await p.stack.registerWorkflow('wait', { StartAt: 'Sleep', States: { Sleep: { Type: 'Wait', Seconds: 60, End: true } } });
  p.stack.onStatusChange(async (event) => {
    results.set(event.detail.executionArn, (await updateStateHandler(event)) as UpdateStateResult);
  });
});

afterAll(async () => {
  await p?.stop();
});

/** process (one SQS message with `body`) → execution → update-state; resolves once all ran. */
async function runBody(body: string, payloadId: string): Promise<{ arn: string; name: string; result: UpdateStateResult | undefined; failures: unknown[] }> {
  expect(await processHandler(sqsEvent(sqsRecord(body)))).toEqual({ batchItemFailures: [] });
  const item = await p.db.getItem(payloadId);
  const arn = item!.executions.at(-1)!;
  await p.stack.waitForExecution(arn);
  const failures = p.stack.deliveryFailures.filter((f) => f.event.detail.executionArn === arn).map((f) => f.error);
  return { arn, name: arn.split(':').at(-1)!, result: results.get(arn), failures };
}

/** Chained payloads sent to the process queue (as text, re-hydrated when a reference) whose features include `itemId`. */
async function chainedBodies(itemId: string): Promise<string[]> {
  const bodies: string[] = [];
  for (const m of p.stack.sqs.sent(p.stack.processQueueUrl)) {
    const parsed = JSON.parse(m.body) as JsonObject;
    const text = typeof parsed.url === 'string' ? await p.getText(parsed.url) : m.body;
    if (((JSON.parse(text) as JsonObject).features as JsonObject[]).some((f) => f.id === itemId)) bodies.push(text);
  }
  return bodies;
}

/** Published item messages (raw text) of the given item ids. */
function publishedItems(...itemIds: string[]): string[] {
  const ids = new Set(itemIds);
  return p.stack.sns
    .messages(p.stack.publishTopicArn)
    .map((m) => m.message)
    .filter((m) => ids.has((JSON.parse(m) as JsonObject).id as string));
}

describe('update-state publishes every item it can and always sends the chained payloads', () => {
  const next = [{ workflow: 'next-wf' }];

  it('an item over SNS 256 KiB limit: the other items are published, the chained payload sent, the item reported', async () => {
    const small = makeItem(uid('small'));
    const huge = makeItem(uid('huge'), 'sentinel-s2-l2a', { pad: padding(270_000) });
    const payload = makePayload({ features: [small, huge], next });
    const { result, failures } = await runBody(JSON.stringify(payload), payload.id);

    expect(failures).toEqual([]);
    expect(result).toMatchObject({ state: 'SUCCEEDED', published: 1, chained: 1 });
    expect(result!.unpublished).toEqual([{ itemId: huge.id, reason: expect.stringMatching(/^MessageTooLong: .*262144-byte limit/) }]);
    expect(publishedItems(small.id as string, huge.id as string).map((m) => (JSON.parse(m) as JsonObject).id)).toEqual([small.id]);
    expect(await chainedBodies(small.id as string)).toHaveLength(1);
    const reported = p.workflowEvents(payload.id).filter((e) => e.event_type === 'PUBLISH_FAILED');
    expect(reported).toEqual([expect.objectContaining({ error: expect.stringContaining(`item ${huge.id} not published: MessageTooLong`) })]);
    expect((await p.db.getItem(payload.id))!.state).toBe('SUCCEEDED');
  });

  it('an item whose bbox holds strings (an invalid Number attribute): reported, the others published, the chained payload sent', async () => {
    const good = makeItem(uid('good'));
    const bad: JsonObject = { ...makeItem(uid('badbbox')), bbox: ['west', 'south', 'east', 'north'] };
    const payload = makePayload({ features: [good, bad], next });
    const { result, failures } = await runBody(JSON.stringify(payload), payload.id);

    expect(failures).toEqual([]);
    expect(result).toMatchObject({ state: 'SUCCEEDED', published: 1, chained: 1 });
    expect(result!.unpublished).toEqual([{ itemId: bad.id, reason: expect.stringContaining('bbox.ll_lon must be a number') }]);
    expect(publishedItems(good.id as string, bad.id as string).map((m) => (JSON.parse(m) as JsonObject).id)).toEqual([good.id]);
    expect(await chainedBodies(good.id as string)).toHaveLength(1);
    expect(p.workflowEvents(payload.id).map((e) => e.event_type)).toContain('PUBLISH_FAILED');
  });

  it('a chain_filter that backtracks catastrophically in other engines runs in linear time; one that does not compile is reported and the other definitions are sent', async () => {
    const itemId = `${'a'.repeat(40)}!`;
    const payload = makePayload({
      itemId,
      next: [
        [
          { workflow: 'redos-wf', chain_filter: "@.id =~ '^(a+)+$'" },
          { workflow: 'broken-wf', chain_filter: "@.id =~ '(unclosed'" },
          { workflow: 'plain-wf' },
        ],
      ],
    });
    const { result, failures } = await runBody(JSON.stringify(payload), payload.id);

    expect(failures).toEqual([]);
    expect(result).toMatchObject({ state: 'SUCCEEDED', chained: 2 });
    const sent = (await chainedBodies(itemId)).map((t) => ((JSON.parse(t) as { process: JsonObject[] }).process[0].workflow as string));
    expect(sent).toEqual(['plain-wf']);
    const reported = p.workflowEvents(payload.id).filter((e) => e.event_type === 'PUBLISH_FAILED');
    expect(reported).toEqual([expect.objectContaining({ error: expect.stringMatching(/^chained payload #1 not sent: .*unclosed/) })]);
    expect((await p.db.getItem(payload.id))!.state).toBe('SUCCEEDED');
  });

  it('an output nested deeper than 1,000 levels (an execution Cirrus started): SUCCEEDED with output.json as returned, items and chains reported, never thrown', async () => {
    const payload = makePayload({ next: [{ workflow: 'next-wf' }] });
    const body = JSON.stringify(payload);
    const input = `${body.slice(0, -1)},"deep":${'['.repeat(1500)}${']'.repeat(1500)}}`;
    const name = uid('deep-out');
    const arn = `${p.baseArn.replace(':stateMachine:', ':execution:')}minimal:${name}`;
    await p.sfn.send(new StartExecutionCommand({ stateMachineArn: `${p.baseArn}minimal`, name, input }));
    await p.stack.waitForExecution(arn);

    expect(p.stack.deliveryFailures.filter((f) => f.event.detail.executionArn === arn)).toEqual([]);
    expect(results.get(arn)).toMatchObject({ state: 'SUCCEEDED', published: 0, chained: 0 });
    expect(await p.getText(`s3://${p.stack.payloadBucket}/${p.executionKey(payload.id, name, 'output.json')}`)).toBe(input);
    const reported = p.workflowEvents(payload.id).filter((e) => e.event_type === 'PUBLISH_FAILED');
    expect(reported).toEqual([expect.objectContaining({ error: expect.stringContaining('deeper than 1000 levels') })]);
  });
});

/**
 * A payload as JSON text (pretty-printed, as a person or another language would write it) whose
 * first item holds a 20-digit integer, `1.0` as its cloud cover and in its bbox, and `-0`: numbers
 * JavaScript's JSON would round or rewrite.
 */
function exactNumbersText(options: { withoutId?: boolean; next?: JsonObject[] } = {}): { text: string; id: string; itemId: string } {
  const itemId = uid('exact');
  const item: JsonObject = { ...makeItem(itemId), bbox: [-105.5, 39.25, -104.75, 40.125] };
  (item.properties as JsonObject)['eo:cloud_cover'] = 7;
  (item.properties as JsonObject)['test:big'] = 1;
  (item.properties as JsonObject)['test:zero'] = 2;
  const payload = makePayload({ features: [item], withoutId: options.withoutId, next: options.next ?? [{ workflow: 'next-wf' }] });
  const id = `sentinel-s2-l2a/workflow-minimal/${itemId}`;
  const text = JSON.stringify(payload, null, 2)
    .replace('"eo:cloud_cover": 7', '"eo:cloud_cover": 1.0')
    .replace('"test:big": 1', '"test:big": 12345678901234567890')
    .replace('"test:zero": 2', '"test:zero": -0')
    .replace('-105.5,', '-105.50,');
  return { text, id, itemId };
}

const EXACT = ['"test:big":12345678901234567890', '"eo:cloud_cover":1.0', '"test:zero":-0', '-105.50'];

describe('numbers keep their exact value and text from the message to the chained payload', () => {
  it('a 20-digit integer and 1.0: input.json and the execution input are the SQS body byte for byte; output.json, the published item and the chained payload keep them', async () => {
    const { text, id, itemId } = exactNumbersText();
    const { arn, name, result, failures } = await runBody(text, id);
    expect(failures).toEqual([]);
    expect(result).toMatchObject({ state: 'SUCCEEDED', published: 1, chained: 1 });

    expect(await p.getText(p.executionKey(id, name, 'input.json'))).toBe(text);
    expect((await p.describe(arn)).input).toBe(text);
    const output = await p.getText(p.executionKey(id, name, 'output.json'));
    expect(output).toBe((await p.describe(arn)).output);
    for (const s of EXACT) expect(output).toContain(s);

    const [published] = publishedItems(itemId);
    for (const s of EXACT) expect(published).toContain(s);
    expect(p.stack.sns.messages(p.stack.publishTopicArn).find((m) => m.message === published)!.attributes).toMatchObject({ cloud_cover: '1.0', 'bbox.ll_lon': '-105.50' });

    const [chained] = await chainedBodies(itemId);
    for (const s of EXACT) expect(chained).toContain(s);
    expect(JSON.parse(chained)).not.toHaveProperty('id');
  });

  it('a payload without id: input.json is the body with the built id added as its last member, every other byte as sent', async () => {
    const { text, id } = exactNumbersText({ withoutId: true });
    const { arn, name, failures } = await runBody(text, id);
    expect(failures).toEqual([]);
    const stored = await p.getText(p.executionKey(id, name, 'input.json'));
    expect(stored).toBe(`${text.slice(0, -1)},"id":${JSON.stringify(id)}}`);
    expect((await p.describe(arn)).input).toBe(stored);
  });

  it('a payload sent through SNS: input.json is the SNS message byte for byte', async () => {
    const { text, id } = exactNumbersText();
    expect(await processHandler(sqsEvent(snsThroughSqsRecord(text)))).toEqual({ batchItemFailures: [] });
    const arn = (await p.db.getItem(id))!.executions.at(-1)!;
    await p.stack.waitForExecution(arn);
    expect(await p.getText(p.executionKey(id, arn.split(':').at(-1)!, 'input.json'))).toBe(text);
  });
});

describe('a payload nested too deeply is invalid however it arrives', () => {
  function deepPayloadText(levels: number): { text: string; id: string } {
    const payload = makePayload();
    const text = JSON.stringify(payload);
    return { text: `${text.slice(0, -1)},"deep":${'['.repeat(levels)}${']'.repeat(levels)}}`, id: payload.id };
  }

  it('a {"url"} payload nested 200,000 levels deep: NOT_A_PROCESS_PAYLOAD, stored under tmp/invalid, never started', async () => {
    const { text, id } = deepPayloadText(200_000);
    const key = `cirrus/ref/${uid('deep')}.json`;
    await p.s3.send(new PutObjectCommand({ Bucket: p.stack.payloadBucket, Key: key, Body: text }));
    const response = (await processHandler(sqsEvent(sqsRecord({ url: `s3://${p.stack.payloadBucket}/${key}` }, 'deep-url')))) as { batchItemFailures: unknown[] };
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'deep-url' }]);
    expect(await p.db.getItem(id)).toBeUndefined();
    const [event] = p.workflowEvents(id);
    expect(event).toMatchObject({ event_type: 'NOT_A_PROCESS_PAYLOAD', error: expect.stringContaining('deeper than 1000 levels') });
    expect(event.input_payload_url).toMatch(/\/tmp\/invalid\//);
  });

  it('an inline payload nested 1,001 levels (which JavaScript could still write back) is invalid too', async () => {
    const { text, id } = deepPayloadText(1001);
    const response = (await processHandler(sqsEvent(sqsRecord(text, 'deep-inline')))) as { batchItemFailures: unknown[] };
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'deep-inline' }]);
    expect(await p.db.getItem(id)).toBeUndefined();
  });

  it('a payload nested 990 levels is valid', async () => {
    const { text, id } = deepPayloadText(990);
    const { failures, result } = await runBody(text, id);
    expect(failures).toEqual([]);
    expect(result).toMatchObject({ state: 'SUCCEEDED' });
  });
});

describe("an execution's input.json is never replaced by other content", () => {
  /** Forces the StateDB item back to CLAIMED (as if process had stopped between claim and PROCESSING). */
  async function forceClaimed(payloadId: string): Promise<void> {
    await p.doc.send(
      new UpdateCommand({
        TableName: p.stack.stateDbTable,
        Key: payloadIdToKey(payloadId),
        UpdateExpression: 'SET state_updated = :s',
        ExpressionAttributeValues: { ':s': `CLAIMED_${new Date().toISOString()}` },
      }),
    );
  }

  it('the local S3 honours If-None-Match: * (create only), as AWS S3 does', async () => {
    const key = `cirrus/tmp/${uid('cond')}.json`;
    const put = (body: string): Promise<unknown> => p.s3.send(new PutObjectCommand({ Bucket: p.stack.payloadBucket, Key: key, Body: body, IfNoneMatch: '*' }));
    await put('{"first":true}');
    await expect(put('{"second":true}')).rejects.toMatchObject({ name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
    expect(await p.getText(key)).toBe('{"first":true}');
  });

  it('resuming a CLAIMED payload whose execution runs X with a message holding Y: input.json and the execution keep X', async () => {
    const x = makePayload({ workflow: 'wait' });
    const y = { ...x, features: [{ ...(x.features as JsonObject[])[0], properties: { changed: 'y' } }] };
    expect(await processHandler(sqsEvent(sqsRecord(JSON.stringify(x))))).toEqual({ batchItemFailures: [] });
    const arn = (await p.db.getItem(x.id))!.executions.at(-1)!;
    await forceClaimed(x.id);
    try {
      expect(await processHandler(sqsEvent(sqsRecord(JSON.stringify(y))))).toEqual({ batchItemFailures: [] });
      expect((await p.db.getItem(x.id))!.executions).toEqual([arn]);
      expect(await p.getText(p.executionKey(x.id, arn.split(':').at(-1)!, 'input.json'))).toBe(JSON.stringify(x));
      expect((await p.describe(arn)).input).toBe(JSON.stringify(x));
    } finally {
      await p.sfn.send(new StopExecutionCommand({ executionArn: arn }));
      await p.stack.waitForExecution(arn);
    }
  });

  it('two concurrent deliveries of one id with different content: one execution, and its input.json is the input it runs', async () => {
    const x = makePayload({ workflow: 'wait' });
    const y = { ...x, features: [{ ...(x.features as JsonObject[])[0], properties: { changed: 'y' } }] };
    const [rx, ry] = await Promise.all([processHandler(sqsEvent(sqsRecord(JSON.stringify(x)))), processHandler(sqsEvent(sqsRecord(JSON.stringify(y))))]);
    const arns = (await p.db.getItem(x.id))!.executions;
    expect(arns).toHaveLength(1);
    const arn = arns[0];
    try {
      // The loser either skipped (ALREADY_CLAIMED/PROCESSING) or was reported for redelivery; nothing else.
      for (const r of [rx, ry] as { batchItemFailures: unknown[] }[]) expect(r.batchItemFailures.length).toBeLessThanOrEqual(1);
      const ran = (await p.describe(arn)).input;
      expect([JSON.stringify(x), JSON.stringify(y)]).toContain(ran);
      expect(await p.getText(p.executionKey(x.id, arn.split(':').at(-1)!, 'input.json'))).toBe(ran);
      expect(p.stack.sfn.executions().filter((e) => e.executionArn === arn)).toHaveLength(1);
    } finally {
      await p.sfn.send(new StopExecutionCommand({ executionArn: arn }));
      await p.stack.waitForExecution(arn);
    }
  });

  it('ExecutionAlreadyExists: input.json is restored to the input the existing execution runs', async () => {
    const ran = makePayload({ workflow: 'wait' });
    const name = expectedExecutionName(ran.id);
    const arn = p.executionArn('wait', name);
    // Another deployment started the execution with `ran`, and input.json holds something else.
    await p.db.claim(ran.id, arn);
    await p.putJson(p.executionKey(ran.id, name, 'input.json'), { ...ran, stale: true });
    await p.sfn.send(new StartExecutionCommand({ stateMachineArn: p.baseArn + 'wait', name, input: JSON.stringify(ran) }));
    try {
      const redelivered = { ...ran, other: 'content' };
      expect(await processHandler(sqsEvent(sqsRecord(JSON.stringify(redelivered))))).toEqual({ batchItemFailures: [] });
      expect(await p.getText(p.executionKey(ran.id, name, 'input.json'))).toBe(JSON.stringify(ran));
      expect((await p.db.getItem(ran.id))!.state).toBe('PROCESSING');
    } finally {
      await p.sfn.send(new StopExecutionCommand({ executionArn: arn }));
      await p.stack.waitForExecution(arn);
    }
  });
});

describe('the AWS Batch path keeps the record as the other paths do', () => {
  it('pre-batch stores a referenced payload under tmp/batch as the bytes read: a 20-digit integer and 1.0 unchanged', async () => {
    const { text } = exactNumbersText();
    const ref = `s3://${p.stack.payloadBucket}/cirrus/tmp/oversized/${uid('batch-ref')}.json`;
    await p.s3.send(new PutObjectCommand({ Bucket: p.stack.payloadBucket, Key: ref.slice(`s3://${p.stack.payloadBucket}/`.length), Body: text }));
    const { url, url_out } = await preBatchHandler({ url: ref });
    expect(url).toMatch(new RegExp(`^s3://${p.stack.payloadBucket}/cirrus/tmp/batch/`));
    expect(url_out).toBe(url.replace(/\.json$/, '_out.json'));
    expect(await p.getText(url)).toBe(text);
  });

  it('post-batch refuses a job output nested 200,000 levels deep (NotAProcessPayloadError), which update-state could never write back', async () => {
    const key = `cirrus/tmp/batch/${uid('deep')}_out.json`;
    const text = `${JSON.stringify(makePayload()).slice(0, -1)},"deep":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    await p.s3.send(new PutObjectCommand({ Bucket: p.stack.payloadBucket, Key: key, Body: text }));
    const url = `s3://${p.stack.payloadBucket}/${key}`;
    await expect(postBatchHandler({ Parameters: { url: url.replace('_out.json', '.json'), url_out: url } })).rejects.toMatchObject({
      name: 'NotAProcessPayloadError',
      message: expect.stringContaining('deeper than 1000 levels'),
    });
  });
});
