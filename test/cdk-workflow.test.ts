/**
 * The example `minimal` workflow (run locally with aws-local-stepfunctions) and the
 * `CirrusWorkflow` construct.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { StateMachineDefinition } from 'aws-local-stepfunctions' with { 'resolution-mode': 'import' };
import { CirrusPayloadBucket } from '../cdk/payload-bucket-construct';
import { CirrusWorkflow, placeholdersOf, readDefinition } from '../cdk/workflow';
import { flattenCfn } from '../cdk/nag';
import { ConfigurationError } from '../shared/errors';

const MINIMAL = join(__dirname, '..', 'workflows', 'minimal.asl.json');

// The package is an ES module with a CommonJS build; this project compiles to CommonJS.
type AslModule = typeof import('aws-local-stepfunctions', { with: { 'resolution-mode': 'import' } });
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ExecutionError, StateMachine } = require('aws-local-stepfunctions') as AslModule;

describe('workflows/minimal.asl.json', () => {
  const definition = JSON.parse(readFileSync(MINIMAL, 'utf8')) as StateMachineDefinition;
  const machine = new StateMachine(definition);

  async function run(input: unknown): Promise<{ ok: true; output: unknown } | { ok: false; error: string }> {
    try {
      const output = await machine.run(input as never).result;
      return { ok: true, output };
    } catch (e) {
      // The failing state's error is the ExecutionError's cause (its name is the ASL Error).
      if (e instanceof ExecutionError) return { ok: false, error: e.cause instanceof Error ? e.cause.name : 'unknown' };
      throw e;
    }
  }

  test('succeeds when process[0].succeed is true, passing the payload through', async () => {
    const payload = { type: 'FeatureCollection', features: [], process: [{ workflow: 'minimal', succeed: true }] };
    await expect(run(payload)).resolves.toEqual({ ok: true, output: payload });
  });

  test('passes an oversized reference ({"url": …}) through', async () => {
    const ref = { url: 's3://bucket/cirrus/tmp/oversized/x.json' };
    await expect(run(ref)).resolves.toEqual({ ok: true, output: ref });
  });

  test.each([
    ['succeed false', { process: [{ workflow: 'minimal', succeed: false }] }],
    ['succeed missing', { process: [{ workflow: 'minimal' }] }],
    ['succeed is the string "true"', { process: [{ workflow: 'minimal', succeed: 'true' }] }],
    ['empty process', { process: [] }],
    ['process is not an array', { process: { succeed: true } }],
    ['no process', { id: 'x' }],
    ['empty object', {}],
    ['not an object', 'hello'],
  ])('fails with WorkflowFailed (never a Choice runtime error): %s', async (_name, input) => {
    const r = await run(input);
    expect(r.ok).toBe(false);
    expect(r.ok === false && r.error).toBe('WorkflowFailed');
  });

  test('is a Choice with IsPresent guards, a Succeed and a Fail with Error and Cause', () => {
    const d = definition as unknown as { StartAt: string; States: Record<string, Record<string, unknown>> };
    expect(d.States[d.StartAt].Type).toBe('Choice');
    const text = JSON.stringify(d.States[d.StartAt]);
    expect(text).toContain('"IsPresent":true');
    const fail = Object.values(d.States).find((s) => s.Type === 'Fail');
    expect(fail).toMatchObject({ Error: 'WorkflowFailed', Cause: expect.any(String) });
    expect(Object.values(d.States).some((s) => s.Type === 'Succeed')).toBe(true);
  });

  test('has no placeholders', () => {
    expect(placeholdersOf(readFileSync(MINIMAL, 'utf8'))).toEqual([]);
  });
});

describe('CirrusWorkflow', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cirrus-wf-'));
  const taskFile = join(dir, 'task.asl.json');
  writeFileSync(
    taskFile,
    JSON.stringify({
      StartAt: 'Task',
      States: {
        Task: {
          Type: 'Task',
          Resource: '${TaskFunctionArn}',
          Parameters: { 'bucket': '${PayloadBucket}', 'root': '${PayloadRootPrefix}', 'extra': '${Extra}', 'payload.$': '$' },
          End: true,
        },
      },
    }),
  );

  function setup(): { stack: Stack; fn: lambda.Function; payload: CirrusPayloadBucket } {
    const stack = new Stack(new App(), 'Test');
    const payload = new CirrusPayloadBucket(stack, 'Payload', { rootPrefix: 'root', tmpExpirationDays: 10 });
    const fn = new lambda.Function(stack, 'Task', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async (e) => e;'),
    });
    return { stack, fn, payload };
  }

  /** Workflow `lambda-task` (prefix `dev`) of the task definition, with substitution Extra, the task lambda and the payload bucket. */
  function lambdaTaskWorkflow(): ReturnType<typeof setup> & { wf: CirrusWorkflow; t: Template; props: Record<string, unknown> } {
    const { stack, fn, payload } = setup();
    const wf = new CirrusWorkflow(stack, 'Wf', {
      name: 'lambda-task',
      resourcePrefix: 'dev',
      definitionFile: taskFile,
      substitutions: { Extra: 'value' },
      lambdas: { TaskFunctionArn: fn },
      payloadBucket: payload,
    });
    const t = Template.fromStack(stack);
    const sms = t.findResources('AWS::StepFunctions::StateMachine');
    expect(Object.keys(sms)).toHaveLength(1);
    return { stack, fn, payload, wf, t, props: Object.values(sms)[0].Properties as Record<string, unknown> };
  }

  test('names the state machine <resourcePrefix>-<name>', () => {
    const { wf, props } = lambdaTaskWorkflow();
    expect(wf.workflowName).toBe('lambda-task');
    expect(props.StateMachineName).toBe('dev-lambda-task');
  });

  test('is a STANDARD state machine, traced, logging every event without execution data', () => {
    const { props } = lambdaTaskWorkflow();
    expect(props.StateMachineType).toBe('STANDARD');
    expect(props.TracingConfiguration).toEqual({ Enabled: true });
    expect(props.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: false });
  });

  test('fills the placeholders with the substitutions, the task lambda ARNs and the payload bucket and root', () => {
    const { stack, fn, payload, props } = lambdaTaskWorkflow();
    const subs = stack.resolve(props.DefinitionSubstitutions) as Record<string, unknown>;
    expect(Object.keys(subs).sort()).toEqual(['Extra', 'PayloadBucket', 'PayloadRootPrefix', 'TaskFunctionArn']);
    expect(subs.Extra).toBe('value');
    expect(subs.PayloadRootPrefix).toBe('root');
    expect(subs.TaskFunctionArn).toEqual(stack.resolve(fn.functionArn));
    expect(subs.PayloadBucket).toEqual(stack.resolve(payload.bucket.bucketName));
  });

  test('inlines the definition (visible to the snapshot and to cdk-nag) with its placeholders intact', () => {
    const { props } = lambdaTaskWorkflow();
    expect(JSON.parse(props.DefinitionString as string).States.Task.Resource).toBe('${TaskFunctionArn}');
  });

  test('lets the state machine invoke the task lambdas, which get payload access under <root>/', () => {
    const { stack, fn, wf, t } = lambdaTaskWorkflow();
    const policies = t.findResources('AWS::IAM::Policy');
    const statementsOf = (roleRef: unknown): { Action: string | string[]; Resource: unknown }[] =>
      Object.values(policies)
        .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([roleRef]))
        .flatMap((p) => p.Properties.PolicyDocument.Statement);
    const smStatements = statementsOf(stack.resolve(wf.stateMachine.role.roleName));
    const invoke = smStatements.find((s) => [s.Action].flat().includes('lambda:InvokeFunction'));
    expect(invoke).toBeDefined();
    const fnStatements = statementsOf(stack.resolve(fn.role!.roleName));
    const put = fnStatements.filter((s) => [s.Action].flat().includes('s3:PutObject'));
    expect(put).toHaveLength(1);
    expect(flattenCfn(put[0].Resource as never)).toMatch(/^<Payload[A-Za-z0-9]*\.Arn>\/root\/\*$/);
  });

  test('fails the synth when the state machine role gets any other action on "*"', () => {
    const make = (extra: boolean): Stack => {
      const { stack, payload } = setup();
      const wf = new CirrusWorkflow(stack, 'Wf', { name: 'minimal', resourcePrefix: 'cirrus', definitionFile: MINIMAL, payloadBucket: payload });
      if (extra) wf.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['batch:SubmitJob'], resources: ['*'] }));
      return stack;
    };
    expect(() => Template.fromStack(make(false))).not.toThrow();
    expect(() => Template.fromStack(make(true))).toThrow(/batch:SubmitJob on "\*"/);
  });

  test('rejects a placeholder without a value', () => {
    const { stack, payload } = setup();
    expect(
      () =>
        new CirrusWorkflow(stack, 'Wf', {
          name: 'lambda-task',
          resourcePrefix: 'dev',
          definitionFile: taskFile,
          payloadBucket: payload,
        }),
    ).toThrow(/\$\{Extra\}, \$\{TaskFunctionArn\}/);
  });

  test.each(['a_b', 'a/b', '-a', 'a-', '', 'x'.repeat(80)])('rejects the workflow name %j', (name) => {
    const { stack } = setup();
    expect(() => new CirrusWorkflow(stack, 'Wf', { name, resourcePrefix: 'cirrus', definitionFile: MINIMAL })).toThrow(
      ConfigurationError,
    );
  });

  test.each([
    ['without StartAt', '{"States": {}}', /StartAt/],
    ['that is not JSON', 'not json', /not JSON/],
  ])('rejects a definition %s', (name, text, error) => {
    const bad = join(dir, `bad ${name}.json`);
    writeFileSync(bad, text);
    expect(() => readDefinition(bad)).toThrow(error);
  });

  test('rejects a definition file it cannot read', () => {
    expect(() => readDefinition(join(dir, 'missing.json'))).toThrow(/cannot read/);
  });

  test('has no substitutions at all for a definition without placeholders', () => {
    const { stack, payload } = setup();
    new CirrusWorkflow(stack, 'Wf', { name: 'minimal', resourcePrefix: 'cirrus', definitionFile: MINIMAL, payloadBucket: payload });
    Template.fromStack(stack).hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'cirrus-minimal',
      DefinitionSubstitutions: Match.absent(),
    });
  });
});
