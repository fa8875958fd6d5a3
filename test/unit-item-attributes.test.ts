/**
 * SNS message attributes of published items (the same as Cirrus `build_item_sns_attributes`),
 * against the items of `test/fixtures/items`.
 */
import type { JsonObject } from '../shared/json';
import { itemAttributes } from '../shared/item-attributes';
import { fixtureNames, readFixture } from './helpers/fixtures';

const itemFixtures = fixtureNames('items', '.attributes.json');

const BBOX = [-78.85549714480591, -33.5090673116811, -77.66654434530413, -33.171471085391424];

describe('itemAttributes: item fixtures', () => {
  it('finds an item with created = updated, one with a datetime range and updated, one without properties', () => {
    expect(itemFixtures).toEqual(['landsat-c2-l2', 'naip-no-properties', 'sentinel-2-l2a']);
  });

  it.each(itemFixtures)('builds the attributes of items/%s.json as its .attributes.json', (name) => {
    const item = readFixture(`items/${name}.json`);
    expect(itemAttributes(item)).toEqual(readFixture(`items/${name}.attributes.json`) as JsonObject);
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
