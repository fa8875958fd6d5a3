/**
 * Fault injection for AWS SDK v3 clients: a pair of middlewares that record every call
 * and fail (or delay) chosen ones, by service + command name + nth matching call.
 *
 * How the faults meet the SDK's own retries: the rule is chosen once per *logical* call (in the
 * `initialize` step, before the retry middleware), and the failure is raised *inside* the retry
 * loop (right after `retryMiddleware`), on every attempt by default. So the SDK sees a real
 * throttling / 5xx / timeout error, classifies it as retryable and retries it with its default
 * strategy (3 attempts), and every attempt fails: the call fails the way it would after the SDK
 * gave up. `attempts: 1` fails only the first attempt instead (the SDK's retry then goes through).
 *
 * Error shapes, as the SDK raises them:
 * - `throttle`: `ThrottlingException` (S3: `SlowDown`, 503), `$retryable: { throttling: true }`.
 * - `5xx`: `InternalServerError` 500 (DynamoDB), `InternalError` 500 (S3, SNS),
 *   `ServiceUnavailable` 503 (Step Functions, SQS); `$fault: 'server'`.
 * - `timeout`: `TimeoutError` with `code: 'ETIMEDOUT'` (a socket timeout). By default raised
 *   *after* the request reached the service (the response was lost): the call's side effect
 *   happened, the caller cannot know it did. `when: 'before'` raises it before sending.
 */
import { handlerRuntime } from '../../shared/runtime';

/** A service of the local stack. */
export type ServiceName = 's3' | 'dynamodb' | 'sfn' | 'sns' | 'sqs';

/** What kind of failure to inject. */
export type FaultKind = 'throttle' | '5xx' | 'timeout';

/** Every fault kind, in a fixed order (for tables). */
export const FAULT_KINDS: readonly FaultKind[] = ['throttle', '5xx', 'timeout'];

/** A rule: which logical calls to act on, and what to do with them. */
export interface FaultRule {
  service: ServiceName;
  /** Command name, with or without the `Command` suffix (`PutObject`, `UpdateItemCommand`). */
  command: string;
  /** Only calls whose input satisfies this count as matching. */
  match?: (input: Record<string, unknown>) => boolean;
  /** Act on the nth matching call counted from when the rule was added (1-based). Default 1. */
  nth?: number;
  /** How many matching calls, from the nth on, to act on. Default 1; `Infinity` for all. */
  count?: number;
  /** The failure; leave out to only delay or run `before`. */
  fail?: FaultKind;
  /** `'all'` (default): every attempt of the call fails; a number n: only its first n attempts. */
  attempts?: 'all' | number;
  /** When to raise the error: before sending, or after the service handled the request. */
  when?: 'before' | 'after';
  /** Delay (ms) before the call is sent, once per logical call. */
  delayMs?: number | (() => number);
  /** Runs before the call is sent (for example a competing write), once per logical call. */
  before?: (input: Record<string, unknown>) => Promise<void> | void;
}

/** A rule once added, with what it did. */
export interface ArmedRule extends FaultRule {
  /** Matching logical calls seen since the rule was added. */
  seen: number;
  /** Logical calls the rule acted on. */
  hits: number;
  /** Attempts the rule failed (the SDK retries count here). */
  attemptsFailed: number;
  /** Stops the rule acting on further calls. */
  disarm(): void;
}

/** One recorded logical call. */
export interface CallRecord {
  service: ServiceName;
  command: string;
  input: Record<string, unknown>;
  /** Attempts the SDK made (1 + its retries). */
  attempts: number;
  /** True when the call resolved (after any retries). */
  ok: boolean;
  /** The name of the error the call ended with. */
  error?: string;
  /** The fault injected into this call, if any. */
  injected?: FaultKind;
  /** Resolves when the call ended. */
  done: Promise<void>;
}

/** Error raised by an injected fault, shaped like an SDK service exception. */
export class InjectedFault extends Error {
  readonly $fault: 'client' | 'server';
  readonly $metadata: { httpStatusCode?: number; requestId: string; attempts?: number };
  readonly $retryable?: { throttling?: boolean };
  readonly code?: string;
  readonly injected = true;

  constructor(kind: FaultKind, service: ServiceName, command: string) {
    const spec = faultShape(kind, service);
    super(`injected ${kind} fault: ${service} ${command} (${spec.name})`);
    this.name = spec.name;
    this.$fault = spec.fault;
    this.$metadata = { httpStatusCode: spec.status, requestId: `injected-${Math.random().toString(16).slice(2)}` };
    if (kind === 'throttle') this.$retryable = { throttling: true };
    if (kind === 'timeout') this.code = 'ETIMEDOUT';
  }
}

function faultShape(kind: FaultKind, service: ServiceName): { name: string; status?: number; fault: 'client' | 'server' } {
  switch (kind) {
    case 'throttle':
      return service === 's3' ? { name: 'SlowDown', status: 503, fault: 'server' } : { name: 'ThrottlingException', status: 400, fault: 'client' };
    case '5xx':
      if (service === 'dynamodb') return { name: 'InternalServerError', status: 500, fault: 'server' };
      if (service === 's3' || service === 'sns') return { name: 'InternalError', status: 500, fault: 'server' };
      return { name: 'ServiceUnavailable', status: 503, fault: 'server' };
    case 'timeout':
      return { name: 'TimeoutError', fault: 'client' };
  }
}

/** The part of an SDK client this module needs. */
interface StackHolder {
  middlewareStack: {
    add(mw: unknown, options: Record<string, unknown>): void;
    addRelativeTo(mw: unknown, options: Record<string, unknown>): void;
    remove(name: string): boolean;
  };
}

type Handler = (args: { input: Record<string, unknown> }) => Promise<unknown>;
type Context = Record<string, unknown> & { commandName?: string };

const STATE = Symbol('faults');

interface CallState {
  /** The rule whose failure this call gets, if any. */
  rule?: ArmedRule;
  record: CallRecord;
}

/** The input as recorded: long strings (object bodies, execution input) are summarised. */
function lightInput(input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input ?? {})) out[k] = typeof v === 'string' && v.length > 2048 ? `[${v.length} characters]` : v;
  return out;
}

let installs = 0;

/** The recorder and fault injector installed on a set of clients. */
export class FaultInjector {
  /** Every logical call, in the order they were sent. */
  readonly calls: CallRecord[] = [];
  private readonly rules: ArmedRule[] = [];
  private readonly names: string[];

  constructor(private readonly clients: Partial<Record<ServiceName, StackHolder>>) {
    installs++;
    const callName = `faultsCall${installs}`;
    const attemptName = `faultsAttempt${installs}`;
    this.names = [callName, attemptName];
    for (const [service, client] of Object.entries(clients) as [ServiceName, StackHolder][]) {
      client.middlewareStack.add(this.callMiddleware(service), { step: 'initialize', priority: 'high', name: callName });
      client.middlewareStack.addRelativeTo(this.attemptMiddleware(service), {
        relation: 'after',
        toMiddleware: 'retryMiddleware',
        name: attemptName,
      });
    }
  }

  /** Adds a rule; it acts on the nth matching call from now on. */
  inject(rule: FaultRule): ArmedRule {
    const armed: ArmedRule = {
      nth: 1,
      count: 1,
      attempts: 'all',
      ...rule,
      command: stripCommand(rule.command),
      seen: 0,
      hits: 0,
      attemptsFailed: 0,
      disarm: () => {
        const i = this.rules.indexOf(armed);
        if (i !== -1) this.rules.splice(i, 1);
      },
    };
    this.rules.push(armed);
    return armed;
  }

  /** Removes every rule (the recording goes on). */
  clearRules(): void {
    this.rules.splice(0);
  }

  /** Recorded calls of a service and command, optionally filtered by input. */
  callsOf(service: ServiceName, command: string, match?: (input: Record<string, unknown>) => boolean): CallRecord[] {
    const c = stripCommand(command);
    return this.calls.filter((r) => r.service === service && r.command === c && (!match || match(r.input)));
  }

  /** Recorded calls that resolved. */
  successes(service: ServiceName, command: string, match?: (input: Record<string, unknown>) => boolean): CallRecord[] {
    return this.callsOf(service, command, match).filter((r) => r.ok);
  }

  /** Waits until every recorded call has ended. */
  async settled(): Promise<void> {
    await Promise.all(this.calls.map((c) => c.done));
  }

  /** Takes the middlewares off the clients. */
  uninstall(): void {
    for (const client of Object.values(this.clients)) {
      for (const name of this.names) client?.middlewareStack.remove(name);
    }
    this.rules.splice(0);
  }

  /** The rules acting on this call (every matching rule counts the call as seen). */
  private pick(service: ServiceName, command: string, input: Record<string, unknown>): ArmedRule[] {
    const acting: ArmedRule[] = [];
    for (const rule of this.rules) {
      if (rule.service !== service || rule.command !== command) continue;
      if (rule.match && !rule.match(input)) continue;
      rule.seen++;
      const from = rule.nth ?? 1;
      if (rule.seen >= from && rule.seen < from + (rule.count ?? 1)) {
        rule.hits++;
        acting.push(rule);
      }
    }
    return acting;
  }

  private callMiddleware(service: ServiceName) {
    return (next: Handler, context: Context) =>
      async (args: { input: Record<string, unknown> }): Promise<unknown> => {
        const command = stripCommand(context.commandName ?? 'Unknown');
        let finish!: () => void;
        const record: CallRecord = {
          service,
          command,
          input: lightInput(args.input),
          attempts: 0,
          ok: false,
          done: new Promise<void>((r) => (finish = r)),
        };
        this.calls.push(record);
        const acting = this.pick(service, command, args.input);
        // Every acting rule delays and runs its hook; the first one with a failure fails the call.
        const rule = acting.find((r) => r.fail !== undefined);
        const state: CallState = { rule, record };
        context[STATE as unknown as string] = state;
        if (rule?.fail) record.injected = rule.fail;
        try {
          for (const r of acting) {
            if (r.delayMs !== undefined) {
              const ms = typeof r.delayMs === 'function' ? r.delayMs() : r.delayMs;
              if (ms > 0) await new Promise((res) => setTimeout(res, ms));
            }
            if (r.before) await r.before(args.input);
          }
          const out = await next(args);
          record.ok = true;
          return out;
        } catch (err) {
          record.error = (err as Error)?.name ?? String(err);
          throw err;
        } finally {
          finish();
        }
      };
  }

  private attemptMiddleware(service: ServiceName) {
    return (next: Handler, context: Context) =>
      async (args: { input: Record<string, unknown> }): Promise<unknown> => {
        const state = context[STATE as unknown as string] as CallState | undefined;
        if (!state) return next(args);
        state.record.attempts++;
        const rule = state.rule;
        if (!rule?.fail) return next(args);
        const failing = rule.attempts === 'all' || rule.attempts === undefined || state.record.attempts <= rule.attempts;
        if (!failing) return next(args);
        rule.attemptsFailed++;
        const when = rule.when ?? (rule.fail === 'timeout' ? 'after' : 'before');
        if (when === 'after') {
          // The service handles the request; its answer (or its error) never reaches the caller.
          await next(args).catch(() => undefined);
        }
        throw new InjectedFault(rule.fail, service, state.record.command);
      };
  }
}

function stripCommand(name: string): string {
  return name.endsWith('Command') ? name.slice(0, -'Command'.length) : name;
}

/** The clients of the handlers' runtime (`shared/runtime`, the ones the functions use), by service. */
export function handlerClients(): Record<ServiceName, StackHolder> {
  const clients = handlerRuntime(process.env).clients;
  return {
    s3: clients.s3 as unknown as StackHolder,
    dynamodb: clients.dynamoDoc as unknown as StackHolder,
    sfn: clients.sfn as unknown as StackHolder,
    sns: clients.sns as unknown as StackHolder,
    sqs: clients.sqs as unknown as StackHolder,
  };
}

/** The number of attempts the SDK makes for one call of a client (its `maxAttempts`). */
export async function maxAttemptsOf(client: unknown): Promise<number> {
  const config = (client as { config?: { maxAttempts?: () => Promise<number> } }).config;
  return config?.maxAttempts ? config.maxAttempts() : 3;
}

/**
 * Scales the waits of a client's retry strategy by `factor` (for example 0.01). The SDK still
 * decides which errors to retry and how many attempts to make; only its back-off sleeps shrink, so
 * a table of throttled calls runs in seconds. Returns false when the strategy has no back-off
 * object to scale (a future SDK): the waits then stay as they are.
 */
export async function scaleRetryDelays(client: unknown, factor: number): Promise<boolean> {
  const config = (client as { config?: { retryStrategy?: () => Promise<unknown> } }).config;
  const strategy = (await config?.retryStrategy?.()) as { retryBackoffStrategy?: { computeNextBackoffDelay?: (i: number) => number } } | undefined;
  const backoff = strategy?.retryBackoffStrategy;
  if (!backoff || typeof backoff.computeNextBackoffDelay !== 'function') return false;
  const original = backoff.computeNextBackoffDelay.bind(backoff);
  backoff.computeNextBackoffDelay = (i: number) => Math.floor(original(i) * factor);
  return true;
}

/** Installs a {@link FaultInjector} on the clients of the handlers' runtime. */
export function installFaults(clients: Partial<Record<ServiceName, StackHolder>> = handlerClients()): FaultInjector {
  return new FaultInjector(clients);
}

/**
 * Prints a figures line for the CI log: on stderr, so it shows with any reporter (also with
 * `--json`, whose report owns stdout, and with `--silent`, which hides console.log).
 */
export function printFigures(line: string): void {
  process.stderr.write(`\n${line}\n`);
}

/**
 * A barrier for `n` callers: each call waits until `n` callers arrived (or `timeoutMs` passed), so
 * that the calls behind it are sent at the same moment.
 */
export function barrier(n: number, timeoutMs = 10000): { wait: () => Promise<void>; arrived: () => number } {
  let count = 0;
  let release!: () => void;
  const open = new Promise<void>((r) => (release = r));
  const timer = setTimeout(release, timeoutMs);
  return {
    wait: async () => {
      count++;
      if (count >= n) {
        clearTimeout(timer);
        release();
      }
      await open;
    },
    arrived: () => count,
  };
}
