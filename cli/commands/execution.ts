/**
 * `cirrus get-execution`: what Step Functions knows about one execution of a payload: status,
 * start and stop, error and cause, the state that failed (from the execution history), the
 * console URL, and with `--events` the history itself.
 * @module
 */
import { DescribeExecutionCommand, paginateGetExecutionHistory, type HistoryEvent } from '@aws-sdk/client-sfn';
import { DEFAULT_REGION } from '../../shared/config';
import { errorName } from '../../shared/errors';
import { executionUrl } from '../../shared/execution';
import type { StateItem } from '../../shared/statedb';
import type { CliConfig } from '../config';
import { NotFoundError } from '../errors';
import { assertResourcesExist } from '../resources';
import { lookupItem, selectExecutionId, validatePayloadId } from './payloads';

/** What `get-execution` prints. */
export interface ExecutionReport {
  payload_id: string;
  execution_arn: string;
  execution_id: string;
  state_machine_arn: string | null;
  status: string | null;
  start_date: string | null;
  stop_date: string | null;
  error: string | null;
  cause: string | null;
  /** The state the execution failed in, from its history; `null` when it did not fail. */
  failed_state: string | null;
  console_url: string;
  /** The execution history, oldest first (`--events`). */
  events?: HistoryEvent[];
}

/** The ARN of the item's execution with id `executionId` (built on its state machine when not recorded). */
function executionArnOf(item: StateItem, executionId: string, given: string | undefined): string {
  if (given?.startsWith('arn:')) return given;
  const recorded = item.executions.find((arn) => arn.endsWith(`:${executionId}`));
  if (recorded) return recorded;
  const last = item.executions.at(-1) as string;
  return `${last.slice(0, last.lastIndexOf(':'))}:${executionId}`;
}

/** The execution history, oldest first. */
async function readHistory(config: CliConfig, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  for await (const page of paginateGetExecutionHistory({ client: config.clients.sfn }, { executionArn, includeExecutionData: true })) {
    events.push(...(page.events ?? []));
  }
  return events;
}

/** Failure events of a state (a task, a Lambda, an activity, a Map or Parallel, a timeout); not the execution's own. */
const STATE_FAILURE = /(Failed|TimedOut)$/;
const EXECUTION_END = /^Execution(Failed|TimedOut|Aborted)$/;

/**
 * For each event (by position), the position of the event before it on its causal chain: through
 * `previousEventId` when every event has an `id`, else the event before it in the list.
 */
function previousPositions(events: readonly HistoryEvent[]): (number | undefined)[] {
  if (!events.every((e) => typeof e.id === 'number')) return events.map((_, i) => (i > 0 ? i - 1 : undefined));
  const at = new Map<number, number>(events.map((e, i) => [e.id as number, i]));
  return events.map((e) => (e.previousEventId !== undefined && e.previousEventId !== e.id ? at.get(e.previousEventId) : undefined));
}

/**
 * The state whose failure ended an execution. From the event that ended it (ExecutionFailed,
 * ExecutionTimedOut, ExecutionAborted), the history is walked back along `previousEventId`: the
 * first state failure met (TaskFailed, LambdaFunctionFailed, ActivityTimedOut, MapStateFailed, …)
 * is the one that ended the run, and the state it belongs to is the nearest `…StateEntered` event
 * on its own chain. A Fail state met first is the answer itself; an abort or execution timeout
 * names the state that was running. Failures that were retried or caught earlier in the run are
 * not on that chain, so they are never reported. Without an ending event (a history still being
 * written), the last state failure of the list is used. `null` when no state can be named.
 */
export function failedState(events: readonly HistoryEvent[]): string | null {
  const prev = previousPositions(events);
  const walk = (from: number | undefined, stop: (e: HistoryEvent) => boolean): number | undefined => {
    for (let i = from, steps = 0; i !== undefined && steps <= events.length; i = prev[i], steps++) if (stop(events[i])) return i;
    return undefined;
  };
  const entered = (from: number | undefined): string | null => {
    const i = walk(from, (e) => e.stateEnteredEventDetails?.name !== undefined);
    return i === undefined ? null : (events[i].stateEnteredEventDetails?.name as string);
  };
  let end: number | undefined;
  for (let i = events.length - 1; i >= 0 && end === undefined; i--) if (EXECUTION_END.test(events[i].type ?? '')) end = i;
  if (end === undefined) {
    let last: number | undefined;
    events.forEach((e, i) => {
      if (STATE_FAILURE.test(e.type ?? '') && !EXECUTION_END.test(e.type ?? '')) last = i;
    });
    return last === undefined ? null : entered(last);
  }
  const cause = walk(prev[end], (e) => e.type === 'FailStateEntered' || (STATE_FAILURE.test(e.type ?? '') && !EXECUTION_END.test(e.type ?? '')));
  return entered(cause ?? prev[end]);
}

function iso(d: Date | undefined): string | null {
  return d ? new Date(d).toISOString() : null;
}

/** The ARN's region (console URLs point there), else the configured one. */
function regionOf(arn: string, fallback: string): string {
  return arn.split(':')[3] || fallback;
}

/**
 * Describes one execution of a payload (default: its last).
 * @throws PayloadNotFoundError, ExecutionNotFoundError, NotFoundError (unknown to Step Functions)
 */
export async function getExecution(config: CliConfig, payloadId: string, options: { execution?: string; events?: boolean } = {}): Promise<ExecutionReport> {
  validatePayloadId(payloadId);
  await assertResourcesExist(config, { table: true });
  const item = await lookupItem(config, payloadId);
  const executionId = selectExecutionId(item, options.execution);
  const arn = executionArnOf(item, executionId, options.execution);
  let described;
  try {
    described = await config.clients.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
  } catch (err) {
    if (errorName(err) === 'ExecutionDoesNotExist') throw new NotFoundError(`execution ${arn} of payload ${payloadId} is unknown to Step Functions (its history may have expired)`, { cause: err });
    throw err;
  }
  const events = await readHistory(config, arn);
  return {
    payload_id: payloadId,
    execution_arn: arn,
    execution_id: executionId,
    state_machine_arn: described.stateMachineArn ?? null,
    status: described.status ?? null,
    start_date: iso(described.startDate),
    stop_date: iso(described.stopDate),
    error: described.error ?? null,
    cause: described.cause ?? null,
    failed_state: described.status === 'SUCCEEDED' || described.status === 'RUNNING' ? null : failedState(events),
    console_url: executionUrl(arn, regionOf(arn, config.clients.region ?? DEFAULT_REGION)),
    ...(options.events ? { events } : {}),
  };
}
