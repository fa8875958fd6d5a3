/** The SQS partial batch response (the shape Lambda's SQS event source reads). */
export type { SQSBatchResponse } from 'aws-lambda';
