/** The construct API follows the aws-cdk-lib conventions: grants take an IGrantable and return an iam.Grant. */
import { App, Stack, type CfnResource } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { CirrusPayloadBucket } from '../lib/payload-bucket-construct';
import { CirrusWorkflowMetricLog } from '../lib/workflow-metric-log';

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
