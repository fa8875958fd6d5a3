/**
 * The CDK app: context validation, fine-grained template assertions (default and custom
 * contexts, imported bucket), IAM least privilege, and one snapshot: the default template.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { buildCirrusApp } from '../cdk/app';
import { PROCESS_TIMEOUT } from '../cdk/cirrus-deployment';
import { readCirrusConfig, CONTEXT_KEYS, DEFAULT_PROCESS_MAX_CONCURRENCY } from '../cdk/config';
import { START_EXECUTION_QUOTA } from '../cdk/process-limits';
import { BUNDLE_NAMES, LAMBDA_NAMES, MissingBundleError, missingBundles, type LambdaName } from '../cdk/lambda-bundles';
import { flattenCfn } from '../cdk/nag';
import { CirrusPayloadBucket, IMPORTED_BUCKET_WARNING_ID } from '../cdk/payload-bucket-construct';
import { ENV } from '../shared/config';
import { METRICS_SERVICE_ENV } from '../shared/metric-names';
import { ConfigurationError } from '../shared/errors';
import { PayloadLayout } from '../shared/payload-layout';
import { STATE_DB_SCHEMA } from '../shared/statedb-schema';
import { bundleDir } from './helpers/cdk-bundles';
import { CDK_JSON_CONTEXT, captureStderr, logicalId, synthApp, type SynthesizedApp } from './helpers/cdk-app';

const ROOT = join(__dirname, '..');

interface Built extends SynthesizedApp {
  warn: jest.Mock;
}

/** The synthesized app with cdk.json's context plus `context`; `warn` records its warnings. */
function synth(context: Record<string, unknown> = {}): Built {
  const warn = jest.fn();
  return { ...synthApp(context, warn), warn };
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: Json;
  Condition?: Json;
}
const actionsOf = (s: Statement): string[] => [s.Action].flat();
const resourcesOf = (s: Statement): string[] => [s.Resource].flat().map((r) => flattenCfn(r as never));

/** The statements of every policy attached to a function's role. */
function roleStatements(b: Built, fn: LambdaName): Statement[] {
  const roleRef = JSON.stringify(b.stack.resolve(b.stack.cirrus.functions[fn].role!.roleName));
  const policies = Object.values(b.template.findResources('AWS::IAM::Policy')).filter((p) =>
    (p.Properties.Roles as Json[]).some((r) => JSON.stringify(r) === roleRef),
  );
  expect(policies.length).toBeGreaterThan(0);
  return policies.flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

function onlyResource(t: Template, type: string): { id: string; props: Record<string, Json>; res: Record<string, Json> } {
  const all = t.findResources(type);
  expect(Object.keys(all)).toHaveLength(1);
  const [id, res] = Object.entries(all)[0];
  return { id, props: res.Properties as Record<string, Json>, res: res as Record<string, Json> };
}

const PARTITION_REGION_ACCOUNT = 'arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>';

/** A resource policy of type `policyType` on `target` (e.g. `{ Queues: [{ Ref: id }] }`) denies `deny` without TLS. */
function expectTlsOnly(b: Built, policyType: string, target: Record<string, Json>, deny: Record<string, Json>): void {
  b.template.hasResourceProperties(policyType, {
    ...target,
    PolicyDocument: {
      Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', ...deny, Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
    },
  });
}

describe('context', () => {
  const read = (ctx: Record<string, unknown>) => (k: string) => ctx[k];

  test('defaults', () => {
    expect(readCirrusConfig(read({}))).toEqual({
      resourcePrefix: 'cirrus',
      payloadRootPrefix: 'cirrus',
      tmpExpirationDays: 10,
      payloadBucketName: undefined,
      referenceBuckets: [],
      processMaxConcurrency: DEFAULT_PROCESS_MAX_CONCURRENCY,
      monitoring: { alarms: true, alarmEmail: undefined, processQueueAgeAlarmSeconds: 600, workflowFailureAlarmThreshold: 1, dashboard: true },
    });
  });

  test('the default processMaxConcurrency starts workflows at the StartExecution refill rate with 1.5x headroom (40 starts/s per invocation)', () => {
    expect(DEFAULT_PROCESS_MAX_CONCURRENCY).toBe(Math.ceil((1.5 * START_EXECUTION_QUOTA.refillPerSecond) / 40));
    expect(DEFAULT_PROCESS_MAX_CONCURRENCY).toBe(12);
  });

  test.each([
    ['/custom/', 'custom'],
    ['custom', 'custom'],
    ['a/b/', 'a/b'],
    ['/', 'cirrus'],
    ['', 'cirrus'],
  ])('payloadRootPrefix %j is normalised to %j like the runtime', (raw, expected) => {
    expect(readCirrusConfig(read({ payloadRootPrefix: raw })).payloadRootPrefix).toBe(expected);
  });

  test.each(['a//b', '../x', 'a/./b', 'a/..', 'x\ny', 'a*', 'a?b', '${aws:username}', 5])(
    'payloadRootPrefix %j is rejected with a clear error',
    (raw) => {
      expect(() => readCirrusConfig(read({ payloadRootPrefix: raw }))).toThrow(ConfigurationError);
      expect(() => readCirrusConfig(read({ payloadRootPrefix: raw }))).toThrow(/payloadRootPrefix/);
    },
  );

  test.each([
    ['3', 3],
    [3, 3],
    [' 30 ', 30],
  ])('tmpExpirationDays %j → %j', (raw, expected) => {
    expect(readCirrusConfig(read({ tmpExpirationDays: raw })).tmpExpirationDays).toBe(expected);
  });

  test.each(['0', 0, '-1', '1.5', 1.5, 'ten', true, '1e3'])('tmpExpirationDays %j is rejected', (raw) => {
    expect(() => readCirrusConfig(read({ tmpExpirationDays: raw }))).toThrow(/tmpExpirationDays.*positive integer/);
  });

  test.each(['-x', 'x-', '1abc', 'a_b', 'a'.repeat(33), 'a b'])('resourcePrefix %j is rejected', (raw) => {
    expect(() => readCirrusConfig(read({ resourcePrefix: raw }))).toThrow(/resourcePrefix/);
  });

  test.each([[' ref-a, ,ref-b,ref-a '], [['ref-a', 'ref-b']]])('referenceBuckets %j: comma-separated or a list, blanks and duplicates dropped', (raw) => {
    expect(readCirrusConfig(read({ referenceBuckets: raw })).referenceBuckets).toEqual(['ref-a', 'ref-b']);
  });

  test.each(['ok-bucket,bad/name', 'ok-bucket,*'])('referenceBuckets %j is rejected (bucket names are validated)', (raw) => {
    expect(() => readCirrusConfig(read({ referenceBuckets: raw }))).toThrow(/referenceBuckets/);
  });

  test('referenceBuckets never lists the payload bucket itself', () => {
    expect(readCirrusConfig(read({ payloadBucketName: 'mine', referenceBuckets: 'mine,other' })).referenceBuckets).toEqual(['other']);
  });

  test.each(['a', 'arn:aws:s3:::x'])('payloadBucketName %j is rejected', (raw) => {
    expect(() => readCirrusConfig(read({ payloadBucketName: raw }))).toThrow(/payloadBucketName/);
  });

  test('an empty payloadBucketName means none (the stack creates the bucket)', () => {
    expect(readCirrusConfig(read({ payloadBucketName: '' })).payloadBucketName).toBeUndefined();
  });

  test('processMaxConcurrency "5" → 5', () => {
    expect(readCirrusConfig(read({ processMaxConcurrency: '5' })).processMaxConcurrency).toBe(5);
  });

  test.each(['1', '1001'])('processMaxConcurrency %j is rejected', (raw) => {
    expect(() => readCirrusConfig(read({ processMaxConcurrency: raw }))).toThrow(/processMaxConcurrency/);
  });

  test('an invalid context fails the app build before anything is synthesized', () => {
    expect(() => synth({ payloadRootPrefix: 'a//b' })).toThrow(/invalid CDK context "payloadRootPrefix"/);
    expect(() => synth({ tmpExpirationDays: '0' })).toThrow(/invalid CDK context "tmpExpirationDays"/);
    expect(() => synth({ [CONTEXT_KEYS.nag]: 'maybe' })).toThrow(/"nag"/);
  });

  test('missing bundles fail with "run npm run build first", naming them', () => {
    const empty = mkdtempSync(join(tmpdir(), 'cirrus-empty-'));
    mkdirSync(join(empty, 'process'));
    writeFileSync(join(empty, 'process', 'index.js'), '');
    const app = new App({ context: CDK_JSON_CONTEXT });
    let err: unknown;
    try {
      buildCirrusApp(app, { lambdaBundleDir: empty, warn: jest.fn() });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MissingBundleError);
    expect((err as Error).message).toMatch(/run npm run build first/);
    expect((err as MissingBundleError).missing).toEqual(['update-state', 'pre-batch', 'post-batch']);
  });
});

describe('default deployment', () => {
  let b: Built;
  beforeAll(() => {
    b = synth();
  });

  test('stack is named after the resource prefix', () => {
    expect(b.stack.stackName).toBe('cirrus');
  });

  describe('buckets', () => {
    let payloadId: string;
    let logsId: string;
    beforeAll(() => {
      payloadId = logicalId(b.stack, b.stack.cirrus.payload.bucket);
      logsId = logicalId(b.stack, b.stack.cirrus.payload.accessLogsBucket!);
    });

    test('the payload bucket and its access-log bucket', () => {
      expect(Object.keys(b.template.findResources('AWS::S3::Bucket')).sort()).toEqual([logsId, payloadId].sort());
    });

    test('both private, SSE-S3, unversioned, retained', () => {
      const buckets = b.template.findResources('AWS::S3::Bucket');
      for (const id of [payloadId, logsId]) {
        const bucket = buckets[id];
        expect(bucket.DeletionPolicy).toBe('Retain');
        expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        });
        expect(bucket.Properties.BucketEncryption).toEqual({
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        });
        expect(bucket.Properties.VersioningConfiguration).toBeUndefined();
      }
    });

    test('the payload bucket logs its accesses to the access-log bucket under payload-bucket/', () => {
      expect(b.template.findResources('AWS::S3::Bucket')[payloadId].Properties.LoggingConfiguration).toEqual({
        DestinationBucketName: { Ref: logsId },
        LogFilePrefix: 'payload-bucket/',
      });
    });

    test('both TLS only', () => {
      for (const id of [payloadId, logsId]) expectTlsOnly(b, 'AWS::S3::BucketPolicy', { Bucket: { Ref: id } }, { Action: 's3:*', Principal: { AWS: '*' } });
    });
  });

  test('lifecycle: <root>/tmp/ expires after 10 days (prefix from the runtime layout); nothing else expires', () => {
    const id = logicalId(b.stack, b.stack.cirrus.payload.bucket);
    const rules = b.template.findResources('AWS::S3::Bucket')[id].Properties.LifecycleConfiguration.Rules as Record<
      string,
      Json
    >[];
    const tmp = `${new PayloadLayout('cirrus').prefixTmp}/`;
    expect(tmp).toBe('cirrus/tmp/');
    expect(rules).toEqual([
      { Id: 'expire-tmp', Status: 'Enabled', Prefix: tmp, ExpirationInDays: 10 },
      { Id: 'abort-incomplete-multipart-uploads', Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } },
    ]);
    assertNoRuleTouchesExecutions(rules, 'cirrus');
  });

  test('StateDB: on demand, PITR, retained', () => {
    const { props, res } = onlyResource(b.template, 'AWS::DynamoDB::Table');
    expect(res.DeletionPolicy).toBe('Retain');
    expect(props.BillingMode).toBe('PAY_PER_REQUEST');
    expect(props.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });

  test('StateDB: keys and indexes from STATE_DB_SCHEMA', () => {
    const { props } = onlyResource(b.template, 'AWS::DynamoDB::Table');
    expect(props.KeySchema).toEqual([
      { AttributeName: STATE_DB_SCHEMA.partitionKey.name, KeyType: 'HASH' },
      { AttributeName: STATE_DB_SCHEMA.sortKey.name, KeyType: 'RANGE' },
    ]);
    expect(props.KeySchema).toEqual([
      { AttributeName: 'collections_workflow', KeyType: 'HASH' },
      { AttributeName: 'itemids', KeyType: 'RANGE' },
    ]);
    expect(props.GlobalSecondaryIndexes).toEqual(
      STATE_DB_SCHEMA.globalSecondaryIndexes.map((g) => ({
        IndexName: g.indexName,
        KeySchema: [
          { AttributeName: g.partitionKey.name, KeyType: 'HASH' },
          { AttributeName: g.sortKey.name, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
    );
    expect((props.GlobalSecondaryIndexes as { IndexName: string }[]).map((g) => g.IndexName).sort()).toEqual([
      'state_updated',
      'updated',
    ]);
  });

  describe('queues', () => {
    const queues = (): ReturnType<Template['findResources']> => b.template.findResources('AWS::SQS::Queue');
    const processQueue = (): Record<string, Json> => queues()[logicalId(b.stack, b.stack.cirrus.processQueue)].Properties;

    test('the process queue and the two dead-letter queues', () => {
      expect(Object.keys(queues())).toHaveLength(3);
    });

    test('the process queue moves a message to its dead-letter queue after 5 receives', () => {
      const pdlqId = logicalId(b.stack, b.stack.cirrus.processDeadLetterQueue);
      expect(processQueue().RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [pdlqId, 'Arn'] }, maxReceiveCount: 5 });
    });

    test('the process queue\'s visibility timeout is at least 6x the process timeout', () => {
      const fnTimeout = b.template.findResources('AWS::Lambda::Function')[logicalId(b.stack, b.stack.cirrus.functions.process)].Properties
        .Timeout as number;
      expect(fnTimeout).toBe(PROCESS_TIMEOUT.toSeconds());
      expect(processQueue().VisibilityTimeout).toBeGreaterThanOrEqual(6 * fnTimeout);
    });

    test('the dead-letter queues keep messages 14 days', () => {
      for (const q of [b.stack.cirrus.processDeadLetterQueue, b.stack.cirrus.updateStateDeadLetterQueue]) {
        expect(queues()[logicalId(b.stack, q)].Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
      }
    });

    test('all encrypted with SSE-SQS', () => {
      for (const q of Object.values(queues())) expect(q.Properties.SqsManagedSseEnabled).toBe(true);
    });

    test('all TLS only', () => {
      for (const id of Object.keys(queues())) expectTlsOnly(b, 'AWS::SQS::QueuePolicy', { Queues: [{ Ref: id }] }, { Action: 'sqs:*' });
    });
  });

  describe('topics', () => {
    const ids = (): string[] => [b.stack.cirrus.workflowEventTopic, b.stack.cirrus.publishTopic].map((t) => logicalId(b.stack, t));

    test('workflow-event and publish, and the alarm topic', () => {
      const all = b.template.findResources('AWS::SNS::Topic');
      expect(Object.keys(all).sort()).toEqual([...ids(), logicalId(b.stack, b.stack.cirrus.monitoring.alarmTopic!)].sort());
    });

    test('workflow-event and publish: encrypted with alias/aws/sns', () => {
      const all = b.template.findResources('AWS::SNS::Topic');
      for (const id of ids()) {
        expect(flattenCfn(all[id].Properties.KmsMasterKeyId)).toBe('arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:alias/aws/sns');
      }
    });

    test('workflow-event and publish: TLS only', () => {
      for (const id of ids()) expectTlsOnly(b, 'AWS::SNS::TopicPolicy', { Topics: [{ Ref: id }] }, { Action: 'sns:Publish' });
    });
  });

  test('functions: the four bundles plus the stamp-items example task', () => {
    expect(Object.keys(b.template.findResources('AWS::Lambda::Function'))).toHaveLength(5);
  });

  test('functions: nodejs22.x on arm64, index.handler, code from a zip asset', () => {
    const fns = b.template.findResources('AWS::Lambda::Function');
    for (const name of LAMBDA_NAMES) {
      const fn = fns[logicalId(b.stack, b.stack.cirrus.functions[name])].Properties;
      expect(fn.Runtime).toBe('nodejs22.x');
      expect(fn.Architectures).toEqual(['arm64']);
      expect(fn.Handler).toBe('index.handler');
      expect(fn.Code.S3Key).toMatch(/^[0-9a-f]{64}\.zip$/);
    }
  });

  test('functions: logs kept one month', () => {
    const fns = b.template.findResources('AWS::Lambda::Function');
    const logGroups = b.template.findResources('AWS::Logs::LogGroup');
    for (const name of LAMBDA_NAMES) {
      const fn = fns[logicalId(b.stack, b.stack.cirrus.functions[name])].Properties;
      const lg = logGroups[(fn.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref];
      expect(lg.Properties.RetentionInDays).toBe(30);
    }
  });

  test('each function deploys exactly its <bundleDir>/<name> folder', () => {
    const spy = jest.spyOn(lambda.Code, 'fromAsset');
    try {
      synth();
      expect(spy.mock.calls.map((c) => c[0]).sort()).toEqual(BUNDLE_NAMES.map((n) => join(bundleDir(), n)).sort());
    } finally {
      spy.mockRestore();
    }
  });

  describe('function environments (the README\'s "Configuration" table)', () => {
    const env = (name: LambdaName): Record<string, Json> =>
      b.template.findResources('AWS::Lambda::Function')[logicalId(b.stack, b.stack.cirrus.functions[name])].Properties.Environment.Variables;
    const ref = (construct: { node: { defaultChild?: unknown } }): Json => ({ Ref: logicalId(b.stack, construct) });

    test('every function gets the payload bucket and its root prefix, and no reference buckets by default', () => {
      for (const name of LAMBDA_NAMES) {
        expect(env(name)[ENV.payloadBucket]).toEqual(ref(b.stack.cirrus.payload.bucket));
        expect(env(name)[ENV.rootPrefix]).toBe('cirrus');
        expect(env(name)[ENV.referenceBuckets]).toBeUndefined();
      }
    });

    test('process and update-state get the StateDB, the base workflow ARN and the workflow-event topic', () => {
      for (const name of ['process', 'update-state'] as const) {
        expect(env(name)[ENV.stateDb]).toEqual(ref(b.stack.cirrus.stateDb));
        expect(flattenCfn(env(name)[ENV.baseWorkflowArn] as never)).toBe(`${PARTITION_REGION_ACCOUNT}:stateMachine:cirrus-`);
        expect(env(name)[ENV.workflowEventTopicArn]).toEqual(ref(b.stack.cirrus.workflowEventTopic));
      }
    });

    test('the batch helpers get no StateDB', () => {
      expect(env('pre-batch')[ENV.stateDb]).toBeUndefined();
    });

    test('update-state, which publishes items and chains payloads, alone gets the publish topic and the process queue', () => {
      expect(env('update-state')[ENV.publishTopicArn]).toEqual(ref(b.stack.cirrus.publishTopic));
      expect(env('update-state')[ENV.processQueueUrl]).toEqual(ref(b.stack.cirrus.processQueue));
      expect(env('process')[ENV.publishTopicArn]).toBeUndefined();
    });
  });

  test('process: SQS event source, batch 10, ReportBatchItemFailures, concurrency limited by default', () => {
    const { props } = onlyResource(b.template, 'AWS::Lambda::EventSourceMapping');
    expect(props).toEqual({
      BatchSize: 10,
      EventSourceArn: { 'Fn::GetAtt': [logicalId(b.stack, b.stack.cirrus.processQueue), 'Arn'] },
      FunctionName: { Ref: logicalId(b.stack, b.stack.cirrus.functions.process) },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: DEFAULT_PROCESS_MAX_CONCURRENCY },
    });
  });

  test('update-state: EventBridge rule on final statuses of <prefix>-* state machines', () => {
    const { props } = onlyResource(b.template, 'AWS::Events::Rule');
    const pattern = props.EventPattern as Record<string, Json>;
    expect(pattern.source).toEqual(['aws.states']);
    expect(pattern['detail-type']).toEqual(['Step Functions Execution Status Change']);
    const detail = pattern.detail as Record<string, Json[]>;
    expect([...(detail.status as string[])].sort()).toEqual(['ABORTED', 'FAILED', 'SUCCEEDED', 'TIMED_OUT']);
    expect(detail.stateMachineArn).toHaveLength(1);
    expect(flattenCfn((detail.stateMachineArn[0] as { prefix: Json }).prefix as never)).toBe(
      `${PARTITION_REGION_ACCOUNT}:stateMachine:cirrus-`,
    );
  });

  test('update-state: the rule\'s one target, with retries and the update-state DLQ', () => {
    const c = b.stack.cirrus;
    const targets = onlyResource(b.template, 'AWS::Events::Rule').props.Targets as Record<string, Json>[];
    expect(targets).toHaveLength(1);
    expect(targets[0]).toMatchObject({
      Arn: { 'Fn::GetAtt': [logicalId(b.stack, c.functions['update-state']), 'Arn'] },
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(b.stack, c.updateStateDeadLetterQueue), 'Arn'] } },
      RetryPolicy: { MaximumRetryAttempts: expect.any(Number), MaximumEventAgeInSeconds: expect.any(Number) },
    });
  });

  test('update-state: failed asynchronous invocations go to the same DLQ', () => {
    const c = b.stack.cirrus;
    const fn = b.template.findResources('AWS::Lambda::Function')[logicalId(b.stack, c.functions['update-state'])];
    expect(fn.Properties.DeadLetterConfig).toEqual({ TargetArn: { 'Fn::GetAtt': [logicalId(b.stack, c.updateStateDeadLetterQueue), 'Arn'] } });
  });

  test('update-state: a permission lets EventBridge invoke it', () => {
    const c = b.stack.cirrus;
    b.template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [logicalId(b.stack, c.functions['update-state']), 'Arn'] },
    });
  });

  const stateMachine = (name: string): Record<string, Json> => {
    const found = Object.values(b.template.findResources('AWS::StepFunctions::StateMachine')).filter(
      (r) => (r.Properties as Record<string, Json>).StateMachineName === name,
    );
    expect(found).toHaveLength(1);
    return found[0].Properties as Record<string, Json>;
  };

  test('the example workflows are the state machines cirrus-minimal and cirrus-stamp-items, and nothing else', () => {
    const names = Object.values(b.template.findResources('AWS::StepFunctions::StateMachine')).map(
      (r) => (r.Properties as Record<string, Json>).StateMachineName,
    );
    expect(names.sort()).toEqual(['cirrus-minimal', 'cirrus-stamp-items']);
  });

  test('the stamp-items workflow invokes its own task function, substituted into the definition from the file', () => {
    const props = stateMachine('cirrus-stamp-items');
    expect(JSON.parse(props.DefinitionString as string)).toEqual(
      JSON.parse(readFileSync(join(ROOT, 'workflows', 'stamp-items.asl.json'), 'utf8')),
    );
    const subs = props.DefinitionSubstitutions as Record<string, Json>;
    const fns = b.template.findResources('AWS::Lambda::Function');
    const stampId = Object.keys(fns).find((id) => id.includes('StampItems'));
    expect(stampId).toBeDefined();
    expect(subs.StampItemsFunctionArn).toEqual({ 'Fn::GetAtt': [stampId, 'Arn'] });
    const stamp = fns[stampId as string].Properties as Record<string, Json>;
    expect(stamp.Runtime).toBe('nodejs22.x');
    expect(stamp.Architectures).toEqual(['arm64']);
  });

  test('the example workflow is the state machine cirrus-minimal, logged and traced', () => {
    const props = stateMachine('cirrus-minimal');
    expect(props.StateMachineName).toBe('cirrus-minimal');
    expect(JSON.parse(props.DefinitionString as string)).toEqual(
      JSON.parse(readFileSync(join(ROOT, 'workflows', 'minimal.asl.json'), 'utf8')),
    );
    expect(props.TracingConfiguration).toEqual({ Enabled: true });
    expect(props.LoggingConfiguration).toMatchObject({ Level: 'ALL' });
  });

  test('outputs: the keys the CLI reads, with fixed logical ids', () => {
    const c = b.stack.cirrus;
    const outputs = b.template.toJSON().Outputs as Record<string, { Value: Json; Export?: Json }>;
    expect(Object.keys(outputs).sort()).toEqual(
      [
        'BaseWorkflowArn',
        'PayloadBucketName',
        'PayloadRootPrefix',
        'ProcessDeadLetterQueueUrl',
        'ProcessQueueUrl',
        'PublishTopicArn',
        'StateDbTableName',
        'UpdateStateDeadLetterQueueUrl',
        'WorkflowEventTopicArn',
        'AlarmTopicArn',
        'DashboardName',
      ].sort(),
    );
    expect(outputs.PayloadBucketName.Value).toEqual({ Ref: logicalId(b.stack, c.payload.bucket) });
    expect(outputs.PayloadRootPrefix.Value).toBe('cirrus');
    expect(outputs.StateDbTableName.Value).toEqual({ Ref: logicalId(b.stack, c.stateDb) });
    expect(outputs.ProcessQueueUrl.Value).toEqual({ Ref: logicalId(b.stack, c.processQueue) });
    expect(outputs.WorkflowEventTopicArn.Value).toEqual({ Ref: logicalId(b.stack, c.workflowEventTopic) });
    expect(outputs.PublishTopicArn.Value).toEqual({ Ref: logicalId(b.stack, c.publishTopic) });
    expect(flattenCfn(outputs.BaseWorkflowArn.Value as never)).toBe(`${PARTITION_REGION_ACCOUNT}:stateMachine:cirrus-`);
    expect(outputs.AlarmTopicArn.Value).toEqual({ Ref: logicalId(b.stack, c.monitoring.alarmTopic!) });
    expect(outputs.DashboardName.Value).toEqual({ Ref: logicalId(b.stack, c.monitoring.dashboard!) });
    for (const o of Object.values(outputs)) expect(o.Export).toBeUndefined();
  });
});

describe('IAM least privilege', () => {
  let b: Built;
  let payloadObjects: string;
  beforeAll(() => {
    b = synth({ referenceBuckets: 'ref-a,ref-b' });
    payloadObjects = `<${logicalId(b.stack, b.stack.cirrus.payload.bucket)}.Arn>/cirrus/*`;
  });

  test('payload writes: s3:PutObject only, and only on <bucketArn>/<root>/*', () => {
    for (const name of LAMBDA_NAMES) {
      const statements = roleStatements(b, name);
      const puts = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('s3:Put')));
      expect(puts).toHaveLength(1);
      expect(resourcesOf(puts[0])).toEqual([payloadObjects]);
      expect(actionsOf(puts[0]).filter((a) => a.startsWith('s3:Put'))).toEqual(['s3:PutObject']);
    }
  });

  test('payload reads: s3:GetObject on <bucketArn>/<root>/* and exactly the reference buckets', () => {
    for (const name of LAMBDA_NAMES) {
      const statements = roleStatements(b, name);
      const s3 = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
      const allActions = new Set(s3.flatMap(actionsOf));
      expect([...allActions].sort()).toEqual(['s3:GetObject', 's3:PutObject']);
      const getResources = s3.filter((s) => actionsOf(s).includes('s3:GetObject')).flatMap(resourcesOf);
      expect(getResources.sort()).toEqual(
        [payloadObjects, 'arn:<AWS::Partition>:s3:::ref-a/*', 'arn:<AWS::Partition>:s3:::ref-b/*'].sort(),
      );
    }
  });

  test('every function is told the reference buckets it may read', () => {
    const fns = b.template.findResources('AWS::Lambda::Function');
    for (const name of LAMBDA_NAMES) {
      const fn = fns[logicalId(b.stack, b.stack.cirrus.functions[name])];
      expect(fn.Properties.Environment.Variables[ENV.referenceBuckets]).toBe('ref-a,ref-b');
    }
  });

  test('states:StartExecution only for process, only on <resourcePrefix>-* state machines', () => {
    for (const name of LAMBDA_NAMES) {
      const starts = roleStatements(b, name).filter((s) => actionsOf(s).some((a) => a.startsWith('states:')));
      if (name === 'process') {
        expect(starts).toHaveLength(1);
        expect(actionsOf(starts[0])).toEqual(['states:StartExecution']);
        expect(resourcesOf(starts[0])).toEqual([`${PARTITION_REGION_ACCOUNT}:stateMachine:cirrus-*`]);
      } else if (name === 'update-state') {
        expect(starts).toHaveLength(1);
        expect(actionsOf(starts[0])).toEqual(['states:DescribeExecution']);
        expect(resourcesOf(starts[0])).toEqual([`${PARTITION_REGION_ACCOUNT}:execution:cirrus-*:*`]);
      } else {
        expect(starts).toEqual([]);
      }
    }
  });

  test('DynamoDB: process and update-state only, on the table and its indexes only', () => {
    const tableArn = `<${logicalId(b.stack, b.stack.cirrus.stateDb)}.Arn>`;
    for (const name of LAMBDA_NAMES) {
      const ddb = roleStatements(b, name).filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
      if (name === 'process' || name === 'update-state') {
        expect(ddb.flatMap(resourcesOf).sort()).toEqual([tableArn, `${tableArn}/index/*`]);
        expect(ddb.flatMap(actionsOf)).toEqual(expect.arrayContaining(['dynamodb:BatchGetItem', 'dynamodb:UpdateItem']));
      } else {
        expect(ddb).toEqual([]);
      }
    }
  });

  const ref = (x: { node: { defaultChild?: unknown } }): string => `<${logicalId(b.stack, x)}>`;
  const arn = (x: { node: { defaultChild?: unknown } }): string => `<${logicalId(b.stack, x)}.Arn>`;
  const by = (name: LambdaName, prefix: string): Statement[] =>
    roleStatements(b, name).filter((s) => actionsOf(s).some((a) => a.startsWith(prefix)));

  test('SNS: process publishes to the workflow-event topic, update-state also to the publish topic, the batch helpers nowhere', () => {
    const c = b.stack.cirrus;
    expect(by('process', 'sns:').flatMap(resourcesOf)).toEqual([ref(c.workflowEventTopic)]);
    expect(by('update-state', 'sns:').flatMap(resourcesOf).sort()).toEqual(
      [ref(c.workflowEventTopic), ref(c.publishTopic)].sort(),
    );
    expect(by('pre-batch', 'sns:')).toEqual([]);
    expect(by('post-batch', 'sns:')).toEqual([]);
  });

  test('SQS: update-state sends to the process queue and its own DLQ; process only consumes the process queue', () => {
    const c = b.stack.cirrus;
    const sendToProcess = by('update-state', 'sqs:').filter((s) => actionsOf(s).includes('sqs:SendMessage'));
    expect(sendToProcess.flatMap(resourcesOf).sort()).toEqual([arn(c.processQueue), arn(c.updateStateDeadLetterQueue)].sort());
    expect(by('process', 'sqs:').flatMap(resourcesOf)).toEqual([arn(c.processQueue)]);
    expect(by('process', 'sqs:').flatMap(actionsOf)).not.toContain('sqs:SendMessage');
  });

  test('logs: only post-batch reads log events, of the Batch job log group', () => {
    const getLogs = roleStatements(b, 'post-batch').filter((s) => actionsOf(s).includes('logs:GetLogEvents'));
    expect(getLogs.flatMap(resourcesOf)).toEqual([
      'arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/batch/job:log-stream:*',
    ]);
    for (const name of ['process', 'update-state', 'pre-batch'] as const) {
      expect(roleStatements(b, name).flatMap(actionsOf)).not.toContain('logs:GetLogEvents');
    }
  });

  test('no function role has a "*" resource or a wildcard action', () => {
    for (const name of LAMBDA_NAMES) {
      for (const s of roleStatements(b, name)) {
        expect(s.Effect).toBe('Allow');
        expect(resourcesOf(s)).not.toContain('*');
        for (const a of actionsOf(s)) expect(a).not.toMatch(/\*$/);
      }
    }
  });

  test('no role has a managed policy', () => {
    for (const role of Object.values(b.template.findResources('AWS::IAM::Role'))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });
});

describe('custom contexts', () => {
  describe('payloadRootPrefix "/custom/" (tmpExpirationDays 3)', () => {
    let b: Built;
    let id: string;
    beforeAll(() => {
      b = synth({ payloadRootPrefix: '/custom/', tmpExpirationDays: '3' });
      id = logicalId(b.stack, b.stack.cirrus.payload.bucket);
    });

    test('gives the custom/tmp/ lifecycle rule, and no rule under custom/executions', () => {
      const rules = b.template.findResources('AWS::S3::Bucket')[id].Properties.LifecycleConfiguration.Rules as Record<
        string,
        Json
      >[];
      const expiring = rules.filter((r) => r.ExpirationInDays !== undefined);
      expect(expiring).toEqual([{ Id: 'expire-tmp', Status: 'Enabled', Prefix: 'custom/tmp/', ExpirationInDays: 3 }]);
      expect(expiring[0].Prefix).toBe(`${new PayloadLayout('/custom/').prefixTmp}/`);
      assertNoRuleTouchesExecutions(rules, 'custom');
    });

    test('grants writes under custom/', () => {
      const puts = roleStatements(b, 'process').filter((s) => actionsOf(s).includes('s3:PutObject'));
      expect(puts.flatMap(resourcesOf)).toEqual([`<${id}.Arn>/custom/*`]);
    });

    test('gives the functions and the PayloadRootPrefix output the normalised prefix custom', () => {
      const fn = b.template.findResources('AWS::Lambda::Function')[logicalId(b.stack, b.stack.cirrus.functions.process)];
      expect(fn.Properties.Environment.Variables[ENV.rootPrefix]).toBe('custom');
      expect(b.template.toJSON().Outputs.PayloadRootPrefix.Value).toBe('custom');
    });
  });

  test('a nested root prefix a/b gives a/b/tmp/', () => {
    const b = synth({ payloadRootPrefix: 'a/b' });
    b.template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Prefix: 'a/b/tmp/', ExpirationInDays: 10 })]) },
    });
  });

  test('resourcePrefix names the stack, the state machines, the rule pattern and the IAM resources', () => {
    const b = synth({ resourcePrefix: 'dev' });
    expect(b.stack.stackName).toBe('dev');
    b.template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: 'dev-minimal' });
    const start = roleStatements(b, 'process').filter((s) => actionsOf(s).includes('states:StartExecution'));
    expect(start.flatMap(resourcesOf)).toEqual([`${PARTITION_REGION_ACCOUNT}:stateMachine:dev-*`]);
    const describe = roleStatements(b, 'update-state').filter((s) => actionsOf(s).includes('states:DescribeExecution'));
    expect(describe.flatMap(resourcesOf)).toEqual([`${PARTITION_REGION_ACCOUNT}:execution:dev-*:*`]);
    const rule = onlyResource(b.template, 'AWS::Events::Rule').props.EventPattern as {
      detail: { stateMachineArn: { prefix: Json }[] };
    };
    expect(flattenCfn(rule.detail.stateMachineArn[0].prefix as never)).toBe(`${PARTITION_REGION_ACCOUNT}:stateMachine:dev-`);
    expect(flattenCfn(b.template.toJSON().Outputs.BaseWorkflowArn.Value)).toBe(`${PARTITION_REGION_ACCOUNT}:stateMachine:dev-`);
  });

  test('stackName overrides the stack name only', () => {
    const b = synth({ resourcePrefix: 'dev', stackName: 'cirrus-dev' });
    expect(b.stack.stackName).toBe('cirrus-dev');
    b.template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: 'dev-minimal' });
  });

  test('processMaxConcurrency limits the SQS event source', () => {
    const b = synth({ processMaxConcurrency: '5' });
    b.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 5 } });
  });


  describe('payloadBucketName imports the bucket', () => {
    let b: Built;
    beforeAll(() => {
      b = synth({ payloadBucketName: 'my-existing-bucket', payloadRootPrefix: 'custom', tmpExpirationDays: 4 });
    });

    test('no bucket or bucket policy is created', () => {
      b.template.resourceCountIs('AWS::S3::Bucket', 0);
      b.template.resourceCountIs('AWS::S3::BucketPolicy', 0);
    });

    test('the grants are on it, under the root prefix', () => {
      for (const name of LAMBDA_NAMES) {
        const s3 = roleStatements(b, name).filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
        expect(s3.flatMap(resourcesOf)).toEqual(s3.map(() => 'arn:<AWS::Partition>:s3:::my-existing-bucket/custom/*'));
        expect(s3.flatMap(actionsOf).sort()).toEqual(['s3:GetObject', 's3:PutObject']);
      }
    });

    test('the functions and the PayloadBucketName output name it', () => {
      const fn = b.template.findResources('AWS::Lambda::Function')[logicalId(b.stack, b.stack.cirrus.functions.process)];
      expect(fn.Properties.Environment.Variables[ENV.payloadBucket]).toBe('my-existing-bucket');
      expect(b.template.toJSON().Outputs.PayloadBucketName.Value).toBe('my-existing-bucket');
    });

    test('the synth warns that its tmp/ needs a lifecycle rule: in the synth report, as an annotation and through the callback', () => {
      expect(b.stderr).toMatch(/WARNING .*my-existing-bucket.*"custom\/tmp\/"/);
      const [annotations] = captureStderr(() => Annotations.fromStack(b.stack));
      const warnings = annotations.findWarning('*', Match.stringLikeRegexp('custom/tmp/'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0].entry.data).toMatch(/my-existing-bucket.*lifecycle rule.*"custom\/tmp\/".*4 days/);
      expect(warnings[0].entry.data).toContain(IMPORTED_BUCKET_WARNING_ID);
      expect(b.warn).toHaveBeenCalledTimes(1);
      expect(b.warn.mock.calls[0][0]).toMatch(/custom\/tmp\//);
    });
  });

  test('the created bucket gets no lifecycle warning', () => {
    const b = synth();
    expect(Annotations.fromStack(b.stack).findWarning('*', Match.anyValue())).toHaveLength(0);
    expect(b.warn).not.toHaveBeenCalled();
    expect(b.stderr).toBe('');
  });

  test('an imported bucket warns on the console by default', () => {
    const spy = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const stack = new Stack(new App(), 'S');
      new CirrusPayloadBucket(stack, 'P', { rootPrefix: 'r', tmpExpirationDays: 10, existingBucketName: 'existing' });
      expect(spy).toHaveBeenCalledTimes(1);
      expect(String(spy.mock.calls[0][0])).toMatch(/WARNING.*existing.*"r\/tmp\/"/);
    } finally {
      spy.mockRestore();
    }
  });
});

/** No lifecycle rule may expire, transition or otherwise touch objects under <root>/executions/. */
function assertNoRuleTouchesExecutions(rules: Record<string, Json>[], root: string): void {
  const executions = `${new PayloadLayout(root).prefixExecutions}/`;
  for (const rule of rules) {
    const prefix = (rule.Prefix as string | undefined) ?? (rule.Filter as { Prefix?: string } | undefined)?.Prefix ?? '';
    const coversExecutions = executions.startsWith(prefix) || prefix.startsWith(executions);
    if (!coversExecutions) continue;
    // A rule that covers executions/ (bucket-wide) may only abort incomplete multipart uploads.
    expect(Object.keys(rule).sort()).toEqual(['AbortIncompleteMultipartUpload', 'Id', 'Status']);
  }
}

describe('snapshot', () => {
  /** Replaces asset hashes (which depend on the bundle contents) with a placeholder. */
  function normalise(template: unknown): unknown {
    return JSON.parse(JSON.stringify(template).replace(/[0-9a-f]{64}/g, '<asset-hash>'));
  }

  test('default template', () => {
    const b = synth();
    const json = b.template.toJSON();
    // The snapshot must not depend on which bundles exist: every hash is normalised.
    expect(JSON.stringify(normalise(json))).not.toMatch(/[0-9a-f]{64}/);
    expect(normalise(json)).toMatchSnapshot();
  });
});

/**
 * What the custom template showed (root prefix, imported bucket, reference buckets, resource
 * prefix), asserted one fact per test instead of a second snapshot.
 */
describe('custom deployment (resource prefix, root prefix, imported bucket, reference buckets)', () => {
  const CUSTOM = {
    resourcePrefix: 'dev',
    payloadRootPrefix: 'custom',
    payloadBucketName: 'my-existing-bucket',
    referenceBuckets: 'ref-a',
    tmpExpirationDays: 4,
  };
  let def: Built;
  let b: Built;
  beforeAll(() => {
    def = synth();
    b = synth(CUSTOM);
  });

  test('keeps the logical ids of the default stack: only the created buckets and their policies are gone', () => {
    // CDK derives two ids from the stack name (the event source mapping, the rule's invoke permission).
    const withoutStackName = (ids: string[], stackName: string): string[] =>
      ids.map((id) => id.replace(new RegExp(`^(CirrusProcessSqsEventSource|CirrusUpdateStateRuleAllowEventRule)${stackName}.*`), '$1<stack>')).sort();
    const defaultIds = Object.keys(def.template.toJSON().Resources as Record<string, unknown>);
    const customIds = Object.keys(b.template.toJSON().Resources as Record<string, unknown>);
    const buckets = Object.keys({ ...def.template.findResources('AWS::S3::Bucket'), ...def.template.findResources('AWS::S3::BucketPolicy') });
    expect(buckets).toHaveLength(4);
    expect(withoutStackName(customIds, 'dev')).toEqual(withoutStackName(defaultIds.filter((id) => !buckets.includes(id)), 'cirrus'));
  });

  test('every function gets the imported bucket, the root prefix and the reference buckets in its environment', () => {
    const fns = Object.values(b.template.findResources('AWS::Lambda::Function'));
    expect(fns.length).toBeGreaterThan(0);
    for (const fn of fns) {
      expect(fn.Properties.Environment.Variables).toMatchObject({
        [ENV.payloadBucket]: 'my-existing-bucket',
        [ENV.rootPrefix]: 'custom',
        [ENV.referenceBuckets]: 'ref-a',
      });
    }
  });

  test('every function reads <bucket>/custom/* and ref-a/*, and writes <bucket>/custom/* only', () => {
    for (const name of LAMBDA_NAMES) {
      const statements = roleStatements(b, name);
      const on = (action: string): string[] => statements.filter((s) => actionsOf(s).includes(action)).flatMap(resourcesOf).sort();
      expect(on('s3:GetObject')).toEqual(['arn:<AWS::Partition>:s3:::my-existing-bucket/custom/*', 'arn:<AWS::Partition>:s3:::ref-a/*']);
      expect(on('s3:PutObject')).toEqual(['arn:<AWS::Partition>:s3:::my-existing-bucket/custom/*']);
    }
  });

  test('the resource prefix names the state machines, their log groups, the metric log and the function roles', () => {
    const names = Object.values(b.template.findResources('AWS::StepFunctions::StateMachine')).map((r) => r.Properties.StateMachineName as string);
    expect(names.sort()).toEqual(['dev-minimal', 'dev-stamp-items']);
    const logGroups = Object.values(b.template.findResources('AWS::Logs::LogGroup')).map((r) => r.Properties.LogGroupName as string | undefined);
    expect(logGroups.filter((n) => n !== undefined).sort()).toEqual([
      '/aws/vendedlogs/states/dev-minimal',
      '/aws/vendedlogs/states/dev-stamp-items',
      'dev-workflow-event-metrics',
    ]);
    for (const filter of Object.values(b.template.findResources('AWS::Logs::MetricFilter'))) {
      expect(filter.Properties.MetricTransformations[0].MetricNamespace).toBe('dev-workflow');
    }
    for (const role of Object.values(b.template.findResources('AWS::IAM::Role'))) {
      const description = role.Properties.Description as string | undefined;
      if (description !== undefined) expect(description).toMatch(/^Execution role of the dev /);
    }
    expect(onlyResource(b.template, 'AWS::Events::Rule').props.Description).toBe('Step Functions status changes of the dev-* workflows, for update-state');
  });

  test('the resource prefix names the alarms, the alarm topic and the dashboard', () => {
    const alarms = Object.values(b.template.findResources('AWS::CloudWatch::Alarm')).map((r) => r.Properties.AlarmName as string);
    expect(alarms.length).toBeGreaterThan(0);
    for (const name of alarms) expect(name).toMatch(/^dev-/);
    b.template.hasResourceProperties('AWS::SNS::Topic', { DisplayName: 'dev Cirrus alarms' });
    expect(onlyResource(b.template, 'AWS::CloudWatch::Dashboard').props.DashboardName).toBe('dev');
  });

  test('the metrics service and the base workflow ARN are the resource prefix', () => {
    const fn = b.template.findResources('AWS::Lambda::Function')[logicalId(b.stack, b.stack.cirrus.functions.process)];
    expect(fn.Properties.Environment.Variables[METRICS_SERVICE_ENV]).toBe('dev');
    expect(flattenCfn(fn.Properties.Environment.Variables[ENV.baseWorkflowArn])).toBe(`${PARTITION_REGION_ACCOUNT}:stateMachine:dev-`);
  });

  test('outputs: the imported bucket, the custom root prefix and the dev- base workflow ARN', () => {
    const outputs = b.template.toJSON().Outputs as Record<string, { Value: Json }>;
    expect(outputs.PayloadBucketName.Value).toBe('my-existing-bucket');
    expect(outputs.PayloadRootPrefix.Value).toBe('custom');
    expect(flattenCfn(outputs.BaseWorkflowArn.Value as never)).toBe(`${PARTITION_REGION_ACCOUNT}:stateMachine:dev-`);
  });
});

test('the bundle directory used by these tests exists and has every bundle', () => {
  expect(existsSync(bundleDir())).toBe(true);
  expect(missingBundles(bundleDir())).toEqual([]);
});

test('CirrusPayloadBucket validates its props when used directly', () => {
  const stack = new Stack(new App(), 'S');
  expect(() => new CirrusPayloadBucket(stack, 'A', { rootPrefix: 'a*', tmpExpirationDays: 10 })).toThrow(ConfigurationError);
  expect(() => new CirrusPayloadBucket(stack, 'B', { rootPrefix: 'a//b', tmpExpirationDays: 10 })).toThrow(ConfigurationError);
  expect(() => new CirrusPayloadBucket(stack, 'C', { rootPrefix: 'a', tmpExpirationDays: 0 })).toThrow(/tmpExpirationDays/);
  const ok = new CirrusPayloadBucket(stack, 'D', { rootPrefix: '/x/', tmpExpirationDays: 2 });
  expect(ok.tmpRulePrefix).toBe('x/tmp/');
});
