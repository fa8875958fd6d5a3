// A downstream consumer's file: it imports only from the package name (and the AWS SDK it builds
// its S3 client with), as the README shows.
import { S3Client } from '@aws-sdk/client-s3';
import {
  PayloadBucket,
  readPayload,
  lambdaTask,
  batchTask,
  validateProcessPayload,
  measureInlineSize,
  inlineOrReference,
  MAX_PAYLOAD_LENGTH,
  UndefinedPayloadBucketError,
  NotAProcessPayloadError,
  type JsonObject,
  type ProcessPayload,
} from 'cirrus-payload-bucket';

const s3 = new S3Client({});
const bucket: PayloadBucket = new PayloadBucket('my-bucket', 'my-root', { s3 });
const fromEnv: PayloadBucket = PayloadBucket.fromEnv(process.env, { s3 });
const inputUrl: string = bucket.getInputPayloadUrl('c/workflow-w/i', '0000');
const prefix: string = bucket.layout.prefixTmp;
const size: number = measureInlineSize({ a: 1 });
const limit: number = MAX_PAYLOAD_LENGTH;
const p: ProcessPayload = validateProcessPayload({ type: 'FeatureCollection', features: [], process: [{ workflow: 'w' }], id: 'c/workflow-w/i' });
export const handler: (event: unknown) => Promise<JsonObject> = lambdaTask(async (payload: JsonObject) => ({ ...payload, touched: true }), { bucket });
export const batchHandler = batchTask((payload) => payload, { bucket: () => fromEnv });
export async function use(): Promise<JsonObject> {
  const fromS3: JsonObject = await readPayload('s3://my-bucket/my-root/tmp/oversized/x.json', { s3 });
  return inlineOrReference(fromS3, bucket);
}
export const errors: string[] = [new UndefinedPayloadBucketError('x').name, new NotAProcessPayloadError('id', 'bad').field];
export const values = [inputUrl, prefix, size, limit, p.id];
