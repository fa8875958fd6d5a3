/**
 * The EventBridge "Step Functions Execution Status Change" events update-state receives, against
 * the samples of `test/fixtures/events/sfn-*.json` (shaped as AWS delivers them).
 */
import { buildStatusChangeEvent } from '../local/events';
import type { JsonObject } from '../shared/json';
import { formatExecutionError, parseStatusChangeEvent } from '../shared/update-state';
import { fixtureNames, readFixture } from './helpers/fixtures';

const samples = fixtureNames('events', '.json').filter((n) => n.startsWith('sfn-'));

/** Each key of `v` with the JSON type of its value, recursively (`null` kept apart). */
function shape(v: unknown): unknown {
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.map(shape);
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v as JsonObject).map(([k, x]) => [k, shape(x)]));
  return typeof v;
}

describe('Step Functions status-change events', () => {
  it('has a sample of each final status', () => {
    expect(samples).toEqual(['sfn-aborted', 'sfn-failed', 'sfn-succeeded', 'sfn-timed-out']);
  });

  it.each(samples)('parseStatusChangeEvent accepts events/%s.json and returns its detail', (name) => {
    const event = readFixture(`events/${name}.json`);
    expect(parseStatusChangeEvent(event)).toEqual(event.detail);
  });

  it('formats the error of the FAILED sample from the errorMessage of its JSON cause', () => {
    const { detail } = readFixture('events/sfn-failed.json') as { detail: { error: string; cause: string } };
    expect(formatExecutionError(detail.error, detail.cause).text).toBe('InvalidInput: asset B11 has no href');
  });

  it.each([
    ['SUCCEEDED', 'sfn-succeeded'],
    ['FAILED', 'sfn-failed'],
  ] as const)('the local stack builds a %s event with the same fields and types as the AWS sample', (status, name) => {
    const sample = readFixture(`events/${name}.json`) as { time: string; detail: JsonObject };
    const d = sample.detail;
    const built = buildStatusChangeEvent(
      {
        executionArn: String(d.executionArn),
        stateMachineArn: String(d.stateMachineArn),
        name: String(d.name),
        status,
        startDate: new Date(Number(d.startDate)),
        stopDate: new Date(Number(d.stopDate)),
        input: String(d.input),
        output: d.output === null ? null : String(d.output),
        error: d.error === null ? null : String(d.error),
        cause: d.cause === null ? null : String(d.cause),
      },
      'us-west-2',
      '123456789012',
    );
    expect(shape(built)).toEqual(shape(sample));
    expect(built.time).toBe(sample.time);
  });
});
