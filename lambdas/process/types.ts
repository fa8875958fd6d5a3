/** The SQS partial batch response (the shape Lambda's SQS event source reads). */
export interface SQSBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}
