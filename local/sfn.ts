/**
 * A Step Functions endpoint speaking the AWS JSON 1.0 protocol (`AWSStepFunctions.<Action>`),
 * running each execution's ASL definition in-process with `aws-local-stepfunctions`.
 * @module
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { parse as losslessParse, stringify as losslessStringify } from 'lossless-json';
import { asl, collectTaskStates, type AslStateMachine, type StateMachineDefinition, type TaskStateInfo } from './asl';
import { AwsServiceError } from './errors';
import type { ExecutionStatus, TerminalStatus } from './events';
import type { HandlerRegistry } from './handlers';
import { toHistory, type InterpreterEvent } from './history';
import type { JsonObject } from '../shared/json';
import { utf8Length } from '../shared/size';
import { awsJsonListener, optString, reqString } from './http';
import type { TokenBucket } from './throttle';

/** Maximum size of execution input and output (and of state data), as in AWS: 256 KiB. */
export const MAX_EXECUTION_DATA_BYTES = 262144;

/** A read-only view of one execution. */
export interface ExecutionSnapshot {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  input: string;
  output: string | null;
  error: string | null;
  cause: string | null;
  startDate: Date;
  stopDate: Date | null;
}

interface StateMachineRecord {
  arn: string;
  name: string;
  definition: string;
  roleArn: string;
  type: string;
  creationDate: Date;
  machine: AslStateMachine;
  tasks: TaskStateInfo[];
}

interface ExecutionRecord extends ExecutionSnapshot {
  abort?: () => void;
  /** Resolves once the execution ended and its status event was handled (or never will be). */
  settled: Promise<void>;
  markSettled: () => void;
  /** True when the stack shut the execution down: no event is emitted. */
  silent: boolean;
  /** The interpreter's event log so far (GetExecutionHistory). */
  events: InterpreterEvent[];
  roleArn: string;
}

/** Called once per ended execution; the returned promise is the delivery of its status event. */
export type ExecutionEndedListener = (execution: ExecutionSnapshot) => Promise<void>;

// eslint-disable-next-line no-control-regex
const NAME_RE = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]{1,80}$/;

/** The fields DescribeExecution and ListExecutions share. */
function executionSummary(r: ExecutionRecord): Record<string, unknown> {
  return {
    executionArn: r.executionArn,
    stateMachineArn: r.stateMachineArn,
    name: r.name,
    status: r.status,
    startDate: r.startDate,
    ...(r.stopDate ? { stopDate: r.stopDate } : {}),
  };
}

function snapshot(r: ExecutionRecord): ExecutionSnapshot {
  return {
    executionArn: r.executionArn,
    stateMachineArn: r.stateMachineArn,
    name: r.name,
    status: r.status,
    input: r.input,
    output: r.output,
    error: r.error,
    cause: r.cause,
    startDate: r.startDate,
    stopDate: r.stopDate,
  };
}

/** Definition texts that already passed validation in this process. */
const VALIDATED_DEFINITIONS = new Set<string>();

const FAIL_STATE_DEFAULT_CAUSE = 'Execution failed because of a Fail state';

/** Maps the interpreter's rejection of `result` to a Step Functions status, error and cause. */
function classifyFailure(err: unknown): { status: TerminalStatus; error: string | null; cause: string | null } {
  const e = err instanceof Error ? err : new Error(String(err));
  if (e.name === 'ExecutionAbortedError') return { status: 'ABORTED', error: null, cause: null };
  if (e.name === 'ExecutionTimeoutError') return { status: 'TIMED_OUT', error: 'States.Timeout', cause: null };
  const inner = e.name === 'ExecutionError' && e.cause instanceof Error ? e.cause : e;
  if (inner.constructor.name === 'FailStateError') {
    // A Fail state without Error/Cause: AWS reports neither; the interpreter invents defaults.
    return {
      status: 'FAILED',
      error: inner.name === 'FailStateError' ? null : inner.name,
      cause: inner.message === FAIL_STATE_DEFAULT_CAUSE ? null : inner.message,
    };
  }
  return { status: 'FAILED', error: inner.name, cause: inner.message };
}

/** The local Step Functions service. */
export class LocalStepFunctions {
  private readonly machines = new Map<string, StateMachineRecord>();
  private readonly executions = new Map<string, ExecutionRecord>();
  private stopping = false;

  constructor(
    private readonly region: string,
    private readonly account: string,
    private readonly handlers: HandlerRegistry,
    private readonly onEnded: ExecutionEndedListener,
    private readonly activity: { begin(): void; end(): void },
    private readonly validateDefinitions = true,
    /** The StartExecution quota; undefined = unlimited. */
    private readonly startQuota?: TokenBucket,
  ) {}

  /** The HTTP request listener of the endpoint. */
  listener(): http.RequestListener {
    return awsJsonListener('AWSStepFunctions', {
      CreateStateMachine: (b) => this.createStateMachine(b),
      DescribeStateMachine: (b) => this.describeStateMachine(b),
      DeleteStateMachine: (b) => this.deleteStateMachine(b),
      ListStateMachines: () => this.listStateMachines(),
      StartExecution: (b) => this.startExecution(b),
      DescribeExecution: (b) => this.describeExecution(b),
      StopExecution: (b) => this.stopExecution(b),
      ListExecutions: (b) => this.listExecutions(b),
      GetExecutionHistory: (b) => this.getExecutionHistory(b),
    });
  }

  /** ARN of the state machine called `name`. */
  stateMachineArn(name: string): string {
    return `arn:aws:states:${this.region}:${this.account}:stateMachine:${name}`;
  }

  /** Snapshot of one execution, or undefined. */
  execution(arn: string): ExecutionSnapshot | undefined {
    const r = this.executions.get(arn);
    return r && snapshot(r);
  }

  /** Snapshots of every execution started so far. */
  listAll(): ExecutionSnapshot[] {
    return [...this.executions.values()].map(snapshot);
  }

  /** Resolves once the execution ended and its status event was delivered; undefined if unknown. */
  settled(arn: string): Promise<void> | undefined {
    return this.executions.get(arn)?.settled;
  }

  /** Number of executions still RUNNING. */
  runningCount(): number {
    let n = 0;
    for (const r of this.executions.values()) if (r.status === 'RUNNING') n++;
    return n;
  }

  /** Aborts every running execution without emitting events (stack shutdown). */
  shutdown(): void {
    this.stopping = true;
    for (const r of this.executions.values()) {
      if (r.status !== 'RUNNING') continue;
      r.silent = true;
      this.finish(r, 'ABORTED', null, 'States.Aborted', 'local stack stopped');
      r.abort?.();
    }
  }

  private machine(arn: string): StateMachineRecord {
    const m = this.machines.get(arn);
    if (!m) throw new AwsServiceError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return m;
  }

  private record(arn: string): ExecutionRecord {
    const r = this.executions.get(arn);
    if (!r) throw new AwsServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return r;
  }

  private createStateMachine(b: JsonObject): unknown {
    const name = reqString(b, 'name');
    const definition = reqString(b, 'definition');
    const roleArn = reqString(b, 'roleArn');
    const type = optString(b, 'type') ?? 'STANDARD';
    if (!NAME_RE.test(name)) throw new AwsServiceError('InvalidName', `Invalid Name: '${name}'`);
    if (type !== 'STANDARD' && type !== 'EXPRESS') {
      throw new AwsServiceError('ValidationException', `Value '${type}' at 'type' failed to satisfy constraint`);
    }
    const arn = this.stateMachineArn(name);
    const existing = this.machines.get(arn);
    if (existing) {
      if (existing.definition === definition && existing.roleArn === roleArn && existing.type === type) {
        return { stateMachineArn: arn, creationDate: existing.creationDate };
      }
      throw new AwsServiceError('StateMachineAlreadyExists', `State Machine Already Exists: '${arn}'`);
    }
    let parsed: StateMachineDefinition;
    try {
      parsed = JSON.parse(definition) as StateMachineDefinition;
    } catch (err) {
      throw new AwsServiceError('InvalidDefinition', `Invalid State Machine Definition: '${(err as Error).message}'`);
    }
    let machine: AslStateMachine;
    try {
      // asl-validator compiles its JSON schemas on every call (~0.5 s): validate each distinct
      // definition text once per process.
      const skip = !this.validateDefinitions || VALIDATED_DEFINITIONS.has(definition);
      machine = new (asl().StateMachine)(parsed, skip ? { validationOptions: { noValidate: true } } : undefined);
      VALIDATED_DEFINITIONS.add(definition);
    } catch (err) {
      throw new AwsServiceError('InvalidDefinition', `Invalid State Machine Definition: '${(err as Error).message}'`);
    }
    const creationDate = new Date();
    this.machines.set(arn, { arn, name, definition, roleArn, type, creationDate, machine, tasks: collectTaskStates(parsed) });
    return { stateMachineArn: arn, creationDate };
  }

  private describeStateMachine(b: JsonObject): unknown {
    const m = this.machine(reqString(b, 'stateMachineArn'));
    return {
      stateMachineArn: m.arn,
      name: m.name,
      status: 'ACTIVE',
      definition: m.definition,
      roleArn: m.roleArn,
      type: m.type,
      creationDate: m.creationDate,
    };
  }

  private deleteStateMachine(b: JsonObject): unknown {
    this.machines.delete(reqString(b, 'stateMachineArn'));
    return {};
  }

  private listStateMachines(): unknown {
    return {
      stateMachines: [...this.machines.values()].map((m) => ({
        stateMachineArn: m.arn,
        name: m.name,
        type: m.type,
        creationDate: m.creationDate,
      })),
    };
  }

  private startExecution(b: JsonObject): unknown {
    // AWS throttles before it looks at the request: a throttled call changes nothing.
    this.startQuota?.take();
    const { machine, stateMachineArn, name, input, parsedInput } = this.checkStartRequest(b);
    const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      // AWS is idempotent for the same name and input while the execution is running.
      if (existing.status === 'RUNNING' && existing.input === input) {
        return { executionArn, startDate: existing.startDate };
      }
      throw new AwsServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const record = this.newExecution(machine, executionArn, name, input);
    this.run(machine, record, parsedInput);
    return { executionArn, startDate: record.startDate };
  }

  /** The StartExecution request's fields, checked in the order AWS checks them. */
  private checkStartRequest(b: JsonObject): { machine: StateMachineRecord; stateMachineArn: string; name: string; input: string; parsedInput: unknown } {
    const stateMachineArn = reqString(b, 'stateMachineArn');
    const name = optString(b, 'name') ?? randomUUID();
    const input = optString(b, 'input') ?? '{}';
    if (this.stopping) throw new AwsServiceError('ServiceUnavailable', 'the local stack is stopping', 503);
    const machine = this.machine(stateMachineArn);
    if (!NAME_RE.test(name)) throw new AwsServiceError('InvalidName', `Invalid Name: '${name}'`);
    if (utf8Length(input) > MAX_EXECUTION_DATA_BYTES) {
      throw new AwsServiceError(
        'ValidationException',
        `1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to ${MAX_EXECUTION_DATA_BYTES}`,
      );
    }
    let parsedInput: unknown;
    try {
      parsedInput = JSON.parse(input);
    } catch (err) {
      throw new AwsServiceError('InvalidExecutionInput', `Invalid State Machine Execution Input: '${(err as Error).message}'`);
    }
    return { machine, stateMachineArn, name, input, parsedInput };
  }

  /** Records a new RUNNING execution; the stack stays busy until it settles. */
  private newExecution(machine: StateMachineRecord, executionArn: string, name: string, input: string): ExecutionRecord {
    const stateMachineArn = machine.arn;
    let markSettled!: () => void;
    const settled = new Promise<void>((resolve) => (markSettled = resolve));
    const record: ExecutionRecord = {
      executionArn,
      stateMachineArn,
      name,
      status: 'RUNNING',
      input,
      output: null,
      error: null,
      cause: null,
      startDate: new Date(),
      stopDate: null,
      settled,
      markSettled,
      silent: false,
      events: [],
      roleArn: machine.roleArn,
    };
    this.executions.set(executionArn, record);
    this.activity.begin();
    void settled.then(() => this.activity.end());
    return record;
  }

  /** Runs the execution in the ASL interpreter, task states calling the registered handlers, and finishes its record. */
  private run(machine: StateMachineRecord, record: ExecutionRecord, parsedInput: unknown): void {
    const { executionArn, stateMachineArn, name, input } = record;
    const overrides: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const task of machine.tasks) {
      if (overrides[task.stateName]) continue; // same state name in several branches: first wins
      overrides[task.stateName] = (taskInput) =>
        this.handlers.invoke(
          { stateName: task.stateName, resource: task.resource, executionArn, stateMachineArn },
          taskInput,
        );
    }
    try {
      const run = machine.machine.run(parsedInput as Parameters<AslStateMachine['run']>[0], {
        overrides: { taskResourceLocalHandlers: overrides as never },
        context: {
          Execution: { Id: executionArn, Name: name, RoleArn: machine.roleArn },
          StateMachine: { Id: stateMachineArn, Name: machine.name },
        },
      });
      record.abort = run.abort;
      void (async () => {
        for await (const e of run.eventLogs) record.events.push(e as InterpreterEvent);
      })().catch(() => undefined);
      run.result.then(
        (output) => {
          const text = outputText(output, parsedInput, input);
          if (utf8Length(text) > MAX_EXECUTION_DATA_BYTES) {
            this.finish(
              record,
              'FAILED',
              null,
              'States.DataLimitExceeded',
              'The state/task returned a result with a size exceeding the maximum number of bytes service limit.',
            );
          } else {
            this.finish(record, 'SUCCEEDED', text, null, null);
          }
        },
        (err: unknown) => {
          const f = classifyFailure(err);
          this.finish(record, f.status, null, f.error, f.cause);
        },
      );
    } catch (err) {
      const f = classifyFailure(err);
      this.finish(record, 'FAILED', null, f.error ?? 'States.Runtime', f.cause);
    }
  }

  /** Moves a running execution to a terminal status (once) and hands it to the listener. */
  private finish(r: ExecutionRecord, status: TerminalStatus, output: string | null, error: string | null, cause: string | null): void {
    if (r.status !== 'RUNNING') return;
    r.status = status;
    r.output = status === 'SUCCEEDED' ? output : null;
    r.error = error;
    r.cause = cause;
    r.stopDate = new Date();
    if (r.silent) {
      r.markSettled();
      return;
    }
    const view = snapshot(r);
    // Deliver after the current call stack (e.g. after the StopExecution response is built).
    setImmediate(() => {
      this.onEnded(view).then(r.markSettled, r.markSettled);
    });
  }

  private describeExecution(b: JsonObject): unknown {
    const r = this.record(reqString(b, 'executionArn'));
    return {
      ...executionSummary(r),
      input: r.input,
      inputDetails: { included: true },
      ...(r.status === 'SUCCEEDED' ? { output: r.output, outputDetails: { included: true } } : {}),
      ...(r.error !== null ? { error: r.error } : {}),
      ...(r.cause !== null ? { cause: r.cause } : {}),
      redriveCount: 0,
      redriveStatus: 'NOT_REDRIVABLE',
    };
  }

  private stopExecution(b: JsonObject): unknown {
    const r = this.record(reqString(b, 'executionArn'));
    const error = optString(b, 'error') ?? null;
    const cause = optString(b, 'cause') ?? null;
    if (r.status === 'RUNNING') {
      this.finish(r, 'ABORTED', null, error, cause);
      r.abort?.();
    }
    return { stopDate: r.stopDate ?? new Date() };
  }

  private listExecutions(b: JsonObject): unknown {
    const arn = reqString(b, 'stateMachineArn');
    this.machine(arn);
    const statusFilter = optString(b, 'statusFilter');
    return {
      executions: [...this.executions.values()]
        .filter((r) => r.stateMachineArn === arn && (!statusFilter || r.status === statusFilter))
        .sort((a, c) => c.startDate.getTime() - a.startDate.getTime())
        .map(executionSummary),
    };
  }

  /** GetExecutionHistory: the events so far, `reverseOrder`, `maxResults` / `nextToken` pages. */
  private getExecutionHistory(b: JsonObject): unknown {
    const r = this.record(reqString(b, 'executionArn'));
    const all = toHistory(r.events, r.roleArn);
    if (b.reverseOrder === true) all.reverse();
    const start = Number(optString(b, 'nextToken') ?? 0);
    const max = typeof b.maxResults === 'number' && b.maxResults > 0 ? b.maxResults : 1000;
    const page = all.slice(start, start + max);
    const next = start + max < all.length ? { nextToken: String(start + max) } : {};
    return { events: b.includeExecutionData === false ? page.map(withoutData) : page, ...next };
  }
}

/** An event without its input and output (`includeExecutionData: false`). */
function withoutData(e: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) {
    if (v && typeof v === 'object' && !(v instanceof Date)) {
      const { input: _i, output: _o, ...rest } = v as Record<string, unknown>;
      out[k] = rest;
    } else out[k] = v;
  }
  return out;
}

/**
 * The output text of an execution. Step Functions keeps the exact text of the numbers a workflow
 * passes through (`12345678901234567890` and `1.0` stay as they are), where JavaScript would round
 * them: when the output is the input unchanged, it is the input's text (compact, numbers as written).
 */
function outputText(output: unknown, parsedInput: unknown, input: string): string {
  const text = JSON.stringify(output ?? null);
  if (text !== JSON.stringify(parsedInput)) return text;
  try {
    return losslessStringify(losslessParse(input)) as string;
  } catch {
    return text; // a key given twice: JavaScript's reading (the last value wins)
  }
}
