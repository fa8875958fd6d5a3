/**
 * The construct API follows the aws-cdk-lib design guidelines: grants take an IGrantable and
 * return an iam.Grant; an existing bucket is an s3.IBucket; props are optional where a default
 * exists (the context keys' defaults); options types are readonly with documented defaults.
 */
import { App, Duration, Stack, type CfnResource } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import {
  CirrusDeployment,
  DEFAULT_TASK_FUNCTION_MEMORY_SIZE,
  DEFAULT_TASK_FUNCTION_TIMEOUT,
  type CirrusDeploymentProps,
  type TaskFunctionOptions,
} from '../cdk/cirrus-deployment';
import { CirrusStack } from '../cdk/cirrus-stack';
import { readCirrusConfig, resolveCirrusConfig } from '../cdk/config';
import { CirrusPayloadBucket, IMPORTED_BUCKET_WARNING_ID } from '../cdk/payload-bucket-construct';
import { CirrusWorkflowMetricLog } from '../cdk/workflow-metric-log';
import { ENV } from '../shared/config';
import { ConfigurationError } from '../shared/errors';
import { bundleDir } from './helpers/cdk-bundles';

function setup(): { stack: Stack; bucket: CirrusPayloadBucket; role: iam.Role } {
  const stack = new Stack(new App(), 'S');
  const bucket = new CirrusPayloadBucket(stack, 'P', { rootPrefix: 'root', tmpExpirationDays: 10, referenceBuckets: ['ref-a'] });
  const role = new iam.Role(stack, 'R', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  return { stack, bucket, role };
}

const actions = (g: iam.Grant): string[] => g.principalStatements.flatMap((s) => s.actions).sort();

test('grantPayloadRead returns an iam.Grant: s3:GetObject on <root>/* and on the reference buckets', () => {
  const { bucket, role } = setup();
  const g = bucket.grantPayloadRead(role);
  expect(g).toBeInstanceOf(iam.Grant);
  expect(g.success).toBe(true);
  expect(actions(g)).toEqual(['s3:GetObject', 's3:GetObject']);
});

test('grantPayloadWrite returns an iam.Grant: s3:PutObject only', () => {
  const { bucket, role } = setup();
  const g = bucket.grantPayloadWrite(role);
  expect(g.success).toBe(true);
  expect(actions(g)).toEqual(['s3:PutObject']);
});

test('grantPayloadReadWrite returns the combined grant', () => {
  const { bucket, role } = setup();
  expect(actions(bucket.grantPayloadReadWrite(role))).toEqual(['s3:GetObject', 's3:GetObject', 's3:PutObject']);
});

describe('CirrusWorkflowMetricLog.grantWrite', () => {
  test('returns an iam.Grant whose principal statement is on the grantee role, scoped to the group', () => {
    const stack = new Stack(new App(), 'S');
    const log = new CirrusWorkflowMetricLog(stack, 'M', { resourcePrefix: 'dev' });
    const role = new iam.Role(stack, 'R', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const g = log.grantWrite(role);
    expect(g).toBeInstanceOf(iam.Grant);
    expect(g.success).toBe(true);
    expect(actions(g)).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    expect(g.principalStatements.flatMap((s) => s.resources)).toEqual([log.logGroup.logGroupArn]);
    // The statement really is in the role's policy, on this log group only.
    const groupId = stack.getLogicalId(log.logGroup.node.defaultChild as CfnResource);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: stack.getLogicalId(role.node.defaultChild as CfnResource) }],
      PolicyDocument: {
        Statement: [{ Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [groupId, 'Arn'] } }],
      },
    });
  });
});

/** Synth helpers shared by the deployment tests (the real bundles when built, else stand-ins). */
function deployment(props: CirrusDeploymentProps = {}): { stack: Stack; cirrus: CirrusDeployment } {
  const stack = new Stack(new App(), 'S');
  const cirrus = new CirrusDeployment(stack, 'Cirrus', { lambdaBundleDir: bundleDir(), warn: () => undefined, ...props });
  return { stack, cirrus };
}
const logicalId = (stack: Stack, c: IConstruct): string => stack.getLogicalId(c.node.defaultChild as CfnResource);
const quiet = { warn: (): void => undefined };

describe('an existing bucket is passed as an s3.IBucket', () => {
  describe('an imported IBucket (root prefix data)', () => {
    /** The imported bucket, the construct on it, a role granted payload writes and the warnings given. */
    function imported(): { stack: Stack; existing: s3.IBucket; p: CirrusPayloadBucket; warn: jest.Mock; t: Template } {
      const stack = new Stack(new App(), 'S');
      const existing = s3.Bucket.fromBucketAttributes(stack, 'Mine', { bucketName: 'their-bucket' });
      const warn = jest.fn();
      const p = new CirrusPayloadBucket(stack, 'P', { rootPrefix: 'data', existingBucket: existing, warn });
      p.grantPayloadWrite(new iam.Role(stack, 'R', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }));
      return { stack, existing, p, warn, t: Template.fromStack(stack) };
    }

    test('is the construct\'s bucket, imported, without an access-log bucket', () => {
      const { existing, p } = imported();
      expect(p.bucket).toBe(existing);
      expect(p.imported).toBe(true);
      expect(p.accessLogsBucket).toBeUndefined();
    });

    test('no bucket (so no lifecycle rule) is created', () => {
      imported().t.resourceCountIs('AWS::S3::Bucket', 0);
    });

    test('the grants name that bucket under the root prefix', () => {
      const statements = Object.values(imported().t.findResources('AWS::IAM::Policy')).flatMap(
        (r) => (r.Properties.PolicyDocument as { Statement: { Action: string; Resource: unknown }[] }).Statement,
      );
      expect(statements.map((st) => st.Action)).toEqual(['s3:PutObject']);
      expect(JSON.stringify(statements[0].Resource)).toContain(':s3:::their-bucket/data/*');
    });

    test('one warning that tmp/ of that bucket must expire, to `warn` and as a CDK annotation', () => {
      const { stack, warn } = imported();
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0][0]).toMatch(/"their-bucket".*"data\/tmp\/"/);
      const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('data/tmp/'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0].entry.data).toContain(IMPORTED_BUCKET_WARNING_ID);
    });
  });

  test('a bucket of the same app: the construct uses it (Ref in the grants) and creates no other', () => {
    const stack = new Stack(new App(), 'S');
    const mine = new s3.Bucket(stack, 'Mine');
    const p = new CirrusPayloadBucket(stack, 'P', { existingBucket: mine, ...quiet });
    const role = new iam.Role(stack, 'R', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    p.grantPayloadRead(role);
    const t = Template.fromStack(stack);
    // Only the user's bucket, with none of our settings (no lifecycle rule added to it).
    expect(Object.keys(t.findResources('AWS::S3::Bucket'))).toEqual([logicalId(stack, mine)]);
    expect(Object.values(t.findResources('AWS::S3::Bucket'))[0].Properties?.LifecycleConfiguration).toBeUndefined();
    const policy = JSON.stringify(t.findResources('AWS::IAM::Policy'));
    expect(policy).toContain(`"Fn::GetAtt":["${logicalId(stack, mine)}","Arn"]`);
    expect(policy).toContain('/cirrus/*');
  });

  test('a name-based bucket and an IBucket together are refused', () => {
    const stack = new Stack(new App(), 'S');
    const existing = s3.Bucket.fromBucketName(stack, 'Mine', 'their-bucket');
    expect(() => new CirrusPayloadBucket(stack, 'P', { existingBucket: existing, existingBucketName: 'other', ...quiet })).toThrow(ConfigurationError);
  });

  test('CirrusDeployment takes existingBucket: no bucket created, functions get its name', () => {
    const stack = new Stack(new App(), 'S');
    const existing = s3.Bucket.fromBucketName(stack, 'Mine', 'their-bucket');
    const cirrus = new CirrusDeployment(stack, 'Cirrus', { lambdaBundleDir: bundleDir(), existingBucket: existing, ...quiet });
    expect(cirrus.payload.bucket).toBe(existing);
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::S3::Bucket', 0);
    const env = t.findResources('AWS::Lambda::Function')[logicalId(stack, cirrus.functions.process)].Properties.Environment.Variables;
    expect(env[ENV.payloadBucket]).toBe('their-bucket');
  });

  test('CirrusDeployment refuses existingBucket and config.payloadBucketName together', () => {
    const stack2 = new Stack(new App(), 'S2');
    const other = s3.Bucket.fromBucketName(stack2, 'Mine', 'their-bucket');
    expect(
      () => new CirrusDeployment(stack2, 'Cirrus', { lambdaBundleDir: bundleDir(), existingBucket: other, config: { payloadBucketName: 'x-bucket' }, ...quiet }),
    ).toThrow(/either existingBucket or config.payloadBucketName/);
  });
});

describe('props have the defaults of the context keys', () => {
  const contextDefaults = readCirrusConfig(() => undefined);

  test('CirrusPayloadBucket without props: root prefix and tmp/ expiry of the context defaults', () => {
    const stack = new Stack(new App(), 'S');
    const p = new CirrusPayloadBucket(stack, 'P');
    expect(p.rootPrefix).toBe(contextDefaults.payloadRootPrefix);
    expect(p.imported).toBe(false);
    Template.fromStack(stack).hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Id: 'expire-tmp', Prefix: `${contextDefaults.payloadRootPrefix}/tmp/`, ExpirationInDays: contextDefaults.tmpExpirationDays }),
        ]),
      },
    });
  });

  test('CirrusDeployment without config resolves exactly what the app reads from an empty context', () => {
    const { cirrus } = deployment();
    expect(cirrus.config).toEqual(contextDefaults);
    expect(cirrus.monitoring.config).toEqual(contextDefaults.monitoring);
  });

  test('a partial config keeps the other defaults', () => {
    expect(resolveCirrusConfig({ resourcePrefix: 'dev', monitoring: { dashboard: false } })).toEqual({
      ...contextDefaults,
      resourcePrefix: 'dev',
      monitoring: { ...contextDefaults.monitoring, dashboard: false },
    });
  });

  test('props are normalised like the context', () => {
    expect(resolveCirrusConfig({ payloadRootPrefix: '/custom/' }).payloadRootPrefix).toBe('custom');
  });

  test('props are validated like the context', () => {
    expect(() => resolveCirrusConfig({ tmpExpirationDays: 0 })).toThrow(/tmpExpirationDays/);
    expect(() => resolveCirrusConfig({ resourcePrefix: 'bad_prefix' })).toThrow(ConfigurationError);
    expect(() => resolveCirrusConfig({ monitoring: { alarms: false, alarmEmail: 'ops@example.com' } })).toThrow(/alarmEmail/);
  });

  test('a validated config passes through unchanged', () => {
    const full = readCirrusConfig((k) => ({ resourcePrefix: 'x', referenceBuckets: 'a-bucket,b-bucket', processMaxConcurrency: '7' })[k]);
    expect(resolveCirrusConfig(full)).toEqual(full);
  });

  test('CirrusStack without props synthesizes with the defaults', () => {
    const stack = new CirrusStack(new App(), 'Defaults', { lambdaBundleDir: bundleDir(), ...quiet });
    expect(stack.cirrus.config).toEqual(contextDefaults);
    expect(stack.templateOptions.description).toContain(`resourcePrefix ${contextDefaults.resourcePrefix}`);
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::S3::Bucket', 2); // payload bucket and its access logs
    t.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: `${contextDefaults.resourcePrefix}-minimal` });
  });
});

describe('TaskFunctionOptions', () => {
  test('defaults: description, 60 s, 512 MiB', () => {
    const { stack, cirrus } = deployment({ config: { monitoring: { alarms: false, dashboard: false } } });
    const fn = cirrus.addTaskFunction('Task', 'stamp-items');
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Workflow task stamp-items',
      Timeout: DEFAULT_TASK_FUNCTION_TIMEOUT.toSeconds(),
      MemorySize: DEFAULT_TASK_FUNCTION_MEMORY_SIZE,
    });
    expect(DEFAULT_TASK_FUNCTION_TIMEOUT.toSeconds()).toBe(60);
    expect(DEFAULT_TASK_FUNCTION_MEMORY_SIZE).toBe(512);
    expect(fn).toBeInstanceOf(lambda.Function);
  });

  test('given options are applied', () => {
    const { stack, cirrus } = deployment({ config: { monitoring: { alarms: false, dashboard: false } } });
    const options: TaskFunctionOptions = { description: 'mine', timeout: Duration.seconds(15), memorySize: 1024 };
    // The members are readonly (the type check fails otherwise).
    // @ts-expect-error readonly
    options.memorySize = 1;
    const fn = cirrus.addTaskFunction('Task', 'stamp-items', { description: 'mine', timeout: Duration.seconds(15), memorySize: 1024 });
    const t = Template.fromStack(stack);
    expect(t.findResources('AWS::Lambda::Function')[logicalId(stack, fn)].Properties).toMatchObject({
      Description: 'mine',
      Timeout: 15,
      MemorySize: 1024,
    });
  });
});
