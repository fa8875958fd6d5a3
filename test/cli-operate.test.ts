/**
 * The operator commands on the whole local pipeline (process and update-state handlers, the
 * example workflows, a queue poller): process, run-workflow, query, rerun, get-execution and
 * --execution on the get-payload commands; run-workflow ending INVALID and ABORTED; --stack on
 * run-workflow and get-execution.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { JsonObject } from '../shared/json';
import { payloadIdToKey } from '../shared/statedb';
import { InputFiles, ndjsonLines, runCirrus } from './helpers/cli-stack';
import { cliFixture, startCliPipeline, type CliPipeline } from './helpers/cli-pipeline';

let t: CliPipeline;
let s3: S3Client;
const inputs = new InputFiles('cirrus-cli-test-');

beforeAll(async () => {
  t = await startCliPipeline();
  s3 = new S3Client(t.pipeline.stack.clientConfig('s3'));
}, 120_000);

afterAll(async () => {
  s3?.destroy();
  await t?.stop();
  inputs.remove();
});

/** A payload of the fixture item with another id, for `workflow`. */
function payload(itemId: string, workflow: string, extra: JsonObject = {}): JsonObject {
  const item = { ...cliFixture('sentinel-2-item.json'), id: itemId };
  return { type: 'FeatureCollection', features: [item], process: [{ workflow, ...extra }] };
}

function idOf(itemId: string, workflow: string): string {
  return `sentinel-2-l2a/workflow-${workflow}/${itemId}`;
}

const file = inputs.file;

const lines = ndjsonLines;

function sentBodies(): string[] {
  return t.pipeline.stack.sqs.sent(t.pipeline.stack.processQueueUrl).map((m) => m.body);
}

async function objectText(url: string): Promise<string> {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(url) as RegExpExecArray;
  const res = await s3.send(new GetObjectCommand({ Bucket: m[1], Key: m[2] }));
  return res.Body!.transformToString('utf-8');
}

describe('process', () => {
  test('sends one payload, computing its id, and prints it; the pipeline runs it', async () => {
    const r = await runCirrus(['process', file('one.json', payload('P1', 'minimal', { succeed: true }))], t.env);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const [out] = lines(r.stdout);
    expect(out).toMatchObject({ payload_id: idOf('P1', 'minimal'), message_id: expect.any(String) });
    expect(out.oversized_url).toBeUndefined();
    expect(sentBodies().map((b) => JSON.parse(b).id)).toContain(idOf('P1', 'minimal'));
    await t.waitForState(idOf('P1', 'minimal'), 'SUCCEEDED');
  });

  test('a JSON array and NDJSON give one line per payload, in order', async () => {
    const arr = await runCirrus(['process', file('arr.json', [payload('A1', 'minimal', { succeed: true }), payload('A2', 'minimal', { succeed: true })])], t.env);
    expect(arr.code).toBe(0);
    expect(lines(arr.stdout).map((l) => l.payload_id)).toEqual([idOf('A1', 'minimal'), idOf('A2', 'minimal')]);
    const nd = [payload('N1', 'minimal', { succeed: true }), payload('N2', 'minimal', { succeed: true })].map((p) => JSON.stringify(p)).join('\n');
    const r = await runCirrus(['process', file('many.ndjson', `${nd}\n`)], t.env);
    expect(r.code).toBe(0);
    expect(lines(r.stdout).map((l) => l.payload_id)).toEqual([idOf('N1', 'minimal'), idOf('N2', 'minimal')]);
  });

  test('a 300 KB payload goes to tmp/oversized/ and the queue gets {"url"}; the run succeeds with the whole payload', async () => {
    const big = payload('BIG', 'minimal', { succeed: true });
    (big.features as JsonObject[])[0].properties = { ...((big.features as JsonObject[])[0].properties as JsonObject), notes: 'x'.repeat(300_000) };
    const text = JSON.stringify(big);
    const r = await runCirrus(['process', file('big.json', text)], t.env);
    expect(r.code).toBe(0);
    const [out] = lines(r.stdout);
    const url = String(out.oversized_url);
    expect(url).toMatch(new RegExp(`^s3://${t.pipeline.stack.payloadBucket}/cirrus/tmp/oversized/[0-9a-f-]{36}\\.json$`));
    expect(sentBodies()).toContain(JSON.stringify({ url }));
    expect(JSON.parse(await objectText(url))).toEqual({ ...big, id: idOf('BIG', 'minimal') });
    await t.waitForState(idOf('BIG', 'minimal'), 'SUCCEEDED');
  });

  test('numbers are sent as written (no rounding)', async () => {
    const text = JSON.stringify(payload('NUM', 'minimal', { succeed: true })).replace('"proj:epsg":32610', '"proj:epsg":32610,"big":12345678901234567890,"one":1.0');
    const r = await runCirrus(['process', file('num.json', text)], t.env);
    expect(r.code).toBe(0);
    const body = sentBodies().find((b) => b.includes('"NUM"')) as string;
    expect(body).toContain('"big":12345678901234567890,"one":1.0');
  });

  test('reads standard input with "-"', async () => {
    async function* stdin(): AsyncGenerator<string> {
      yield JSON.stringify(payload('STDIN', 'minimal', { succeed: true }));
    }
    const r = await runCirrus(['process', '-'], t.env, undefined, stdin());
    expect(r.code).toBe(0);
    expect(lines(r.stdout)[0].payload_id).toBe(idOf('STDIN', 'minimal'));
  });

  test('any invalid payload: exit 5 naming it, nothing sent', async () => {
    const before = sentBodies().length;
    const bad = { type: 'FeatureCollection', features: [], process: [{ workflow: 'minimal' }] };
    const r = await runCirrus(['process', file('bad.json', [payload('OK1', 'minimal'), bad])], t.env);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/^cirrus: invalid payload \(#2\): .*id/);
    expect(sentBodies()).toHaveLength(before);
  });

  test('no queue configured: exit 2 naming the variable and the flag', async () => {
    const env = { ...t.env };
    delete env.CIRRUS_PROCESS_QUEUE_URL;
    const r = await runCirrus(['process', file('q.json', payload('Q', 'minimal'))], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no process queue configured: set CIRRUS_PROCESS_QUEUE_URL or pass --queue-url/);
  });
});

describe('run-workflow', () => {
  test('SUCCEEDED: prints output.json, exit 0', async () => {
    const r = await runCirrus(['run-workflow', file('rw.json', payload('RW1', 'stamp-items')), '--poll-interval', '1s', '--raw'], t.env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as JsonObject;
    expect(out.id).toBe(idOf('RW1', 'stamp-items'));
    expect(out.features).toHaveLength(1);
  });

  test('FAILED: exit 4, the record on stdout and the error on stderr', async () => {
    const r = await runCirrus(['run-workflow', file('rwf.json', payload('RW2', 'minimal', { succeed: false })), '--poll-interval', '1s', '--raw'], t.env);
    expect(r.code).toBe(4);
    expect(JSON.parse(r.stdout)).toMatchObject({ payload_id: idOf('RW2', 'minimal'), state: 'FAILED' });
    expect(r.stderr).toMatch(/^cirrus: payload .*RW2 ended FAILED: WorkflowFailed: process\[0\]\.succeed is not true\n$/);
  });

  test('already SUCCEEDED: exit 2 unless --replace, which runs it again', async () => {
    const f = file('rw3.json', payload('RW3', 'minimal', { succeed: true }));
    expect((await runCirrus(['run-workflow', f, '--poll-interval', '1s'], t.env)).code).toBe(0);
    const again = await runCirrus(['run-workflow', f], t.env);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already SUCCEEDED: process would skip it; pass --replace/);
    const replaced = await runCirrus(['run-workflow', f, '--replace', '--poll-interval', '1s'], t.env);
    expect(replaced.code).toBe(0);
    expect((await t.db.getItem(idOf('RW3', 'minimal')))?.executions).toHaveLength(2);
  });

  test('nothing picks the message up: exit 6 after --timeout', async () => {
    const idle = t.pipeline.stack.sqs.createQueue('cirrus-idle');
    const r = await runCirrus(['run-workflow', file('rw4.json', payload('RW4', 'minimal')), '--queue-url', idle, '--timeout', '2s', '--poll-interval', '1s'], t.env);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/timed out after 2s waiting for payload .*RW4 \(state not recorded yet\)/);
  });

  test('INVALID: exit 5, the record on stdout, the recorded error on stderr', async () => {
    const r = await runCirrus(['run-workflow', file('rwi.json', payload('RWI', 'invalid')), '--poll-interval', '1s', '--raw'], t.env);
    expect(r.code).toBe(5);
    expect(JSON.parse(r.stdout)).toMatchObject({ payload_id: idOf('RWI', 'invalid'), state: 'INVALID', last_error: 'stactask.exceptions.InvalidInput: the input has no assets' });
    expect(r.stderr).toBe(`cirrus: payload ${idOf('RWI', 'invalid')} is INVALID: stactask.exceptions.InvalidInput: the input has no assets\n`);
  });

  test('ABORTED (the execution is stopped while run-workflow waits): exit 4; get-execution names the state that was running', async () => {
    const id = idOf('RWA', 'held');
    const run = runCirrus(['run-workflow', file('rwa.json', payload('RWA', 'held')), '--poll-interval', '1s', '--timeout', '5m', '--raw'], t.env);
    const item = await t.waitForState(id, 'PROCESSING');
    const sfn = new SFNClient(t.pipeline.stack.clientConfig('sfn'));
    try {
      await sfn.send(new StopExecutionCommand({ executionArn: item.executions.at(-1) as string }));
    } finally {
      sfn.destroy();
    }
    const r = await run;
    expect(r.code).toBe(4);
    expect(JSON.parse(r.stdout)).toMatchObject({ payload_id: id, state: 'ABORTED' });
    expect(r.stderr).toBe(`cirrus: payload ${id} ended ABORTED: no error recorded\n`);
    const e = await runCirrus(['get-execution', id, '--raw'], t.env);
    expect(JSON.parse(e.stdout)).toMatchObject({ status: 'ABORTED', failed_state: 'hold' });
  }, 120_000);

  test('more than one payload: usage error', async () => {
    const r = await runCirrus(['run-workflow', file('rw5.json', [payload('X1', 'minimal'), payload('X2', 'minimal')])], t.env);
    expect(r.code).toBe(2);
  });
});

describe('query, rerun and get-execution on FAILED work that is fixed', () => {
  const ids = ['F1', 'F2', 'F3'].map((i) => idOf(i, 'fixable'));

  beforeAll(async () => {
    t.setBroken(true);
    const r = await runCirrus(['process', file('fix.json', ['F1', 'F2', 'F3'].map((i) => payload(i, 'fixable')))], t.env);
    expect(r.code).toBe(0);
    for (const id of ids) await t.waitForState(id, 'FAILED');
  }, 120_000);

  test('query --state FAILED lists them through the state_updated index, NDJSON', async () => {
    const r = await runCirrus(['query', '--collections', 'sentinel-2-l2a', '--workflow', 'fixable', '--state', 'FAILED'], t.env);
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out.map((l) => l.payload_id).sort()).toEqual(ids);
    expect(out[0]).toMatchObject({ state: 'FAILED', last_error: 'StampServiceDown: the stamp service is down' });
  });

  test('get-execution: status, times, error, cause, the failed state, console URL; --events the history', async () => {
    const r = await runCirrus(['get-execution', ids[0], '--raw'], t.env);
    expect(r.code).toBe(0);
    const e = JSON.parse(r.stdout) as JsonObject;
    expect(e).toMatchObject({ payload_id: ids[0], status: 'FAILED', error: 'StampServiceDown', failed_state: 'stamp' });
    expect(String(e.cause)).toContain('the stamp service is down');
    expect(Date.parse(String(e.stop_date))).toBeGreaterThanOrEqual(Date.parse(String(e.start_date)));
    expect(e.console_url).toBe(`https://us-west-2.console.aws.amazon.com/states/home?region=us-west-2#/v2/executions/details/${e.execution_arn}`);
    expect(e.events).toBeUndefined();
    const ev = await runCirrus(['get-execution', ids[0], '--events', '--raw'], t.env);
    const types = (JSON.parse(ev.stdout).events as JsonObject[]).map((x) => x.type);
    expect(types[0]).toBe('ExecutionStarted');
    expect(types).toContain('TaskStateEntered');
    expect(types).toContain('TaskFailed');
    expect(types.at(-1)).toBe('ExecutionFailed');
  });

  test('rerun --dry-run lists what would be sent and sends nothing', async () => {
    const before = sentBodies().length;
    const r = await runCirrus(['rerun', '--collections-workflow', 'sentinel-2-l2a_fixable', '--state', 'FAILED', '--dry-run'], t.env);
    expect(r.code).toBe(0);
    expect(lines(r.stdout).map((l) => [l.payload_id, l.action]).sort()).toEqual(ids.map((id) => [id, 'send']));
    expect(r.stderr).toBe('rerun (dry run): 3 would be sent, 0 skipped\n');
    expect(sentBodies()).toHaveLength(before);
  });

  test('rerun of more than --confirm-over without --yes and without a terminal: exit 2, nothing sent', async () => {
    const before = sentBodies().length;
    const r = await runCirrus(['rerun', '--collections-workflow', 'sentinel-2-l2a_fixable', '--state', 'FAILED', '--confirm-over', '2'], t.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/would send 3 payloads .* pass --yes/);
    expect(sentBodies()).toHaveLength(before);
  });

  test('after the fix, rerun --yes sends each last input.json with replace and every item ends SUCCEEDED', async () => {
    t.setBroken(false);
    const r = await runCirrus(['rerun', '--collections', 'sentinel-2-l2a', '--workflow', 'fixable', '--state', 'FAILED', '--yes'], t.env);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('rerun: 3 sent, 0 skipped, 0 failed\n');
    for (const id of ids) {
      const body = JSON.parse(sentBodies().reverse().find((b) => JSON.parse(b).id === id) as string) as JsonObject;
      expect((body.process as JsonObject[])[0]).toEqual({ workflow: 'fixable', replace: true });
      const item = await t.waitForState(id, 'SUCCEEDED');
      expect(item.executions).toHaveLength(2);
    }
    const q = await runCirrus(['query', '--collections-workflow', 'sentinel-2-l2a_fixable', '--state', 'SUCCEEDED'], t.env);
    expect(lines(q.stdout).map((l) => l.payload_id).sort()).toEqual(ids);
    const none = await runCirrus(['query', '--collections-workflow', 'sentinel-2-l2a_fixable', '--state', 'FAILED'], t.env);
    expect(none).toMatchObject({ code: 0, stdout: '' });
  }, 120_000);

  test('--execution reads an earlier attempt: its input.json, its failure', async () => {
    const item = (await t.db.getItem(ids[1]))!;
    const [first, second] = item.executions;
    const firstId = first.split(':').pop() as string;
    const input = await runCirrus(['get-input-payload', ids[1], '--execution', firstId, '--raw'], t.env);
    expect(input.code).toBe(0);
    expect((JSON.parse(input.stdout).process as JsonObject[])[0]).toEqual({ workflow: 'fixable' });
    const last = await runCirrus(['get-input-payload', ids[1], '--raw'], t.env);
    expect((JSON.parse(last.stdout).process as JsonObject[])[0]).toEqual({ workflow: 'fixable', replace: true });
    const noOutput = await runCirrus(['get-output-payload', ids[1], '--execution', first], t.env);
    expect(noOutput.code).toBe(1);
    expect(noOutput.stderr).toMatch(/output\.json for execution .* is missing/);
    const ok = await runCirrus(['get-output-payload', ids[1], '--execution', second, '--raw'], t.env);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).stamped).toBe(true);
    const earlier = await runCirrus(['get-execution', ids[1], '--execution', firstId, '--raw'], t.env);
    expect(JSON.parse(earlier.stdout)).toMatchObject({ status: 'FAILED', execution_arn: first });
    const now = await runCirrus(['get-execution', ids[1], '--raw'], t.env);
    expect(JSON.parse(now.stdout)).toMatchObject({ status: 'SUCCEEDED', failed_state: null, execution_arn: second });
  });

  test('an execution Step Functions does not know: exit 1', async () => {
    const r = await runCirrus(['get-execution', ids[2], '--execution', '00000000-0000-4000-8000-000000000000'], t.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown to Step Functions/);
  });
});

describe('query filters', () => {
  const CW = 'landsat-c2l2_mirror';
  const P = (i: string): string => `landsat-c2l2/workflow-mirror/${i}`;
  let names: string[];
  let overrides: { dynamo: DynamoDBDocumentClient };
  let base: DynamoDBClient;

  beforeAll(async () => {
    base = new DynamoDBClient(t.pipeline.stack.clientConfig('dynamodb'));
    const doc = DynamoDBDocumentClient.from(base);
    names = [];
    doc.middlewareStack.add((next, context) => (args) => {
      names.push(`${String(context.commandName)}:${String((args.input as { IndexName?: string }).IndexName ?? '')}`);
      return next(args);
    });
    overrides = { dynamo: doc };
    const put = (id: string, state: string, iso: string, extra: JsonObject = {}): Promise<unknown> =>
      doc.send(new PutCommand({ TableName: t.pipeline.stack.stateDbTable, Item: { ...payloadIdToKey(id), state_updated: `${state}_${iso}`, updated: iso, created: iso, executions: [], ...extra } }));
    await put(P('old-failed'), 'FAILED', '2024-01-01T00:00:00+00:00', { last_error: 'Lambda.Timeout: took too long' });
    await put(P('new-failed'), 'FAILED', '2024-06-01T00:00:00+00:00', { last_error: 'WorkflowFailed: nope' });
    await put(P('newest-failed'), 'FAILED', '2024-07-01T00:00:00+00:00', { last_error: 'Lambda.Timeout: again' });
    await put(P('legacy'), 'COMPLETED', '2024-03-01T00:00:00+00:00');
    await put(P('done'), 'SUCCEEDED', '2024-05-01T00:00:00+00:00');
    await put('other/workflow-mirror/x', 'FAILED', '2024-06-01T00:00:00+00:00');
  });

  afterAll(() => base?.destroy());

  const q = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => runCirrus(['query', '--collections-workflow', CW, ...args], t.env, overrides);

  test('without --state: every record of the partition, newest first, through the updated index', async () => {
    names.length = 0;
    const r = await q();
    expect(r.code).toBe(0);
    expect(lines(r.stdout).map((l) => l.payload_id)).toEqual(['newest-failed', 'new-failed', 'done', 'legacy', 'old-failed'].map(P));
    expect(names.filter((n) => n.startsWith('Query'))).toEqual(['QueryCommand:updated']);
    expect(names.some((n) => n.startsWith('Scan'))).toBe(false);
  });

  test('--state with --since and --limit through the state_updated index', async () => {
    names.length = 0;
    const r = await q('--state', 'failed', '--since', '2024-05-15T00:00:00Z');
    expect(lines(r.stdout).map((l) => l.payload_id)).toEqual([P('newest-failed'), P('new-failed')]);
    expect(names.filter((n) => n.startsWith('Query'))).toEqual(['QueryCommand:state_updated']);
    const one = await q('--state', 'FAILED', '--limit', '1');
    expect(lines(one.stdout).map((l) => l.payload_id)).toEqual([P('newest-failed')]);
  });

  test('--error-prefix matches the start of last_error', async () => {
    const r = await q('--state', 'FAILED', '--error-prefix', 'Lambda.Timeout');
    expect(lines(r.stdout).map((l) => l.payload_id)).toEqual([P('newest-failed'), P('old-failed')]);
  });

  test('COMPLETED items read as SUCCEEDED, and --state SUCCEEDED finds them', async () => {
    const r = await q('--state', 'SUCCEEDED');
    const out = lines(r.stdout);
    expect(out.map((l) => l.payload_id).sort()).toEqual([P('done'), P('legacy')].sort());
    expect(out.every((l) => l.state === 'SUCCEEDED')).toBe(true);
  });

  test('--since as a duration; malformed values and a missing partition are usage errors', async () => {
    expect(lines((await q('--since', '1h')).stdout)).toEqual([]);
    for (const args of [['--since', 'yesterday'], ['--state', 'DONE'], ['--limit', '0']]) {
      const r = await q(...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^cirrus: invalid --/);
    }
    const none = await runCirrus(['query', '--state', 'FAILED'], t.env);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/never scanned/);
  });
});

describe('--stack on run-workflow and get-execution (DescribeStacks mocked; every value from the outputs)', () => {
  const cfn = mockClient(CloudFormationClient);
  afterAll(() => cfn.restore());

  beforeEach(() => {
    const st = t.pipeline.stack;
    cfn.reset();
    cfn.on(DescribeStacksCommand, { StackName: 'cirrus-dev' }).resolves({
      Stacks: [
        {
          StackName: 'cirrus-dev',
          StackStatus: 'CREATE_COMPLETE',
          CreationTime: new Date(),
          Outputs: [
            { OutputKey: 'PayloadBucketName', OutputValue: st.payloadBucket },
            { OutputKey: 'PayloadRootPrefix', OutputValue: 'cirrus' },
            { OutputKey: 'StateDbTableName', OutputValue: st.stateDbTable },
            { OutputKey: 'ProcessQueueUrl', OutputValue: st.processQueueUrl },
          ],
        },
      ],
    });
  });

  const bare = (): typeof t.env => {
    const env = { ...t.env };
    for (const n of ['CIRRUS_PAYLOAD_BUCKET', 'CIRRUS_PAYLOAD_ROOT_PREFIX', 'CIRRUS_STATE_DB', 'CIRRUS_PROCESS_QUEUE_URL']) delete env[n];
    return env;
  };

  test('run-workflow sends to the stack\'s queue and prints output.json; get-execution reads the stack\'s table', async () => {
    const id = idOf('STK1', 'minimal');
    const r = await runCirrus(['--stack', 'cirrus-dev', 'run-workflow', file('stk1.json', payload('STK1', 'minimal', { succeed: true })), '--poll-interval', '1s', '--raw'], bare());
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(r.stdout)).toMatchObject({ id, process: [{ workflow: 'minimal', succeed: true }] });
    const e = await runCirrus(['--stack', 'cirrus-dev', 'get-execution', id, '--raw'], bare());
    expect(e.code).toBe(0);
    expect(JSON.parse(e.stdout)).toMatchObject({ payload_id: id, status: 'SUCCEEDED', failed_state: null });
    expect(cfn.commandCalls(DescribeStacksCommand).map((c) => c.args[0].input.StackName)).toEqual(['cirrus-dev', 'cirrus-dev']);
  });
});
