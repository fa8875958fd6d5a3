/**
 * The whole pipeline on the embedded local stack: the built function bundles wired the way the
 * CDK app wires them in AWS. SQS batches go through the real process handler (messages not listed
 * in `batchItemFailures` are deleted, as Lambda's SQS event source does); every status-change
 * event is delivered to update-state; every `workflows/*.asl.json` is registered, and its task
 * Lambdas run in-process from their bundles (what cannot run locally is reported once).
 * Used by `npm start`, `cirrus local` and the benchmarks.
 * @module
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { S3Client, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { LAMBDA_INVOKE } from './handlers';
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

/** The functions the pipeline itself runs (the rest of `dist/lambdas` are workflow task Lambdas). */
const PIPELINE_FUNCTIONS = new Set(['process', 'update-state']);

function loadBundle(distDir: string, name: string): BundleHandler {
  const file = path.join(distDir, name, 'index.js');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require(file) as { handler: BundleHandler }).handler;
  } catch (err) {
    throw new Error(`cannot load the ${name} bundle at ${file}: run "npm run build" first (${(err as Error).message})`);
  }
}

/** The default bundle folder, `<repo>/dist/lambdas`. */
function defaultDistDir(): string {
  return path.join(repoRoot(), 'dist', 'lambdas');
}

/** Loads the esbuild bundles from `dist/lambdas` (run `npm run build` first). */
export function loadBundles(distDir: string = defaultDistDir()): PipelineHandlers {
  return { process: loadBundle(distDir, 'process'), updateState: loadBundle(distDir, 'update-state'), stampItems: loadBundle(distDir, 'stamp-items') };
}

/** The task Lambdas of `dist/lambdas` (every bundle except process and update-state), loaded when first invoked. */
export function taskBundles(distDir: string = defaultDistDir()): Record<string, BundleHandler> {
  if (!existsSync(distDir)) return {};
  const out: Record<string, BundleHandler> = {};
  for (const d of readdirSync(distDir, { withFileTypes: true })) {
    if (!d.isDirectory() || PIPELINE_FUNCTIONS.has(d.name) || !existsSync(path.join(distDir, d.name, 'index.js'))) continue;
    let loaded: BundleHandler | undefined;
    out[d.name] = (event, context) => (loaded ??= loadBundle(distDir, d.name))(event, context);
  }
  return out;
}

/** Options of {@link startPipeline}. */
export interface PipelineOptions extends LocalStackOptions {
  /** Handlers to run; defaults to the built bundles. */
  handlers?: PipelineHandlers;
  /**
   * Task Lambdas by function name without the resource prefix (`stamp-items`); defaults to the
   * bundles of `dist/lambdas`, or to `handlers.stampItems` when `handlers` is given.
   */
  taskLambdas?: Record<string, BundleHandler>;
  /** Folder of the ASL files; defaults to `<repo>/workflows`. */
  workflowsDir?: string;
}

/** A workflow the pipeline registered. */
export interface RegisteredWorkflow {
  /** `minimal` for `workflows/minimal.asl.json`. */
  name: string;
  file: string;
  stateMachineArn: string;
}

/** A running pipeline. */
export interface Pipeline {
  stack: LocalStack;
  handlers: PipelineHandlers;
  /** Every `workflows/*.asl.json` that could be registered, by name. */
  workflows: RegisteredWorkflow[];
  /**
   * What the local stack cannot run, one sentence each: a workflow that could not be registered,
   * a task Lambda with no local bundle, a Task resource the local Step Functions does not run.
   */
  notices: string[];
  /** Restores the environment and stops the stack. */
  stop(): Promise<void>;
  /** Sends message bodies through the process queue and the process handler (at most 10). */
  sendBatch(bodies: string[]): Promise<Delivery>;
  /** Receives whatever waits on the process queue (up to 10) and runs it through process. */
  pollOnce(): Promise<number>;
  /** Like {@link Pipeline.pollOnce}, with what happened. */
  poll(): Promise<Delivery>;
  /** Keys and sizes of every object under the root prefix. */
  listPayloadObjects(): Promise<{ key: string; size: number }[]>;
  /** Errors update-state raised (EventBridge would retry them). */
  updateStateErrors: { executionArn: string; error: string }[];
}

/** One process invocation on the messages received from the process queue. */
export interface Delivery {
  /** What process returned (`batchItemFailures`). */
  response: unknown;
  messageIds: string[];
  /** Messages process reported failed (left on the queue for redelivery), with their receive count so far. */
  failed: { messageId: string; receiveCount: number }[];
}

/** `StampItems` → `stamp-items`. */
function kebab(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** Every Task state of an ASL definition (Parallel branches and Map iterators included). */
function taskStates(definition: unknown): { state: string; resource: string; functionName?: string }[] {
  const out: { state: string; resource: string; functionName?: string }[] = [];
  const walk = (machine: unknown): void => {
    const states = (machine as { States?: Record<string, Record<string, unknown>> } | null)?.States ?? {};
    for (const [state, s] of Object.entries(states)) {
      if (s.Type === 'Task' && typeof s.Resource === 'string') {
        const fn = (s.Parameters as { FunctionName?: unknown } | undefined)?.FunctionName;
        out.push({ state, resource: s.Resource, ...(typeof fn === 'string' ? { functionName: fn } : {}) });
      }
      for (const b of (s.Branches as unknown[] | undefined) ?? []) walk(b);
      if (s.Iterator) walk(s.Iterator);
      if (s.ItemProcessor) walk(s.ItemProcessor);
    }
  };
  walk(definition);
  return out;
}

/** One notice per Task state of a workflow definition that is not a Lambda call (the local stack runs only those). */
function unsupportedTaskNotices(name: string, text: string): string[] {
  let definition: unknown;
  try {
    definition = JSON.parse(text) as unknown;
  } catch {
    definition = {};
  }
  return taskStates(definition)
    .filter((t) => !(t.resource === LAMBDA_INVOKE || /^arn:aws[a-z-]*:lambda:/.test(t.resource)))
    .map((t) => `workflow ${name}: state "${t.state}" uses ${t.resource}, which the local stack does not run; executions reaching it fail with States.Runtime`);
}

/**
 * Registers every `*.asl.json` of `dir` as `<resourcePrefix>-<name>`, filling the placeholders the
 * CDK app fills: `${ResourcePrefix}`, `${PayloadBucket}`, `${PayloadRootPrefix}`, and
 * `${<Name>FunctionArn}` with the ARN of function `<resourcePrefix>-<name in kebab case>`, run from
 * `tasks[<name in kebab case>]`. Returns what it registered and one notice per thing it cannot run.
 */
async function registerWorkflows(
  stack: LocalStack,
  dir: string,
  tasks: Record<string, BundleHandler>,
): Promise<{ workflows: RegisteredWorkflow[]; notices: string[] }> {
  const workflows: RegisteredWorkflow[] = [];
  const notices: string[] = [];
  const missingLambdas = new Map<string, string[]>();
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.asl.json')).sort() : [];
  for (const file of files) {
    const name = file.slice(0, -'.asl.json'.length);
    const full = path.join(dir, file);
    const text = readFileSync(full, 'utf8');
    const substitutions: Record<string, string> = {
      ResourcePrefix: stack.resourcePrefix,
      PayloadBucket: stack.payloadBucket,
      PayloadRootPrefix: stack.env.CIRRUS_PAYLOAD_ROOT_PREFIX,
    };
    const unknown: string[] = [];
    for (const [, token] of text.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)) {
      if (token in substitutions) continue;
      const fn = /^(.+)FunctionArn$/.exec(token);
      if (!fn) {
        unknown.push(token);
        continue;
      }
      const fnName = kebab(fn[1]);
      const fullName = `${stack.resourcePrefix}-${fnName}`;
      substitutions[token] = `arn:aws:lambda:${stack.region}:${stack.account}:function:${fullName}`;
      const task = tasks[fnName];
      if (task) stack.setLambdaHandler(fullName, (event: unknown, context: unknown) => task(event, context));
      else missingLambdas.set(fnName, [...(missingLambdas.get(fnName) ?? []), name]);
    }
    if (unknown.length > 0) {
      notices.push(`workflow ${name} (${file}) not registered: no local value for ${[...new Set(unknown)].map((u) => `\${${u}}`).join(', ')}`);
      continue;
    }
    try {
      const stateMachineArn = await stack.registerWorkflow(name, full, { substitutions });
      workflows.push({ name, file: full, stateMachineArn });
    } catch (err) {
      notices.push(`workflow ${name} (${file}) not registered: ${(err as Error).message}`);
      continue;
    }
    notices.push(...unsupportedTaskNotices(name, text));
  }
  for (const [fnName, users] of missingLambdas) {
    notices.push(
      `task Lambda ${fnName} (used by workflow ${[...new Set(users)].join(', ')}) has no bundle in dist/lambdas/${fnName}; ` +
        'executions reaching it fail with Lambda.ResourceNotFoundException',
    );
  }
  return { workflows, notices };
}

/**
 * Lambda's SQS event source for the process queue, one poll at a time: receives up to 10 messages
 * (waiting up to `waitSeconds`), hands them to `processHandler` as an SQS event, and deletes those not
 * reported in its `batchItemFailures`.
 */
function sqsEventSource(stack: LocalStack, sqs: SQSClient, processHandler: PipelineHandlers['process']): (waitSeconds: number) => Promise<Delivery> {
  const queueUrl = stack.processQueueUrl;
  return async (waitSeconds) => {
    const received = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds, MessageSystemAttributeNames: ['All'] }),
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0) return { response: { batchItemFailures: [] }, messageIds: [], failed: [] };
    const arn = `arn:aws:sqs:${stack.region}:${stack.account}:${queueUrl.split('/').pop()}`;
    // The event Lambda's SQS event source builds, with the queue's own system attributes.
    const event = {
      Records: messages.map((m) => ({
        messageId: m.MessageId,
        receiptHandle: m.ReceiptHandle,
        body: m.Body,
        attributes: { ...m.Attributes },
        messageAttributes: {},
        md5OfBody: m.MD5OfBody,
        eventSource: 'aws:sqs',
        eventSourceARN: arn,
        awsRegion: stack.region,
      })),
    };
    const response = await processHandler(event);
    const failed = new Set(((response as { batchItemFailures?: { itemIdentifier: string }[] }).batchItemFailures ?? []).map((f) => f.itemIdentifier));
    const done = messages.filter((m) => !failed.has(String(m.MessageId)));
    if (done.length > 0) {
      await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
    }
    return {
      response,
      messageIds: messages.map((m) => String(m.MessageId)),
      failed: messages
        .filter((m) => failed.has(String(m.MessageId)))
        .map((m) => ({ messageId: String(m.MessageId), receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 1) })),
    };
  };
}

/** Runs update-state on every status-change event, keeping the errors it throws (the event is then redelivered). */
function wireUpdateState(stack: LocalStack, updateState: PipelineHandlers['updateState'], errors: Pipeline['updateStateErrors']): void {
  stack.onStatusChange(async (event) => {
    try {
      await updateState(event);
    } catch (err) {
      errors.push({ executionArn: String((event as { detail?: { executionArn?: string } }).detail?.executionArn), error: (err as Error).message });
      throw err;
    }
  });
}

/** Starts the local stack, registers every workflow of `workflows/` and wires the functions together. */
export async function startPipeline(options: PipelineOptions = {}): Promise<Pipeline> {
  const handlers = options.handlers ?? loadBundles();
  const tasks = options.taskLambdas ?? (options.handlers ? { 'stamp-items': options.handlers.stampItems } : taskBundles());
  const workflowsDir = options.workflowsDir ?? path.join(repoRoot(), 'workflows');
  const stack = await startLocalStack(options);
  const restore = stack.applyEnv();
  const updateStateErrors: Pipeline['updateStateErrors'] = [];
  let registered: { workflows: RegisteredWorkflow[]; notices: string[] };
  try {
    registered = await registerWorkflows(stack, workflowsDir, tasks);
    wireUpdateState(stack, handlers.updateState, updateStateErrors);
  } catch (err) {
    restore();
    await stack.stop();
    throw err;
  }

  const sqs = new SQSClient(stack.clientConfig('sqs'));
  const s3 = new S3Client(stack.clientConfig('s3'));
  const queueUrl = stack.processQueueUrl;

  const deliver = sqsEventSource(stack, sqs, handlers.process);

  return {
    stack,
    handlers,
    workflows: registered.workflows,
    notices: registered.notices,
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
    poll() {
      return deliver(0);
    },
    async listPayloadObjects() {
      const out: { key: string; size: number }[] = [];
      for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: stack.payloadBucket, Prefix: `${stack.env.CIRRUS_PAYLOAD_ROOT_PREFIX}/` })) {
        for (const o of page.Contents ?? []) out.push({ key: String(o.Key), size: Number(o.Size ?? 0) });
      }
      return out;
    },
  };
}
