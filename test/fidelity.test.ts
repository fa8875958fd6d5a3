/**
 * Fidelity on the local stack: what the payload bucket stores, what runs and what update-state
 * sends on are exactly what was sent and what ran. The loop runs for real: process (SQS event) →
 * the execution on the local Step Functions → its status-change event → update-state (retried up
 * to three times, as an EventBridge target would be) → published items and chained payloads.
 */
import path from 'node:path';
import { handler as processHandler } from '../lambdas/process/index';
import { handler as updateStateHandler } from '../lambdas/update-state/index';
import type { JsonObject } from '../shared/json';
import type { UpdateStateResult } from '../shared/update-state';
import { WORKFLOWS_DIR, makeItem, makePayload, padding, sqsEvent, sqsRecord, startPipelineStack, uid, type PipelineStack } from './helpers/pipeline';

let p: PipelineStack;
const results = new Map<string, UpdateStateResult>();

beforeAll(async () => {
  p = await startPipelineStack({ statusEventDelivery: { maxAttempts: 3, retryDelayMs: 10 } });
  await p.stack.registerWorkflow('minimal', path.join(WORKFLOWS_DIR, 'minimal.asl.json'));
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
});
