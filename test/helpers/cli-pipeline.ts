/**
 * The whole pipeline on the local stack for the operator CLI tests: the process and update-state
 * handlers from the sources, the example workflows plus `fixable` (a Lambda task that fails while
 * the test says it is broken), `invalid` (ends INVALID), `held` (a task that waits until the
 * pipeline stops, for aborting), and a bounded background poller that feeds the process queue to
 * the process handler as Lambda's SQS event source would.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { handler as processHandler } from '../../lambdas/process';
import { handler as stampItemsHandler } from '../../lambdas/stamp-items';
import { handler as updateStateHandler } from '../../lambdas/update-state';
import type { Env } from '../../shared/config';
import type { JsonObject } from '../../shared/json';
import { StateDb, type StateItem } from '../../shared/statedb';
import { startPipeline, type Pipeline } from '../../local/pipeline';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Folder of the CLI test fixtures. */
export const CLI_FIXTURES = path.join(__dirname, '..', 'fixtures', 'cli');

/** A fixture of `test/fixtures/cli`, parsed. */
export function cliFixture(name: string): JsonObject {
  return JSON.parse(readFileSync(path.join(CLI_FIXTURES, name), 'utf8')) as JsonObject;
}

/** The running pipeline and its controls. */
export interface CliPipeline {
  pipeline: Pipeline;
  env: Env;
  db: StateDb;
  /** While true, the `fixable` workflow's task throws `StampServiceDown`. */
  setBroken(broken: boolean): void;
  /** Reads the StateDB until `payloadId` is in `state` (bounded by `timeoutMs`). */
  waitForState(payloadId: string, state: string, timeoutMs?: number): Promise<StateItem>;
  stop(): Promise<void>;
}

/** Starts the pipeline and its queue poller. */
export async function startCliPipeline(): Promise<CliPipeline> {
  const pipeline = await startPipeline({ handlers: { process: (e) => processHandler(e), updateState: (e) => updateStateHandler(e), stampItems: (e) => stampItemsHandler(e) } });
  let broken = true;
  await pipeline.stack.registerWorkflow('fixable', path.join(CLI_FIXTURES, 'fixable.asl.json'), {
    lambdaHandlers: {
      'fixable-stamp': async (event: unknown) => {
        if (broken) throw Object.assign(new Error('the stamp service is down'), { name: 'StampServiceDown' });
        return { ...(event as JsonObject), stamped: true };
      },
    },
  });
  // `invalid`: ends with the error Cirrus records as INVALID.
  await pipeline.stack.registerWorkflow('invalid', {
    StartAt: 'reject',
    States: { reject: { Type: 'Fail', Error: 'stactask.exceptions.InvalidInput', Cause: 'the input has no assets' } },
  });
  // `held`: one Lambda task (hold) that does not return until the test stops the pipeline, so a
  // test can abort its executions.
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  await pipeline.stack.registerWorkflow(
    'held',
    { StartAt: 'hold', States: { hold: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: 'held-hold', 'Payload.$': '$' }, OutputPath: '$.Payload', End: true } } },
    { lambdaHandlers: { 'held-hold': async (event: unknown) => (await released, event as JsonObject) } },
  );
  let running = true;
  const poller = (async () => {
    while (running) {
      const n = await pipeline.pollOnce().catch(() => 0);
      if (n === 0) await sleep(50);
    }
  })();
  const ddb = new DynamoDBClient(pipeline.stack.clientConfig('dynamodb'));
  const db = new StateDb(pipeline.stack.stateDbTable, DynamoDBDocumentClient.from(ddb));
  return {
    pipeline,
    env: { ...pipeline.stack.env },
    db,
    setBroken: (b) => {
      broken = b;
    },
    async waitForState(payloadId, state, timeoutMs = 45_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const item = await db.getItem(payloadId);
        if (item?.state === state) return item;
        if (Date.now() > deadline) throw new Error(`${payloadId} did not reach ${state} (now ${item?.state ?? 'none'})`);
        await sleep(100);
      }
    },
    async stop() {
      running = false;
      release();
      await poller;
      await pipeline.stack.waitForIdle(10_000).catch(() => undefined);
      ddb.destroy();
      await pipeline.stop();
    },
  };
}
