/**
 * StartExecution within the Step Functions quota. Standard workflows may be started at a bucket of
 * 1,300 (refilled at 300 per second) per account and region in the largest regions; a burst of
 * payloads beyond that is answered with `ThrottlingException`. Rather than report such a message
 * failed (SQS would hold it back for the whole visibility timeout), the call is retried with
 * exponential backoff and jitter for as long as the invocation has time left, keeping a reserve
 * for the work after the start.
 *
 * The backoff is shared by every start of the sandbox (a {@link StartGate}): after a throttle all
 * of them wait, instead of each of the payloads in flight bouncing off the quota on its own, and
 * each success shortens the next wait again. The SDK's adaptive retry mode does the same with a
 * client-side rate limiter, but its waits are not bounded by the invocation's remaining time and,
 * measured on the local stack, it settled far below the quota's refill rate when each sandbox gets
 * a few starts per second; so the handlers' SFN client keeps the standard mode (three quick attempts)
 * and this module decides what happens after them.
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { StartExecutionCommand, type SFNClient, type StartExecutionCommandInput } from '@aws-sdk/client-sfn';
import { StartExecutionThrottledError, errorName } from './errors';

export { StartExecutionThrottledError };

/** Time kept back for setting PROCESSING, announcing and answering after a start (ms). */
export const START_RESERVE_MS = 5000;
/** First backoff step and longest backoff between throttled attempts (ms). */
export const START_BACKOFF_BASE_MS = 100;
export const START_BACKOFF_CAP_MS = 2000;

/** Error names AWS uses for throttling (the SDK's list for the JSON protocols). */
const THROTTLING_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
]);

/** True when `err` is a throttling answer (by name, or HTTP 429). */
export function isThrottlingError(err: unknown): boolean {
  if (THROTTLING_NAMES.has(errorName(err))) return true;
  const meta = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;
  return meta?.httpStatusCode === 429;
}

/** The backoff shared by the starts of one sandbox. */
export class StartGate {
  /** No start before this time (ms since the epoch). */
  notBefore = 0;
  /** Throttles not yet made up for by successes; sets the backoff step. */
  level = 0;
  /** When the last throttle that raised the level was seen. */
  private lastRaise = -Infinity;

  /**
   * Records a throttle of a call sent at `sentAt`; returns the wait it imposes on every start (ms).
   * The calls in flight together are throttled together: only the first throttle after a call
   * sent since the last raise raises the level, so one wave of refusals is one step of backoff.
   */
  throttled(random: () => number, sentAt: number, now = Date.now()): number {
    if (sentAt >= this.lastRaise) {
      this.level = Math.min(this.level + 1, 16);
      this.lastRaise = now;
    }
    const step = Math.min(START_BACKOFF_CAP_MS, START_BACKOFF_BASE_MS * 2 ** (this.level - 1));
    const delay = Math.round(step * (0.5 + random() / 2));
    this.notBefore = Math.max(this.notBefore, now + delay);
    return delay;
  }

  /** Records a success: the next throttle backs off one step less. */
  succeeded(): void {
    this.level = Math.max(0, this.level - 1);
  }
}

/** The gate of this sandbox (module state, like the SDK clients). */
export const sandboxStartGate = new StartGate();

/** Options of {@link startExecutionWithinTime}. */
export interface StartWithinOptions {
  /** The shared backoff (default {@link sandboxStartGate}). */
  gate?: StartGate;
  /** Milliseconds the invocation has left (Lambda `context.getRemainingTimeInMillis`); none: only the SDK's own retries. */
  remainingMs?: () => number;
  /** Time kept back after the start (default {@link START_RESERVE_MS}). */
  reserveMs?: number;
  /** Called before each backoff (for logs and metrics). */
  onThrottled?: (attempt: number, delayMs: number) => void;
  /** Random number in [0, 1) for the jitter (tests pass a fixed one). */
  random?: () => number;
}

/**
 * Sends StartExecution; on throttling (after the SDK's own retries) waits a jittered exponential backoff,
 * shared by the sandbox, and tries again while the invocation's remaining time minus the reserve
 * covers the wait. Any other error is thrown as it is.
 *
 * @returns the number of attempts it took.
 * @throws StartExecutionThrottledError when still throttled and the time is spent.
 */
export async function startExecutionWithinTime(sfn: SFNClient, input: StartExecutionCommandInput, options: StartWithinOptions = {}): Promise<number> {
  const reserve = options.reserveMs ?? START_RESERVE_MS;
  const random = options.random ?? Math.random;
  const gate = options.gate ?? sandboxStartGate;
  for (let attempt = 1; ; attempt++) {
    const wait = gate.notBefore - Date.now();
    if (wait > 0) {
      const remaining = options.remainingMs?.();
      if (remaining !== undefined && remaining - wait < reserve) throw new StartExecutionThrottledError(attempt - 1, undefined);
      await sleep(wait);
    }
    const sentAt = Date.now();
    try {
      await sfn.send(new StartExecutionCommand(input));
      gate.succeeded();
      return attempt;
    } catch (err) {
      if (!isThrottlingError(err)) throw err;
      const delay = gate.throttled(random, sentAt);
      const remaining = options.remainingMs?.();
      // Without a known deadline the SDK's retries were all: the error goes up as it is.
      if (remaining === undefined) throw err;
      if (remaining - delay < reserve) throw new StartExecutionThrottledError(attempt, err);
      options.onThrottled?.(attempt, delay);
    }
  }
}
