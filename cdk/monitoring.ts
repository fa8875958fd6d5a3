/**
 * Alarms and the dashboard of a Cirrus deployment. Every alarm notifies the alarm topic (when it
 * goes to ALARM and back to OK); the dashboard shows the payload outcomes per workflow (the
 * embedded metrics the functions write, see `shared/metric-names.ts`), the queues, the functions
 * and the state machine executions.
 * @module
 */
import { Duration } from 'aws-cdk-lib';
import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, METRIC_NAMES, SERVICE_DIMENSION, UNKNOWN_WORKFLOW, WORKFLOW_DIMENSION, type MetricName } from '../shared/metric-names';
import { resolveMonitoringConfig, type MonitoringConfig, type MonitoringOptions } from './config';
import type { CirrusWorkflow } from './workflow';

/** Period of every alarm and dashboard metric. */
export const MONITORING_PERIOD = Duration.minutes(5);

/** Props of {@link CirrusMonitoring}. */
export interface CirrusMonitoringProps {
  /** The deployment's resource prefix: alarm names, the dashboard name and the metrics' `service` dimension. */
  readonly resourcePrefix: string;
  /** The queue feeding process. */
  readonly processQueue: sqs.IQueue;
  /** Dead-letter queue of the process queue. */
  readonly processDeadLetterQueue: sqs.IQueue;
  /** Dead-letter queue of update-state. */
  readonly updateStateDeadLetterQueue: sqs.IQueue;
  /** The process function (errors and throttles alarmed). */
  readonly processFunction: lambda.IFunction;
  /** The update-state function (errors and throttles alarmed). */
  readonly updateStateFunction: lambda.IFunction;
  /**
   * Further functions shown on the dashboard (duration, errors, throttles), by label.
   * @default - none
   */
  readonly otherFunctions?: Readonly<Record<string, lambda.IFunction>>;
  /**
   * Which alarms and dashboard to create, and their thresholds; validated like the context keys
   * of the same names.
   * @default - alarms and dashboard, default thresholds, no e-mail subscription
   */
  readonly config?: MonitoringOptions;
}

/** A graph of 5-minute values (the period of every metric in it). */
function graph(props: cw.GraphWidgetProps): cw.GraphWidget {
  return new cw.GraphWidget({ period: MONITORING_PERIOD, ...props });
}

/** The payload outcome metrics shown per workflow: left axis, then right axis. */
const WORKFLOW_OUTCOMES_LEFT: readonly MetricName[] = [
  METRIC_NAMES.started,
  METRIC_NAMES.succeeded,
  METRIC_NAMES.failed,
  METRIC_NAMES.timedOut,
  METRIC_NAMES.aborted,
  METRIC_NAMES.invalid,
];
const WORKFLOW_OUTCOMES_RIGHT: readonly MetricName[] = [METRIC_NAMES.skipped, METRIC_NAMES.duplicate, METRIC_NAMES.invalidRecord];

/** Messages visible in a queue (5-minute maximum). */
function visibleMessages(q: sqs.IQueue, label?: string): cw.Metric {
  return q.metricApproximateNumberOfMessagesVisible({ period: MONITORING_PERIOD, statistic: cw.Stats.MAXIMUM, label });
}

/** Age of the oldest message of a queue (5-minute maximum). No label: a labelled metric makes CloudFormation's alarm a metric-math one. */
function oldestMessageAge(q: sqs.IQueue): cw.Metric {
  return q.metricApproximateAgeOfOldestMessage({ period: MONITORING_PERIOD, statistic: cw.Stats.MAXIMUM });
}

/** The dashboard row of the functions: duration, errors and throttles of each. */
function functionWidgets(props: CirrusMonitoringProps): cw.IWidget[] {
  const functions: [string, lambda.IFunction][] = [
    ['process', props.processFunction],
    ['update-state', props.updateStateFunction],
    ...Object.entries(props.otherFunctions ?? {}),
  ];
  return [
    graph({
      title: 'Functions: duration (ms, maximum)',
      left: functions.map(([label, fn]) => fn.metricDuration({ period: MONITORING_PERIOD, statistic: cw.Stats.MAXIMUM, label })),
      width: 8,
    }),
    graph({
      title: 'Functions: errors',
      left: functions.map(([label, fn]) => fn.metricErrors({ period: MONITORING_PERIOD, statistic: cw.Stats.SUM, label })),
      width: 8,
    }),
    graph({
      title: 'Functions: throttles',
      left: functions.map(([label, fn]) => fn.metricThrottles({ period: MONITORING_PERIOD, statistic: cw.Stats.SUM, label })),
      width: 8,
    }),
  ];
}

/**
 * The alarms, alarm topic and dashboard. Workflows are added with {@link addWorkflow} (the
 * deployment does it for each of its workflows): each gets an executions alarm and a dashboard row.
 */
export class CirrusMonitoring extends Construct {
  /** The resolved settings. */
  readonly config: MonitoringConfig;
  /** The topic every alarm notifies (unless alarms are off). */
  readonly alarmTopic?: sns.Topic;
  /** The dashboard (unless turned off). */
  readonly dashboard?: cw.Dashboard;
  /** The alarms, by id (`ProcessDeadLetterQueue`, …, `Workflow-<name>`). */
  readonly alarms = new Map<string, cw.Alarm>();
  private readonly prefix: string;

  constructor(scope: Construct, id: string, props: CirrusMonitoringProps) {
    super(scope, id);
    this.prefix = props.resourcePrefix;
    // The defaults and checks of the context keys (one list, cdk/config.ts).
    this.config = resolveMonitoringConfig(props.config);
    // The constructs keep their ids and their order of creation (alarm topic, alarms, dashboard).
    if (this.config.alarms) this.alarmTopic = this.createAlarmTopic();
    this.addQueueAlarms(props);
    this.addFunctionAlarms(props);
    if (this.config.dashboard) this.dashboard = this.createDashboard(props);
  }

  /**
   * The alarm topic, with the e-mail subscription if any. Not encrypted: CloudWatch alarm actions
   * cannot publish to a topic encrypted with the AWS managed SNS key, and the notifications hold
   * alarm states only, no payload data.
   */
  private createAlarmTopic(): sns.Topic {
    const topic = new sns.Topic(this, 'AlarmTopic', { displayName: `${this.prefix} Cirrus alarms`, enforceSSL: true });
    if (this.config.alarmEmail) topic.addSubscription(new subs.EmailSubscription(this.config.alarmEmail));
    return topic;
  }

  /** Alarms on the dead-letter queues and on the age of the oldest process-queue message. */
  private addQueueAlarms(props: CirrusMonitoringProps): void {
    const prefix = this.prefix;
    this.addAlarm('ProcessDeadLetterQueue', {
      alarmName: `${prefix}-process-dead-letter-queue`,
      alarmDescription: 'A process message was received 5 times without success and now waits in the process dead-letter queue (ProcessDeadLetterQueueUrl).',
      metric: visibleMessages(props.processDeadLetterQueue),
      threshold: 1,
    });
    this.addAlarm('UpdateStateDeadLetterQueue', {
      alarmName: `${prefix}-update-state-dead-letter-queue`,
      alarmDescription: 'A Step Functions status-change event could not be recorded by update-state and waits in its dead-letter queue (UpdateStateDeadLetterQueueUrl).',
      metric: visibleMessages(props.updateStateDeadLetterQueue),
      threshold: 1,
    });
    const seconds = this.config.processQueueAgeAlarmSeconds;
    this.addAlarm('ProcessQueueAge', {
      alarmName: `${prefix}-process-queue-message-age`,
      alarmDescription: `The oldest message of the process queue is ${seconds} seconds old or older: process is not keeping up or keeps failing.`,
      metric: oldestMessageAge(props.processQueue),
      threshold: seconds,
    });
  }

  /** Errors and throttles alarms of process and update-state. */
  private addFunctionAlarms(props: CirrusMonitoringProps): void {
    const functionAlarms: [string, string, lambda.IFunction][] = [
      ['Process', 'process', props.processFunction],
      ['UpdateState', 'update-state', props.updateStateFunction],
    ];
    for (const [fid, name, fn] of functionAlarms) {
      this.addAlarm(`${fid}Errors`, {
        alarmName: `${this.prefix}-${name}-errors`,
        alarmDescription: `The ${name} function raised an error (an invocation failed or timed out).`,
        metric: fn.metricErrors({ period: MONITORING_PERIOD, statistic: cw.Stats.SUM }),
        threshold: 1,
      });
      this.addAlarm(`${fid}Throttles`, {
        alarmName: `${this.prefix}-${name}-throttles`,
        alarmDescription: `Invocations of the ${name} function were throttled (account or reserved concurrency limit).`,
        metric: fn.metricThrottles({ period: MONITORING_PERIOD, statistic: cw.Stats.SUM }),
        threshold: 1,
      });
    }
  }

  /** The dashboard: alarm status, queues, functions, and the records that name no workflow. */
  private createDashboard(props: CirrusMonitoringProps): cw.Dashboard {
    const dashboard = new cw.Dashboard(this, 'Dashboard', { dashboardName: this.prefix, defaultInterval: Duration.hours(3) });
    const alarms = [...this.alarms.values()];
    if (alarms.length > 0) dashboard.addWidgets(new cw.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24 }));
    dashboard.addWidgets(...this.queueWidgets(props));
    dashboard.addWidgets(...functionWidgets(props));
    dashboard.addWidgets(
      graph({
        title: 'Records that name no workflow',
        left: [this.payloadMetric(UNKNOWN_WORKFLOW, METRIC_NAMES.invalidRecord), this.payloadMetric(UNKNOWN_WORKFLOW, METRIC_NAMES.failed)],
        width: 24,
      }),
    );
    return dashboard;
  }

  /** The dashboard row of the queues: process queue messages and age, dead-letter queues. */
  private queueWidgets(props: CirrusMonitoringProps): cw.IWidget[] {
    return [
      graph({
        title: 'Process queue: messages',
        left: [
          visibleMessages(props.processQueue, 'waiting'),
          props.processQueue.metricApproximateNumberOfMessagesNotVisible({ period: MONITORING_PERIOD, statistic: cw.Stats.MAXIMUM, label: 'in flight' }),
        ],
        width: 8,
      }),
      graph({
        title: 'Process queue: age of the oldest message (s)',
        left: [oldestMessageAge(props.processQueue).with({ label: 'oldest message' })],
        leftAnnotations: [{ value: this.config.processQueueAgeAlarmSeconds, label: 'alarm' }],
        width: 8,
      }),
      graph({
        title: 'Dead-letter queues: messages',
        left: [
          visibleMessages(props.processDeadLetterQueue, 'process'),
          visibleMessages(props.updateStateDeadLetterQueue, 'update-state'),
        ],
        width: 8,
      }),
    ];
  }

  /**
   * A payload outcome metric as the functions write it: namespace `Cirrus`, dimensions `service`
   * (the resource prefix) and `workflow`, summed over 5 minutes.
   */
  payloadMetric(workflow: string, metricName: MetricName): cw.Metric {
    return new cw.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { [SERVICE_DIMENSION]: this.prefix, [WORKFLOW_DIMENSION]: workflow },
      statistic: cw.Stats.SUM,
      period: MONITORING_PERIOD,
      label: metricName,
    });
  }

  /**
   * Adds a workflow: an alarm on its failed, timed-out and throttled executions, and a dashboard
   * row with its payload outcomes and its state machine's executions.
   */
  addWorkflow(workflow: CirrusWorkflow): void {
    const name = workflow.workflowName;
    const sm = workflow.stateMachine;
    const opts = { period: MONITORING_PERIOD, statistic: cw.Stats.SUM };
    const failures = new cw.MathExpression({
      expression: 'FILL(failed, 0) + FILL(timedOut, 0) + FILL(throttled, 0)',
      usingMetrics: { failed: sm.metricFailed(opts), timedOut: sm.metricTimedOut(opts), throttled: sm.metricThrottled(opts) },
      period: MONITORING_PERIOD,
      label: 'failed + timed out + throttled',
    });
    this.addAlarm(`Workflow-${name}`, {
      alarmName: `${this.prefix}-${name}-executions-failed`,
      alarmDescription: `Executions of the ${name} workflow (${this.prefix}-${name}) failed, timed out or were throttled.`,
      metric: failures,
      threshold: this.config.workflowFailureAlarmThreshold,
    });
    if (!this.dashboard) return;
    this.dashboard.addWidgets(
      graph({
        title: `${name}: payloads`,
        left: WORKFLOW_OUTCOMES_LEFT.map((m) => this.payloadMetric(name, m)),
        right: WORKFLOW_OUTCOMES_RIGHT.map((m) => this.payloadMetric(name, m)),
        width: 12,
      }),
      graph({
        title: `${name}: executions`,
        left: [
          sm.metricStarted({ ...opts, label: 'started' }),
          sm.metricSucceeded({ ...opts, label: 'succeeded' }),
          sm.metricFailed({ ...opts, label: 'failed' }),
          sm.metricTimedOut({ ...opts, label: 'timed out' }),
          sm.metricAborted({ ...opts, label: 'aborted' }),
          sm.metricThrottled({ ...opts, label: 'throttled' }),
        ],
        width: 12,
      }),
    );
  }

  /** Creates an alarm (≥ threshold in one 5-minute period; no data is OK) that notifies the alarm topic. */
  private addAlarm(id: string, props: { alarmName: string; alarmDescription: string; metric: cw.IMetric; threshold: number }): void {
    if (!this.alarmTopic) return;
    const alarm = new cw.Alarm(this, `${id}Alarm`, {
      ...props,
      evaluationPeriods: 1,
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cw.TreatMissingData.NOT_BREACHING,
    });
    const action = new cwActions.SnsAction(this.alarmTopic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.alarms.set(id, alarm);
  }
}
