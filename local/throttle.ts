/**
 * The `StartExecution` quota of the local Step Functions endpoint: a token bucket as AWS applies
 * to each API per account and region. A call takes one token; with none left it is answered with
 * `ThrottlingException` (HTTP 400, `{"__type": "ThrottlingException", "message": "Rate exceeded"}`),
 * which the AWS SDK classifies as a throttling error (retried, and slowing its adaptive rate limiter).
 * @module
 */
import { AwsServiceError } from './errors';
import type { TokenBucketQuota } from '../cdk/process-limits';

export type { TokenBucketQuota } from '../cdk/process-limits';
export { START_EXECUTION_QUOTA } from '../cdk/process-limits';

/** The error AWS answers a throttled call with. */
export function throttlingError(): AwsServiceError {
  return new AwsServiceError('ThrottlingException', 'Rate exceeded', 400);
}

/** Calls and throttles counted by a {@link TokenBucket}. */
export interface TokenBucketStats {
  /** Every call that asked for a token. */
  calls: number;
  /** Calls refused for want of a token. */
  throttled: number;
}

/** A token bucket: starts full with `burst` tokens, refilled continuously at `refillPerSecond`. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly counts: TokenBucketStats = { calls: 0, throttled: 0 };

  constructor(
    readonly quota: TokenBucketQuota,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(quota.burst >= 1) || !(quota.refillPerSecond > 0)) {
      throw new RangeError(`a token bucket needs burst >= 1 and refillPerSecond > 0 (got ${quota.burst}, ${quota.refillPerSecond})`);
    }
    this.tokens = quota.burst;
    this.last = this.now();
  }

  /** Takes a token if there is one; counts the call either way. */
  tryTake(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.quota.burst, this.tokens + ((t - this.last) / 1000) * this.quota.refillPerSecond);
    this.last = t;
    this.counts.calls++;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    this.counts.throttled++;
    return false;
  }

  /** Takes a token or throws the `ThrottlingException` AWS answers with. */
  take(): void {
    if (!this.tryTake()) throw throttlingError();
  }

  /** Counts so far. */
  stats(): TokenBucketStats {
    return { ...this.counts };
  }
}
