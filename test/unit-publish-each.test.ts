/**
 * publishEach: every message SNS accepts is published; a message refused for its content is
 * reported, never thrown; a failure a later attempt may fix is returned as retryable. Client mocked.
 */
import { PublishBatchCommand, SNSClient, type PublishBatchCommandInput } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { publishEach } from '../shared/sns';

const TOPIC = 'arn:aws:sns:us-west-2:123456789012:items';
const sns = new SNSClient({ region: 'us-west-2', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
const mock = mockClient(sns);

function awsError(name: string, fault: 'client' | 'server'): Error {
  return Object.assign(new Error(`${name} happened`), { name, $fault: fault });
}

beforeEach(() => mock.reset());
afterAll(() => {
  mock.restore();
  sns.destroy();
});

describe('publishEach', () => {
  it('rejects an oversized message and a non-numeric Number attribute before sending, and sends the rest', async () => {
    mock.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => ({ Successful: input.PublishBatchRequestEntries!.map((e) => ({ Id: e.Id })), Failed: [] }));
    const report = await publishEach(sns, TOPIC, [
      { message: 'a' },
      { message: 'x'.repeat(262_145) },
      { message: 'c', attributes: { 'bbox.ll_lon': { DataType: 'Number', StringValue: '"west"' } } },
      { message: 'd', attributes: { 'bbox.ll_lon': { DataType: 'Number', StringValue: '-105.5' } } },
    ]);
    expect(report.published).toBe(2);
    expect(report.rejected.map((r) => [r.index, r.code])).toEqual([
      [1, 'MessageTooLong'],
      [2, 'InvalidParameterValue'],
    ]);
    expect(report.retryable).toBeUndefined();
    expect(mock.commandCalls(PublishBatchCommand).flatMap((c) => c.args[0].input.PublishBatchRequestEntries!.map((e) => e.Message))).toEqual(['a', 'd']);
  });

  it('a whole batch refused for its content is sent again one message at a time: only the offending one is rejected', async () => {
    mock.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => {
      if (input.PublishBatchRequestEntries!.some((e) => e.Message === 'bad')) throw awsError('InvalidParameterValue', 'client');
      return { Successful: input.PublishBatchRequestEntries!.map((e) => ({ Id: e.Id })), Failed: [] };
    });
    const report = await publishEach(sns, TOPIC, [{ message: 'a' }, { message: 'bad' }, { message: 'c' }]);
    expect(report).toEqual({ published: 2, rejected: [{ index: 1, code: 'InvalidParameterValue', reason: 'InvalidParameterValue happened' }] });
  });

  it('an entry SNS refuses as a sender fault is rejected; a server-side entry failure is retryable', async () => {
    mock.on(PublishBatchCommand).resolves({
      Successful: [{ Id: '0' }],
      Failed: [
        { Id: '1', Code: 'InvalidParameter', Message: 'Message too long', SenderFault: true },
        { Id: '2', Code: 'InternalError', Message: 'try again', SenderFault: false },
      ],
    });
    const report = await publishEach(sns, TOPIC, [{ message: 'a' }, { message: 'b' }, { message: 'c' }]);
    expect(report.published).toBe(1);
    expect(report.rejected).toEqual([{ index: 1, code: 'InvalidParameter', reason: 'Message too long' }]);
    expect((report.retryable as Error).name).toBe('BatchSendError');
  });

  it('throttling is retryable and does not stop the batches after it', async () => {
    let calls = 0;
    mock.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => {
      calls++;
      if (calls === 1) throw awsError('Throttling', 'client');
      return { Successful: input.PublishBatchRequestEntries!.map((e) => ({ Id: e.Id })), Failed: [] };
    });
    const report = await publishEach(sns, TOPIC, Array.from({ length: 12 }, (_, i) => ({ message: `m${i}` })));
    expect(report.published).toBe(2);
    expect(report.rejected).toEqual([]);
    expect((report.retryable as Error).name).toBe('Throttling');
  });
});
