/**
 * A minimal in-process SNS endpoint speaking the AWS query protocol (form-encoded POST, XML
 * responses) for CreateTopic, Publish, PublishBatch, ListTopics and DeleteTopic. Every published
 * message is recorded for tests.
 * @module
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { attributesSize, simpleAttributes, validateAttributes, type MessageAttributes } from './attributes';
import { AwsServiceError } from './errors';
import { readBody } from './http';

/** A message as recorded by the local SNS endpoint. */
export interface RecordedSnsMessage {
  messageId: string;
  topicArn: string;
  message: string;
  subject?: string;
  /** `{name: value}` view of the message attributes. */
  attributes: Record<string, string>;
  /** The message attributes as published (`DataType`, `StringValue`/`BinaryValue`). */
  messageAttributes: MessageAttributes;
  publishedAt: Date;
}

/** Largest message (body plus attributes) SNS accepts, and largest PublishBatch request. */
export const SNS_MAX_MESSAGE_BYTES = 262144;

const XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';

function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c);
}

/** Reads `<prefix>.entry.N.Name / .Value.DataType / .Value.StringValue / .Value.BinaryValue`. */
function parseAttributes(p: URLSearchParams, prefix: string): MessageAttributes {
  const out: MessageAttributes = {};
  for (let i = 1; ; i++) {
    const base = `${prefix}.entry.${i}`;
    const name = p.get(`${base}.Name`);
    if (name === null) break;
    const stringValue = p.get(`${base}.Value.StringValue`);
    const binaryValue = p.get(`${base}.Value.BinaryValue`);
    out[name] = {
      DataType: p.get(`${base}.Value.DataType`) ?? '',
      ...(stringValue !== null ? { StringValue: stringValue } : {}),
      ...(binaryValue !== null ? { BinaryValue: binaryValue } : {}),
    };
  }
  return out;
}

interface Topic {
  arn: string;
  name: string;
  messages: RecordedSnsMessage[];
}

/** The local SNS service. */
export class LocalSns {
  private readonly topics = new Map<string, Topic>();

  constructor(
    private readonly region: string,
    private readonly account: string,
  ) {}

  /** The HTTP request listener of the endpoint. */
  listener(): http.RequestListener {
    return (req, res) => {
      const requestId = randomUUID();
      const reply = (status: number, xml: string): void => {
        const body = `<?xml version="1.0"?>\n${xml}`;
        res.writeHead(status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(body), 'x-amzn-requestid': requestId });
        res.end(body);
      };
      void (async () => {
        try {
          const params = new URLSearchParams((await readBody(req)).toString('utf8'));
          const action = params.get('Action') ?? '';
          const result = this.dispatch(action, params);
          reply(
            200,
            `<${action}Response xmlns="${XMLNS}">` +
              (result === null ? '' : `<${action}Result>${result}</${action}Result>`) +
              `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`,
          );
        } catch (err) {
          const e = err instanceof AwsServiceError ? err : new AwsServiceError('InternalError', err instanceof Error ? err.message : String(err), 500);
          reply(
            e.statusCode,
            `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${e.statusCode >= 500 ? 'Receiver' : 'Sender'}</Type>` +
              `<Code>${xmlEscape(e.code)}</Code><Message>${xmlEscape(e.message)}</Message></Error>` +
              `<RequestId>${requestId}</RequestId></ErrorResponse>`,
          );
        }
      })();
    };
  }

  /** Creates a topic (idempotent) and returns its ARN. */
  createTopic(name: string): string {
    if (!/^[A-Za-z0-9_-]{1,256}(\.fifo)?$/.test(name)) {
      throw new AwsServiceError('InvalidParameter', 'Invalid parameter: Topic Name');
    }
    const arn = `arn:aws:sns:${this.region}:${this.account}:${name}`;
    if (!this.topics.has(arn)) this.topics.set(arn, { arn, name, messages: [] });
    return arn;
  }

  /** Messages published to a topic (by ARN or name), oldest first. */
  messages(topic: string): RecordedSnsMessage[] {
    return this.topic(topic).messages.map((m) => ({ ...m, attributes: { ...m.attributes } }));
  }

  /** ARNs of every topic. */
  topicArns(): string[] {
    return [...this.topics.keys()];
  }

  /** Forgets every recorded message. */
  clear(): void {
    for (const t of this.topics.values()) t.messages.length = 0;
  }

  private topic(ref: string): Topic {
    const t = this.topics.get(ref) ?? [...this.topics.values()].find((x) => x.name === ref);
    if (!t) throw new AwsServiceError('NotFound', 'Topic does not exist', 404);
    return t;
  }

  private dispatch(action: string, p: URLSearchParams): string | null {
    switch (action) {
      case 'CreateTopic':
        return `<TopicArn>${xmlEscape(this.createTopic(p.get('Name') ?? ''))}</TopicArn>`;
      case 'DeleteTopic':
        this.topics.delete(p.get('TopicArn') ?? '');
        return null;
      case 'ListTopics':
        return `<Topics>${this.topicArns().map((a) => `<member><TopicArn>${xmlEscape(a)}</TopicArn></member>`).join('')}</Topics>`;
      case 'Publish':
        return this.publish(p);
      case 'PublishBatch':
        return this.publishBatch(p);
      default:
        throw new AwsServiceError('InvalidAction', `The action ${action} is not valid for this endpoint.`);
    }
  }

  /** Validates one message and records it; returns its message id. */
  private record(t: Topic, message: string | null, subject: string | null, attrs: MessageAttributes): string {
    if (message === null || message === '') {
      throw new AwsServiceError('InvalidParameter', 'Invalid parameter: Empty message');
    }
    validateAttributes(attrs, { code: 'InvalidParameterValue', allowStringArray: true });
    const size = Buffer.byteLength(message) + attributesSize(attrs);
    if (size > SNS_MAX_MESSAGE_BYTES) {
      throw new AwsServiceError('InvalidParameter', `Invalid parameter: Message too long (${size} bytes, the limit is ${SNS_MAX_MESSAGE_BYTES})`);
    }
    const messageId = randomUUID();
    t.messages.push({
      messageId,
      topicArn: t.arn,
      message,
      ...(subject !== null ? { subject } : {}),
      attributes: simpleAttributes(attrs),
      messageAttributes: attrs,
      publishedAt: new Date(),
    });
    return messageId;
  }

  private publish(p: URLSearchParams): string {
    const arn = p.get('TopicArn') ?? p.get('TargetArn');
    if (!arn) throw new AwsServiceError('InvalidParameter', 'Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter');
    const id = this.record(this.topic(arn), p.get('Message'), p.get('Subject'), parseAttributes(p, 'MessageAttributes'));
    return `<MessageId>${id}</MessageId>`;
  }

  private publishBatch(p: URLSearchParams): string {
    const t = this.topic(p.get('TopicArn') ?? '');
    const entries: { id: string; message: string | null; subject: string | null; attrs: MessageAttributes }[] = [];
    for (let i = 1; ; i++) {
      const base = `PublishBatchRequestEntries.member.${i}`;
      const id = p.get(`${base}.Id`);
      if (id === null) break;
      entries.push({ id, message: p.get(`${base}.Message`), subject: p.get(`${base}.Subject`), attrs: parseAttributes(p, `${base}.MessageAttributes`) });
    }
    if (entries.length === 0) throw new AwsServiceError('EmptyBatchRequest', 'The batch request does not contain any entries.');
    if (entries.length > 10) {
      throw new AwsServiceError('TooManyEntriesInBatchRequest', 'The batch request contains more entries than permissible (10).');
    }
    const ids = new Set<string>();
    for (const e of entries) {
      if (!/^[A-Za-z0-9_-]{1,80}$/.test(e.id)) throw new AwsServiceError('InvalidBatchEntryId', `The Id of a batch entry in a batch request doesn't abide by the specification: ${e.id}`);
      if (ids.has(e.id)) throw new AwsServiceError('BatchEntryIdsNotDistinct', 'Two or more batch entries in the request have the same Id.');
      ids.add(e.id);
    }
    const total = entries.reduce((n, e) => n + Buffer.byteLength(e.message ?? '') + attributesSize(e.attrs), 0);
    if (total > SNS_MAX_MESSAGE_BYTES) {
      throw new AwsServiceError('BatchRequestTooLong', `The length of all the messages put together is more than the limit (${total} bytes).`);
    }
    const ok: string[] = [];
    const failed: string[] = [];
    for (const e of entries) {
      try {
        const mid = this.record(t, e.message, e.subject, e.attrs);
        ok.push(`<member><Id>${xmlEscape(e.id)}</Id><MessageId>${mid}</MessageId></member>`);
      } catch (err) {
        if (!(err instanceof AwsServiceError)) throw err;
        failed.push(
          `<member><Id>${xmlEscape(e.id)}</Id><Code>${xmlEscape(err.code)}</Code>` +
            `<Message>${xmlEscape(err.message)}</Message><SenderFault>true</SenderFault></member>`,
        );
      }
    }
    return `<Successful>${ok.join('')}</Successful><Failed>${failed.join('')}</Failed>`;
  }
}
