/**
 * Local handlers for Task states: Lambda functions run in-process, and raw per-state overrides.
 * @module
 */
import { randomUUID } from 'node:crypto';

/** The Lambda context object given to local Lambda handlers (the commonly used fields). */
export interface LocalLambdaContext {
  callbackWaitsForEmptyEventLoop: boolean;
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  /** Milliseconds left before the (local, 15 min) function timeout. */
  getRemainingTimeInMillis(): number;
}

/**
 * The context of one invocation of function `name`: a new request id and log stream, and the time
 * left counted down from now to `timeoutMs`.
 */
export function lambdaContext(name: string, invokedFunctionArn: string, memoryMb: number, timeoutMs: number): LocalLambdaContext {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: `local/${randomUUID()}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

/**
 * A Lambda function run in-process: `(event, context) => result` (sync or async). Any handler
 * typed for a specific event (`(event: MyEvent, context: Context) => …`) is accepted.
 */
export type LocalLambdaHandler = {
  bivarianceHack(event: unknown, context: LocalLambdaContext): unknown;
}['bivarianceHack'];

/** What a raw Task handler learns about the state it replaces. */
export interface TaskInvocationInfo {
  stateName: string;
  resource: string;
  executionArn: string;
  stateMachineArn: string;
}

/**
 * A raw Task state override: receives the state's effective input (after `InputPath` and
 * `Parameters`) and returns the state's result (before `ResultSelector`/`ResultPath`), with no
 * Lambda wrapping.
 */
export type LocalTaskHandler = {
  bivarianceHack(input: unknown, info: TaskInvocationInfo): unknown;
}['bivarianceHack'];

/** Handlers that apply to one workflow (or, at stack level, to all). */
export interface HandlerSet {
  /** Keyed by Lambda function name or ARN (a qualifier such as `:live` is ignored). */
  lambdaHandlers?: Record<string, LocalLambdaHandler>;
  /** Keyed by Task state name, or by a Task `Resource` string; wins over `lambdaHandlers`. */
  taskHandlers?: Record<string, LocalTaskHandler>;
}

/** The Step Functions service integration for synchronous Lambda invocation. */
export const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';

/**
 * The bare function name of a Lambda name or ARN: `name`, `name:qualifier`,
 * `123456789012:function:name`, `arn:aws:lambda:<region>:<acct>:function:name[:qualifier]`.
 */
export function lambdaFunctionName(nameOrArn: string): string {
  const m = /(?:^|:)function:([^:]+)/.exec(nameOrArn);
  if (m) return m[1];
  return nameOrArn.split(':')[0];
}

/** An error surfaced to the ASL interpreter with a Step Functions error name and cause. */
function stepFunctionsError(name: string, cause: string): Error {
  const err = new Error(cause);
  err.name = name;
  return err;
}

/** Serialises a thrown value the way the Node.js Lambda runtime reports it. */
function lambdaErrorCause(err: unknown): { errorType: string; cause: string } {
  const e = err instanceof Error ? err : new Error(typeof err === 'string' ? err : JSON.stringify(err));
  const errorType = e.name || 'Error';
  const trace = (e.stack ?? '').split('\n');
  return { errorType, cause: JSON.stringify({ errorType, errorMessage: e.message, trace }) };
}

/** JSON round trip, as a Lambda invocation serialises its result (`undefined` becomes `null`). */
function jsonRoundTrip(v: unknown): unknown {
  return v === undefined ? null : JSON.parse(JSON.stringify(v));
}

/** Counts handler calls in flight so that the stack can wait for them. */
export interface ActivityCounter {
  begin(): void;
  end(): void;
}

/**
 * Resolves and invokes the local handler of a Task state, with Lambda semantics:
 * `arn:aws:states:::lambda:invoke` returns `{ExecutedVersion, Payload, StatusCode, …}`; a direct
 * `arn:aws:lambda:…:function:<name>` resource returns the function result; a handler error fails
 * the state with `Error` = the error's name and `Cause` = `{"errorType","errorMessage","trace"}`.
 */
export class HandlerRegistry {
  private readonly stackLambdas = new Map<string, LocalLambdaHandler>();
  private readonly stackTasks = new Map<string, LocalTaskHandler>();
  private readonly workflows = new Map<string, { lambdas: Map<string, LocalLambdaHandler>; tasks: Map<string, LocalTaskHandler> }>();

  constructor(
    private readonly region: string,
    private readonly account: string,
    private readonly activity: ActivityCounter,
    stack: HandlerSet = {},
  ) {
    for (const [k, h] of Object.entries(stack.lambdaHandlers ?? {})) this.setLambdaHandler(k, h);
    for (const [k, h] of Object.entries(stack.taskHandlers ?? {})) this.stackTasks.set(k, h);
  }

  /** Adds or replaces a stack-wide Lambda handler. */
  setLambdaHandler(nameOrArn: string, handler: LocalLambdaHandler): void {
    this.stackLambdas.set(nameOrArn, handler);
    this.stackLambdas.set(lambdaFunctionName(nameOrArn), handler);
  }

  /** Adds or replaces a stack-wide raw Task handler (by state name or resource). */
  setTaskHandler(stateNameOrResource: string, handler: LocalTaskHandler): void {
    this.stackTasks.set(stateNameOrResource, handler);
  }

  /** Sets the handlers specific to one state machine (by its ARN). */
  setWorkflowHandlers(stateMachineArn: string, set: HandlerSet): void {
    const lambdas = new Map<string, LocalLambdaHandler>();
    for (const [k, h] of Object.entries(set.lambdaHandlers ?? {})) {
      lambdas.set(k, h);
      lambdas.set(lambdaFunctionName(k), h);
    }
    this.workflows.set(stateMachineArn, { lambdas, tasks: new Map(Object.entries(set.taskHandlers ?? {})) });
  }

  private findTask(stateMachineArn: string, stateName: string, resource: string): LocalTaskHandler | undefined {
    const wf = this.workflows.get(stateMachineArn);
    return wf?.tasks.get(stateName) ?? this.stackTasks.get(stateName) ?? wf?.tasks.get(resource) ?? this.stackTasks.get(resource);
  }

  private findLambda(stateMachineArn: string, fn: string): LocalLambdaHandler | undefined {
    const wf = this.workflows.get(stateMachineArn);
    const name = lambdaFunctionName(fn);
    return wf?.lambdas.get(fn) ?? wf?.lambdas.get(name) ?? this.stackLambdas.get(fn) ?? this.stackLambdas.get(name);
  }

  /** Runs the Task state `info` with its effective `input`; returns the state result. */
  async invoke(info: TaskInvocationInfo, input: unknown): Promise<unknown> {
    this.activity.begin();
    try {
      const raw = this.findTask(info.stateMachineArn, info.stateName, info.resource);
      if (raw) return jsonRoundTrip(await raw(jsonRoundTrip(input), info));

      const isInvoke = info.resource === LAMBDA_INVOKE;
      const isFunctionArn = /^arn:aws[a-z-]*:lambda:[^:]*:[^:]*:function:/.test(info.resource);
      if (!isInvoke && !isFunctionArn) {
        throw stepFunctionsError(
          'States.Runtime',
          `local stack: no task handler for state ${JSON.stringify(info.stateName)} (resource ${info.resource}); ` +
            'register one in taskHandlers by state name or resource',
        );
      }
      let fn = info.resource;
      let event: unknown = input;
      if (isInvoke) {
        const params = (input && typeof input === 'object' ? input : {}) as { FunctionName?: unknown; Payload?: unknown };
        if (typeof params.FunctionName !== 'string') {
          throw stepFunctionsError('States.Runtime', `state ${info.stateName}: lambda:invoke needs Parameters.FunctionName`);
        }
        fn = params.FunctionName;
        event = params.Payload === undefined ? {} : params.Payload;
      }
      const handler = this.findLambda(info.stateMachineArn, fn);
      if (!handler) {
        throw stepFunctionsError(
          'Lambda.ResourceNotFoundException',
          `Function not found: ${fn} (local stack: register it in lambdaHandlers)`,
        );
      }
      const name = lambdaFunctionName(fn);
      const arn = fn.startsWith('arn:') ? fn : `arn:aws:lambda:${this.region}:${this.account}:function:${name}`;
      const context = lambdaContext(name, arn, 1024, 15 * 60 * 1000);
      let result: unknown;
      try {
        result = jsonRoundTrip(await handler(jsonRoundTrip(event), context));
      } catch (err) {
        const { errorType, cause } = lambdaErrorCause(err);
        throw stepFunctionsError(errorType, cause);
      }
      if (!isInvoke) return result;
      return {
        ExecutedVersion: '$LATEST',
        Payload: result,
        SdkHttpMetadata: { HttpHeaders: { 'Content-Type': 'application/json' }, HttpStatusCode: 200 },
        SdkResponseMetadata: { RequestId: context.awsRequestId },
        StatusCode: 200,
      };
    } finally {
      this.activity.end();
    }
  }
}
