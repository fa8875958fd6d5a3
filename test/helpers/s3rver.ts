/**
 * A real S3 wire protocol for tests: `s3rver` on 127.0.0.1 on a free port, with its own temporary
 * directory, and an S3 client pointed at it. Each suite starts its own server and creates a fresh
 * bucket; `stop()` destroys the client, closes the server and removes the directory.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { PayloadBucket } from '../../shared/payload-bucket';

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverCtor = new (options: { port: number; address: string; silent: boolean; directory: string }) => S3rverInstance;

// s3rver ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as S3rverCtor;

/** Credentials s3rver accepts. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** A running s3rver and a client for it. */
export interface LocalS3 {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  /** A path-style client pointed at the server. */
  s3: S3Client;
  /** Creates a bucket with a unique name (prefix + counter) and returns its name. */
  createBucket(prefix?: string): Promise<string>;
  /** Every key in `bucket` under `prefix` (listed without a delimiter: s3rver's delimiter handling is broken). */
  listKeys(bucket: string, prefix?: string): Promise<string[]>;
  /** The body of an object as text. */
  getText(bucket: string, key: string): Promise<string>;
  /** The Content-Type of an object (HeadObject). */
  contentType(bucket: string, key: string): Promise<string | undefined>;
  /** Writes raw text to an object (test set-up, bypassing the PayloadBucket). */
  putText(bucket: string, key: string, body: string): Promise<void>;
  /** Destroys the client, closes the server and removes its directory. */
  stop(): Promise<void>;
}

let bucketCounter = 0;

/** Starts s3rver on 127.0.0.1 on a free port. */
export async function startS3rver(): Promise<LocalS3> {
  const directory = await mkdtemp(path.join(tmpdir(), 's3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory });
  let address: AddressInfo;
  try {
    address = await server.run();
  } catch (err) {
    await rm(directory, { recursive: true, force: true });
    throw err;
  }
  const endpoint = `http://127.0.0.1:${address.port}`;
  const s3 = new S3Client({
    endpoint,
    region: 'us-west-2',
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
  });

  return {
    endpoint,
    s3,
    async createBucket(prefix = 'payloads') {
      bucketCounter += 1;
      const name = `${prefix}-${process.pid}-${bucketCounter}`;
      await s3.send(new CreateBucketCommand({ Bucket: name }));
      return name;
    },
    async listKeys(bucket, prefix) {
      const keys: string[] = [];
      for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix })) {
        for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
      }
      return keys.sort();
    },
    async getText(bucket, key) {
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return (await res.Body?.transformToString('utf-8')) ?? '';
    },
    async contentType(bucket, key) {
      const res = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return res.ContentType;
    },
    async putText(bucket, key, body) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }));
    },
    async stop() {
      s3.destroy();
      try {
        await server.close();
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    },
  };
}

/** A fresh bucket of `local` (named `<prefix>-…`) and a PayloadBucket on it. */
export async function newPayloadBucket(local: LocalS3, prefix: string, rootPrefix?: string): Promise<{ name: string; bucket: PayloadBucket }> {
  const name = await local.createBucket(prefix);
  return { name, bucket: new PayloadBucket(name, rootPrefix, { s3: local.s3 }) };
}

/** A new s3rver with a fresh bucket (named `<prefix>-…`) and a PayloadBucket on it (default root prefix). */
export async function startS3rverBucket(prefix: string): Promise<{ local: LocalS3; name: string; bucket: PayloadBucket }> {
  const local = await startS3rver();
  return { local, ...(await newPayloadBucket(local, prefix)) };
}
