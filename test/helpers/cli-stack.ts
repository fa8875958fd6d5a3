/**
 * Shared set-up of the CLI and doctor tests: the embedded local stack (real S3 and DynamoDB
 * protocols), seeding helpers, and an in-process runner of the `cirrus` program that captures
 * stdout, stderr and the exit code.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { runCli, type CliIo } from '../../cli/program';
import type { ClientOverrides } from '../../cli/config';
import type { Env } from '../../shared/config';
import type { JsonObject } from '../../shared/json';
import { PayloadBucket } from '../../shared/payload-bucket';
import { StateDb, payloadIdToKey, type StateDbRecord } from '../../shared/statedb';
import { startLocalStack, type LocalStack } from '../../local';

/** Output of one in-process CLI run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** A text sink collecting what is written. */
export class Capture {
  text = '';
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}

/** Runs `cirrus <argv>` in-process. */
export async function runCirrus(argv: string[], env: Env, clients?: ClientOverrides, stdin?: AsyncIterable<string | Buffer>): Promise<CliRun> {
  const stdout = new Capture();
  const stderr = new Capture();
  // Standard input: empty unless given, never the test runner's own.
  const io: CliIo = { stdout, stderr, env, stdin: stdin ?? (async function* () {})(), ...(clients ? { clients } : {}) };
  const code = await runCli(argv, io);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** The local stack plus clients and helpers to seed it. */
export interface CliTestStack {
  stack: LocalStack;
  /** The stack's environment as a plain object (CLI configuration). */
  env: Env;
  s3: S3Client;
  doc: DynamoDBDocumentClient;
  db: StateDb;
  bucket: PayloadBucket;
  /** Execution ARN of workflow `wf` with execution id `id`. */
  arn(workflow: string, id: string): string;
  /** Writes a raw StateDB record (for states and timestamps the StateDb API does not produce). */
  putRecord(payloadId: string, fields: Omit<StateDbRecord, 'collections_workflow' | 'itemids'>, tableName?: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the local stack for a CLI test file. */
export async function startCliTestStack(): Promise<CliTestStack> {
  const stack = await startLocalStack();
  const s3 = new S3Client({ ...stack.clientConfig('s3'), maxAttempts: 1 });
  const base = new DynamoDBClient({ ...stack.clientConfig('dynamodb'), maxAttempts: 1 });
  const doc = DynamoDBDocumentClient.from(base, { marshallOptions: { removeUndefinedValues: true } });
  const env: Env = { ...stack.env };
  return {
    stack,
    env,
    s3,
    doc,
    db: new StateDb(stack.stateDbTable, doc),
    bucket: new PayloadBucket(stack.payloadBucket, stack.env.CIRRUS_PAYLOAD_ROOT_PREFIX, { s3 }),
    arn: (workflow, id) => `arn:aws:states:${stack.region}:${stack.account}:execution:${stack.resourcePrefix}-${workflow}:${id}`,
    putRecord: async (payloadId, fields, tableName = stack.stateDbTable) => {
      await doc.send(new PutCommand({ TableName: tableName, Item: { ...payloadIdToKey(payloadId), ...fields } }));
    },
    stop: async () => {
      s3.destroy();
      base.destroy();
      await stack.stop();
    },
  };
}

/** A small process payload for `payloadId`. */
export function samplePayload(payloadId: string, extra: JsonObject = {}): JsonObject {
  return {
    type: 'FeatureCollection',
    id: payloadId,
    features: [],
    process: [{ workflow: payloadId.split('/workflow-')[1].split('/')[0] }],
    ...extra,
  };
}

/** `new Date(Date.now() - ms)` as the StateDB writes times. */
export function isoAgo(ms: number, now: number = Date.now()): string {
  return new Date(now - ms).toISOString().replace('Z', '000+00:00');
}

/** Writes `content` (as JSON, unless it is a string) to `<dir>/<name>` and returns the file's path. */
export function writeInputFile(dir: string, name: string, content: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

/** A scratch folder for a test file's input files, made on first use. */
export class InputFiles {
  private folder: string | undefined;

  /** `prefix`: the start of the folder's name, under the temporary directory. */
  constructor(private readonly prefix: string) {}

  /** The folder (made now if it does not exist yet). */
  get dir(): string {
    this.folder ??= mkdtempSync(path.join(tmpdir(), this.prefix));
    return this.folder;
  }

  /** Writes `content` (as JSON, unless it is a string) to `<dir>/<name>` and returns the file's path. */
  readonly file = (name: string, content: unknown): string => writeInputFile(this.dir, name, content);

  /** Removes the folder and what it holds. */
  remove(): void {
    if (this.folder) rmSync(this.folder, { recursive: true, force: true });
    this.folder = undefined;
  }
}

/** Exit status and output of a child process. */
export interface ProcessRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node <args>` as a child process with environment `env`, writing `input` (if given) to its
 * standard input. Asynchronous: a local stack serving from the test's own process would hang a
 * blocking spawnSync.
 */
export function runNode(args: string[], env: Record<string, string | undefined>, input?: string): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin?.end(input);
  });
}

/** The JSON objects of NDJSON output, one per non-empty line. */
export function ndjsonLines(stdout: string): JsonObject[] {
  return stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as JsonObject);
}
