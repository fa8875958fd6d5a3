/**
 * Embedded local AWS stack for integration tests, the `npm start` demo and the benchmarks: S3
 * (`s3rver`), DynamoDB (`dynalite`), Step Functions (an AWS JSON 1.0 endpoint running ASL with
 * `aws-local-stepfunctions`), SNS, SQS and CloudWatch Logs (minimal in-process endpoints), all on 127.0.0.1 with
 * free ports, plus the EventBridge "Step Functions Execution Status Change" events delivered to
 * in-process subscribers.
 *
 * ```ts
 * const stack = await startLocalStack({ lambdaHandlers: { 'cirrus-process': handler } });
 * const restore = stack.applyEnv();
 * stack.onStatusChange((event) => updateStateHandler(event));
 * const arn = await stack.registerWorkflow('mirror', 'workflows/mirror.json', { substitutions });
 * …
 * restore();
 * await stack.stop();
 * ```
 * @module
 */
import http from 'node:http';
import { promises as fs, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { createTableInput } from '../shared/statedb-schema';
import { DEFAULT_REGION, normalizeRootPrefix } from '../shared/config';
import { resetHandlerRuntime } from '../shared/runtime';
import { substitute, type DefinitionSubstitutions } from './asl';
import {
  LocalStackStartError,
  LocalStackStoppedError,
  LocalStackTimeoutError,
  UnknownExecutionError,
  WorkflowDefinitionError,
} from './errors';
import { buildStatusChangeEvent, type StepFunctionsStatusChangeEvent } from './events';
import { HandlerRegistry, type HandlerSet, type LocalLambdaHandler, type LocalTaskHandler } from './handlers';
import { closeServer, keepConnectionsAlive, listenLoopback, LOOPBACK, type LoopbackServer } from './http';
import { LocalStepFunctions, type ExecutionSnapshot } from './sfn';
import { LocalSns, type RecordedSnsMessage } from './sns';
import { LocalSqs, type RecordedSqsMessage } from './sqs';
import { enableConditionalPuts } from './s3-conditional';
import { LocalLogs, type RecordedLogEvent } from './logs';
import { START_EXECUTION_QUOTA, TokenBucket, type TokenBucketQuota, type TokenBucketStats } from './throttle';
import { PROCESS_MAX_RECEIVE_COUNT, PROCESS_QUEUE_VISIBILITY_TIMEOUT_SECONDS } from '../cdk/process-limits';

export * from './errors';
export { STATUS_EVENT_DATA_LIMIT_BYTES, escapedSize, buildStatusChangeEvent } from './events';
export type { StepFunctionsStatusChangeEvent, StatusChangeDetail, ExecutionStatus, TerminalStatus, EndedExecution } from './events';
export type { LocalLambdaHandler, LocalLambdaContext, LocalTaskHandler, TaskInvocationInfo, HandlerSet } from './handlers';
export { lambdaFunctionName, LAMBDA_INVOKE } from './handlers';
export type { DefinitionSubstitutions } from './asl';
export type { RecordedSnsMessage } from './sns';
export type { RecordedSqsMessage } from './sqs';
export type { RecordedLogEvent } from './logs';
export type { MessageAttributeValue, MessageAttributes } from './attributes';
export type { ExecutionSnapshot } from './sfn';
export { MAX_EXECUTION_DATA_BYTES } from './sfn';
export { START_EXECUTION_QUOTA, TokenBucket, throttlingError } from './throttle';
export type { TokenBucketQuota, TokenBucketStats } from './throttle';
export { SqsEventSource } from './event-source';
export type { SqsBatchHandler, SqsEventSourceOptions, SqsEventSourceStats } from './event-source';

/** The services of the local stack. */
export type LocalService = 's3' | 'dynamodb' | 'sfn' | 'sns' | 'sqs' | 'logs';

/** Dummy credentials. s3rver only accepts its built-in key pair, so that is the one used. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/** Options of {@link startLocalStack}; every field is optional. */
export interface LocalStackOptions {
  /** AWS region of every ARN and of `AWS_REGION`. Default {@link DEFAULT_REGION} (`us-west-2`). */
  region?: string;
  /** Account id of every ARN. Default `123456789012`. */
  account?: string;
  /** Resource name prefix (state machines are `<prefix>-<workflow>`). Default `cirrus`. */
  resourcePrefix?: string;
  /** Payload bucket name. Default `<resourcePrefix>-payloads`. */
  payloadBucket?: string;
  /** `CIRRUS_PAYLOAD_ROOT_PREFIX`. Default `cirrus`. */
  rootPrefix?: string;
  /** StateDB table name. Default `<resourcePrefix>-state`. */
  stateDbTable?: string;
  /** Further buckets to create (for example reference buckets). */
  extraBuckets?: string[];
  /** Lambda functions run in-process by Task states, keyed by function name or ARN. */
  lambdaHandlers?: Record<string, LocalLambdaHandler>;
  /** Raw Task overrides for every workflow, keyed by state name or Task `Resource`. */
  taskHandlers?: Record<string, LocalTaskHandler>;
  /**
   * Redelivery of status events to a failing subscriber, like an EventBridge target retry
   * policy: `maxAttempts` (default 1, i.e. no retry) with `retryDelayMs` between attempts
   * (default 100). Failures after the last attempt are kept in `deliveryFailures`.
   */
  statusEventDelivery?: { maxAttempts?: number; retryDelayMs?: number };
  /**
   * Validate definitions in CreateStateMachine as AWS does (default true). Validation costs
   * about 0.5 s per distinct definition (once per process); benchmarks may turn it off.
   */
  validateDefinitions?: boolean;
  /** Fixed ports per service (default: a free port each). */
  ports?: Partial<Record<LocalService, number>>;
  /**
   * The `StartExecution` token bucket of the Step Functions endpoint (default
   * {@link START_EXECUTION_QUOTA}, the quota of the largest AWS regions; `false` = unlimited).
   * Calls beyond it are answered with `ThrottlingException` as AWS does.
   */
  startExecutionQuota?: Partial<TokenBucketQuota> | false;
}

/** The environment that points functions, the CLI and SDK clients at the local stack. */
export interface LocalStackEnv {
  AWS_ENDPOINT_URL_S3: string;
  AWS_ENDPOINT_URL_DYNAMODB: string;
  AWS_ENDPOINT_URL_SFN: string;
  AWS_ENDPOINT_URL_SNS: string;
  AWS_ENDPOINT_URL_SQS: string;
  AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: string;
  AWS_REGION: string;
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  CIRRUS_PAYLOAD_BUCKET: string;
  CIRRUS_PAYLOAD_ROOT_PREFIX: string;
  CIRRUS_STATE_DB: string;
  CIRRUS_BASE_WORKFLOW_ARN: string;
  CIRRUS_WORKFLOW_EVENT_TOPIC_ARN: string;
  CIRRUS_PUBLISH_TOPIC_ARN: string;
  CIRRUS_PROCESS_QUEUE_URL: string;
}

/** Options of {@link LocalStack.registerWorkflow}. */
export interface RegisterWorkflowOptions extends HandlerSet {
  /** Values for `${Name}` tokens in the definition (Step Functions `DefinitionSubstitutions`). */
  substitutions?: DefinitionSubstitutions;
  /** Role ARN given to CreateStateMachine. Default `arn:aws:iam::<account>:role/<prefix>-local-sfn`. */
  roleArn?: string;
}

/** A subscriber of status-change events (for example the update-state handler). */
export type StatusChangeSubscriber = (event: StepFunctionsStatusChangeEvent) => unknown;

/** A status event a subscriber failed to handle after every attempt. */
export interface StatusEventDeliveryFailure {
  event: StepFunctionsStatusChangeEvent;
  subscriber: StatusChangeSubscriber;
  error: unknown;
  attempts: number;
}

/** An ended execution together with the status event it produced. */
export interface CompletedExecution extends ExecutionSnapshot {
  event: StepFunctionsStatusChangeEvent;
}

/** Client settings for one service: spread them into an SDK client constructor. */
export interface LocalClientConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Set for S3 only. */
  forcePathStyle?: boolean;
}

/** What tests can read from the local SNS endpoint. */
export interface LocalSnsView {
  /** Creates a topic (idempotent) and returns its ARN. */
  createTopic(name: string): string;
  /** Messages published to a topic (ARN or name), oldest first. */
  messages(topic: string): RecordedSnsMessage[];
  /** Every topic ARN. */
  topicArns(): string[];
  /** Forgets every recorded message. */
  clear(): void;
}

/** What tests can read from the local SQS endpoint. */
export interface LocalSqsView {
  /** Creates a queue (idempotent) and returns its URL. */
  createQueue(name: string, attributes?: Record<string, string>): string;
  /** Every message ever sent to a queue (URL, name or ARN), deleted ones included. */
  sent(queue: string): RecordedSqsMessage[];
  /** Messages still in a queue (not deleted). */
  pending(queue: string): RecordedSqsMessage[];
  /** Every queue URL. */
  queueUrls(): string[];
  /** Drops every message and the recorded history. */
  clear(): void;
}

/** What tests can read from the local CloudWatch Logs endpoint. */
export interface LocalLogsView {
  /** Creates a log group (idempotent) and returns its name. */
  createLogGroup(name: string): string;
  /** Stream names of a group, in creation order. */
  streamNames(group: string): string[];
  /** Every event put to a group, in the order it was put. */
  events(group: string): RecordedLogEvent[];
  /** Forgets every stream and event. */
  clear(): void;
}

/** What tests can read from the local Step Functions endpoint. */
export interface LocalSfnView {
  /** One execution, or undefined. */
  execution(executionArn: string): ExecutionSnapshot | undefined;
  /** Every execution started so far. */
  executions(): ExecutionSnapshot[];
  /** ARN of state machine `<resourcePrefix>-<workflow>`. */
  workflowArn(workflow: string): string;
  /** StartExecution calls and throttles so far (zeros when the quota is off). */
  startExecutionStats(): TokenBucketStats;
}

/** A running local stack (see {@link startLocalStack}). */
export interface LocalStack {
  /** Environment for functions, the CLI and SDK clients. */
  readonly env: LocalStackEnv;
  /** Endpoint URL of each service. */
  readonly endpoints: Readonly<Record<LocalService, string>>;
  readonly region: string;
  readonly account: string;
  readonly resourcePrefix: string;
  readonly payloadBucket: string;
  readonly stateDbTable: string;
  readonly workflowEventTopicArn: string;
  readonly publishTopicArn: string;
  readonly processQueueUrl: string;
  /**
   * The workflow metric log group, `<resourcePrefix>-workflow-event-metrics` (what the CDK stack
   * creates). Not in {@link LocalStack.env}: set `CIRRUS_WORKFLOW_LOG_GROUP` to it to turn the
   * metric events on.
   */
  readonly workflowLogGroup: string;
  /**
   * The process queue's dead-letter queue: a message received {@link PROCESS_MAX_RECEIVE_COUNT}
   * times without being deleted moves there, as with the deployed stack's redrive policy.
   */
  readonly processDeadLetterQueueUrl: string;
  /** Receives of a process message before it moves to the dead-letter queue (the deployed stack's count). */
  readonly processMaxReceiveCount: number;
  /** Temporary folder holding the S3 data (removed by {@link LocalStack.stop}). */
  readonly dataDir: string;
  readonly sns: LocalSnsView;
  readonly sqs: LocalSqsView;
  readonly logs: LocalLogsView;
  readonly sfn: LocalSfnView;
  /** Every status-change event emitted so far, oldest first. */
  readonly statusEvents: readonly StepFunctionsStatusChangeEvent[];
  /** Status events a subscriber failed to handle (after the configured attempts). */
  readonly deliveryFailures: readonly StatusEventDeliveryFailure[];
  /** SDK client settings for one service. */
  clientConfig(service: LocalService): LocalClientConfig;
  /**
   * Sets {@link LocalStack.env} on `process.env` (and forgets the handlers' cached runtime,
   * `shared/runtime`); returns a function restoring the previous values.
   */
  applyEnv(): () => void;
  /**
   * Creates state machine `<resourcePrefix>-<name>` with a real CreateStateMachine call and
   * returns its ARN. `definition` is an ASL object, ASL JSON text, or a path to a JSON file.
   *
   * @throws WorkflowDefinitionError when the file cannot be read or a `${Name}` token has no substitution.
   */
  registerWorkflow(name: string, definition: object | string, options?: RegisterWorkflowOptions): Promise<string>;
  /** Adds or replaces a stack-wide Lambda handler (function name or ARN). */
  setLambdaHandler(nameOrArn: string, handler: LocalLambdaHandler): void;
  /** Adds or replaces a stack-wide raw Task handler (state name or Task `Resource`). */
  setTaskHandler(stateNameOrResource: string, handler: LocalTaskHandler): void;
  /**
   * Subscribes to status-change events of ended executions. The stack awaits subscribers and
   * records their failures. Returns an unsubscribe function.
   */
  onStatusChange(subscriber: StatusChangeSubscriber): () => void;
  /**
   * Delivers every recorded delivery failure again to its subscriber (like an EventBridge
   * retry); failures that persist stay recorded. Resolves with how many still fail.
   */
  redeliverFailedStatusEvents(): Promise<number>;
  /**
   * Resolves once the execution ended and its status event was delivered to every subscriber.
   *
   * @throws UnknownExecutionError for an execution this stack never started.
   * @throws LocalStackTimeoutError after `timeoutMs` (default 30 s).
   */
  waitForExecution(executionArn: string, timeoutMs?: number): Promise<CompletedExecution>;
  /**
   * Resolves when no execution is running, no status event is being delivered and no task
   * handler is running. @throws LocalStackTimeoutError after `timeoutMs` (default 30 s).
   */
  waitForIdle(timeoutMs?: number): Promise<void>;
  /**
   * Aborts running executions (without status events), waits up to 5 s for running task
   * handlers and subscribers, closes every server and socket and removes the data folder.
   * Idempotent.
   */
  stop(): Promise<void>;
}

/** Counts asynchronous work (executions, deliveries, handler calls) so the stack can wait for it. */
class Activity {
  private count = 0;
  private waiters: (() => void)[] = [];

  begin(): void {
    this.count++;
  }

  end(): void {
    this.count--;
    if (this.count === 0) {
      // Let follow-up work that starts synchronously after this one register first.
      setImmediate(() => {
        if (this.count !== 0) return;
        const ws = this.waiters;
        this.waiters = [];
        for (const w of ws) w();
      });
    }
  }

  idle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** Races `p` against a timer that is always cleared. */
async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new LocalStackTimeoutError(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  httpServer?: http.Server;
}
type S3rverConstructor = new (options: {
  port: number;
  address: string;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string }[];
}) => S3rverInstance;
type Dynalite = (options: { createTableMs: number; deleteTableMs: number; updateTableMs: number }) => http.Server;

class LocalStackImpl implements LocalStack {
  readonly env: LocalStackEnv;
  readonly endpoints: Readonly<Record<LocalService, string>>;
  readonly workflowEventTopicArn: string;
  readonly publishTopicArn: string;
  readonly processQueueUrl: string;
  readonly workflowLogGroup: string;
  readonly processDeadLetterQueueUrl: string;
  readonly processMaxReceiveCount = PROCESS_MAX_RECEIVE_COUNT;
  readonly sfn: LocalSfnView;
  private readonly subscribers = new Set<StatusChangeSubscriber>();
  private readonly events: StepFunctionsStatusChangeEvent[] = [];
  private readonly eventsByArn = new Map<string, StepFunctionsStatusChangeEvent>();
  private readonly failures: StatusEventDeliveryFailure[] = [];
  private sfnClient?: SFNClient;
  private stopping?: Promise<void>;

  constructor(
    readonly region: string,
    readonly account: string,
    readonly resourcePrefix: string,
    readonly payloadBucket: string,
    readonly stateDbTable: string,
    readonly rootPrefix: string,
    readonly dataDir: string,
    private readonly servers: Record<LocalService, http.Server>,
    urls: Record<LocalService, string>,
    private readonly activity: Activity,
    private readonly handlers: HandlerRegistry,
    private readonly stepFunctions: LocalStepFunctions,
    readonly sns: LocalSns,
    readonly sqs: LocalSqs,
    readonly logs: LocalLogs,
    private readonly delivery: { maxAttempts: number; retryDelayMs: number },
    startQuota: TokenBucket | undefined,
  ) {
    this.endpoints = Object.freeze({ ...urls });
    this.workflowEventTopicArn = sns.createTopic(`${resourcePrefix}-workflow-event`);
    this.publishTopicArn = sns.createTopic(`${resourcePrefix}-publish`);
    this.workflowLogGroup = logs.createLogGroup(`${resourcePrefix}-workflow-event-metrics`);
    // As deployed: a message reported failed comes back after the queue's visibility timeout, and
    // moves to the dead-letter queue once received maxReceiveCount times.
    this.processDeadLetterQueueUrl = sqs.createQueue(`${resourcePrefix}-process-dead-letter`, { MessageRetentionPeriod: String(14 * 24 * 3600) });
    this.processQueueUrl = sqs.createQueue(`${resourcePrefix}-process`, {
      VisibilityTimeout: String(PROCESS_QUEUE_VISIBILITY_TIMEOUT_SECONDS),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: `arn:aws:sqs:${region}:${account}:${resourcePrefix}-process-dead-letter`,
        maxReceiveCount: PROCESS_MAX_RECEIVE_COUNT,
      }),
    });
    const sf = stepFunctions;
    this.sfn = {
      execution: (arn) => sf.execution(arn),
      executions: () => sf.listAll(),
      workflowArn: (workflow) => sf.stateMachineArn(`${resourcePrefix}-${workflow}`),
      startExecutionStats: () => startQuota?.stats() ?? { calls: 0, throttled: 0 },
    };
    this.env = {
      AWS_ENDPOINT_URL_S3: urls.s3,
      AWS_ENDPOINT_URL_DYNAMODB: urls.dynamodb,
      AWS_ENDPOINT_URL_SFN: urls.sfn,
      AWS_ENDPOINT_URL_SNS: urls.sns,
      AWS_ENDPOINT_URL_SQS: urls.sqs,
      AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: urls.logs,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      CIRRUS_PAYLOAD_BUCKET: payloadBucket,
      CIRRUS_PAYLOAD_ROOT_PREFIX: rootPrefix,
      CIRRUS_STATE_DB: stateDbTable,
      CIRRUS_BASE_WORKFLOW_ARN: `arn:aws:states:${region}:${account}:stateMachine:${resourcePrefix}-`,
      CIRRUS_WORKFLOW_EVENT_TOPIC_ARN: this.workflowEventTopicArn,
      CIRRUS_PUBLISH_TOPIC_ARN: this.publishTopicArn,
      CIRRUS_PROCESS_QUEUE_URL: this.processQueueUrl,
    };
  }

  get statusEvents(): readonly StepFunctionsStatusChangeEvent[] {
    return [...this.events];
  }

  get deliveryFailures(): readonly StatusEventDeliveryFailure[] {
    return [...this.failures];
  }

  clientConfig(service: LocalService): LocalClientConfig {
    return {
      endpoint: this.endpoints[service],
      region: this.region,
      credentials: { ...LOCAL_CREDENTIALS },
      ...(service === 's3' ? { forcePathStyle: true } : {}),
    };
  }

  applyEnv(): () => void {
    return applyStackEnv(this.env);
  }

  async registerWorkflow(name: string, definition: object | string, options: RegisterWorkflowOptions = {}): Promise<string> {
    this.assertRunning();
    let text: string;
    if (typeof definition === 'object') {
      text = JSON.stringify(definition);
    } else if (definition.trimStart().startsWith('{')) {
      text = definition;
    } else {
      try {
        text = await fs.readFile(definition, 'utf8');
      } catch (err) {
        throw new WorkflowDefinitionError(`cannot read workflow definition ${definition}: ${(err as Error).message}`, { cause: err });
      }
    }
    const { text: substituted, unresolved } = substitute(text, options.substitutions ?? {});
    if (unresolved.length > 0) {
      throw new WorkflowDefinitionError(`workflow ${name}: no substitution for ${unresolved.map((u) => `\${${u}}`).join(', ')}`);
    }
    const stateMachineName = `${this.resourcePrefix}-${name}`;
    this.handlers.setWorkflowHandlers(this.sfn.workflowArn(name), options);
    this.sfnClient ??= new SFNClient({ ...this.clientConfig('sfn'), maxAttempts: 1 });
    const out = await this.sfnClient.send(
      new CreateStateMachineCommand({
        name: stateMachineName,
        definition: substituted,
        roleArn: options.roleArn ?? `arn:aws:iam::${this.account}:role/${this.resourcePrefix}-local-sfn`,
      }),
    );
    return out.stateMachineArn ?? this.sfn.workflowArn(name);
  }

  setLambdaHandler(nameOrArn: string, handler: LocalLambdaHandler): void {
    this.handlers.setLambdaHandler(nameOrArn, handler);
  }

  setTaskHandler(stateNameOrResource: string, handler: LocalTaskHandler): void {
    this.handlers.setTaskHandler(stateNameOrResource, handler);
  }

  onStatusChange(subscriber: StatusChangeSubscriber): () => void {
    this.subscribers.add(subscriber);
    return () => {
      this.subscribers.delete(subscriber);
    };
  }

  /** Called by the Step Functions endpoint when an execution ends. */
  async executionEnded(e: ExecutionSnapshot): Promise<void> {
    const event = buildStatusChangeEvent(
      {
        executionArn: e.executionArn,
        stateMachineArn: e.stateMachineArn,
        name: e.name,
        status: e.status === 'RUNNING' ? 'ABORTED' : e.status,
        startDate: e.startDate,
        stopDate: e.stopDate ?? new Date(),
        input: e.input,
        output: e.output,
        error: e.error,
        cause: e.cause,
      },
      this.region,
      this.account,
    );
    this.events.push(event);
    this.eventsByArn.set(e.executionArn, event);
    await Promise.all([...this.subscribers].map((s) => this.deliver(s, event)));
  }

  private async deliver(subscriber: StatusChangeSubscriber, event: StepFunctionsStatusChangeEvent): Promise<boolean> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.delivery.maxAttempts; attempt++) {
      try {
        await subscriber(structuredClone(event));
        return true;
      } catch (err) {
        lastError = err;
        if (attempt < this.delivery.maxAttempts && !this.stopping) await sleep(this.delivery.retryDelayMs);
      }
    }
    this.failures.push({ event, subscriber, error: lastError, attempts: this.delivery.maxAttempts });
    return false;
  }

  async redeliverFailedStatusEvents(): Promise<number> {
    const pending = this.failures.splice(0);
    this.activity.begin();
    try {
      await Promise.all(pending.map((f) => this.deliver(f.subscriber, f.event)));
    } finally {
      this.activity.end();
    }
    return this.failures.length;
  }

  async waitForExecution(executionArn: string, timeoutMs = 30000): Promise<CompletedExecution> {
    const settled = this.stepFunctions.settled(executionArn);
    if (!settled) throw new UnknownExecutionError(executionArn);
    await withTimeout(settled, timeoutMs, `execution ${executionArn} did not end within ${timeoutMs} ms`);
    const snap = this.stepFunctions.execution(executionArn);
    const event = this.eventsByArn.get(executionArn);
    if (!snap || !event) throw new LocalStackStoppedError(`execution ${executionArn} was aborted by stop()`);
    return { ...snap, event };
  }

  async waitForIdle(timeoutMs = 30000): Promise<void> {
    await withTimeout(this.activity.idle(), timeoutMs, `the local stack did not become idle within ${timeoutMs} ms`);
  }

  private assertRunning(): void {
    if (this.stopping) throw new LocalStackStoppedError('the local stack is stopped');
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stepFunctions.shutdown();
      this.sqs.shutdown();
      await withTimeout(this.activity.idle(), 5000, 'in-flight work did not finish').catch(() => undefined);
      this.sfnClient?.destroy();
      await Promise.allSettled(Object.values(this.servers).map((s) => closeServer(s)));
      await fs.rm(this.dataDir, { recursive: true, force: true });
      dataDirs.delete(this.dataDir);
    })();
    return this.stopping;
  }
}

/** Data folders of the stacks not stopped yet, removed when the process exits (for example on Ctrl-C). */
const dataDirs = new Set<string>();

function removeOnExit(dir: string): void {
  if (dataDirs.size === 0 && !exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
    });
  }
  dataDirs.add(dir);
}
let exitHookInstalled = false;

/** The StartExecution token bucket the options ask for; none when the quota is turned off. */
function startExecutionQuota(quota: LocalStackOptions['startExecutionQuota']): TokenBucket | undefined {
  if (quota === false) return undefined;
  return new TokenBucket({
    burst: quota?.burst ?? START_EXECUTION_QUOTA.burst,
    refillPerSecond: quota?.refillPerSecond ?? START_EXECUTION_QUOTA.refillPerSecond,
  });
}

/**
 * Starts s3rver on loopback (objects under `dataDir`, `buckets` created); its server is pushed on
 * `started` as soon as it listens.
 */
async function startS3rver(port: number | undefined, dataDir: string, buckets: string[], started: http.Server[]): Promise<LoopbackServer> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3rver = require('s3rver') as S3rverConstructor;
  enableConditionalPuts();
  const s3 = new S3rver({
    port: port ?? 0,
    address: LOOPBACK,
    silent: true,
    directory: dataDir,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const addr = await s3.run();
  if (!s3.httpServer) throw new Error('s3rver did not expose its HTTP server');
  keepConnectionsAlive(s3.httpServer);
  started.push(s3.httpServer);
  return { server: s3.httpServer, port: addr.port, url: `http://${LOOPBACK}:${addr.port}` };
}

/**
 * Starts every server on loopback: s3rver ({@link startS3rver}), dynalite, and the Step Functions,
 * SNS, SQS and CloudWatch Logs stand-ins. Each server is pushed on `started` as soon as it exists,
 * so that a failure can close what did start.
 */
async function startServers(
  services: { stepFunctions: LocalStepFunctions; sns: LocalSns; sqs: LocalSqs; logs: LocalLogs },
  { ports, dataDir, buckets }: { ports: NonNullable<LocalStackOptions['ports']>; dataDir: string; buckets: string[] },
  started: http.Server[],
): Promise<{ urls: Record<LocalService, string>; servers: Record<LocalService, http.Server> }> {
  const { stepFunctions, sns, sqs, logs } = services;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynalite = require('dynalite') as Dynalite;
  const listen = async (server: http.Server, port: number | undefined): Promise<LoopbackServer> => {
    started.push(server);
    return listenLoopback(server, port ?? 0);
  };
  const starting = [
    startS3rver(ports.s3, dataDir, buckets, started),
    listen(dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }), ports.dynamodb),
    listen(http.createServer(stepFunctions.listener()), ports.sfn),
    listen(http.createServer(sns.listener()), ports.sns),
    listen(http.createServer(sqs.listener()), ports.sqs),
    listen(http.createServer(logs.listener()), ports.logs),
  ] as const;
  // Wait for every server, so that none is still starting when a failure cleans up.
  await Promise.allSettled(starting);
  const [s3, dynamodb, sfn, snsServer, sqsServer, logsServer] = await Promise.all(starting);
  sqs.setBaseUrl(sqsServer.url);
  const byService: Record<LocalService, LoopbackServer> = { s3, dynamodb, sfn, sns: snsServer, sqs: sqsServer, logs: logsServer };
  const of = <T>(pick: (x: LoopbackServer) => T): Record<LocalService, T> =>
    Object.fromEntries(Object.entries(byService).map(([k, v]) => [k, pick(v)])) as Record<LocalService, T>;
  return { urls: of((x) => x.url), servers: of((x) => x.server) };
}

/** How status-change events are delivered to update-state: attempts (at least 1) and the delay between them. */
function statusEventDelivery(delivery: LocalStackOptions['statusEventDelivery']): { maxAttempts: number; retryDelayMs: number } {
  return { maxAttempts: Math.max(1, delivery?.maxAttempts ?? 1), retryDelayMs: Math.max(0, delivery?.retryDelayMs ?? 100) };
}

/**
 * Starts the local stack: S3, DynamoDB, Step Functions, SNS, SQS and CloudWatch Logs on 127.0.0.1,
 * with the payload bucket, the StateDB table (schema from `shared/statedb-schema`), the
 * workflow-event and publish topics, the process queue and the workflow metric log group provisioned.
 *
 * @throws LocalStackStartError when a server cannot start or provisioning fails (everything
 * already started is stopped again).
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const region = options.region ?? DEFAULT_REGION;
  const account = options.account ?? '123456789012';
  const resourcePrefix = options.resourcePrefix ?? 'cirrus';
  const payloadBucket = options.payloadBucket ?? `${resourcePrefix}-payloads`;
  const stateDbTable = options.stateDbTable ?? `${resourcePrefix}-state`;
  const rootPrefix = normalizeRootPrefix(options.rootPrefix);
  const ports = options.ports ?? {};

  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cirrus-local-'));
  removeOnExit(dataDir);
  const started: http.Server[] = [];
  const activity = new Activity();
  const handlers = new HandlerRegistry(region, account, activity, options);
  const sns = new LocalSns(region, account);
  const sqs = new LocalSqs(region, account);
  const logs = new LocalLogs(region, account);
  let stack: LocalStackImpl | undefined;
  const startQuota = startExecutionQuota(options.startExecutionQuota);
  const stepFunctions = new LocalStepFunctions(
    region,
    account,
    handlers,
    (e) => (stack ? stack.executionEnded(e) : Promise.resolve()),
    activity,
    options.validateDefinitions ?? true,
    startQuota,
  );

  try {
    const { urls, servers } = await startServers({ stepFunctions, sns, sqs, logs }, { ports, dataDir, buckets: [payloadBucket, ...(options.extraBuckets ?? [])] }, started);
    await createStateTable(urls.dynamodb, region, stateDbTable);

    stack = new LocalStackImpl(
      region,
      account,
      resourcePrefix,
      payloadBucket,
      stateDbTable,
      rootPrefix,
      dataDir,
      servers,
      urls,
      activity,
      handlers,
      stepFunctions,
      sns,
      sqs,
      logs,
      statusEventDelivery(options.statusEventDelivery),
      startQuota,
    );
    return stack;
  } catch (err) {
    await Promise.allSettled(started.map((s) => closeServer(s)));
    await fs.rm(dataDir, { recursive: true, force: true });
    dataDirs.delete(dataDir);
    throw new LocalStackStartError(`the local stack failed to start: ${(err as Error).message}`, { cause: err });
  }
}

/** Creates the StateDB table from the shared schema and waits until it is ACTIVE. */
async function createStateTable(endpoint: string, region: string, tableName: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region, credentials: { ...LOCAL_CREDENTIALS }, maxAttempts: 1 });
  try {
    await client.send(new CreateTableCommand(createTableInput(tableName)));
    for (let i = 0; i < 200; i++) {
      const d = await client.send(new DescribeTableCommand({ TableName: tableName }));
      const indexesActive = (d.Table?.GlobalSecondaryIndexes ?? []).every((g) => g.IndexStatus === 'ACTIVE');
      if (d.Table?.TableStatus === 'ACTIVE' && indexesActive) return;
      await sleep(5);
    }
    throw new Error(`table ${tableName} did not become ACTIVE`);
  } finally {
    client.destroy();
  }
}

/**
 * Sets a stack environment on `process.env` and forgets the handlers' cached runtime (its clients)
 * so that the next invocation builds one from it; returns a function that restores the previous
 * environment. A session token or profile from the
 * developer's shell is removed meanwhile: it must not mix with the dummy keys.
 */
export function applyStackEnv(env: LocalStackEnv): () => void {
  const previous = new Map<string, string | undefined>();
  for (const [k, v] of Object.entries(env)) {
    previous.set(k, process.env[k]);
    process.env[k] = v;
  }
  for (const k of ['AWS_SESSION_TOKEN', 'AWS_PROFILE']) {
    previous.set(k, process.env[k]);
    delete process.env[k];
  }
  resetHandlerRuntime();
  return () => {
    for (const [k, v] of previous) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    resetHandlerRuntime();
  };
}
