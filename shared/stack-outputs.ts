/**
 * The outputs of a deployed Cirrus stack: their fixed logical ids, written by the CDK stack and
 * read by the CLI with DescribeStacks. This module has no dependencies, so both sides import it.
 * @module
 */

/** Keys of the stack outputs (fixed logical ids). */
export const STACK_OUTPUTS = {
  payloadBucketName: 'PayloadBucketName',
  payloadRootPrefix: 'PayloadRootPrefix',
  stateDbTableName: 'StateDbTableName',
  processQueueUrl: 'ProcessQueueUrl',
  workflowEventTopicArn: 'WorkflowEventTopicArn',
  publishTopicArn: 'PublishTopicArn',
  baseWorkflowArn: 'BaseWorkflowArn',
  processDeadLetterQueueUrl: 'ProcessDeadLetterQueueUrl',
  updateStateDeadLetterQueueUrl: 'UpdateStateDeadLetterQueueUrl',
  /** Present unless the `alarms` context is false. */
  alarmTopicArn: 'AlarmTopicArn',
  /** Present unless the `dashboard` context is false. */
  dashboardName: 'DashboardName',
} as const;

/** One of the output logical ids. */
export type StackOutputName = (typeof STACK_OUTPUTS)[keyof typeof STACK_OUTPUTS];
