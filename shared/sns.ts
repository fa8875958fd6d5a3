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

/**
 * The largest request SNS PublishBatch and SQS SendMessageBatch accept: the sum over the entries of
 * the message and its attributes (names, types, values), in UTF-8 bytes.
 */
export const MAX_BATCH_BYTES = 262144;

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

/** Bytes of a message's attributes counted against the request size (names, types and values). */
function attributeBytes(attrs: Record<string, MessageAttributeValue> | undefined): number {
  let n = 0;
  for (const [name, v] of Object.entries(attrs ?? {})) {
    n += Buffer.byteLength(name) + Buffer.byteLength(v.DataType ?? '') + Buffer.byteLength(v.StringValue ?? '') + (v.BinaryValue?.length ?? 0);
  }
  return n;
}

/** Splits entries into batches of at most {@link MAX_BATCH} entries and {@link MAX_BATCH_BYTES} bytes. */
function chunks<T>(items: readonly T[], bytes: (item: T) => number): T[][] {
  const out: T[][] = [];
  let batch: T[] = [];
  let total = 0;
  for (const item of items) {
    const n = bytes(item);
    if (batch.length > 0 && (batch.length >= MAX_BATCH || total + n > MAX_BATCH_BYTES)) {
      out.push(batch);
      batch = [];
      total = 0;
    }
    batch.push(item);
    total += n;
  }
  if (batch.length > 0) out.push(batch);
  return out;
}

/**
 * Publishes messages to a topic in batches of at most 10 entries and 256 KiB; throws when any entry
 * fails. Every batch is sent even after one failed (a message SNS refuses, too large say, must not
 * hold back the messages after it); the first failure is thrown at the end.
 */
export async function publishBatch(sns: SNSClient, topicArn: string, messages: readonly SnsMessage[]): Promise<number> {
  let calls = 0;
  let failure: unknown;
  for (const batch of chunks(messages, (m) => Buffer.byteLength(m.message) + attributeBytes(m.attributes))) {
    calls++;
    try {
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
    } catch (err) {
      failure ??= err;
    }
  }
  if (failure !== undefined) throw failure;
  return calls;
}

/** Sends message bodies to a queue in batches of at most 10 entries and 256 KiB; throws when any entry fails. */
export async function sendMessageBatch(sqs: SQSClient, queueUrl: string, bodies: readonly string[]): Promise<number> {
  let calls = 0;
  for (const batch of chunks(bodies, (body) => Buffer.byteLength(body))) {
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
