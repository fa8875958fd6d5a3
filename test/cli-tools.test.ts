/**
 * The `cirrus` CLI's offline payload tools, its exit-code table (not found, unreachable, access
 * refused, configuration), the region rule, the payload id rule, resources that do not exist,
 * --version and --help, and the built dist/bin/cirrus.js.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { version } from '../package.json';
import { EXIT, exitCodeFor, describeError } from '../cli/errors';
import type { JsonObject } from '../shared/json';
import { InputFiles, ndjsonLines, runCirrus, runNode, samplePayload, startCliTestStack, type CliTestStack, type ProcessRun } from './helpers/cli-stack';
import { cliFixture } from './helpers/cli-pipeline';

let t: CliTestStack;
const inputs = new InputFiles('cirrus-cli-tools-');
const file = inputs.file;
const lines = ndjsonLines;
const P_OK = 'sentinel-2-l2a/workflow-cog/S2B_OK';

beforeAll(async () => {
  t = await startCliTestStack();
  await t.db.claim(P_OK, t.arn('cog', 'e1'));
  await t.bucket.uploadInputPayload(samplePayload(P_OK), P_OK, 'e1');
});

afterAll(async () => {
  await t?.stop();
  inputs.remove();
});

const item = (id: string, collection = 'sentinel-2-l2a'): JsonObject => ({ ...cliFixture('sentinel-2-item.json'), id, collection });

describe('payload get-id | validate | template (offline: no configuration at all)', () => {
  const offline = {};

  test('get-id computes the id as process does: sorted collections and item ids', async () => {
    const p = { type: 'FeatureCollection', features: [item('b', 'c2'), item('a', 'c1')], process: [{ workflow: 'cog' }] };
    const r = await runCirrus(['payload', 'get-id', file('id.json', p)], offline);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(lines(r.stdout)).toEqual([{ payload_id: 'c1/c2/workflow-cog/a/b' }]);
    const given = await runCirrus(['payload', 'get-id', file('id2.json', { ...p, id: 'x/workflow-cog/y' })], offline);
    expect(lines(given.stdout)).toEqual([{ payload_id: 'x/workflow-cog/y' }]);
  });

  test('validate prints every problem with its path and exits 5', async () => {
    const bad = { type: 'Feature', features: [item('ok'), 3, { ...item('x'), id: 7 }], process: [{ workflow: 'a_b' }] };
    const r = await runCirrus(['payload', 'validate', file('bad.json', [bad, samplePayload(P_OK)])], offline);
    expect(r.code).toBe(5);
    const [first, second] = lines(r.stdout);
    expect((first.problems as JsonObject[]).map((p) => p.path)).toEqual(['type', 'features[1]', 'features[2].id', 'process[0].workflow']);
    expect(first).toMatchObject({ index: 1, valid: false, payload_id: null });
    expect(second).toMatchObject({ index: 2, valid: true, payload_id: P_OK, problems: [] });
    expect(r.stderr).toBe('cirrus: 4 problems in 1 of 2 payloads\n');
  });

  test('validate: feature ids that break the payload-id rule are one problem each, on features[n].id', async () => {
    const computed = { type: 'FeatureCollection', features: [item('a/..'), item('b\u0001'), item('fine')], process: [{ workflow: 'cog' }] };
    const badCollection = { ...computed, features: [item('a/..'), item('fine')], process: [{ workflow: 'cog', collections: '..' }] };
    const badId = { ...computed, id: 'c/workflow-cog/a/..' };
    const r = await runCirrus(['payload', 'validate', file('feature-ids.json', [computed, badCollection, badId])], offline);
    expect(r.code).toBe(5);
    const [one, two, three] = lines(r.stdout);
    expect(one.problems).toEqual([
      { path: 'features[0].id', message: 'the payload id built from it holds an empty, "." or ".." path segment ("..")' },
      { path: 'features[1].id', message: 'the payload id built from it holds a control character' },
    ]);
    // A problem the feature ids do not explain stays on id.
    expect((two.problems as JsonObject[]).map((p) => p.path)).toEqual(['features[0].id', 'id']);
    expect((two.problems as JsonObject[])[1].message).toMatch(/^holds an empty, "\." or "\.\." path segment \("\.\."\) \(still, with the feature ids above corrected\)$/);
    // The id field itself is bad: one problem on id (feature ids do not build it).
    expect(three.problems).toEqual([{ path: 'id', message: 'holds an empty, "." or ".." path segment (".."): "c/workflow-cog/a/.."' }]);
    expect(r.stderr).toBe('cirrus: 5 problems in 3 of 3 payloads\n');
    const getId = await runCirrus(['payload', 'get-id', file('feature-ids-1.json', computed)], offline);
    expect(getId.code).toBe(5);
    expect(getId.stderr).toBe('cirrus: no payload id for payload #1: features[0].id: the payload id built from it holds an empty, "." or ".." path segment ("..")\n');
  });

  test('validate of NDJSON with a line that is not JSON names the line', async () => {
    const r = await runCirrus(['payload', 'validate', file('x.ndjson', `${JSON.stringify(samplePayload(P_OK))}\n{nope\n`)], offline);
    expect(r.code).toBe(5);
    expect(lines(r.stdout)[1]).toMatchObject({ index: 2, valid: false, problems: [{ path: '$' }] });
  });

  test('template builds a valid payload from item ids, collections and a workflow', async () => {
    const r = await runCirrus(['payload', 'template', '--workflow', 'cog', '--collections', 'sentinel-2-l2a', 'S2_B', 'S2_A', '--replace', '--raw'], offline);
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout) as JsonObject;
    expect(p.id).toBe('sentinel-2-l2a/workflow-cog/S2_A/S2_B');
    expect(p.process).toEqual([{ workflow: 'cog', replace: true }]);
    expect((p.features as JsonObject[]).map((f) => [f.id, f.collection])).toEqual([['S2_B', 'sentinel-2-l2a'], ['S2_A', 'sentinel-2-l2a']]);
    const several = await runCirrus(['payload', 'template', '--workflow', 'cog', '--collections', 'b,a', 'i1', '--raw'], offline);
    expect(JSON.parse(several.stdout)).toMatchObject({ id: 'a/b/workflow-cog/i1', process: [{ workflow: 'cog', collections: ['b', 'a'] }] });
    const invalid = await runCirrus(['payload', 'template', '--workflow', 'a_b', 'i1'], offline);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/^cirrus: cannot build a valid payload: process\[0\]\.workflow/);
  });
});

describe('payload ids: the rule process applies', () => {
  test('an id whose workflow part holds "_" (it would read another item) is a usage error', async () => {
    for (const cmd of ['get-state', 'get-input-payload', 'list-executions', 'get-execution']) {
      const r = await runCirrus([cmd, 'C/workflow-b_c/x1'], t.env);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^cirrus: invalid payload id "C\/workflow-b_c\/x1": its workflow part "b_c" contains "_"/);
    }
  });

  const unreachable = {
    ...t?.env,
    AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9',
    AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9',
    AWS_ENDPOINT_URL_SFN: 'http://127.0.0.1:9',
    AWS_ENDPOINT_URL_CLOUDFORMATION: 'http://127.0.0.1:9',
    AWS_MAX_ATTEMPTS: '1',
  };
  const malformed: [string, RegExp][] = [
    ['c/workflow-w/a/../b', /holds an empty, "\." or "\.\." path segment \("\.\."\)/],
    ['c/workflow-w/b\u0001', /holds a control character/],
    ['c/workflow-w/x/workflow-y/z', /holds "\/workflow-" more than once/],
    ['no-workflow-part', /must match '<collections>\/workflow-<workflow>\/<itemids>'/],
  ];
  const commands = ['get-state', 'get-input-payload', 'get-output-payload', 'list-executions', 'get-execution'];

  test.each(malformed)('%j: exit 2 naming the rule in every command, checked before any service is called (all unreachable)', async (id, rule) => {
    for (const cmd of commands) {
      for (const extra of [[], ['--stack', 'cirrus-dev']]) {
        const r = await runCirrus([...extra, cmd, id], { ...t.env, ...unreachable });
        expect({ cmd, extra, code: r.code, stdout: r.stdout }).toEqual({ cmd, extra, code: 2, stdout: '' });
        expect(r.stderr.startsWith(`cirrus: invalid payload id ${JSON.stringify(id)}: `)).toBe(true);
        expect(r.stderr).toMatch(rule);
        expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      }
    }
  });

  test('a well-formed id with the services unreachable is exit 3 (the check above is not a blanket 2)', async () => {
    const r = await runCirrus(['get-state', P_OK], { ...t.env, ...unreachable });
    expect(r.code).toBe(3);
  });
});

describe('resources that do not exist: configuration errors naming them', () => {
  test('get-state --bucket no-such-bucket: exit 2, no URLs printed', async () => {
    const r = await runCirrus(['get-state', P_OK, '--bucket', 'no-such-bucket'], t.env);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toBe('cirrus: payload bucket "no-such-bucket" does not exist (CIRRUS_PAYLOAD_BUCKET / --bucket)\n');
  });

  test('doctor --bucket no-such-bucket reports the bucket, not lost history', async () => {
    const r = await runCirrus(['doctor', '--bucket', 'no-such-bucket'], t.env);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^cirrus: payload bucket "no-such-bucket" does not exist/);
  });

  test('a table that does not exist, in get-state, query and doctor', async () => {
    for (const args of [['get-state', P_OK], ['query', '--collections-workflow', 'a_b'], ['doctor']]) {
      const r = await runCirrus([...args, '--table', 'no-such-table'], t.env);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('cirrus: StateDB table "no-such-table" does not exist (CIRRUS_STATE_DB / --table)\n');
    }
  });
});

describe('exit codes: unreachable and refused differ from not found', () => {
  test('connection refused: exit 3 with a one-line message', async () => {
    const r = await runCirrus(['get-state', P_OK], { ...t.env, AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9', AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9', AWS_MAX_ATTEMPTS: '1' });
    expect(r.code).toBe(EXIT.unreachable);
    expect(r.stderr).toMatch(/^cirrus: service unreachable \(ECONNREFUSED\)/);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  test('unknown host, timeouts and refused access map to 3; not found stays 1', () => {
    const dns = Object.assign(new Error('getaddrinfo ENOTFOUND s3.nowhere.example'), { code: 'ENOTFOUND' });
    const denied = Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });
    const forbidden = Object.assign(new Error(''), { name: 'Forbidden', $metadata: { httpStatusCode: 403 } });
    expect([dns, denied, forbidden].map(exitCodeFor)).toEqual([3, 3, 3]);
    expect(describeError(dns)).toMatch(/^service unreachable \(ENOTFOUND\)/);
    expect(describeError(denied)).toMatch(/^access refused \(AccessDeniedException\)/);
    expect(exitCodeFor(Object.assign(new Error('boom'), { name: 'InternalServerError' }))).toBe(EXIT.failure);
  });

  test('an unknown payload is still exit 1', async () => {
    expect((await runCirrus(['get-state', 'a/workflow-b/none'], t.env)).code).toBe(1);
  });
});

describe('region', () => {
  test('no region anywhere: the CLI uses us-west-2, as the README says', async () => {
    const env = { ...t.env };
    delete env.AWS_REGION;
    delete env.AWS_DEFAULT_REGION;
    const r = await runCirrus(['get-state', P_OK, '--raw'], { ...env, AWS_CONFIG_FILE: path.join(inputs.dir, 'none'), AWS_PROFILE: 'none' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('--version and --help', () => {
  test('--version prints the package version', async () => {
    const r = await runCirrus(['--version'], {});
    expect(r).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  const commands = [
    'get-input-payload', 'get-output-payload', 'get-state', 'list-executions', 'get-execution', 'doctor',
    'process', 'run-workflow', 'query', 'rerun', 'payload', 'payload get-id', 'payload validate', 'payload template',
  ];
  test.each(commands)('%s --help has an example', async (cmd) => {
    const r = await runCirrus([...cmd.split(' '), '--help'], {});
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`Examples?:\\n  (cirrus ${cmd.split(' ')[0]}|cirrus payload)`));
  });

  test('the main help lists every command and the exit-code table', async () => {
    const r = await runCirrus(['--help'], {});
    for (const cmd of commands.filter((c) => !c.includes(' '))) expect(r.stdout).toContain(`  ${cmd}`);
    for (const code of ['0', '1', '2', '3', '4', '5', '6', '7']) expect(r.stdout).toMatch(new RegExp(`\\n  ${code}  `));
  });
});

describe('README', () => {
  const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const cli = readme.slice(readme.indexOf('## Operations: the `cirrus` CLI'), readme.indexOf('\n## ', readme.indexOf('## Operations: the `cirrus` CLI') + 1));

  test('every command has its own section in the CLI part', () => {
    const sections = [...cli.matchAll(/^### `(?:cirrus )?([^`]+)`$/gm)].map((m) => m[1]);
    const commands = ['process', 'run-workflow', 'query', 'rerun', 'get-input-payload', 'get-output-payload', 'get-state', 'list-executions', 'get-execution', 'payload get-id', 'payload validate', 'payload template', 'doctor'];
    expect(sections.filter((x) => commands.includes(x)).sort()).toEqual([...commands].sort());
  });

  test('one exit-code table, listing the codes of cli/errors.ts', () => {
    expect(cli.match(/^\| exit \| meaning \|$/gm)).toHaveLength(1);
    for (const code of Object.values(EXIT)) expect(cli).toMatch(new RegExp(`^\\| ${code} \\| `, 'm'));
  });
});

describe('the built dist/bin/cirrus.js', () => {
  const bin = path.join(__dirname, '..', 'dist', 'bin', 'cirrus.js');
  const run = (args: string[], input?: string, extraEnv: Record<string, string> = {}): Promise<ProcessRun> =>
    runNode([bin, ...args], { PATH: process.env.PATH, ...t.env, ...extraEnv }, input ?? '');

  test('--version, and template piped into get-id', async () => {
    expect((await run(['--version'])).stdout).toBe(`${version}\n`);
    const tpl = await run(['payload', 'template', '--workflow', 'cog', '--collections', 'c1', 'i1', '--raw']);
    expect(tpl.status).toBe(0);
    const id = await run(['payload', 'get-id', '-'], tpl.stdout);
    expect(id).toMatchObject({ status: 0, stderr: '' });
    expect(JSON.parse(id.stdout)).toEqual({ payload_id: 'c1/workflow-cog/i1' });
  });

  test('get-state against the local stack; a malformed id exits 2', async () => {
    const ok = await run(['get-state', P_OK, '--raw']);
    expect(ok).toMatchObject({ status: 0, stderr: '' });
    expect(JSON.parse(ok.stdout)).toMatchObject({ payload_id: P_OK, state: 'CLAIMED' });
    expect((await run(['get-state', 'C/workflow-b_c/x1'])).status).toBe(2);
  });

  test('connection refused: exit 3, not the "not found" 1', async () => {
    const r = await run(['get-state', P_OK, '--bucket', '', '--table', t.stack.stateDbTable], undefined, { AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9', AWS_MAX_ATTEMPTS: '1' });
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/^cirrus: service unreachable \(ECONNREFUSED\)/);
  });
});
