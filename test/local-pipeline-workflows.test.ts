/**
 * The local pipeline registers every `*.asl.json` of the workflows folder, fills the placeholders
 * the CDK app fills, runs task Lambdas from their bundles, and says once, clearly, what it cannot run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { startPipeline, type Pipeline } from '../local/pipeline';

const lambdaTask = (fn: string): object => ({
  Type: 'Task',
  Resource: 'arn:aws:states:::lambda:invoke',
  Parameters: { FunctionName: `\${${fn}}`, 'Payload.$': '$' },
  OutputPath: '$.Payload',
  End: true,
});

let dir: string;
let p: Pipeline;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cirrus-test-workflows-'));
  const write = (name: string, definition: object): void => writeFileSync(path.join(dir, `${name}.asl.json`), JSON.stringify(definition));
  write('echo', { StartAt: 'Echo', States: { Echo: lambdaTask('EchoItemsFunctionArn') } });
  write('needs-missing', { StartAt: 'A', States: { A: { ...lambdaTask('ConvertToCogFunctionArn'), End: undefined, Next: 'B' }, B: lambdaTask('ConvertToCogFunctionArn') } });
  write('batch', {
    StartAt: 'Submit',
    States: { Submit: { Type: 'Task', Resource: 'arn:aws:states:::batch:submitJob.sync', Parameters: { JobName: 'x', JobQueue: 'q', JobDefinition: 'd' }, End: true } },
  });
  write('unknown-token', { StartAt: 'P', States: { P: { Type: 'Pass', Result: '${SomeQueueUrl}', End: true } } });
  write('bucket', { StartAt: 'P', States: { P: { Type: 'Pass', Result: 's3://${PayloadBucket}/${PayloadRootPrefix}/', End: true } } });
  writeFileSync(path.join(dir, 'README.md'), 'not a workflow');
  p = await startPipeline({ workflowsDir: dir, resourcePrefix: 'wfreg', taskLambdas: { 'echo-items': async (event: unknown) => ({ echoed: event }) } });
}, 60_000);

afterAll(async () => {
  await p?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('local pipeline: workflows/*.asl.json', () => {
  it('registers every definition it can fill, by file name', () => {
    expect(p.workflows.map((w) => w.name)).toEqual(['batch', 'bucket', 'echo', 'needs-missing']);
  });

  it('runs a task Lambda named by ${<Name>FunctionArn} from the bundle of <name>, in kebab case', async () => {
    const sfn = p.stack.sfn.workflowArn('echo');
    const client = new SFNClient(p.stack.clientConfig('sfn'));
    try {
      const { executionArn } = await client.send(new StartExecutionCommand({ stateMachineArn: sfn, input: '{"a":1}' }));
      const done = await p.stack.waitForExecution(String(executionArn));
      expect([done.status, JSON.parse(String(done.output))]).toEqual(['SUCCEEDED', { echoed: { a: 1 } }]);
    } finally {
      client.destroy();
    }
  });

  it('reports once a task Lambda with no bundle, naming the workflows that use it', () => {
    const about = p.notices.filter((n) => n.includes('convert-to-cog'));
    expect(about).toEqual([
      'task Lambda convert-to-cog (used by workflow needs-missing) has no bundle in dist/lambdas/convert-to-cog; executions reaching it fail with Lambda.ResourceNotFoundException',
    ]);
  });

  it('reports a Task resource the local Step Functions does not run', () => {
    expect(p.notices).toContain('workflow batch: state "Submit" uses arn:aws:states:::batch:submitJob.sync, which the local stack does not run; executions reaching it fail with States.Runtime');
  });

  it('does not register a definition with a placeholder it has no value for, and says which', () => {
    expect(p.notices).toContain('workflow unknown-token (unknown-token.asl.json) not registered: no local value for ${SomeQueueUrl}');
    expect(p.notices).toHaveLength(3);
  });
});
