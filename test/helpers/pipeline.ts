/**
 * Shared set-up of the pipeline integration tests (process, update-state, batch helpers): the
 * embedded local stack with clients pointed at it, builders of the events Lambda receives (SQS,
 * SNS, SNS delivered through SQS), payload factories based on the repository's fixtures, an
 * independent execution-name formula, and an S3 client instrument (in-flight counting, delays and
 * injected failures).
 */
import { createHash, randomUUID } from 'node:crypto';
import path from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DescribeExecutionCommand, SFNClient, type DescribeExecutionCommandOutput } from '@aws-sdk/client-sfn';
import { v5 as uuidv5 } from 'uuid';
import type { JsonObject } from '../../shared/json';
import { PayloadBucket } from '../../shared/payload-bucket';
import { StateDb } from '../../shared/statedb';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local';
import { FIXTURES_DIR, sentinel2Payload } from './fixtures';

// Powertools stays quiet unless asked (as test/setup-env.js does).
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';

/** The repository root. */
export const REPO_ROOT = path.resolve(__dirname, '../..');
/** The repository's test data (`test/fixtures`). */
export { FIXTURES_DIR };
/** The example workflow definitions. */
export const WORKFLOWS_DIR = path.resolve(REPO_ROOT, 'workflows');

// ---------------------------------------------------------------------------------------------
// Payloads

let counter = 0;

/** A string unique within the test run (usable as an item id: no `/`, no `_`). */
export function uid(tag = 'item'): string {
  counter++;
  return `${tag}-${process.pid}-${counter}-${randomUUID().slice(0, 8)}`;
}

/** A fresh copy of the Sentinel-2 payload fixture (one item, workflow `cog-archive`). */
export function fixturePayload(): JsonObject {
  return sentinel2Payload();
}

/** Options of {@link makePayload}. */
export interface PayloadOptions {
  /** `process[0].workflow`; default `minimal`. */
  workflow?: string;
  /** Item id of the (single) feature; default a unique id. */
  itemId?: string;
  /** Collection of the feature; default `sentinel-s2-l2a`. */
  collection?: string;
  /** `process[0].succeed` (the `minimal` workflow succeeds when true). Default true. */
  succeed?: boolean;
  /** `process[0].replace`. */
  replace?: boolean;
  /** Fields merged into `process[0]`. */
  process0?: JsonObject;
  /** Further process definitions (`process[1]`, …). */
  next?: JsonObject[] | [JsonObject[]];
  /** Replaces the features (ids are kept as given). */
  features?: JsonObject[];
  /** Leave `id` out (process builds it). */
  withoutId?: boolean;
}

/**
 * A process payload derived from the Sentinel-2 payload fixture, with a unique item id so tests
 * never share StateDB items: `<collection>/workflow-<workflow>/<itemId>`.
 */
export function makePayload(options: PayloadOptions = {}): JsonObject & { id: string } {
  const base = fixturePayload();
  const workflow = options.workflow ?? 'minimal';
  const collection = options.collection ?? 'sentinel-s2-l2a';
  const itemId = options.itemId ?? uid('S2B');
  const feature = { ...((base.features as JsonObject[])[0] as JsonObject), id: itemId, collection };
  const features = options.features ?? [feature];
  const p0: JsonObject = {
    ...((base.process as JsonObject[])[0] as JsonObject),
    workflow,
    succeed: options.succeed ?? true,
    ...(options.replace !== undefined ? { replace: options.replace } : {}),
    ...(options.process0 ?? {}),
  };
  const payload: JsonObject = {
    type: 'FeatureCollection',
    features,
    process: [p0, ...((options.next ?? []) as JsonObject[])],
  };
  const collections = [...new Set(features.map((f) => String(f.collection)))].sort().join('/');
  const ids = features.map((f) => String(f.id)).sort().join('/');
  const id = `${collections}/workflow-${workflow}/${ids}`;
  if (!options.withoutId) payload.id = id;
  return payload as JsonObject & { id: string };
}

/** A STAC item (from the fixture) with the given id and collection. */
export function makeItem(id: string, collection = 'sentinel-s2-l2a', properties: JsonObject = {}): JsonObject {
  const f = (fixturePayload().features as JsonObject[])[0];
  return { ...f, id, collection, properties: { ...(f.properties as JsonObject), ...properties } };
}

/** A string property of `bytes` ASCII characters, to push a payload over the inline limit. */
export function padding(bytes: number, ch = 'x'): string {
  return ch.repeat(bytes);
}

// ---------------------------------------------------------------------------------------------
// Events

/** An SQS record as Lambda's SQS event source delivers it. */
export interface SqsRecord {
  messageId: string;
  receiptHandle: string;
  body: string;
  attributes: Record<string, string>;
  messageAttributes: Record<string, unknown>;
  md5OfBody: string;
  eventSource: 'aws:sqs';
  eventSourceARN: string;
  awsRegion: string;
}

const QUEUE_ARN = 'arn:aws:sqs:us-west-2:123456789012:cirrus-process';
const TOPIC_ARN = 'arn:aws:sns:us-west-2:123456789012:cirrus-queue';

/** One SQS record; `body` is sent as is when a string, else as its JSON. */
export function sqsRecord(body: unknown, messageId: string = randomUUID()): SqsRecord {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const now = String(Date.now());
  return {
    messageId,
    receiptHandle: `AQEB${createHash('sha256').update(messageId).digest('base64')}`,
    body: text,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: now, SenderId: 'AIDAIYLAVTDLUXBIEIX46', ApproximateFirstReceiveTimestamp: now },
    messageAttributes: {},
    md5OfBody: createHash('md5').update(text).digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: QUEUE_ARN,
    awsRegion: 'us-west-2',
  };
}

/** An SQS event holding `records`. */
export function sqsEvent(...records: SqsRecord[]): { Records: SqsRecord[] } {
  return { Records: records };
}

/** The JSON notification SNS delivers (to SQS as the message body, to Lambda under `Sns`). */
export function snsNotification(message: unknown, topicArn = TOPIC_ARN): JsonObject {
  const id = randomUUID();
  return {
    Type: 'Notification',
    MessageId: id,
    TopicArn: topicArn,
    Message: typeof message === 'string' ? message : JSON.stringify(message),
    Timestamp: new Date().toISOString(),
    SignatureVersion: '1',
    Signature: 'EXAMPLE',
    SigningCertURL: 'https://sns.us-west-2.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem',
    UnsubscribeURL: `https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${topicArn}:${id}`,
  };
}

/** An SNS record as Lambda's SNS trigger delivers it. */
export function snsRecord(message: unknown, topicArn = TOPIC_ARN): JsonObject {
  return {
    EventSource: 'aws:sns',
    EventVersion: '1.0',
    EventSubscriptionArn: `${topicArn}:${randomUUID()}`,
    Sns: { ...snsNotification(message, topicArn), Subject: null, MessageAttributes: {} },
  };
}

/** An SNS event with one record per message. */
export function snsEvent(...messages: unknown[]): { Records: JsonObject[] } {
  return { Records: messages.map((m) => snsRecord(m)) };
}

/** An SQS record whose body is an SNS notification (SNS → SQS without raw delivery), pretty-printed as SNS does. */
export function snsThroughSqsRecord(message: unknown, messageId?: string): SqsRecord {
  return sqsRecord(JSON.stringify(snsNotification(message), null, 2), messageId);
}

// ---------------------------------------------------------------------------------------------
// Execution names, computed independently of shared/execution.ts

/**
 * `uuid5(NAMESPACE_URL, "<payload_id>/<python repr of the console URLs>")` (README, "Switching from Cirrus"), written
 * out here so that the tests do not depend on the implementation under test. Only for ARNs
 * without quotes or backslashes (Python's repr would escape them).
 */
export function expectedExecutionName(payloadId: string, previousArns: readonly string[] = [], region = 'us-west-2'): string {
  const urls = previousArns.map((arn) => `'https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${arn}'`);
  return uuidv5(`${payloadId}/[${urls.join(', ')}]`, uuidv5.URL);
}

// ---------------------------------------------------------------------------------------------
// The stack

/** A parsed workflow event from the workflow-event topic, with its SNS message attributes. */
export interface PublishedWorkflowEvent {
  event_type: string;
  payload_id: string;
  isotimestamp: string;
  input_payload_url?: string;
  output_payload_url?: string;
  execution?: string;
  error?: string;
  attributes: Record<string, string>;
}

/** The local stack, SDK clients for it and helpers to inspect it. */
export interface PipelineStack {
  stack: LocalStack;
  s3: S3Client;
  sfn: SFNClient;
  doc: DynamoDBDocumentClient;
  /** StateDB access with its own client (independent of the handlers' clients). */
  db: StateDb;
  /** The payload bucket with its own client. */
  bucket: PayloadBucket;
  /** `CIRRUS_BASE_WORKFLOW_ARN`. */
  baseArn: string;
  /** Execution ARN of `workflow` named `name`. */
  executionArn(workflow: string, name: string): string;
  /** Key of an execution's input.json / output.json, built by hand from the layout in the README's "Key layout" section. */
  executionKey(payloadId: string, executionName: string, file: 'input.json' | 'output.json'): string;
  /** Parsed JSON of the object at an `s3://` URL or key of the payload bucket. */
  getJson(urlOrKey: string): Promise<unknown>;
  /** The text of the object at an `s3://` URL or key of the payload bucket, as stored. */
  getText(urlOrKey: string): Promise<string>;
  /** Content-Type of an object of the payload bucket. */
  contentType(urlOrKey: string): Promise<string | undefined>;
  /** True when the object exists. */
  exists(urlOrKey: string): Promise<boolean>;
  /** Writes JSON (test set-up) to a key of the payload bucket; returns its URL. */
  putJson(key: string, value: unknown): Promise<string>;
  /** Every key under `prefix` (no delimiter: s3rver's delimiter handling is broken). */
  listKeys(prefix: string): Promise<string[]>;
  /** Workflow events published so far, optionally only those of one payload id. */
  workflowEvents(payloadId?: string): PublishedWorkflowEvent[];
  /** Executions started so far on state machine `<prefix>-<workflow>`. */
  executionsOf(workflow: string): ReturnType<LocalStack['sfn']['executions']>;
  /** DescribeExecution. */
  describe(executionArn: string): Promise<DescribeExecutionCommandOutput>;
  /** Restores the environment, destroys the clients and stops the stack. */
  stop(): Promise<void>;
}

/** The object helpers of {@link PipelineStack}: read, check, write and list objects by URL or by key of the payload bucket. */
function payloadObjects(
  s3: S3Client,
  bucketName: string,
): Pick<PipelineStack, 'getJson' | 'getText' | 'contentType' | 'exists' | 'putJson' | 'listKeys'> {
  const keyOf = (urlOrKey: string): { Bucket: string; Key: string } => {
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(urlOrKey);
    return m ? { Bucket: m[1], Key: m[2] } : { Bucket: bucketName, Key: urlOrKey };
  };
  return {
    async getJson(urlOrKey) {
      const res = await s3.send(new GetObjectCommand(keyOf(urlOrKey)));
      return JSON.parse(await res.Body!.transformToString('utf-8'));
    },
    async getText(urlOrKey) {
      const res = await s3.send(new GetObjectCommand(keyOf(urlOrKey)));
      return res.Body!.transformToString('utf-8');
    },
    async contentType(urlOrKey) {
      return (await s3.send(new HeadObjectCommand(keyOf(urlOrKey)))).ContentType;
    },
    async exists(urlOrKey) {
      try {
        await s3.send(new HeadObjectCommand(keyOf(urlOrKey)));
        return true;
      } catch (err) {
        if ((err as Error).name === 'NotFound' || (err as Error).name === 'NoSuchKey') return false;
        throw err;
      }
    },
    async putJson(key, value) {
      await s3.send(new PutObjectCommand({ Bucket: bucketName, Key: key, Body: JSON.stringify(value), ContentType: 'application/json' }));
      return `s3://${bucketName}/${key}`;
    },
    async listKeys(prefix) {
      const keys: string[] = [];
      for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucketName, Prefix: prefix })) {
        for (const o of page.Contents ?? []) keys.push(o.Key!);
      }
      return keys;
    },
  };
}

/**
 * Starts the local stack for one test file and applies its environment (`process.env`; the
 * handlers' runtime is rebuilt from it), so the Lambda handlers imported from the sources run against it.
 */
export async function startPipelineStack(options: LocalStackOptions = {}): Promise<PipelineStack> {
  const stack = await startLocalStack(options);
  const restoreEnv = stack.applyEnv();
  // The harness's own calls retry a dropped connection (the SDK default); the functions under test keep their own settings.
  const s3 = new S3Client({ ...stack.clientConfig('s3'), maxAttempts: 3 });
  const sfn = new SFNClient({ ...stack.clientConfig('sfn'), maxAttempts: 1 });
  const ddb = new DynamoDBClient({ ...stack.clientConfig('dynamodb'), maxAttempts: 3 });
  const doc = DynamoDBDocumentClient.from(ddb, { marshallOptions: { removeUndefinedValues: true } });
  const bucketName = stack.payloadBucket;
  const root = stack.env.CIRRUS_PAYLOAD_ROOT_PREFIX;
  const baseArn = stack.env.CIRRUS_BASE_WORKFLOW_ARN;
  return {
    stack,
    s3,
    sfn,
    doc,
    db: new StateDb(stack.stateDbTable, doc),
    bucket: new PayloadBucket(bucketName, root, { s3 }),
    baseArn,
    executionArn: (workflow, name) => `${baseArn.replace(':stateMachine:', ':execution:')}${workflow}:${name}`,
    executionKey: (payloadId, name, file) => `${root}/executions/${payloadId}/${name}/${file}`,
    ...payloadObjects(s3, bucketName),
    workflowEvents(payloadId) {
      return stack.sns
        .messages(stack.workflowEventTopicArn)
        .map((m) => ({ ...(JSON.parse(m.message) as Omit<PublishedWorkflowEvent, 'attributes'>), attributes: m.attributes }))
        .filter((e) => payloadId === undefined || e.payload_id === payloadId);
    },
    executionsOf(workflow) {
      const arn = stack.sfn.workflowArn(workflow);
      return stack.sfn.executions().filter((e) => e.stateMachineArn === arn);
    },
    describe(executionArn) {
      return sfn.send(new DescribeExecutionCommand({ executionArn }));
    },
    async stop() {
      await stack.waitForIdle(10000).catch(() => undefined);
      restoreEnv();
      s3.destroy();
      sfn.destroy();
      ddb.destroy();
      await stack.stop();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// S3 instrument

/** What {@link instrumentS3} observed. */
export interface S3Instrument {
  /** Keys of every PutObject, in call order. */
  puts: string[];
  /** PutObject calls in flight right now. */
  inFlight: number;
  /** The most PutObject calls seen in flight at once. */
  maxInFlight: number;
  /** Puts back the client's own `send`. */
  restore(): void;
}

/**
 * Wraps `client.send`: every PutObject is counted (in flight and at most at once), optionally
 * delayed (so that concurrent calls overlap measurably), and failed when `fail(key)` is true
 * (with an `InternalError`, as S3 reports a 500). Other commands pass through unchanged.
 */
export function instrumentS3(client: S3Client, options: { delayMs?: number; fail?: (key: string) => boolean } = {}): S3Instrument {
  const original = client.send;
  const hadOwn = Object.prototype.hasOwnProperty.call(client, 'send');
  const state: S3Instrument = {
    puts: [],
    inFlight: 0,
    maxInFlight: 0,
    restore: () => {
      if (hadOwn) client.send = original;
      else delete (client as { send?: unknown }).send;
    },
  };
  const wrapped = async (command: unknown, ...rest: unknown[]): Promise<unknown> => {
    if (command instanceof PutObjectCommand) {
      const key = command.input.Key ?? '';
      state.puts.push(key);
      state.inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
      try {
        if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
        if (options.fail?.(key)) {
          const err = new Error(`injected failure: PutObject ${key}`);
          err.name = 'InternalError';
          throw err;
        }
        return await (original as (...a: unknown[]) => Promise<unknown>).call(client, command, ...rest);
      } finally {
        state.inFlight--;
      }
    }
    return (original as (...a: unknown[]) => Promise<unknown>).call(client, command, ...rest);
  };
  client.send = wrapped as unknown as S3Client['send'];
  return state;
}
