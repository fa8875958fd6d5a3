/**
 * The `update-state` function's logic (README, "`update-state`"): turn a Step Functions "Execution Status
 * Change" event into the StateDB state, `output.json`, workflow events, published items and
 * chained payloads.
 *
 * Beyond Cirrus: when EventBridge left the input or output out of the event (too large), they are
 * read with `DescribeExecution` instead of failing.
 * @module
 */
import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { isLosslessNumber } from 'lossless-json';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { nextPayloads } from './chain';
import { MalformedEventError, NotAProcessPayloadError, errorMessage } from './errors';
import { WorkflowEventPublisher, WorkflowEventType } from './events';
import { executionIdFromArn, pythonStrRepr as pythonRepr } from './execution';
import { itemAttributes } from './item-attributes';
import { MAX_JSON_DEPTH, SerializedPayload, hasInexactNumber, isJsonObject, jsonDepthExceeds, parseLossless, stringifyLossless, type JsonObject, type JsonValue } from './json';
import { payloadLogger, type Logger } from './logger';
import { PayloadBucket, isReference } from './payload-bucket';
import { checkStateDbPayloadId, keysMayBeBuilt } from './payload-id';
import { publishEach, sendMessageBatch } from './sns';
import { isOversized } from './size';
import { State, StateDb, isoNow } from './statedb';

/** Error names that mark a payload INVALID rather than FAILED. */
export const INVALID_EXCEPTIONS: readonly string[] = ['cirrus.lib.errors.InvalidInput', 'stactask.exceptions.InvalidInput'];

/** Step Functions execution statuses update-state acts on. */
export type FinalStatus = 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';
export const FINAL_STATUSES: readonly FinalStatus[] = ['SUCCEEDED', 'FAILED', 'ABORTED', 'TIMED_OUT'];
const FINAL = new Set<string>(FINAL_STATUSES);
const NOT_FINAL = new Set<string>(['RUNNING', 'PENDING_REDRIVE']);

/** The `detail` of an EventBridge "Step Functions Execution Status Change" event. */
export interface StatusChangeDetail {
  executionArn: string;
  stateMachineArn?: string;
  name?: string;
  status: string;
  startDate?: number | null;
  stopDate?: number | null;
  input?: string | null;
  output?: string | null;
  inputDetails?: { included?: boolean } | null;
  outputDetails?: { included?: boolean } | null;
  error?: string | null;
  cause?: string | null;
}

/** The EventBridge event. */
export interface StatusChangeEvent {
  'detail-type'?: string;
  source?: string;
  detail: StatusChangeDetail;
}

/** What update-state did. */
export interface UpdateStateResult {
  payloadId?: string;
  status: string;
  /** The state written, or undefined when the event was ignored. */
  state?: State;
  executionArn: string;
  inputPayloadUrl?: string;
  outputPayloadUrl?: string;
  error?: string;
  published: number;
  /** Output items SNS refuses (too large, an attribute it does not accept): reported, never retried. */
  unpublished: { itemId?: string; reason: string }[];
  chained: number;
  /** Input/output read with DescribeExecution because the event did not include them. */
  describedExecution: boolean;
}

/**
 * Dependencies of {@link updateState}, all given by the caller (the handler builds them from its
 * runtime, `shared/runtime.ts`): nothing is read from the environment here.
 */
export interface UpdateStateDeps {
  bucket: PayloadBucket;
  stateDb: StateDb;
  sfn: SFNClient;
  sns: SNSClient;
  sqs: SQSClient;
  events: WorkflowEventPublisher;
  logger: Logger;
  /** Where the output's items are published (`CIRRUS_PUBLISH_TOPIC_ARN`); unset publishes nothing. */
  publishTopicArn: string | undefined;
  /** Where chained payloads are sent (`CIRRUS_PROCESS_QUEUE_URL`); unset chains nothing. */
  processQueueUrl: string | undefined;
}

/**
 * Python's `str()` of a JSON value as `json.loads` returns it: what Cirrus prints for a cause's
 * `errorMessage` (`None`, `True`, `{'a': 1}`, `['x']`). Strings inside containers are written as
 * Python's `repr` writes them.
 */
export function pythonStr(v: unknown, nested = false): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  // A number read by parseLossless: a plain number is exact (integral: it was written as an int);
  // a LosslessNumber keeps its text, which tells an int from a float as json.loads tells them.
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : pythonFloat(v);
  if (isLosslessNumber(v)) return /[.eE]/.test(v.value) ? pythonFloat(Number(v.value)) : BigInt(v.value).toString();
  if (typeof v === 'string') return nested ? pythonRepr(v) : v;
  if (Array.isArray(v)) return `[${v.map((x) => pythonStr(x, true)).join(', ')}]`;
  if (typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${pythonRepr(k)}: ${pythonStr(x, true)}`).join(', ')}}`;
  }
  return String(v);
}

/** Python's `repr(float)`: the shortest round-trip digits, fixed for exponents -4..15, else `d.dde+XX`. */
function pythonFloat(v: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
  if (Object.is(v, -0)) return '-0.0';
  const [mantissa, expText] = v.toExponential().split('e');
  const exp = Number(expText);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  let body: string;
  if (exp >= -4 && exp < 16) {
    if (exp < 0) body = `0.${'0'.repeat(-exp - 1)}${digits}`;
    else if (digits.length <= exp + 1) body = `${digits}${'0'.repeat(exp + 1 - digits.length)}.0`;
    else body = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  } else {
    body = `${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return negative ? `-${body}` : body;
}

/**
 * Formats the error of a failed execution as Cirrus's `workflow_failed` does:
 * `"<Error>: <message>"`. The message is the `errorMessage` of a JSON object cause (printed as
 * Python prints the value; `unknown` when the object has none); for a JSON string or array cause
 * `unknown` (Cirrus tests `"errorMessage" in cause`, which for those is a substring or membership
 * test that fails), unless that test would find `errorMessage`, where Cirrus falls back to the raw
 * cause; the raw cause for any other cause (not JSON, a number, `null`, `true`).
 */
export function formatExecutionError(error: string | null | undefined, cause: string | null | undefined): { type: string; message: string; text: string } {
  const type = error || 'Unknown';
  const rawCause =
    cause ||
    "No error cause was found in the event. Check that the 'Fail' state in the workflow step function definition includes 'ErrorPath' and 'CausePath' fields that capture the error name and error cause.";
  let message = rawCause;
  let parsed: unknown;
  try {
    parsed = parseLossless(rawCause);
  } catch {
    return { type, message, text: `${type}: ${message}` };
  }
  if (isLosslessNumber(parsed)) message = rawCause;
  else if (isJsonObject(parsed)) message = 'errorMessage' in parsed ? pythonStr(parsed.errorMessage) : 'unknown';
  else if (typeof parsed === 'string') message = parsed.includes('errorMessage') ? rawCause : 'unknown';
  else if (Array.isArray(parsed)) message = parsed.includes('errorMessage') ? rawCause : 'unknown';
  return { type, message, text: `${type}: ${message}` };
}

/** Validates the event shape; throws {@link MalformedEventError} naming the missing field. */
export function parseStatusChangeEvent(event: unknown): StatusChangeDetail {
  if (!isJsonObject(event)) throw new MalformedEventError('update-state event is not a JSON object');
  const d = event.detail;
  if (!isJsonObject(d)) throw new MalformedEventError('update-state event has no "detail" object');
  if (typeof d.executionArn !== 'string' || d.executionArn === '') throw new MalformedEventError('update-state event is missing "detail.executionArn"');
  if (typeof d.status !== 'string' || d.status === '') throw new MalformedEventError('update-state event is missing "detail.status"');
  return d as unknown as StatusChangeDetail;
}

/**
 * The payload id of a finished execution, from its (re-hydrated) input. The input is not
 * validated again: Cirrus, or an older version of this project, may have started the execution
 * for a payload today's validation rejects (a workflow name with `_`, a `type` other than
 * `FeatureCollection`, features that are not objects, an id with a `..` segment, ...), and how it
 * ended must still be recorded, or its item would stay PROCESSING for good. Only an input whose id
 * cannot name a StateDB item is refused (the StateDB rule); whether S3 keys may be built from the
 * id is decided apart ({@link keysMayBeBuilt}).
 *
 * @throws NotAProcessPayloadError when the input has no id that passes the StateDB rule.
 */
export function executionPayloadId(input: JsonObject): string {
  const id = input.id;
  if (typeof id !== 'string') {
    throw new NotAProcessPayloadError('id', `the execution input has no string id to record its end under (got ${id === undefined ? 'none' : id === null ? 'null' : typeof id})`);
  }
  checkStateDbPayloadId(id);
  return id;
}

/** An output item: a JSON object (a lossless number is an object too, but never an item). */
function isFeature(v: JsonValue): v is JsonObject {
  return isJsonObject(v) && !isLosslessNumber(v);
}

function parseJsonObject(text: string, what: string): JsonObject {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new MalformedEventError(`execution ${what} is not valid JSON: ${errorMessage(err)}`);
  }
  if (!isJsonObject(v)) throw new MalformedEventError(`execution ${what} is not a JSON object`);
  return v;
}

/** What {@link passOn} needs of the SUCCEEDED event it handles. */
interface PassOnContext extends UpdateStateDeps {
  log: Logger;
  payloadId: string;
  now: string;
  outputUrl?: string;
  execArn: string;
}

/**
 * Publishes the output's items and sends its chained payloads. Everything that can be passed on
 * is, whatever happens to one part: an item SNS refuses for its content, a `chain_filter` that is
 * in error, or an output nested too deeply to be written again is reported (a `PUBLISH_FAILED`
 * event and an error log line) since no retry could change it; only a failure a later attempt may
 * fix (throttling, a network error) is thrown, after the chaining, so that the event is retried.
 */
async function passOn(output: SerializedPayload, ctx: PassOnContext): Promise<Pick<UpdateStateResult, 'published' | 'unpublished' | 'chained'>> {
  const { bucket, log } = ctx;
  const done: Pick<UpdateStateResult, 'published' | 'unpublished' | 'chained'> = { published: 0, unpublished: [], chained: 0 };
  const report = (error: string, fields: Record<string, unknown> = {}): void => {
    log.error(error, fields);
    ctx.events.announce({
      eventType: WorkflowEventType.PUBLISH_FAILED,
      payloadId: ctx.payloadId,
      isoTimestamp: ctx.now,
      outputPayloadUrl: ctx.outputUrl,
      executionArn: ctx.execArn,
      error,
    });
  };
  const publishTopic = ctx.publishTopicArn;
  const queueUrl = ctx.processQueueUrl;
  const hasFeatures = Array.isArray(output.value.features) && output.value.features.length > 0;
  const chains = Array.isArray(output.value.process) && output.value.process.length > 1;
  if (!(publishTopic && hasFeatures) && !(queueUrl && chains)) return done;
  if (jsonDepthExceeds(output.body, MAX_JSON_DEPTH)) {
    // JSON.parse reads it, but no item or payload of it could be written again.
    report(`output nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels: its items are not published and no chained payload is sent`);
    return done;
  }
  // Items and chained payloads are written again: where the output holds a number JavaScript
  // would round or rewrite (12345678901234567890, 1.0), from a lossless reading of it.
  const lossless = hasInexactNumber(output.text);
  const exact = lossless ? (parseLossless(output.text) as JsonObject) : output.value;
  const write = (v: JsonValue): string => (lossless ? stringifyLossless(v) : JSON.stringify(v));
  const features = Array.isArray(exact.features) ? exact.features.filter(isFeature) : [];
  let retryable: unknown;
  if (publishTopic && features.length > 0) {
    const sent = await publishEach(ctx.sns, publishTopic, features.map((f) => ({ message: write(f), attributes: itemAttributes(f) })));
    done.published = sent.published;
    retryable = sent.retryable;
    for (const r of sent.rejected) {
      const itemId = typeof features[r.index].id === 'string' ? (features[r.index].id as string) : undefined;
      const reason = `${r.code}: ${r.reason}`;
      done.unpublished.push({ itemId, reason });
      report(`item ${itemId ?? `#${r.index}`} not published: ${reason}`, { item_id: itemId, item_index: r.index, reason });
    }
  }
  if (queueUrl) {
    const next = nextPayloads(exact, (err, index) => report(`chained payload #${index} not sent: ${err.message}`, { chain_index: index }));
    if (next.length > 0) {
      const bodies = await Promise.all(
        next.map(async (p) => {
          const s = new SerializedPayload(p, write(p));
          return isOversized(s) ? JSON.stringify({ url: await bucket.uploadOversizePayload(s) }) : s.text;
        }),
      );
      await sendMessageBatch(ctx.sqs, queueUrl, bodies);
      done.chained = bodies.length;
    }
  }
  if (retryable !== undefined) {
    log.error('output items not all published; thrown so that the event is retried', { error: errorMessage(retryable), published: done.published });
    throw retryable;
  }
  return done;
}

/** Handles one status-change event. */
export async function updateState(event: unknown, deps: UpdateStateDeps): Promise<UpdateStateResult> {
  const { logger, bucket, events } = deps;
  const detail = parseStatusChangeEvent(event);
  const status = detail.status;
  const execArn = detail.executionArn;
  const result: UpdateStateResult = { status, executionArn: execArn, published: 0, unpublished: [], chained: 0, describedExecution: false };
  if (NOT_FINAL.has(status)) {
    logger.info('execution not finished; nothing to update', { execution_arn: execArn, status });
    return result;
  }
  if (!FINAL.has(status)) throw new MalformedEventError(`update-state event has an unknown "detail.status": ${JSON.stringify(status)}`);

  const executionName = detail.name || executionIdFromArn(execArn);

  try {
    // Input and output: from the event, or from DescribeExecution when EventBridge left them out.
    let inputText = detail.input ?? undefined;
    let outputText = detail.output ?? undefined;
    const inputMissing = detail.inputDetails?.included === false || typeof inputText !== 'string';
    const outputMissing = status === 'SUCCEEDED' && (detail.outputDetails?.included === false || (typeof outputText !== 'string' && detail.outputDetails?.included !== true));
    if (inputMissing || outputMissing) {
      const described = await deps.sfn.send(new DescribeExecutionCommand({ executionArn: execArn }));
      result.describedExecution = true;
      if (inputMissing) inputText = described.input;
      if (outputMissing) outputText = described.output;
    }
    if (typeof inputText !== 'string') throw new MalformedEventError(`execution ${execArn} has no input (neither "detail.input" nor DescribeExecution)`);

    const rawInput = parseJsonObject(inputText, 'input');
    const inputRead = isReference(rawInput) ? await bucket.readSerialized(String(rawInput.url)) : undefined;
    const inputPayload = inputRead ? inputRead.value : rawInput;
    const payloadId = executionPayloadId(inputPayload);
    result.payloadId = payloadId;
    const log = payloadLogger(logger, payloadId, { execution_arn: execArn, status });
    // An id whose keys could leave their prefix (a Cirrus-started id with a ".." segment): its end
    // is recorded in the StateDB and announced, but no key is built from it (no output.json).
    const keysSafe = keysMayBeBuilt(payloadId);
    if (!keysSafe) log.warn('the payload id breaks the key rule: its end is recorded, but no input or output URL is built from it');
    const inputUrl = keysSafe ? bucket.getInputPayloadUrl(payloadId, executionName) : undefined;
    result.inputPayloadUrl = inputUrl;
    const now = isoNow();

    const ending: Ending = { ...deps, log, detail, payloadId, execArn, executionName, inputUrl, keysSafe, now, rawInput, inputRead, outputText };
    if (status === 'SUCCEEDED') return await onSucceeded(ending, result);
    if (status === 'ABORTED') return await onAborted(ending, result);
    return await onFailedOrTimedOut(ending, result);
  } finally {
    await events.flush();
  }
}

/** What a final-status handler needs of one execution's end. */
interface Ending extends UpdateStateDeps {
  log: Logger;
  detail: StatusChangeDetail;
  payloadId: string;
  execArn: string;
  executionName: string;
  /** The execution's input.json URL; undefined when the id breaks the key rule. */
  inputUrl: string | undefined;
  /** False when no key may be built from the payload id (no output.json then). */
  keysSafe: boolean;
  now: string;
  /** The execution input as received (a payload or a `{"url"}` reference) and, for a reference, what it points to. */
  rawInput: JsonObject;
  inputRead: SerializedPayload | undefined;
  outputText: string | undefined;
}

/** SUCCEEDED: stores output.json, records SUCCEEDED, announces it, then publishes and chains. */
async function onSucceeded(e: Ending, result: UpdateStateResult): Promise<UpdateStateResult> {
  const { bucket, log, payloadId, inputRead, rawInput, outputText, now, inputUrl, execArn } = e;
  // The output exactly as Step Functions returned it (or the referenced object's bytes): stored
  // as it is in output.json, and read again without rounding only to publish and chain.
  let output: SerializedPayload | undefined;
  if (typeof outputText === 'string' && outputText !== 'null' && outputText !== '') {
    const rawOutput = parseJsonObject(outputText, 'output');
    if (!isReference(rawOutput)) output = new SerializedPayload(rawOutput, outputText);
    // A workflow that passes its oversized input through returns the same reference: read once.
    else if (inputRead && rawOutput.url === rawInput.url) output = inputRead;
    else output = await bucket.readSerialized(String(rawOutput.url));
  }
  let outputUrl: string | undefined;
  if (output && e.keysSafe) {
    outputUrl = await bucket.uploadOutputPayload(output, payloadId, e.executionName);
  } else if (!output) {
    log.warn('succeeded execution has no output payload; no output.json written');
  }
  await e.stateDb.setSucceeded(payloadId, { now });
  result.state = State.SUCCEEDED;
  result.outputPayloadUrl = outputUrl;
  e.events.announce({
    eventType: WorkflowEventType.SUCCEEDED,
    payloadId,
    isoTimestamp: now,
    inputPayloadUrl: inputUrl,
    outputPayloadUrl: outputUrl,
    executionArn: execArn,
  });
  if (output) {
    const passed = await passOn(output, { ...e, outputUrl });
    Object.assign(result, passed);
  }
  log.info('execution succeeded', { output_payload_url: outputUrl, published: result.published, chained: result.chained });
  return result;
}

/** ABORTED: records ABORTED and announces it. */
async function onAborted(e: Ending, result: UpdateStateResult): Promise<UpdateStateResult> {
  await e.stateDb.setAborted(e.payloadId, e.now);
  result.state = State.ABORTED;
  e.events.announce({ eventType: WorkflowEventType.ABORTED, payloadId: e.payloadId, isoTimestamp: e.now, inputPayloadUrl: e.inputUrl, executionArn: e.execArn });
  e.log.info('execution aborted');
  return result;
}

/** FAILED or TIMED_OUT: records INVALID (for the invalid exceptions) or FAILED, with the error, and announces it. */
async function onFailedOrTimedOut(e: Ending, result: UpdateStateResult): Promise<UpdateStateResult> {
  const { detail, stateDb, payloadId, now } = e;
  const err =
    detail.status === 'TIMED_OUT'
      ? formatExecutionError('TimedOutError', 'The step function execution timed out.')
      : formatExecutionError(detail.error, detail.cause);
  result.error = err.text;
  let eventType: WorkflowEventType;
  if (INVALID_EXCEPTIONS.includes(err.type)) {
    await stateDb.setInvalid(payloadId, err.text, now);
    result.state = State.INVALID;
    eventType = WorkflowEventType.INVALID;
  } else {
    await stateDb.setFailed(payloadId, err.text, now);
    result.state = State.FAILED;
    eventType = err.type === 'TimedOutError' ? WorkflowEventType.TIMED_OUT : WorkflowEventType.FAILED;
  }
  e.events.announce({ eventType, payloadId, isoTimestamp: now, inputPayloadUrl: e.inputUrl, error: err.text, executionArn: e.execArn });
  e.log.info(`execution ${detail.status.toLowerCase()}`, { error: err.text, state: result.state });
  return result;
}
