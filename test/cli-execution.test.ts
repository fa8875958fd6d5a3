/**
 * `failedState`: the state whose failure ended an execution, read from Step Functions history
 * events as GetExecutionHistory returns them (`id`, `previousEventId`, `stateEnteredEventDetails`).
 */
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { failedState } from '../cli/commands/execution';

/** A history event as `[type, previousEventId, stateName?]`. */
type Row = [string, number, string?];

/** A history from rows; ids from 1 in order. */
function history(rows: Row[]): HistoryEvent[] {
  return rows.map(([type, previousEventId, name], i) => ({
    id: i + 1,
    previousEventId,
    timestamp: new Date(0),
    type,
    ...(name ? { stateEnteredEventDetails: { name } } : {}),
  })) as HistoryEvent[];
}

describe('failedState', () => {
  // One line per state entered, with the events that follow it.
  test.each<[string, Row[], string | null]>([
    [
      'A fails, is retried and succeeds, then B fails: B',
      [
        ['ExecutionStarted', 0],
        ['TaskStateEntered', 1, 'A'], ['LambdaFunctionScheduled', 2], ['LambdaFunctionStarted', 3], ['LambdaFunctionFailed', 4], // 2..5: A's first attempt
        ['LambdaFunctionScheduled', 5], ['LambdaFunctionStarted', 6], ['LambdaFunctionSucceeded', 7], ['TaskStateExited', 8], // the retry (no new StateEntered)
        ['TaskStateEntered', 9, 'B'], ['TaskScheduled', 10], ['TaskStarted', 11], ['TaskFailed', 12], // 10..13
        ['ExecutionFailed', 13],
      ],
      'B',
    ],
    [
      'a failure caught by a Catch that leads to a Fail state: the Fail state',
      [
        ['ExecutionStarted', 0],
        ['TaskStateEntered', 1, 'A'], ['TaskScheduled', 2], ['TaskStarted', 3], ['TaskFailed', 4], ['TaskStateExited', 5],
        ['FailStateEntered', 6, 'Oops'], ['ExecutionFailed', 7],
      ],
      'Oops',
    ],
    [
      'interleaved Parallel branches: the state on the failure chain, not the last one entered',
      [
        ['ExecutionStarted', 0],
        ['ParallelStateEntered', 1, 'Both'], ['ParallelStateStarted', 2], // 2, 3
        ['TaskStateEntered', 3, 'X'], ['TaskStateEntered', 3, 'Y'], // 4, 5
        ['TaskScheduled', 4], ['TaskScheduled', 5], ['TaskStarted', 7], ['TaskStarted', 6], // 6: X, 7: Y, 8: Y, 9: X
        ['TaskFailed', 9], ['ExecutionFailed', 10], // 10: X fails
      ],
      'X',
    ],
    [
      'aborted: the state that was running',
      [
        ['ExecutionStarted', 0],
        ['TaskStateEntered', 1, 'A'], ['TaskStateExited', 2],
        ['TaskStateEntered', 3, 'Hold'], ['TaskScheduled', 4],
        ['ExecutionAborted', 5],
      ],
      'Hold',
    ],
    [
      'no ending event: the last failure',
      [
        ['ExecutionStarted', 0],
        ['TaskStateEntered', 1, 'A'], ['TaskFailed', 2],
        ['TaskStateEntered', 3, 'B'], ['TaskFailed', 4],
      ],
      'B',
    ],
    ['nothing failed: null', [['ExecutionStarted', 0], ['PassStateEntered', 1, 'P'], ['ExecutionSucceeded', 2]], null],
  ])('%s', (_case, rows, expected) => {
    expect(failedState(history(rows))).toBe(expected);
  });

  test('no events: null', () => {
    expect(failedState([])).toBeNull();
  });

  describe('the local stack\'s linear history (previousEventId = id - 1)', () => {
    const linear = history([
      ['ExecutionStarted', 0],
      ['TaskStateEntered', 1, 'A'], ['TaskFailed', 2],
      ['TaskStateEntered', 3, 'A'], ['TaskStateExited', 4, 'A'],
      ['TaskStateEntered', 5, 'B'], ['TaskFailed', 6],
      ['ExecutionFailed', 7],
    ]);

    test('the state that failed last', () => {
      expect(failedState(linear)).toBe('B');
    });

    test('the same without event ids', () => {
      const noIds = linear.map(({ type, stateEnteredEventDetails }) => ({ type, ...(stateEnteredEventDetails ? { stateEnteredEventDetails } : {}) })) as HistoryEvent[];
      expect(failedState(noIds)).toBe('B');
    });
  });
});
