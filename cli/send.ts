/**
 * Sending payloads to the process queue, as `process`, `run-workflow` and `rerun` do: each
 * payload is validated (its id computed when missing); one whose message would exceed the queue's
 * message limit is stored under `<root>/tmp/oversized/` through `PayloadBucket` and sent as
 * `{"url": …}`, which the process function re-hydrates. Messages go out in SendMessageBatch calls
 * of at most 10 entries and at most the queue's limit in total.
 * @module
 */
import { GetQueueAttributesCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { errorMessage } from '../shared/errors';
import { SerializedPayload, type JsonObject } from '../shared/json';
import type { PayloadBucket } from '../shared/payload-bucket';
import { validateProcessPayload } from '../shared/payload';
import { utf8Length } from '../shared/size';
import { chunkBySize } from '../shared/sns';
import { toJsonText, type InputDocument } from './input';

/** SQS's message size limit, used when the queue does not say its own. */
export const SQS_MAX_MESSAGE_BYTES = 262_144;

/** A payload ready to send. */
export interface PreparedPayload {
  index: number;
  payloadId: string;
  /** The payload's JSON text, numbers as read. */
  text: string;
}

/** A payload that cannot be sent, with the reason. */
export interface PayloadProblem {
  index: number;
  message: string;
}

/** What happened to one payload. */
export interface SendResult {
  payload_id: string;
  /** The SQS message id, when sent. */
  message_id?: string;
  /** The `tmp/oversized/` URL sent instead of the payload. */
  oversized_url?: string;
  /** Why it was not sent. */
  error?: string;
}

/**
 * Validates one document as `process` would (computing a missing id).
 * @returns the prepared payload, or the problem that stops it.
 */
export function preparePayload(doc: InputDocument, bucket?: PayloadBucket): PreparedPayload | PayloadProblem {
  if (doc.error !== undefined) return { index: doc.index, message: doc.error };
  try {
    // Validate a plain copy (lossless numbers are objects); send the lossless value, id added.
    const payload = validateProcessPayload(JSON.parse(toJsonText(doc.value)), bucket ? { bucket } : {});
    const value = doc.value as Record<string, unknown>;
    if (value.id === undefined) value.id = payload.id;
    return { index: doc.index, payloadId: payload.id, text: toJsonText(value) };
  } catch (err) {
    return { index: doc.index, message: errorMessage(err) };
  }
}

/** True for a {@link PayloadProblem}. */
export function isProblem(p: PreparedPayload | PayloadProblem): p is PayloadProblem {
  return !('payloadId' in p);
}

/** The queue's MaximumMessageSize (bytes), or SQS's limit when the queue does not report one. */
export async function queueMessageLimit(sqs: SQSClient, queueUrl: string): Promise<number> {
  const res = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['MaximumMessageSize'] }));
  const n = Number(res.Attributes?.MaximumMessageSize);
  return Number.isInteger(n) && n > 0 ? n : SQS_MAX_MESSAGE_BYTES;
}

interface Outgoing {
  payload: PreparedPayload;
  body: string;
  oversizedUrl?: string;
}

/** Sends prepared payloads to one queue. */
export class PayloadSender {
  private limit: number | undefined;

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly bucket: PayloadBucket,
  ) {}

  /** The message body of a payload: its text, or a `tmp/oversized/` reference when over the limit. */
  private async outgoing(p: PreparedPayload): Promise<Outgoing> {
    this.limit ??= await queueMessageLimit(this.sqs, this.queueUrl);
    if (utf8Length(p.text) <= this.limit) return { payload: p, body: p.text };
    const url = await this.bucket.uploadOversizePayload(new SerializedPayload({} as JsonObject, p.text));
    return { payload: p, body: JSON.stringify({ url }), oversizedUrl: url };
  }

  /** Groups messages into batches of at most 10 entries and the queue's limit in total. */
  private batches(items: Outgoing[]): Outgoing[][] {
    return chunkBySize(items, (item) => utf8Length(item.body), this.limit ?? SQS_MAX_MESSAGE_BYTES);
  }

  private async sendBatch(batch: Outgoing[]): Promise<SendResult[]> {
    const res = await this.sqs.send(
      new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: batch.map((o, i) => ({ Id: String(i), MessageBody: o.body })) }),
    );
    const ok = new Map((res.Successful ?? []).map((s) => [s.Id, s.MessageId]));
    const failed = new Map((res.Failed ?? []).map((f) => [f.Id, `${f.Code ?? 'Failed'}: ${f.Message ?? 'not sent'}`]));
    return batch.map((o, i) => ({
      payload_id: o.payload.payloadId,
      ...(ok.has(String(i)) ? { message_id: ok.get(String(i)) } : { error: failed.get(String(i)) ?? 'not sent' }),
      ...(o.oversizedUrl ? { oversized_url: o.oversizedUrl } : {}),
    }));
  }

  /**
   * Sends every payload; `onSent` is called after each batch with how many it held. A batch the
   * queue refuses as a whole throws (nothing of it was sent).
   */
  async send(payloads: readonly PreparedPayload[], onSent: (n: number) => void = () => undefined): Promise<SendResult[]> {
    const results: SendResult[] = [];
    const outgoing: Outgoing[] = [];
    for (const p of payloads) outgoing.push(await this.outgoing(p));
    for (const batch of this.batches(outgoing)) {
      results.push(...(await this.sendBatch(batch)));
      onSent(batch.length);
    }
    return results;
  }
}
