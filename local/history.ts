/**
 * Execution history for the local Step Functions endpoint: the interpreter's event log turned into
 * `GetExecutionHistory` events as AWS shapes them (`id`, `previousEventId`, `timestamp`, `type`
 * and the `…EventDetails` of the type), for the types the interpreter reports.
 * @module
 */

/** One event of the interpreter's log (the fields used here). */
export interface InterpreterEvent {
  type: string;
  timestamp: number;
  input?: unknown;
  output?: unknown;
  Error?: string;
  Cause?: unknown;
  index?: number;
  state?: { name: string; type: string; input?: unknown; output?: unknown };
  parentState?: { name: string; type: string };
}

/** A history event as GetExecutionHistory returns it. */
export type HistoryEventJson = Record<string, unknown> & { id: number; previousEventId: number; timestamp: Date; type: string };

function text(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v ?? null);
}

function failure(e: InterpreterEvent): { error?: string; cause?: string } {
  return { ...(e.Error !== undefined ? { error: e.Error } : {}), ...(e.Cause !== undefined ? { cause: text(e.Cause) } : {}) };
}

/** The type and details of one interpreter event; `undefined` for events AWS has no form for. */
function convert(e: InterpreterEvent, roleArn: string): { type: string; details?: [string, Record<string, unknown>] } | undefined {
  const s = e.state;
  switch (e.type) {
    case 'ExecutionStarted':
      return { type: 'ExecutionStarted', details: ['executionStartedEventDetails', { input: text(e.input), roleArn }] };
    case 'ExecutionSucceeded':
      return { type: 'ExecutionSucceeded', details: ['executionSucceededEventDetails', { output: text(e.output) }] };
    case 'ExecutionFailed':
      return { type: 'ExecutionFailed', details: ['executionFailedEventDetails', failure(e)] };
    case 'ExecutionAborted':
      return { type: 'ExecutionAborted', details: ['executionAbortedEventDetails', {}] };
    case 'ExecutionTimeout':
      return { type: 'ExecutionTimedOut', details: ['executionTimedOutEventDetails', {}] };
    case 'StateEntered':
      return s && { type: `${s.type}StateEntered`, details: ['stateEnteredEventDetails', { name: s.name, input: text(s.input) }] };
    case 'StateExited':
      return s && { type: `${s.type}StateExited`, details: ['stateExitedEventDetails', { name: s.name, output: text(s.output) }] };
    case 'StateFailed':
      if (s?.type === 'Task') return { type: 'TaskFailed', details: ['taskFailedEventDetails', { resourceType: 'lambda', resource: s.name, ...failure(e) }] };
      return s && (s.type === 'Map' || s.type === 'Parallel') ? { type: `${s.type}StateFailed` } : undefined;
    case 'MapIterationStarted':
    case 'MapIterationSucceeded':
    case 'MapIterationFailed': {
      const key = `${e.type[0].toLowerCase()}${e.type.slice(1)}EventDetails`;
      return { type: e.type, details: [key, { name: e.parentState?.name, index: e.index }] };
    }
    default:
      return undefined;
  }
}

/** The AWS-shaped history of an execution, oldest first, ids from 1. */
export function toHistory(events: readonly InterpreterEvent[], roleArn: string): HistoryEventJson[] {
  const out: HistoryEventJson[] = [];
  for (const e of events) {
    const c = convert(e, roleArn);
    if (!c) continue;
    const id = out.length + 1;
    out.push({ id, previousEventId: id - 1, timestamp: new Date(e.timestamp), type: c.type, ...(c.details ? { [c.details[0]]: c.details[1] } : {}) });
  }
  return out;
}
