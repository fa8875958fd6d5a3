/**
 * The Cirrus stack: a {@link CirrusDeployment}, the example `minimal` workflow and the stack
 * outputs the CLI reads with DescribeStacks.
 * @module
 */
import { join } from 'node:path';
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { STACK_OUTPUTS } from '../shared/stack-outputs';
import { CirrusDeployment } from './cirrus-deployment';
import { resolveCirrusConfig, type CirrusConfigOptions } from './config';
import { defaultWorkflowsDir } from './lambda-bundles';
import type { CirrusWorkflow, CirrusWorkflowOptions } from './workflow';

/** Keys of the stack outputs (fixed logical ids; the CLI reads them): see `shared/stack-outputs.ts`. */
export { STACK_OUTPUTS };

/** Name of the example workflow. */
export const MINIMAL_WORKFLOW = 'minimal';
/** Name of the example workflow whose Lambda task is written with `lambdaTask`. */
export const STAMP_ITEMS_WORKFLOW = 'stamp-items';

/** Props of {@link CirrusStack}. */
export interface CirrusStackProps extends StackProps {
  /**
   * The configuration; each missing setting takes the default of the context key of the same
   * name, validated like the context (see `CirrusDeploymentProps.config`).
   * @default - every setting at its default (see `CONTEXT_KEY_DOCS`)
   */
  readonly config?: CirrusConfigOptions;
  /**
   * Directory holding `<name>/index.js` for every function.
   * @default `<package root>/dist/lambdas` (shipped in the package)
   */
  readonly lambdaBundleDir?: string;
  /**
   * Directory of the workflow definitions (`<name>.asl.json`).
   * @default `<package root>/workflows` (the examples, shipped in the package)
   */
  readonly workflowsDir?: string;
  /**
   * Whether to deploy the example `minimal` workflow.
   * @default true
   */
  readonly minimalWorkflow?: boolean;
  /**
   * Whether to deploy the example `stamp-items` workflow and its task function (bundle
   * `stamp-items`, written with the `lambdaTask` helper).
   * @default true
   */
  readonly stampItemsWorkflow?: boolean;
  /**
   * Called with the imported-bucket warning, besides the synth annotation.
   * @default console.warn
   */
  readonly warn?: (message: string) => void;
}

/**
 * The deployable Cirrus stack. Outputs: `PayloadBucketName`, `PayloadRootPrefix`,
 * `StateDbTableName`, `ProcessQueueUrl`, `WorkflowEventTopicArn`, `PublishTopicArn`,
 * `BaseWorkflowArn`, `ProcessDeadLetterQueueUrl`, `UpdateStateDeadLetterQueueUrl`, and, unless
 * turned off, `AlarmTopicArn` and `DashboardName`.
 */
export class CirrusStack extends Stack {
  /** The deployment's resources. */
  readonly cirrus: CirrusDeployment;
  /** Directory of the workflow definitions. */
  readonly workflowsDir: string;

  constructor(scope: Construct, id: string, props: CirrusStackProps = {}) {
    const config = resolveCirrusConfig(props.config);
    super(scope, id, {
      description: `Cirrus payload bucket, StateDB and functions (resourcePrefix ${config.resourcePrefix})`,
      ...props,
    });
    this.workflowsDir = props.workflowsDir ?? defaultWorkflowsDir();
    this.cirrus = new CirrusDeployment(this, 'Cirrus', {
      config,
      lambdaBundleDir: props.lambdaBundleDir,
      warn: props.warn,
    });
    if (props.minimalWorkflow ?? true) {
      this.addWorkflow({ name: MINIMAL_WORKFLOW, definitionFile: join(this.workflowsDir, `${MINIMAL_WORKFLOW}.asl.json`) });
    }
    if (props.stampItemsWorkflow ?? true) {
      const stamp = this.cirrus.addTaskFunction('StampItems', STAMP_ITEMS_WORKFLOW, {
        description: 'Example workflow task (lambdaTask helper): stamps every item of the payload',
      });
      this.addWorkflow({
        name: STAMP_ITEMS_WORKFLOW,
        definitionFile: join(this.workflowsDir, `${STAMP_ITEMS_WORKFLOW}.asl.json`),
        lambdas: { StampItemsFunctionArn: stamp },
      });
    }

    const c = this.cirrus;
    const outputs: [string, string, string][] = [
      [STACK_OUTPUTS.payloadBucketName, c.payload.bucket.bucketName, 'Payload bucket (CIRRUS_PAYLOAD_BUCKET)'],
      [STACK_OUTPUTS.payloadRootPrefix, c.payload.rootPrefix, 'Payload root prefix (CIRRUS_PAYLOAD_ROOT_PREFIX)'],
      [STACK_OUTPUTS.stateDbTableName, c.stateDb.tableName, 'StateDB table (CIRRUS_STATE_DB)'],
      [STACK_OUTPUTS.processQueueUrl, c.processQueue.queueUrl, 'Process queue (CIRRUS_PROCESS_QUEUE_URL)'],
      [STACK_OUTPUTS.workflowEventTopicArn, c.workflowEventTopic.topicArn, 'Workflow event topic (CIRRUS_WORKFLOW_EVENT_TOPIC_ARN)'],
      [STACK_OUTPUTS.publishTopicArn, c.publishTopic.topicArn, 'Publish topic (CIRRUS_PUBLISH_TOPIC_ARN)'],
      [STACK_OUTPUTS.baseWorkflowArn, c.baseWorkflowArn, 'Base state machine ARN (CIRRUS_BASE_WORKFLOW_ARN)'],
      [STACK_OUTPUTS.processDeadLetterQueueUrl, c.processDeadLetterQueue.queueUrl, 'Dead-letter queue of the process queue'],
      [
        STACK_OUTPUTS.updateStateDeadLetterQueueUrl,
        c.updateStateDeadLetterQueue.queueUrl,
        'Dead-letter queue of update-state (status-change events)',
      ],
    ];
    const m = c.monitoring;
    if (m.alarmTopic) outputs.push([STACK_OUTPUTS.alarmTopicArn, m.alarmTopic.topicArn, 'Topic every alarm notifies (subscribe to it, or set the alarmEmail context)']);
    if (m.dashboard) outputs.push([STACK_OUTPUTS.dashboardName, m.dashboard.dashboardName, 'CloudWatch dashboard of the deployment']);
    for (const [key, value, description] of outputs) {
      new CfnOutput(this, key, { value, description }).overrideLogicalId(key);
    }
  }

  /** Adds a workflow `<resourcePrefix>-<name>`; see {@link CirrusDeployment.addWorkflow}. */
  addWorkflow(props: CirrusWorkflowOptions): CirrusWorkflow {
    return this.cirrus.addWorkflow(props);
  }
}
