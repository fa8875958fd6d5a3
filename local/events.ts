/**
 * The EventBridge "Step Functions Execution Status Change" event, built exactly as AWS sends it.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { utf8Length } from '../shared/size';

/** Terminal execution statuses (the ones that produce a status-change event here). */
export type TerminalStatus = 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** Every Step Functions execution status. */
export type ExecutionStatus = 'RUNNING' | TerminalStatus;

/** `detail` of a status-change event. */
export interface StatusChangeDetail {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: TerminalStatus;
  /** Epoch milliseconds. */
  startDate: number;
  /** Epoch milliseconds. */
  stopDate: number;
  /** The execution input (JSON text), or `null` when not included. */
  input: string | null;
  /** The execution output (JSON text) of a SUCCEEDED execution, else `null`. */
  output: string | null;
  inputDetails: { included: boolean };
  /** `{included}` for SUCCEEDED executions; `null` for the others, as AWS sends it. */
  outputDetails: { included: boolean } | null;
  error: string | null;
  cause: string | null;
}

/** An EventBridge "Step Functions Execution Status Change" event. */
export interface StepFunctionsStatusChangeEvent {
  version: '0';
  id: string;
  'detail-type': 'Step Functions Execution Status Change';
  source: 'aws.states';
  account: string;
  /** ISO-8601 UTC, whole seconds (`2019-02-26T19:42:21Z`). */
  time: string;
  region: string;
  resources: string[];
  detail: StatusChangeDetail;
}

/**
 * Size budget, in bytes, for the escaped input and output carried by one event: 248 KiB (the
 * 256 KiB EventBridge event limit minus room for the envelope).
 */
export const STATUS_EVENT_DATA_LIMIT_BYTES = 248 * 1024;

/** UTF-8 size of `s` once embedded in JSON as a string (i.e. `JSON.stringify(s)`). */
export function escapedSize(s: string | null): number {
  return s === null ? 0 : utf8Length(JSON.stringify(s));
}

/** What an ended execution contributes to its event. */
export interface EndedExecution {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: TerminalStatus;
  startDate: Date;
  stopDate: Date;
  input: string;
  output: string | null;
  error: string | null;
  cause: string | null;
}

/**
 * Builds the status-change event of an ended execution.
 *
 * Size rule (what this stack does, modelled on AWS): with `in` and `out` the escaped UTF-8
 * sizes of input and output ({@link escapedSize}), if `in + out` exceeds
 * {@link STATUS_EVENT_DATA_LIMIT_BYTES} the input is dropped (`input: null`,
 * `inputDetails.included: false`); if the output alone still exceeds the limit it is dropped
 * too (`output: null`, `outputDetails.included: false`). Consumers read dropped data back with
 * `DescribeExecution`.
 */
export function buildStatusChangeEvent(
  e: EndedExecution,
  region: string,
  account: string,
): StepFunctionsStatusChangeEvent {
  const output = e.status === 'SUCCEEDED' ? e.output : null;
  let input: string | null = e.input;
  let outputOut: string | null = output;
  let inputIncluded = true;
  let outputIncluded = true;
  const inSize = escapedSize(input);
  const outSize = escapedSize(output);
  if (inSize + outSize > STATUS_EVENT_DATA_LIMIT_BYTES) {
    input = null;
    inputIncluded = false;
    if (outSize > STATUS_EVENT_DATA_LIMIT_BYTES) {
      outputOut = null;
      outputIncluded = false;
    }
  }
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account,
    time: e.stopDate.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [e.executionArn],
    detail: {
      executionArn: e.executionArn,
      stateMachineArn: e.stateMachineArn,
      name: e.name,
      status: e.status,
      startDate: e.startDate.getTime(),
      stopDate: e.stopDate.getTime(),
      input,
      output: outputOut,
      inputDetails: { included: inputIncluded },
      outputDetails: e.status === 'SUCCEEDED' ? { included: outputIncluded } : null,
      error: e.error,
      cause: e.cause,
    },
  };
}
