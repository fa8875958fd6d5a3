/**
 * Lazily created AWS SDK v3 clients, one of each per process (reused across Lambda invocations).
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
import { regionFromEnv } from './config';

/** Options shared by every client this module creates. */
export interface ClientOptions {
  region: string;
  maxAttempts?: number;
}

function baseOptions(): ClientOptions {
  return { region: regionFromEnv() };
}

function hasCustomS3Endpoint(env = process.env): boolean {
  return Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL);
}

let s3: S3Client | undefined;
let ddbBase: DynamoDBClient | undefined;
let ddb: DynamoDBDocumentClient | undefined;
let sfn: SFNClient | undefined;
let sns: SNSClient | undefined;
let sqs: SQSClient | undefined;
let logs: CloudWatchLogsClient | undefined;

/** The shared S3 client. */
export function s3Client(): S3Client {
  s3 ??= new S3Client({ ...baseOptions(), forcePathStyle: hasCustomS3Endpoint() });
  return s3;
}

/** The shared DynamoDB document client (plain JS values in and out). */
export function dynamoDocClient(): DynamoDBDocumentClient {
  if (!ddb) {
    ddbBase = new DynamoDBClient(baseOptions());
    ddb = DynamoDBDocumentClient.from(ddbBase, { marshallOptions: { removeUndefinedValues: true } });
  }
  return ddb;
}

/** The shared Step Functions client. */
export function sfnClient(): SFNClient {
  sfn ??= new SFNClient(baseOptions());
  return sfn;
}

/** The shared SNS client. */
export function snsClient(): SNSClient {
  sns ??= new SNSClient(baseOptions());
  return sns;
}

/** The shared SQS client. */
export function sqsClient(): SQSClient {
  sqs ??= new SQSClient(baseOptions());
  return sqs;
}

/** The shared CloudWatch Logs client. */
export function logsClient(): CloudWatchLogsClient {
  logs ??= new CloudWatchLogsClient(baseOptions());
  return logs;
}

/**
 * Forgets every cached client, so the next call builds new ones from the current environment.
 * Tests use it after changing endpoints; Lambda code never needs it.
 */
export function resetClients(): void {
  s3?.destroy();
  ddbBase?.destroy();
  sfn?.destroy();
  sns?.destroy();
  sqs?.destroy();
  logs?.destroy();
  s3 = ddb = ddbBase = sfn = sns = sqs = logs = undefined;
}
