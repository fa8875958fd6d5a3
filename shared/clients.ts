/**
 * AWS SDK v3 clients: {@link createClients} builds a set for one region. Only composition roots call
 * it (the Lambda handlers' runtime `shared/runtime.ts`, the CLI, the local stack, the benchmarks and
 * the tests); the other shared functions are given their clients and build none.
 *
 * Endpoints come from the SDK's own `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` handling;
 * S3 switches to path-style addressing whenever a custom endpoint is configured.
 * @module
 */
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { regionFromEnv, type Env } from './config';

/** True when the environment names a custom S3 endpoint (S3 then uses path-style addressing). */
export function hasCustomS3Endpoint(env: Env): boolean {
  return Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL);
}

/** What {@link createClients} needs: the region, and whether S3 uses path-style addressing. */
export interface ClientSettings {
  region: string;
  s3PathStyle: boolean;
}

/** The {@link ClientSettings} an environment gives. */
export function clientSettingsFromEnv(env: Env): ClientSettings {
  return { region: regionFromEnv(env), s3PathStyle: hasCustomS3Endpoint(env) };
}

/** The constructors of the clients, from one set of settings (the one place their options are built). */
const build = {
  s3: (s: ClientSettings) => new S3Client({ region: s.region, forcePathStyle: s.s3PathStyle }),
  dynamodb: (s: ClientSettings) => new DynamoDBClient({ region: s.region }),
  doc: (base: DynamoDBClient) => DynamoDBDocumentClient.from(base, { marshallOptions: { removeUndefinedValues: true } }),
  sfn: (s: ClientSettings) => new SFNClient({ region: s.region }),
  sns: (s: ClientSettings) => new SNSClient({ region: s.region }),
  sqs: (s: ClientSettings) => new SQSClient({ region: s.region }),
  logs: (s: ClientSettings) => new CloudWatchLogsClient({ region: s.region }),
};

/** One set of clients; each is created on first use and then kept. */
export interface Clients {
  readonly s3: S3Client;
  readonly dynamoDoc: DynamoDBDocumentClient;
  readonly sfn: SFNClient;
  readonly sns: SNSClient;
  readonly sqs: SQSClient;
  readonly logs: CloudWatchLogsClient;
  /** Destroys the clients created so far (their sockets). */
  destroy(): void;
}

/** Builds a set of clients for `settings`; each is created on first use. */
export function createClients(settings: ClientSettings): Clients {
  let s3: S3Client | undefined;
  let ddbBase: DynamoDBClient | undefined;
  let ddb: DynamoDBDocumentClient | undefined;
  let sfn: SFNClient | undefined;
  let sns: SNSClient | undefined;
  let sqs: SQSClient | undefined;
  let logs: CloudWatchLogsClient | undefined;
  return {
    get s3() {
      return (s3 ??= build.s3(settings));
    },
    get dynamoDoc() {
      ddbBase ??= build.dynamodb(settings);
      return (ddb ??= build.doc(ddbBase));
    },
    get sfn() {
      return (sfn ??= build.sfn(settings));
    },
    get sns() {
      return (sns ??= build.sns(settings));
    },
    get sqs() {
      return (sqs ??= build.sqs(settings));
    },
    get logs() {
      return (logs ??= build.logs(settings));
    },
    destroy() {
      for (const c of [s3, ddbBase, sfn, sns, sqs, logs]) c?.destroy();
      s3 = ddb = ddbBase = sfn = sns = sqs = logs = undefined;
    },
  };
}
