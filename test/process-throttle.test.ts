/**
 * A burst beyond the StartExecution quota, through the built process bundle on the local stack:
 * Lambda's SQS event source (batch size and a maximum concurrency, one sandbox per concurrent
 * invocation) feeds process while Step Functions throttles. Every payload is started exactly
 * once, none is recorded FAILED, and no message is lost, whether the throttled calls fit in the
 * invocation's time or the time is spent and SQS redelivers the message.
 */
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SqsEventSource, startLocalStack, type LocalStack, type SqsBatchHandler, type SqsEventSourceStats } from '../local';
import { repoRoot } from '../local/pipeline';
import { readFixture } from './helpers/fixtures';

const BUNDLE = path.join(repoRoot(), 'dist', 'lambdas', 'process', 'index.js');

/** A fresh copy of the process bundle: its own SDK clients and rate limiters, like a Lambda sandbox. */
function sandbox(): SqsBatchHandler {
  let handler!: SqsBatchHandler;
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    handler = (require(BUNDLE) as { handler: SqsBatchHandler }).handler;
  });
  return handler;
}

/** `n` payloads of the minimal workflow with distinct ids, built from a fixture. */
function payloads(n: number, tag: string): string[] {
  const base = readFixture('payloads/landsat-publish-only.json');
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({ ...base, id: `landsat-c2-l2/workflow-minimal/${tag}-${i}`, process: [{ workflow: 'minimal', succeed: true }] }),
  );
}

interface StateRow {
  id: string;
  state: string;
  executions: string[];
}

describe('process under a throttled StartExecution quota', () => {
  let stack: LocalStack;
  let restore: () => void;
  let sqs: SQSClient;
  let ddb: DynamoDBDocumentClient;

  beforeAll(async () => {
    // A tight quota: a burst of 2, refilled at 3 per second (slower than even a loaded machine starts payloads).
    stack = await startLocalStack({ validateDefinitions: false, startExecutionQuota: { burst: 2, refillPerSecond: 3 } });
    sandbox(); // load the bundle once, so the timed part does not include the first transform
    restore = stack.applyEnv();
    await stack.registerWorkflow('minimal', path.join(repoRoot(), 'workflows', 'minimal.asl.json'));
    sqs = new SQSClient(stack.clientConfig('sqs'));
    ddb = DynamoDBDocumentClient.from(new DynamoDBClient(stack.clientConfig('dynamodb')));
  });
  afterAll(async () => {
    sqs.destroy();
    ddb.destroy();
    restore();
    await stack.stop();
  });

  /** Sends the bodies, runs the event source until the queue is empty, and returns what happened. */
  async function burst(queueUrl: string, bodies: string[], timeoutSeconds: number): Promise<{ stats: SqsEventSourceStats; rows: StateRow[] }> {
    for (let i = 0; i < bodies.length; i += 10) {
      await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: bodies.slice(i, i + 10).map((b, j) => ({ Id: String(j), MessageBody: b })) }));
    }
    const source = new SqsEventSource({ queueUrl, client: stack.clientConfig('sqs'), maxConcurrency: 3, timeoutSeconds, handlerFactory: sandbox }).start();
    try {
      // Done when every message was deleted (a message reported failed stays until handled).
      const giveUp = Date.now() + 45000;
      while (stack.sqs.pending(queueUrl).length > 0) {
        if (Date.now() > giveUp) throw new Error(`${stack.sqs.pending(queueUrl).length} message(s) still in the queue: ${JSON.stringify(source.stats())}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await source.stop();
    }
    const ids = new Set(bodies.map((b) => String((JSON.parse(b) as { id: string }).id)));
    const items = (await ddb.send(new ScanCommand({ TableName: stack.stateDbTable }))).Items ?? [];
    const rows = items
      .map((it) => ({
        id: `${String(it.collections_workflow).replace(/_minimal$/, '/workflow-minimal')}/${String(it.itemids)}`,
        state: String(it.state_updated).split('_')[0],
        executions: (it.executions as string[]) ?? [],
      }))
      .filter((r) => ids.has(r.id));
    return { stats: source.stats(), rows };
  }

  function expectEachStartedOnceAndNoneFailed(bodies: string[], rows: StateRow[]): void {
    // Nothing lost: every payload has its StateDB item, and it is PROCESSING or SUCCEEDED.
    expect(rows).toHaveLength(bodies.length);
    expect(rows.filter((r) => r.state !== 'PROCESSING' && r.state !== 'SUCCEEDED')).toEqual([]);
    // Nothing started twice: one execution name per payload, and that execution exists.
    expect(rows.filter((r) => r.executions.length !== 1)).toEqual([]);
    const started = new Set(stack.sfn.executions().map((e) => e.executionArn));
    expect(rows.filter((r) => !started.has(r.executions[0]))).toEqual([]);
  }

  test('throttled starts are retried within the invocation: every payload starts once, none FAILED, no message reported', async () => {
    const bodies = payloads(24, 'within');
    const before = stack.sfn.startExecutionStats();
    const { stats, rows } = await burst(stack.processQueueUrl, bodies, 60);
    const after = stack.sfn.startExecutionStats();
    expect(after.throttled - before.throttled).toBeGreaterThan(0);
    expectEachStartedOnceAndNoneFailed(bodies, rows);
    expect(stats).toMatchObject({ received: 24, deleted: 24, reportedFailed: 0, redeliveries: 0, errors: 0 });
  });

  test('when the invocation’s time is spent the message is reported and redelivered; the payload stays CLAIMED and is started once with the same name', async () => {
    // A quota of 2 per second, and a function timeout leaving about one second of backoff (5 s are
    // kept for the rest): a batch of up to 10 cannot all start within one invocation. A short visibility
    // timeout brings the reported messages back quickly.
    restore();
    await stack.stop();
    stack = await startLocalStack({ validateDefinitions: false, startExecutionQuota: { burst: 1, refillPerSecond: 2 } });
    restore = stack.applyEnv();
    await stack.registerWorkflow('minimal', path.join(repoRoot(), 'workflows', 'minimal.asl.json'));
    sqs.destroy();
    ddb.destroy();
    sqs = new SQSClient(stack.clientConfig('sqs'));
    ddb = DynamoDBDocumentClient.from(new DynamoDBClient(stack.clientConfig('dynamodb')));
    const queueUrl = stack.sqs.createQueue('throttle-redelivery', { VisibilityTimeout: '1' });
    const bodies = payloads(12, 'spent');
    const { stats, rows } = await burst(queueUrl, bodies, 6);
    expect(stats.reportedFailed + stats.timeouts).toBeGreaterThan(0);
    expect(stats.redeliveries).toBeGreaterThan(0);
    expectEachStartedOnceAndNoneFailed(bodies, rows);
  });
});
