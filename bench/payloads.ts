/**
 * Payload and event generators for the benchmarks: STAC-like items (optionally with non-ASCII
 * text, quotes, backslashes and control characters), payloads of a target size with fresh ids,
 * and SQS events as Lambda's event source builds them.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { JsonObject } from '../shared/json';

/** The workflow every benchmark payload runs (workflows/minimal.asl.json). */
export const WORKFLOW = 'minimal';

/** Options of the item generator. */
export interface ItemOptions {
  /**
   * Put non-ASCII text (beyond Latin-1, so V8 holds the JSON as a two-byte string), quotes,
   * backslashes and control characters in titles and descriptions.
   */
  nonAscii?: boolean;
}

/** Deterministic pseudo-random numbers in [0, 1) (so every run builds the same payloads). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const BANDS = ['B02', 'B03', 'B04', 'B08'] as const;

/** A STAC item of about 2.5 KB of JSON. */
export function stacItem(index: number, collection: string, options: ItemOptions = {}): JsonObject {
  const r = rng(index + 1);
  const lon = -180 + r() * 360;
  const lat = -80 + r() * 160;
  const d = 0.9 + r() * 0.2;
  const ring = [
    [lon, lat],
    [lon + d, lat],
    [lon + d, lat + d],
    [lon, lat + d],
    [lon, lat],
  ].map(([x, y]) => [Math.round(x * 1e6) / 1e6, Math.round(y * 1e6) / 1e6]);
  const id = `S2B_${10 + (index % 50)}TFK_20210713_${index}_L2A`;
  const base = `s3://sentinel-cogs/sentinel-s2-l2a-cogs/${id}`;
  const title = options.nonAscii
    ? `Zürich – São Paulo «Ωμέγα» 東京 🌍 "quoted" C:\\tiles\\${index}`
    : `Tile ${index} over the Pacific Northwest, "quoted" C:\\tiles\\${index}`;
  const description = options.nonAscii
    ? `Scène n°${index}: naïve café — Привет, мир!\n\tκαλημέρα / こんにちは "ok" \\ done`
    : `Scene number ${index}: a cloud-optimised GeoTIFF set.\n\tLevel-2A "ok" \\ done`;
  const assets: JsonObject = {};
  for (const b of BANDS) {
    assets[b] = {
      href: `${base}/${b}.tif`,
      type: 'image/tiff; application=geotiff; profile=cloud-optimized',
      title: `${b} band, 10 m`,
      roles: ['data'],
      'eo:bands': [{ name: b, center_wavelength: Math.round(r() * 1000) / 1000 }],
      'proj:shape': [10980, 10980],
    };
  }
  assets.thumbnail = { href: `${base}/preview.jpg`, type: 'image/jpeg', title: 'Thumbnail', roles: ['thumbnail'] };
  return {
    type: 'Feature',
    stac_version: '1.0.0',
    id,
    collection,
    geometry: { type: 'Polygon', coordinates: [ring] },
    bbox: [ring[0][0], ring[0][1], ring[2][0], ring[2][1]],
    properties: {
      title,
      description,
      datetime: '2021-07-13T19:03:24.000000Z',
      created: '2021-07-14T01:02:03.000000Z',
      platform: 'sentinel-2b',
      constellation: 'sentinel-2',
      'eo:cloud_cover': Math.round(r() * 10000) / 100,
      'proj:epsg': 32610,
      'sentinel:sequence': index,
    },
    assets,
    links: [
      { rel: 'self', href: `${base}/${id}.json`, type: 'application/json' },
      { rel: 'collection', href: `s3://catalog/${collection}/collection.json`, type: 'application/json' },
    ],
  };
}

/** A fresh payload id `<collections>/workflow-minimal/<unique>`. */
export function freshId(collection: string, tag = 'item'): string {
  return `${collection}/workflow-${WORKFLOW}/${tag}-${randomUUID()}`;
}

/** A new process payload with a fresh id and `features` items; its workflow succeeds. */
export function newPayload(collection: string, features = 1, options: ItemOptions = {}): JsonObject {
  return {
    type: 'FeatureCollection',
    id: freshId(collection),
    process: [{ workflow: WORKFLOW, succeed: true, upload_options: { bucket: 'bench-data', path_template: '${collection}/${id}' } }],
    features: Array.from({ length: features }, (_, i) => stacItem(i, collection, options)),
  };
}

/**
 * A process payload whose compact JSON is at least `bytes` UTF-8 bytes (items are added until
 * it is), without an id: see {@link withId}.
 */
export function payloadOfSize(bytes: number, collection: string, options: ItemOptions = {}): JsonObject {
  const features: JsonObject[] = [];
  let size = 200;
  for (let i = 0; size < bytes; i++) {
    const item = stacItem(i, collection, options);
    size += Buffer.byteLength(JSON.stringify(item)) + 1;
    features.push(item);
  }
  return { type: 'FeatureCollection', process: [{ workflow: WORKFLOW, succeed: true }], features };
}

/**
 * The JSON text of `payload` with `"id": id` as its first member, built by splicing so that a
 * large payload is serialised once and then given a fresh id per run cheaply.
 */
export function withId(payloadTextWithoutId: string, id: string): string {
  return `{"id":${JSON.stringify(id)},${payloadTextWithoutId.slice(1)}`;
}

/** An SQS event (as Lambda's SQS event source delivers it) holding these message bodies. */
export function sqsEvent(bodies: readonly string[], region = 'us-west-2'): { Records: JsonObject[] } {
  return {
    Records: bodies.map((body) => ({
      messageId: randomUUID(),
      receiptHandle: `bench-${randomUUID()}`,
      body,
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()) },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:${region}:123456789012:cirrus-process`,
      awsRegion: region,
    })),
  };
}
