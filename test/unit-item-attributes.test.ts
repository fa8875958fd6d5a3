/**
 * SNS message attributes of published items (SPEC section 10), against the reference fixtures of
 * cirrus-geo (`build_item_sns_attributes`).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { JsonObject } from '../shared/json';
import { itemAttributes } from '../shared/item-attributes';
import { FIXTURES_DIR, readJsonFile } from './helpers/fixtures';

// The CI clone has `shared/` beside the repository root.
const ITEMS = path.join(FIXTURES_DIR, 'items');

const itemFixtures = readdirSync(ITEMS)
  .filter((f) => f.endsWith('.json'))
  .sort();

const BBOX = [-78.85549714480591, -33.5090673116811, -77.66654434530413, -33.171471085391424];

describe('itemAttributes: reference fixtures', () => {
  it('finds the reference item fixtures', () => {
    expect(itemFixtures).toEqual(expect.arrayContaining(['item.json', 'item_alt.json', 'item_no_properties.json']));
  });

  it.each(itemFixtures)('builds the attributes of %s as its .json.expected', (name) => {
    const item = readJsonFile(path.join(ITEMS, name)) as JsonObject;
    const expected = readJsonFile(path.join(ITEMS, `${name}.expected`)) as JsonObject;
    expect(itemAttributes(item)).toEqual(expected);
  });
});

describe('itemAttributes', () => {
  it('uses datetime for start and end when no range is given', () => {
    const a = itemAttributes({ properties: { datetime: '2021-01-01T00:00:00Z' } });
    expect(a.start_datetime?.StringValue).toBe('2021-01-01T00:00:00Z');
    expect(a.end_datetime?.StringValue).toBe('2021-01-01T00:00:00Z');
    expect(a.datetime?.StringValue).toBe('2021-01-01T00:00:00Z');
  });

  it('prefers start_datetime and end_datetime over datetime', () => {
    const a = itemAttributes({ properties: { datetime: 'D', start_datetime: 'S', end_datetime: 'E' } });
    expect([a.start_datetime?.StringValue, a.end_datetime?.StringValue, a.datetime?.StringValue]).toEqual(['S', 'E', 'D']);
  });

  it('marks status "created" when created equals updated and "updated" otherwise', () => {
    expect(itemAttributes({ properties: { created: 'a', updated: 'a' } }).status).toEqual({ DataType: 'String', StringValue: 'created' });
    expect(itemAttributes({ properties: { created: 'a', updated: 'b' } }).status).toEqual({ DataType: 'String', StringValue: 'updated' });
    expect(itemAttributes({ properties: { created: 'a' } }).status).toBeUndefined();
  });

  it('publishes cloud cover as a Number attribute, 0 included', () => {
    expect(itemAttributes({ properties: { 'eo:cloud_cover': 0 } }).cloud_cover).toEqual({ DataType: 'Number', StringValue: '0' });
  });

  it('takes the upper-right corner of a 3D bbox from maxx and maxy', () => {
    const a = itemAttributes({ bbox: [1, 2, 3, 4, 5, 6] });
    expect([a['bbox.ll_lon'], a['bbox.ll_lat'], a['bbox.ur_lon'], a['bbox.ur_lat']].map((v) => v?.StringValue)).toEqual(['1', '2', '4', '5']);
  });

  it('leaves out collection and bbox when absent', () => {
    expect(itemAttributes({ properties: {} })).toEqual({});
  });

  it('never builds more than 10 attributes (the SNS-to-SQS limit)', () => {
    const a = itemAttributes({
      collection: 'c',
      bbox: BBOX,
      properties: { datetime: 'D', start_datetime: 'S', end_datetime: 'E', 'eo:cloud_cover': 1, created: 'x', updated: 'y' },
    });
    expect(Object.keys(a)).toHaveLength(10);
  });
});
