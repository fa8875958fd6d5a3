/**
 * The `process` function's logic (README, "`process`"): extract records, validate payloads, read their
 * states in one BatchGetItem, drop duplicates, then claim, store `input.json`, start the workflow
 * (inline or as an oversized reference) and set PROCESSING, for many payloads at once.
 *
 * Every message ends in exactly one of: started, skipped (with an event), recorded FAILED
 * (terminal, not retried), or reported failed (SQS redelivers it).
 * @module
 */
import { randomUUID } from 'node:crypto';
import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import pLimit from 'p-limit';
import { sfnClient } from './clients';
import { ENV, positiveIntFromEnv, regionFromEnv, requireEnv, type Env } from './config';
import {
  InvalidRecordError,
  NotAProcessPayloadError,
  awsErrorText,
  errorMessage,
  errorName,
} from './errors';
import { WorkflowEventPublisher, WorkflowEventType, skipEventFor } from './events';
import { executionArn as buildExecutionArn, executionId, executionIdFromArn, splitExecutionArn } from './execution';
import { MAX_JSON_DEPTH, SerializedPayload, isJsonObject, jsonDepthExceeds, type JsonObject } from './json';
import { createLogger, payloadLogger, type Logger } from './logger';
import { PayloadBucket, isReference } from './payload-bucket';
import { processDefinition, validateProcessPayload, workflowOf, type ProcessPayload } from './payload';
import { extractRecordWithText, isSqsMessage, normalizeEvent } from './records';
import { MAX_PAYLOAD_LENGTH, toInlineOrReference } from './size';
import { State, StateDb, isoNow, itemUrls, type StateItem } from './statedb';
import { startExecutionWithinTime } from './start-execution';

/** Default number of payloads of one batch handled at the same time. */
export const DEFAULT_PROCESS_CONCURRENCY = 10;

/** How one record ended. */
export type Outcome =
  | 'started'
  | 'skipped'
  | 'duplicate'
  /** Recorded FAILED in the StateDB (e.g. the state machine does not exist); not retried. */
  | 'failed'
  /** Not a valid record or payload; stored under tmp/invalid and reported failed. */
  | 'invalid'
  /** A transient failure; reported failed so SQS redelivers it. */
  | 'retry';

/** The result for one record of the event. */
export interface RecordResult {
  /** Position of the record in the event. */
  index: number;
  /** The SQS message id, when the record came from SQS. */
  messageId?: string;
  payloadId?: string;
  outcome: Outcome;
  executionArn?: string;
  inputPayloadUrl?: string;
  error?: string;
}

/** Dependencies of {@link processEvent}; each defaults to one built from the environment. */
export interface ProcessDeps {
  bucket?: PayloadBucket;
  stateDb?: StateDb;
  sfn?: SFNClient;
  events?: WorkflowEventPublisher;
  baseWorkflowArn?: string;
  concurrency?: number;
  logger?: Logger;
  env?: Env;
  /**
   * Milliseconds the invocation has left (Lambda `context.getRemainingTimeInMillis`): a throttled
   * StartExecution is retried within it. Without it only the SDK's own retries are made.
   */
  remainingMs?: () => number;
}

/** The whole result of one invocation. */
export interface ProcessSummary {
  /** True when every record came from SQS (the handler then returns a partial batch response). */
  sqs: boolean;
  results: RecordResult[];
}

export { isReportedFailure, ProcessFailedError } from './errors';

interface Candidate {
  index: number;
  messageId?: string;
  payload: ProcessPayload;
  /** The payload's one JSON serialisation (input.json, the size check and StartExecution share it). */
  serialized: SerializedPayload;
}

const moduleLogger = createLogger('process');

/** Runs the process logic on one event (an SQS batch, SNS records, or a bare payload). */
export async function processEvent(event: unknown, deps: ProcessDeps = {}): Promise<ProcessSummary> {
  const env = deps.env ?? process.env;
  const logger = deps.logger ?? moduleLogger;
  const bucket = deps.bucket ?? PayloadBucket.fromEnv(env);
  const stateDb = deps.stateDb ?? StateDb.fromEnv(env);
  const baseArn = deps.baseWorkflowArn ?? requireEnv(ENV.baseWorkflowArn, env);
  const sfn = deps.sfn ?? sfnClient();
  // Execution names of resumed payloads hold console URLs, so they depend on the region: the
  // region of the environment the caller gave, never process.env's when another one was given.
  const region = regionFromEnv(env);
  const events = deps.events ?? WorkflowEventPublisher.fromEnv(logger, env);
  const limit = pLimit(deps.concurrency ?? positiveIntFromEnv(ENV.processConcurrency, DEFAULT_PROCESS_CONCURRENCY, env));

  const records = normalizeEvent(event);
  const sqs = records.length > 0 && records.every(isSqsMessage);
  const results: RecordResult[] = records.map((r, index) => ({
    index,
    messageId: isSqsMessage(r) ? r.messageId : undefined,
    outcome: 'retry',
  }));

  try {
    // 1. Extract and validate every record (references are read from S3 concurrently).
    const extracted = await Promise.all(records.map((r, i) => limit(() => extractAndValidate(r, results[i], bucket, events, logger))));
    const candidates: Candidate[] = [];
    extracted.forEach((p, i) => {
      if (p) candidates.push({ index: i, messageId: results[i].messageId, payload: p.payload, serialized: p.serialized });
    });
    if (candidates.length === 0) return { sqs, results };

    // 2. One BatchGetItem for every state.
    let states: Map<string, StateItem>;
    try {
      states = await stateDb.getItems(candidates.map((c) => c.payload.id));
    } catch (err) {
      logger.error('could not read payload states; the batch is reported failed for redelivery', { error: errorMessage(err) });
      for (const c of candidates) Object.assign(results[c.index], { payloadId: c.payload.id, outcome: 'retry', error: errorMessage(err) });
      return { sqs, results };
    }

    // 3. Duplicates: the first occurrence in the batch wins, deterministically.
    const seen = new Set<string>();
    const unique: Candidate[] = [];
    for (const c of candidates) {
      const r = results[c.index];
      r.payloadId = c.payload.id;
      if (seen.has(c.payload.id)) {
        const item = states.get(c.payload.id);
        const planned = plannedExecutionArn(c.payload, item, baseArn, region);
        events.announce({
          event_type: WorkflowEventType.DUPLICATE_ID_ENCOUNTERED,
          payload_id: c.payload.id,
          isotimestamp: isoNow(),
          input_payload_url: bucket.getInputPayloadUrl(c.payload.id, executionIdFromArn(planned)),
        });
        payloadLogger(logger, c.payload.id).warn('duplicate payload id in the batch; dropped (the first occurrence is processed)');
        r.outcome = 'duplicate';
        continue;
      }
      seen.add(c.payload.id);
      unique.push(c);
    }

    // 4. Claim, upload, start, set PROCESSING: concurrently, bounded.
    await Promise.all(
      unique.map((c) =>
        limit(async () => {
          const log = payloadLogger(logger, c.payload.id, { workflow: workflowOf(c.payload) });
          try {
            Object.assign(results[c.index], await runPayload(c.payload, c.serialized, states.get(c.payload.id), { bucket, stateDb, sfn, events, baseArn, region, log, remainingMs: deps.remainingMs }));
          } catch (err) {
            log.error('failed to start the workflow; the message is reported failed for redelivery', { error: errorMessage(err), error_name: errorName(err) });
            Object.assign(results[c.index], { outcome: 'retry', error: errorMessage(err) });
          }
        }),
      ),
    );
    return { sqs, results };
  } finally {
    await events.flush();
  }
}

async function extractAndValidate(
  record: unknown,
  result: RecordResult,
  bucket: PayloadBucket,
  events: WorkflowEventPublisher,
  logger: Logger,
): Promise<{ payload: ProcessPayload; serialized: SerializedPayload } | undefined> {
  let stage: 'extract' | 'validate' = 'extract';
  let extracted: JsonObject | undefined;
  /** The payload (the referenced one for a `{"url"}` record), to name its id when it is invalid. */
  let idSource: JsonObject | undefined;
  try {
    const received = extractRecordWithText(record);
    extracted = received.value;
    // The payload's own JSON as it arrived: the SQS body, the SNS message, or the referenced
    // object's bytes (read with its text, so a large payload is never serialised again).
    const read = isReference(extracted) ? await bucket.readSerialized(String(extracted.url)) : undefined;
    const payload = read ? read.value : extracted;
    idSource = payload;
    const original = read ?? (received.text !== undefined ? new SerializedPayload(extracted, received.text) : undefined);
    const hasId = payload.id !== undefined;
    stage = 'validate';
    const valid = validateProcessPayload(payload, { bucket });
    // Unchanged by validation (it has its id): stored and started as the very bytes received.
    // Otherwise written again from the received text with every number kept as it was written.
    const serialized = original && hasId ? original : original ? withId(original, valid.id) : serializeOrInvalid(valid);
    if (jsonDepthExceeds(serialized.bytes ?? serialized.text, MAX_JSON_DEPTH)) {
      throw new NotAProcessPayloadError('payload', `nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels, more than can be written back as JSON`);
    }
    return { payload: valid, serialized };
  } catch (err) {
    if (!(err instanceof InvalidRecordError)) {
      // S3 throttling, a network error, …: nothing is wrong with the record; try again later.
      logger.error('could not read the record; reported failed for redelivery', { error: errorMessage(err), record_index: result.index });
      Object.assign(result, { outcome: 'retry', error: errorMessage(err) });
      return undefined;
    }
    const payloadId = stage === 'validate' && idSource && typeof idSource.id === 'string' ? idSource.id : 'unknown';
    const eventType = stage === 'extract' ? WorkflowEventType.RECORD_EXTRACT_FAILED : WorkflowEventType.NOT_A_PROCESS_PAYLOAD;
    let url: string | undefined;
    try {
      url = await bucket.uploadInvalidPayload(stage === 'extract' ? toStorable(record) : (extracted as JsonObject));
    } catch (uploadErr) {
      if (stage === 'validate' && uploadErr instanceof RangeError) {
        // The payload cannot be serialised again (nested too deeply): keep the raw message instead.
        url = await bucket.uploadInvalidPayload(toStorable(record)).catch((e: unknown) => {
          logger.error('could not store the invalid record under tmp/invalid', { error: errorMessage(e) });
          return undefined;
        });
      } else {
        logger.error('could not store the invalid record under tmp/invalid', { error: errorMessage(uploadErr) });
      }
    }
    logger.warn(stage === 'extract' ? 'record extraction failed' : 'not a process payload', {
      payload_id: payloadId,
      error: errorMessage(err),
      invalid_payload_url: url,
    });
    events.announce({ event_type: eventType, payload_id: payloadId, isotimestamp: isoNow(), input_payload_url: url, error: errorMessage(err) });
    Object.assign(result, { outcome: url ? 'invalid' : 'retry', error: errorMessage(err), inputPayloadUrl: url });
    if (payloadId !== 'unknown') result.payloadId = payloadId;
    return undefined;
  }
}

/**
 * Serialises a valid payload once. JSON.parse accepts nesting that JSON.stringify cannot write back
 * (its recursion overflows the stack): such a payload can never be stored or started, so it is
 * invalid rather than retried.
 */
function serializeOrInvalid(payload: ProcessPayload): SerializedPayload {
  try {
    return new SerializedPayload(payload);
  } catch (err) {
    if (err instanceof RangeError) throw new NotAProcessPayloadError('payload', `cannot be serialised as JSON again: ${err.message} (nested too deeply)`);
    throw err;
  }
}

/**
 * The received payload with the id that validation built added as its last member: spliced into
 * the received text before its closing brace, so every other byte (numbers such as
 * `12345678901234567890` and `1.0`, spacing) stays as it was sent.
 */
export function withId(original: SerializedPayload, id: string): SerializedPayload {
  const text = original.text;
  const end = text.lastIndexOf('}');
  return new SerializedPayload(original.value, `${text.slice(0, end)},"id":${JSON.stringify(id)}${text.slice(end)}`);
}

/** A raw message as something JSON can store (it may not be an object at all). */
function toStorable(record: unknown): JsonObject | string {
  if (isJsonObject(record)) return record;
  if (typeof record === 'string') return record;
  try {
    return JSON.stringify(record) ?? String(record);
  } catch {
    return String(record);
  }
}

/** The execution ARN this attempt would use: the claimed one when CLAIMED, else a new one. */
export function plannedExecutionArn(payload: ProcessPayload, item: StateItem | undefined, baseArn: string, region: string): string {
  if (item?.state === State.CLAIMED && item.executions.length > 0) return item.executions[item.executions.length - 1];
  return buildExecutionArn(baseArn, workflowOf(payload), executionId(payload.id, item?.executions ?? [], region));
}

interface RunContext {
  bucket: PayloadBucket;
  stateDb: StateDb;
  sfn: SFNClient;
  events: WorkflowEventPublisher;
  baseArn: string;
  /** The region execution names are planned in (console URLs of earlier executions). */
  region: string;
  log: Logger;
  remainingMs?: () => number;
}

function skip(ctx: RunContext, payloadId: string, item: StateItem | undefined, state: State, why: string): Partial<RecordResult> {
  const urls = item ? itemUrls(item, ctx.bucket) : {};
  ctx.events.announce({
    event_type: skipEventFor(state),
    payload_id: payloadId,
    isotimestamp: isoNow(),
    ...urls,
  });
  ctx.log.info(`skipped: already ${state} (${why})`);
  return { outcome: 'skipped', inputPayloadUrl: urls.input_payload_url };
}

async function runPayload(payload: ProcessPayload, serialized: SerializedPayload, item: StateItem | undefined, ctx: RunContext): Promise<Partial<RecordResult>> {
  const id = payload.id;
  const replace = processDefinition(payload).replace === true;
  const state = item?.state;
  const rerunnable = state === undefined || state === State.FAILED || state === State.ABORTED || state === State.CLAIMED;
  if (!rerunnable && !replace) return skip(ctx, id, item, state, 'found before claiming');

  // Claim (conditional: not CLAIMED, not PROCESSING).
  const execArn = plannedExecutionArn(payload, item, ctx.baseArn, ctx.region);
  if (state !== State.CLAIMED) {
    // The random claim id lets a claim retried by the SDK after a lost response recognise itself.
    const claim = await ctx.stateDb.claim(id, execArn, undefined, randomUUID());
    if (claim.claimed) {
      ctx.events.announce({ event_type: WorkflowEventType.CLAIMED_PROCESSING, payload_id: id, isotimestamp: isoNow() });
    } else {
      // Another invocation claimed the payload between our read and our claim. It holds its own
      // message, which SQS redelivers if it crashes, so this copy is skipped: one StartExecution.
      const current = claim.current;
      return skip(ctx, id, current, current?.state ?? State.PROCESSING, 'another invocation claimed it first');
    }
  } else {
    ctx.log.info('payload found CLAIMED; resuming its claimed execution', { execution_arn: execArn });
  }

  const { stateMachineArn, executionName } = splitExecutionArn(execArn);
  // input.json is written only if absent: the first copy stored for an execution name is the one
  // that execution runs, so a redelivery (or a concurrent delivery) with other content can never
  // replace the record of what ran. The execution is then started with what input.json holds.
  const stored = await ctx.bucket.createInputPayload(serialized, id, executionName);
  const inputUrl = stored.url;
  const runInput = stored.existing ?? serialized;
  if (stored.existing && stored.existing.text !== serialized.text) {
    ctx.log.warn('input.json of this execution already holds other content; the execution runs the stored input, not this message', {
      execution_arn: execArn,
      input_payload_url: inputUrl,
    });
  }

  const input = await toInlineOrReference(runInput, ctx.bucket, MAX_PAYLOAD_LENGTH, { storedAt: inputUrl });
  if (input.url) ctx.log.info('payload over the inline limit; passed as a reference', { size: input.size, url: input.url });
  let started = true;
  try {
    // Throttling is retried while the invocation has time; when it is spent the error below
    // reports the message, and the payload stays CLAIMED so redelivery reuses this execution name.
    await startExecutionWithinTime(ctx.sfn, { stateMachineArn, name: executionName, input: input.text }, {
      remainingMs: ctx.remainingMs,
      onThrottled: (attempt, delayMs) => ctx.log.debug('StartExecution throttled; backing off', { attempt, delay_ms: delayMs }),
    });
  } catch (err) {
    const name = errorName(err);
    if (name === 'ExecutionAlreadyExists') {
      started = false;
      ctx.log.info('execution already exists; continuing to PROCESSING', { execution_arn: execArn });
      await keepExecutionInput(ctx, id, execArn, inputUrl, runInput);
    } else if (name === 'StateMachineDoesNotExist') {
      const msg = awsErrorText(err, 'StartExecution');
      await ctx.stateDb.setFailed(id, msg);
      ctx.events.announce({
        event_type: WorkflowEventType.FAILED,
        payload_id: id,
        isotimestamp: isoNow(),
        input_payload_url: inputUrl,
        error: msg,
        execution_arn: execArn,
      });
      ctx.log.error('state machine does not exist; payload recorded FAILED (not retried)', { error: msg });
      return { outcome: 'failed', executionArn: execArn, inputPayloadUrl: inputUrl, error: msg };
    } else {
      throw err;
    }
  }

  const set = await ctx.stateDb.setProcessing(id);
  if (!set.updated) {
    const current = set.current;
    const s = current?.state;
    if (s === State.SUCCEEDED || s === State.PROCESSING || s === State.INVALID || s === State.CLAIMED) {
      skip(ctx, id, current, s, started ? 'started the execution, but the state had moved on' : 'execution started by another invocation');
    } else {
      ctx.log.info(`execution ${started ? 'started' : 'exists'}; state already ${s ?? 'gone'}`);
    }
    return { outcome: started ? 'started' : 'skipped', executionArn: execArn, inputPayloadUrl: inputUrl };
  }
  ctx.events.announce({
    event_type: WorkflowEventType.STARTED_PROCESSING,
    payload_id: id,
    isotimestamp: isoNow(),
    input_payload_url: inputUrl,
    execution_arn: execArn,
  });
  ctx.log.info(started ? 'workflow started' : 'workflow already started; now PROCESSING', { execution_arn: execArn, input_payload_url: inputUrl });
  return { outcome: 'started', executionArn: execArn, inputPayloadUrl: inputUrl };
}

/**
 * An execution that already exists runs the input it was started with: when `input.json` holds
 * anything else (written by another deployment, or lost), it is restored to that input, re-hydrated
 * when the execution was started with a reference, so `input.json` always describes what ran.
 */
async function keepExecutionInput(ctx: RunContext, payloadId: string, execArn: string, inputUrl: string, stored: SerializedPayload): Promise<void> {
  const described = await ctx.sfn.send(new DescribeExecutionCommand({ executionArn: execArn }));
  if (typeof described.input !== 'string' || described.input === stored.text) return;
  let ran: SerializedPayload;
  try {
    const value = JSON.parse(described.input) as unknown;
    if (!isJsonObject(value)) return;
    ran = isReference(value) ? await ctx.bucket.readSerialized(String(value.url)) : new SerializedPayload(value, described.input);
  } catch (err) {
    ctx.log.warn('cannot read the input of the existing execution; input.json left as it is', { execution_arn: execArn, error: errorMessage(err) });
    return;
  }
  if (ran.text === stored.text) return;
  if (ran.value.id !== payloadId) {
    ctx.log.warn('the existing execution runs a payload with another id; input.json left as it is', { execution_arn: execArn });
    return;
  }
  await ctx.bucket.uploadInputPayload(ran, payloadId, splitExecutionArn(execArn).executionName);
  ctx.log.warn('input.json restored to the input the existing execution runs', { execution_arn: execArn, input_payload_url: inputUrl });
}
