/**
 * SNS message attributes of a published STAC item (the same as Cirrus `build_item_sns_attributes`),
 * so subscribers can filter on collection, bounding box, datetimes, cloud cover and status.
 * @module
 */
import type { MessageAttributeValue } from '@aws-sdk/client-sns';
import { isLosslessNumber } from 'lossless-json';
import { isJsonObject, numberText, type JsonObject, type JsonValue } from './json';

function str(v: JsonValue): string {
  return typeof v === 'string' ? v : (numberText(v) ?? JSON.stringify(v));
}

/** Builds the attributes of one item (at most 10, the SNS-to-SQS limit). */
export function itemAttributes(item: JsonObject): Record<string, MessageAttributeValue> {
  const attrs: Record<string, MessageAttributeValue> = {};
  if (typeof item.collection === 'string' && item.collection !== '') {
    attrs.collection = { DataType: 'String', StringValue: item.collection };
  }
  if (Array.isArray(item.bbox) && item.bbox.length >= 4) {
    const [llLon, llLat] = item.bbox;
    // A 3D bbox is [minx, miny, minz, maxx, maxy, maxz].
    const [urLon, urLat] = item.bbox.length >= 6 ? [item.bbox[3], item.bbox[4]] : [item.bbox[2], item.bbox[3]];
    attrs['bbox.ll_lon'] = { DataType: 'Number', StringValue: str(llLon) };
    attrs['bbox.ll_lat'] = { DataType: 'Number', StringValue: str(llLat) };
    attrs['bbox.ur_lon'] = { DataType: 'Number', StringValue: str(urLon) };
    attrs['bbox.ur_lat'] = { DataType: 'Number', StringValue: str(urLat) };
  }
  const p = item.properties;
  if (!isJsonObject(p) || isLosslessNumber(p)) return attrs;
  const dt = typeof p.datetime === 'string' ? p.datetime : undefined;
  const start = typeof p.start_datetime === 'string' ? p.start_datetime : dt;
  const end = typeof p.end_datetime === 'string' ? p.end_datetime : dt;
  if (start) attrs.start_datetime = { DataType: 'String', StringValue: start };
  if (end) attrs.end_datetime = { DataType: 'String', StringValue: end };
  if (dt) attrs.datetime = { DataType: 'String', StringValue: dt };
  if (numberText(p['eo:cloud_cover']) !== undefined) {
    attrs.cloud_cover = { DataType: 'Number', StringValue: str(p['eo:cloud_cover']) };
  }
  if ('created' in p && 'updated' in p) {
    attrs.status = { DataType: 'String', StringValue: p.created !== p.updated ? 'updated' : 'created' };
  }
  return attrs;
}
