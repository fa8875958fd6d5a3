/**
 * `cirrus rerun`: the items `query` matches, each sent again as its last execution's
 * `input.json` with `process[0].replace = true`, the way `process` sends (oversized payloads as
 * `tmp/oversized/` references).
 * @module
 */
import pLimit from 'p-limit';
import { PayloadReadError, errorMessage, errorName } from '../../shared/errors';
import { executionIdFromArn } from '../../shared/execution';
import { isJsonObject } from '../../shared/json';
import { State, type StateItem } from '../../shared/statedb';
import { requireBucket, type CliConfig } from '../config';
import { parseDocuments } from '../input';
import { isProblem, preparePayload, type PreparedPayload, type SendResult } from '../send';
import { senderFor } from './process';
import { queryItems, type QueryFilters } from './query';

/** What rerun plans for one matched item. */
export interface RerunPlan {
  payload_id: string;
  state: string | null;
  execution_id: string | null;
  input_payload_url: string | null;
  /** `send`, or `skip` with a reason. */
  action: 'send' | 'skip';
  reason?: string;
  /** Set for `send`: the payload to send. */
  payload?: PreparedPayload;
}

/** Counts of a rerun, with the reasons of skips and failures. */
export interface RerunSummary {
  sent: number;
  skipped: number;
  failed: number;
  reasons: Record<string, number>;
}

const IN_PROGRESS = new Set<string>([State.CLAIMED, State.PROCESSING]);
const READ_CONCURRENCY = 8;

/** The last input.json of an item with `process[0].replace = true`, ready to send. */
async function planItem(config: CliConfig, item: StateItem): Promise<RerunPlan> {
  const bucket = requireBucket(config);
  const last = item.executions.at(-1);
  const executionId = last ? executionIdFromArn(last) : null;
  const url = executionId ? bucket.getInputPayloadUrl(item.payloadId, executionId) : null;
  const plan: RerunPlan = { payload_id: item.payloadId, state: item.state ?? null, execution_id: executionId, input_payload_url: url, action: 'skip' };
  if (item.state && IN_PROGRESS.has(item.state)) return { ...plan, reason: `in progress (${item.state})` };
  if (!url) return { ...plan, reason: 'no execution recorded' };
  let text: string;
  try {
    text = (await bucket.readSerialized(url)).text;
  } catch (err) {
    const name = errorName(err instanceof PayloadReadError && err.cause !== undefined ? err.cause : err);
    if (name === 'NoSuchKey' || name === 'NotFound') return { ...plan, reason: `no input.json: ${url}` };
    return { ...plan, reason: `input.json unreadable: ${errorMessage(err).split('\n')[0]}` };
  }
  const [doc] = parseDocuments(text);
  const v = doc.value;
  if (isJsonObject(v) && Array.isArray(v.process) && isJsonObject(v.process[0])) v.process[0].replace = true;
  const prepared = preparePayload(doc, bucket);
  if (isProblem(prepared)) return { ...plan, reason: `input.json is not a valid payload: ${prepared.message}` };
  return { ...plan, action: 'send', payload: prepared };
}

/** Plans every matched item (reading input.json objects a few at a time). */
export async function planRerun(config: CliConfig, filters: QueryFilters): Promise<RerunPlan[]> {
  requireBucket(config);
  const items: StateItem[] = [];
  for await (const item of queryItems(config, filters)) items.push(item);
  const limit = pLimit(READ_CONCURRENCY);
  return Promise.all(items.map((item) => limit(() => planItem(config, item))));
}

/** Sends the planned payloads; returns one result per sent payload. */
export async function sendPlans(config: CliConfig, plans: readonly RerunPlan[], onSent?: (n: number) => void): Promise<SendResult[]> {
  const payloads = plans.filter((p) => p.action === 'send').map((p) => p.payload as PreparedPayload);
  if (payloads.length === 0) return [];
  return (await senderFor(config)).send(payloads, onSent);
}

/** Counts sent, skipped and failed items, with how often each reason occurred. */
export function summarize(plans: readonly RerunPlan[], results: readonly SendResult[]): RerunSummary {
  const reasons: Record<string, number> = {};
  const count = (reason: string): void => {
    const key = reason.split(':')[0];
    reasons[key] = (reasons[key] ?? 0) + 1;
  };
  for (const p of plans) if (p.action === 'skip') count(p.reason ?? 'skipped');
  for (const r of results) if (r.error) count(r.error);
  const failed = results.filter((r) => r.error).length;
  return { sent: results.length - failed, skipped: plans.filter((p) => p.action === 'skip').length, failed, reasons };
}

/** The one-line summary: `rerun: 3 sent, 1 skipped, 0 failed (in progress (PROCESSING): 1)`. */
export function summaryLine(s: RerunSummary, dryRun = false): string {
  const reasons = Object.entries(s.reasons).map(([r, n]) => `${r}: ${n}`);
  const head = dryRun ? `rerun (dry run): ${s.sent} would be sent, ${s.skipped} skipped` : `rerun: ${s.sent} sent, ${s.skipped} skipped, ${s.failed} failed`;
  return `${head}${reasons.length > 0 ? ` (${reasons.join('; ')})` : ''}`;
}
