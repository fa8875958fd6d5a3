/**
 * `cirrus get-execution`: what Step Functions knows about one execution of a payload: status,
 * start and stop, error and cause, the state that failed (from the execution history), the
 * console URL, and with `--events` the history itself.
 * @module
 */
import { DescribeExecutionCommand, paginateGetExecutionHistory, type HistoryEvent } from '@aws-sdk/client-sfn';
import { errorName } from '../../shared/errors';
import { executionUrl } from '../../shared/execution';
import type { StateItem } from '../../shared/statedb';
import type { CliConfig } from '../config';
import { NotFoundError } from '../errors';
import { assertResourcesExist } from '../resources';
import { lookupItem, selectExecutionId } from './payloads';

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

/**
 * The state an execution failed in: the last state entered before the first failure event
 * (a task, a Fail state, a Map or Parallel whose branch failed).
 */
export function failedState(events: readonly HistoryEvent[]): string | null {
  let current: string | null = null;
  let failed: string | null = null;
  for (const e of events) {
    const entered = e.stateEnteredEventDetails?.name;
    if (entered) current = entered;
    if (failed === null && e.type && /Failed$|TimedOut$|Aborted$/.test(e.type)) failed = current;
  }
  return failed;
}

function iso(d: Date | undefined): string | null {
  return d ? new Date(d).toISOString() : null;
}

/** The ARN's region (console URLs point there), else the configured one. */
function regionOf(arn: string, fallback: string | undefined): string | undefined {
  return arn.split(':')[3] || fallback;
}

/**
 * Describes one execution of a payload (default: its last).
 * @throws PayloadNotFoundError, ExecutionNotFoundError, NotFoundError (unknown to Step Functions)
 */
export async function getExecution(config: CliConfig, payloadId: string, options: { execution?: string; events?: boolean } = {}): Promise<ExecutionReport> {
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
    console_url: executionUrl(arn, regionOf(arn, config.clients.region)),
    ...(options.events ? { events } : {}),
  };
}
