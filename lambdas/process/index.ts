/**
 * The `process` Lambda: SQS (or SNS, or a direct invocation) → claim, store input.json, start the
 * workflow. SQS invocations return a partial batch response; any other invocation throws when a
 * record failed. Every log line carries the Lambda context; the workflow outcomes are written as
 * embedded metrics once per invocation.
 * @module
 */
import type { Context, SNSEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { finishInvocation, startInvocation } from '../../shared/invocation';
import { createLogger } from '../../shared/logger';
import { WorkflowMetrics, metricsServiceFromEnv } from '../../shared/metrics';
import { ProcessFailedError, isReportedFailure, processEvent, type RecordResult } from '../../shared/process';
import { handlerRuntime } from '../../shared/runtime';

/** The result of a direct (non-SQS) invocation. */
export interface ProcessResult {
  started: string[];
  skipped: string[];
  failed: string[];
}

// The composition root reads the process environment; the shared functions are given what they need.
const logger = createLogger('process', process.env);
const metrics = new WorkflowMetrics({ service: metricsServiceFromEnv(process.env), logger });

/** Lambda entry point: an SQS batch, SNS records, or a bare payload (or `{"url": …}` reference). */
export async function handler(event: SQSEvent | SNSEvent | unknown, context?: Context): Promise<SQSBatchResponse | ProcessResult> {
  startInvocation(logger, context, process.env);
  // Built on the first invocation (a configuration error rejects this one); see handlerRuntime.
  const deps = handlerRuntime(process.env).processDeps(logger);
  try {
    // The remaining time bounds the retries of a throttled StartExecution.
    const remainingMs = context ? () => context.getRemainingTimeInMillis() : undefined;
    const { sqs, results } = await processEvent(event, { ...deps, remainingMs });
    if (sqs) {
      return {
        batchItemFailures: results
          .filter((r) => isReportedFailure(r.outcome) && r.messageId !== undefined)
          .map((r) => ({ itemIdentifier: r.messageId as string })),
      };
    }
    if (results.some((r) => isReportedFailure(r.outcome))) throw new ProcessFailedError(results);
    const ids = (pred: (r: RecordResult) => boolean): string[] => results.filter(pred).map((r) => r.payloadId ?? `record ${r.index}`);
    return {
      started: ids((r) => r.outcome === 'started'),
      skipped: ids((r) => r.outcome === 'skipped' || r.outcome === 'duplicate'),
      failed: ids((r) => r.outcome === 'failed'),
    };
  } finally {
    finishInvocation(metrics, deps.events);
  }
}
