/**
 * The workflow metric log group and the metric filters Cirrus v2 ships with it
 * (`cloudformation/core/metrics.yaml`): `process` and `update-state` write one log event per
 * workflow event to the group (`CIRRUS_WORKFLOW_LOG_GROUP`), and the filters turn them into the
 * CloudWatch metrics `all_workflows_by_event` (dimension `event`) and `a_workflow_by_event`
 * (dimensions `event`, `workflow`) in namespace `<resourcePrefix>-workflow`. The names are
 * Cirrus's, so dashboards, alarms and Cirrus's own metric readers see one series whichever
 * implementation runs.
 * @module
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Metric of every workflow event, by `event`. */
export const ALL_WORKFLOWS_METRIC = 'all_workflows_by_event';
/** Metric of every workflow event, by `event` and `workflow`. */
export const A_WORKFLOW_METRIC = 'a_workflow_by_event';
/** Filter pattern of {@link ALL_WORKFLOWS_METRIC} (Cirrus's, character for character). */
export const ALL_WORKFLOWS_FILTER_PATTERN = '{$.event = "*"}';
/** Filter pattern of {@link A_WORKFLOW_METRIC} (Cirrus's, character for character). */
export const A_WORKFLOW_FILTER_PATTERN = '{($.event = "*") && ($.workflow = "*")}';

/** The log group name Cirrus gives it: `<resourcePrefix>-workflow-event-metrics`. */
export function workflowLogGroupName(resourcePrefix: string): string {
  return `${resourcePrefix}-workflow-event-metrics`;
}

/** The metric namespace Cirrus gives the filters: `<resourcePrefix>-workflow`. */
export function workflowMetricNamespace(resourcePrefix: string): string {
  return `${resourcePrefix}-workflow`;
}

/** Props of {@link CirrusWorkflowMetricLog}. */
export interface CirrusWorkflowMetricLogProps {
  readonly resourcePrefix: string;
}

/** The workflow metric log group with Cirrus's two metric filters. */
export class CirrusWorkflowMetricLog extends Construct {
  /** The log group (`CIRRUS_WORKFLOW_LOG_GROUP`). */
  readonly logGroup: logs.LogGroup;
  /** The metric namespace of both filters. */
  readonly namespace: string;

  constructor(scope: Construct, id: string, props: CirrusWorkflowMetricLogProps) {
    super(scope, id);
    this.namespace = workflowMetricNamespace(props.resourcePrefix);
    // One day, as Cirrus: the filters count each event when it arrives; the events are not read again.
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      logGroupName: workflowLogGroupName(props.resourcePrefix),
      logGroupClass: logs.LogGroupClass.STANDARD,
      retention: logs.RetentionDays.ONE_DAY,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    new logs.MetricFilter(this, 'AllWorkflowsByEvent', {
      logGroup: this.logGroup,
      filterPattern: logs.FilterPattern.literal(ALL_WORKFLOWS_FILTER_PATTERN),
      metricNamespace: this.namespace,
      metricName: ALL_WORKFLOWS_METRIC,
      metricValue: '1',
      dimensions: { event: '$.event' },
    });
    new logs.MetricFilter(this, 'AWorkflowByEvent', {
      logGroup: this.logGroup,
      filterPattern: logs.FilterPattern.literal(A_WORKFLOW_FILTER_PATTERN),
      metricNamespace: this.namespace,
      metricName: A_WORKFLOW_METRIC,
      metricValue: '1',
      dimensions: { event: '$.event', workflow: '$.workflow' },
    });
  }

  /**
   * Lets the grantee create its log stream in the group and write metric events to it
   * (`logs:CreateLogStream`, `logs:PutLogEvents` on this group only).
   * @returns the grant, as `LogGroup.grantWrite` gives it.
   */
  grantWrite(grantee: iam.IGrantable): iam.Grant {
    return this.logGroup.grantWrite(grantee);
  }
}
