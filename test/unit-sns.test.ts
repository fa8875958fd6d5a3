/**
 * Batched SNS publishing and SQS sending (at most 10 entries per call), clients mocked.
 */
import { PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { BatchSendError, MAX_BATCH, chunkBySize, publishBatch, sendMessageBatch } from '../shared/sns';
import { utf8Length } from '../shared/size';

const TOPIC = 'arn:aws:sns:us-west-2:123456789012:topic';
const QUEUE = 'https://sqs.us-west-2.amazonaws.com/123456789012/queue';
const creds = { region: 'us-west-2', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } };
const ALL_SENT = { Successful: [], Failed: [] };

/** Before each test of the enclosing block: `mock` reset, then `arrange()`; after them: the mock restored and the client destroyed. */
function mockPerTest(mock: { reset(): unknown; restore(): unknown }, client: { destroy(): void }, arrange: () => unknown): void {
  beforeEach(() => {
    mock.reset();
    arrange();
  });
  afterAll(() => {
    mock.restore();
    client.destroy();
  });
}

describe('publishBatch', () => {
  const sns = new SNSClient(creds);
  const mock = mockClient(sns);
  mockPerTest(mock, sns, () => mock.on(PublishBatchCommand).resolves(ALL_SENT));

  it('MAX_BATCH is 10', () => {
    expect(MAX_BATCH).toBe(10);
  });

  it('sends 23 messages in calls of 10, 10 and 3, in order', async () => {
    const messages = Array.from({ length: 23 }, (_, i) => ({ message: `m${i}` }));
    expect(await publishBatch(sns, TOPIC, messages)).toBe(3);
    const calls = mock.commandCalls(PublishBatchCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.PublishBatchRequestEntries?.length)).toEqual([10, 10, 3]);
    expect(calls.flatMap((c) => c.PublishBatchRequestEntries?.map((e) => e.Message))).toEqual(messages.map((m) => m.message));
    expect(calls.every((c) => c.TopicArn === TOPIC)).toBe(true);
  });

  it('sends exactly 10 in one call', async () => {
    expect(await publishBatch(sns, TOPIC, Array.from({ length: 10 }, (_, i) => ({ message: `${i}` })))).toBe(1);
    expect(mock.commandCalls(PublishBatchCommand)).toHaveLength(1);
  });

  it('sends nothing for no messages', async () => {
    expect(await publishBatch(sns, TOPIC, [])).toBe(0);
    expect(mock.commandCalls(PublishBatchCommand)).toHaveLength(0);
  });

  it('passes message attributes and leaves out empty ones', async () => {
    const attrs = { collection: { DataType: 'String', StringValue: 'c' } };
    await publishBatch(sns, TOPIC, [{ message: 'a', attributes: attrs }, { message: 'b', attributes: {} }, { message: 'c' }]);
    const entries = mock.commandCalls(PublishBatchCommand)[0].args[0].input.PublishBatchRequestEntries ?? [];
    expect(entries.map((e) => e.MessageAttributes)).toEqual([attrs, undefined, undefined]);
  });

  it('throws BatchSendError naming the failed entries', async () => {
    mock.on(PublishBatchCommand).resolves({ Successful: [], Failed: [{ Id: '1', Code: 'InternalError', Message: 'oops', SenderFault: false }] });
    const err = await publishBatch(sns, TOPIC, [{ message: 'a' }, { message: 'b' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatchSendError);
    expect((err as BatchSendError).failedEntries).toEqual([{ id: '1', code: 'InternalError', message: 'oops' }]);
  });
});

describe('sendMessageBatch', () => {
  const sqs = new SQSClient(creds);
  const mock = mockClient(sqs);
  mockPerTest(mock, sqs, () => mock.on(SendMessageBatchCommand).resolves(ALL_SENT));

  it('sends 21 bodies in calls of 10, 10 and 1, in order', async () => {
    const bodies = Array.from({ length: 21 }, (_, i) => `{"n":${i}}`);
    expect(await sendMessageBatch(sqs, QUEUE, bodies)).toBe(3);
    const calls = mock.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.Entries?.length)).toEqual([10, 10, 1]);
    expect(calls.flatMap((c) => c.Entries?.map((e) => e.MessageBody))).toEqual(bodies);
    expect(calls.every((c) => c.QueueUrl === QUEUE)).toBe(true);
  });

  it('throws BatchSendError when an entry fails', async () => {
    mock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [{ Id: '0', Code: 'X', SenderFault: true }] });
    await expect(sendMessageBatch(sqs, QUEUE, ['a'])).rejects.toBeInstanceOf(BatchSendError);
  });
});

describe('chunkBySize (SNS batches here, SQS batches in the CLI)', () => {
  it('keeps order and at most MAX_BATCH entries per batch', () => {
    const items = Array.from({ length: 23 }, (_, i) => `m${i}`);
    const batches = chunkBySize(items, utf8Length);
    expect(batches.map((b) => b.length)).toEqual([MAX_BATCH, MAX_BATCH, 3]);
    expect(batches.flat()).toEqual(items);
  });

  it('keeps order and the byte limit per batch', () => {
    expect(chunkBySize(['aaaa', 'bbbb', 'cc', 'd'], utf8Length, 6)).toEqual([['aaaa'], ['bbbb', 'cc'], ['d']]);
  });

  it('counts UTF-8 bytes and sends an entry over the limit alone', () => {
    expect(chunkBySize(['éé', 'ab', 'x'.repeat(9), 'y'], utf8Length, 5)).toEqual([['éé'], ['ab'], ['x'.repeat(9)], ['y']]);
  });
});
