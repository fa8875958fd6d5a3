/**
 * Alarms, alarm topic, dashboard and their context keys: every alarm's metric, threshold, period
 * and actions; every dashboard widget; the outputs; and that the dashboard asks for exactly the
 * metric series the functions write.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { contextKeysMarkdown, readCirrusConfig, CONTEXT_KEYS } from '../cdk/config';
import { ConfigurationError } from '../shared/errors';
import { logicalId, synthApp, type SynthesizedApp } from './helpers/cdk-app';

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
type Built = SynthesizedApp;
const synth = (context: Record<string, unknown> = {}): Built => synthApp(context);

/** The alarms by name. */
function alarmsByName(b: Built): Record<string, Record<string, Json>> {
  return Object.fromEntries(
    Object.values(b.template.findResources('AWS::CloudWatch::Alarm')).map((r) => [r.Properties.AlarmName as string, r.Properties as Record<string, Json>]),
  );
}

interface Widget {
  type: string;
  width: number;
  properties: { title: string; period?: number; metrics?: Json[][]; alarms?: string[]; annotations?: { horizontal?: { value: number; label: string; yAxis: string }[] } };
}

/** A resolved `Fn::Join` as text, with `Ref` written `<Id>` and `Fn::GetAtt` written `<Id.Attr>`. */
function joinText(v: Json): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    if ('Fn::Join' in v) {
      const [sep, parts] = v['Fn::Join'] as [string, Json[]];
      return parts.map(joinText).join(sep);
    }
    if ('Ref' in v) return `<${String(v.Ref)}>`;
    if ('Fn::GetAtt' in v) return `<${(v['Fn::GetAtt'] as string[]).join('.')}>`;
  }
  throw new Error(`unexpected token in the dashboard body: ${JSON.stringify(v)}`);
}

/** The dashboard body with every CloudFormation token written as `<LogicalId>`. */
function dashboardWidgets(b: Built): Widget[] {
  const dashboards = Object.values(b.template.findResources('AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  const body = JSON.parse(joinText(dashboards[0].Properties.DashboardBody as Json)) as { widgets: Widget[] };
  return body.widgets;
}

/** A widget's metric rows as `namespace metric dim=value …` plus its options. */
function series(w: Widget): string[] {
  return (w.properties.metrics ?? []).map((row) => {
    const opts = typeof row[row.length - 1] === 'object' ? (row[row.length - 1] as Record<string, Json>) : {};
    const parts = row.filter((x) => typeof x !== 'object') as string[];
    // CDK writes "..." for "same namespace and metric as the row above" only in rendered rows it
    // repeats; this project's widgets never rely on it.
    const [ns, name, ...dims] = parts;
    const pairs: string[] = [];
    for (let i = 0; i < dims.length; i += 2) pairs.push(`${dims[i]}=${dims[i + 1]}`);
    const o = [opts.stat, opts.period ?? w.properties.period, opts.label, opts.yAxis].filter((x) => x !== undefined).join(' ');
    return opts.expression !== undefined ? `expr ${String(opts.expression)} (${o})` : `${ns} ${name} ${pairs.join(' ')} (${o})`;
  });
}

describe('alarms (default context)', () => {
  let b: Built;
  let alarms: Record<string, Record<string, Json>>;
  let topic: string;
  beforeAll(() => {
    b = synth();
    alarms = alarmsByName(b);
    topic = logicalId(b.stack, b.stack.cirrus.monitoring.alarmTopic!);
  });

  test('there are exactly these alarms', () => {
    expect(Object.keys(alarms).sort()).toEqual(
      [
        'cirrus-process-dead-letter-queue',
        'cirrus-update-state-dead-letter-queue',
        'cirrus-process-queue-message-age',
        'cirrus-process-errors',
        'cirrus-process-throttles',
        'cirrus-update-state-errors',
        'cirrus-update-state-throttles',
        'cirrus-minimal-executions-failed',
        'cirrus-stamp-items-executions-failed',
      ].sort(),
    );
  });

  test('every alarm has a description', () => {
    for (const a of Object.values(alarms)) {
      expect(typeof a.AlarmDescription).toBe('string');
      expect((a.AlarmDescription as string).length).toBeGreaterThan(30);
    }
  });

  test('every alarm fires on one period at or over its threshold', () => {
    for (const a of Object.values(alarms)) {
      expect(a.EvaluationPeriods).toBe(1);
      expect(a.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
    }
  });

  test('every alarm treats missing data as OK', () => {
    for (const a of Object.values(alarms)) expect(a.TreatMissingData).toBe('notBreaching');
  });

  test('every alarm notifies the alarm topic on ALARM and on OK', () => {
    for (const a of Object.values(alarms)) {
      expect(a.AlarmActions).toEqual([{ Ref: topic }]);
      expect(a.OKActions).toEqual([{ Ref: topic }]);
    }
  });

  test.each([
    ['cirrus-process-dead-letter-queue', 'processDeadLetterQueue'],
    ['cirrus-update-state-dead-letter-queue', 'updateStateDeadLetterQueue'],
  ] as const)('%s: the most messages visible in its dead-letter queue ≥ 1', (name, queue) => {
    expect(alarms[name]).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(b.stack, b.stack.cirrus[queue]), 'QueueName'] } }],
      Statistic: 'Maximum',
      Period: 300,
      Threshold: 1,
    });
  });

  test('cirrus-process-queue-message-age: the oldest process-queue message ≥ 600 s', () => {
    expect(alarms['cirrus-process-queue-message-age']).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(b.stack, b.stack.cirrus.processQueue), 'QueueName'] } }],
      Statistic: 'Maximum',
      Period: 300,
      Threshold: 600,
    });
  });

  test.each([
    ['cirrus-process-errors', 'process', 'Errors'],
    ['cirrus-process-throttles', 'process', 'Throttles'],
    ['cirrus-update-state-errors', 'update-state', 'Errors'],
    ['cirrus-update-state-throttles', 'update-state', 'Throttles'],
  ] as const)('%s: the sum of %s %s ≥ 1', (name, fn, metric) => {
    expect(alarms[name]).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: metric,
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(b.stack, b.stack.cirrus.functions[fn]) } }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
    });
  });

  test.each(['minimal', 'stamp-items'])('cirrus-%s-executions-failed: failed + timed-out + throttled executions of the state machine ≥ 1', (workflow) => {
    const a = alarms[`cirrus-${workflow}-executions-failed`];
    const sm = logicalId(b.stack, b.stack.cirrus.workflows.get(workflow)!.stateMachine);
    expect(a.Threshold).toBe(1);
    expect(a.MetricName).toBeUndefined();
    const metrics = a.Metrics as { Id: string; Expression?: string; ReturnData?: boolean; MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: Json }; Period: number; Stat: string } }[];
    const expr = metrics.find((m) => m.Expression !== undefined);
    expect(expr?.Expression).toBe('FILL(failed, 0) + FILL(timedOut, 0) + FILL(throttled, 0)');
    const stats = Object.fromEntries(metrics.filter((m) => m.MetricStat).map((m) => [m.Id, m.MetricStat]));
    expect(stats).toEqual({
      failed: { Metric: { Namespace: 'AWS/States', MetricName: 'ExecutionsFailed', Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: sm } }] }, Period: 300, Stat: 'Sum' },
      timedOut: { Metric: { Namespace: 'AWS/States', MetricName: 'ExecutionsTimedOut', Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: sm } }] }, Period: 300, Stat: 'Sum' },
      throttled: { Metric: { Namespace: 'AWS/States', MetricName: 'ExecutionThrottled', Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: sm } }] }, Period: 300, Stat: 'Sum' },
    });
  });

  test('the alarm topic is TLS only', () => {
    b.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topic }],
      PolicyDocument: { Statement: [{ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }] },
    });
  });

  test('the alarm topic has no subscription unless alarmEmail is set', () => {
    expect(b.template.findResources('AWS::SNS::Subscription')).toEqual({});
  });

  test('output AlarmTopicArn is the alarm topic', () => {
    b.template.hasOutput('AlarmTopicArn', { Value: { Ref: topic } });
  });
});

describe('alarm context keys', () => {
  test('processQueueAgeAlarmSeconds and workflowFailureAlarmThreshold set the thresholds', () => {
    const alarms = alarmsByName(synth({ processQueueAgeAlarmSeconds: '1800', workflowFailureAlarmThreshold: 3 }));
    expect(alarms['cirrus-process-queue-message-age'].Threshold).toBe(1800);
    expect(alarms['cirrus-minimal-executions-failed'].Threshold).toBe(3);
    expect(alarms['cirrus-process-dead-letter-queue'].Threshold).toBe(1);
  });

  test('alarmEmail subscribes that address to the alarm topic', () => {
    const b = synth({ alarmEmail: 'ops@example.com' });
    b.template.resourceCountIs('AWS::SNS::Subscription', 1);
    b.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: { Ref: logicalId(b.stack, b.stack.cirrus.monitoring.alarmTopic!) },
    });
  });

  test('alarms=false: no alarm, no alarm topic, no AlarmTopicArn output, no alarm widget', () => {
    const b = synth({ alarms: 'false' });
    b.template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    expect(b.stack.cirrus.monitoring.alarmTopic).toBeUndefined();
    b.template.resourceCountIs('AWS::SNS::Topic', 2);
    expect(Object.keys(b.template.toJSON().Outputs)).not.toContain('AlarmTopicArn');
    expect(dashboardWidgets(b).map((w) => w.type)).not.toContain('alarm');
  });

  test('dashboard=false: no dashboard and no DashboardName output; the alarms stay', () => {
    const b = synth({ dashboard: false });
    b.template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(Object.keys(b.template.toJSON().Outputs)).not.toContain('DashboardName');
    b.template.resourceCountIs('AWS::CloudWatch::Alarm', 9);
  });

  const read = (ctx: Record<string, unknown>) => (k: string) => ctx[k];
  test.each([
    [{ alarmEmail: 'not-an-address' }, /alarmEmail.*e-mail address/],
    [{ alarmEmail: 'a@b.c', alarms: false }, /alarmEmail.*no alarm topic/],
    [{ alarms: 'maybe' }, /alarms.*true or false/],
    [{ dashboard: 'yes' }, /dashboard.*true or false/],
    [{ processQueueAgeAlarmSeconds: '30' }, /processQueueAgeAlarmSeconds.*60 to 1209600/],
    [{ processQueueAgeAlarmSeconds: '1209601' }, /processQueueAgeAlarmSeconds.*at most 1209600/],
    [{ processQueueAgeAlarmSeconds: '1e3' }, /processQueueAgeAlarmSeconds.*positive integer/],
    [{ workflowFailureAlarmThreshold: '0' }, /workflowFailureAlarmThreshold.*positive integer/],
  ])('rejects %j', (ctx, message) => {
    expect(() => readCirrusConfig(read(ctx))).toThrow(ConfigurationError);
    expect(() => readCirrusConfig(read(ctx))).toThrow(message);
  });
});

describe('dashboard (default context)', () => {
  let b: Built;
  let widgets: Widget[];
  let id: (c: { node: { defaultChild?: unknown } }) => string;
  beforeAll(() => {
    b = synth();
    widgets = dashboardWidgets(b);
    id = (c) => logicalId(b.stack, c);
  });
  const byTitle = (title: string): Widget => {
    const w = widgets.find((x) => x.properties.title === title);
    if (!w) throw new Error(`no widget ${title}; have ${widgets.map((x) => x.properties.title).join(', ')}`);
    return w;
  };

  test('is named after the resource prefix, with output DashboardName', () => {
    b.template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'cirrus' });
    b.template.hasOutput('DashboardName', { Value: { Ref: id(b.stack.cirrus.monitoring.dashboard!) } });
  });

  test('has exactly these widgets, in this order', () => {
    // One line per dashboard row (24 units wide): metric widgets of one width.
    const metrics = (width: number, ...titles: string[]): [string, string, number][] => titles.map((title) => ['metric', title, width]);
    expect(widgets.map((w) => [w.type, w.properties.title, w.width])).toEqual([
      ['alarm', 'Alarms', 24],
      ...metrics(8, 'Process queue: messages', 'Process queue: age of the oldest message (s)', 'Dead-letter queues: messages'),
      ...metrics(8, 'Functions: duration (ms, maximum)', 'Functions: errors', 'Functions: throttles'),
      ...metrics(24, 'Records that name no workflow'),
      ...metrics(12, 'minimal: payloads', 'minimal: executions'),
      ...metrics(12, 'stamp-items: payloads', 'stamp-items: executions'),
    ]);
  });

  test('Alarms: the status of the static alarms', () => {
    const arns = (byTitle('Alarms').properties.alarms ?? []).map(String);
    const m = b.stack.cirrus.monitoring;
    expect(arns.sort()).toEqual(
      ['ProcessDeadLetterQueue', 'UpdateStateDeadLetterQueue', 'ProcessQueueAge', 'ProcessErrors', 'ProcessThrottles', 'UpdateStateErrors', 'UpdateStateThrottles']
        .map((k) => `<${logicalId(b.stack, m.alarms.get(k)!)}.Arn>`)
        .sort(),
    );
  });

  test('process queue: messages waiting and in flight, and the age of the oldest with the alarm threshold', () => {
    const q = `QueueName=<${id(b.stack.cirrus.processQueue)}.QueueName>`;
    expect(series(byTitle('Process queue: messages'))).toEqual([
      `AWS/SQS ApproximateNumberOfMessagesVisible ${q} (Maximum 300 waiting)`,
      `AWS/SQS ApproximateNumberOfMessagesNotVisible ${q} (Maximum 300 in flight)`,
    ]);
    const age = byTitle('Process queue: age of the oldest message (s)');
    expect(series(age)).toEqual([`AWS/SQS ApproximateAgeOfOldestMessage ${q} (Maximum 300 oldest message)`]);
    expect(age.properties.annotations?.horizontal).toEqual([{ value: 600, label: 'alarm', yAxis: 'left' }]);
  });

  test('dead-letter queues: messages visible in both', () => {
    const c = b.stack.cirrus;
    expect(series(byTitle('Dead-letter queues: messages'))).toEqual([
      `AWS/SQS ApproximateNumberOfMessagesVisible QueueName=<${id(c.processDeadLetterQueue)}.QueueName> (Maximum 300 process)`,
      `AWS/SQS ApproximateNumberOfMessagesVisible QueueName=<${id(c.updateStateDeadLetterQueue)}.QueueName> (Maximum 300 update-state)`,
    ]);
  });

  test.each([
    ['Functions: duration (ms, maximum)', 'Duration', 'Maximum'],
    ['Functions: errors', 'Errors', 'Sum'],
    ['Functions: throttles', 'Throttles', 'Sum'],
  ])('%s: one line per function', (title, metric, stat) => {
    const f = b.stack.cirrus.functions;
    expect(series(byTitle(title))).toEqual(
      (['process', 'update-state', 'pre-batch', 'post-batch'] as const).map((n) => `AWS/Lambda ${metric} FunctionName=<${id(f[n])}> (${stat} 300 ${n})`),
    );
  });

  test('records that name no workflow: invalid records and failures under workflow=unknown', () => {
    expect(series(byTitle('Records that name no workflow'))).toEqual([
      'Cirrus InvalidRecord service=cirrus workflow=unknown (Sum 300 InvalidRecord)',
      'Cirrus Failed service=cirrus workflow=unknown (Sum 300 Failed)',
    ]);
  });

  test.each(['minimal', 'stamp-items'])('%s: payload outcomes (left: started … invalid; right: skipped, duplicate, invalid records)', (wf) => {
    const d = `service=cirrus workflow=${wf}`;
    expect(series(byTitle(`${wf}: payloads`))).toEqual([
      ...['Started', 'Succeeded', 'Failed', 'TimedOut', 'Aborted', 'Invalid'].map((m) => `Cirrus ${m} ${d} (Sum 300 ${m})`),
      ...['Skipped', 'Duplicate', 'InvalidRecord'].map((m) => `Cirrus ${m} ${d} (Sum 300 ${m} right)`),
    ]);
  });

  test.each(['minimal', 'stamp-items'])('%s: state machine executions', (wf) => {
    const sm = `StateMachineArn=<${id(b.stack.cirrus.workflows.get(wf)!.stateMachine)}>`;
    expect(series(byTitle(`${wf}: executions`))).toEqual([
      `AWS/States ExecutionsStarted ${sm} (Sum 300 started)`,
      `AWS/States ExecutionsSucceeded ${sm} (Sum 300 succeeded)`,
      `AWS/States ExecutionsFailed ${sm} (Sum 300 failed)`,
      `AWS/States ExecutionsTimedOut ${sm} (Sum 300 timed out)`,
      `AWS/States ExecutionsAborted ${sm} (Sum 300 aborted)`,
      `AWS/States ExecutionThrottled ${sm} (Sum 300 throttled)`,
    ]);
  });

  test('the payload series are the ones the functions write: their service dimension is the POWERTOOLS_SERVICE_NAME of process and update-state', () => {
    for (const name of ['process', 'update-state'] as const) {
      const fn = b.template.toJSON().Resources[id(b.stack.cirrus.functions[name])];
      expect(fn.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME).toBe('cirrus');
    }
    const custom = synth({ resourcePrefix: 'prod' });
    const fn = custom.template.toJSON().Resources[logicalId(custom.stack, custom.stack.cirrus.functions.process)];
    expect(fn.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME).toBe('prod');
    const w = dashboardWidgets(custom).find((x) => x.properties.title === 'minimal: payloads')!;
    expect(series(w)[0]).toBe('Cirrus Started service=prod workflow=minimal (Sum 300 Started)');
  });
});

describe('context keys: one list', () => {
  test('the README table is generated from CONTEXT_KEY_DOCS and lists every key', () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    expect(readme).toContain(contextKeysMarkdown());
    for (const key of Object.values(CONTEXT_KEYS)) expect(contextKeysMarkdown()).toContain(`| \`${key}\` |`);
  });
});
