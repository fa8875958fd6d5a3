/**
 * The whole pipeline on the embedded local stack: the built function bundles wired the way the
 * CDK app wires them in AWS. SQS batches go through the real process handler (messages not listed
 * in `batchItemFailures` are deleted, as Lambda's SQS event source does); every status-change
 * event is delivered to update-state; the example workflows run their Lambda tasks in-process.
 * Used by `npm start`, `cirrus local` and the benchmarks.
 * @module
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startLocalStack, type LocalStack, type LocalStackOptions } from './index';

/** The repository root: the nearest folder above this file holding `workflows/` and `package.json`. */
export function repoRoot(from: string = __dirname): string {
  let dir = from;
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'workflows'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the repository root above ${from}`);
    dir = up;
  }
}

/** The Lambda handler signature of the bundles. */
export type BundleHandler = (event: unknown, context?: unknown) => Promise<unknown>;

/** The function bundles the pipeline runs. */
export interface PipelineHandlers {
  process: BundleHandler;
  updateState: BundleHandler;
  stampItems: BundleHandler;
}

/** Loads the esbuild bundles from `dist/lambdas` (run `npm run build` first). */
export function loadBundles(distDir: string = path.join(repoRoot(), 'dist', 'lambdas')): PipelineHandlers {
  const load = (name: string): BundleHandler => {
    const file = path.join(distDir, name, 'index.js');
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return (require(file) as { handler: BundleHandler }).handler;
    } catch (err) {
      throw new Error(`cannot load the ${name} bundle at ${file}: run "npm run build" first (${(err as Error).message})`);
    }
  };
  return { process: load('process'), updateState: load('update-state'), stampItems: load('stamp-items') };
}

/** Options of {@link startPipeline}. */
export interface PipelineOptions extends LocalStackOptions {
  /** Handlers to run; defaults to the built bundles. */
  handlers?: PipelineHandlers;
  /** Folder of the ASL files; defaults to `<repo>/workflows`. */
  workflowsDir?: string;
}

/** A running pipeline. */
export interface Pipeline {
  stack: LocalStack;
  handlers: PipelineHandlers;
  /** Restores the environment and stops the stack. */
  stop(): Promise<void>;
  /** Sends message bodies through the process queue and the process handler (at most 10). */
  sendBatch(bodies: string[]): Promise<{ response: unknown; messageIds: string[] }>;
  /** Receives whatever waits on the process queue (up to 10) and runs it through process. */
  pollOnce(): Promise<number>;
  /** Keys and sizes of every object under the root prefix. */
  listPayloadObjects(): Promise<{ key: string; size: number }[]>;
  /** Errors update-state raised (EventBridge would retry them). */
  updateStateErrors: { executionArn: string; error: string }[];
}

/** Starts the local stack, registers the example workflows and wires the functions together. */
export async function startPipeline(options: PipelineOptions = {}): Promise<Pipeline> {
  const handlers = options.handlers ?? loadBundles();
  const workflowsDir = options.workflowsDir ?? path.join(repoRoot(), 'workflows');
  const stack = await startLocalStack(options);
  const restore = stack.applyEnv();
  const updateStateErrors: Pipeline['updateStateErrors'] = [];
  try {
    const stampFn = `${stack.resourcePrefix}-stamp-items`;
    stack.setLambdaHandler(stampFn, (event: unknown) => handlers.stampItems(event));
    await stack.registerWorkflow('minimal', path.join(workflowsDir, 'minimal.asl.json'));
    await stack.registerWorkflow('stamp-items', path.join(workflowsDir, 'stamp-items.asl.json'), {
      substitutions: { StampItemsFunctionArn: `arn:aws:lambda:${stack.region}:${stack.account}:function:${stampFn}` },
    });
    stack.onStatusChange(async (event) => {
      try {
        await handlers.updateState(event);
      } catch (err) {
        updateStateErrors.push({ executionArn: String((event as { detail?: { executionArn?: string } }).detail?.executionArn), error: (err as Error).message });
        throw err;
      }
    });
  } catch (err) {
    restore();
    await stack.stop();
    throw err;
  }

  const sqs = new SQSClient(stack.clientConfig('sqs'));
  const s3 = new S3Client(stack.clientConfig('s3'));
  const queueUrl = stack.processQueueUrl;

  const deliver = async (waitSeconds: number): Promise<{ response: unknown; messageIds: string[] }> => {
      const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds }));
      if (!received.Messages || received.Messages.length === 0) return { response: { batchItemFailures: [] }, messageIds: [] };
      const messages = received.Messages ?? [];
      const arn = `arn:aws:sqs:${stack.region}:${stack.account}:${queueUrl.split('/').pop()}`;
      const event = {
        Records: messages.map((m) => ({
          messageId: m.MessageId,
          receiptHandle: m.ReceiptHandle,
          body: m.Body,
          attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()) },
          messageAttributes: {},
          md5OfBody: m.MD5OfBody,
          eventSource: 'aws:sqs',
          eventSourceARN: arn,
          awsRegion: stack.region,
        })),
      };
      const response = await handlers.process(event);
      const failed = new Set(((response as { batchItemFailures?: { itemIdentifier: string }[] }).batchItemFailures ?? []).map((f) => f.itemIdentifier));
      const done = messages.filter((m) => !failed.has(String(m.MessageId)));
      if (done.length > 0) {
        await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
      }
      return { response, messageIds: messages.map((m) => String(m.MessageId)) };
  };

  return {
    stack,
    handlers,
    updateStateErrors,
    async stop() {
      sqs.destroy();
      s3.destroy();
      restore();
      await stack.stop();
    },
    async sendBatch(bodies) {
      if (bodies.length > 10) throw new RangeError('an SQS batch holds at most 10 messages');
      await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: bodies.map((b, i) => ({ Id: String(i), MessageBody: b })) }));
      return deliver(1);
    },
    async pollOnce() {
      return (await deliver(0)).messageIds.length;
    },
    async listPayloadObjects() {
      const out: { key: string; size: number }[] = [];
      let token: string | undefined;
      do {
        const res = await s3.send(new ListObjectsV2Command({ Bucket: stack.payloadBucket, Prefix: `${stack.env.CIRRUS_PAYLOAD_ROOT_PREFIX}/`, ContinuationToken: token }));
        for (const o of res.Contents ?? []) out.push({ key: String(o.Key), size: Number(o.Size ?? 0) });
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token);
      return out;
    },
  };
}
