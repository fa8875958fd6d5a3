/**
 * The Lambda handlers are the composition roots: on the local stack, the process and update-state
 * handlers hand every dependency to the shared functions, so none of their fallbacks (building a
 * bucket, StateDB, publisher or client from the environment) runs during an invocation.
 */
import { handler as processHandler } from '../lambdas/process/index';
import { handler as updateStateHandler } from '../lambdas/update-state/index';
import * as clients from '../shared/clients';
import { WorkflowEventPublisher } from '../shared/events';
import { PayloadBucket } from '../shared/payload-bucket';
import { processEvent } from '../shared/process';
import { StateDb } from '../shared/statedb';
import { WorkflowMetricLogger } from '../shared/workflow-metric-log';
import { makePayload, sqsEvent, sqsRecord, type PipelineStack } from './helpers/pipeline';
import { startMinimalPipeline } from './helpers/pipeline-suite';

let p: PipelineStack;

beforeAll(async () => (p = await startMinimalPipeline()));
afterAll(() => p?.stop());

afterEach(() => {
  jest.restoreAllMocks();
});

/** Spies on every fallback the shared functions have; `calls()` lists those that ran. */
function spyOnFallbacks(): { calls: () => string[] } {
  const spies = {
    'PayloadBucket.fromEnv': jest.spyOn(PayloadBucket, 'fromEnv'),
    'StateDb.fromEnv': jest.spyOn(StateDb, 'fromEnv'),
    'WorkflowEventPublisher.fromEnv': jest.spyOn(WorkflowEventPublisher, 'fromEnv'),
    'WorkflowMetricLogger.fromEnv': jest.spyOn(WorkflowMetricLogger, 'fromEnv'),
    s3Client: jest.spyOn(clients, 's3Client'),
    dynamoDocClient: jest.spyOn(clients, 'dynamoDocClient'),
    sfnClient: jest.spyOn(clients, 'sfnClient'),
    snsClient: jest.spyOn(clients, 'snsClient'),
    sqsClient: jest.spyOn(clients, 'sqsClient'),
    logsClient: jest.spyOn(clients, 'logsClient'),
  };
  return { calls: () => Object.entries(spies).filter(([, s]) => s.mock.calls.length > 0).map(([name]) => name) };
}

it('the spies see a fallback when a shared function is called without its dependencies', async () => {
  const fallbacks = spyOnFallbacks();
  await processEvent(sqsEvent(sqsRecord(makePayload())), { env: process.env });
  expect(fallbacks.calls()).toEqual(expect.arrayContaining(['PayloadBucket.fromEnv', 'StateDb.fromEnv', 'WorkflowEventPublisher.fromEnv', 'sfnClient']));
});

it('process and update-state handlers use no environment fallback during an invocation', async () => {
  const payload = makePayload();
  // update-state runs from the status-change event of the execution the process handler starts.
  const updates: unknown[] = [];
  p.stack.onStatusChange(async (event) => {
    updates.push(await updateStateHandler(event));
  });
  // The runtime is built on the first invocation, outside the spies' concern: build it first.
  expect(await processHandler(sqsEvent(sqsRecord(makePayload())))).toEqual({ batchItemFailures: [] });
  await p.stack.waitForIdle(10000);

  const fallbacks = spyOnFallbacks();
  expect(await processHandler(sqsEvent(sqsRecord(payload)))).toEqual({ batchItemFailures: [] });
  const arn = (await p.db.getItem(payload.id))!.executions.at(-1)!;
  await p.stack.waitForExecution(arn);
  await p.stack.waitForIdle(10000);

  expect(await p.db.getItem(payload.id)).toMatchObject({ state: 'SUCCEEDED' });
  expect(updates).toContainEqual(expect.objectContaining({ status: 'SUCCEEDED', payloadId: payload.id }));
  expect(fallbacks.calls()).toEqual([]);
});
