/**
 * Configuration of the `cirrus` command: the payload bucket, root prefix and StateDB table, from
 * flags, a CloudFormation stack's outputs (`--stack`) or the environment (SPEC section 1), and
 * the AWS clients the commands use.
 *
 * Precedence, per value: flag, then stack output, then environment variable.
 * @module
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ENV, normalizeRootPrefix, type Env } from '../shared/config';
import { ConfigurationError, errorMessage, errorName } from '../shared/errors';
import { PayloadBucket } from '../shared/payload-bucket';
import { StateDb } from '../shared/statedb';

/** CloudFormation output holding the payload bucket name. */
export const STACK_OUTPUT_BUCKET = 'PayloadBucketName';
/** CloudFormation output holding the payload root prefix. */
export const STACK_OUTPUT_ROOT_PREFIX = 'PayloadRootPrefix';
/** CloudFormation output holding the StateDB table name. */
export const STACK_OUTPUT_TABLE = 'StateDbTableName';

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

  /** Releases the clients this object created (never the overrides). */
  destroy(): void {
    for (const c of this.created) c.destroy();
    this.created = [];
    this.s3Client = this.bucketConfigClient = undefined;
    this.dynamoClient = undefined;
    this.cfnClient = undefined;
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
 * Resolves the configuration of a run: flags, then `--stack` outputs, then the environment.
 * With `--stack`, every output not overridden by a flag must exist.
 * @throws ConfigurationError for a missing stack, missing outputs or a malformed root prefix.
 */
export async function resolveConfig(options: GlobalOptions, env: Env = process.env, overrides: ClientOverrides = {}): Promise<CliConfig> {
  const region = nonEmpty(options.region) ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
  const clients = new CliClients(env, region, overrides);
  let bucketName = nonEmpty(options.bucket);
  let rootPrefix = nonEmpty(options.rootPrefix);
  let tableName = nonEmpty(options.table);
  const stackName = nonEmpty(options.stack);
  try {
    if (stackName) {
      const outputs = await readStackOutputs(clients.cloudFormation, stackName);
      const wanted: [string, string | undefined][] = [
        [STACK_OUTPUT_BUCKET, bucketName],
        [STACK_OUTPUT_ROOT_PREFIX, rootPrefix],
        [STACK_OUTPUT_TABLE, tableName],
      ];
      const missing = wanted.filter(([key, flag]) => flag === undefined && !outputs.has(key)).map(([key]) => key);
      if (missing.length > 0) {
        throw new ConfigurationError(
          `stack "${stackName}" has no output${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: is it a cirrus stack? ` +
            '(pass --bucket, --root-prefix or --table to supply the values yourself)',
        );
      }
      bucketName ??= outputs.get(STACK_OUTPUT_BUCKET);
      rootPrefix ??= outputs.get(STACK_OUTPUT_ROOT_PREFIX);
      tableName ??= outputs.get(STACK_OUTPUT_TABLE);
    } else {
      bucketName ??= nonEmpty(env[ENV.payloadBucket]);
      rootPrefix ??= nonEmpty(env[ENV.rootPrefix]);
      tableName ??= nonEmpty(env[ENV.stateDb]);
    }
    return createConfig({ bucketName, rootPrefix, tableName, stackName }, clients);
  } catch (err) {
    clients.destroy();
    throw err;
  }
}

/**
 * The payload bucket of a configuration.
 * @throws ConfigurationError naming the variable and the flag when no bucket is configured.
 */
export function requireBucket(config: CliConfig): PayloadBucket {
  if (!config.bucketName) {
    throw new ConfigurationError(
      config.stackName
        ? `no payload bucket configured: stack "${config.stackName}" gave none; pass --bucket`
        : `no payload bucket configured: set ${ENV.payloadBucket} or pass --bucket (or --stack <name>)`,
    );
  }
  return new PayloadBucket(config.bucketName, config.rootPrefix, { s3: config.clients.s3 });
}

/**
 * The StateDB of a configuration.
 * @throws ConfigurationError naming the variable and the flag when no table is configured.
 */
export function requireStateDb(config: CliConfig): StateDb {
  if (!config.tableName) {
    throw new ConfigurationError(
      config.stackName
        ? `no StateDB table configured: stack "${config.stackName}" gave none; pass --table`
        : `no StateDB table configured: set ${ENV.stateDb} or pass --table (or --stack <name>)`,
    );
  }
  return new StateDb(config.tableName, config.clients.dynamo);
}
