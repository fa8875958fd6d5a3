/**
 * Bad input, property-based: batches of generated SQS records mixing
 * valid payloads with every kind of bad record (not JSON, not an object, missing or wrong fields,
 * huge and unicode ids, ids over S3's and DynamoDB's key limits, references to missing objects and
 * to buckets outside `CIRRUS_REFERENCE_BUCKETS`, oversized junk, deep junk, SNS envelopes with a bad
 * `Message`). Properties, for every batch:
 *
 * - the handler never throws;
 * - every bad record is reported in `batchItemFailures`, as `invalid` (never `retry`: nothing in it
 *   can ever succeed), stored under `tmp/invalid/` and announced with that URL;
 * - nothing else is reported; every valid payload starts (StateDB PROCESSING, one execution);
 * - no reference is read outside the payload bucket and `CIRRUS_REFERENCE_BUCKETS`.
 *
 * Reproduce a run with `FUZZ_SEED=<seed printed at the start> npx jest test/reliability-fuzz`;
 * `FUZZ_RUNS` sets the number of batches (default 130, at least 8 records each).
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { handler as processHandler } from '../lambdas/process/index';
import type { SQSBatchResponse } from '../lambdas/process/types';
import type { JsonObject, JsonValue } from '../shared/json';
import { WorkflowEventPublisher, WorkflowEventType } from '../shared/events';
import { handlerRuntime } from '../shared/runtime';
import * as processModule from '../shared/process';
import type { ProcessSummary } from '../shared/process';
import { installFaults, printFigures, type FaultInjector } from './helpers/faults';
import { expectedExecutionName, makeItem, makePayload, padding, snsNotification, snsThroughSqsRecord, sqsEvent, sqsRecord, uid, type PipelineStack, type SqsRecord } from './helpers/pipeline';
import { startMinimalPipeline } from './helpers/pipeline-suite';

const BUCKET = 'cirrus-payloads';
const REF_BUCKET = 'cirrus-refs';
const FOREIGN_BUCKET = 'cirrus-foreign';
/** `cirrus/executions/<id>/<uuid>/output.json` is the longest key: S3's 1,024 bytes leave 957 for the id. */
const MAX_ID_BYTES = 1024 - 'cirrus/executions/'.length - '/'.length - 36 - '/output.json'.length;

// A fixed seed under CI (a landing must not depend on the draw), a fresh one on developer runs.
const CI_SEED = 20261128;
const SEED = process.env.FUZZ_SEED
  ? Number(process.env.FUZZ_SEED)
  : process.env.CI === 'true'
    ? CI_SEED
    : Math.floor(Math.random() * 2 ** 31);
const RUNS = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : 130;
const MIN_BATCH = 8;

let p: PipelineStack;
let faults: FaultInjector;
let savedReferenceBuckets: string | undefined;

const stats = { batches: 0, records: 0, valid: 0, bad: 0, duplicates: 0, unknownWorkflow: 0, byLabel: new Map<string, number>() };
let lost = 0;
let wronglyRetried = 0;

beforeAll(async () => {
  printFigures(`reliability-fuzz: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} (set FUZZ_SEED to reproduce)`);
  p = await startMinimalPipeline({ extraBuckets: [REF_BUCKET, FOREIGN_BUCKET] });
  savedReferenceBuckets = process.env.CIRRUS_REFERENCE_BUCKETS;
  process.env.CIRRUS_REFERENCE_BUCKETS = ` ${REF_BUCKET} ,`;
  faults = installFaults();
});

afterAll(async () => {
  const labels = [...stats.byLabel.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}:${v}`).join(' ');
  printFigures(
    `reliability-fuzz: seed=${SEED}, fuzz cases=${stats.records} records in ${stats.batches} batches ` +
      `(valid=${stats.valid}, bad=${stats.bad}, duplicates=${stats.duplicates}, unknown workflow=${stats.unknownWorkflow}), ` +
      `lost=${lost}, bad records retried instead of invalid=${wronglyRetried}\nreliability-fuzz kinds: ${labels}`,
  );
  if (savedReferenceBuckets === undefined) delete process.env.CIRRUS_REFERENCE_BUCKETS;
  else process.env.CIRRUS_REFERENCE_BUCKETS = savedReferenceBuckets;
  faults?.uninstall();
  await p?.stop();
});

// ---------------------------------------------------------------------------------------------
// Descriptors: plain data (so fast-check can print and shrink them), turned into records per run.

type Expect = 'started' | 'invalid' | 'duplicate' | 'failed';

type Desc =
  | { t: 'valid'; shape: 'inline' | 'sns' | 'ref' | 'refAllowed' | 'urlOut' | 'noId' | 'big'; stems: string[]; collection: string }
  | { t: 'nearLimit'; under: number; wide: boolean }
  | { t: 'dup' }
  | { t: 'unknownWorkflow' }
  | { t: 'collidingPair'; stem: string }
  | { t: 'nonJson'; text: string }
  | { t: 'nonObject'; json: string }
  | { t: 'field'; variant: string; stem: string }
  | { t: 'idLimit'; variant: 'S3' | 'S3+1' | 'DynamoSort' | 'DynamoPartition'; char: string; extra: number }
  | { t: 'idUnicode'; variant: 'loneSurrogate' | 'workflowUnderscore'; stem: string }
  | { t: 'hugeId'; bytes: number; pattern: boolean }
  | { t: 'ref'; variant: string }
  | { t: 'junk'; bytes: number; seed: number }
  | { t: 'deep'; depth: number; inPayload: boolean }
  | { t: 'sns'; variant: string };

const ITEM_CHARS = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._', 'é', 'ß', 'ø', 'ü', 'ж', 'ю', '中', '文', 'ا', '😀', '🛰', 'Ω'];
const stemArb = fc.string({ unit: fc.constantFrom(...ITEM_CHARS), minLength: 1, maxLength: 24 });
const collectionArb = fc.constantFrom('sentinel-s2-l2a', 'landsat-c2-l2', 'cöllection-ü', 'naip.v2', 'coll_with_underscores');
const multiByteChar = fc.constantFrom('a', 'é', '中', '😀');

const FIELD_VARIANTS = [
  'noProcess',
  'emptyProcess',
  'processObject',
  'processString',
  'process0String',
  'process0Null',
  'noWorkflow',
  'emptyWorkflow',
  'workflowNumber',
  'workflowUnderscore',
  'workflowSpace',
  'workflowSlash',
  'typeFeature',
  'featuresString',
  'featureNumber',
  'noIdNoFeatures',
  'noIdFeatureWithoutId',
  'idNumber',
  'idNull',
  'idNoPattern',
  'idEmptyWorkflow',
] as const;

const REF_VARIANTS = [
  'missingInPayloadBucket',
  'missingInReferenceBucket',
  'foreignBucket',
  'unknownBucket',
  'urlHttp',
  'urlNoKey',
  'urlNoBucket',
  'urlNumber',
  'urlNull',
  'urlEmpty',
  'objectNotJson',
  'objectArray',
  'objectBadPayload',
  'keyTooLong',
  'urlOutForeign',
  'urlOutMissing',
] as const;

const SNS_VARIANTS = ['messageNotJson', 'messageNumber', 'messageArray', 'messageNull', 'messageNotString', 'messageBadPayload', 'noMessage'] as const;

const descArb: fc.Arbitrary<Desc> = fc.oneof(
  {
    weight: 30,
    arbitrary: fc.record({
      t: fc.constant('valid' as const),
      shape: fc.oneof(
        { weight: 8, arbitrary: fc.constantFrom('inline' as const, 'sns' as const, 'ref' as const, 'refAllowed' as const, 'urlOut' as const, 'noId' as const) },
        { weight: 1, arbitrary: fc.constant('big' as const) },
      ),
      stems: fc.array(stemArb, { minLength: 1, maxLength: 3 }),
      collection: collectionArb,
    }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('nearLimit' as const), under: fc.integer({ min: 0, max: 3 }), wide: fc.boolean() }) },
  { weight: 3, arbitrary: fc.constant({ t: 'dup' as const }) },
  { weight: 2, arbitrary: fc.constant({ t: 'unknownWorkflow' as const }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('collidingPair' as const), stem: stemArb }) },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('nonJson' as const),
      text: fc.oneof(fc.string({ unit: 'binary' }), fc.string().map((s) => `{${s}`), fc.constant(''), fc.constant('{"id": "x"'), fc.constant('undefined')),
    }).filter((d) => {
      try {
        JSON.parse(d.text);
        return false;
      } catch {
        return true;
      }
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('nonObject' as const),
      json: fc
        .oneof(fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(null), fc.string(), fc.boolean())
        .map((v) => JSON.stringify(v)),
    }),
  },
  { weight: 14, arbitrary: fc.record({ t: fc.constant('field' as const), variant: fc.constantFrom(...FIELD_VARIANTS), stem: stemArb }) },
  {
    weight: 8,
    arbitrary: fc.record({
      t: fc.constant('idLimit' as const),
      variant: fc.constantFrom('S3' as const, 'S3+1' as const, 'DynamoSort' as const, 'DynamoPartition' as const),
      char: multiByteChar,
      extra: fc.integer({ min: 0, max: 400 }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('idUnicode' as const), variant: fc.constantFrom('loneSurrogate' as const, 'workflowUnderscore' as const), stem: stemArb }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('hugeId' as const), bytes: fc.integer({ min: 10_000, max: 200_000 }), pattern: fc.boolean() }) },
  { weight: 10, arbitrary: fc.record({ t: fc.constant('ref' as const), variant: fc.constantFrom(...REF_VARIANTS) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('junk' as const), bytes: fc.integer({ min: 262_145, max: 300_000 }), seed: fc.integer() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('deep' as const), depth: fc.integer({ min: 20_000, max: 50_000 }), inPayload: fc.boolean() }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant('sns' as const), variant: fc.constantFrom(...SNS_VARIANTS) }) },
);

const batchArb = fc.array(descArb, { minLength: MIN_BATCH, maxLength: 10 });

// ---------------------------------------------------------------------------------------------
// Materialisation

interface Built {
  label: string;
  expect: Expect;
  record: SqsRecord;
  /** The payload id, for valid payloads. */
  id?: string;
  /** False when the record's event cannot fit in one SNS message (256 KB), so is not checked. */
  announce?: boolean;
}

function label(d: Desc): string {
  switch (d.t) {
    case 'valid':
      return `valid:${d.shape}`;
    case 'field':
    case 'ref':
    case 'sns':
    case 'idLimit':
    case 'idUnicode':
      return `${d.t}:${d.variant}`;
    default:
      return d.t;
  }
}

/** A fresh valid payload whose item ids carry the generated stems (a unique prefix first). */
function validPayload(stems: string[], collection = 'sentinel-s2-l2a', extra: { withoutId?: boolean; pad?: number } = {}): JsonObject & { id: string } {
  const features = (extra.pad ? stems.slice(0, 1) : stems).map((s) => makeItem(`${uid('fz')}-${s}`, collection, extra.pad ? { pad: padding(extra.pad) } : {}));
  const payload = makePayload({ features, withoutId: extra.withoutId });
  if (extra.withoutId) {
    // process builds the id: <sorted collections>/workflow-<workflow>/<sorted item ids> (code points).
    const ids = features.map((f) => String(f.id)).sort(byCodePoint);
    (payload as { id: string }).id = `${collection}/workflow-minimal/${ids.join('/')}`;
    return payload;
  }
  return payload;
}

function withoutId(payload: JsonObject): JsonObject {
  const copy = { ...payload };
  delete copy.id;
  return copy;
}

/**
 * Item ids (each at most 150 bytes, the first ones unique) that, joined by `/`, take exactly
 * `bytes - prefixBytes` UTF-8 bytes: `<prefix><itemids>` is then exactly `bytes` long.
 */
function itemIdsOfBytes(prefixBytes: number, bytes: number, char: string): string[] {
  const total = bytes - prefixBytes;
  const k = Math.ceil((total + 1) / 151);
  const content = total - (k - 1);
  const segments: string[] = [];
  for (let i = 0; i < k; i++) {
    const len = Math.floor(content / k) + (i < content % k ? 1 : 0);
    let seg = `${uid('lim')}-`.slice(0, len);
    while (Buffer.byteLength(seg) + Buffer.byteLength(char) <= len) seg += char;
    seg += 'x'.repeat(len - Buffer.byteLength(seg));
    segments.push(seg);
  }
  return segments;
}

/** Compares by Unicode code point, as process sorts item ids. */
function byCodePoint(a: string, b: string): number {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

const JUNK_CHARS = [...'{}[]":,\\ abcxyz0123456789é中😀\n\t'];
const JUNK_BYTES = JUNK_CHARS.map((c) => Buffer.byteLength(c));

function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

async function putRef(bucket: string, key: string, body: string): Promise<string> {
  await p.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }));
  return `s3://${bucket}/${key}`;
}

function processFields(variant: string, stem: string): JsonValue {
  const payload = validPayload([stem]);
  const p0 = (payload.process as JsonObject[])[0];
  const set = (k: string, v: JsonValue): JsonObject => ({ ...payload, [k]: v });
  const withP0 = (fields: JsonObject, drop?: string): JsonObject => {
    const d = { ...p0, ...fields };
    if (drop) delete d[drop];
    return { ...payload, process: [d] };
  };
  switch (variant) {
    case 'noProcess': {
      const c = { ...payload };
      delete c.process;
      return c;
    }
    case 'emptyProcess':
      return set('process', []);
    case 'processObject':
      return set('process', p0);
    case 'processString':
      return set('process', 'minimal');
    case 'process0String':
      return set('process', ['minimal']);
    case 'process0Null':
      return set('process', [null]);
    case 'noWorkflow':
      return withP0({}, 'workflow');
    case 'emptyWorkflow':
      return withP0({ workflow: '' });
    case 'workflowNumber':
      return withP0({ workflow: 5 });
    case 'workflowUnderscore':
      return withP0({ workflow: `mini_mal` });
    case 'workflowSpace':
      return withP0({ workflow: 'mini mal' });
    case 'workflowSlash':
      return withP0({ workflow: 'mini/mal' });
    case 'typeFeature':
      return set('type', 'Feature');
    case 'featuresString':
      return set('features', 'features');
    case 'featureNumber':
      return set('features', [1]);
    case 'noIdNoFeatures':
      return { ...withoutId(payload), features: [] };
    case 'noIdFeatureWithoutId':
      return { ...withoutId(payload), features: [{ type: 'Feature', collection: 'c' }] };
    case 'idNumber':
      return set('id', 5);
    case 'idNull':
      return set('id', null);
    case 'idNoPattern':
      return set('id', `no-pattern-${stem}`);
    case 'idEmptyWorkflow':
      return set('id', `c/workflow-/${stem}`);
    default:
      throw new Error(`unknown field variant ${variant}`);
  }
}

async function refBody(variant: string): Promise<JsonValue> {
  const key = `incoming/${uid('ref')}.json`;
  switch (variant) {
    case 'missingInPayloadBucket':
      return { url: `s3://${BUCKET}/missing/${uid('no')}.json` };
    case 'missingInReferenceBucket':
      return { url: `s3://${REF_BUCKET}/missing/${uid('no')}.json` };
    case 'foreignBucket':
      // The object exists and is a valid payload, but the bucket is not allowed.
      return { url: await putRef(FOREIGN_BUCKET, key, JSON.stringify(validPayload(['foreign']))) };
    case 'unknownBucket':
      return { url: `s3://no-such-bucket-${uid('b').toLowerCase()}/payload.json` };
    case 'urlHttp':
      return { url: `https://${BUCKET}.s3.amazonaws.com/${key}` };
    case 'urlNoKey':
      return { url: `s3://${BUCKET}` };
    case 'urlNoBucket':
      return { url: `s3:///${key}` };
    case 'urlNumber':
      return { url: 5 };
    case 'urlNull':
      return { url: null };
    case 'urlEmpty':
      return { url: '' };
    case 'objectNotJson':
      return { url: await putRef(BUCKET, key, 'this is not JSON') };
    case 'objectArray':
      return { url: await putRef(REF_BUCKET, key, '[1, 2, 3]') };
    case 'objectBadPayload':
      return { url: await putRef(BUCKET, key, JSON.stringify({ type: 'FeatureCollection', features: [] })) };
    case 'keyTooLong':
      return { url: `s3://${BUCKET}/${Array.from({ length: 8 }, () => 'k'.repeat(140)).join('/')}.json` };
    case 'urlOutForeign':
      return { Parameters: { url_out: await putRef(FOREIGN_BUCKET, key, JSON.stringify(validPayload(['foreignout']))) } };
    case 'urlOutMissing':
      return { Parameters: { url_out: `s3://${BUCKET}/tmp-batch/${uid('no')}_out.json` } };
    default:
      throw new Error(`unknown ref variant ${variant}`);
  }
}

function snsBody(variant: string): string {
  const envelope = snsNotification('placeholder');
  switch (variant) {
    case 'messageNotJson':
      return JSON.stringify({ ...envelope, Message: '{"type": "FeatureCollection", ' });
    case 'messageNumber':
      return JSON.stringify({ ...envelope, Message: '42' });
    case 'messageArray':
      return JSON.stringify({ ...envelope, Message: JSON.stringify([validPayload(['arr'])]) });
    case 'messageNull':
      return JSON.stringify({ ...envelope, Message: 'null' });
    case 'messageNotString':
      return JSON.stringify({ ...envelope, Message: validPayload(['obj']) });
    case 'messageBadPayload':
      return JSON.stringify({ ...envelope, Message: JSON.stringify({ type: 'FeatureCollection', features: [makeItem(uid('sns'))] }) });
    case 'noMessage': {
      const e = { ...envelope };
      delete e.Message;
      return JSON.stringify(e);
    }
    default:
      throw new Error(`unknown sns variant ${variant}`);
  }
}

/** Turns a batch of descriptors into SQS records (uploading referenced objects first). */
async function build(descs: Desc[]): Promise<Built[]> {
  const out: Built[] = [];
  let lastValid: Built | undefined;
  for (const d of descs) {
    const l = label(d);
    const bad = (body: JsonValue | string, announce = true): void => {
      out.push({ label: l, expect: 'invalid', record: sqsRecord(body), announce });
    };
    switch (d.t) {
      case 'valid': {
        const payload = validPayload(d.stems, d.collection, { withoutId: d.shape === 'noId', pad: d.shape === 'big' ? 125_000 : undefined });
        const inline = d.shape === 'noId' ? withoutId(payload) : payload;
        let record: SqsRecord;
        if (d.shape === 'sns') record = snsThroughSqsRecord(payload);
        else if (d.shape === 'ref') record = sqsRecord({ url: await putRef(BUCKET, `incoming/${uid('ref')}.json`, JSON.stringify(payload)) });
        else if (d.shape === 'refAllowed') record = sqsRecord({ url: await putRef(REF_BUCKET, `incoming/${uid('ref')}.json`, JSON.stringify(payload)) });
        else if (d.shape === 'urlOut') record = sqsRecord({ Parameters: { url_out: await putRef(BUCKET, `incoming/${uid('out')}_out.json`, JSON.stringify(payload)) } });
        else record = sqsRecord(inline);
        lastValid = { label: l, expect: 'started', record, id: payload.id };
        out.push(lastValid);
        break;
      }
      case 'nearLimit': {
        // The longest key is exactly 1,024 bytes (or up to 3 under): still valid.
        const prefix = 'sentinel-s2-l2a/workflow-minimal/';
        const items = itemIdsOfBytes(Buffer.byteLength(prefix), MAX_ID_BYTES - d.under, d.wide ? 'é' : 'a');
        const payload = makePayload({ features: items.map((i) => makeItem(i)) });
        if (Buffer.byteLength(payload.id) !== MAX_ID_BYTES - d.under) throw new Error(`near-limit id has ${Buffer.byteLength(payload.id)} bytes`);
        lastValid = { label: l, expect: 'started', record: sqsRecord(payload), id: payload.id };
        out.push(lastValid);
        break;
      }
      case 'dup':
        if (lastValid) {
          out.push({ label: l, expect: 'duplicate', record: sqsRecord(lastValid.record.body) });
        } else {
          const payload = validPayload(['first']);
          lastValid = { label: 'valid:inline', expect: 'started', record: sqsRecord(payload), id: payload.id };
          out.push(lastValid);
        }
        break;
      case 'unknownWorkflow': {
        const payload = makePayload({ workflow: `nosuch-${uid('wf').slice(-8)}` });
        out.push({ label: l, expect: 'failed', record: sqsRecord(payload), id: payload.id });
        break;
      }
      case 'collidingPair': {
        // Two ids with the same StateDB key unless "_" is refused in the id's workflow part.
        const item = `${uid('pair')}-${d.stem}`;
        const good = { ...makePayload({ features: [makeItem(item, 'x_y')] }), id: `x_y/workflow-minimal/${item}` };
        const badOne = { ...good, id: `x/workflow-y_minimal/${item}` };
        out.push({ label: 'valid:collidingPair', expect: 'started', record: sqsRecord(good), id: good.id });
        out.push({ label: 'idUnicode:collidingPair', expect: 'invalid', record: sqsRecord(badOne) });
        break;
      }
      case 'nonJson':
        bad(d.text);
        break;
      case 'nonObject':
        bad(d.json);
        break;
      case 'field':
        bad(processFields(d.variant, d.stem));
        break;
      case 'idLimit': {
        const payload = validPayload(['limit']);
        const c = Buffer.byteLength(d.char);
        let id: string;
        if (d.variant === 'S3' || d.variant === 'S3+1') {
          // DynamoDB keys fit; the S3 keys do not (by one byte for S3+1).
          const prefix = 'c/workflow-minimal/';
          const target = d.variant === 'S3+1' ? MAX_ID_BYTES + 1 : Math.min(MAX_ID_BYTES + 1 + d.extra, prefix.length + 1024);
          id = prefix + itemIdsOfBytes(0, target - prefix.length, d.char).join('/');
          if (Buffer.byteLength(id) !== target) throw new Error(`S3 limit id has ${Buffer.byteLength(id)} bytes, not ${target}`);
        } else if (d.variant === 'DynamoSort') {
          id = `c/workflow-minimal/${d.char.repeat(Math.ceil((1025 + d.extra) / c))}`;
        } else {
          id = `${d.char.repeat(Math.ceil((2049 + d.extra) / c))}/workflow-minimal/item`;
        }
        bad({ ...payload, id });
        break;
      }
      case 'idUnicode': {
        const payload = validPayload([d.stem]);
        const id = d.variant === 'loneSurrogate' ? `${payload.id}-\ud800-${d.stem}` : `sentinel-s2-l2a/workflow-mini_mal/${uid('us')}-${d.stem}`;
        bad({ ...payload, id });
        break;
      }
      case 'hugeId': {
        // An id far over every key limit (with or without the id pattern).
        const payload = validPayload(['huge']);
        const id = d.pattern ? `${'c'.repeat(d.bytes)}/workflow-minimal/${'i'.repeat(d.bytes)}` : 'h'.repeat(d.bytes);
        // Its event carries the id (and, with the pattern, the collections again as an attribute).
        const eventBytes = Buffer.byteLength(id) + (d.pattern ? d.bytes : 0) + 1000;
        bad({ ...payload, id }, eventBytes <= 262_144);
        break;
      }
      case 'ref':
        bad(await refBody(d.variant));
        break;
      case 'junk': {
        // Over 256 KB of garbage (not JSON: it starts with "~").
        const rnd = prng(d.seed);
        const parts: string[] = ['~'];
        let n = 1;
        while (n < d.bytes) {
          const i = Math.floor(rnd() * JUNK_CHARS.length);
          parts.push(JUNK_CHARS[i]);
          n += JUNK_BYTES[i];
        }
        bad(parts.join(''));
        break;
      }
      case 'deep': {
        const nested = `${'['.repeat(d.depth)}${']'.repeat(d.depth)}`;
        // Deep JSON parses, but JavaScript cannot serialise it again (the stack overflows).
        if (d.inPayload) {
          const payload = validPayload(['deep']);
          const text = JSON.stringify(payload);
          bad(`${text.slice(0, -1)},"deep":${nested}}`);
        } else {
          bad(`{"type":"FeatureCollection","junk":${nested}}`);
        }
        break;
      }
      case 'sns':
        bad(snsBody(d.variant));
        break;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

function keyOfUrl(url: string): string {
  return url.replace(`s3://${BUCKET}/`, '');
}

async function runBatch(descs: Desc[]): Promise<void> {
  const built = await build(descs);
  const event = sqsEvent(...built.map((b) => b.record));
  const callMark = faults.calls.length;
  const eventMark = p.stack.sns.messages(p.stack.workflowEventTopicArn).length;

  const spy = jest.spyOn(processModule, 'processEvent');
  let response: SQSBatchResponse;
  let summary: ProcessSummary;
  try {
    // Property 1: the handler never throws for an SQS batch.
    response = (await processHandler(event)) as SQSBatchResponse;
    summary = await (spy.mock.results[0].value as Promise<ProcessSummary>);
  } finally {
    spy.mockRestore();
  }
  await faults.settled();

  stats.batches++;
  stats.records += built.length;
  for (const b of built) {
    stats.byLabel.set(b.label, (stats.byLabel.get(b.label) ?? 0) + 1);
    if (b.expect === 'started') stats.valid++;
    else if (b.expect === 'invalid') stats.bad++;
    else if (b.expect === 'duplicate') stats.duplicates++;
    else stats.unknownWorkflow++;
  }

  const calls = faults.calls.slice(callMark);
  const invalidPuts = new Set(
    calls.filter((c) => c.service === 's3' && c.command === 'PutObject' && c.ok && String(c.input.Key).startsWith('cirrus/tmp/invalid/')).map((c) => String(c.input.Key)),
  );
  const announced = new Map(
    p.stack.sns
      .messages(p.stack.workflowEventTopicArn)
      .slice(eventMark)
      .map((m) => JSON.parse(m.message) as { event_type: string; input_payload_url?: string })
      .filter((e) => e.event_type === 'NOT_A_PROCESS_PAYLOAD' || e.event_type === 'RECORD_EXTRACT_FAILED')
      .map((e) => [e.input_payload_url, e]),
  );
  const failures = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));

  const problems: string[] = [];
  built.forEach((b, i) => {
    const r = summary.results[i];
    const where = `record ${i} (${b.label})`;
    if (b.expect === 'invalid' && r.outcome === 'retry') wronglyRetried++;
    if (r.outcome !== b.expect) problems.push(`${where}: outcome ${r.outcome}, expected ${b.expect}${r.error ? ` (${r.error.slice(0, 300)})` : ''}`);
    const reported = failures.has(b.record.messageId);
    if (reported !== (b.expect === 'invalid')) problems.push(`${where}: ${reported ? 'reported in' : 'missing from'} batchItemFailures`);
    if (b.expect === 'invalid') {
      const url = r.inputPayloadUrl ?? '';
      if (!url.startsWith(`s3://${BUCKET}/cirrus/tmp/invalid/`)) problems.push(`${where}: not stored under tmp/invalid (${url || 'no URL'})`);
      else if (!invalidPuts.has(keyOfUrl(url))) problems.push(`${where}: ${url} was not written in this batch`);
      else if (b.announce !== false && !announced.has(url)) problems.push(`${where}: no NOT_A_PROCESS_PAYLOAD/RECORD_EXTRACT_FAILED event announces ${url}`);
    }
  });
  if (invalidPuts.size !== built.filter((b) => b.expect === 'invalid').length) {
    problems.push(`${invalidPuts.size} objects written under tmp/invalid for ${built.filter((b) => b.expect === 'invalid').length} bad records`);
  }
  // References are only read from the payload bucket and CIRRUS_REFERENCE_BUCKETS.
  for (const c of calls.filter((c) => c.service === 's3' && c.command === 'GetObject')) {
    if (c.input.Bucket !== BUCKET && c.input.Bucket !== REF_BUCKET) problems.push(`GetObject from bucket ${String(c.input.Bucket)}`);
  }
  // Valid payloads started: PROCESSING (or SUCCEEDED already), exactly one execution recorded.
  const ids = built.filter((b) => b.id !== undefined).map((b) => b.id!);
  const items = ids.length > 0 ? await p.db.getItems(ids) : new Map();
  for (const b of built) {
    if (b.expect !== 'started' && b.expect !== 'failed') continue;
    const item = items.get(b.id!);
    if (b.expect === 'started') {
      const arn = p.executionArn('minimal', expectedExecutionName(b.id!));
      if (!item || !['PROCESSING', 'SUCCEEDED'].includes(String(item.state)) || item.executions.length !== 1 || item.executions[0] !== arn) {
        lost++;
        problems.push(`${b.label} ${b.id!.slice(0, 80)}: StateDB ${JSON.stringify(item ? { state: item.state, executions: item.executions } : null)}`);
      } else if (!p.stack.sfn.execution(arn)) {
        lost++;
        problems.push(`${b.label}: execution ${arn} not started`);
      }
    } else if (item?.state !== 'FAILED') {
      problems.push(`${b.label}: StateDB ${item?.state}, expected FAILED`);
    }
  }
  if (problems.length > 0) throw new Error(`batch of ${built.length}:\n  ${problems.join('\n  ')}`);
}

describe('bad input, property-based', () => {
  it(`never throws; bad records reported, stored under tmp/invalid and announced; valid payloads start (${RUNS} batches of ${MIN_BATCH}-10)`, async () => {
    await fc.assert(
      fc.asyncProperty(batchArb, async (descs) => {
        await runBatch(descs);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: false },
    );
    expect(stats.records).toBeGreaterThanOrEqual(RUNS * MIN_BATCH);
    expect(lost).toBe(0);
  }, 600_000); // a guard against hangs, not a speed check: 130 batches took over 90 s on a loaded 2-core machine
});

describe('references (CIRRUS_REFERENCE_BUCKETS)', () => {
  it('a reference into a listed bucket is read and started', async () => {
    const payload = validPayload(['allowed']);
    const url = await putRef(REF_BUCKET, `incoming/${uid('allowed')}.json`, JSON.stringify(payload));
    const record = sqsRecord({ url });
    expect(await processHandler(sqsEvent(record))).toEqual({ batchItemFailures: [] });
    const arn = p.executionArn('minimal', expectedExecutionName(payload.id));
    expect(await p.db.getItem(payload.id)).toMatchObject({ state: 'PROCESSING', executions: [arn] });
    expect(JSON.parse((await p.describe(arn)).input!)).toEqual(payload);
  });

  it('a reference into any other bucket is invalid, with a message naming the bucket and CIRRUS_REFERENCE_BUCKETS; the object is never read', async () => {
    const payload = validPayload(['foreign']);
    const url = await putRef(FOREIGN_BUCKET, `incoming/${uid('foreign')}.json`, JSON.stringify(payload));
    const record = sqsRecord({ url });
    const mark = faults.calls.length;
    const events = p.workflowEvents().length;

    expect(await processHandler(sqsEvent(record))).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });

    expect(faults.calls.slice(mark).filter((c) => c.command === 'GetObject' && c.input.Bucket === FOREIGN_BUCKET)).toEqual([]);
    const announced = p.workflowEvents().slice(events).filter((e) => e.event_type === 'RECORD_EXTRACT_FAILED' || e.event_type === 'NOT_A_PROCESS_PAYLOAD');
    expect(announced).toHaveLength(1);
    expect(announced[0].error).toContain(`"${FOREIGN_BUCKET}"`);
    expect(announced[0].error).toContain('CIRRUS_REFERENCE_BUCKETS');
    expect(announced[0].error).toContain(url);
    expect(announced[0].input_payload_url).toMatch(new RegExp(`^s3://${BUCKET}/cirrus/tmp/invalid/`));
    expect(await p.getJson(announced[0].input_payload_url!)).toEqual(record);
    expect(await p.db.getItem(payload.id)).toBeUndefined();
  });

  it('ids at the key limits: 957 bytes (longest key exactly 1,024) start; 958 bytes are invalid, not retried', async () => {
    const prefix = 'sentinel-s2-l2a/workflow-minimal/';
    const fits = makePayload({ features: itemIdsOfBytes(Buffer.byteLength(prefix), MAX_ID_BYTES, 'é').map((i) => makeItem(i)) });
    const over = makePayload({ features: itemIdsOfBytes(Buffer.byteLength(prefix), MAX_ID_BYTES + 1, 'é').map((i) => makeItem(i)) });
    expect([Buffer.byteLength(fits.id), Buffer.byteLength(over.id)]).toEqual([MAX_ID_BYTES, MAX_ID_BYTES + 1]);
    const name = expectedExecutionName(fits.id);
    expect(Buffer.byteLength(p.executionKey(fits.id, name, 'output.json'))).toBe(1024);

    const good = sqsRecord(fits);
    const bad = sqsRecord(over);
    expect(await processHandler(sqsEvent(good, bad))).toEqual({ batchItemFailures: [{ itemIdentifier: bad.messageId }] });
    expect(await p.getJson(p.executionKey(fits.id, name, 'input.json'))).toEqual(fits);
    expect(await p.db.getItem(over.id)).toBeUndefined();
  });
});

describe('workflow events of bad records', () => {
  it('an event SNS refuses (an id of 150 KB, announced twice over) does not hold back the events sent with it', async () => {
    const runtime = handlerRuntime(process.env);
    const publisher = new WorkflowEventPublisher(p.stack.workflowEventTopicArn, { sns: () => runtime.clients.sns, region: runtime.config.clients.region });
    const tag = uid('ev');
    const huge = `${'c'.repeat(150_000)}/workflow-minimal/${tag}`;
    const small = Array.from({ length: 9 }, (_, i) => `c/workflow-minimal/${tag}-${i}`);
    const at = new Date().toISOString();
    publisher.announce({ eventType: WorkflowEventType.NOT_A_PROCESS_PAYLOAD, payloadId: huge, isoTimestamp: at, error: 'too long' });
    for (const id of small) publisher.announce({ eventType: WorkflowEventType.NOT_A_PROCESS_PAYLOAD, payloadId: id, isoTimestamp: at });
    await publisher.flush();

    expect(publisher.failedCount).toBeGreaterThan(0);
    const published = p.workflowEvents().filter((e) => e.payload_id.includes(tag)).map((e) => e.payload_id);
    expect(published.sort()).toEqual([...small].sort());
  });
});
