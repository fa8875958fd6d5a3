/**
 * Batched SNS publishing (PublishBatch, at most 10 entries per call) and SQS sending
 * (SendMessageBatch, at most 10 per call).
 * @module
 */
import { PublishBatchCommand, type MessageAttributeValue, type SNSClient } from '@aws-sdk/client-sns';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { BatchSendError } from './errors';
import { utf8Length } from './size';

export { BatchSendError };

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

/** Bytes of a message's attributes counted against the request size (names, types and values). */
function attributeBytes(attrs: Record<string, MessageAttributeValue> | undefined): number {
  let n = 0;
  for (const [name, v] of Object.entries(attrs ?? {})) {
    n += utf8Length(name) + utf8Length(v.DataType ?? '') + utf8Length(v.StringValue ?? '') + (v.BinaryValue?.length ?? 0);
  }
  return n;
}

/** Bytes of an SNS message counted against the batch request size: its text and its attributes. */
function messageBytes(m: SnsMessage): number {
  return utf8Length(m.message) + attributeBytes(m.attributes);
}

/**
 * Splits entries, in order, into batches of at most {@link MAX_BATCH} entries and `maxBytes` bytes
 * in total (as `bytes` counts an entry); an entry larger than `maxBytes` goes alone in its batch.
 * Used for SNS PublishBatch here and for SQS SendMessageBatch by the CLI.
 */
export function chunkBySize<T>(items: readonly T[], bytes: (item: T) => number, maxBytes = MAX_BATCH_BYTES): T[][] {
  const out: T[][] = [];
  let batch: T[] = [];
  let total = 0;
  for (const item of items) {
    const n = bytes(item);
    if (batch.length > 0 && (batch.length >= MAX_BATCH || total + n > maxBytes)) {
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
  for (const batch of chunkBySize(messages, messageBytes)) {
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

/** A message SNS refused for what it holds: sending it again can never succeed. */
export interface RejectedMessage {
  /** Position of the message in the list given to {@link publishEach}. */
  index: number;
  /** The error code (SNS's, or `MessageTooLong` / `InvalidParameterValue` when refused before sending). */
  code: string;
  /** Why it was refused. */
  reason: string;
}

/** What {@link publishEach} did. */
export interface PublishReport {
  /** Messages SNS accepted. */
  published: number;
  /** Messages refused for their content (too large, an attribute SNS does not accept, …). */
  rejected: RejectedMessage[];
  /** The first failure a later attempt may fix (throttling, a service error, a network error, no permission). */
  retryable?: unknown;
}

/** Error codes with which SNS refuses a request for the messages it holds, not for the service's state. */
const REFUSAL_CODES = new Set(['InvalidParameter', 'InvalidParameterValue', 'ValidationError', 'ValidationException', 'BatchRequestTooLong']);

/** A number as SNS accepts it in a `Number` attribute. */
const SNS_NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

/** Why SNS would refuse a message whatever the attempt, or undefined when it may be sent. */
function refusalOf(m: SnsMessage): { code: string; reason: string } | undefined {
  const bytes = utf8Length(m.message) + attributeBytes(m.attributes);
  if (bytes > MAX_BATCH_BYTES) {
    return { code: 'MessageTooLong', reason: `the message and its attributes take ${bytes} bytes, over SNS's ${MAX_BATCH_BYTES}-byte limit` };
  }
  for (const [name, v] of Object.entries(m.attributes ?? {})) {
    if (v.DataType === 'Number' && !SNS_NUMBER.test(v.StringValue ?? '')) {
      return { code: 'InvalidParameterValue', reason: `attribute ${name} must be a number, got ${JSON.stringify(v.StringValue)}` };
    }
  }
  return undefined;
}

function codeOf(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}

/**
 * Publishes every message it can, in batches of at most 10 entries and 256 KiB, and never throws.
 * A message SNS refuses for its content (found before sending, or named by SNS as a sender fault)
 * is reported in `rejected` and holds back none of the others; when SNS refuses a whole batch for
 * its content, each of its messages is sent alone so that only the offending ones are rejected.
 * Any other failure is returned as `retryable`.
 */
export async function publishEach(sns: SNSClient, topicArn: string, messages: readonly SnsMessage[]): Promise<PublishReport> {
  const report: PublishReport = { published: 0, rejected: [] };
  const sendable: { index: number; m: SnsMessage }[] = [];
  messages.forEach((m, index) => {
    const refusal = refusalOf(m);
    if (refusal) report.rejected.push({ index, ...refusal });
    else sendable.push({ index, m });
  });
  const send = async (batch: { index: number; m: SnsMessage }[]): Promise<void> => {
    try {
      const res = await sns.send(
        new PublishBatchCommand({
          TopicArn: topicArn,
          PublishBatchRequestEntries: batch.map(({ m }, i) => ({
            Id: String(i),
            Message: m.message,
            MessageAttributes: m.attributes && Object.keys(m.attributes).length > 0 ? m.attributes : undefined,
          })),
        }),
      );
      const failed = res.Failed ?? [];
      report.published += batch.length - failed.length;
      for (const f of failed) {
        const entry = batch[Number(f.Id)];
        const code = f.Code ?? 'Unknown';
        if (f.SenderFault && REFUSAL_CODES.has(code) && entry) report.rejected.push({ index: entry.index, code, reason: f.Message ?? code });
        else report.retryable ??= new BatchSendError(`SNS PublishBatch to ${topicArn}: entry failed: ${code}: ${f.Message ?? ''}`, [{ id: f.Id ?? '?', code: f.Code, message: f.Message }]);
      }
    } catch (err) {
      if (!REFUSAL_CODES.has(codeOf(err))) {
        report.retryable ??= err;
      } else if (batch.length > 1) {
        for (const one of batch) await send([one]);
      } else {
        report.rejected.push({ index: batch[0].index, code: codeOf(err), reason: err instanceof Error ? err.message : String(err) });
      }
    }
  };
  for (const batch of chunkBySize(sendable, ({ m }) => messageBytes(m))) await send(batch);
  report.rejected.sort((a, b) => a.index - b.index);
  return report;
}

/** Sends message bodies to a queue in batches of at most 10 entries and 256 KiB; throws when any entry fails. */
export async function sendMessageBatch(sqs: SQSClient, queueUrl: string, bodies: readonly string[]): Promise<number> {
  let calls = 0;
  for (const batch of chunkBySize(bodies, utf8Length)) {
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
