/**
 * Everything a Cirrus deployment runs on: payload bucket, StateDB, queues, topics, the four
 * functions and the rule that feeds Step Functions status changes to update-state.
 * @module
 */
import { join } from 'node:path';
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BATCH_LOG_GROUP } from '../shared/batch';
import { ENV } from '../shared/config';
import { METRICS_SERVICE_ENV } from '../shared/metric-names';
import { STATE_DB_SCHEMA, type KeyAttribute } from '../shared/statedb-schema';
import { ConfigurationError } from '../shared/errors';
import { FINAL_STATUSES, type FinalStatus } from '../shared/update-state';
import { resolveCirrusConfig, type CirrusConfig, type CirrusConfigOptions } from './config';
import { assertBundles, defaultBundleDir, type LambdaName } from './lambda-bundles';
import { CirrusMonitoring } from './monitoring';
import { acknowledgeRule, acknowledgeWildcardResources } from './nag';
import { CirrusPayloadBucket } from './payload-bucket-construct';
import {
  PROCESS_BATCH_SIZE,
  PROCESS_MAX_RECEIVE_COUNT,
  PROCESS_QUEUE_VISIBILITY_TIMEOUT_SECONDS,
  PROCESS_TIMEOUT_SECONDS,
} from './process-limits';
import { CirrusWorkflow, type CirrusWorkflowOptions } from './workflow';
import { CirrusWorkflowMetricLog } from './workflow-metric-log';

export { PROCESS_BATCH_SIZE, PROCESS_MAX_RECEIVE_COUNT } from './process-limits';
/** Timeout of the process function; the process queue's visibility timeout is 6x this. */
export const PROCESS_TIMEOUT = Duration.seconds(PROCESS_TIMEOUT_SECONDS);
/** Visibility timeout of the process queue (AWS recommends at least 6x the function timeout). */
export const PROCESS_QUEUE_VISIBILITY_TIMEOUT = Duration.seconds(PROCESS_QUEUE_VISIBILITY_TIMEOUT_SECONDS);
/** Retention of both dead-letter queues. */
export const DEAD_LETTER_RETENTION = Duration.days(14);
/** Retries of EventBridge deliveries to update-state before the event is dead-lettered. */
export const UPDATE_STATE_RULE_RETRY_ATTEMPTS = 10;
/** Age after which EventBridge stops retrying a delivery to update-state. */
export const UPDATE_STATE_RULE_MAX_EVENT_AGE = Duration.hours(6);
/** Execution statuses that update-state handles (its own list, `FINAL_STATUSES`). */
export const FINAL_EXECUTION_STATUSES: readonly FinalStatus[] = FINAL_STATUSES;
/** Log retention of every function and workflow. */
export const LOG_RETENTION = logs.RetentionDays.ONE_MONTH;
/** The log group AWS Batch jobs write to, read by post-batch (its own constant, `BATCH_LOG_GROUP`). */
export const BATCH_JOB_LOG_GROUP: string = BATCH_LOG_GROUP;

/** Timeout of a task function added with {@link CirrusDeployment.addTaskFunction}, unless given. */
export const DEFAULT_TASK_FUNCTION_TIMEOUT = Duration.seconds(60);
/** Memory (MiB) of a task function added with {@link CirrusDeployment.addTaskFunction}, unless given. */
export const DEFAULT_TASK_FUNCTION_MEMORY_SIZE = 512;

/** Options of {@link CirrusDeployment.addTaskFunction}. */
export interface TaskFunctionOptions {
  /**
   * Description of the function.
   * @default `Workflow task <name>`
   */
  readonly description?: string;
  /**
   * Maximum duration of one invocation.
   * @default DEFAULT_TASK_FUNCTION_TIMEOUT (60 seconds)
   */
  readonly timeout?: Duration;
  /**
   * Memory of the function, in MiB.
   * @default DEFAULT_TASK_FUNCTION_MEMORY_SIZE (512)
   */
  readonly memorySize?: number;
}

/** Props of {@link CirrusDeployment}. */
export interface CirrusDeploymentProps {
  /**
   * The configuration; each missing setting takes the default of the context key of the same
   * name, and every value is validated like the context (`resolveCirrusConfig`). A validated
   * `CirrusConfig` (from `readCirrusConfig`) is accepted as is.
   * @default - every setting at its default (see `CONTEXT_KEY_DOCS`)
   */
  readonly config?: CirrusConfigOptions;
  /**
   * An existing payload bucket (`s3.IBucket`). The deployment grants its functions access under
   * `<root>/` but adds no lifecycle rule: synth warns that the operator must expire `<root>/tmp/`.
   * Excludes `config.payloadBucketName`.
   * @default - the bucket named by `config.payloadBucketName`, else a bucket is created
   */
  readonly existingBucket?: s3.IBucket;
  /**
   * Directory holding `<name>/index.js` for every function (built by `npm run build`).
   * @default `<package root>/dist/lambdas` (shipped in the package)
   */
  readonly lambdaBundleDir?: string;
  /**
   * Called with the imported-bucket warning, besides the synth annotation.
   * @default console.warn
   */
  readonly warn?: (message: string) => void;
}

/** Per-function settings. */
interface FunctionSpec {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly environment: Record<string, string>;
}

/**
 * Grants `sns:Publish` on the topic only. The topics use the AWS managed key `alias/aws/sns`,
 * whose key policy already lets every principal of the account use it through SNS, so no KMS
 * statement is needed (`Topic.grantPublish` would add `kms:GenerateDataKey*` on `key/*`).
 */
function grantPublish(topic: sns.ITopic, grantee: iam.IGrantable): iam.Grant {
  return iam.Grant.addToPrincipal({ grantee, actions: ['sns:Publish'], resourceArns: [topic.topicArn] });
}

function attributeType(a: KeyAttribute): dynamodb.Attribute {
  const types: Record<KeyAttribute['type'], dynamodb.AttributeType> = { S: dynamodb.AttributeType.STRING };
  return { name: a.name, type: types[a.type] };
}

/** The StateDB table (`StateDb` in `scope`), from the shared schema. */
function createStateDb(scope: Construct): dynamodb.Table {
  const schema = STATE_DB_SCHEMA;
  const table = new dynamodb.Table(scope, 'StateDb', {
    partitionKey: attributeType(schema.partitionKey),
    sortKey: attributeType(schema.sortKey),
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  for (const gsi of schema.globalSecondaryIndexes) {
    table.addGlobalSecondaryIndex({
      indexName: gsi.indexName,
      partitionKey: attributeType(gsi.partitionKey),
      sortKey: attributeType(gsi.sortKey),
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }
  return table;
}

/** A dead-letter queue: 14 days' retention, SSE-SQS, TLS only. */
function createDeadLetterQueue(scope: Construct, id: string): sqs.Queue {
  return new sqs.Queue(scope, id, {
    retentionPeriod: DEAD_LETTER_RETENTION,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
  });
}

/**
 * The Cirrus system in one construct. Least-privilege IAM throughout: payload objects only under
 * `<root>/`, `states:StartExecution` only on `<resourcePrefix>-*` state machines,
 * `states:DescribeExecution` only on their executions, the StateDB table and its indexes only.
 */
export class CirrusDeployment extends Construct {
  /** The configuration this deployment was built from. */
  readonly config: CirrusConfig;
  /** The payload bucket. */
  readonly payload: CirrusPayloadBucket;
  /** The StateDB table: one item per payload id (README, "StateDB"). */
  readonly stateDb: dynamodb.Table;
  /** Queue feeding `process`. */
  readonly processQueue: sqs.Queue;
  /** Dead-letter queue of the process queue. */
  readonly processDeadLetterQueue: sqs.Queue;
  /** Dead-letter queue of update-state (undeliverable and failed status-change events). */
  readonly updateStateDeadLetterQueue: sqs.Queue;
  /** Workflow events (`CIRRUS_WORKFLOW_EVENT_TOPIC_ARN`). */
  readonly workflowEventTopic: sns.Topic;
  /** Output items of successful workflows (`CIRRUS_PUBLISH_TOPIC_ARN`). */
  readonly publishTopic: sns.Topic;
  /** Workflow metric log group and Cirrus's metric filters (`CIRRUS_WORKFLOW_LOG_GROUP`). */
  readonly workflowMetricLog: CirrusWorkflowMetricLog;
  /** The functions by name. */
  readonly functions: Readonly<Record<LambdaName, lambda.Function>>;
  /** Directory of the function bundles. */
  private readonly bundleDir: string;
  /** Environment every payload-handling function gets (bucket, root prefix, reference buckets). */
  private payloadEnv: Record<string, string> = {};
  /** The EventBridge rule feeding update-state. */
  readonly updateStateRule: events.Rule;
  /** `arn:<partition>:states:<region>:<account>:stateMachine:<resourcePrefix>-` (`CIRRUS_BASE_WORKFLOW_ARN`). */
  readonly baseWorkflowArn: string;
  /** The workflows added with {@link addWorkflow}, by name. */
  readonly workflows = new Map<string, CirrusWorkflow>();
  /** Alarms, alarm topic and dashboard (see `config.monitoring`). */
  readonly monitoring: CirrusMonitoring;

  constructor(scope: Construct, id: string, props: CirrusDeploymentProps = {}) {
    super(scope, id);
    const config = resolveCirrusConfig(props.config);
    if (props.existingBucket !== undefined && config.payloadBucketName !== undefined) {
      throw new ConfigurationError('give either existingBucket or config.payloadBucketName, not both');
    }
    this.config = config;
    const prefix = config.resourcePrefix;
    this.bundleDir = assertBundles(props.lambdaBundleDir ?? defaultBundleDir());

    // Every construct below keeps its scope (this) and id, so the logical ids stay those of the
    // deployed stacks; the helpers are called in the order the constructs were always created.
    this.payload = new CirrusPayloadBucket(this, 'PayloadBucket', {
      rootPrefix: config.payloadRootPrefix,
      tmpExpirationDays: config.tmpExpirationDays,
      existingBucket: props.existingBucket,
      existingBucketName: config.payloadBucketName,
      referenceBuckets: config.referenceBuckets,
      warn: props.warn,
    });
    this.stateDb = createStateDb(this);

    // Queues.
    this.processDeadLetterQueue = createDeadLetterQueue(this, 'ProcessDeadLetterQueue');
    this.processQueue = new sqs.Queue(this, 'ProcessQueue', {
      visibilityTimeout: PROCESS_QUEUE_VISIBILITY_TIMEOUT,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.processDeadLetterQueue, maxReceiveCount: PROCESS_MAX_RECEIVE_COUNT },
    });
    this.updateStateDeadLetterQueue = createDeadLetterQueue(this, 'UpdateStateDeadLetterQueue');
    // Topics, encrypted with the AWS managed SNS key (publishers are this stack's functions).
    const snsKey = kms.Alias.fromAliasName(this, 'SnsManagedKey', 'alias/aws/sns');
    this.workflowEventTopic = new sns.Topic(this, 'WorkflowEventTopic', { enforceSSL: true, masterKey: snsKey });
    this.publishTopic = new sns.Topic(this, 'PublishTopic', { enforceSSL: true, masterKey: snsKey });
    this.workflowMetricLog = new CirrusWorkflowMetricLog(this, 'WorkflowMetricLog', { resourcePrefix: prefix });

    this.baseWorkflowArn = Stack.of(this).formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: `${prefix}-`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    // Functions, then what each may do.
    this.payloadEnv = this.payloadEnvironment();
    const fns = {} as Record<LambdaName, lambda.Function>;
    for (const spec of this.functionSpecs()) fns[spec.name as LambdaName] = this.makeFunction(spec, this.bundleDir);
    this.functions = fns;
    for (const fn of Object.values(fns)) this.payload.grantPayloadReadWrite(fn);
    this.wireProcess(fns.process);
    this.wireUpdateState(fns['update-state']);
    this.updateStateRule = this.createUpdateStateRule(fns['update-state']);
    this.wirePostBatch(fns['post-batch']);

    this.monitoring = this.createMonitoring();
  }

  /** Alarms, alarm topic and dashboard of the queues and functions (workflows are added later). */
  private createMonitoring(): CirrusMonitoring {
    const fns = this.functions;
    return new CirrusMonitoring(this, 'Monitoring', {
      resourcePrefix: this.config.resourcePrefix,
      processQueue: this.processQueue,
      processDeadLetterQueue: this.processDeadLetterQueue,
      updateStateDeadLetterQueue: this.updateStateDeadLetterQueue,
      processFunction: fns.process,
      updateStateFunction: fns['update-state'],
      otherFunctions: { 'pre-batch': fns['pre-batch'], 'post-batch': fns['post-batch'] },
      config: this.config.monitoring,
    });
  }

  /** The environment every payload-handling function gets (README, "Configuration"): bucket, root prefix, reference buckets. */
  private payloadEnvironment(): Record<string, string> {
    const payloadEnv: Record<string, string> = {
      [ENV.payloadBucket]: this.payload.bucket.bucketName,
      [ENV.rootPrefix]: this.payload.rootPrefix,
    };
    if (this.config.referenceBuckets.length > 0) payloadEnv[ENV.referenceBuckets] = this.config.referenceBuckets.join(',');
    return payloadEnv;
  }

  /** The four functions of the deployment, in the order they are created. */
  private functionSpecs(): FunctionSpec[] {
    const payloadEnv = this.payloadEnv;
    const stateEnv = {
      ...payloadEnv,
      [ENV.stateDb]: this.stateDb.tableName,
      [ENV.baseWorkflowArn]: this.baseWorkflowArn,
      [ENV.workflowEventTopicArn]: this.workflowEventTopic.topicArn,
      // The `service` dimension of the workflow metrics: the deployment.
      [METRICS_SERVICE_ENV]: this.config.resourcePrefix,
      [ENV.workflowLogGroup]: this.workflowMetricLog.logGroup.logGroupName,
    };
    return [
      {
        id: 'Process',
        name: 'process',
        description: 'Claims payloads from the process queue and starts their workflows',
        timeout: PROCESS_TIMEOUT,
        memorySize: 512,
        environment: stateEnv,
      },
      {
        id: 'UpdateState',
        name: 'update-state',
        description: 'Records workflow results in the StateDB, stores outputs, publishes items and chains payloads',
        timeout: Duration.seconds(120),
        memorySize: 512,
        environment: {
          ...stateEnv,
          [ENV.publishTopicArn]: this.publishTopic.topicArn,
          [ENV.processQueueUrl]: this.processQueue.queueUrl,
        },
      },
      {
        id: 'PreBatch',
        name: 'pre-batch',
        description: 'Stores a payload for an AWS Batch task and returns its url and url_out',
        timeout: Duration.seconds(60),
        memorySize: 256,
        environment: payloadEnv,
      },
      {
        id: 'PostBatch',
        name: 'post-batch',
        description: 'Reads the output of an AWS Batch task, or raises the failed job’s error',
        timeout: Duration.seconds(60),
        memorySize: 256,
        environment: payloadEnv,
      },
    ];
  }

  /** process: SQS source, StateDB, start executions of this deployment's state machines only. */
  private wireProcess(processFn: lambda.Function): void {
    processFn.addEventSource(
      new SqsEventSource(this.processQueue, {
        batchSize: PROCESS_BATCH_SIZE,
        reportBatchItemFailures: true,
        maxConcurrency: this.config.processMaxConcurrency,
      }),
    );
    this.grantStateDb(processFn);
    grantPublish(this.workflowEventTopic, processFn);
    this.workflowMetricLog.grantWrite(processFn);
    const startExecutionArn = `${this.baseWorkflowArn}*`;
    processFn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [startExecutionArn] }),
    );
    acknowledgeWildcardResources(
      processFn.role!,
      [startExecutionArn],
      'process starts the workflow named in each payload; workflows are the <resourcePrefix>-* state machines.',
    );
  }

  /** update-state: StateDB, outputs, events, chaining, and reading execution input/output. */
  private wireUpdateState(updateState: lambda.Function): void {
    this.grantStateDb(updateState);
    grantPublish(this.workflowEventTopic, updateState);
    this.workflowMetricLog.grantWrite(updateState);
    grantPublish(this.publishTopic, updateState);
    this.processQueue.grantSendMessages(updateState);
    const executionArn = Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${this.config.resourcePrefix}-*:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    updateState.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['states:DescribeExecution'], resources: [executionArn] }),
    );
    acknowledgeWildcardResources(
      updateState.role!,
      [executionArn],
      'update-state reads the input/output of any execution of the <resourcePrefix>-* state machines when the event omits them.',
    );
  }

  /** The EventBridge rule sending the final status changes of this deployment's workflows to update-state. */
  private createUpdateStateRule(updateState: lambda.Function): events.Rule {
    return new events.Rule(this, 'UpdateStateRule', {
      description: `Step Functions status changes of the ${this.config.resourcePrefix}-* workflows, for update-state`,
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          status: [...FINAL_EXECUTION_STATUSES],
          stateMachineArn: events.Match.prefix(this.baseWorkflowArn),
        },
      },
      targets: [
        new targets.LambdaFunction(updateState, {
          deadLetterQueue: this.updateStateDeadLetterQueue,
          retryAttempts: UPDATE_STATE_RULE_RETRY_ATTEMPTS,
          maxEventAge: UPDATE_STATE_RULE_MAX_EVENT_AGE,
        }),
      ],
    });
  }

  /** post-batch reads the log of the failed Batch job. */
  private wirePostBatch(postBatch: lambda.Function): void {
    const batchLogStreams = Stack.of(this).formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: `${BATCH_JOB_LOG_GROUP}:log-stream:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    postBatch.addToRolePolicy(new iam.PolicyStatement({ actions: ['logs:GetLogEvents'], resources: [batchLogStreams] }));
    acknowledgeWildcardResources(
      postBatch.role!,
      [batchLogStreams],
      'Batch job log streams are named per job at run time; access is limited to the /aws/batch/job log group.',
    );
  }

  /**
   * Adds a workflow (state machine `<resourcePrefix>-<name>`) with the payload bucket wired in.
   */
  addWorkflow(props: CirrusWorkflowOptions): CirrusWorkflow {
    if (this.workflows.has(props.name)) throw new Error(`workflow "${props.name}" is already defined`);
    const wf = new CirrusWorkflow(this, `Workflow-${props.name}`, {
      ...props,
      resourcePrefix: this.config.resourcePrefix,
      payloadBucket: this.payload,
    });
    this.workflows.set(props.name, wf);
    this.monitoring.addWorkflow(wf);
    return wf;
  }

  private grantStateDb(fn: lambda.Function): iam.Grant {
    const grant = this.stateDb.grantReadWriteData(fn);
    acknowledgeWildcardResources(
      fn.role!,
      [`${this.stateDb.tableArn}/index/*`],
      'Access to the StateDB indexes (state_updated, updated) of this table only, as generated by grantReadWriteData.',
    );
    return grant;
  }

  /**
   * Adds a workflow task function from the bundle `<bundleDir>/<name>/index.js` (for example one
   * written with `lambdaTask`): nodejs22.x/arm64, the payload environment, payload read/write under
   * `<root>/`, and its own log group. Pass it to {@link addWorkflow} in `lambdas` so the state
   * machine may invoke it.
   */
  addTaskFunction(id: string, name: string, options: TaskFunctionOptions = {}): lambda.Function {
    assertBundles(this.bundleDir, [name]);
    const fn = this.makeFunction(
      {
        id,
        name,
        description: options.description ?? `Workflow task ${name}`,
        timeout: options.timeout ?? DEFAULT_TASK_FUNCTION_TIMEOUT,
        memorySize: options.memorySize ?? DEFAULT_TASK_FUNCTION_MEMORY_SIZE,
        environment: this.payloadEnv,
      },
      this.bundleDir,
    );
    this.payload.grantPayloadReadWrite(fn);
    return fn;
  }

  private makeFunction(spec: FunctionSpec, bundleDir: string): lambda.Function {
    const logGroup = new logs.LogGroup(this, `${spec.id}Logs`, {
      retention: LOG_RETENTION,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // A role of our own instead of AWSLambdaBasicExecutionRole: logs only to this function's group.
    const role = new iam.Role(this, `${spec.id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${this.config.resourcePrefix} ${spec.name} function`,
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    const isUpdateState = spec.name === 'update-state';
    const fn = new lambda.Function(this, spec.id, {
      description: spec.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(join(bundleDir, spec.name)),
      role,
      logGroup,
      timeout: spec.timeout,
      memorySize: spec.memorySize,
      environment: spec.environment,
      // update-state is invoked asynchronously by EventBridge: failed invocations (after Lambda's
      // own retries) go to the same dead-letter queue as undeliverable events.
      ...(isUpdateState ? { deadLetterQueue: this.updateStateDeadLetterQueue, retryAttempts: 2 } : {}),
    });
    acknowledgeRule(
      fn,
      'AwsSolutions-L1',
      'The bundles are built for Node.js 22 (scripts/build.mjs, target node22); nodejs22.x is the tested runtime.',
    );
    return fn;
  }
}
