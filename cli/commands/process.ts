/**
 * `cirrus process` (send payloads to the process queue) and `cirrus run-workflow` (send one and
 * wait for its final state).
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isJsonObject } from '../../shared/json';
import { State, type StateItem } from '../../shared/statedb';
import { requireBucket, requireQueueUrl, requireStateDb, type CliConfig } from '../config';
import { CliError, EXIT, InvalidPayloadsError } from '../errors';
import type { InputDocument } from '../input';
import { assertResourcesExist } from '../resources';
import { PayloadSender, isProblem, preparePayload, type PreparedPayload, type SendResult } from '../send';
import { readExecutionObject, stateReport, type PayloadStateReport } from './payloads';
import { OUTPUT_KEY } from '../../shared/payload-bucket';
import { executionIdFromArn } from '../../shared/execution';
import type { JsonObject } from '../../shared/json';

/** Validates every document; all must be valid before anything is sent. */
export function prepareAll(config: CliConfig, docs: readonly InputDocument[]): PreparedPayload[] {
  const bucket = requireBucket(config);
  const prepared = docs.map((d) => preparePayload(d, bucket));
  const problems = prepared.filter(isProblem);
  if (problems.length > 0) throw new InvalidPayloadsError(problems);
  return prepared as PreparedPayload[];
}

/** A sender for the configured queue and bucket, after checking that both exist. */
export async function senderFor(config: CliConfig): Promise<PayloadSender> {
  const bucket = requireBucket(config);
  const queueUrl = requireQueueUrl(config);
  await assertResourcesExist(config, { bucket: true, queue: true });
  return new PayloadSender(config.clients.sqs, queueUrl, bucket);
}

/**
 * Validates and sends payloads. Invalid input sends nothing (InvalidPayloadsError).
 * @returns one result per payload, in input order.
 */
export async function processPayloads(config: CliConfig, docs: readonly InputDocument[], onSent?: (n: number) => void): Promise<SendResult[]> {
  const prepared = prepareAll(config, docs);
  const sender = await senderFor(config);
  return sender.send(prepared, onSent);
}

/** Options of {@link runWorkflow}. */
export interface RunWorkflowOptions {
  /** Give up waiting after this long (ms). */
  timeoutMs: number;
  /** Time between StateDB reads (ms). */
  pollMs?: number;
  /** Set `process[0].replace = true`, so a payload that already ran runs again. */
  replace?: boolean;
}

/** How a run ended. */
export interface RunOutcome {
  state: PayloadStateReport;
  /** `output.json` when the run succeeded. */
  output?: JsonObject;
}

const FINAL = new Set<string>([State.SUCCEEDED, State.FAILED, State.ABORTED, State.INVALID]);
const SKIPPED_WITHOUT_REPLACE = new Set<string>([State.SUCCEEDED, State.INVALID]);

function withReplace(doc: InputDocument): InputDocument {
  const v = doc.value;
  if (isJsonObject(v) && Array.isArray(v.process) && isJsonObject(v.process[0])) v.process[0].replace = true;
  return doc;
}

/** Polls the StateDB until the run started after `before` reaches a final state, or the deadline. */
async function waitForFinal(config: CliConfig, payloadId: string, before: StateItem | undefined, options: RunWorkflowOptions): Promise<StateItem> {
  const db = requireStateDb(config);
  const deadline = Date.now() + options.timeoutMs;
  const wasActive = before?.state === State.CLAIMED || before?.state === State.PROCESSING;
  const seen = before?.executions.length ?? 0;
  let item: StateItem | undefined;
  for (;;) {
    item = await db.getItem(payloadId);
    const fresh = item !== undefined && (item.executions.length > seen || wasActive);
    if (item?.state && FINAL.has(item.state) && fresh) return item;
    if (Date.now() >= deadline) break;
    await sleep(Math.min(options.pollMs ?? 1000, Math.max(0, deadline - Date.now())));
  }
  throw new CliError(
    `timed out after ${Math.round(options.timeoutMs / 1000)}s waiting for payload ${payloadId} (state ${item?.state ?? 'not recorded yet'}); ` +
      `it may still finish: cirrus get-state ${payloadId}`,
    EXIT.timedOut,
  );
}

/**
 * Sends one payload and waits for its final state; reads `output.json` when it succeeded.
 * @throws InvalidPayloadsError, CliError (already final and not replaced; timed out)
 */
export async function runWorkflow(config: CliConfig, doc: InputDocument, options: RunWorkflowOptions): Promise<RunOutcome> {
  const [payload] = prepareAll(config, [options.replace ? withReplace(doc) : doc]);
  const db = requireStateDb(config);
  await assertResourcesExist(config, { table: true });
  const sender = await senderFor(config);
  const before = await db.getItem(payload.payloadId);
  if (!options.replace && before?.state && SKIPPED_WITHOUT_REPLACE.has(before.state)) {
    throw new CliError(`payload ${payload.payloadId} is already ${before.state}: process would skip it; pass --replace to run it again`, EXIT.usage);
  }
  const [sent] = await sender.send([payload]);
  if (sent.error) throw new CliError(`payload ${payload.payloadId} was not sent: ${sent.error}`, EXIT.failed);
  const item = await waitForFinal(config, payload.payloadId, before, options);
  const bucket = requireBucket(config);
  const state = stateReport(item, bucket);
  if (item.state !== State.SUCCEEDED) return { state };
  const executionId = executionIdFromArn(item.executions.at(-1) as string);
  return { state, output: await readExecutionObject(config, bucket, OUTPUT_KEY, payload.payloadId, executionId) };
}
