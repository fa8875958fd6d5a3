/**
 * cdk-nag 3 (AwsSolutionsChecks) on the synthesized app.
 *
 * cdk-nag 3 reports through CDK's validation plugins (`validateScope` / the synth validation
 * report), not through Annotations, so these tests read `validateScope` and also check that the
 * synth itself fails on an unacknowledged finding.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations, type PolicyViolation } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import type { CirrusApp } from '../cdk/app';
import { buildApp } from './helpers/cdk-app';


const CONTEXTS: [string, Record<string, unknown>][] = [
  ['default', {}],
  ['custom root, reference buckets, concurrency', { payloadRootPrefix: '/custom/', referenceBuckets: 'ref-a,ref-b', processMaxConcurrency: 5 }],
  ['imported bucket', { payloadBucketName: 'my-existing-bucket', resourcePrefix: 'dev' }],
];

function build(context: Record<string, unknown> = {}): CirrusApp & { nag: AwsSolutionsChecks } {
  const built = buildApp(context);
  if (!built.nag) throw new Error('nag is not registered');
  return { ...built, nag: built.nag };
}

const errorsOf = (v: PolicyViolation[]): PolicyViolation[] => v.filter((x) => x.severity === 'error');
const describeViolations = (v: PolicyViolation[]): string[] =>
  v.flatMap((x) => x.violatingResources.map((r) => `${x.ruleName} @ ${r.constructPath}`));

/** Every acknowledgment recorded in the tree: rule id, reason, construct path. */
function acknowledgments(root: IConstruct): { id: string; reason: string; path: string }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          id: id.replace(/^annotation::/i, ''),
          reason,
          path: c.node.path,
        })),
      ),
  );
}

describe('cdk-nag AwsSolutionsChecks', () => {
  test.each(CONTEXTS)('%s: zero unacknowledged findings, and the synth validation passes', (_name, context) => {
    const { app, stack, nag } = build(context);
    const report = nag.validateScope(app);
    expect(describeViolations(report.violations)).toEqual([]);
    expect(report.success).toBe(true);
    // Template.fromStack synthesizes the app, which runs the registered plugin; its report (on
    // stderr) holds at most the imported-bucket lifecycle warning.
    const spy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(() => Template.fromStack(stack)).not.toThrow();
      const printed = spy.mock.calls.map((c) => c.map(String).join(' ')).join('\n');
      expect(printed).not.toMatch(/AwsSolutions|ERROR/);
    } finally {
      spy.mockRestore();
    }
  });

  test.each(CONTEXTS)('%s: every acknowledgment has a reason and matches a real finding', (_name, context) => {
    const { app } = build(context);
    const acks = acknowledgments(app).filter((a) => a.id.startsWith('AwsSolutions-'));
    expect(acks.length).toBeGreaterThan(0);
    for (const a of acks) expect(a.reason.trim().length).toBeGreaterThanOrEqual(20);

    // The same app without any acknowledgment: what cdk-nag really finds.
    const spy = jest.spyOn(Validations.prototype, 'acknowledge').mockImplementation(() => undefined);
    let raw: PolicyViolation[];
    try {
      const bare = build(context);
      raw = bare.nag.validateScope(bare.app).violations;
    } finally {
      spy.mockRestore();
    }
    const found = raw.flatMap((v) => v.violatingResources.map((r) => ({ id: v.ruleName, path: r.constructPath ?? '' })));
    expect(found.length).toBeGreaterThan(0);
    // No stale or over-broad acknowledgment: each one silences a finding at or below its construct.
    for (const a of acks) {
      const hits = found.filter((f) => f.id === a.id && (f.path === a.path || f.path.startsWith(`${a.path}/`)));
      expect({ ack: a, stale: hits.length === 0 }).toEqual({ ack: a, stale: false });
    }
    // And every finding is acknowledged (nothing passes by accident).
    for (const f of found) {
      const covered = acks.some((a) => a.id === f.id && (f.path === a.path || f.path.startsWith(`${a.path}/`)));
      expect({ finding: f, covered }).toEqual({ finding: f, covered: true });
    }
  });

  test('detects a deliberately bad bucket (and fails the synth)', () => {
    const { app, stack, nag } = build();
    new s3.Bucket(stack, 'BadBucket');
    const errors = errorsOf(nag.validateScope(app).violations);
    const found = describeViolations(errors);
    expect(found).toEqual(
      expect.arrayContaining([
        `AwsSolutions-S1 @ ${stack.node.path}/BadBucket/Resource`,
        `AwsSolutions-S10 @ ${stack.node.path}/BadBucket/Resource`,
      ]),
    );
    expect(() => app.synth()).toThrow(/AwsSolutions-S1/);
  });

  test('detects a new wildcard grant on a function role: acknowledgments are per finding', () => {
    const { app, stack, nag } = build();
    stack.cirrus.functions.process.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [stack.cirrus.payload.bucket.arnForObjects('*')] }),
    );
    const found = describeViolations(errorsOf(nag.validateScope(app).violations));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^AwsSolutions-IAM5\[Resource::<.*PayloadBucket.*\.Arn>\/\*\] @ .*ProcessRole\/DefaultPolicy/);
  });

  test('a workflow with a task lambda added by name passes without new acknowledgments', () => {
    const { app, stack, nag } = build();
    const dir = mkdtempSync(join(tmpdir(), 'cirrus-wf-'));
    const file = join(dir, 'task.asl.json');
    writeFileSync(
      file,
      JSON.stringify({ StartAt: 'T', States: { T: { Type: 'Task', Resource: '${TaskArn}', End: true } } }),
    );
    const fn = stack.cirrus.functions['pre-batch'];
    stack.addWorkflow({ name: 'with-task', definitionFile: file, lambdas: { TaskArn: fn as lambda.IFunction } });
    expect(describeViolations(nag.validateScope(app).violations)).toEqual([]);
    expect(() => stack.addWorkflow({ name: 'with-task', definitionFile: file })).toThrow(/already defined/);
  });

  test('context nag=false skips the checks', () => {
    expect(buildApp({ nag: 'false' }).nag).toBeUndefined();
  });
});
