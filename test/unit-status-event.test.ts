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

/**
 * Cirrus's `workflow_failed` text for each cause, as CPython 3.11 prints it (`json.loads`, then
 * `"errorMessage" in cause`, then an f-string of the value; the raw cause where that raises).
 * Computed with Python beside each case; the error name is "E" throughout.
 */
const CIRRUS_ERROR_TEXTS: [cause: string, text: string][] = [
  ['{"errorMessage": "boom"}', 'E: boom'],
  ['{"errorMessage": null}', 'E: None'],
  ['{"errorMessage": {"a": 1, "b": [1.0, "x\'y", true]}}', 'E: {\'a\': 1, \'b\': [1.0, "x\'y", True]}'],
  ['{"errorMessage": 1e16}', 'E: 1e+16'],
  ['{"errorMessage": 0.0001}', 'E: 0.0001'],
  ['{"errorMessage": 12345678901234567890}', 'E: 12345678901234567890'],
  ['{"errorMessage": 2.5}', 'E: 2.5'],
  ['{"errorMessage": 1E3}', 'E: 1000.0'],
  ['{"errorMessage": -0.0}', 'E: -0.0'],
  ['{"errorMessage": 1.5e-7}', 'E: 1.5e-07'],
  ['{"errorMessage": ["a\\nb", "\\u00e9"]}', "E: ['a\\nb', 'é']"],
  ['{"other": 1}', 'E: unknown'],
  ['"just text"', 'E: unknown'],
  ['"has errorMessage inside"', 'E: "has errorMessage inside"'],
  ['["a"]', 'E: unknown'],
  ['["errorMessage"]', 'E: ["errorMessage"]'],
  ['5', 'E: 5'],
  ['1.0', 'E: 1.0'],
  ['null', 'E: null'],
  ['true', 'E: true'],
  ['not json', 'E: not json'],
];

describe('formatExecutionError writes the text Cirrus writes for every kind of cause', () => {
  it.each(CIRRUS_ERROR_TEXTS)('cause %s → %s', (cause, text) => {
    expect(formatExecutionError('E', cause).text).toBe(text);
  });
});
