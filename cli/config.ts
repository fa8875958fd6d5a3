/**
 * Configuration of the `cirrus` command: the payload bucket, root prefix and StateDB table, from
 * flags, a CloudFormation stack's outputs (`--stack`) or the environment (README, "Configuration"), and
 * the AWS clients the commands use.
 *
 * Precedence, per value: flag, then stack output, then environment variable.
 * @module
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DEFAULT_REGION, ENV, normalizeRootPrefix, type Env } from '../shared/config';
import { ConfigurationError, errorMessage, errorName } from '../shared/errors';
import { PayloadBucket } from '../shared/payload-bucket';
import { STACK_OUTPUTS } from '../shared/stack-outputs';
import { StateDb } from '../shared/statedb';

export { DEFAULT_REGION };

/** The global options every command accepts. */
export interface GlobalOptions {
  /** Payload bucket (overrides `CIRRUS_PAYLOAD_BUCKET`). */
  bucket?: string;
  /** Root prefix (overrides `CIRRUS_PAYLOAD_ROOT_PREFIX`). */
  rootPrefix?: string;
  /** StateDB table (overrides `CIRRUS_STATE_DB`). */
  table?: string;
  /** CloudFormation stack whose outputs configure the bucket, prefix and table. */
  stack?: string;
  /** Process queue URL (overrides `CIRRUS_PROCESS_QUEUE_URL`). */
  queueUrl?: string;
  /** AWS region (overrides `AWS_REGION` / `AWS_DEFAULT_REGION`). */
  region?: string;
  /** Compact JSON output. */
  raw?: boolean;
}

/** Clients a caller (a test, the demo) may supply instead of the ones built from the environment. */
export interface ClientOverrides {
  /** S3 client for objects (GetObject, HeadObject, ListObjectsV2). */
  s3?: S3Client;
  /**
   * S3 client for bucket configuration (GetBucketLifecycleConfiguration, GetBucketVersioning);
   * defaults to {@link ClientOverrides.s3}.
   */
  bucketConfigS3?: S3Client;
  /** DynamoDB document client for the StateDB. */
  dynamo?: DynamoDBDocumentClient;
  /** CloudFormation client for `--stack`. */
  cloudFormation?: CloudFormationClient;
  /** Step Functions client (get-execution). */
  sfn?: SFNClient;
  /** SQS client (process, run-workflow, rerun). */
  sqs?: SQSClient;
}

function nonEmpty(v: string | undefined): string | undefined {
  const t = v?.trim();
  return t ? t : undefined;
}

/**
 * The AWS clients of one CLI run, created lazily from an environment (endpoints from
 * `AWS_ENDPOINT_URL_<SERVICE>` / `AWS_ENDPOINT_URL`, credentials from `AWS_ACCESS_KEY_ID` /
 * `AWS_SECRET_ACCESS_KEY` when set, else the SDK's default chain). S3 uses path-style addressing
 * when a custom endpoint is set. {@link CliClients.destroy} releases only the clients created here.
 */
export class CliClients {
  private created: { destroy(): void }[] = [];
  private s3Client: S3Client | undefined;
  private bucketConfigClient: S3Client | undefined;
  private dynamoClient: DynamoDBDocumentClient | undefined;
  private cfnClient: CloudFormationClient | undefined;
  private sfnClient: SFNClient | undefined;
  private sqsClient: SQSClient | undefined;

  constructor(
    private readonly env: Env = process.env,
    /** Region for every client; `undefined` lets the SDK resolve it (profile, …). */
    readonly region: string | undefined = nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION),
    private readonly overrides: ClientOverrides = {},
  ) {}

  private base(service: string): { region?: string; endpoint?: string; credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } } {
    const endpoint = nonEmpty(this.env[`AWS_ENDPOINT_URL_${service}`]) ?? nonEmpty(this.env.AWS_ENDPOINT_URL);
    const accessKeyId = nonEmpty(this.env.AWS_ACCESS_KEY_ID);
    const secretAccessKey = nonEmpty(this.env.AWS_SECRET_ACCESS_KEY);
    const sessionToken = nonEmpty(this.env.AWS_SESSION_TOKEN);
    return {
      ...(this.region ? { region: this.region } : {}),
      ...(endpoint ? { endpoint } : {}),
      ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } } : {}),
    };
  }

  private track<T extends { destroy(): void }>(client: T): T {
    this.created.push(client);
    return client;
  }

  /** S3 client for payload objects. */
  get s3(): S3Client {
    if (this.overrides.s3) return this.overrides.s3;
    if (!this.s3Client) {
      const opts = this.base('S3');
      this.s3Client = this.track(new S3Client({ ...opts, forcePathStyle: opts.endpoint !== undefined }));
    }
    return this.s3Client;
  }

  /** S3 client for bucket configuration reads (lifecycle, versioning). */
  get bucketConfigS3(): S3Client {
    if (this.overrides.bucketConfigS3) return this.overrides.bucketConfigS3;
    this.bucketConfigClient ??= this.s3;
    return this.bucketConfigClient;
  }

  /** DynamoDB document client for the StateDB. */
  get dynamo(): DynamoDBDocumentClient {
    if (this.overrides.dynamo) return this.overrides.dynamo;
    if (!this.dynamoClient) {
      const base = this.track(new DynamoDBClient(this.base('DYNAMODB')));
      this.dynamoClient = DynamoDBDocumentClient.from(base, { marshallOptions: { removeUndefinedValues: true } });
    }
    return this.dynamoClient;
  }

  /** CloudFormation client for `--stack`. */
  get cloudFormation(): CloudFormationClient {
    if (this.overrides.cloudFormation) return this.overrides.cloudFormation;
    this.cfnClient ??= this.track(new CloudFormationClient(this.base('CLOUDFORMATION')));
    return this.cfnClient;
  }

  /** Step Functions client (DescribeExecution, GetExecutionHistory). */
  get sfn(): SFNClient {
    if (this.overrides.sfn) return this.overrides.sfn;
    this.sfnClient ??= this.track(new SFNClient(this.base('SFN')));
    return this.sfnClient;
  }

  /** SQS client for the process queue. */
  get sqs(): SQSClient {
    if (this.overrides.sqs) return this.overrides.sqs;
    this.sqsClient ??= this.track(new SQSClient(this.base('SQS')));
    return this.sqsClient;
  }

  /** Releases the clients this object created (never the overrides). */
  destroy(): void {
    for (const c of this.created) c.destroy();
    this.created = [];
    this.s3Client = this.bucketConfigClient = undefined;
    this.dynamoClient = undefined;
    this.cfnClient = undefined;
    this.sfnClient = undefined;
    this.sqsClient = undefined;
  }
}

/** The resolved configuration every command function receives. */
export interface CliConfig {
  /** Payload bucket name, when configured. */
  readonly bucketName: string | undefined;
  /** Normalised root prefix (default `cirrus`). */
  readonly rootPrefix: string;
  /** StateDB table name, when configured. */
  readonly tableName: string | undefined;
  /** The process queue URL, when configured. */
  readonly queueUrl?: string;
  /** The stack the values came from, if `--stack` was used. */
  readonly stackName?: string;
  /** AWS clients. */
  readonly clients: CliClients;
}

/** Values for {@link createConfig}. */
export interface ConfigValues {
  bucketName?: string;
  rootPrefix?: string;
  tableName?: string;
  queueUrl?: string;
  stackName?: string;
}

/**
 * Builds a configuration from explicit values (for the demo and tests).
 * @throws ConfigurationError when the root prefix is malformed.
 */
export function createConfig(values: ConfigValues, clients: CliClients = new CliClients()): CliConfig {
  return {
    bucketName: nonEmpty(values.bucketName),
    rootPrefix: normalizeRootPrefix(nonEmpty(values.rootPrefix)),
    tableName: nonEmpty(values.tableName),
    ...(nonEmpty(values.queueUrl) ? { queueUrl: nonEmpty(values.queueUrl) } : {}),
    ...(values.stackName ? { stackName: values.stackName } : {}),
    clients,
  };
}

/** Outputs of a CloudFormation stack, by key. */
export async function readStackOutputs(client: CloudFormationClient, stackName: string): Promise<Map<string, string>> {
  let stacks;
  try {
    ({ Stacks: stacks } = await client.send(new DescribeStacksCommand({ StackName: stackName })));
  } catch (err) {
    if (errorName(err) === 'ValidationError' && /does not exist/i.test(errorMessage(err))) {
      throw new ConfigurationError(`stack "${stackName}" does not exist (--stack); check the name and --region`, { cause: err });
    }
    throw err;
  }
  const stack = stacks?.[0];
  if (!stack) {
    throw new ConfigurationError(`stack "${stackName}" does not exist (--stack); check the name and --region`);
  }
  const out = new Map<string, string>();
  for (const o of stack.Outputs ?? []) {
    if (o.OutputKey && o.OutputValue !== undefined) out.set(o.OutputKey, o.OutputValue);
  }
  return out;
}

/**
 * The region of a run: `--region`, then `AWS_REGION`, then `AWS_DEFAULT_REGION`, then the AWS
 * profile's region (`~/.aws/config`, as the SDK reads it), else `us-west-2`, Cirrus's default
 * (the same default the execution names and console URLs use).
 */
export async function resolveRegion(flag: string | undefined, env: Env): Promise<string> {
  const explicit = nonEmpty(flag) ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
  if (explicit) return explicit;
  const probe = new SQSClient({});
  try {
    return nonEmpty(await probe.config.region()) ?? DEFAULT_REGION;
  } catch {
    return DEFAULT_REGION;
  } finally {
    probe.destroy();
  }
}

type Values = { bucketName?: string; rootPrefix?: string; tableName?: string; queueUrl?: string };

/** The values of a stack's outputs, flags first; every output but the queue URL must exist. */
async function valuesFromStack(clients: CliClients, stackName: string, flags: Values): Promise<Values> {
  const outputs = await readStackOutputs(clients.cloudFormation, stackName);
  const wanted: [string, string | undefined][] = [
    [STACK_OUTPUTS.payloadBucketName, flags.bucketName],
    [STACK_OUTPUTS.payloadRootPrefix, flags.rootPrefix],
    [STACK_OUTPUTS.stateDbTableName, flags.tableName],
  ];
  const missing = wanted.filter(([key, flag]) => flag === undefined && !outputs.has(key)).map(([key]) => key);
  if (missing.length > 0) {
    throw new ConfigurationError(
      `stack "${stackName}" has no output${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: is it a cirrus stack? ` +
        '(pass --bucket, --root-prefix or --table to supply the values yourself)',
    );
  }
  return {
    bucketName: flags.bucketName ?? outputs.get(STACK_OUTPUTS.payloadBucketName),
    rootPrefix: flags.rootPrefix ?? outputs.get(STACK_OUTPUTS.payloadRootPrefix),
    tableName: flags.tableName ?? outputs.get(STACK_OUTPUTS.stateDbTableName),
    queueUrl: flags.queueUrl ?? outputs.get(STACK_OUTPUTS.processQueueUrl),
  };
}

/**
 * Resolves the configuration of a run: flags, then `--stack` outputs, then the environment.
 * With `--stack`, every output not overridden by a flag must exist (the queue URL only when a
 * command sends payloads).
 * @throws ConfigurationError for a missing stack, missing outputs or a malformed root prefix.
 */
export async function resolveConfig(options: GlobalOptions, env: Env = process.env, overrides: ClientOverrides = {}): Promise<CliConfig> {
  const clients = new CliClients(env, await resolveRegion(options.region, env), overrides);
  const flags: Values = {
    bucketName: nonEmpty(options.bucket),
    rootPrefix: nonEmpty(options.rootPrefix),
    tableName: nonEmpty(options.table),
    queueUrl: nonEmpty(options.queueUrl),
  };
  const stackName = nonEmpty(options.stack);
  try {
    const values = stackName
      ? await valuesFromStack(clients, stackName, flags)
      : {
          bucketName: flags.bucketName ?? nonEmpty(env[ENV.payloadBucket]),
          rootPrefix: flags.rootPrefix ?? nonEmpty(env[ENV.rootPrefix]),
          tableName: flags.tableName ?? nonEmpty(env[ENV.stateDb]),
          queueUrl: flags.queueUrl ?? nonEmpty(env[ENV.processQueueUrl]),
        };
    return createConfig({ ...values, stackName }, clients);
  } catch (err) {
    clients.destroy();
    throw err;
  }
}

/** Why a resource is missing: the stack gave none, or neither the variable nor the flag is set. */
function notConfigured(config: CliConfig, what: string, variable: string, flag: string): ConfigurationError {
  return new ConfigurationError(
    config.stackName
      ? `no ${what} configured: stack "${config.stackName}" gave none; pass ${flag}`
      : `no ${what} configured: set ${variable} or pass ${flag} (or --stack <name>)`,
  );
}

/**
 * The payload bucket of a configuration.
 * @throws ConfigurationError naming the variable and the flag when no bucket is configured.
 */
export function requireBucket(config: CliConfig): PayloadBucket {
  if (!config.bucketName) throw notConfigured(config, 'payload bucket', ENV.payloadBucket, '--bucket');
  return new PayloadBucket(config.bucketName, config.rootPrefix, { s3: config.clients.s3 });
}

/**
 * The StateDB of a configuration.
 * @throws ConfigurationError naming the variable and the flag when no table is configured.
 */
export function requireStateDb(config: CliConfig): StateDb {
  if (!config.tableName) throw notConfigured(config, 'StateDB table', ENV.stateDb, '--table');
  return new StateDb(config.tableName, config.clients.dynamo);
}

/**
 * The process queue URL of a configuration.
 * @throws ConfigurationError naming the variable, the flag and the stack output when none is configured.
 */
export function requireQueueUrl(config: CliConfig): string {
  if (!config.queueUrl) {
    throw new ConfigurationError(
      config.stackName
        ? `no process queue configured: stack "${config.stackName}" has no ${STACK_OUTPUTS.processQueueUrl} output; pass --queue-url`
        : `no process queue configured: set ${ENV.processQueueUrl} or pass --queue-url (or --stack <name>)`,
    );
  }
  return config.queueUrl;
}
