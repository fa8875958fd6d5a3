/**
 * Checks that the configured bucket, table and queue exist before a command uses them, so a
 * wrong name is a configuration error naming it (exit 2) in every command, and never reads as
 * "payload not found", "object missing" or lost history. A check the credentials may not be
 * allowed to make (HTTP 403) is left to the command's own calls.
 * @module
 */
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { ENV } from '../shared/config';
import { ConfigurationError, errorName } from '../shared/errors';
import type { CliConfig } from './config';
import { isAccessRefused } from './errors';

/** Which resources a command needs. */
export interface Needs {
  bucket?: boolean;
  table?: boolean;
  queue?: boolean;
}

const MISSING_BUCKET = new Set(['NotFound', 'NoSuchBucket']);
const MISSING_TABLE = new Set(['ResourceNotFoundException']);
const MISSING_QUEUE = new Set(['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 'NonExistentQueue']);

async function check(call: () => Promise<unknown>, missing: Set<string>, message: string): Promise<void> {
  try {
    await call();
  } catch (err) {
    if (missing.has(errorName(err))) throw new ConfigurationError(message, { cause: err });
    if (isAccessRefused(err)) return;
    throw err;
  }
}

/** The message for a payload bucket that does not exist. */
export function missingBucketMessage(name: string): string {
  return `payload bucket "${name}" does not exist (${ENV.payloadBucket} / --bucket)`;
}

/** The message for a StateDB table that does not exist. */
export function missingTableMessage(name: string): string {
  return `StateDB table "${name}" does not exist (${ENV.stateDb} / --table)`;
}

/**
 * Verifies that the configured resources a command needs exist (only those configured: a
 * command that requires one reports its absence itself).
 * @throws ConfigurationError naming the first resource that does not exist.
 */
export async function assertResourcesExist(config: CliConfig, needs: Needs): Promise<void> {
  const { bucketName, tableName, queueUrl, clients } = config;
  const checks: Promise<void>[] = [];
  if (needs.bucket && bucketName) {
    checks.push(check(() => clients.s3.send(new HeadBucketCommand({ Bucket: bucketName })), MISSING_BUCKET, missingBucketMessage(bucketName)));
  }
  if (needs.table && tableName) {
    const ddb = clients.dynamo as unknown as DynamoDBClient;
    checks.push(check(() => ddb.send(new DescribeTableCommand({ TableName: tableName })), MISSING_TABLE, missingTableMessage(tableName)));
  }
  if (needs.queue && queueUrl) {
    const call = (): Promise<unknown> => clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['MaximumMessageSize'] }));
    checks.push(check(call, MISSING_QUEUE, `process queue "${queueUrl}" does not exist (${ENV.processQueueUrl} / --queue-url)`));
  }
  await Promise.all(checks);
}
