/**
 * The `cirrus` CLI against the embedded local stack (real S3 and DynamoDB protocols): every
 * command, every error case, configuration by environment, flags and `--stack`, output formats
 * and help. CloudFormation `DescribeStacks` is mocked with aws-sdk-client-mock.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { getInputPayload, getState, listExecutions } from '../cli/commands/payloads';
import { CliClients, createConfig } from '../cli/config';
import { PayloadNotFoundError } from '../shared/errors';
import { PayloadBucket } from '../shared/payload-bucket';
import { runCirrus, runNode, samplePayload, startCliTestStack, type CliTestStack, type ProcessRun } from './helpers/cli-stack';

let t: CliTestStack;

// Execution ids chosen so that sorting by id would give the wrong (newest-first) order.
const [EXEC_1, EXEC_2, EXEC_P, EXEC_MI, EXEC_MO, EXEC_NESTED, EXEC_ALT] = [
  'ffffffff-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', // P_OK's two attempts
  '11111111-0000-4000-8000-000000000003', '22222222-0000-4000-8000-000000000004', '33333333-0000-4000-8000-000000000005',
  '44444444-0000-4000-8000-000000000006', '55555555-0000-4000-8000-000000000007',
];

/** The payload id of item `item` of collection sentinel-2-l2a for workflow cog. */
const cog = (item: string): string => `sentinel-2-l2a/workflow-cog/${item}`;
const P_OK = cog('S2A_OK');
const P_NESTED = cog('S2A_OK/S2B_OTHER');
const P_PROCESSING = cog('S2A_RUNNING');
const P_NO_EXEC = cog('S2A_NOEXEC');
const P_MISSING_INPUT = cog('S2A_NOINPUT');
const P_MISSING_OUTPUT = cog('S2A_NOOUTPUT');
const P_UNKNOWN = cog('NEVER_SEEN');
const P_ALT = 'landsat/workflow-mirror/LC08_ALT';
const ALT_ROOT = 'alt/root';

const INPUT_1 = samplePayload(P_OK, { attempt: 1 });
const INPUT_2 = samplePayload(P_OK, { attempt: 2 });
const OUTPUT_2 = samplePayload(P_OK, { attempt: 2, features: [{ type: 'Feature', id: 'S2A_OK', properties: { ok: true } }] });

beforeAll(async () => {
  t = await startCliTestStack();
  const { db, bucket } = t;
  // P_OK: a failed first attempt, then a successful second one.
  await db.claim(P_OK, t.arn('cog', EXEC_1));
  await bucket.uploadInputPayload(INPUT_1, P_OK, EXEC_1);
  await db.setProcessing(P_OK);
  await db.setFailed(P_OK, 'Boom: first attempt failed');
  await sleep(1100); // distinct LastModified seconds for the two attempts
  await db.claim(P_OK, t.arn('cog', EXEC_2));
  await bucket.uploadInputPayload(INPUT_2, P_OK, EXEC_2);
  await db.setProcessing(P_OK);
  await bucket.uploadOutputPayload(OUTPUT_2, P_OK, EXEC_2);
  await db.setSucceeded(P_OK, { outputs: ['s3://data/S2A_OK.json'] });
  // A payload whose id continues P_OK's: its objects live under P_OK's prefix.
  await db.claim(P_NESTED, t.arn('cog', EXEC_NESTED));
  await bucket.uploadInputPayload(samplePayload(P_NESTED), P_NESTED, EXEC_NESTED);

  await db.claim(P_PROCESSING, t.arn('cog', EXEC_P));
  await bucket.uploadInputPayload(samplePayload(P_PROCESSING), P_PROCESSING, EXEC_P);
  await db.setProcessing(P_PROCESSING);

  await t.putRecord(P_NO_EXEC, { state_updated: 'FAILED_2024-01-01T00:00:00.000000+00:00', created: '2024-01-01T00:00:00.000000+00:00', updated: '2024-01-01T00:00:00.000000+00:00' });

  await db.claim(P_MISSING_INPUT, t.arn('cog', EXEC_MI));
  await db.setProcessing(P_MISSING_INPUT);
  await db.setSucceeded(P_MISSING_INPUT);

  await db.claim(P_MISSING_OUTPUT, t.arn('cog', EXEC_MO));
  await bucket.uploadInputPayload(samplePayload(P_MISSING_OUTPUT), P_MISSING_OUTPUT, EXEC_MO);
  await db.setProcessing(P_MISSING_OUTPUT);
  await db.setSucceeded(P_MISSING_OUTPUT);

  const alt = new PayloadBucket(t.stack.payloadBucket, ALT_ROOT, { s3: t.s3 });
  await db.claim(P_ALT, t.arn('mirror', EXEC_ALT));
  await alt.uploadInputPayload(samplePayload(P_ALT, { root: 'alt' }), P_ALT, EXEC_ALT);
});

afterAll(async () => {
  await t?.stop();
});

/** The environment without some variables. */
function envWithout(...names: string[]): Record<string, string | undefined> {
  const env = { ...t.env };
  for (const n of names) delete env[n];
  return env;
}

function expectOneLineError(stderr: string, pattern: RegExp): void {
  expect(stderr).toMatch(/^cirrus: /);
  expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(stderr).toMatch(pattern);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('get-input-payload', () => {
  test('prints the last execution input.json, pretty by default', async () => {
    const r = await runCirrus(['get-input-payload', P_OK], t.env);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe(`${JSON.stringify(INPUT_2, null, 2)}\n`);
  });

  test('--raw prints compact JSON (before or after the command)', async () => {
    const after = await runCirrus(['get-input-payload', P_OK, '--raw'], t.env);
    expect(after.code).toBe(0);
    expect(after.stdout).toBe(`${JSON.stringify(INPUT_2)}\n`);
    const before = await runCirrus(['--raw', 'get-input-payload', P_OK], t.env);
    expect(before.stdout).toBe(`${JSON.stringify(INPUT_2)}\n`);
  });

  test('unknown payload: exit 1, one line', async () => {
    const r = await runCirrus(['get-input-payload', P_UNKNOWN], t.env);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expectOneLineError(r.stderr, new RegExp(`payload not found in the state database: ${P_UNKNOWN}`));
  });

  test('no execution yet: exit 1', async () => {
    const r = await runCirrus(['get-input-payload', P_NO_EXEC], t.env);
    expect(r.code).toBe(1);
    expectOneLineError(r.stderr, new RegExp(`payload has no execution yet: ${P_NO_EXEC}`));
  });

  test('input.json missing from the bucket: exit 1 naming the execution and URL', async () => {
    const r = await runCirrus(['get-input-payload', P_MISSING_INPUT], t.env);
    expect(r.code).toBe(1);
    const url = t.bucket.getInputPayloadUrl(P_MISSING_INPUT, EXEC_MI);
    expectOneLineError(r.stderr, new RegExp(`input\\.json for execution ${EXEC_MI} is missing from ${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: it may have expired or been deleted`));
  });

  test('malformed payload id: usage error, exit 2', async () => {
    const r = await runCirrus(['get-input-payload', 'not-a-payload-id'], t.env);
    expect(r.code).toBe(2);
    expectOneLineError(r.stderr, /invalid payload id "not-a-payload-id": must match '<collections>\/workflow-<workflow>\/<itemids>'/);
  });

  test('--root-prefix reads payloads under another root', async () => {
    const r = await runCirrus(['get-input-payload', P_ALT, '--root-prefix', `/${ALT_ROOT}/`, '--raw'], t.env);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ root: 'alt' });
    const wrongRoot = await runCirrus(['get-input-payload', P_ALT], t.env);
    expect(wrongRoot.code).toBe(1);
    expect(wrongRoot.stderr).toMatch(/is missing from s3:\/\/[^/]+\/cirrus\/executions\//);
  });
});

describe('get-output-payload', () => {
  test('prints the last execution output.json', async () => {
    const r = await runCirrus(['get-output-payload', P_OK], t.env);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(OUTPUT_2);
    expect(r.stdout).toBe(`${JSON.stringify(OUTPUT_2, null, 2)}\n`);
  });

  test('not succeeded: exit 1 with the state', async () => {
    const r = await runCirrus(['get-output-payload', P_PROCESSING], t.env);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expectOneLineError(
      r.stderr,
      new RegExp(`no output: payload ${P_PROCESSING} is in state PROCESSING, output\\.json is only written when the run succeeds`),
    );
  });

  test('output.json missing from the bucket: exit 1', async () => {
    const r = await runCirrus(['get-output-payload', P_MISSING_OUTPUT], t.env);
    expect(r.code).toBe(1);
    expectOneLineError(r.stderr, new RegExp(`output\\.json for execution ${EXEC_MO} is missing from s3://.*/output\\.json: it may have expired`));
  });

  test('unknown payload and no execution: exit 1', async () => {
    expect((await runCirrus(['get-output-payload', P_UNKNOWN], t.env)).code).toBe(1);
    const r = await runCirrus(['get-output-payload', P_NO_EXEC], t.env);
    expect(r.code).toBe(1);
    expectOneLineError(r.stderr, /no execution yet/);
  });
});

describe('get-state', () => {
  test('prints every field of the item', async () => {
    const r = await runCirrus(['get-state', P_OK], t.env);
    expect(r.code).toBe(0);
    const state = JSON.parse(r.stdout);
    expect(Object.keys(state).sort()).toEqual(
      [
        'payload_id', 'collections', 'workflow', 'items', 'state', 'created', 'updated', 'executions',
        'last_error', 'outputs', 'claimed_at', 'input_payload_url', 'output_payload_url',
      ].sort(),
    );
    expect(state).toMatchObject({
      payload_id: P_OK,
      collections: 'sentinel-2-l2a',
      workflow: 'cog',
      items: 'S2A_OK',
      state: 'SUCCEEDED',
      executions: [t.arn('cog', EXEC_1), t.arn('cog', EXEC_2)],
      last_error: null,
      outputs: ['s3://data/S2A_OK.json'],
      input_payload_url: t.bucket.getInputPayloadUrl(P_OK, EXEC_2),
      output_payload_url: t.bucket.getOutputPayloadUrl(P_OK, EXEC_2),
    });
    expect(state.created).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(state.claimed_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(r.stdout).toBe(`${JSON.stringify(state, null, 2)}\n`);
  });

  test('a PROCESSING item has no output URL; without the bucket no URLs at all', async () => {
    const r = await runCirrus(['get-state', P_PROCESSING, '--raw'], t.env);
    expect(JSON.parse(r.stdout)).toMatchObject({ state: 'PROCESSING', output_payload_url: null, input_payload_url: expect.stringContaining(EXEC_P) });
    const noBucket = await runCirrus(['get-state', P_OK], envWithout('CIRRUS_PAYLOAD_BUCKET'));
    expect(noBucket.code).toBe(0);
    expect(JSON.parse(noBucket.stdout)).toMatchObject({ state: 'SUCCEEDED', input_payload_url: null, output_payload_url: null });
  });

  test('unknown payload: exit 1; item without executions is shown', async () => {
    const r = await runCirrus(['get-state', P_UNKNOWN], t.env);
    expect(r.code).toBe(1);
    expectOneLineError(r.stderr, /payload not found/);
    const noExec = await runCirrus(['get-state', P_NO_EXEC, '--raw'], t.env);
    expect(noExec.code).toBe(0);
    expect(JSON.parse(noExec.stdout)).toMatchObject({ state: 'FAILED', executions: [], input_payload_url: null });
  });
});

describe('list-executions', () => {
  test('lists executions oldest first, with their objects, marking the last one', async () => {
    const r = await runCirrus(['list-executions', P_OK], t.env);
    expect(r.code).toBe(0);
    const listing = JSON.parse(r.stdout);
    expect(listing).toMatchObject({
      payload_id: P_OK,
      prefix: `s3://${t.stack.payloadBucket}/cirrus/executions/${P_OK}/`,
      state: 'SUCCEEDED',
      state_db: 'found',
    });
    // The nested payload's execution is not one of P_OK's.
    expect(listing.executions.map((e: { execution_id: string }) => e.execution_id)).toEqual([EXEC_1, EXEC_2]);
    const [first, second] = listing.executions;
    expect(first).toMatchObject({ execution_arn: t.arn('cog', EXEC_1), output_json: null, last_execution: false });
    expect(first.input_json).toMatchObject({ url: t.bucket.getInputPayloadUrl(P_OK, EXEC_1), last_modified: expect.stringMatching(/^\d{4}-/) });
    expect(first.input_json.size).toBeGreaterThan(0);
    expect(second).toMatchObject({ last_execution: true, output_json: { url: t.bucket.getOutputPayloadUrl(P_OK, EXEC_2) } });
    expect(Date.parse(first.last_modified)).toBeLessThan(Date.parse(second.last_modified));
  });

  test('works with only the bucket configured (oldest first by LastModified)', async () => {
    const r = await runCirrus(['list-executions', P_OK, '--raw'], envWithout('CIRRUS_STATE_DB'));
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('\n  ');
    const listing = JSON.parse(r.stdout);
    expect(listing).toMatchObject({ state: null, state_db: 'not configured' });
    expect(listing.executions.map((e: { execution_id: string; last_execution: null }) => [e.execution_id, e.last_execution])).toEqual([
      [EXEC_1, null],
      [EXEC_2, null],
    ]);
  });

  // The local S3 stand-in (s3rver) cannot return a truncated ListObjectsV2 page on Node >= 17: it
  // encrypts continuation tokens with DES, which OpenSSL 3 lacks. The pages come from a mock.
  test('follows continuation tokens', async () => {
    const s3 = new S3Client({ region: 'us-west-2' });
    const mock = mockClient(s3);
    const prefix = `cirrus/executions/${P_OK}/`;
    const obj = (exec: string, name: string, at: string): { Key: string; LastModified: Date; Size: number } => ({ Key: `${prefix}${exec}/${name}`, LastModified: new Date(at), Size: 10 });
    const pages = [
      { IsTruncated: true, NextContinuationToken: 'page-2', Contents: [obj(EXEC_2, 'input.json', '2024-01-02T00:00:00Z')] },
      { IsTruncated: true, NextContinuationToken: 'page-3', Contents: [obj(EXEC_2, 'output.json', '2024-01-02T00:01:00Z')] },
      { IsTruncated: false, Contents: [obj(EXEC_1, 'input.json', '2024-01-01T00:00:00Z')] },
    ];
    // Each request's input as it was sent: the SDK paginator reuses one input object for every
    // page, so the inputs the mock keeps all show the last token by the time they are read.
    const sent: { ContinuationToken?: string; Prefix?: string; Delimiter?: string }[] = [];
    mock.on(ListObjectsV2Command).callsFake((input: { ContinuationToken?: string; Prefix?: string; Delimiter?: string }) => {
      sent.push({ ...input });
      return pages.shift();
    });
    try {
      const r = await runCirrus(['list-executions', P_OK, '--raw'], envWithout('CIRRUS_STATE_DB'), { s3 });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const listing = JSON.parse(r.stdout);
      expect(listing.executions.map((e: { execution_id: string }) => e.execution_id)).toEqual([EXEC_1, EXEC_2]);
      expect(listing.executions[1]).toMatchObject({ input_json: { size: 10 }, output_json: { last_modified: '2024-01-02T00:01:00.000Z' } });
      expect(sent.map((i) => i.ContinuationToken)).toEqual([undefined, 'page-2', 'page-3']);
      expect(sent.every((i) => i.Prefix === prefix && i.Delimiter === undefined)).toBe(true);
    } finally {
      mock.restore();
      s3.destroy();
    }
  });

  test('executions recorded in the StateDB without objects are listed with null objects', async () => {
    const r = await runCirrus(['list-executions', P_MISSING_INPUT], t.env);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).executions).toEqual([
      { execution_id: EXEC_MI, execution_arn: t.arn('cog', EXEC_MI), input_json: null, output_json: null, last_modified: null, last_execution: true },
    ]);
  });

  test('nothing to list: unknown payload (exit 1), no execution (exit 1), bucket only (exit 1)', async () => {
    const unknown = await runCirrus(['list-executions', P_UNKNOWN], t.env);
    expect(unknown.code).toBe(1);
    expectOneLineError(unknown.stderr, /payload not found/);
    const noExec = await runCirrus(['list-executions', P_NO_EXEC], t.env);
    expect(noExec.code).toBe(1);
    expectOneLineError(noExec.stderr, /no execution yet/);
    const bucketOnly = await runCirrus(['list-executions', P_UNKNOWN], envWithout('CIRRUS_STATE_DB'));
    expect(bucketOnly.code).toBe(1);
    expectOneLineError(bucketOnly.stderr, new RegExp(`no executions of payload ${P_UNKNOWN} under s3://`));
  });
});

describe('configuration', () => {
  test('missing bucket: exit 2 naming the variable and the flag', async () => {
    for (const cmd of ['get-input-payload', 'get-output-payload', 'list-executions']) {
      const r = await runCirrus([cmd, P_OK], envWithout('CIRRUS_PAYLOAD_BUCKET'));
      expect(r.code).toBe(2);
      expectOneLineError(r.stderr, /no payload bucket configured: set CIRRUS_PAYLOAD_BUCKET or pass --bucket/);
    }
  });

  test('missing table: exit 2 naming the variable and the flag', async () => {
    for (const cmd of ['get-input-payload', 'get-output-payload', 'get-state']) {
      const r = await runCirrus([cmd, P_OK], envWithout('CIRRUS_STATE_DB'));
      expect(r.code).toBe(2);
      expectOneLineError(r.stderr, /no StateDB table configured: set CIRRUS_STATE_DB or pass --table/);
    }
  });

  test('flags override the environment', async () => {
    const env = { ...t.env, CIRRUS_PAYLOAD_BUCKET: 'wrong-bucket', CIRRUS_STATE_DB: 'wrong-table' };
    const wrong = await runCirrus(['get-input-payload', P_OK], env);
    expect(wrong.code).toBe(2);
    expectOneLineError(wrong.stderr, /StateDB table "wrong-table" does not exist \(CIRRUS_STATE_DB \/ --table\)/);
    const r = await runCirrus(['get-input-payload', P_OK, '--bucket', t.stack.payloadBucket, '--table', t.stack.stateDbTable, '--raw'], env);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(INPUT_2);
  });

  test('a bucket that does not exist is a configuration error', async () => {
    const r = await runCirrus(['list-executions', P_OK, '--bucket', 'no-such-bucket'], t.env);
    expect(r.code).toBe(2);
    expectOneLineError(r.stderr, /payload bucket "no-such-bucket" does not exist/);
  });

  test('malformed root prefix: exit 2', async () => {
    const r = await runCirrus(['get-input-payload', P_OK, '--root-prefix', 'a/../b'], t.env);
    expect(r.code).toBe(2);
    expectOneLineError(r.stderr, /invalid payload root prefix "a\/\.\.\/b"/);
  });

  test('CIRRUS_DEBUG=1 adds the stack trace', async () => {
    const r = await runCirrus(['get-input-payload', P_UNKNOWN], { ...t.env, CIRRUS_DEBUG: '1' });
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toMatch(/^cirrus: payload not found/);
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  describe('--stack', () => {
    const cfn = mockClient(CloudFormationClient);
    afterEach(() => cfn.reset());
    afterAll(() => cfn.restore());

    const outputs = (): { OutputKey: string; OutputValue: string }[] => [
      { OutputKey: 'PayloadBucketName', OutputValue: t.stack.payloadBucket },
      { OutputKey: 'PayloadRootPrefix', OutputValue: 'cirrus' },
      { OutputKey: 'StateDbTableName', OutputValue: t.stack.stateDbTable },
      { OutputKey: 'ProcessQueueUrl', OutputValue: 'https://sqs.example/q' },
    ];
    const bare = (): Record<string, string | undefined> => envWithout('CIRRUS_PAYLOAD_BUCKET', 'CIRRUS_STATE_DB', 'CIRRUS_PAYLOAD_ROOT_PREFIX');

    test('reads bucket, prefix and table from the stack outputs', async () => {
      cfn.on(DescribeStacksCommand, { StackName: 'cirrus-dev' }).resolves({
        Stacks: [{ StackName: 'cirrus-dev', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(), Outputs: outputs() }],
      });
      const r = await runCirrus(['--stack', 'cirrus-dev', 'get-output-payload', P_OK, '--raw'], bare());
      expect(r).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse(r.stdout)).toEqual(OUTPUT_2);
      expect(cfn.commandCalls(DescribeStacksCommand)).toHaveLength(1);
    });

    test('flags override stack outputs', async () => {
      cfn.on(DescribeStacksCommand).resolves({
        Stacks: [{ StackName: 'cirrus-dev', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(), Outputs: outputs() }],
      });
      const r = await runCirrus(['--stack', 'cirrus-dev', '--root-prefix', ALT_ROOT, 'get-input-payload', P_ALT, '--raw'], bare());
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ root: 'alt' });
    });

    test('missing stack: exit 2, one line', async () => {
      cfn.on(DescribeStacksCommand).rejects(Object.assign(new Error('Stack with id nope does not exist'), { name: 'ValidationError' }));
      const r = await runCirrus(['--stack', 'nope', 'get-state', P_OK], bare());
      expect(r.code).toBe(2);
      expectOneLineError(r.stderr, /stack "nope" does not exist \(--stack\)/);
    });

    test('missing outputs: exit 2 naming them', async () => {
      cfn.on(DescribeStacksCommand).resolves({
        Stacks: [{ StackName: 'other', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(), Outputs: [{ OutputKey: 'PayloadBucketName', OutputValue: 'b' }] }],
      });
      const r = await runCirrus(['--stack', 'other', 'get-state', P_OK], bare());
      expect(r.code).toBe(2);
      expectOneLineError(r.stderr, /stack "other" has no outputs PayloadRootPrefix, StateDbTableName/);
    });
  });
});

describe('usage and help', () => {
  test('--help lists the commands, configuration and exit codes', async () => {
    const r = await runCirrus(['--help'], t.env);
    expect(r.code).toBe(0);
    for (const s of ['get-input-payload', 'get-output-payload', 'get-state', 'list-executions', 'doctor', '--stack', '--raw', 'CIRRUS_PAYLOAD_BUCKET', 'Exit codes']) {
      expect(r.stdout).toContain(s);
    }
  });

  test.each([
    ['get-input-payload', /input payload \(input\.json\)/],
    ['get-output-payload', /only written when the run succeeds/],
    ['get-state', /StateDB record/],
    ['list-executions', /oldest first/],
    ['doctor', /lifecycle\.executions/],
  ])('%s --help describes the command', async (cmd, pattern) => {
    const r = await runCirrus([cmd, '--help'], t.env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(pattern);
    expect(r.stdout).toContain(`Usage: cirrus ${cmd}`);
    expect(r.stdout).toContain('--bucket'); // global options shown
    expect(r.stdout).toContain('Exit codes');
  });

  test('unknown command, unknown option, missing argument, extra argument: exit 2, one line', async () => {
    for (const argv of [['frobnicate'], ['get-state', P_OK, '--frob'], ['get-state'], ['get-state', P_OK, 'extra']]) {
      const r = await runCirrus(argv, t.env);
      expect(r.code).toBe(2);
      expectOneLineError(r.stderr, /./);
    }
  });

  test('no command: help on stderr, exit 2', async () => {
    const r = await runCirrus([], t.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Usage: cirrus');
  });
});

describe('command functions', () => {
  test('can be called directly with a config', async () => {
    const clients = new CliClients(t.env, t.stack.region, { s3: t.s3, dynamo: t.doc });
    const config = createConfig({ bucketName: t.stack.payloadBucket, tableName: t.stack.stateDbTable }, clients);
    expect(await getInputPayload(config, P_OK)).toEqual(INPUT_2);
    expect((await getState(config, P_OK)).state).toBe('SUCCEEDED');
    expect((await listExecutions(config, P_OK)).executions).toHaveLength(2);
    await expect(getInputPayload(config, P_UNKNOWN)).rejects.toBeInstanceOf(PayloadNotFoundError);
  });
});

describe('bin/cirrus.ts as a process', () => {
  const root = path.join(__dirname, '..');
  const run = (args: string[]): Promise<ProcessRun> =>
    runNode([path.join(root, 'scripts/run-ts.mjs'), path.join(root, 'bin/cirrus.ts'), ...args], { PATH: process.env.PATH, ...t.env });

  test('prints JSON and exits 0; exits 1 with one line for an unknown payload', async () => {
    const ok = await run(['get-state', P_OK, '--raw']);
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ payload_id: P_OK, state: 'SUCCEEDED' });
    const missing = await run(['get-output-payload', P_UNKNOWN]);
    expect(missing.status).toBe(1);
    expect(missing.stderr.trimEnd()).toBe(`cirrus: payload not found in the state database: ${P_UNKNOWN}`);
    const usage = await run(['get-state']);
    expect(usage.status).toBe(2);
  });
});
