/**
 * A minimal in-process SQS endpoint (AWS JSON 1.0, `X-Amz-Target: AmazonSQS.<Action>`), the
 * protocol the AWS SDK for JavaScript v3 uses. Every sent message is also recorded for tests.
 * @module
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import {
  attributesSize,
  md5Hex,
  md5OfMessageAttributes,
  simpleAttributes,
  validateAttributes,
  type MessageAttributes,
} from './attributes';
import { AwsServiceError } from './errors';
import type { JsonObject, JsonValue } from '../shared/json';
import { awsJsonListener, optString, reqString } from './http';
import { utf8Length } from '../shared/size';

/** A message as recorded by the local SQS endpoint. */
export interface RecordedSqsMessage {
  messageId: string;
  queueUrl: string;
  body: string;
  /** `{name: value}` view of the message attributes. */
  attributes: Record<string, string>;
  /** The message attributes as sent (`DataType`, `StringValue`/`BinaryValue`). */
  messageAttributes: MessageAttributes;
  sentAt: Date;
}

interface QueueMessage extends RecordedSqsMessage {
  visibleAt: number;
  receiveCount: number;
  firstReceiveAt?: number;
  deleted: boolean;
  delaySeconds: number;
  messageGroupId?: string;
}

interface Queue {
  name: string;
  url: string;
  arn: string;
  attributes: Record<string, string>;
  created: Date;
  live: QueueMessage[];
  history: RecordedSqsMessage[];
}

interface Waiter {
  queue: Queue;
  timer: NodeJS.Timeout;
  wake: () => void;
}

const QUERY_ERRORS: Record<string, string> = {
  QueueDoesNotExist: 'AWS.SimpleQueueService.NonExistentQueue;Sender',
  TooManyEntriesInBatchRequest: 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest;Sender',
  EmptyBatchRequest: 'AWS.SimpleQueueService.EmptyBatchRequest;Sender',
  BatchEntryIdsNotDistinct: 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct;Sender',
  BatchRequestTooLong: 'AWS.SimpleQueueService.BatchRequestTooLong;Sender',
  InvalidBatchEntryId: 'AWS.SimpleQueueService.InvalidBatchEntryId;Sender',
  ReceiptHandleIsInvalid: 'ReceiptHandleIsInvalid;Sender',
  InvalidParameterValue: 'InvalidParameterValue;Sender',
  InvalidMessageContents: 'InvalidMessageContents;Sender',
  QueueNameExists: 'QueueAlreadyExists;Sender',
};

function sqsError(code: string, message: string): AwsServiceError {
  const q = QUERY_ERRORS[code];
  return new AwsServiceError(code, message, 400, q ? { 'x-amzn-query-error': q } : {});
}

/** Visibility timeout of a queue created without one (the SQS default), in seconds. */
export const DEFAULT_VISIBILITY_TIMEOUT_S = 30;

const DEFAULT_ATTRIBUTES: Record<string, string> = {
  VisibilityTimeout: String(DEFAULT_VISIBILITY_TIMEOUT_S),
  MaximumMessageSize: '262144',
  MessageRetentionPeriod: '345600',
  DelaySeconds: '0',
  ReceiveMessageWaitTimeSeconds: '0',
};

// Characters SQS accepts in a message body.
// eslint-disable-next-line no-control-regex
const INVALID_BODY_CHARS = /[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;

const BATCH_ID_RE = /^[A-Za-z0-9_-]{1,80}$/;

function attributesFrom(v: JsonValue | undefined): MessageAttributes {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw sqsError('InvalidParameterValue', 'MessageAttributes must be a map');
  const out: MessageAttributes = {};
  for (const [name, raw] of Object.entries(v)) {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw sqsError('InvalidParameterValue', `invalid attribute ${name}`);
    const a = raw as Record<string, JsonValue>;
    out[name] = {
      DataType: String(a.DataType ?? ''),
      ...(typeof a.StringValue === 'string' ? { StringValue: a.StringValue } : {}),
      ...(typeof a.BinaryValue === 'string' ? { BinaryValue: a.BinaryValue } : {}),
    };
  }
  return out;
}

/** The local SQS service. */
export class LocalSqs {
  private readonly queues = new Map<string, Queue>();
  private readonly receipts = new Map<string, QueueMessage>();
  private readonly waiters = new Set<Waiter>();
  private baseUrl = '';

  constructor(
    private readonly region: string,
    private readonly account: string,
  ) {}

  /** Sets the endpoint URL queue URLs are built from (known once the server listens). */
  setBaseUrl(url: string): void {
    this.baseUrl = url;
  }

  /** The HTTP request listener of the endpoint. */
  listener(): http.RequestListener {
    return awsJsonListener('AmazonSQS', {
      CreateQueue: (b) => ({ QueueUrl: this.createQueue(reqString(b, 'QueueName'), this.stringMap(b.Attributes)) }),
      GetQueueUrl: (b) => ({ QueueUrl: this.queueByName(reqString(b, 'QueueName')).url }),
      ListQueues: (b) => this.listQueues(b),
      DeleteQueue: (b) => this.deleteQueue(b),
      PurgeQueue: (b) => this.purge(b),
      SendMessage: (b) => this.sendMessage(b),
      SendMessageBatch: (b) => this.sendMessageBatch(b),
      ReceiveMessage: (b) => this.receiveMessage(b),
      DeleteMessage: (b) => this.deleteMessage(b),
      DeleteMessageBatch: (b) => this.deleteMessageBatch(b),
      ChangeMessageVisibility: (b) => this.changeVisibility(b),
      GetQueueAttributes: (b) => this.getQueueAttributes(b),
    });
  }

  /** Creates a queue (idempotent) and returns its URL. */
  createQueue(name: string, attributes: Record<string, string> = {}): string {
    if (!/^[A-Za-z0-9_-]{1,80}(\.fifo)?$/.test(name)) throw sqsError('InvalidParameterValue', `Invalid queue name: ${name}`);
    const existing = this.queues.get(name);
    if (existing) return existing.url;
    const q: Queue = {
      name,
      url: `${this.baseUrl}/${this.account}/${name}`,
      arn: `arn:aws:sqs:${this.region}:${this.account}:${name}`,
      attributes: { ...DEFAULT_ATTRIBUTES, ...attributes },
      created: new Date(),
      live: [],
      history: [],
    };
    this.queues.set(name, q);
    try {
      this.redrivePolicy(q);
    } catch (err) {
      this.queues.delete(name);
      throw err;
    }
    return q.url;
  }

  /** Every message ever sent to a queue (by URL, name or ARN), deleted ones included. */
  sent(queue: string): RecordedSqsMessage[] {
    return this.resolve(queue).history.map((m) => ({ ...m, attributes: { ...m.attributes } }));
  }

  /** Messages currently in a queue (not deleted yet), whether visible or in flight. */
  pending(queue: string): RecordedSqsMessage[] {
    return this.resolve(queue)
      .live.filter((m) => !m.deleted)
      .map((m) => ({
        messageId: m.messageId,
        queueUrl: m.queueUrl,
        body: m.body,
        attributes: { ...m.attributes },
        messageAttributes: m.messageAttributes,
        sentAt: m.sentAt,
      }));
  }

  /** URLs of every queue. */
  queueUrls(): string[] {
    return [...this.queues.values()].map((q) => q.url);
  }

  /** Forgets recorded history and drops every message of every queue. */
  clear(): void {
    for (const q of this.queues.values()) {
      q.history.length = 0;
      q.live.length = 0;
    }
    this.receipts.clear();
  }

  /** Ends long polls (stack shutdown). */
  shutdown(): void {
    for (const w of [...this.waiters]) w.wake();
  }

  private stringMap(v: JsonValue | undefined): Record<string, string> {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(v)) out[k] = String(x);
    return out;
  }

  private queueByName(name: string): Queue {
    const q = this.queues.get(name);
    if (!q) throw sqsError('QueueDoesNotExist', 'The specified queue does not exist.');
    return q;
  }

  /** Finds a queue by URL (any host), name or ARN. */
  private resolve(ref: string): Queue {
    const name = ref.startsWith('arn:') ? ref.split(':').pop() ?? '' : ref.split('/').filter(Boolean).pop() ?? '';
    return this.queueByName(name);
  }

  private queueOf(b: JsonObject): Queue {
    return this.resolve(reqString(b, 'QueueUrl'));
  }

  private listQueues(b: JsonObject): unknown {
    const prefix = optString(b, 'QueueNamePrefix') ?? '';
    return { QueueUrls: [...this.queues.values()].filter((q) => q.name.startsWith(prefix)).map((q) => q.url) };
  }

  private deleteQueue(b: JsonObject): unknown {
    const q = this.queueOf(b);
    this.queues.delete(q.name);
    return {};
  }

  private purge(b: JsonObject): unknown {
    const q = this.queueOf(b);
    for (const m of q.live) m.deleted = true;
    q.live = [];
    return {};
  }

  /** Validates and enqueues one message; returns the SendMessage result fields. */
  private enqueue(q: Queue, e: JsonObject): { MessageId: string; MD5OfMessageBody: string; MD5OfMessageAttributes?: string } {
    const body = typeof e.MessageBody === 'string' ? e.MessageBody : undefined;
    if (body === undefined || body === '') throw sqsError('InvalidParameterValue', 'The request must contain the parameter MessageBody.');
    if (INVALID_BODY_CHARS.test(body)) {
      throw sqsError('InvalidMessageContents', 'Invalid binary character in the message body. Only the characters allowed by SQS are accepted.');
    }
    const attrs = attributesFrom(e.MessageAttributes);
    validateAttributes(attrs, { code: 'InvalidParameterValue', allowStringArray: false, max: 10 });
    const size = utf8Length(body) + attributesSize(attrs);
    const max = Number(q.attributes.MaximumMessageSize);
    if (size > max) {
      throw sqsError('InvalidParameterValue', `One or more parameters are invalid. Reason: Message must be shorter than ${max} bytes.`);
    }
    const delaySeconds = typeof e.DelaySeconds === 'number' ? e.DelaySeconds : Number(q.attributes.DelaySeconds);
    const now = Date.now();
    const m: QueueMessage = {
      messageId: randomUUID(),
      queueUrl: q.url,
      body,
      attributes: simpleAttributes(attrs),
      messageAttributes: attrs,
      sentAt: new Date(now),
      visibleAt: now + delaySeconds * 1000,
      receiveCount: 0,
      deleted: false,
      delaySeconds,
      ...(typeof e.MessageGroupId === 'string' ? { messageGroupId: e.MessageGroupId } : {}),
    };
    q.live.push(m);
    q.history.push({
      messageId: m.messageId,
      queueUrl: m.queueUrl,
      body,
      attributes: m.attributes,
      messageAttributes: attrs,
      sentAt: m.sentAt,
    });
    this.wake(q);
    return {
      MessageId: m.messageId,
      MD5OfMessageBody: md5Hex(body),
      ...(Object.keys(attrs).length ? { MD5OfMessageAttributes: md5OfMessageAttributes(attrs) } : {}),
    };
  }

  private sendMessage(b: JsonObject): unknown {
    return this.enqueue(this.queueOf(b), b);
  }

  private batchEntries(b: JsonObject): JsonObject[] {
    const entries = b.Entries;
    if (!Array.isArray(entries) || entries.length === 0) {
      throw sqsError('EmptyBatchRequest', 'There should be at least one SendMessageBatchRequestEntry in the request.');
    }
    if (entries.length > 10) {
      throw sqsError('TooManyEntriesInBatchRequest', `Maximum number of entries per request are 10. You have sent ${entries.length}.`);
    }
    const ids = new Set<string>();
    for (const e of entries) {
      const id = e && typeof e === 'object' && !Array.isArray(e) ? e.Id : undefined;
      if (typeof id !== 'string' || !BATCH_ID_RE.test(id)) {
        throw sqsError('InvalidBatchEntryId', 'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.');
      }
      if (ids.has(id)) throw sqsError('BatchEntryIdsNotDistinct', `Id ${id} repeated.`);
      ids.add(id);
    }
    return entries as JsonObject[];
  }

  private sendMessageBatch(b: JsonObject): unknown {
    const q = this.queueOf(b);
    const entries = this.batchEntries(b);
    let total = 0;
    for (const e of entries) {
      total += utf8Length(typeof e.MessageBody === 'string' ? e.MessageBody : '') + attributesSize(attributesFrom(e.MessageAttributes));
    }
    const max = Number(q.attributes.MaximumMessageSize);
    if (total > max) {
      throw sqsError('BatchRequestTooLong', `Batch requests cannot be longer than ${max} bytes. You have sent ${total} bytes.`);
    }
    const Successful: unknown[] = [];
    const Failed: unknown[] = [];
    for (const e of entries) {
      try {
        Successful.push({ Id: e.Id, ...this.enqueue(q, e) });
      } catch (err) {
        if (!(err instanceof AwsServiceError)) throw err;
        Failed.push({ Id: e.Id, SenderFault: true, Code: err.code, Message: err.message });
      }
    }
    return { Successful, Failed };
  }

  private available(q: Queue, now: number): QueueMessage[] {
    q.live = q.live.filter((m) => !m.deleted);
    return q.live.filter((m) => m.visibleAt <= now);
  }

  private wake(q: Queue): void {
    for (const w of [...this.waiters]) if (w.queue === q) w.wake();
  }

  /**
   * The queue's `RedrivePolicy` (`{"deadLetterTargetArn", "maxReceiveCount"}`), or undefined.
   *
   * @throws AwsServiceError (InvalidParameterValue) when it is not valid JSON, has no positive
   * maxReceiveCount, or names a queue that does not exist.
   */
  private redrivePolicy(q: Queue): { target: Queue; maxReceiveCount: number } | undefined {
    const raw = q.attributes.RedrivePolicy;
    if (raw === undefined || raw === '') return undefined;
    let policy: { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
    try {
      policy = JSON.parse(raw) as typeof policy;
    } catch {
      throw sqsError('InvalidParameterValue', `Value ${raw} for parameter RedrivePolicy is invalid. Reason: Redrive policy is not a valid JSON map.`);
    }
    const max = Number(policy.maxReceiveCount);
    if (!Number.isInteger(max) || max < 1 || typeof policy.deadLetterTargetArn !== 'string') {
      throw sqsError('InvalidParameterValue', `Value ${raw} for parameter RedrivePolicy is invalid. Reason: it needs deadLetterTargetArn and a maxReceiveCount of at least 1.`);
    }
    return { target: this.resolve(policy.deadLetterTargetArn), maxReceiveCount: max };
  }

  /**
   * Moves the visible messages already received `maxReceiveCount` times to the dead-letter queue,
   * as SQS does when a receive would exceed the count. The message keeps its id, body, attributes
   * and original send time.
   */
  private redrive(q: Queue, now: number): void {
    const policy = this.redrivePolicy(q);
    if (!policy) return;
    for (const m of this.available(q, now)) {
      if (m.receiveCount < policy.maxReceiveCount) continue;
      m.deleted = true;
      const dlq = policy.target;
      const moved: QueueMessage = { ...m, queueUrl: dlq.url, visibleAt: now, receiveCount: 0, deleted: false, delaySeconds: 0 };
      delete moved.firstReceiveAt;
      dlq.live.push(moved);
      dlq.history.push({ messageId: m.messageId, queueUrl: dlq.url, body: m.body, attributes: m.attributes, messageAttributes: m.messageAttributes, sentAt: m.sentAt });
      this.wake(dlq);
    }
  }

  private async receiveMessage(b: JsonObject): Promise<unknown> {
    const q = this.queueOf(b);
    this.redrive(q, Date.now());
    const max = typeof b.MaxNumberOfMessages === 'number' ? b.MaxNumberOfMessages : 1;
    if (max < 1 || max > 10) {
      throw sqsError('InvalidParameterValue', `Value ${max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.`);
    }
    const visibility = typeof b.VisibilityTimeout === 'number' ? b.VisibilityTimeout : Number(q.attributes.VisibilityTimeout);
    const wait = Math.min(20, typeof b.WaitTimeSeconds === 'number' ? b.WaitTimeSeconds : Number(q.attributes.ReceiveMessageWaitTimeSeconds));
    if (wait > 0 && this.available(q, Date.now()).length === 0) {
      await new Promise<void>((resolve) => {
        const w: Waiter = {
          queue: q,
          timer: setTimeout(() => w.wake(), wait * 1000),
          wake: () => {
            clearTimeout(w.timer);
            this.waiters.delete(w);
            resolve();
          },
        };
        this.waiters.add(w);
      });
    }
    const now = Date.now();
    this.redrive(q, now);
    const picked = this.available(q, now).slice(0, max);
    const wantAttrs = this.names(b.MessageAttributeNames);
    const wantSys = [...this.names(b.AttributeNames), ...this.names(b.MessageSystemAttributeNames)];
    const Messages = picked.map((m) => {
      m.receiveCount += 1;
      m.firstReceiveAt ??= now;
      m.visibleAt = now + visibility * 1000;
      const ReceiptHandle = Buffer.from(`${m.messageId}:${randomUUID()}`).toString('base64');
      this.receipts.set(ReceiptHandle, m);
      const attrs: MessageAttributes = {};
      for (const [k, v] of Object.entries(m.messageAttributes)) {
        if (wantAttrs.some((p) => p === 'All' || p === '.*' || p === k || (p.endsWith('.*') && k.startsWith(p.slice(0, -1))))) attrs[k] = v;
      }
      const sys: Record<string, string> = {
        SenderId: this.account,
        SentTimestamp: String(m.sentAt.getTime()),
        ApproximateReceiveCount: String(m.receiveCount),
        ApproximateFirstReceiveTimestamp: String(m.firstReceiveAt),
        ...(m.messageGroupId ? { MessageGroupId: m.messageGroupId } : {}),
      };
      const Attributes: Record<string, string> = {};
      for (const [k, v] of Object.entries(sys)) if (wantSys.includes('All') || wantSys.includes(k)) Attributes[k] = v;
      return {
        MessageId: m.messageId,
        ReceiptHandle,
        MD5OfBody: md5Hex(m.body),
        Body: m.body,
        ...(Object.keys(Attributes).length ? { Attributes } : {}),
        ...(Object.keys(attrs).length ? { MessageAttributes: attrs, MD5OfMessageAttributes: md5OfMessageAttributes(attrs) } : {}),
      };
    });
    return Messages.length ? { Messages } : {};
  }

  private names(v: JsonValue | undefined): string[] {
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  }

  private removeByReceipt(handle: string): void {
    const m = this.receipts.get(handle);
    if (!m) throw sqsError('ReceiptHandleIsInvalid', `The input receipt handle "${handle}" is not a valid receipt handle.`);
    m.deleted = true;
  }

  private deleteMessage(b: JsonObject): unknown {
    this.queueOf(b);
    this.removeByReceipt(reqString(b, 'ReceiptHandle'));
    return {};
  }

  private deleteMessageBatch(b: JsonObject): unknown {
    this.queueOf(b);
    const Successful: unknown[] = [];
    const Failed: unknown[] = [];
    for (const e of this.batchEntries(b)) {
      try {
        this.removeByReceipt(typeof e.ReceiptHandle === 'string' ? e.ReceiptHandle : '');
        Successful.push({ Id: e.Id });
      } catch (err) {
        if (!(err instanceof AwsServiceError)) throw err;
        Failed.push({ Id: e.Id, SenderFault: true, Code: err.code, Message: err.message });
      }
    }
    return { Successful, Failed };
  }

  private changeVisibility(b: JsonObject): unknown {
    this.queueOf(b);
    const m = this.receipts.get(reqString(b, 'ReceiptHandle'));
    if (!m) throw sqsError('ReceiptHandleIsInvalid', 'The input receipt handle is not a valid receipt handle.');
    const t = typeof b.VisibilityTimeout === 'number' ? b.VisibilityTimeout : 0;
    m.visibleAt = Date.now() + t * 1000;
    return {};
  }

  private getQueueAttributes(b: JsonObject): unknown {
    const q = this.queueOf(b);
    const now = Date.now();
    const live = q.live.filter((m) => !m.deleted);
    const all: Record<string, string> = {
      ...q.attributes,
      QueueArn: q.arn,
      ApproximateNumberOfMessages: String(live.filter((m) => m.visibleAt <= now).length),
      ApproximateNumberOfMessagesNotVisible: String(live.filter((m) => m.visibleAt > now && m.receiveCount > 0).length),
      ApproximateNumberOfMessagesDelayed: String(live.filter((m) => m.visibleAt > now && m.receiveCount === 0).length),
      CreatedTimestamp: String(Math.floor(q.created.getTime() / 1000)),
      LastModifiedTimestamp: String(Math.floor(q.created.getTime() / 1000)),
    };
    const want = this.names(b.AttributeNames);
    const Attributes: Record<string, string> = {};
    for (const [k, v] of Object.entries(all)) if (want.includes('All') || want.includes(k)) Attributes[k] = v;
    return { Attributes };
  }
}
