/**
 * The Lambda handlers' composition root: one validated configuration read from the environment the
 * caller gives ({@link loadRuntimeConfig}; the handlers give the process environment) and what is
 * built from it ({@link createRuntime}): the SDK clients of its region, the payload bucket, the
 * StateDB, the workflow event publishers and the dependencies of `processEvent` and `updateState`.
 * Handlers pass these to the shared functions, which read no environment and create no client.
 * @module
 */
import { clientSettingsFromEnv, createClients, type ClientSettings, type Clients } from './clients';
import { ENV, normalizeRootPrefix, optionalEnv, parseBucketList, payloadBucketFromEnv, positiveIntFromEnv, requireValue, type Env } from './config';
import { WorkflowEventPublisher } from './events';
import type { Logger } from './logger';
import { PayloadBucket } from './payload-bucket';
import { DEFAULT_PROCESS_CONCURRENCY, type ProcessDeps } from './process';
import { StateDb } from './statedb';
import type { UpdateStateDeps } from './update-state';
import { WorkflowMetricLogger } from './workflow-metric-log';

/** The configuration of the functions, read once from the environment (README, "Configuration"). */
export interface RuntimeConfig {
  /** The region and client settings (`AWS_REGION`, custom endpoints). */
  readonly clients: ClientSettings;
  /** `CIRRUS_PAYLOAD_BUCKET`. */
  readonly payloadBucket: string;
  /** `CIRRUS_PAYLOAD_ROOT_PREFIX`, normalised. */
  readonly rootPrefix: string;
  /** `CIRRUS_REFERENCE_BUCKETS`. */
  readonly referenceBuckets: string[];
  /** `CIRRUS_STATE_DB`; required by the functions that use the StateDB ({@link Runtime.stateDb}). */
  readonly stateTable: string | undefined;
  /** `CIRRUS_BASE_WORKFLOW_ARN`; required by process ({@link Runtime.baseWorkflowArn}). */
  readonly baseWorkflowArn: string | undefined;
  /** `CIRRUS_WORKFLOW_EVENT_TOPIC_ARN`; unset disables the workflow events. */
  readonly workflowEventTopicArn: string | undefined;
  /** `CIRRUS_PUBLISH_TOPIC_ARN`. */
  readonly publishTopicArn: string | undefined;
  /** `CIRRUS_PROCESS_QUEUE_URL`. */
  readonly processQueueUrl: string | undefined;
  /** `CIRRUS_WORKFLOW_LOG_GROUP`. */
  readonly workflowLogGroup: string | undefined;
  /** `CIRRUS_PROCESS_CONCURRENCY`, or its default. */
  readonly processConcurrency: number;
}

/**
 * Reads and validates the configuration with the rules of `shared/config.ts`.
 * @throws UndefinedPayloadBucketError when `CIRRUS_PAYLOAD_BUCKET` is missing or empty.
 * @throws ConfigurationError when a value is malformed (root prefix, concurrency).
 */
export function loadRuntimeConfig(env: Env): RuntimeConfig {
  return {
    clients: clientSettingsFromEnv(env),
    payloadBucket: payloadBucketFromEnv(env),
    rootPrefix: normalizeRootPrefix(env[ENV.rootPrefix]),
    referenceBuckets: parseBucketList(env[ENV.referenceBuckets]),
    stateTable: optionalEnv(ENV.stateDb, env),
    baseWorkflowArn: optionalEnv(ENV.baseWorkflowArn, env),
    // Any non-empty value, untrimmed (as the functions have always read these three).
    workflowEventTopicArn: env[ENV.workflowEventTopicArn] || undefined,
    publishTopicArn: env[ENV.publishTopicArn] || undefined,
    processQueueUrl: env[ENV.processQueueUrl] || undefined,
    workflowLogGroup: optionalEnv(ENV.workflowLogGroup, env),
    processConcurrency: positiveIntFromEnv(ENV.processConcurrency, DEFAULT_PROCESS_CONCURRENCY, env),
  };
}

/** What the handlers use: the configuration and everything built from it. */
export interface Runtime {
  readonly config: RuntimeConfig;
  readonly clients: Clients;
  readonly bucket: PayloadBucket;
  /** The StateDB. @throws ConfigurationError when `CIRRUS_STATE_DB` is not set. */
  stateDb(): StateDb;
  /** The base workflow ARN. @throws ConfigurationError when `CIRRUS_BASE_WORKFLOW_ARN` is not set. */
  baseWorkflowArn(): string;
  /** A new publisher of workflow events (one per invocation: it counts what it announced). */
  eventPublisher(logger?: Logger): WorkflowEventPublisher;
  /**
   * Everything `processEvent` needs, with a new event publisher (one per invocation).
   * @throws ConfigurationError when `CIRRUS_STATE_DB` or `CIRRUS_BASE_WORKFLOW_ARN` is not set.
   */
  processDeps(logger: Logger): ProcessDeps;
  /**
   * Everything `updateState` needs, with a new event publisher (one per invocation).
   * @throws ConfigurationError when `CIRRUS_STATE_DB` is not set.
   */
  updateStateDeps(logger: Logger): UpdateStateDeps;
  /** Destroys the clients. */
  destroy(): void;
}

/** Builds the clients (in the configuration's region), the payload bucket, the StateDB and the publishers. */
export function createRuntime(config: RuntimeConfig): Runtime {
  const clients = createClients(config.clients);
  const bucket = new PayloadBucket(config.payloadBucket, config.rootPrefix, { referenceBuckets: config.referenceBuckets, s3: clients.s3 });
  const region = config.clients.region;
  let stateDb: StateDb | undefined;
  const runtime: Runtime = {
    config,
    clients,
    bucket,
    stateDb: () => (stateDb ??= new StateDb(requireValue(ENV.stateDb, config.stateTable), clients.dynamoDoc)),
    baseWorkflowArn: () => requireValue(ENV.baseWorkflowArn, config.baseWorkflowArn),
    eventPublisher: (logger) =>
      new WorkflowEventPublisher(config.workflowEventTopicArn, {
        sns: () => clients.sns,
        region,
        logger,
        metrics: config.workflowLogGroup ? new WorkflowMetricLogger(config.workflowLogGroup, logger, () => clients.logs) : undefined,
      }),
    processDeps: (logger) => ({
      bucket,
      stateDb: runtime.stateDb(),
      sfn: clients.sfn,
      events: runtime.eventPublisher(logger),
      baseWorkflowArn: runtime.baseWorkflowArn(),
      concurrency: config.processConcurrency,
      region,
      logger,
    }),
    updateStateDeps: (logger) => ({
      bucket,
      stateDb: runtime.stateDb(),
      sfn: clients.sfn,
      sns: clients.sns,
      sqs: clients.sqs,
      events: runtime.eventPublisher(logger),
      logger,
      publishTopicArn: config.publishTopicArn,
      processQueueUrl: config.processQueueUrl,
    }),
    destroy: () => clients.destroy(),
  };
  return runtime;
}

/** The environment variables a runtime depends on: the project's and the SDK's (region, endpoints, credentials). */
function runtimeKey(env: Env): string {
  return JSON.stringify(
    Object.keys(env)
      .filter((k) => k.startsWith('CIRRUS_') || k.startsWith('AWS_'))
      .sort()
      .map((k) => [k, env[k]]),
  );
}

let cached: { key: string; runtime: Runtime } | undefined;

/**
 * Forgets the cached handler runtime (destroying its clients), so the next invocation builds a new
 * one. Tests use it for fresh clients, the local stack when it changes the environment; Lambda code
 * never needs it.
 */
export function resetHandlerRuntime(): void {
  cached?.runtime.destroy();
  cached = undefined;
}

/**
 * The handlers' runtime: built on the first invocation and kept for the sandbox's life. In Lambda
 * the environment never changes, so it is built once; the cache is keyed on the `CIRRUS_*` and
 * `AWS_*` values it was built from so that tests which change the environment (or the local
 * stack's endpoints) between invocations get a runtime built from the new one, as each new Lambda
 * configuration would. {@link resetHandlerRuntime} forgets it. A configuration error is thrown on
 * every invocation (nothing is cached), so the handler rejects with it.
 */
export function handlerRuntime(env: Env): Runtime {
  const key = runtimeKey(env);
  if (cached?.key === key) return cached.runtime;
  const runtime = createRuntime(loadRuntimeConfig(env));
  cached?.runtime.destroy();
  cached = { key, runtime };
  return runtime;
}
