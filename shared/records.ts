/**
 * Record extraction from the events `process` and the batch helpers accept (README, "`process`"):
 * SQS, SNS, SNS delivered through SQS, a bare payload, and AWS Batch `Parameters.url_out`.
 * @module
 */
import { RecordExtractError } from './errors';
import { isJsonObject, type JsonObject } from './json';

/** The records of an event: `event.Records` when present, else the event itself. */
export function normalizeEvent(event: unknown): unknown[] {
  if (isJsonObject(event) && Array.isArray(event.Records)) return event.Records;
  return [event];
}

/** True for a record delivered by SQS (it carries a `messageId` to report on failure). */
export function isSqsMessage(record: unknown): record is { messageId: string; body: string; eventSource?: string } {
  return (
    isJsonObject(record) &&
    typeof record.messageId === 'string' &&
    typeof record.body === 'string' &&
    (record.eventSource === undefined || record.eventSource === 'aws:sqs')
  );
}

function parseJson(text: unknown, where: string): JsonObject {
  if (typeof text !== 'string') {
    throw new RecordExtractError(`${where} is not a string (got ${text === null ? 'null' : typeof text})`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new RecordExtractError(`${where} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!isJsonObject(v)) {
    throw new RecordExtractError(`${where} is not a JSON object`);
  }
  return v;
}

/**
 * Extracts the payload (or payload reference) from one record.
 *
 * - `body` (SQS): parsed as JSON; when it is an SNS envelope (has `Message`), the message is parsed.
 * - `Sns` (SNS): `Sns.Message` is parsed.
 * - a record with `Parameters.url_out` and no `url` (AWS Batch output) becomes `{"url": url_out}`.
 * - anything else is returned as it is (a bare payload).
 *
 * @throws RecordExtractError when a body or message is not a JSON object.
 */
export function extractRecord(record: unknown): JsonObject {
  return extractRecordWithText(record).value;
}

/**
 * Like {@link extractRecord}, and also returns the JSON text the object was parsed from (the SQS
 * body or SNS message), so a payload that validation leaves unchanged is stored and started as the
 * very bytes received. `text` is undefined for a bare payload and for a Batch `url_out`.
 */
export function extractRecordWithText(record: unknown): { value: JsonObject; text?: string } {
  if (!isJsonObject(record)) {
    throw new RecordExtractError(`record is not a JSON object (got ${Array.isArray(record) ? 'array' : typeof record})`);
  }
  let r: JsonObject = record;
  let text: string | undefined;
  if ('body' in r) {
    r = parseJson(r.body, 'SQS message body');
    text = record.body as string;
  } else if ('Sns' in r) {
    if (!isJsonObject(r.Sns)) throw new RecordExtractError('SNS record has no Sns object');
    r = r.Sns;
  }
  if ('Message' in r) {
    const message = r.Message;
    r = parseJson(message, 'SNS Message');
    text = message as string;
  }
  if (!('url' in r) && isJsonObject(r.Parameters) && 'url_out' in r.Parameters) {
    return { value: { url: r.Parameters.url_out } };
  }
  return { value: r, text };
}

/** Extracts every record of an event (throws on the first bad one; `process` extracts one by one). */
export function extractEventRecords(event: unknown): JsonObject[] {
  return normalizeEvent(event).map(extractRecord);
}
