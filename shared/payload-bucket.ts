/**
 * The payload bucket: the S3 reads and writes of payload objects, with keys from its
 * {@link PayloadLayout} (`shared/payload-layout.ts`), and the reference rule ({@link parseUrl},
 * {@link PayloadBucket.checkReadable}, {@link PayloadBucket.batchOutputLocation}).
 *
 * No other module writes payload objects.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { CopyObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ENV, parseBucketList, payloadBucketFromEnv, type Env } from './config';
import { ConfigurationError, InvalidS3UrlError, NoUrlError, PayloadReadError, ReferenceNotAllowedError, errorName } from './errors';
import { isJsonObject, SerializedPayload, type JsonObject } from './json';
import { checkPayloadId } from './payload-id';
import { INPUT_KEY, OUTPUT_KEY, PayloadLayout, S3_MAX_KEY_BYTES, formatUrl } from './payload-layout';
import { utf8Length } from './size';

export { INPUT_KEY, OUTPUT_KEY, PayloadLayout, S3_MAX_KEY_BYTES, formatUrl };

/** An S3 location. */
export interface S3Location {
  bucket: string;
  key: string;
}

/** Options of a {@link PayloadBucket}. */
export interface PayloadBucketOptions {
  /**
   * The S3 client of every read and write. Without one the bucket only builds keys and URLs (the
   * pure methods); a read or write throws a {@link ConfigurationError}.
   */
  s3?: S3Client;
  /**
   * Buckets besides the payload bucket from which `{"url": …}` references may be read.
   * `undefined` (the default for the constructor) allows any bucket; {@link PayloadBucket.fromEnv}
   * restricts to `CIRRUS_REFERENCE_BUCKETS`.
   */
  referenceBuckets?: readonly string[];
}

/** A payload, or a reference to one, or a payload already serialised once. */
export type PayloadInput = JsonObject | SerializedPayload;

/**
 * Parses an `s3://bucket/key` URL: the one reference rule, applied before any read or write.
 * Anything else (other schemes, no key, empty bucket, …) is rejected with {@link InvalidS3UrlError},
 * and so is a key that S3 could never address as written: one with an empty, `.` or `..` segment
 * (a path-style store resolves dot segments, so `s3://a/../b/k` would address bucket `b`), or one
 * over S3's 1,024-byte key limit.
 */
export function parseUrl(url: unknown): S3Location {
  if (typeof url !== 'string') {
    throw new InvalidS3UrlError(`not an s3://bucket/key URL: ${JSON.stringify(url)}`);
  }
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!m || m[2].length === 0) {
    throw new InvalidS3UrlError(`not an s3://bucket/key URL: ${JSON.stringify(url)}`);
  }
  const bucket = m[1];
  // Legacy bucket names may hold capitals and underscores; whitespace and control characters never.
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(bucket) || bucket === '.' || bucket === '..') {
    throw new InvalidS3UrlError(`not an s3://bucket/key URL (invalid bucket name): ${JSON.stringify(url)}`);
  }
  const key = m[2];
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new InvalidS3UrlError(
        `reference key has ${segment === '' ? 'an empty' : `a "${segment}"`} path segment, which a store may resolve to another key or bucket: ${JSON.stringify(url)}`,
      );
    }
  }
  const bytes = utf8Length(key);
  if (bytes > S3_MAX_KEY_BYTES) {
    throw new InvalidS3UrlError(`reference key takes ${bytes} bytes, over S3's ${S3_MAX_KEY_BYTES}-byte key limit: ${JSON.stringify(url.slice(0, 200))}…`);
  }
  return { bucket, key };
}

/** True when `record` is a reference (`{"url": …}`) rather than an inline payload. */
export function isReference(record: JsonObject): record is JsonObject & { url: string } {
  return 'url' in record;
}

/**
 * The URL a payload reference stands for: the string itself, or the `url` of a `{"url": …}` record.
 * @throws NoUrlError when a record has no `url`.
 */
function referenceUrl(urlOrRecord: string | JsonObject): string {
  if (typeof urlOrRecord === 'string') return urlOrRecord;
  if (!isReference(urlOrRecord)) throw new NoUrlError('record does not have a URL and therefore cannot be retrieved from S3');
  return String(urlOrRecord.url);
}

/** The payload bucket: S3 I/O on the keys of its {@link PayloadLayout}. */
export class PayloadBucket {
  /** The bucket name. */
  readonly bucketName: string;
  /** The key layout (pure): prefixes, key builders, key parsing and limits. */
  readonly layout: PayloadLayout;
  /** Buckets (besides this one) that references may be read from; `undefined` = any. */
  readonly referenceBuckets: readonly string[] | undefined;

  private readonly client: S3Client | undefined;

  /**
   * @param bucketName - the bucket; must be non-empty.
   * @param rootPrefix - the root prefix of its {@link PayloadLayout}.
   */
  constructor(bucketName: string, rootPrefix?: string, options: PayloadBucketOptions = {}) {
    this.bucketName = bucketName;
    this.layout = new PayloadLayout(rootPrefix);
    this.referenceBuckets = options.referenceBuckets;
    this.client = options.s3;
  }

  /**
   * Builds the bucket from `CIRRUS_PAYLOAD_BUCKET`, `CIRRUS_PAYLOAD_ROOT_PREFIX` and
   * `CIRRUS_REFERENCE_BUCKETS` of `env` (a composition root passes the process environment), with
   * the S3 client given.
   * @throws UndefinedPayloadBucketError when the bucket variable is missing or empty.
   * @throws ConfigurationError when the root prefix is malformed.
   */
  static fromEnv(env: Env, options: { s3: S3Client }): PayloadBucket {
    return new PayloadBucket(payloadBucketFromEnv(env), env[ENV.rootPrefix], {
      s3: options.s3,
      referenceBuckets: parseBucketList(env[ENV.referenceBuckets]),
    });
  }

  /** See {@link parseUrl}. */
  static parseUrl(url: string): S3Location {
    return parseUrl(url);
  }

  private get s3(): S3Client {
    if (!this.client) throw new ConfigurationError(`payload bucket ${this.bucketName} was built without an S3 client: pass one as the "s3" option`);
    return this.client;
  }

  /** `s3://<bucket>/<key>` for a key in this bucket. */
  url(key: string): string {
    return formatUrl(this.bucketName, key);
  }

  /** See {@link PayloadLayout.execPayloadPrefix} (pure). */
  execPayloadPrefix(payloadId: string, executionId: string): string {
    return this.layout.execPayloadPrefix(payloadId, executionId);
  }

  /** URL of an execution's `input.json` (pure). */
  getInputPayloadUrl(payloadId: string, executionId: string): string {
    return this.layout.inputUrl(this.bucketName, payloadId, executionId);
  }

  /** URL of an execution's `output.json` (pure). */
  getOutputPayloadUrl(payloadId: string, executionId: string): string {
    return this.layout.outputUrl(this.bucketName, payloadId, executionId);
  }

  /** See {@link PayloadLayout.longestKeyBytes}. */
  longestKeyBytes(payloadId: string): number {
    return this.layout.longestKeyBytes(payloadId);
  }

  /** See {@link PayloadLayout.keysFit}. */
  keysFit(payloadId: string): boolean {
    return this.layout.keysFit(payloadId);
  }

  /** True when references to `bucket` may be read (this bucket, or one of the reference buckets). */
  isReadableBucket(bucket: string): boolean {
    if (bucket === this.bucketName) return true;
    if (this.referenceBuckets === undefined) return true;
    return this.referenceBuckets.includes(bucket);
  }

  /**
   * Reads and parses the JSON object at `url`, or at the `url` of a `{"url": …}` record
   * (Cirrus `payload_from_s3`).
   * @throws NoUrlError when given a record without `url`.
   * @throws InvalidS3UrlError for a malformed URL.
   * @throws ReferenceNotAllowedError when the bucket is not readable by this deployment.
   * @throws PayloadReadError when the object is missing, unreadable or not a JSON object.
   */
  async readPayload(urlOrRecord: string | JsonObject): Promise<JsonObject> {
    const url = referenceUrl(urlOrRecord);
    return (await this.readSerialized(url)).value;
  }

  /**
   * Like {@link PayloadBucket.readPayload}, but also returns the object's JSON text, so a caller that
   * stores or forwards the payload unchanged need not serialise it again.
   */
  async readSerialized(url: string): Promise<SerializedPayload> {
    const location = this.checkReadable(url);
    return readJsonText(this.s3, location, url);
  }

  /**
   * The location of a reference this deployment may read: it passes {@link parseUrl} and is in the
   * payload bucket or a bucket of `CIRRUS_REFERENCE_BUCKETS`.
   * @throws InvalidS3UrlError or ReferenceNotAllowedError otherwise.
   */
  checkReadable(url: string): S3Location {
    const loc = parseUrl(url);
    if (!this.isReadableBucket(loc.bucket)) {
      throw new ReferenceNotAllowedError(
        `payload reference ${url} is in bucket "${loc.bucket}", which is neither the payload bucket ` +
          `"${this.bucketName}" nor listed in ${ENV.referenceBuckets}`,
      );
    }
    return loc;
  }

  /**
   * Returns the payload a record stands for: the referenced object for `{"url": …}`, the record
   * itself otherwise.
   */
  async resolve(record: JsonObject): Promise<JsonObject> {
    if (isReference(record)) return this.readPayload(String(record.url));
    return record;
  }

  /** Writes JSON text to `key` with `Content-Type: application/json`; returns its URL. */
  private async putJson(key: string, body: string | Buffer): Promise<string> {
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucketName, Key: key, Body: body, ContentType: 'application/json' }),
    );
    return this.url(key);
  }

  /** The JSON to store for `p`: a reference is replaced by the content it points to. */
  private async contentText(p: PayloadInput): Promise<string | Buffer> {
    if (p instanceof SerializedPayload) {
      return isReference(p.value) ? JSON.stringify(await this.resolve(p.value)) : p.body;
    }
    return JSON.stringify(await this.resolve(p));
  }

  private async upload(p: PayloadInput, key: string): Promise<string> {
    return this.putJson(key, await this.contentText(p));
  }

  /** Stores `p` at `<root>/tmp/oversized/<uuid>.json`; returns the URL. */
  uploadOversizePayload(p: PayloadInput): Promise<string> {
    return this.upload(p, this.layout.oversizedKey(randomUUID()));
  }

  /**
   * Stores a copy of a payload object of this bucket (for example an execution's `input.json`,
   * just written) at `<root>/tmp/oversized/<uuid>.json` with a server-side CopyObject, so a large
   * payload is not sent over the network, nor held in memory, a second time. Returns the URL.
   */
  async copyToOversized(sourceUrl: string): Promise<string> {
    const src = parseUrl(sourceUrl);
    if (src.bucket !== this.bucketName || !this.layout.isPayloadKey(src.key)) {
      throw new InvalidS3UrlError(`copy source ${sourceUrl} is not a payload object of s3://${this.bucketName}/${this.layout.rootPrefix}/`);
    }
    const key = this.layout.oversizedKey(randomUUID());
    await this.s3.send(
      new CopyObjectCommand({
        Bucket: this.bucketName,
        Key: key,
        CopySource: `${this.bucketName}/${src.key.split('/').map(encodeURIComponent).join('/')}`,
        ContentType: 'application/json',
        MetadataDirective: 'REPLACE',
      }),
    );
    return this.url(key);
  }

  /**
   * Stores a payload or raw message that failed validation at `<root>/tmp/invalid/<uuid>.json`.
   * A reference is stored as the referenced content when it can be read, else as it is (an
   * invalid record must always be kept for inspection).
   */
  async uploadInvalidPayload(p: JsonObject | SerializedPayload | string): Promise<string> {
    const key = this.layout.invalidKey(randomUUID());
    if (typeof p === 'string') return this.putJson(key, JSON.stringify(p));
    let body: string | Buffer;
    try {
      body = await this.contentText(p);
    } catch {
      body = p instanceof SerializedPayload ? p.text : JSON.stringify(p);
    }
    return this.putJson(key, body);
  }

  /**
   * Stores `p` at `<root>/tmp/batch/<p.id>/<uuid>.json` for an AWS Batch task (a
   * {@link SerializedPayload} as the bytes it holds, so numbers are stored as they were written); a
   * payload that already is a reference is returned unchanged once it passes the reference rule
   * (a URL this deployment may read).
   */
  async uploadBatchPayload(p: JsonObject | SerializedPayload): Promise<string> {
    const value = p instanceof SerializedPayload ? p.value : p;
    if (isReference(value)) {
      const url = String(value.url);
      this.checkReadable(url);
      return url;
    }
    const id = value.id;
    if (typeof id !== 'string' || id.length === 0) {
      throw new TypeError('a batch payload needs a string "id"');
    }
    checkPayloadId(id);
    return this.putJson(this.layout.batchKey(id, randomUUID()), p instanceof SerializedPayload ? p.body : JSON.stringify(p));
  }

  /**
   * The location of a batch task's output URL (`url_out`), checked: it must pass the reference
   * rule ({@link parseUrl}) and lie in this bucket under `<root>/tmp/batch/`, so a task never
   * writes, and post-batch never reads, anywhere else.
   * @throws InvalidS3UrlError otherwise.
   */
  batchOutputLocation(urlOut: unknown): S3Location {
    const loc = parseUrl(urlOut);
    if (loc.bucket !== this.bucketName || !this.layout.isBatchKey(loc.key)) {
      throw new InvalidS3UrlError(`batch output URL ${String(urlOut)} is not under s3://${this.bucketName}/${this.layout.prefixBatch}/`);
    }
    return loc;
  }

  /** Writes a batch task's result to the `url_out` that pre-batch handed it ({@link PayloadBucket.batchOutputLocation}). */
  async uploadBatchOutput(urlOut: string, p: JsonObject): Promise<string> {
    const loc = this.batchOutputLocation(urlOut);
    return this.putJson(loc.key, JSON.stringify(await this.resolve(p)));
  }

  /** Stores the execution's `input.json`; returns its deterministic URL. */
  async uploadInputPayload(p: PayloadInput, payloadId: string, executionId: string): Promise<string> {
    return this.upload(p, this.layout.inputKey(payloadId, executionId));
  }

  /**
   * Stores the execution's `input.json` only if it does not exist yet (a conditional write,
   * `If-None-Match: *`), so an execution's recorded input is never replaced by other content.
   * Returns its URL, and when an `input.json` was there already, that stored payload: the input the
   * execution runs (or will run), which the caller starts with instead of what it was given.
   */
  async createInputPayload(p: SerializedPayload, payloadId: string, executionId: string): Promise<{ url: string; existing?: SerializedPayload }> {
    const key = this.layout.inputKey(payloadId, executionId);
    const url = this.url(key);
    try {
      await this.s3.send(
        new PutObjectCommand({ Bucket: this.bucketName, Key: key, Body: p.body, ContentType: 'application/json', IfNoneMatch: '*' }),
      );
      return { url };
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (errorName(err) !== 'PreconditionFailed' && status !== 412) throw err;
      return { url, existing: await readJsonText(this.s3, { bucket: this.bucketName, key }, url) };
    }
  }

  /** Stores the execution's `output.json`; returns its deterministic URL. */
  async uploadOutputPayload(p: PayloadInput, payloadId: string, executionId: string): Promise<string> {
    return this.upload(p, this.layout.outputKey(payloadId, executionId));
  }
}

/**
 * Reads an object's body holding its bytes only once: chunks are copied into one buffer of the
 * object's length (instead of collecting chunks, joining them and decoding). Returns the bytes and
 * their UTF-8 text; a caller that stores the payload again can send the bytes without a new copy.
 */
async function readBody(body: unknown, length: number | undefined): Promise<{ text: string; bytes?: Buffer }> {
  if (body === undefined || body === null) return { text: '' };
  if (typeof (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] !== 'function') {
    const b = body as { transformToString?: (enc: string) => Promise<string> };
    return { text: b.transformToString ? await b.transformToString('utf-8') : '' };
  }
  const chunks: Uint8Array[] = [];
  let buf = length !== undefined && length > 0 ? Buffer.allocUnsafe(length) : undefined;
  let off = 0;
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    if (buf && off + chunk.length <= buf.length) {
      buf.set(chunk, off);
    } else {
      if (buf) {
        chunks.push(buf.subarray(0, off));
        buf = undefined;
      }
      chunks.push(chunk);
    }
    off += chunk.length;
  }
  const bytes = buf ? buf.subarray(0, off) : Buffer.concat(chunks);
  return { text: bytes.toString('utf8'), bytes };
}

/** Errors S3 answers with a 4xx status that a later attempt may not get: slow down and retry. */
const RETRYABLE_CLIENT_ERRORS = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException', 'RequestTimeout', 'RequestTimeTooSkewed']);

function httpStatus(err: unknown): number | undefined {
  const meta = (err as { $metadata?: { httpStatusCode?: unknown } } | undefined)?.$metadata;
  return typeof meta?.httpStatusCode === 'number' ? meta.httpStatusCode : undefined;
}

/** A 4xx answer other than throttling (429, 408, or a throttling error name): retrying cannot help. */
function isPermanentClientError(err: unknown): boolean {
  const status = httpStatus(err);
  if (status === undefined || status < 400 || status >= 500 || status === 429 || status === 408) return false;
  return !RETRYABLE_CLIENT_ERRORS.has(errorName(err));
}

async function readJsonText(s3: S3Client, loc: S3Location, url: string): Promise<SerializedPayload> {
  let text: string;
  let bytes: Buffer | undefined;
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
    ({ text, bytes } = await readBody(res.Body, res.ContentLength));
  } catch (err) {
    const name = errorName(err);
    if (name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchBucket') {
      throw new PayloadReadError(`payload object ${url} does not exist (${name})`, { cause: err });
    }
    if (name === 'AccessDenied') {
      // Without s3:ListBucket, S3 answers a missing key with 403 rather than 404.
      throw new PayloadReadError(`payload object ${url} does not exist or may not be read (AccessDenied)`, { cause: err });
    }
    if (isPermanentClientError(err)) {
      // KeyTooLongError, InvalidBucketName, InvalidArgument, …: the same request can never succeed.
      throw new PayloadReadError(`payload object ${url} cannot be read: S3 answered ${httpStatus(err)} ${name}`, { cause: err });
    }
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new PayloadReadError(`payload object ${url} is not valid JSON`, { cause: err });
  }
  if (!isJsonObject(parsed)) {
    throw new PayloadReadError(`payload object ${url} is not a JSON object`);
  }
  // Keep the bytes, not the text: the string is garbage once parsed (decoded again only if needed).
  return bytes ? new SerializedPayload(parsed, undefined, bytes) : new SerializedPayload(parsed, text);
}

async function readJsonObject(s3: S3Client, loc: S3Location, url: string): Promise<JsonObject> {
  return (await readJsonText(s3, loc, url)).value;
}

/**
 * Reads a referenced payload (Cirrus `payload_from_s3`) from ANY bucket the caller's credentials
 * can read: it checks the URL's shape ({@link parseUrl}) but not `CIRRUS_REFERENCE_BUCKETS`. The
 * functions never use it; they read through {@link PayloadBucket.readPayload}, which does. For
 * scripts and tasks that trust their input.
 * @throws NoUrlError when `record` has no `url` (callers that pass records through ignore it).
 *
 * @example
 * const payload = await readPayloadUnrestricted('s3://my-bucket/cirrus/tmp/oversized/x.json', { s3: new S3Client({}) });
 */
export async function readPayloadUnrestricted(record: string | JsonObject, options: { s3: S3Client }): Promise<JsonObject> {
  if (!options?.s3) throw new ConfigurationError('readPayloadUnrestricted needs { s3 }: the library creates no S3 client');
  const url = referenceUrl(record);
  return readJsonObject(options.s3, parseUrl(url), url);
}

/**
 * @deprecated The same as {@link readPayloadUnrestricted}, whose name says that no bucket
 * restriction applies; kept under the first version's name, and like it now given `{ s3 }`.
 */
export const readPayload = readPayloadUnrestricted;
