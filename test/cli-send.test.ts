/**
 * The sending commands on the local stack without a queue consumer (so every message sent stays
 * countable): rerun's skip reasons, a failed send, an oversized rerun, the --confirm-over prompt;
 * --stack on process, query and rerun; query pagination (mocked DynamoDB); the progress bar.
 */
import { PassThrough } from 'node:stream';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { runCli } from '../cli/program';
import { PROGRESS_THRESHOLD, startProgress } from '../cli/progress';
import type { Env } from '../shared/config';
import type { JsonObject } from '../shared/json';
import { payloadIdToKey } from '../shared/statedb';
import { Capture, InputFiles, ndjsonLines, runCirrus, startCliTestStack, type CliTestStack } from './helpers/cli-stack';
import { cliFixture } from './helpers/cli-pipeline';

let t: CliTestStack;
const inputs = new InputFiles('cirrus-cli-send-');
const file = inputs.file;
const lines = ndjsonLines;

beforeAll(async () => {
  t = await startCliTestStack();
}, 60_000);

afterAll(async () => {
  await t?.stop();
  inputs.remove();
});

function sentBodies(): string[] {
  return t.stack.sqs.sent(t.stack.processQueueUrl).map((m) => m.body);
}

/** A payload of the fixture item with another id. */
function payload(itemId: string, workflow: string, extra: JsonObject = {}): JsonObject {
  const item = { ...cliFixture('sentinel-2-item.json'), id: itemId };
  return { type: 'FeatureCollection', id: `sentinel-2-l2a/workflow-${workflow}/${itemId}`, features: [item], process: [{ workflow }], ...extra };
}

/** Seeds a StateDB record (and, unless `noInput`, the execution's input.json). */
async function seed(itemId: string, workflow: string, state: string, opts: { executions?: number; noInput?: boolean; payload?: JsonObject } = {}): Promise<string> {
  const id = `sentinel-2-l2a/workflow-${workflow}/${itemId}`;
  const iso = new Date().toISOString().replace('Z', '000+00:00');
  const execs = Array.from({ length: opts.executions ?? 1 }, (_, i) => `${itemId.toLowerCase()}-e${i + 1}`);
  await t.putRecord(id, { state_updated: `${state}_${iso}`, updated: iso, created: iso, executions: execs.map((e) => t.arn(workflow, e)) });
  const last = execs.at(-1);
  if (last && !opts.noInput) await t.bucket.uploadInputPayload(opts.payload ?? payload(itemId, workflow), id, last);
  return id;
}

/** A terminal standard input that answers `answer` to the first question. */
function answering(answer: string): PassThrough & { isTTY: boolean } {
  const input = Object.assign(new PassThrough(), { isTTY: true });
  input.end(`${answer}\n`);
  return input;
}

describe('rerun: what is skipped and why, failed sends, oversized payloads, the prompt', () => {
  const WF = 'rerun';
  let ids: Record<string, string>;

  beforeAll(async () => {
    ids = {
      ok: await seed('R-OK', WF, 'FAILED'),
      busy: await seed('R-BUSY', WF, 'PROCESSING'),
      gone: await seed('R-GONE', WF, 'FAILED', { noInput: true }),
      never: await seed('R-NEVER', WF, 'FAILED', { executions: 0 }),
    };
  });

  test('in progress, no input.json, no execution: skipped, each with its reason; the rest sent with replace', async () => {
    const before = sentBodies().length;
    const r = await runCirrus(['rerun', '--collections', 'sentinel-2-l2a', '--workflow', WF, '--yes'], t.env);
    expect(r.code).toBe(0);
    const byId = new Map(lines(r.stdout).map((l) => [l.payload_id, l]));
    expect(byId.get(ids.ok)).toMatchObject({ action: 'send', message_id: expect.any(String) });
    expect(byId.get(ids.busy)).toMatchObject({ action: 'skip', reason: 'in progress (PROCESSING)' });
    expect(byId.get(ids.gone)).toMatchObject({ action: 'skip', reason: `no input.json: ${t.bucket.getInputPayloadUrl(ids.gone, 'r-gone-e1')}` });
    expect(byId.get(ids.never)).toMatchObject({ action: 'skip', reason: 'no execution recorded', execution_id: null });
    expect(r.stderr).toMatch(/^rerun: 1 sent, 3 skipped, 0 failed \(/);
    for (const reason of ['in progress (PROCESSING): 1', 'no input.json: 1', 'no execution recorded: 1']) expect(r.stderr).toContain(reason);
    const sent = sentBodies().slice(before).map((b) => JSON.parse(b) as JsonObject);
    expect(sent.map((b) => [b.id, b.process])).toEqual([[ids.ok, [{ workflow: WF, replace: true }]]]);
  });

  test('a send the queue refuses: the item is reported with the error, exit 4', async () => {
    const sqs = new SQSClient(t.stack.clientConfig('sqs'));
    const mock = mockClient(sqs);
    mock.on(GetQueueAttributesCommand).resolves({ Attributes: { MaximumMessageSize: '262144' } });
    mock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [{ Id: '0', Code: 'InternalError', Message: 'try again later', SenderFault: false }] });
    try {
      const r = await runCirrus(['rerun', '--collections-workflow', `sentinel-2-l2a_${WF}`, '--state', 'FAILED', '--yes'], t.env, { sqs });
      expect(r.code).toBe(4);
      const line = lines(r.stdout).find((l) => l.payload_id === ids.ok);
      expect(line).toMatchObject({ action: 'send', error: 'InternalError: try again later' });
      expect(line?.message_id).toBeUndefined();
      expect(r.stderr).toMatch(/^rerun: 0 sent, 2 skipped, 1 failed \(.*InternalError: 1/);
      expect(mock.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
    } finally {
      mock.restore();
      sqs.destroy();
    }
  });

  test('an input.json over the queue limit goes out as a {"url"} reference to tmp/oversized/', async () => {
    const big = payload('R-BIG', 'rerunbig');
    (big.features as JsonObject[])[0].properties = { ...((big.features as JsonObject[])[0].properties as JsonObject), notes: 'x'.repeat(300_000) };
    const id = await seed('R-BIG', 'rerunbig', 'FAILED', { payload: big });
    const before = sentBodies().length;
    const r = await runCirrus(['rerun', '--collections-workflow', 'sentinel-2-l2a_rerunbig', '--yes'], t.env);
    expect(r.code).toBe(0);
    const [line] = lines(r.stdout);
    const url = String(line.oversized_url);
    expect(url).toMatch(new RegExp(`^s3://${t.stack.payloadBucket}/cirrus/tmp/oversized/[0-9a-f-]{36}\\.json$`));
    expect(sentBodies().slice(before)).toEqual([JSON.stringify({ url })]);
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(url) as RegExpExecArray;
    const stored = JSON.parse(await (await t.s3.send(new GetObjectCommand({ Bucket: m[1], Key: m[2] }))).Body!.transformToString('utf-8')) as JsonObject;
    expect(stored).toEqual({ ...big, id, process: [{ workflow: 'rerunbig', replace: true }] });
  });

  describe('more than --confirm-over without --yes', () => {
    const many = 'rerunmany';
    beforeAll(async () => {
      for (const i of ['M1', 'M2', 'M3']) await seed(i, many, 'FAILED');
    });
    const args = ['rerun', '--collections-workflow', `sentinel-2-l2a_${many}`, '--confirm-over', '2'];

    test('no terminal: refused, exit 2, nothing sent', async () => {
      const before = sentBodies().length;
      const r = await runCirrus(args, t.env);
      expect(r).toMatchObject({ code: 2, stdout: '' });
      expect(r.stderr).toBe('cirrus: rerun would send 3 payloads (more than --confirm-over 2): pass --yes to send them, or --dry-run to list them\n');
      expect(sentBodies()).toHaveLength(before);
    });

    test('a terminal answering "n": asked on stderr, cancelled, exit 2, nothing sent', async () => {
      const before = sentBodies().length;
      const r = await runCirrus(args, t.env, undefined, answering('n'));
      expect(r).toEqual({ code: 2, stdout: '', stderr: 'send 3 payloads again? [y/N] cirrus: rerun cancelled: nothing sent\n' });
      expect(sentBodies()).toHaveLength(before);
    });

    test('a terminal answering "y": asked, then all three sent', async () => {
      const before = sentBodies().length;
      const r = await runCirrus(args, t.env, undefined, answering('y'));
      expect(r).toMatchObject({ code: 0, stderr: 'send 3 payloads again? [y/N] rerun: 3 sent, 0 skipped, 0 failed\n' });
      expect(lines(r.stdout)).toHaveLength(3);
      expect(sentBodies().slice(before)).toHaveLength(3);
    });

    test('--confirm-over 3 does not ask', async () => {
      const r = await runCirrus([...args.slice(0, -1), '3'], t.env);
      expect(r).toMatchObject({ code: 0, stderr: 'rerun: 3 sent, 0 skipped, 0 failed\n' });
    });
  });
});

describe('--stack on process, query and rerun (DescribeStacks mocked; the queue from ProcessQueueUrl)', () => {
  const cfn = mockClient(CloudFormationClient);
  afterEach(() => cfn.reset());
  afterAll(() => cfn.restore());

  const stackOutputs = (queue = true): { OutputKey: string; OutputValue: string }[] => [
    { OutputKey: 'PayloadBucketName', OutputValue: t.stack.payloadBucket },
    { OutputKey: 'PayloadRootPrefix', OutputValue: 'cirrus' },
    { OutputKey: 'StateDbTableName', OutputValue: t.stack.stateDbTable },
    ...(queue ? [{ OutputKey: 'ProcessQueueUrl', OutputValue: t.stack.processQueueUrl }] : []),
  ];
  const stack = (queue = true): void => {
    cfn.on(DescribeStacksCommand, { StackName: 'cirrus-dev' }).resolves({
      Stacks: [{ StackName: 'cirrus-dev', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(), Outputs: stackOutputs(queue) }],
    });
  };
  /** The environment with none of the CLI's own variables: everything comes from the stack. */
  const bare = (): Env => {
    const env = { ...t.env };
    for (const n of ['CIRRUS_PAYLOAD_BUCKET', 'CIRRUS_PAYLOAD_ROOT_PREFIX', 'CIRRUS_STATE_DB', 'CIRRUS_PROCESS_QUEUE_URL']) delete env[n];
    return env;
  };

  test('process sends to the stack\'s ProcessQueueUrl', async () => {
    stack();
    const before = sentBodies().length;
    const r = await runCirrus(['--stack', 'cirrus-dev', 'process', file('stack.json', payload('S-P', 'stackwf'))], bare());
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(lines(r.stdout)).toEqual([{ payload_id: 'sentinel-2-l2a/workflow-stackwf/S-P', message_id: expect.any(String) }]);
    expect(sentBodies().slice(before).map((b) => JSON.parse(b).id)).toEqual(['sentinel-2-l2a/workflow-stackwf/S-P']);
    expect(cfn.commandCalls(DescribeStacksCommand)).toHaveLength(1);
  });

  test('a stack without ProcessQueueUrl: process exits 2 naming the output and the flag', async () => {
    stack(false);
    const r = await runCirrus(['--stack', 'cirrus-dev', 'process', file('stack2.json', payload('S-P2', 'stackwf'))], bare());
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toBe('cirrus: no process queue configured: stack "cirrus-dev" has no ProcessQueueUrl output; pass --queue-url\n');
  });

  test('query reads the stack\'s table; rerun sends to its queue', async () => {
    const id = await seed('S-Q', 'stackwf', 'FAILED');
    stack();
    const q = await runCirrus(['--stack', 'cirrus-dev', 'query', '--collections-workflow', 'sentinel-2-l2a_stackwf', '--state', 'FAILED'], bare());
    expect(q.code).toBe(0);
    expect(lines(q.stdout)).toEqual([expect.objectContaining({ payload_id: id, state: 'FAILED', input_payload_url: t.bucket.getInputPayloadUrl(id, 's-q-e1') })]);
    const before = sentBodies().length;
    const r = await runCirrus(['--stack', 'cirrus-dev', 'rerun', '--collections-workflow', 'sentinel-2-l2a_stackwf', '--state', 'FAILED', '--yes'], bare());
    expect(r).toMatchObject({ code: 0, stderr: 'rerun: 1 sent, 0 skipped, 0 failed\n' });
    expect(sentBodies().slice(before).map((b) => JSON.parse(b).id)).toEqual([id]);
  });
});

describe('query: results spanning several DynamoDB pages (mocked client returning LastEvaluatedKey)', () => {
  const CW = 'pages_paged';
  const record = (n: number): JsonObject => {
    const iso = `2024-01-0${n}T00:00:00+00:00`;
    return { ...payloadIdToKey(`pages/workflow-paged/item-${n}`), state_updated: `FAILED_${iso}`, updated: iso, created: iso, executions: [] };
  };
  const key = (n: number): JsonObject => ({ collections_workflow: CW, itemids: `item-${n}`, updated: `2024-01-0${n}T00:00:00+00:00` });
  let base: DynamoDBClient;
  let doc: DynamoDBDocumentClient;
  let ddb: AwsClientStub<DynamoDBDocumentClient>;
  let starts: (Record<string, unknown> | undefined)[];

  beforeEach(() => {
    base = new DynamoDBClient(t.stack.clientConfig('dynamodb'));
    doc = DynamoDBDocumentClient.from(base);
    ddb = mockClient(doc);
    starts = [];
    // The paginator reuses one input object, so each call's start key is recorded as it is sent.
    const pages = [
      { Items: [record(5), record(4)], LastEvaluatedKey: key(4) },
      { Items: [record(3), record(2)], LastEvaluatedKey: key(2) },
      { Items: [record(1)] },
    ];
    ddb.on(QueryCommand).callsFake((input: QueryCommandInput) => {
      starts.push(input.ExclusiveStartKey && { ...input.ExclusiveStartKey });
      return pages[starts.length - 1] ?? { Items: [] };
    });
  });
  afterEach(() => {
    ddb.restore();
    base.destroy();
  });

  test('every page is read, each Query starting at the previous LastEvaluatedKey', async () => {
    const r = await runCirrus(['query', '--collections-workflow', CW], t.env, { dynamo: doc });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(lines(r.stdout).map((l) => l.payload_id)).toEqual([5, 4, 3, 2, 1].map((n) => `pages/workflow-paged/item-${n}`));
    expect(starts).toEqual([undefined, key(4), key(2)]);
    const calls = ddb.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(calls.every((i) => i.IndexName === 'updated' && i.ExpressionAttributeValues?.[':pk'] === CW)).toBe(true);
  });

  test('--limit across a page boundary: stops reading pages once it has enough', async () => {
    const r = await runCirrus(['query', '--collections-workflow', CW, '--limit', '3'], t.env, { dynamo: doc });
    expect(r.code).toBe(0);
    expect(lines(r.stdout).map((l) => l.payload_id)).toEqual([5, 4, 3].map((n) => `pages/workflow-paged/item-${n}`));
    expect(starts).toEqual([undefined, key(4)]);
  });
});

describe('progress bar: on stderr, only when stdout and stderr are terminals', () => {
  /** A sink that may claim to be a terminal. */
  class Sink extends Capture {
    constructor(readonly isTTY: boolean) {
      super();
    }
  }

  test('startProgress: silent when stdout is not a terminal; drawn on a terminal; silent for a handful', () => {
    const quietErr = new Sink(true);
    const quiet = startProgress('process', 20, new Sink(false), quietErr);
    quiet.increment(20);
    quiet.stop();
    expect(quietErr.text).toBe('');

    const err = new Sink(true);
    const bar = startProgress('process', 20, new Sink(true), err);
    bar.increment(7);
    bar.stop();
    expect(err.text).toMatch(/process \[█+░+\] 7\/20 35%/);

    const few = new Sink(true);
    const small = startProgress('process', PROGRESS_THRESHOLD, new Sink(true), few);
    small.increment(PROGRESS_THRESHOLD);
    small.stop();
    expect(few.text).toBe('');
  });

  test('process of more than a handful: a bar on a terminal, nothing when piped; stdout is NDJSON either way', async () => {
    const docs = Array.from({ length: PROGRESS_THRESHOLD + 2 }, (_, i) => payload(`PB-${i}`, 'progress'));
    const f = file('progress.json', docs);
    for (const tty of [false, true]) {
      const stdout = new Sink(tty);
      const stderr = new Sink(tty);
      const code = await runCli(['process', f], { stdout, stderr, env: t.env, stdin: (async function* () {})() });
      expect(code).toBe(0);
      expect(lines(stdout.text)).toHaveLength(docs.length);
      if (tty) expect(stderr.text).toMatch(new RegExp(`process \\[█+\\] ${docs.length}/${docs.length} 100%`));
      else expect(stderr.text).toBe('');
    }
  });
});
