/**
 * Lambda's SQS event source, on the local stack: pollers receive up to the batch size from a
 * queue and invoke the function with the SQS event; at most `maxConcurrency` invocations run at
 * once, each in a "sandbox" of its own (a handler made by the factory, so module-level state such
 * as SDK clients and their rate limiters is per sandbox, as in Lambda). The messages of a batch
 * are deleted except those the partial batch response lists; a batch whose invocation threw or
 * timed out is left alone. Whatever is not deleted comes back after the queue's visibility timeout.
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { PROCESS_BATCH_SIZE, PROCESS_TIMEOUT_SECONDS } from '../cdk/process-limits';
import { DEFAULT_PROCESS_MAX_CONCURRENCY } from '../cdk/config';
import { lambdaContext, type LocalLambdaContext } from './handlers';
import type { LocalClientConfig } from './index';
import { InvocationTimeoutError } from './errors';

/** A function invoked with SQS batches. */
export type SqsBatchHandler = (event: unknown, context: LocalLambdaContext) => Promise<unknown>;

/** Options of {@link SqsEventSource}. */
export interface SqsEventSourceOptions {
  /** The queue polled. */
  queueUrl: string;
  /** SQS client settings (`stack.clientConfig('sqs')`). */
  client: LocalClientConfig;
  /** Makes the handler of one sandbox; called once per sandbox, and again after a timeout. */
  handlerFactory: () => SqsBatchHandler;
  /** Messages per invocation at most (default: the stack's `PROCESS_BATCH_SIZE`). */
  batchSize?: number;
  /** Invocations at once at most (default: the stack's `processMaxConcurrency` default). */
  maxConcurrency?: number;
  /** Function timeout in seconds (default: the process function's). */
  timeoutSeconds?: number;
  /** Function name in the context (default `process`). */
  functionName?: string;
  /** Memory in the context, MB (default 512, as deployed). */
  memoryMb?: number;
}

/** What an {@link SqsEventSource} did so far. */
export interface SqsEventSourceStats {
  invocations: number;
  /** Messages handed to invocations (a redelivered message counts again). */
  received: number;
  /** Receptions of a message received before (`ApproximateReceiveCount` > 1). */
  redeliveries: number;
  /** Messages deleted after their invocation. */
  deleted: number;
  /** Messages the partial batch responses listed as failed. */
  reportedFailed: number;
  /** Invocations that threw. */
  errors: number;
  /** Invocations that ran past the timeout. */
  timeouts: number;
  /** Sum of invocation durations, ms (what Lambda bills). */
  billedMs: number;
  /** Failed ReceiveMessage / DeleteMessageBatch calls (polled or deleted again later). */
  pollErrors: number;
}

/** Polls a queue and invokes handlers as Lambda's SQS event source does. */
export class SqsEventSource {
  readonly batchSize: number;
  readonly maxConcurrency: number;
  readonly timeoutSeconds: number;
  private readonly sqs: SQSClient;
  private readonly abort = new AbortController();
  private workers: Promise<void>[] = [];
  private readonly counts: SqsEventSourceStats = {
    invocations: 0,
    received: 0,
    redeliveries: 0,
    deleted: 0,
    reportedFailed: 0,
    errors: 0,
    timeouts: 0,
    billedMs: 0,
    pollErrors: 0,
  };
  /** The last ReceiveMessage / DeleteMessageBatch error, for diagnosis. */
  lastPollError: unknown;

  constructor(private readonly options: SqsEventSourceOptions) {
    this.batchSize = options.batchSize ?? PROCESS_BATCH_SIZE;
    this.maxConcurrency = options.maxConcurrency ?? DEFAULT_PROCESS_MAX_CONCURRENCY;
    this.timeoutSeconds = options.timeoutSeconds ?? PROCESS_TIMEOUT_SECONDS;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1 || this.batchSize > 10) throw new RangeError('batchSize must be 1..10');
    if (!Number.isInteger(this.maxConcurrency) || this.maxConcurrency < 1) throw new RangeError('maxConcurrency must be a positive integer');
    this.sqs = new SQSClient({ ...options.client, maxAttempts: 3 });
  }

  /** Starts the pollers (one per concurrent invocation). */
  start(): this {
    if (this.workers.length > 0) return this;
    for (let i = 0; i < this.maxConcurrency; i++) this.workers.push(this.poll());
    return this;
  }

  /** Stops polling and waits for the invocations in flight. */
  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled(this.workers);
    this.workers = [];
    this.sqs.destroy();
  }

  /** Counts so far. */
  stats(): SqsEventSourceStats {
    return { ...this.counts };
  }

  private async poll(): Promise<void> {
    let handler = this.options.handlerFactory();
    const signal = this.abort.signal;
    while (!signal.aborted) {
      let messages: Message[];
      try {
        const res = await this.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: this.options.queueUrl,
            MaxNumberOfMessages: this.batchSize,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: signal },
        );
        messages = res.Messages ?? [];
      } catch (err) {
        if (signal.aborted) return;
        // The queue is unreachable for a moment: poll again shortly, as Lambda's pollers do.
        this.counts.pollErrors++;
        this.lastPollError = err;
        await sleep(100);
        continue;
      }
      if (messages.length === 0) continue;
      const timedOut = await this.invoke(handler, messages);
      // Lambda discards a sandbox whose invocation timed out.
      if (timedOut) handler = this.options.handlerFactory();
    }
  }

  /** One invocation; returns true when it timed out. */
  private async invoke(handler: SqsBatchHandler, messages: Message[]): Promise<boolean> {
    const arn = `arn:aws:sqs:${this.options.client.region}:${this.accountOf()}:${this.options.queueUrl.split('/').pop()}`;
    const event = {
      Records: messages.map((m) => ({
        messageId: m.MessageId,
        receiptHandle: m.ReceiptHandle,
        body: m.Body,
        attributes: m.Attributes ?? {},
        messageAttributes: m.MessageAttributes ?? {},
        md5OfBody: m.MD5OfBody,
        eventSource: 'aws:sqs',
        eventSourceARN: arn,
        awsRegion: this.options.client.region,
      })),
    };
    this.counts.invocations++;
    this.counts.received += messages.length;
    for (const m of messages) if (Number(m.Attributes?.ApproximateReceiveCount ?? '1') > 1) this.counts.redeliveries++;

    const name = this.options.functionName ?? 'process';
    const started = performance.now();
    const invokedArn = `arn:aws:lambda:${this.options.client.region}:${this.accountOf()}:function:${name}`;
    const context = lambdaContext(name, invokedArn, this.options.memoryMb ?? 512, this.timeoutSeconds * 1000);
    let timer: NodeJS.Timeout | undefined;
    let response: unknown;
    try {
      response = await Promise.race([
        handler(event, context),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new InvocationTimeoutError(`${name} timed out after ${this.timeoutSeconds} s`)), this.timeoutSeconds * 1000);
        }),
      ]);
    } catch (err) {
      if (err instanceof InvocationTimeoutError) this.counts.timeouts++;
      else this.counts.errors++;
      return err instanceof InvocationTimeoutError;
    } finally {
      clearTimeout(timer);
      this.counts.billedMs += performance.now() - started;
    }
    const failures = (response as { batchItemFailures?: { itemIdentifier?: string }[] } | undefined)?.batchItemFailures ?? [];
    const failed = new Set(failures.map((f) => String(f.itemIdentifier)));
    this.counts.reportedFailed += messages.filter((m) => failed.has(String(m.MessageId))).length;
    await this.deleteMessages(messages.filter((m) => !failed.has(String(m.MessageId))));
    return false;
  }

  /** Deletes the messages an invocation handled, as Lambda's event source does. */
  private async deleteMessages(done: Message[]): Promise<void> {
    if (done.length === 0) return;
    try {
      const res = await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
      this.counts.deleted += res.Successful?.length ?? 0;
    } catch (err) {
      // Not deleted: the messages come back after the visibility timeout, as in AWS.
      this.counts.pollErrors++;
      this.lastPollError = err;
    }
  }

  private accountOf(): string {
    return this.options.queueUrl.split('/').filter(Boolean).slice(-2, -1)[0] ?? '123456789012';
  }
}
