import net from 'node:net';
import { existsSync } from 'node:fs';
import { HeadBucketCommand, PutObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  ExecutionAlreadyExists,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  StopExecutionCommand,
  type DescribeExecutionCommandOutput,
} from '@aws-sdk/client-sfn';
import { PublishBatchCommand, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { CloudWatchLogsClient, CreateLogStreamCommand, GetLogEventsCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { createTableInput } from '../shared/statedb-schema';
import {
  buildStatusChangeEvent,
  escapedSize,
  startLocalStack,
  STATUS_EVENT_DATA_LIMIT_BYTES,
  WorkflowDefinitionError,
  type LocalStack,
  type StepFunctionsStatusChangeEvent,
} from '../local';

const CHOICE_DEFINITION = {
  Comment: 'Choice / Succeed / Fail',
  StartAt: 'Check',
  States: {
    Check: {
      Type: 'Choice',
      Choices: [{ Variable: '$.ok', BooleanEquals: true, Next: 'Mark' }],
      Default: 'Boom',
    },
    Mark: { Type: 'Pass', Result: 'marked', ResultPath: '$.result', Next: 'Done' },
    Done: { Type: 'Succeed' },
    Boom: { Type: 'Fail', Error: 'MyError', Cause: 'it broke' },
  },
};

// Keeps only `ok` so that a huge input produces a small output.
const SMALL_OUTPUT_DEFINITION = {
  StartAt: 'Shrink',
  States: { Shrink: { Type: 'Pass', Parameters: { 'ok.$': '$.ok' }, End: true } },
};

const WAIT_DEFINITION = {
  StartAt: 'Sleep',
  States: { Sleep: { Type: 'Wait', Seconds: 60, End: true } },
};

const TIMEOUT_DEFINITION = {
  TimeoutSeconds: 1,
  StartAt: 'Sleep',
  States: { Sleep: { Type: 'Wait', Seconds: 30, End: true } },
};

const BARE_FAIL_DEFINITION = { StartAt: 'Fail', States: { Fail: { Type: 'Fail' } } };

const TASK_DEFINITION = {
  StartAt: 'Invoke',
  States: {
    Invoke: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: '${EchoFunctionArn}', 'Payload.$': '$' },
      OutputPath: '$.Payload',
      Next: 'Direct',
    },
    Direct: {
      Type: 'Task',
      Resource: 'arn:aws:lambda:us-west-2:123456789012:function:add-one',
      Next: 'Override',
    },
    Override: { Type: 'Task', Resource: 'arn:aws:states:::batch:submitJob.sync', End: true },
  },
};

const FAILING_TASK_DEFINITION = {
  StartAt: 'Invoke',
  States: {
    Invoke: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: 'thrower', 'Payload.$': '$' },
      End: true,
    },
  },
};

class PayloadTooDullError extends Error {
  override name = 'PayloadTooDullError';
}

describe('local stack', () => {
  let stack: LocalStack;
  let startMs: number;
  let sfn: SFNClient;
  let s3: S3Client;
  let ddb: DynamoDBClient;
  let sns: SNSClient;
  let sqs: SQSClient;
  const delivered: StepFunctionsStatusChangeEvent[] = [];
  const ports: number[] = [];

  beforeAll(async () => {
    const t0 = Date.now();
    stack = await startLocalStack({
      lambdaHandlers: {
        // Registered by ARN; the definition refers to it by the same ARN through a substitution.
        'arn:aws:lambda:us-west-2:123456789012:function:echo': async (event: { n: number }) => ({ ...event, echoed: true }),
        'add-one': (event: { n: number; echoed: boolean }) => ({ ...event, n: event.n + 1 }),
        thrower: async () => {
          throw new PayloadTooDullError('not interesting enough');
        },
      },
    });
    startMs = Date.now() - t0;
    stack.onStatusChange(async (event) => {
      delivered.push(event);
    });
    for (const url of Object.values(stack.endpoints)) ports.push(Number(new URL(url).port));
    sfn = new SFNClient({ ...stack.clientConfig('sfn'), maxAttempts: 1 });
    s3 = new S3Client({ ...stack.clientConfig('s3'), maxAttempts: 1 });
    ddb = new DynamoDBClient({ ...stack.clientConfig('dynamodb'), maxAttempts: 1 });
    sns = new SNSClient({ ...stack.clientConfig('sns'), maxAttempts: 1 });
    sqs = new SQSClient({ ...stack.clientConfig('sqs'), maxAttempts: 1 });
  });

  afterAll(async () => {
    for (const c of [sfn, s3, ddb, sns, sqs]) c?.destroy();
    await stack?.stop();
  });

  async function run(workflow: string, input: unknown, name?: string): Promise<string> {
    const out = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: stack.sfn.workflowArn(workflow), input: JSON.stringify(input), name }),
    );
    return out.executionArn!;
  }

  /** The detail of the status-change event of `choice` execution `arn`: name, status, the times DescribeExecution gave (`d`), then `data`. */
  function choiceDetail(arn: string, name: string, status: string, d: DescribeExecutionCommandOutput, data: Record<string, unknown>): Record<string, unknown> {
    const times = { startDate: d.startDate!.getTime(), stopDate: d.stopDate!.getTime() };
    return { executionArn: arn, stateMachineArn: stack.sfn.workflowArn('choice'), name, status, ...times, ...data };
  }

  it('starts in under 3 s', () => {
    expect(startMs).toBeLessThan(3000);
  });

  it.each<[keyof LocalStack['env'], string]>([
    ['AWS_REGION', 'us-west-2'],
    ['CIRRUS_PAYLOAD_BUCKET', 'cirrus-payloads'],
    ['CIRRUS_PAYLOAD_ROOT_PREFIX', 'cirrus'],
    ['CIRRUS_STATE_DB', 'cirrus-state'],
    ['CIRRUS_BASE_WORKFLOW_ARN', 'arn:aws:states:us-west-2:123456789012:stateMachine:cirrus-'],
    ['CIRRUS_WORKFLOW_EVENT_TOPIC_ARN', 'arn:aws:sns:us-west-2:123456789012:cirrus-workflow-event'],
    ['CIRRUS_PUBLISH_TOPIC_ARN', 'arn:aws:sns:us-west-2:123456789012:cirrus-publish'],
  ])('returns the environment functions and the CLI need: %s=%s', (name, value) => {
    expect(stack.env[name]).toBe(value);
  });

  it('returns the URL of its process queue as CIRRUS_PROCESS_QUEUE_URL', () => {
    expect(stack.env.CIRRUS_PROCESS_QUEUE_URL).toBe(`${stack.endpoints.sqs}/123456789012/cirrus-process`);
  });

  it('serves each service on its own loopback port, named in AWS_ENDPOINT_URL_<service>', () => {
    for (const k of ['S3', 'DYNAMODB', 'SFN', 'SNS', 'SQS', 'CLOUDWATCH_LOGS'] as const) {
      expect(stack.env[`AWS_ENDPOINT_URL_${k}`]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    }
    expect(new Set(ports).size).toBe(6);
  });

  it('returns credentials', () => {
    expect(stack.env.AWS_ACCESS_KEY_ID).toBeTruthy();
    expect(stack.env.AWS_SECRET_ACCESS_KEY).toBeTruthy();
  });

  it('provisions the payload bucket', async () => {
    await expect(s3.send(new HeadBucketCommand({ Bucket: stack.payloadBucket }))).resolves.toBeDefined();
    const key = 'cirrus/executions/a/workflow-b/c/d/input.json';
    await s3.send(new PutObjectCommand({ Bucket: stack.payloadBucket, Key: key, Body: '{"a":1}', ContentType: 'application/json' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: stack.payloadBucket, Key: key }));
    expect(await got.Body!.transformToString()).toBe('{"a":1}');
  });

  it('provisions the StateDB table from the shared schema', async () => {
    const { Table } = await ddb.send(new DescribeTableCommand({ TableName: stack.stateDbTable }));
    const expected = createTableInput(stack.stateDbTable);
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.KeySchema).toEqual(expected.KeySchema);
    expect([...(Table?.AttributeDefinitions ?? [])].sort((a, b) => a.AttributeName!.localeCompare(b.AttributeName!))).toEqual(
      [...expected.AttributeDefinitions].sort((a, b) => a.AttributeName.localeCompare(b.AttributeName)),
    );
    expect(Table?.GlobalSecondaryIndexes?.map((g) => ({ IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection }))).toEqual(
      expected.GlobalSecondaryIndexes,
    );
  });

  it('registers workflows with the real CreateStateMachine call and applies substitutions', async () => {
    const arn = await stack.registerWorkflow('choice', CHOICE_DEFINITION);
    expect(arn).toBe('arn:aws:states:us-west-2:123456789012:stateMachine:cirrus-choice');
    const d = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arn }));
    expect(JSON.parse(d.definition!)).toEqual(CHOICE_DEFINITION);
    expect(d.status).toBe('ACTIVE');

    await stack.registerWorkflow('task', TASK_DEFINITION, {
      substitutions: { EchoFunctionArn: 'arn:aws:lambda:us-west-2:123456789012:function:echo' },
      taskHandlers: { Override: (input: { n: number }) => ({ ...input, overridden: true }) },
    });
    const task = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: stack.sfn.workflowArn('task') }));
    expect(task.definition).toContain('"FunctionName":"arn:aws:lambda:us-west-2:123456789012:function:echo"');
    await expect(stack.registerWorkflow('broken', TASK_DEFINITION)).rejects.toThrow(WorkflowDefinitionError);

    await stack.registerWorkflow('small', SMALL_OUTPUT_DEFINITION);
    await stack.registerWorkflow('wait', WAIT_DEFINITION);
    await stack.registerWorkflow('failing-task', FAILING_TASK_DEFINITION);
    await stack.registerWorkflow('timeout', JSON.stringify(TIMEOUT_DEFINITION));
    await stack.registerWorkflow('bare-fail', BARE_FAIL_DEFINITION);
    const list = await sfn.send(new ListStateMachinesCommand({}));
    expect(list.stateMachines?.map((m) => m.name).sort()).toEqual([
      'cirrus-bare-fail',
      'cirrus-choice',
      'cirrus-failing-task',
      'cirrus-small',
      'cirrus-task',
      'cirrus-timeout',
      'cirrus-wait',
    ]);
  });

  it('runs a Choice/Succeed definition to SUCCEEDED; DescribeExecution returns input and output', async () => {
    const input = { ok: true, payload: 'é' };
    const arn = await run('choice', input, 'succeeds-1');
    expect(arn).toBe('arn:aws:states:us-west-2:123456789012:execution:cirrus-choice:succeeds-1');
    const done = await stack.waitForExecution(arn);
    expect(done.status).toBe('SUCCEEDED');

    const d = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    expect(d.status).toBe('SUCCEEDED');
    expect(d.name).toBe('succeeds-1');
    expect(d.stateMachineArn).toBe(stack.sfn.workflowArn('choice'));
    expect(JSON.parse(d.input!)).toEqual(input);
    expect(JSON.parse(d.output!)).toEqual({ ...input, result: 'marked' });
    expect(d.error).toBeUndefined();
    expect(d.startDate).toBeInstanceOf(Date);
    expect(d.stopDate!.getTime()).toBeGreaterThanOrEqual(d.startDate!.getTime());
  });

  it('emits exactly the AWS status-change event, delivered to subscribers before waitForExecution resolves', async () => {
    const input = { ok: true };
    const arn = await run('choice', input, 'event-shape');
    const { event } = await stack.waitForExecution(arn);
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    expect(event).toEqual({
      version: '0',
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      'detail-type': 'Step Functions Execution Status Change',
      source: 'aws.states',
      account: '123456789012',
      time: new Date(d.stopDate!.getTime()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: 'us-west-2',
      resources: [arn],
      detail: choiceDetail(arn, 'event-shape', 'SUCCEEDED', d, {
        input: JSON.stringify(input),
        output: JSON.stringify({ ok: true, result: 'marked' }),
        inputDetails: { included: true },
        outputDetails: { included: true },
        error: null,
        cause: null,
      }),
    });
    expect(Object.keys(event)).toEqual(['version', 'id', 'detail-type', 'source', 'account', 'time', 'region', 'resources', 'detail']);
    expect(delivered.filter((e) => e.detail.executionArn === arn)).toEqual([event]);
    expect(stack.statusEvents.filter((e) => e.detail.executionArn === arn)).toEqual([event]);
  });

  it('runs a Fail state to FAILED with error and cause, in DescribeExecution and in the event', async () => {
    const arn = await run('choice', { ok: false }, 'fails-1');
    const done = await stack.waitForExecution(arn);
    expect(done.status).toBe('FAILED');
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    expect(d.status).toBe('FAILED');
    expect(d.error).toBe('MyError');
    expect(d.cause).toBe('it broke');
    expect(d.output).toBeUndefined();
    expect(done.event.detail).toEqual(
      choiceDetail(arn, 'fails-1', 'FAILED', d, { input: '{"ok":false}', output: null, inputDetails: { included: true }, outputDetails: null, error: 'MyError', cause: 'it broke' }),
    );
  });

  it('leaves input out of the event when the escaped input and output exceed 248 KiB', async () => {
    // Escaping doubles the size of `\"`: the raw input is under 248 KiB, the escaped one is over it.
    const input = { ok: true, pad: '"'.repeat(80_000) };
    const raw = JSON.stringify(input);
    expect(Buffer.byteLength(raw)).toBeLessThan(STATUS_EVENT_DATA_LIMIT_BYTES);
    expect(escapedSize(raw)).toBeGreaterThan(STATUS_EVENT_DATA_LIMIT_BYTES);

    const arn = await run('small', input);
    const { event, status } = await stack.waitForExecution(arn);
    expect(status).toBe('SUCCEEDED');
    expect(event.detail.input).toBeNull();
    expect(event.detail.inputDetails).toEqual({ included: false });
    expect(event.detail.output).toBe('{"ok":true}');
    expect(event.detail.outputDetails).toEqual({ included: true });

    // DescribeExecution still has the full input.
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    expect(d.input).toBe(raw);

    // Just under the budget: included.
    const fits = { ok: true, pad: 'x'.repeat(STATUS_EVENT_DATA_LIMIT_BYTES - 100) };
    const fitsArn = await run('small', fits);
    const fitsEvent = (await stack.waitForExecution(fitsArn)).event;
    expect(fitsEvent.detail.inputDetails).toEqual({ included: true });
    expect(fitsEvent.detail.input).toBe(JSON.stringify(fits));
  });

  it('drops the output too when it alone exceeds the budget', () => {
    const big = JSON.stringify({ pad: '"'.repeat(80_000) });
    const event = buildStatusChangeEvent(
      {
        executionArn: 'arn:aws:states:us-west-2:123456789012:execution:m:e',
        stateMachineArn: 'arn:aws:states:us-west-2:123456789012:stateMachine:m',
        name: 'e',
        status: 'SUCCEEDED',
        startDate: new Date(1000),
        stopDate: new Date(2500),
        input: '{}',
        output: big,
        error: null,
        cause: null,
      },
      'us-west-2',
      '123456789012',
    );
    expect(event.detail).toMatchObject({
      input: null,
      inputDetails: { included: false },
      output: null,
      outputDetails: { included: false },
      startDate: 1000,
      stopDate: 2500,
    });
    expect(event.time).toBe('1970-01-01T00:00:02Z');
  });

  it('StopExecution aborts a running execution and emits an ABORTED event', async () => {
    const arn = await run('wait', { a: 1 }, 'to-stop');
    expect(stack.sfn.execution(arn)?.status).toBe('RUNNING');
    const stopped = await sfn.send(new StopExecutionCommand({ executionArn: arn, error: 'Stopped', cause: 'by the test' }));
    expect(stopped.stopDate).toBeInstanceOf(Date);
    const { event } = await stack.waitForExecution(arn, 5000);
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    expect(d.status).toBe('ABORTED');
    expect(event.detail).toMatchObject({
      status: 'ABORTED',
      output: null,
      outputDetails: null,
      error: 'Stopped',
      cause: 'by the test',
      input: '{"a":1}',
    });
  });

  it('reports TIMED_OUT for TimeoutSeconds, and a bare Fail state with null error and cause', async () => {
    const timedOut = await stack.waitForExecution(await run('timeout', {}), 10000);
    expect(timedOut.status).toBe('TIMED_OUT');
    expect(timedOut.event.detail).toMatchObject({ status: 'TIMED_OUT', output: null, outputDetails: null, error: 'States.Timeout' });

    const bare = await stack.waitForExecution(await run('bare-fail', {}));
    expect(bare.status).toBe('FAILED');
    expect(bare.event.detail).toMatchObject({ status: 'FAILED', error: null, cause: null });
  });

  it('StartExecution on a missing state machine raises StateMachineDoesNotExist', async () => {
    const err = await sfn
      .send(new StartExecutionCommand({ stateMachineArn: stack.sfn.workflowArn('nope'), input: '{}' }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateMachineDoesNotExist);
    expect((err as Error).name).toBe('StateMachineDoesNotExist');
  });

  it('is idempotent for a running execution with the same name and input, else ExecutionAlreadyExists', async () => {
    const first = await run('wait', { x: 1 }, 'dup');
    await expect(run('wait', { x: 1 }, 'dup')).resolves.toBe(first);
    const differentInput = await run('wait', { x: 2 }, 'dup').catch((e: unknown) => e);
    expect(differentInput).toBeInstanceOf(ExecutionAlreadyExists);
    await sfn.send(new StopExecutionCommand({ executionArn: first }));
    await stack.waitForExecution(first);
    const afterEnd = await run('wait', { x: 1 }, 'dup').catch((e: unknown) => e);
    expect((afterEnd as Error).name).toBe('ExecutionAlreadyExists');
  });

  it('DescribeExecution / StopExecution on an unknown execution raise ExecutionDoesNotExist', async () => {
    const executionArn = 'arn:aws:states:us-west-2:123456789012:execution:cirrus-wait:ghost';
    await expect(sfn.send(new DescribeExecutionCommand({ executionArn }))).rejects.toHaveProperty('name', 'ExecutionDoesNotExist');
    await expect(sfn.send(new StopExecutionCommand({ executionArn }))).rejects.toHaveProperty('name', 'ExecutionDoesNotExist');
  });

  it('runs Task states on local handlers: lambda:invoke, a direct function ARN and a per-state override', async () => {
    const arn = await run('task', { n: 1 });
    const done = await stack.waitForExecution(arn);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output!)).toEqual({ n: 2, echoed: true, overridden: true });
  });

  it('fails a Task whose handler throws with the Lambda error name and JSON cause', async () => {
    const arn = await run('failing-task', { n: 1 });
    const done = await stack.waitForExecution(arn);
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('PayloadTooDullError');
    const cause = JSON.parse(done.cause!) as { errorType: string; errorMessage: string; trace: string[] };
    expect(cause.errorType).toBe('PayloadTooDullError');
    expect(cause.errorMessage).toBe('not interesting enough');
    expect(Array.isArray(cause.trace)).toBe(true);
    expect(done.event.detail.error).toBe('PayloadTooDullError');
  });

  it('records subscriber failures and redelivers them', async () => {
    let calls = 0;
    const unsubscribe = stack.onStatusChange(() => {
      calls++;
      if (calls === 1) throw new Error('update-state is down');
    });
    try {
      const arn = await run('choice', { ok: true });
      await stack.waitForExecution(arn);
      const failures = stack.deliveryFailures.filter((f) => f.event.detail.executionArn === arn);
      expect(failures).toHaveLength(1);
      expect((failures[0].error as Error).message).toBe('update-state is down');
      await expect(stack.redeliverFailedStatusEvents()).resolves.toBe(0);
      expect(calls).toBe(2);
      expect(stack.deliveryFailures).toHaveLength(0);
    } finally {
      unsubscribe();
    }
  });

  it('records SNS Publish and PublishBatch messages with their attributes', async () => {
    const topic = stack.env.CIRRUS_WORKFLOW_EVENT_TOPIC_ARN;
    const out = await sns.send(
      new PublishBatchCommand({
        TopicArn: topic,
        PublishBatchRequestEntries: [
          {
            Id: 'a',
            Message: '{"event_type":"STARTED"}',
            MessageAttributes: {
              event_type: { DataType: 'String', StringValue: 'STARTED' },
              workflow: { DataType: 'String', StringValue: 'mirror' },
            },
          },
          { Id: 'b', Message: '{"event_type":"FAILED"}', MessageAttributes: { count: { DataType: 'Number', StringValue: '3' } } },
          { Id: 'c', Message: 'bad', MessageAttributes: { empty: { DataType: 'String', StringValue: '' } } },
        ],
      }),
    );
    expect(out.Successful?.map((s) => s.Id)).toEqual(['a', 'b']);
    expect(out.Failed?.map((f) => [f.Id, f.Code, f.SenderFault])).toEqual([['c', 'InvalidParameterValue', true]]);
    await sns.send(new PublishCommand({ TopicArn: stack.publishTopicArn, Message: 'item', MessageAttributes: { collection: { DataType: 'String', StringValue: 's2' } } }));

    const msgs = stack.sns.messages(topic);
    expect(msgs.map((m) => ({ message: m.message, attributes: m.attributes }))).toEqual([
      { message: '{"event_type":"STARTED"}', attributes: { event_type: 'STARTED', workflow: 'mirror' } },
      { message: '{"event_type":"FAILED"}', attributes: { count: '3' } },
    ]);
    expect(msgs[0].messageId).toBe(out.Successful?.[0].MessageId);
    expect(msgs[1].messageAttributes).toEqual({ count: { DataType: 'Number', StringValue: '3' } });
    expect(stack.sns.messages(stack.publishTopicArn).map((m) => m.attributes)).toEqual([{ collection: 's2' }]);

    const tooMany = Array.from({ length: 11 }, (_, i) => ({ Id: `m${i}`, Message: 'x' }));
    await expect(sns.send(new PublishBatchCommand({ TopicArn: topic, PublishBatchRequestEntries: tooMany }))).rejects.toHaveProperty(
      'name',
      'TooManyEntriesInBatchRequestException',
    );
    await expect(sns.send(new PublishCommand({ TopicArn: `${topic}-missing`, Message: 'x' }))).rejects.toHaveProperty('name', 'NotFoundException');
  });

  it('CloudWatch Logs: the workflow metric log group takes streams and events in order, and refuses what the service refuses', async () => {
    const logs = new CloudWatchLogsClient({ ...stack.clientConfig('logs'), maxAttempts: 1 });
    try {
      const group = stack.workflowLogGroup;
      expect(group).toBe('cirrus-workflow-event-metrics');
      await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: 's1' }));
      await logs.send(new PutLogEventsCommand({ logGroupName: group, logStreamName: 's1', logEvents: [{ timestamp: 1, message: 'a' }, { timestamp: 2, message: 'b' }] }));
      const got = await logs.send(new GetLogEventsCommand({ logGroupName: group, logStreamName: 's1' }));
      expect(got.events?.map((e) => e.message)).toEqual(['a', 'b']);
      expect(stack.logs.events(group).map((e) => [e.logStreamName, e.message])).toEqual([['s1', 'a'], ['s1', 'b']]);
      const outOfOrder = await logs
        .send(new PutLogEventsCommand({ logGroupName: group, logStreamName: 's1', logEvents: [{ timestamp: 2, message: 'c' }, { timestamp: 1, message: 'd' }] }))
        .catch((e: Error) => e);
      expect((outOfOrder as Error).name).toBe('InvalidParameterException');
      const noStream = await logs.send(new PutLogEventsCommand({ logGroupName: group, logStreamName: 'nope', logEvents: [{ timestamp: 1, message: 'x' }] })).catch((e: Error) => e);
      expect((noStream as Error).name).toBe('ResourceNotFoundException');
      const noGroup = await logs.send(new CreateLogStreamCommand({ logGroupName: 'nope', logStreamName: 's1' })).catch((e: Error) => e);
      expect((noGroup as Error).name).toBe('ResourceNotFoundException');
      const again = await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: 's1' })).catch((e: Error) => e);
      expect((again as Error).name).toBe('ResourceAlreadyExistsException');
    } finally {
      logs.destroy();
      stack.logs.clear();
    }
  });

  it('records SQS SendMessageBatch messages with attributes; receive, delete and queue attributes work', async () => {
    const QueueUrl = (await sqs.send(new GetQueueUrlCommand({ QueueName: 'cirrus-process' }))).QueueUrl!;
    expect(QueueUrl).toBe(stack.processQueueUrl);
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl,
        Entries: [
          { Id: '1', MessageBody: '{"a":1}', MessageAttributes: { kind: { DataType: 'String', StringValue: 'chain' } } },
          { Id: '2', MessageBody: '{"b":2}' },
        ],
      }),
    );
    expect(sent.Successful?.map((s) => s.Id)).toEqual(['1', '2']);
    expect(sent.Failed ?? []).toEqual([]);
    expect(stack.sqs.sent(QueueUrl).map((m) => ({ body: m.body, attributes: m.attributes }))).toEqual([
      { body: '{"a":1}', attributes: { kind: 'chain' } },
      { body: '{"b":2}', attributes: {} },
    ]);

    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
    expect(attrs.Attributes).toEqual({ ApproximateNumberOfMessages: '2' });

    const received = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], WaitTimeSeconds: 1 }),
    );
    expect(received.Messages?.map((m) => m.Body)).toEqual(['{"a":1}', '{"b":2}']);
    expect(received.Messages?.[0].MessageAttributes).toEqual({ kind: { DataType: 'String', StringValue: 'chain' } });
    const deleted = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl,
        Entries: received.Messages!.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
    expect(deleted.Successful).toHaveLength(2);
    expect(stack.sqs.pending(QueueUrl)).toEqual([]);
    expect(stack.sqs.sent(QueueUrl)).toHaveLength(2);

    await expect(sqs.send(new GetQueueUrlCommand({ QueueName: 'missing' }))).rejects.toBeInstanceOf(QueueDoesNotExist);
  });

  it('applyEnv points env-configured SDK clients at the stack and restores the environment', async () => {
    const before = process.env.AWS_ENDPOINT_URL_SFN;
    const restore = stack.applyEnv();
    try {
      expect(process.env.CIRRUS_STATE_DB).toBe('cirrus-state');
      const fromEnv = new SFNClient({ maxAttempts: 1 });
      try {
        const list = await fromEnv.send(new ListStateMachinesCommand({}));
        expect(list.stateMachines?.some((m) => m.name === 'cirrus-choice')).toBe(true);
      } finally {
        fromEnv.destroy();
      }
    } finally {
      restore();
    }
    expect(process.env.AWS_ENDPOINT_URL_SFN).toBe(before);
  });

  it('waitForIdle resolves once nothing runs', async () => {
    await run('choice', { ok: true });
    await stack.waitForIdle(5000);
    expect(stack.sfn.executions().filter((e) => e.status === 'RUNNING')).toEqual([]);
  });

  it('stop() closes every port and removes the data folder', async () => {
    const running = await run('wait', {}, 'left-running');
    await stack.stop();
    expect(stack.sfn.execution(running)?.status).toBe('ABORTED');
    expect(existsSync(stack.dataDir)).toBe(false);
    for (const port of ports) {
      const refused = await new Promise<boolean>((resolve) => {
        const socket = net.connect({ port, host: '127.0.0.1' });
        socket.once('connect', () => {
          socket.destroy();
          resolve(false);
        });
        socket.once('error', () => resolve(true));
      });
      expect({ port, refused }).toEqual({ port, refused: true });
    }
    await expect(stack.stop()).resolves.toBeUndefined();
  });
});
