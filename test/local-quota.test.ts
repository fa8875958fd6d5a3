/**
 * The local stack as deployed under AWS quotas: the StartExecution token bucket of the Step
 * Functions endpoint, and Lambda's SQS event source (batch size, maximum concurrency, partial
 * batch responses, visibility timeout).
 */
import { CreateStateMachineCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GetQueueAttributesCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PROCESS_BATCH_SIZE, PROCESS_QUEUE_VISIBILITY_TIMEOUT_SECONDS } from '../cdk/process-limits';
import { SqsEventSource, START_EXECUTION_QUOTA, TokenBucket, startLocalStack, type LocalStack } from '../local';

const PASS = JSON.stringify({ StartAt: 'P', States: { P: { Type: 'Pass', End: true } } });

describe('TokenBucket', () => {
  test('starts full with the burst, then refills at the refill rate', () => {
    let now = 0;
    const bucket = new TokenBucket({ burst: 3, refillPerSecond: 2 }, () => now);
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, true, false]);
    now = 499; // 0.998 tokens refilled: still none
    expect(bucket.tryTake()).toBe(false);
    now = 1000; // 2 tokens refilled since 0, less the fraction already counted
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, false]);
    now = 60000; // never more than the burst
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, true, false]);
    expect(bucket.stats()).toEqual({ calls: 12, throttled: 4 });
  });

  test('the default quota is the large-region StartExecution quota', () => {
    expect(START_EXECUTION_QUOTA).toEqual({ burst: 1300, refillPerSecond: 300 });
  });
});

describe('local Step Functions StartExecution quota', () => {
  let stack: LocalStack;
  let sfn: SFNClient;
  let arn: string;
  beforeAll(async () => {
    stack = await startLocalStack({ validateDefinitions: false, startExecutionQuota: { burst: 2, refillPerSecond: 0.01 } });
    sfn = new SFNClient({ ...stack.clientConfig('sfn'), maxAttempts: 1 });
    arn = String((await sfn.send(new CreateStateMachineCommand({ name: 'q', definition: PASS, roleArn: 'arn:aws:iam::123456789012:role/r' }))).stateMachineArn);
  });
  afterAll(async () => {
    sfn.destroy();
    await stack.stop();
  });

  test('beyond the burst StartExecution is answered ThrottlingException (HTTP 400) and starts nothing', async () => {
    await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'a' }));
    await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'b' }));
    const err = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'c' })).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ThrottlingException', message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });
    expect(stack.sfn.executions().map((e) => e.name).sort()).toEqual(['a', 'b']);
    expect(stack.sfn.startExecutionStats()).toEqual({ calls: 3, throttled: 1 });
  });

  test('the SDK classifies it as retryable: standard mode tries again', async () => {
    const retrying = new SFNClient({ ...stack.clientConfig('sfn'), maxAttempts: 2, retryMode: 'standard' });
    try {
      const before = stack.sfn.startExecutionStats().calls;
      const err = await retrying.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'd' })).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'ThrottlingException', $metadata: { attempts: 2 } });
      expect(stack.sfn.startExecutionStats().calls - before).toBe(2);
    } finally {
      retrying.destroy();
    }
  });

  test('startExecutionQuota: false turns the quota off', async () => {
    const open = await startLocalStack({ validateDefinitions: false, startExecutionQuota: false });
    const client = new SFNClient({ ...open.clientConfig('sfn'), maxAttempts: 1 });
    try {
      const m = await client.send(new CreateStateMachineCommand({ name: 'q', definition: PASS, roleArn: 'arn:aws:iam::123456789012:role/r' }));
      for (let i = 0; i < 5; i++) await client.send(new StartExecutionCommand({ stateMachineArn: m.stateMachineArn, name: `x${i}` }));
      expect(open.sfn.executions()).toHaveLength(5);
    } finally {
      client.destroy();
      await open.stop();
    }
  });
});

describe('local SQS event source', () => {
  let stack: LocalStack;
  let sqs: SQSClient;
  beforeAll(async () => {
    stack = await startLocalStack({ validateDefinitions: false });
    sqs = new SQSClient({ ...stack.clientConfig('sqs'), maxAttempts: 1 });
  });
  afterAll(async () => {
    sqs.destroy();
    await stack.stop();
  });

  test('the process queue has the deployed visibility timeout', async () => {
    const res = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: stack.processQueueUrl, AttributeNames: ['VisibilityTimeout'] }));
    expect(res.Attributes?.VisibilityTimeout).toBe(String(PROCESS_QUEUE_VISIBILITY_TIMEOUT_SECONDS));
  });

  test('invokes with at most the batch size, at most maxConcurrency at once, and deletes all but the reported failures', async () => {
    const bodies = Array.from({ length: 45 }, (_, i) => (i % 9 === 0 ? `fail-${i}` : `ok-${i}`));
    for (let i = 0; i < bodies.length; i += 10) {
      await sqs.send(new SendMessageBatchCommand({ QueueUrl: stack.processQueueUrl, Entries: bodies.slice(i, i + 10).map((b, j) => ({ Id: String(j), MessageBody: b })) }));
    }
    let running = 0;
    let peak = 0;
    let sandboxes = 0;
    const sizes: number[] = [];
    const seen: string[] = [];
    let allSeen!: () => void;
    const done = new Promise<void>((resolve) => (allSeen = resolve));
    const source = new SqsEventSource({
      queueUrl: stack.processQueueUrl,
      client: stack.clientConfig('sqs'),
      maxConcurrency: 3,
      handlerFactory: () => {
        sandboxes++;
        return async (event, context) => {
          running++;
          peak = Math.max(peak, running);
          expect(context.getRemainingTimeInMillis()).toBeGreaterThan(0);
          const records = (event as { Records: { messageId: string; body: string; attributes: Record<string, string> }[] }).Records;
          sizes.push(records.length);
          await new Promise((r) => setTimeout(r, 20));
          running--;
          for (const r of records) {
            expect(r.attributes.ApproximateReceiveCount).toBe('1');
            seen.push(r.body);
          }
          if (seen.length >= bodies.length) allSeen();
          return { batchItemFailures: records.filter((r) => r.body.startsWith('fail')).map((r) => ({ itemIdentifier: r.messageId })) };
        };
      },
    }).start();
    try {
      await done;
    } finally {
      await source.stop();
    }
    expect(seen.sort()).toEqual([...bodies].sort());
    expect(Math.max(...sizes)).toBeLessThanOrEqual(PROCESS_BATCH_SIZE);
    expect(peak).toBeLessThanOrEqual(3);
    expect(sandboxes).toBe(3);
    // The reported failures stay in the queue, invisible until the visibility timeout ends.
    expect(stack.sqs.pending(stack.processQueueUrl).map((m) => m.body).sort()).toEqual(bodies.filter((b) => b.startsWith('fail')).sort());
    expect(source.stats()).toMatchObject({ received: 45, deleted: 40, reportedFailed: 5, redeliveries: 0, errors: 0, timeouts: 0 });
  });
});
