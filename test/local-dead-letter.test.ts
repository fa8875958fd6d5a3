/**
 * The local process queue dead-letters like the deployed one: a message received as many times
 * as the CDK stack's redrive policy allows, and never deleted, moves to the dead-letter queue on
 * the next receive, with its id and body.
 */
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PROCESS_MAX_RECEIVE_COUNT } from '../cdk/cirrus-deployment';
import { startLocalStack, type LocalStack } from '../local';

let stack: LocalStack;
let sqs: SQSClient;

beforeAll(async () => {
  stack = await startLocalStack({ resourcePrefix: 'dlq-test' });
  sqs = new SQSClient({ ...stack.clientConfig('sqs'), maxAttempts: 1 });
});

afterAll(async () => {
  sqs?.destroy();
  await stack?.stop();
});

/** One receive that makes the message visible again at once (as a failed Lambda batch would, later). */
async function receiveOnce(queueUrl: string): Promise<{ id?: string; count?: string }[]> {
  const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0, MessageSystemAttributeNames: ['All'] }));
  return (r.Messages ?? []).map((m) => ({ id: m.MessageId, count: m.Attributes?.ApproximateReceiveCount }));
}

describe('local process queue: dead-letter queue', () => {
  it('has a redrive policy to its dead-letter queue with the deployed stack maxReceiveCount', async () => {
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: stack.processQueueUrl, AttributeNames: ['All'] }));
    const dlq = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: stack.processDeadLetterQueueUrl, AttributeNames: ['QueueArn'] }));
    expect(JSON.parse(String(Attributes?.RedrivePolicy))).toEqual({ deadLetterTargetArn: dlq.Attributes?.QueueArn, maxReceiveCount: PROCESS_MAX_RECEIVE_COUNT });
    expect(stack.processMaxReceiveCount).toBe(PROCESS_MAX_RECEIVE_COUNT);
  });

  it('moves a message received maxReceiveCount times to the dead-letter queue, with its id and body', async () => {
    const sent = await sqs.send(new SendMessageCommand({ QueueUrl: stack.processQueueUrl, MessageBody: 'this message is not JSON' }));
    for (let i = 1; i <= PROCESS_MAX_RECEIVE_COUNT; i++) {
      expect(await receiveOnce(stack.processQueueUrl)).toEqual([{ id: sent.MessageId, count: String(i) }]);
    }
    expect(await receiveOnce(stack.processQueueUrl)).toEqual([]);
    expect(stack.sqs.pending(stack.processDeadLetterQueueUrl).map((m) => [m.messageId, m.body])).toEqual([[sent.MessageId, 'this message is not JSON']]);
    expect(await receiveOnce(stack.processDeadLetterQueueUrl)).toEqual([{ id: sent.MessageId, count: '1' }]);
  });

  it('rejects a redrive policy naming a queue that does not exist', async () => {
    const policy = JSON.stringify({ deadLetterTargetArn: 'arn:aws:sqs:us-west-2:123456789012:nowhere', maxReceiveCount: 2 });
    await expect(sqs.send(new CreateQueueCommand({ QueueName: 'orphan', Attributes: { RedrivePolicy: policy } }))).rejects.toMatchObject({ name: 'QueueDoesNotExist' });
    expect(stack.sqs.queueUrls().some((u) => u.endsWith('/orphan'))).toBe(false);
  });
});
