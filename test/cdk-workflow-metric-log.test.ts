/**
 * The workflow metric log group and the two metric filters Cirrus v2 ships (its
 * `cloudformation/core/metrics.yaml`: same names, patterns, dimensions and namespace), as the
 * construct builds them on a bare stack; and the CDK stack points `process` and `update-state` at
 * the group, with write access to it only.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { flattenCfn } from '../cdk/nag';
import { CirrusWorkflowMetricLog } from '../cdk/workflow-metric-log';
import { synthApp } from './helpers/cdk-app';

describe('CirrusWorkflowMetricLog, on a bare stack', () => {
  const stack = new Stack(new App(), 'S');
  new CirrusWorkflowMetricLog(stack, 'WorkflowMetricLog', { resourcePrefix: 'geo' });
  const template = Template.fromStack(stack);
  const groupRef = { Ref: Match.stringLikeRegexp('WorkflowMetricLogLogGroup') };

  it('creates <resourcePrefix>-workflow-event-metrics, one-day retention, as Cirrus does', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: 'geo-workflow-event-metrics', RetentionInDays: 1, LogGroupClass: 'STANDARD' });
  });

  it('has exactly two metric filters', () => {
    expect(Object.keys(template.findResources('AWS::Logs::MetricFilter'))).toHaveLength(2);
  });

  it('all_workflows_by_event: every event, by event, in <resourcePrefix>-workflow', () => {
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: groupRef,
      FilterPattern: '{$.event = "*"}',
      MetricTransformations: [{ MetricName: 'all_workflows_by_event', MetricNamespace: 'geo-workflow', MetricValue: '1', Dimensions: [{ Key: 'event', Value: '$.event' }] }],
    });
  });

  it('a_workflow_by_event: events with a workflow, by event and workflow', () => {
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: groupRef,
      FilterPattern: '{($.event = "*") && ($.workflow = "*")}',
      MetricTransformations: [
        {
          MetricName: 'a_workflow_by_event',
          MetricNamespace: 'geo-workflow',
          MetricValue: '1',
          Dimensions: [
            { Key: 'event', Value: '$.event' },
            { Key: 'workflow', Value: '$.workflow' },
          ],
        },
      ],
    });
  });
});

describe('the deployment points process and update-state at the workflow metric log group', () => {
  const b = synthApp({ resourcePrefix: 'geo' });

  it.each(['process', 'update-state'] as const)('%s gets CIRRUS_WORKFLOW_LOG_GROUP and may write streams of that group only', (name) => {
    const fn = b.stack.cirrus.functions[name];
    const props = b.template.toJSON().Resources[b.stack.getLogicalId(fn.node.defaultChild as never)].Properties as {
      Environment: { Variables: Record<string, unknown> };
    };
    expect(props.Environment.Variables.CIRRUS_WORKFLOW_LOG_GROUP).toEqual({ Ref: expect.stringMatching(/WorkflowMetricLogLogGroup/) });
    const roleRef = JSON.stringify(b.stack.resolve(fn.role!.roleName));
    const statements = Object.values(b.template.findResources('AWS::IAM::Policy'))
      .filter((p) => (p.Properties.Roles as unknown[]).some((r) => JSON.stringify(r) === roleRef))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
    const onGroup = statements.filter((s) => flattenCfn(s.Resource as never).includes('WorkflowMetricLogLogGroup'));
    expect(onGroup.flatMap((s) => [s.Action].flat()).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
  });
});
