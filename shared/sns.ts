/**
 * Batched SNS publishing (PublishBatch, at most 10 entries per call) and SQS sending
 * (SendMessageBatch, at most 10 per call).
 * @module
 */
import { PublishBatchCommand, type MessageAttributeValue, type SNSClient } from '@aws-sdk/client-sns';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { CirrusError } from './errors';

/** The largest batch SNS PublishBatch and SQS SendMessageBatch accept. */
export const MAX_BATCH = 10;

/** One SNS message. */
export interface SnsMessage {
  message: string;
  attributes?: Record<string, MessageAttributeValue>;
}

/** Some entries of a batch call were not accepted. */
export class BatchSendError extends CirrusError {
  constructor(
    message: string,
    /** Messages of the failed entries. */
    readonly failedEntries: { id: string; code?: string; message?: string }[],
  ) {
    super(message);
  }
}

function chunks<T>(items: readonly T[], size = MAX_BATCH): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Publishes messages to a topic in batches of at most 10; throws when any entry fails. */
export async function publishBatch(sns: SNSClient, topicArn: string, messages: readonly SnsMessage[]): Promise<number> {
  let calls = 0;
  for (const batch of chunks(messages)) {
    calls++;
    const res = await sns.send(
      new PublishBatchCommand({
        TopicArn: topicArn,
        PublishBatchRequestEntries: batch.map((m, i) => ({
          Id: String(i),
          Message: m.message,
          MessageAttributes: m.attributes && Object.keys(m.attributes).length > 0 ? m.attributes : undefined,
        })),
      }),
    );
    if (res.Failed && res.Failed.length > 0) {
      throw new BatchSendError(
        `SNS PublishBatch to ${topicArn}: ${res.Failed.length} of ${batch.length} messages failed`,
        res.Failed.map((f) => ({ id: f.Id ?? '?', code: f.Code, message: f.Message })),
      );
    }
  }
  return calls;
}

/** Sends message bodies to a queue in batches of at most 10; throws when any entry fails. */
export async function sendMessageBatch(sqs: SQSClient, queueUrl: string, bodies: readonly string[]): Promise<number> {
  let calls = 0;
  for (const batch of chunks(bodies)) {
    calls++;
    const res = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((body, i) => ({ Id: String(i), MessageBody: body })),
      }),
    );
    if (res.Failed && res.Failed.length > 0) {
      throw new BatchSendError(
        `SQS SendMessageBatch to ${queueUrl}: ${res.Failed.length} of ${batch.length} messages failed`,
        res.Failed.map((f) => ({ id: f.Id ?? '?', code: f.Code, message: f.Message })),
      );
    }
  }
  return calls;
}
