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
import {
  InvalidRecordError,
  NotAProcessPayloadError,
  awsErrorText,
  errorMessage,
  errorName,
} from './errors';
import { WorkflowEventPublisher, WorkflowEventType, skipEventFor } from './events';
import { executionArn as buildExecutionArn, executionId, executionIdFromArn, splitExecutionArn } from './execution';
import { SerializedPayload, isJsonObject, type JsonObject } from './json';
import { payloadLogger, type Logger } from './logger';
import { PayloadBucket, isReference } from './payload-bucket';
import { assertWritableDepth, processDefinition, validateProcessPayload, workflowOf, type ProcessPayload } from './payload';
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

/**
 * Dependencies of {@link processEvent}, all given by the caller (the handler builds them from its
 * runtime, `shared/runtime.ts`): nothing is read from the environment here.
 */
export interface ProcessDeps {
  bucket: PayloadBucket;
  stateDb: StateDb;
  sfn: SFNClient;
  events: WorkflowEventPublisher;
  baseWorkflowArn: string;
  /** Payloads of one batch handled at the same time (`CIRRUS_PROCESS_CONCURRENCY`). */
  concurrency: number;
  logger: Logger;
  /** The region execution names are planned in (console URLs of earlier executions). */
  region: string;
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

/** What every phase of {@link processEvent} works with: the dependencies, and the concurrency limit built from them. */
interface EventContext extends ProcessDeps {
  limit: ReturnType<typeof pLimit>;
}

/** How one record left a phase before the end: its result fields (the outcome among them). */
type Ended = Partial<RecordResult> & { outcome: Outcome };

/**
 * Runs the process logic on one event (an SQS batch, SNS records, or a bare payload), in phases
 * that each return how the records they end ended: extract and validate, read the states,
 * drop duplicates, run each payload.
 */
export async function processEvent(event: unknown, deps: ProcessDeps): Promise<ProcessSummary> {
  const ctx: EventContext = { ...deps, limit: pLimit(deps.concurrency) };
  const records = normalizeEvent(event);
  const sqs = records.length > 0 && records.every(isSqsMessage);
  const messageIds = records.map((r) => (isSqsMessage(r) ? r.messageId : undefined));
  /** How each record ended, by index; a record that no phase ended is reported for redelivery. */
  const ended = new Map<number, Ended>();
  const summary = (): ProcessSummary => ({
    sqs,
    results: records.map((_, index) => ({ index, messageId: messageIds[index], outcome: 'retry', ...ended.get(index) })),
  });

  try {
    // 1. Extract and validate every record (references are read from S3 concurrently).
    const extracted = await Promise.all(records.map((r, index) => ctx.limit(() => extractAndValidate(r, index, ctx))));
    const candidates: Candidate[] = [];
    extracted.forEach((x, index) => {
      if ('ended' in x) ended.set(index, x.ended);
      else candidates.push({ index, messageId: messageIds[index], ...x.valid });
    });
    if (candidates.length === 0) return summary();

    // 2. One BatchGetItem for every state.
    const states = await readStates(candidates, ctx);
    if ('ended' in states) {
      for (const c of candidates) ended.set(c.index, states.ended(c));
      return summary();
    }

    // 3. Duplicates: the first occurrence in the batch wins, deterministically.
    const { unique, duplicates } = dropDuplicates(candidates, states.items, ctx);
    for (const c of duplicates) ended.set(c.index, { payloadId: c.payload.id, outcome: 'duplicate' });

    // 4. Claim, upload, start, set PROCESSING: concurrently, bounded.
    const outcomes = await Promise.all(unique.map((c) => ctx.limit(() => runCandidate(c, states.items.get(c.payload.id), ctx))));
    unique.forEach((c, i) => ended.set(c.index, { payloadId: c.payload.id, ...outcomes[i] }));
    return summary();
  } finally {
    await ctx.events.flush();
  }
}

/** Phase 2: the states of every candidate, or how each candidate ends when they cannot be read. */
async function readStates(
  candidates: readonly Candidate[],
  ctx: EventContext,
): Promise<{ items: Map<string, StateItem> } | { ended: (c: Candidate) => Ended }> {
  try {
    return { items: await ctx.stateDb.getItems(candidates.map((c) => c.payload.id)) };
  } catch (err) {
    ctx.logger.error('could not read payload states; the batch is reported failed for redelivery', { error: errorMessage(err) });
    return { ended: (c) => ({ payloadId: c.payload.id, outcome: 'retry', error: errorMessage(err) }) };
  }
}

/** Phase 3: the first candidate of each payload id, and the later ones (announced and dropped). */
function dropDuplicates(
  candidates: readonly Candidate[],
  states: Map<string, StateItem>,
  ctx: EventContext,
): { unique: Candidate[]; duplicates: Candidate[] } {
  const seen = new Set<string>();
  const unique: Candidate[] = [];
  const duplicates: Candidate[] = [];
  for (const c of candidates) {
    if (!seen.has(c.payload.id)) {
      seen.add(c.payload.id);
      unique.push(c);
      continue;
    }
    const planned = plannedExecutionArn(c.payload, states.get(c.payload.id), ctx.baseWorkflowArn, ctx.region);
    ctx.events.announce({
      eventType: WorkflowEventType.DUPLICATE_ID_ENCOUNTERED,
      payloadId: c.payload.id,
      isoTimestamp: isoNow(),
      inputPayloadUrl: ctx.bucket.getInputPayloadUrl(c.payload.id, executionIdFromArn(planned)),
    });
    payloadLogger(ctx.logger, c.payload.id).warn('duplicate payload id in the batch; dropped (the first occurrence is processed)');
    duplicates.push(c);
  }
  return { unique, duplicates };
}

/** Phase 4 for one payload: {@link runPayload}, with any error it throws reported for redelivery. */
async function runCandidate(c: Candidate, item: StateItem | undefined, ctx: EventContext): Promise<Ended> {
  const log = payloadLogger(ctx.logger, c.payload.id, { workflow: workflowOf(c.payload) });
  try {
    return await runPayload(c.payload, c.serialized, item, { ...ctx, log });
  } catch (err) {
    log.error('failed to start the workflow; the message is reported failed for redelivery', { error: errorMessage(err), error_name: errorName(err) });
    return { outcome: 'retry', error: errorMessage(err) };
  }
}

/** A record as received: the extracted object, the payload it stands for, and that payload's JSON text when known. */
interface Received {
  /** The record's object (a payload, or a `{"url"}` reference). */
  extracted: JsonObject;
  /** The payload (the referenced one for a reference). */
  payload: JsonObject;
  /** The payload's own JSON as it arrived, when known. */
  original: SerializedPayload | undefined;
}

/** Phase 1: a valid payload with its serialisation, or how the record ended. */
async function extractAndValidate(
  record: unknown,
  index: number,
  ctx: EventContext,
): Promise<{ valid: Pick<Candidate, 'payload' | 'serialized'> } | { ended: Ended }> {
  let received: Received;
  try {
    received = await receive(record, ctx.bucket);
  } catch (err) {
    return { ended: await recordFailure(err, { stage: 'extract', record, index }, ctx) };
  }
  try {
    return { valid: validate(received, ctx.bucket) };
  } catch (err) {
    const payloadId = typeof received.payload.id === 'string' ? received.payload.id : 'unknown';
    return { ended: await recordFailure(err, { stage: 'validate', record, index, extracted: received.extracted, payloadId }, ctx) };
  }
}

/** Extracts a record and, for a reference, reads the payload it points to. */
async function receive(record: unknown, bucket: PayloadBucket): Promise<Received> {
  const received = extractRecordWithText(record);
  const extracted = received.value;
  // The payload's own JSON as it arrived: the SQS body, the SNS message, or the referenced
  // object's bytes (read with its text, so a large payload is never serialised again).
  const read = isReference(extracted) ? await bucket.readSerialized(String(extracted.url)) : undefined;
  const payload = read ? read.value : extracted;
  const original = read ?? (received.text !== undefined ? new SerializedPayload(extracted, received.text) : undefined);
  return { extracted, payload, original };
}

/** Validates a received payload and settles the one serialisation it is stored and started as. */
function validate({ payload, original }: Received, bucket: PayloadBucket): Pick<Candidate, 'payload' | 'serialized'> {
  const hasId = payload.id !== undefined;
  const valid = validateProcessPayload(payload, { bucket });
  // Unchanged by validation (it has its id): stored and started as the very bytes received.
  // Otherwise written again from the received text with every number kept as it was written.
  const serialized = original && hasId ? original : original ? withId(original, valid.id) : serializeOrInvalid(valid);
  assertWritableDepth(serialized);
  return { payload: valid, serialized };
}

/** Where a record failed in phase 1, and what is known of it there. */
type FailedRecord =
  | { stage: 'extract'; record: unknown; index: number }
  | { stage: 'validate'; record: unknown; index: number; extracted: JsonObject; payloadId: string };

/**
 * How a record that failed in phase 1 ends. An {@link InvalidRecordError} makes it invalid: it is
 * stored under tmp/invalid and announced, and retried only when it could not be stored. Any other
 * error (S3 throttling, a network error, …) says nothing about the record: it is retried.
 */
async function recordFailure(err: unknown, failed: FailedRecord, ctx: EventContext): Promise<Ended> {
  if (!(err instanceof InvalidRecordError)) {
    ctx.logger.error('could not read the record; reported failed for redelivery', { error: errorMessage(err), record_index: failed.index });
    return { outcome: 'retry', error: errorMessage(err) };
  }
  const payloadId = failed.stage === 'validate' ? failed.payloadId : 'unknown';
  const url = await storeInvalid(failed, ctx);
  ctx.logger.warn(failed.stage === 'extract' ? 'record extraction failed' : 'not a process payload', {
    payload_id: payloadId,
    error: errorMessage(err),
    invalid_payload_url: url,
  });
  const eventType = failed.stage === 'extract' ? WorkflowEventType.RECORD_EXTRACT_FAILED : WorkflowEventType.NOT_A_PROCESS_PAYLOAD;
  ctx.events.announce({ eventType, payloadId, isoTimestamp: isoNow(), inputPayloadUrl: url, error: errorMessage(err) });
  return { outcome: url ? 'invalid' : 'retry', error: errorMessage(err), inputPayloadUrl: url, ...(payloadId !== 'unknown' ? { payloadId } : {}) };
}

/** Stores an invalid record under tmp/invalid; its URL, or undefined when it could not be stored. */
async function storeInvalid(failed: FailedRecord, ctx: EventContext): Promise<string | undefined> {
  const logFailure = (e: unknown): undefined => {
    ctx.logger.error('could not store the invalid record under tmp/invalid', { error: errorMessage(e) });
    return undefined;
  };
  try {
    return await ctx.bucket.uploadInvalidPayload(failed.stage === 'extract' ? toStorable(failed.record) : failed.extracted);
  } catch (uploadErr) {
    if (failed.stage === 'validate' && uploadErr instanceof RangeError) {
      // The payload cannot be serialised again (nested too deeply): keep the raw message instead.
      return ctx.bucket.uploadInvalidPayload(toStorable(failed.record)).catch(logFailure);
    }
    return logFailure(uploadErr);
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

/** What one payload's run needs: the event's context and the payload's logger. */
interface RunContext extends EventContext {
  log: Logger;
}

function skip(ctx: RunContext, payloadId: string, item: StateItem | undefined, state: State, why: string): Ended {
  const urls = item ? itemUrls(item, ctx.bucket) : {};
  ctx.events.announce({
    eventType: skipEventFor(state),
    payloadId,
    isoTimestamp: isoNow(),
    ...urls,
  });
  ctx.log.info(`skipped: already ${state} (${why})`);
  return { outcome: 'skipped', inputPayloadUrl: urls.inputPayloadUrl };
}

/** Claims the payload, stores its input.json, starts its execution and sets PROCESSING. */
async function runPayload(payload: ProcessPayload, serialized: SerializedPayload, item: StateItem | undefined, ctx: RunContext): Promise<Ended> {
  const claim = await claimPayload(payload, item, ctx);
  if ('ended' in claim) return claim.ended;
  const { execArn } = claim;
  const { inputUrl, runInput } = await storeInput(ctx, payload.id, execArn, serialized);
  const start = await startWorkflow(ctx, payload.id, execArn, inputUrl, runInput);
  if ('ended' in start) return start.ended;
  return markProcessing(ctx, payload.id, execArn, inputUrl, start.started);
}

/**
 * The execution ARN this attempt runs under: the claimed one when the payload is CLAIMED, else a
 * new one claimed here (conditional: not CLAIMED, not PROCESSING). Skipped when the payload is
 * not rerunnable and not replaced, or when another invocation claimed it first.
 */
async function claimPayload(payload: ProcessPayload, item: StateItem | undefined, ctx: RunContext): Promise<{ execArn: string } | { ended: Ended }> {
  const id = payload.id;
  const replace = processDefinition(payload).replace === true;
  const state = item?.state;
  const rerunnable = state === undefined || state === State.FAILED || state === State.ABORTED || state === State.CLAIMED;
  if (!rerunnable && !replace) return { ended: skip(ctx, id, item, state, 'found before claiming') };

  const execArn = plannedExecutionArn(payload, item, ctx.baseWorkflowArn, ctx.region);
  if (state === State.CLAIMED) {
    ctx.log.info('payload found CLAIMED; resuming its claimed execution', { execution_arn: execArn });
    return { execArn };
  }
  // The random claim id lets a claim retried by the SDK after a lost response recognise itself.
  const claim = await ctx.stateDb.claim(id, execArn, undefined, randomUUID());
  if (!claim.claimed) {
    // Another invocation claimed the payload between our read and our claim. It holds its own
    // message, which SQS redelivers if it crashes, so this copy is skipped: one StartExecution.
    const current = claim.current;
    return { ended: skip(ctx, id, current, current?.state ?? State.PROCESSING, 'another invocation claimed it first') };
  }
  ctx.events.announce({ eventType: WorkflowEventType.CLAIMED_PROCESSING, payloadId: id, isoTimestamp: isoNow() });
  return { execArn };
}

/**
 * Writes input.json only if absent: the first copy stored for an execution name is the one that
 * execution runs, so a redelivery (or a concurrent delivery) with other content can never replace
 * the record of what ran. Returns its URL and what the execution is started with (what it holds).
 */
async function storeInput(ctx: RunContext, id: string, execArn: string, serialized: SerializedPayload): Promise<{ inputUrl: string; runInput: SerializedPayload }> {
  const stored = await ctx.bucket.createInputPayload(serialized, id, splitExecutionArn(execArn).executionName);
  const inputUrl = stored.url;
  if (stored.existing && stored.existing.text !== serialized.text) {
    ctx.log.warn('input.json of this execution already holds other content; the execution runs the stored input, not this message', {
      execution_arn: execArn,
      input_payload_url: inputUrl,
    });
  }
  return { inputUrl, runInput: stored.existing ?? serialized };
}

/**
 * Starts the execution (inline, or as a reference when over the size limit). `started` is false
 * when it already existed; a missing state machine records the payload FAILED and ends it.
 */
async function startWorkflow(
  ctx: RunContext,
  id: string,
  execArn: string,
  inputUrl: string,
  runInput: SerializedPayload,
): Promise<{ started: boolean } | { ended: Ended }> {
  const { stateMachineArn, executionName } = splitExecutionArn(execArn);
  const input = await toInlineOrReference(runInput, ctx.bucket, MAX_PAYLOAD_LENGTH, { storedAt: inputUrl });
  if (input.url) ctx.log.info('payload over the inline limit; passed as a reference', { size: input.size, url: input.url });
  try {
    // Throttling is retried while the invocation has time; when it is spent the error below
    // reports the message, and the payload stays CLAIMED so redelivery reuses this execution name.
    await startExecutionWithinTime(ctx.sfn, { stateMachineArn, name: executionName, input: input.text }, {
      remainingMs: ctx.remainingMs,
      onThrottled: (attempt, delayMs) => ctx.log.debug('StartExecution throttled; backing off', { attempt, delay_ms: delayMs }),
    });
    return { started: true };
  } catch (err) {
    const name = errorName(err);
    if (name === 'ExecutionAlreadyExists') {
      ctx.log.info('execution already exists; continuing to PROCESSING', { execution_arn: execArn });
      await keepExecutionInput(ctx, id, execArn, inputUrl, runInput);
      return { started: false };
    }
    if (name !== 'StateMachineDoesNotExist') throw err;
    const msg = awsErrorText(err, 'StartExecution');
    await ctx.stateDb.setFailed(id, msg);
    ctx.events.announce({
      eventType: WorkflowEventType.FAILED,
      payloadId: id,
      isoTimestamp: isoNow(),
      inputPayloadUrl: inputUrl,
      error: msg,
      executionArn: execArn,
    });
    ctx.log.error('state machine does not exist; payload recorded FAILED (not retried)', { error: msg });
    return { ended: { outcome: 'failed', executionArn: execArn, inputPayloadUrl: inputUrl, error: msg } };
  }
}

/** Sets PROCESSING once the execution runs; when the state has moved on, says so and leaves it. */
async function markProcessing(ctx: RunContext, id: string, execArn: string, inputUrl: string, started: boolean): Promise<Ended> {
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
    eventType: WorkflowEventType.STARTED_PROCESSING,
    payloadId: id,
    isoTimestamp: isoNow(),
    inputPayloadUrl: inputUrl,
    executionArn: execArn,
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
