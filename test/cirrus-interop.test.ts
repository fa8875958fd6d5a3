/**
 * Switching from Cirrus: a deployment that Cirrus v2 ran until now is taken over mid-flight. The
 * local stack is seeded with StateDB items and payload objects exactly as Cirrus writes them
 * (`test/fixtures/cirrus-v2/`), and the executions Cirrus started are run to their end; this
 * project's functions must then carry on as Cirrus would have: record how each execution ended,
 * treat old `COMPLETED` items as done, keep Cirrus's workflow metric events flowing, and write
 * Cirrus's error texts.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { handler as processHandler } from '../lambdas/process/index';
import { handler as updateStateHandler } from '../lambdas/update-state/index';
import type { StateDbRecord } from '../shared/statedb';
import { runCirrus } from './helpers/cli-stack';
import { sqsEvent, sqsRecord, uid, type PipelineStack } from './helpers/pipeline';
import { MINIMAL_WORKFLOW, registerRaiseWorkflow, startMinimalPipeline } from './helpers/pipeline-suite';

const FIXTURES = path.join(__dirname, 'fixtures', 'cirrus-v2');
const UUID4 = /^workflow-metrics-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let p: PipelineStack;

beforeAll(async () => {
  p = await startMinimalPipeline();
  await p.stack.registerWorkflow('cog_archive', MINIMAL_WORKFLOW);
  await registerRaiseWorkflow(p.stack);
  await p.stack.registerWorkflow('slow_wait', { StartAt: 'Sleep', States: { Sleep: { Type: 'Wait', Seconds: 60, End: true } } });
  p.stack.onStatusChange((event) => updateStateHandler(event));
});

afterAll(async () => {
  await p?.stop();
});

/** In the enclosing describe block, the functions write workflow metric events to the local stack's log group (CIRRUS_WORKFLOW_LOG_GROUP). */
function writeWorkflowMetricEvents(): void {
  beforeAll(() => {
    process.env.CIRRUS_WORKFLOW_LOG_GROUP = p.stack.workflowLogGroup;
  });
  afterAll(() => {
    delete process.env.CIRRUS_WORKFLOW_LOG_GROUP;
  });
}

function fixtureText(...parts: string[]): string {
  return readFileSync(path.join(FIXTURES, ...parts), 'utf8');
}

function fixtureRecord(name: string): StateDbRecord {
  return JSON.parse(fixtureText(name, 'statedb-item.json')) as StateDbRecord;
}

/** Writes the StateDB item as Cirrus wrote it. */
async function seedRecord(record: StateDbRecord): Promise<void> {
  await p.doc.send(new PutCommand({ TableName: p.stack.stateDbTable, Item: record }));
}

/** Writes an object of the payload bucket byte for byte. */
async function seedObject(key: string, text: string): Promise<void> {
  await p.s3.send(new PutObjectCommand({ Bucket: p.stack.payloadBucket, Key: key, Body: text, ContentType: 'application/json' }));
}

interface CirrusStarted {
  payloadId: string;
  arn: string;
  name: string;
  input: string;
}

/**
 * Seeds what Cirrus v2's process leaves behind when it starts a payload (its StateDB item,
 * PROCESSING, and `input.json`) and starts the execution as Cirrus does (StartExecution with the
 * Cirrus execution name and `json.dumps(payload)` as input).
 */
async function cirrusStarted(name: string): Promise<CirrusStarted> {
  const record = fixtureRecord(name);
  const input = fixtureText(name, 'input.json');
  const payloadId = (JSON.parse(input) as { id: string }).id;
  const arn = record.executions![0];
  const [, , , , , , stateMachine, execName] = arn.split(':');
  await seedRecord(record);
  await seedObject(p.executionKey(payloadId, execName, 'input.json'), input);
  await p.sfn.send(
    new StartExecutionCommand({ stateMachineArn: `${p.baseArn}${stateMachine.slice('cirrus-'.length)}`, name: execName, input }),
  );
  return { payloadId, arn, name: execName, input };
}

describe('update-state records the end of executions Cirrus started, whatever today’s validation says of the payload', () => {
  it('a workflow name with "_": SUCCEEDED with output.json beside Cirrus’s input.json', async () => {
    const run = await cirrusStarted('underscore-workflow');
    await p.stack.waitForExecution(run.arn);
    expect(p.stack.deliveryFailures).toEqual([]);

    const item = await p.db.getItem(run.payloadId);
    expect(item).toMatchObject({ state: 'SUCCEEDED', executions: [run.arn], created: '2025-06-03T14:02:11.482913+00:00' });
    // Read back, the partition key splits at its last "_", as Cirrus splits it.
    expect(item).toMatchObject({ collections: 'sentinel-s2-l2a_cog', workflow: 'archive', items: 'S2B_INTEROP_UNDERSCORE' });
    const output = await p.getJson(p.executionKey(run.payloadId, run.name, 'output.json'));
    expect(output).toEqual(JSON.parse(run.input));
    expect(p.workflowEvents(run.payloadId).map((e) => e.event_type)).toEqual(['SUCCEEDED']);
  });

  it('a top-level type other than FeatureCollection: FAILED with the workflow’s error', async () => {
    const run = await cirrusStarted('feature-type');
    await p.stack.waitForExecution(run.arn);
    expect(p.stack.deliveryFailures).toEqual([]);

    expect(await p.db.getItem(run.payloadId)).toMatchObject({ state: 'FAILED', lastError: 'WorkflowFailed: process[0].succeed is not true' });
    expect(p.workflowEvents(run.payloadId).map((e) => [e.event_type, e.error])).toEqual([['FAILED', 'WorkflowFailed: process[0].succeed is not true']]);
  });

  it('features that are not objects: INVALID for an InvalidInput error', async () => {
    const run = await cirrusStarted('string-features');
    await p.stack.waitForExecution(run.arn);
    expect(p.stack.deliveryFailures).toEqual([]);

    expect(await p.db.getItem(run.payloadId)).toMatchObject({
      state: 'INVALID',
      lastError: 'stactask.exceptions.InvalidInput: features[0] is not a STAC Item',
    });
  });

  it('a stopped execution: ABORTED', async () => {
    const run = await cirrusStarted('aborted');
    await p.sfn.send(new StopExecutionCommand({ executionArn: run.arn }));
    await p.stack.waitForExecution(run.arn);
    expect(p.stack.deliveryFailures).toEqual([]);

    expect(await p.db.getItem(run.payloadId)).toMatchObject({ state: 'ABORTED' });
    expect(p.workflowEvents(run.payloadId).map((e) => e.event_type)).toEqual(['ABORTED']);
  });

  it.each([
    ['a ".." item segment', 'sentinel-s2-l2a/workflow-minimal/S2B_INTEROP_DOTS/../../escaped'],
    ['an empty segment', 'sentinel-s2-l2a//x/workflow-minimal/S2B_INTEROP_EMPTY'],
    ['a tab', 'sentinel-s2-l2a/workflow-minimal/S2B_INTEROP\tTAB'],
  ])('an id with %s (Cirrus accepts it; no S3 key may be built from it): SUCCEEDED recorded under Cirrus’s key, no output.json anywhere', async (_what, payloadId) => {
    const record = fixtureRecord('feature-type');
    const name = uid('cirrus-odd-id');
    const arn = p.executionArn('minimal', name);
    const slash = payloadId.indexOf('/workflow-');
    const rest = payloadId.slice(slash + '/workflow-'.length);
    const cirrusKey = { collections_workflow: `${payloadId.slice(0, slash)}_${rest.slice(0, rest.indexOf('/'))}`, itemids: rest.slice(rest.indexOf('/') + 1) };
    await seedRecord({ ...record, ...cirrusKey, executions: [arn] });
    const input = JSON.stringify({ ...(JSON.parse(fixtureText('feature-type', 'input.json')) as object), type: 'FeatureCollection', id: payloadId, process: [{ workflow: 'minimal', succeed: true }] });
    const before = await p.listKeys('');
    await p.sfn.send(new StartExecutionCommand({ stateMachineArn: `${p.baseArn}minimal`, name, input }));
    await p.stack.waitForExecution(arn);
    expect(p.stack.deliveryFailures).toEqual([]);

    const item = await p.doc.send(new GetCommand({ TableName: p.stack.stateDbTable, Key: cirrusKey }));
    expect(item.Item).toMatchObject({ state_updated: expect.stringMatching(/^SUCCEEDED_/), executions: [arn] });
    expect(p.workflowEvents(payloadId).map((e) => [e.event_type, e.input_payload_url, e.output_payload_url])).toEqual([['SUCCEEDED', undefined, undefined]]);
    expect(await p.listKeys('')).toEqual(before);
  });
});

describe('COMPLETED, written by older Cirrus versions, reads as SUCCEEDED', () => {
  const record = fixtureRecord('completed');
  const payloadId = 'sentinel-s2-l2a/workflow-minimal/S2B_INTEROP_COMPLETED';
  const execName = record.executions![0].split(':').at(-1)!;

  beforeAll(async () => {
    await seedRecord(record);
  });

  it('process skips it as ALREADY_SUCCEEDED and starts no second execution', async () => {
    const before = p.executionsOf('minimal').length;
    const payload = JSON.parse(fixtureText('completed', 'payload.json')) as object;
    expect(await processHandler(sqsEvent(sqsRecord(payload)))).toEqual({ batchItemFailures: [] });

    expect(p.executionsOf('minimal')).toHaveLength(before);
    const events = p.workflowEvents(payloadId);
    expect(events.map((e) => e.event_type)).toEqual(['ALREADY_SUCCEEDED']);
    expect(events[0].output_payload_url).toBe(`s3://${p.stack.payloadBucket}/${p.executionKey(payloadId, execName, 'output.json')}`);
    // Read, never written: the item keeps Cirrus's state text.
    const stored = await p.doc.send(new GetCommand({ TableName: p.stack.stateDbTable, Key: { collections_workflow: record.collections_workflow, itemids: record.itemids } }));
    expect(stored.Item).toEqual(record);
  });

  it('the StateDB read layer the CLI and doctor use reports SUCCEEDED', async () => {
    expect((await p.db.getItem(payloadId))?.state).toBe('SUCCEEDED');
    expect((await p.db.getItems([payloadId])).get(payloadId)?.state).toBe('SUCCEEDED');
  });

  it('cirrus get-state prints SUCCEEDED with the output URL of the last execution', async () => {
    const r = await runCirrus(['get-state', payloadId, '--raw'], { ...p.stack.env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      state: 'SUCCEEDED',
      output_payload_url: `s3://${p.stack.payloadBucket}/${p.executionKey(payloadId, execName, 'output.json')}`,
    });
  });
});

describe('workflow metric events in CIRRUS_WORKFLOW_LOG_GROUP, as Cirrus v2 writes them', () => {
  const expected = fixtureText('metric-events.txt').trimEnd().split('\n');

  writeWorkflowMetricEvents();

  it('process and update-state write one log event per workflow event, byte for byte Cirrus’s json.dumps', async () => {
    const payload = JSON.parse(fixtureText('metric-payload.json')) as { id: string };
    expect(await processHandler(sqsEvent(sqsRecord(payload)))).toEqual({ batchItemFailures: [] });
    const arn = (await p.db.getItem(payload.id))!.executions[0];
    await p.stack.waitForExecution(arn);
    expect(p.stack.deliveryFailures).toEqual([]);
    // Submitted again: skipped. And a message that is not JSON at all.
    expect(await processHandler(sqsEvent(sqsRecord(payload)))).toEqual({ batchItemFailures: [] });
    const bad = sqsRecord('{not json');
    expect(await processHandler(sqsEvent(bad))).toEqual({ batchItemFailures: [{ itemIdentifier: bad.messageId }] });

    const written = p.stack.logs.events(p.stack.workflowLogGroup);
    expect(written.map((e) => e.message)).toEqual(expected);
    for (const e of written) expect(e.logStreamName).toMatch(UUID4);
    // What Cirrus's metric filters select: $.event, and $.workflow for the per-workflow metric.
    for (const e of written) expect(JSON.parse(e.message)).toEqual(expect.objectContaining({ event: expect.any(String), workflow: expect.any(String) }));
  });
});

describe('workflow event error texts are Cirrus’s', () => {
  it('a missing state machine: botocore’s "An error occurred (StateMachineDoesNotExist) when calling the StartExecution operation: …"', async () => {
    const payload = JSON.parse(fixtureText('metric-payload.json')) as { id: string; process: { workflow: string }[] };
    payload.id = 'landsat-c2-l2/workflow-nosuchworkflow/LC09_INTEROP_ERROR';
    payload.process[0].workflow = 'nosuchworkflow';
    expect(await processHandler(sqsEvent(sqsRecord(payload)))).toEqual({ batchItemFailures: [] });

    const text = `An error occurred (StateMachineDoesNotExist) when calling the StartExecution operation: State Machine Does Not Exist: '${p.baseArn}nosuchworkflow'`;
    expect(await p.db.getItem(payload.id)).toMatchObject({ state: 'FAILED', lastError: text });
    const failed = p.workflowEvents(payload.id).filter((e) => e.event_type === 'FAILED');
    expect(failed.map((e) => [e.error, e.attributes.error])).toEqual([[text, text]]);
  });
});

describe('the built bundles (dist/lambdas, run "npm run build" first) do the same', () => {
  type Handler = (event: unknown) => Promise<unknown>;
  function bundle(name: string): Handler {
    const file = path.resolve(__dirname, '..', 'dist', 'lambdas', name, 'index.js');
    if (!existsSync(file)) throw new Error(`missing bundle ${file}: run "npm run build" first`);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require(file) as { handler: Handler }).handler;
  }

  writeWorkflowMetricEvents();

  it('process and update-state bundles write Cirrus’s metric events, and update-state records a workflow with "_"', async () => {
    const payload = JSON.parse(fixtureText('metric-payload.json')) as { id: string };
    payload.id = 'landsat-c2-l2/workflow-minimal/LC09_INTEROP_BUNDLE';
    const before = p.stack.logs.events(p.stack.workflowLogGroup).length;
    expect(await bundle('process')(sqsEvent(sqsRecord(payload)))).toEqual({ batchItemFailures: [] });
    const arn = (await p.db.getItem(payload.id))!.executions[0];
    const done = await p.stack.waitForExecution(arn);
    // The same status event, handled by the update-state bundle as well.
    await bundle('update-state')(done.event);
    const lines = p.stack.logs
      .events(p.stack.workflowLogGroup)
      .slice(before)
      .map((e) => e.message);
    const tail = (arn2: string | null): string => `"workflow": "minimal", "source": "landsat-c2-l2", "execution_arn": ${arn2 === null ? 'null' : `"${arn2}"`}}`;
    expect(lines).toEqual([
      `{"event": "CLAIMED_PROCESSING", ${tail(null)}`,
      `{"event": "STARTED_PROCESSING", ${tail(arn)}`,
      `{"event": "SUCCEEDED", ${tail(arn)}`,
      `{"event": "SUCCEEDED", ${tail(arn)}`,
    ]);

    const record = fixtureRecord('underscore-workflow');
    const input = fixtureText('underscore-workflow', 'input.json');
    const rerun = { ...structuredClone(done.event), detail: { ...done.event.detail, executionArn: record.executions![0], name: record.executions![0].split(':').at(-1), input, output: input } };
    await seedRecord(record);
    await bundle('update-state')(rerun);
    expect((await p.db.getItem((JSON.parse(input) as { id: string }).id))?.state).toBe('SUCCEEDED');
  });
});

describe('CIRRUS_LOG_LEVEL, as a Cirrus deployment sets it, sets the built functions’ log level', () => {
  /** Runs the built process bundle in a fresh Node (its logger reads the level once, at load) on two records; returns its log lines. */
  // Asynchronous: the local stack answering the child's requests runs in this process.
  async function processLogLines(extraEnv: Record<string, string>): Promise<{ level: string; message: string }[]> {
    const bundleFile = path.resolve(__dirname, '..', 'dist', 'lambdas', 'process', 'index.js');
    const payload = JSON.parse(fixtureText('metric-payload.json')) as { id: string };
    payload.id = `landsat-c2-l2/workflow-minimal/LC09_LOGLEVEL_${Object.keys(extraEnv).join('_') || 'DEFAULT'}`;
    const event = sqsEvent(sqsRecord(payload), sqsRecord('not json at all'));
    const script = `require(${JSON.stringify(bundleFile)}).handler(${JSON.stringify(event)}).then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });`;
    const env: Record<string, string | undefined> = { ...process.env, ...p.stack.env, ...extraEnv };
    delete env.POWERTOOLS_LOG_LEVEL;
    delete env.CIRRUS_LOG_LEVEL;
    Object.assign(env, extraEnv);
    // Powertools writes WARN and ERROR lines to stderr, the others to stdout.
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['-e', script], { env, encoding: 'utf8', timeout: 60_000 });
    return `${stdout}\n${stderr}`
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: string; message: string });
  }

  it('WARNING: warnings only (the invalid record), no INFO line', async () => {
    const lines = await processLogLines({ CIRRUS_LOG_LEVEL: 'WARNING' });
    expect(lines.map((l) => l.level)).toContain('WARN');
    expect(lines.filter((l) => l.level === 'INFO' || l.level === 'DEBUG')).toEqual([]);
  });

  it('unset: INFO lines as well (the control)', async () => {
    expect((await processLogLines({})).map((l) => l.level)).toContain('INFO');
  });

  it('POWERTOOLS_LOG_LEVEL wins when both are set', async () => {
    const lines = await processLogLines({ CIRRUS_LOG_LEVEL: 'DEBUG', POWERTOOLS_LOG_LEVEL: 'ERROR' });
    expect(lines.filter((l) => l.level !== 'ERROR' && l.level !== 'CRITICAL')).toEqual([]);
  });
});
