/**
 * The `process` Lambda: SQS (or SNS, or a direct invocation) → claim, store input.json, start the
 * workflow. SQS invocations return a partial batch response; any other invocation throws when a
 * record failed.
 * @module
 */
import type { SQSBatchResponse } from './types';
import { ProcessFailedError, isReportedFailure, processEvent, type RecordResult } from '../../shared/process';

/** The result of a direct (non-SQS) invocation. */
export interface ProcessResult {
  started: string[];
  skipped: string[];
  failed: string[];
}

/** Lambda entry point. */
export async function handler(event: unknown): Promise<SQSBatchResponse | ProcessResult> {
  const { sqs, results } = await processEvent(event);
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
}
