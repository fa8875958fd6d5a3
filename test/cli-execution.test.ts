/**
 * `failedState`: the state whose failure ended an execution, read from Step Functions history
 * events as GetExecutionHistory returns them (`id`, `previousEventId`, `stateEnteredEventDetails`).
 */
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { failedState } from '../cli/commands/execution';

/** A history from `[type, previousEventId, stateName?]` rows; ids from 1 in order. */
function history(rows: [string, number, string?][]): HistoryEvent[] {
  return rows.map(([type, previousEventId, name], i) => ({
    id: i + 1,
    previousEventId,
    timestamp: new Date(0),
    type,
    ...(name ? { stateEnteredEventDetails: { name } } : {}),
  })) as HistoryEvent[];
}

describe('failedState', () => {
  test('A fails, is retried and succeeds, then B fails: B', () => {
    const events = history([
      ['ExecutionStarted', 0],
      ['TaskStateEntered', 1, 'A'], // 2
      ['LambdaFunctionScheduled', 2],
      ['LambdaFunctionStarted', 3],
      ['LambdaFunctionFailed', 4], // 5: A's first attempt
      ['LambdaFunctionScheduled', 5], // the retry (no new StateEntered)
      ['LambdaFunctionStarted', 6],
      ['LambdaFunctionSucceeded', 7],
      ['TaskStateExited', 8],
      ['TaskStateEntered', 9, 'B'], // 10
      ['TaskScheduled', 10],
      ['TaskStarted', 11],
      ['TaskFailed', 12],
      ['ExecutionFailed', 13],
    ]);
    expect(failedState(events)).toBe('B');
  });

  test('a failure caught by a Catch that leads to a Fail state: the Fail state', () => {
    const events = history([
      ['ExecutionStarted', 0],
      ['TaskStateEntered', 1, 'A'],
      ['TaskScheduled', 2],
      ['TaskStarted', 3],
      ['TaskFailed', 4],
      ['TaskStateExited', 5],
      ['FailStateEntered', 6, 'Oops'],
      ['ExecutionFailed', 7],
    ]);
    expect(failedState(events)).toBe('Oops');
  });

  test('interleaved Parallel branches: the state on the failure chain, not the last one entered', () => {
    const events = history([
      ['ExecutionStarted', 0],
      ['ParallelStateEntered', 1, 'Both'], // 2
      ['ParallelStateStarted', 2], // 3
      ['TaskStateEntered', 3, 'X'], // 4
      ['TaskStateEntered', 3, 'Y'], // 5
      ['TaskScheduled', 4], // 6: X
      ['TaskScheduled', 5], // 7: Y
      ['TaskStarted', 7], // 8: Y
      ['TaskStarted', 6], // 9: X
      ['TaskFailed', 9], // 10: X fails
      ['ExecutionFailed', 10],
    ]);
    expect(failedState(events)).toBe('X');
  });

  test('the local stack\'s linear history (previousEventId = id - 1) and a history without ids', () => {
    const linear = history([
      ['ExecutionStarted', 0],
      ['TaskStateEntered', 1, 'A'],
      ['TaskFailed', 2],
      ['TaskStateEntered', 3, 'A'],
      ['TaskStateExited', 4, 'A'],
      ['TaskStateEntered', 5, 'B'],
      ['TaskFailed', 6],
      ['ExecutionFailed', 7],
    ]);
    expect(failedState(linear)).toBe('B');
    const noIds = linear.map(({ type, stateEnteredEventDetails }) => ({ type, ...(stateEnteredEventDetails ? { stateEnteredEventDetails } : {}) })) as HistoryEvent[];
    expect(failedState(noIds)).toBe('B');
  });

  test('aborted: the state that was running; no ending event: the last failure; nothing failed: null', () => {
    const aborted = history([
      ['ExecutionStarted', 0],
      ['TaskStateEntered', 1, 'A'],
      ['TaskStateExited', 2],
      ['TaskStateEntered', 3, 'Hold'],
      ['TaskScheduled', 4],
      ['ExecutionAborted', 5],
    ]);
    expect(failedState(aborted)).toBe('Hold');
    const unfinished = history([
      ['ExecutionStarted', 0],
      ['TaskStateEntered', 1, 'A'],
      ['TaskFailed', 2],
      ['TaskStateEntered', 3, 'B'],
      ['TaskFailed', 4],
    ]);
    expect(failedState(unfinished)).toBe('B');
    expect(failedState(history([['ExecutionStarted', 0], ['PassStateEntered', 1, 'P'], ['ExecutionSucceeded', 2]]))).toBeNull();
    expect(failedState([])).toBeNull();
  });
});
