/**
 * The numbers that shape how `process` is fed and how fast it may start workflows: the SQS event
 * source's batch size, the function timeout and the queue's visibility timeout, and the Step
 * Functions `StartExecution` quota. Plain numbers without CDK types, so that the CDK stack and the
 * local stack (which emulates the event source and the quota) read the same values.
 * @module
 */

/** SQS batch size of the process event source. */
export const PROCESS_BATCH_SIZE = 10;
/** Timeout of the process function, in seconds. */
export const PROCESS_TIMEOUT_SECONDS = 60;
/** Visibility timeout of the process queue, in seconds (AWS recommends at least 6x the function timeout). */
export const PROCESS_QUEUE_VISIBILITY_TIMEOUT_SECONDS = PROCESS_TIMEOUT_SECONDS * 6;
/** Receives of a process message before it goes to the dead-letter queue. */
export const PROCESS_MAX_RECEIVE_COUNT = 5;

/** A token bucket: `burst` tokens at most, refilled at `refillPerSecond`. */
export interface TokenBucketQuota {
  readonly burst: number;
  readonly refillPerSecond: number;
}

/**
 * The Step Functions `StartExecution` quota of standard workflows in the largest regions
 * (us-east-1, us-east-2, us-west-2, eu-west-1, ap-northeast-1): a bucket of 1,300 refilled at 300
 * per second. Other regions have 800 and 150.
 */
export const START_EXECUTION_QUOTA: TokenBucketQuota = Object.freeze({ burst: 1300, refillPerSecond: 300 });
