/**
 * Benchmark middleware on the SDK clients of the handlers' runtime (`shared/runtime.ts`): a fixed
 * delay before every request (a stand-in for the network round trip to AWS) and a counter of calls
 * by operation. Both are added to the very clients the process and update-state handlers use, so
 * the code under test is not changed in any way.
 * @module
 */
import type { MetadataBearer, MiddlewareStack } from '@smithy/types';
import { handlerRuntime } from '../shared/runtime';

/** One counted call. */
export interface CountedCall {
  /** Operation name without the `Command` suffix, e.g. `PutObject`. */
  operation: string;
  /** For SNS PublishBatch / SQS SendMessageBatch: the topic or queue it went to. */
  target?: string;
  /** For StartExecution: the ARN of the execution it starts. */
  executionArn?: string;
}

/** Calls counted by key: by operation (`{ PutObject: 2, UpdateItem: 2 }`) or by destination. */
export type CallTally = Record<string, number>;

/** Mutable settings read by the middleware on every call. */
export interface AwsCallInstrumentation {
  /** Added before every request attempt (after signing is prepared, before sending), in ms. */
  delayMs: number;
  /** Calls made since the last {@link AwsCallInstrumentation.reset}. */
  calls: CountedCall[];
  /** Forgets the counted calls. */
  reset(): void;
  /** Calls by operation, e.g. `{ PutObject: 2, UpdateItem: 2 }`, sorted by name. */
  byOperation(filter?: (c: CountedCall) => boolean): CallTally;
  /**
   * Instruments the clients of the handlers' runtime for the current environment (once per
   * runtime). Call it again after changing a `CIRRUS_*` or `AWS_*` variable: the handlers then
   * get a new runtime, with new clients, that would otherwise go uncounted.
   */
  attach(): void;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function describe(operation: string, input: unknown): CountedCall {
  const call: CountedCall = { operation };
  if (typeof input !== 'object' || input === null) return call;
  const i = input as { TopicArn?: unknown; QueueUrl?: unknown; stateMachineArn?: unknown; name?: unknown };
  if (typeof i.TopicArn === 'string') call.target = i.TopicArn;
  if (typeof i.QueueUrl === 'string') call.target = i.QueueUrl;
  if (operation === 'StartExecution' && typeof i.stateMachineArn === 'string' && typeof i.name === 'string') {
    call.executionArn = `${i.stateMachineArn.replace(':stateMachine:', ':execution:')}:${i.name}`;
  }
  return call;
}

/** Adds the delay and the counter to one client's middleware stack. */
function instrument<I extends object, O extends MetadataBearer>(stack: MiddlewareStack<I, O>, state: AwsCallInstrumentation): void {
  stack.add(
    (next, context) => async (args) => {
      state.calls.push(describe((context.commandName ?? 'Unknown').replace(/Command$/, ''), args.input));
      return next(args);
    },
    { step: 'initialize', name: 'benchCount' },
  );
  stack.add(
    (next) => async (args) => {
      if (state.delayMs > 0) await sleep(state.delayMs);
      return next(args);
    },
    { step: 'finalizeRequest', name: 'benchDelay' },
  );
}

/**
 * Instruments the clients of the handlers' runtime for the current environment (building that
 * runtime if needed); after a change of environment, {@link AwsCallInstrumentation.attach} does the
 * same for the runtime the handlers build next. The DynamoDB document client shares its middleware
 * stack with the base client, so it is instrumented once.
 */
export function instrumentHandlerClients(delayMs = 0): AwsCallInstrumentation {
  const instrumented = new WeakSet<object>();
  const state: AwsCallInstrumentation = {
    delayMs,
    calls: [],
    reset() {
      state.calls = [];
    },
    attach() {
      // The clients the handlers use: their runtime's (shared/runtime.ts), built here if not yet.
      const clients = handlerRuntime(process.env).clients;
      if (instrumented.has(clients)) return;
      instrumented.add(clients);
      instrument(clients.s3.middlewareStack, state);
      instrument(clients.dynamoDoc.middlewareStack, state);
      instrument(clients.sfn.middlewareStack, state);
      instrument(clients.sns.middlewareStack, state);
      instrument(clients.sqs.middlewareStack, state);
    },
    byOperation(filter = () => true) {
      const out: CallTally = {};
      for (const c of state.calls.filter(filter)) out[c.operation] = (out[c.operation] ?? 0) + 1;
      return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
    },
  };
  state.attach();
  return state;
}
