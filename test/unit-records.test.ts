/**
 * Record extraction (README, "`process`"), against the events of `test/fixtures/events`.
 */
import { RecordExtractError } from '../shared/errors';
import { extractEventRecords, extractRecord, isSqsMessage, normalizeEvent } from '../shared/records';
import { fixtureNames, readFixture, snsMessagesOfBodies, thrown } from './helpers/fixtures';

const eventFixtures = fixtureNames('events', '.records.json');

describe('extractEventRecords: event fixtures', () => {
  it('finds SQS, SNS and SNS-through-SQS events (single and multiple), a bare payload and a Batch job', () => {
    expect(eventFixtures).toEqual([
      'bare-payload',
      'batch-job-succeeded',
      'sns-multiple',
      'sns-single',
      'sns-through-sqs-multiple',
      'sns-through-sqs-single',
      'sqs-multiple',
      'sqs-single',
    ]);
  });

  it.each(eventFixtures)('extracts events/%s.json as its .records.json', (name) => {
    expect(extractEventRecords(readFixture(`events/${name}.json`))).toEqual(readFixture(`events/${name}.records.json`));
  });

  it('extracts an SNS-through-SQS event to the SNS Message of each body', () => {
    const event = readFixture('events/sns-through-sqs-multiple.json');
    const messages = snsMessagesOfBodies(event);
    expect(messages[1]).toMatchObject({ type: 'FeatureCollection', process: [expect.objectContaining({ workflow: 'cog-archive' })] });
    expect(extractEventRecords(event)).toEqual(messages);
  });
});

describe('extractRecord', () => {
  const payload = { id: 'c/workflow-w/i', type: 'FeatureCollection', features: [], process: [{ workflow: 'w' }] };

  it('parses an SQS body', () => {
    expect(extractRecord({ messageId: 'm1', body: JSON.stringify(payload) })).toEqual(payload);
  });

  it('parses an SNS Message', () => {
    expect(extractRecord({ Sns: { Message: JSON.stringify(payload) } })).toEqual(payload);
  });

  it('parses an SNS envelope delivered through SQS', () => {
    const envelope = { Type: 'Notification', Message: JSON.stringify(payload) };
    expect(extractRecord({ messageId: 'm1', body: JSON.stringify(envelope) })).toEqual(payload);
  });

  it('returns a bare payload as it is', () => {
    expect(extractRecord(payload)).toEqual(payload);
  });

  it('turns Parameters.url_out without url into {"url": url_out}', () => {
    expect(extractRecord({ Parameters: { url: 's3://b/in.json', url_out: 's3://b/in_out.json' } })).toEqual({ url: 's3://b/in_out.json' });
  });

  it('keeps a record that already has url (no url_out substitution)', () => {
    const r = { url: 's3://b/keep.json', Parameters: { url_out: 's3://b/other.json' } };
    expect(extractRecord(r)).toEqual(r);
  });

  it('keeps a {"url"} reference for later re-hydration', () => {
    expect(extractRecord({ body: JSON.stringify({ url: 's3://b/p.json' }) })).toEqual({ url: 's3://b/p.json' });
  });

  it('treats a bare object without Records as one payload', () => {
    expect(normalizeEvent(payload)).toEqual([payload]);
    expect(extractEventRecords(payload)).toEqual([payload]);
  });

  it('returns one record per entry of Records', () => {
    const event = { Records: [{ body: '{"id":"a"}' }, { Sns: { Message: '{"id":"b"}' } }] };
    expect(extractEventRecords(event)).toEqual([{ id: 'a' }, { id: 'b' }]);
  });
});

describe('bad records → RecordExtractError', () => {
  it.each([
    ['an SQS body that is not JSON', { messageId: 'm', body: 'not json {' }],
    ['an SQS body that is a JSON array', { messageId: 'm', body: '[1, 2]' }],
    ['an SQS body that is a JSON string', { messageId: 'm', body: '"just a string"' }],
    ['an SQS body that is not a string', { body: 42 }],
    ['an SNS Message that is not JSON', { Sns: { Message: '{oops' } }],
    ['an SNS Message that is JSON null', { Sns: { Message: 'null' } }],
    ['an SNS record without an Sns object', { Sns: 'text' }],
    ['an SNS-through-SQS Message that is not JSON', { body: JSON.stringify({ Type: 'Notification', Message: 'nope' }) }],
    ['a non-object record (number)', 42],
    ['a non-object record (string)', 'payload'],
    ['a non-object record (array)', [1]],
    ['a non-object record (null)', null],
  ])('rejects %s', (_label, record) => {
    const err = thrown(() => extractRecord(record));
    expect(err).toBeInstanceOf(RecordExtractError);
    expect(err.name).toBe('RecordExtractError');
  });

  it('rejects an event whose Records hold a bad record', () => {
    const err = thrown(() => extractEventRecords({ Records: [{ body: '{"id":"ok"}' }, { body: 'bad' }] }));
    expect(err.name).toBe('RecordExtractError');
  });
});

describe('isSqsMessage', () => {
  it('is true for the SQS fixture record', () => {
    const event = readFixture('events/sqs-single.json') as { Records: unknown[] };
    expect(isSqsMessage(event.Records[0])).toBe(true);
  });

  it('is true for an SQS record without eventSource', () => {
    expect(isSqsMessage({ messageId: 'm', body: '{}' })).toBe(true);
  });

  it('is false for an SNS record', () => {
    const event = readFixture('events/sns-single.json') as { Records: unknown[] };
    expect(isSqsMessage(event.Records[0])).toBe(false);
  });

  it('is false without messageId, with a non-string body, or from another event source', () => {
    expect(isSqsMessage({ body: '{}' })).toBe(false);
    expect(isSqsMessage({ messageId: 'm', body: {} })).toBe(false);
    expect(isSqsMessage({ messageId: 'm', body: '{}', eventSource: 'aws:sns' })).toBe(false);
    expect(isSqsMessage('m')).toBe(false);
  });
});
