/**
 * `npm start`: the whole pipeline once, on the embedded local stack, with no AWS account.
 *
 * Builds are done by the npm script; this starts the local stack, registers the `minimal` and
 * `stamp-items` workflows from the same ASL files the CDK app deploys, sends one SQS batch through
 * the real process bundle (a normal payload, an oversized one, one that fails, and an invalid
 * message), lets the executions run and their status events reach update-state, runs the
 * `stamp-items` workflow whose output grows past the inline limit, then prints the bucket tree, the
 * StateDB states, the CLI's view of the successful run, and a `cirrus doctor` report.
 *
 * `npm start -- --serve` keeps the stack up instead and prints the environment to use it.
 * @module
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runCli } from '../cli/program';
import { repoRoot, startPipeline, type Pipeline } from '../local/pipeline';
import { PROCESS_QUEUE_VISIBILITY_TIMEOUT_SECONDS } from '../cdk/process-limits';
import { formatBytes, renderTree } from '../local/tree';
import { clientSettingsFromEnv, createClients } from '../shared/clients';
import { validateProcessPayload } from '../shared/payload';
import { payloadIdToKey, StateDb, type StateItem } from '../shared/statedb';
import { measureInlineSize, MAX_PAYLOAD_LENGTH } from '../shared/size';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
// The functions log JSON lines at INFO; the demo shows its own progress lines instead.
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
// …and their embedded-metric lines only when asked (POWERTOOLS_METRICS_DISABLED=false).
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

const started = Date.now();
function step(msg: string): void {
  const t = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
  process.stdout.write(`[${t}s] ${msg}\n`);
}
function section(title: string): void {
  process.stdout.write(`\n=== ${title} ${'='.repeat(Math.max(0, 70 - title.length))}\n`);
}

function item(id: string, collection: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'Feature',
    stac_version: '1.0.0',
    id,
    collection,
    bbox: [-105.3, 39.9, -105.1, 40.1],
    geometry: { type: 'Point', coordinates: [-105.2, 40.0] },
    properties: { datetime: '2026-11-01T17:30:00Z', 'eo:cloud_cover': 12.5, ...extra },
    links: [],
    assets: {},
  };
}

function payload(workflow: string, items: Record<string, unknown>[], processExtra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'FeatureCollection', features: items, process: [{ workflow, ...processExtra }] };
}

async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) }, env: process.env });
  return { code, out, err };
}

/** The payload ids the demo sends, in the order of the sections that show them. */
const DEMO_IDS = [
  'demo-collection/workflow-minimal/demo-item-1',
  'demo-collection/workflow-minimal/demo-item-big',
  'demo-collection/workflow-minimal/demo-item-fails',
  'demo-collection/workflow-stamp-items/demo-item-stamped',
];

/** The demo, one section after the other; 0 when every payload ended as expected. */
async function demo(p: Pipeline): Promise<number> {
  const failures = await sqsBatchSection(p);
  await growingTaskSection(p);
  section(`3. The payload bucket: s3://${p.stack.payloadBucket}/${p.stack.env.CIRRUS_PAYLOAD_ROOT_PREFIX}/`);
  const objects = await p.listPayloadObjects();
  process.stdout.write(`${renderTree(`s3://${p.stack.payloadBucket}/`, objects)}\n`);
  const states = await stateDbSection(p);
  const cliOk = await cliSection();
  await doctorSection();

  section('Summary');
  const ok =
    states.get(DEMO_IDS[0])?.state === 'SUCCEEDED' &&
    states.get(DEMO_IDS[1])?.state === 'SUCCEEDED' &&
    states.get(DEMO_IDS[2])?.state === 'FAILED' &&
    states.get(DEMO_IDS[3])?.state === 'SUCCEEDED' &&
    failures === 1 &&
    cliOk;
  step(ok ? 'pipeline OK: 3 succeeded, 1 failed on purpose, 1 invalid message reported for redelivery' : 'pipeline did NOT behave as expected (see above)');
  return ok ? 0 : 1;
}

/** Section 1: a normal, an oversized, a failing and an invalid message in one batch; the number of batch item failures. */
async function sqsBatchSection(p: Pipeline): Promise<number> {
  const { stack } = p;
  section('1. One SQS batch through the process function');
  const normal = payload('minimal', [item('demo-item-1', 'demo-collection')], { succeed: true });
  const bigText = 'é'.repeat(70000); // 70,000 two-byte characters: ~140 KB inline, over the 120 KB limit
  const oversized = payload('minimal', [item('demo-item-big', 'demo-collection', { description: bigText })], { succeed: true });
  const failing = payload('minimal', [item('demo-item-fails', 'demo-collection')], { succeed: false });
  const invalid = 'this message is not JSON';
  step(`normal payload        demo-collection/workflow-minimal/demo-item-1`);
  step(`oversized payload     demo-collection/workflow-minimal/demo-item-big (${formatBytes(measureInlineSize(JSON.stringify(oversized)))} inline, limit ${formatBytes(MAX_PAYLOAD_LENGTH)})`);
  step(`failing payload       demo-collection/workflow-minimal/demo-item-fails (process[0].succeed = false)`);
  step(`invalid message       ${JSON.stringify(invalid)}`);
  const { response } = await p.sendBatch([normal, oversized, failing, invalid].map((b) => (typeof b === 'string' ? b : JSON.stringify(b))));
  const failures = (response as { batchItemFailures: { itemIdentifier: string }[] }).batchItemFailures;
  step(`process returned batchItemFailures: ${failures.length} (the invalid message; SQS would redeliver it, then dead-letter it)`);
  await stack.waitForIdle();
  step(`executions finished: ${stack.sfn.executions().map((e) => `${e.name.slice(0, 8)}… ${e.status}`).join(', ')}`);
  step(`status events delivered to update-state: ${stack.statusEvents.length}; update-state errors: ${p.updateStateErrors.length}`);
  return failures.length;
}

/** Section 2: a Lambda task whose output grows past the inline limit. */
async function growingTaskSection(p: Pipeline): Promise<void> {
  const { stack } = p;
  section('2. A Lambda task whose output grows past the inline limit');
  const stamp = payload('stamp-items', [item('demo-item-stamped', 'demo-collection')], { tasks: { 'stamp-items': { pad_bytes: 130000 } } });
  step('stamp-items payload   demo-collection/workflow-stamp-items/demo-item-stamped (the task adds 130 KB to the item)');
  await p.sendBatch([JSON.stringify(stamp)]);
  await stack.waitForIdle();
  const stampExec = stack.sfn.executions().find((e) => e.stateMachineArn.endsWith(':stamp-items') || e.stateMachineArn.endsWith('-stamp-items'));
  const stampOutput = stampExec ? String((await stack.sfn.execution(stampExec.executionArn))?.output ?? '') : '';
  step(`execution output (what Step Functions carried): ${stampOutput.length > 160 ? `${stampOutput.slice(0, 160)}…` : stampOutput}`);
}

/** Section 4: the StateDB item of every demo payload. */
async function stateDbSection(p: Pipeline): Promise<Map<string, StateItem>> {
  section('4. StateDB');
  const clients = createClients(clientSettingsFromEnv(process.env));
  const states = await new StateDb(p.stack.stateDbTable, clients.dynamoDoc).getItems(DEMO_IDS).finally(() => clients.destroy());
  for (const id of DEMO_IDS) {
    const it = states.get(id);
    process.stdout.write(`${(it?.state ?? 'MISSING').padEnd(10)} ${id}${it?.lastError ? `\n           last_error: ${it.lastError}` : ''}\n`);
  }
  return states;
}

/** Section 5: the CLI reads input and output payloads; true when the reads that should succeed did. */
async function cliSection(): Promise<boolean> {
  const ids = DEMO_IDS;
  section('5. The CLI: cirrus get-input-payload / get-output-payload');
  const input = await capture(['get-input-payload', ids[0], '--raw']);
  process.stdout.write(`$ cirrus get-input-payload ${ids[0]} --raw\n${input.out}${input.err}`);
  const output = await capture(['get-output-payload', ids[0], '--raw']);
  process.stdout.write(`$ cirrus get-output-payload ${ids[0]} --raw\n${output.out}${output.err}`);
  const stamped = await capture(['get-output-payload', ids[3], '--raw']);
  let stampedNote = stamped.err.trim();
  if (stamped.code === 0) {
    const parsed = JSON.parse(stamped.out) as { features: { properties: Record<string, string> }[] };
    const props = parsed.features[0].properties;
    stampedNote = `output.json is the re-hydrated payload (${formatBytes(stamped.out.length)}): processing:stamped=${props['processing:stamped']}, processing:padding is ${formatBytes(props['processing:padding']?.length ?? 0)}`;
  }
  process.stdout.write(`$ cirrus get-output-payload ${ids[3]}\n${stampedNote}\n`);
  const notYet = await capture(['get-output-payload', ids[2]]);
  process.stdout.write(`$ cirrus get-output-payload ${ids[2]}\n${notYet.err}(exit ${notYet.code}: expected, that run failed on purpose)\n`);
  return input.code === 0 && output.code === 0 && stamped.code === 0;
}

/** Section 6: cirrus doctor on the local stack. */
async function doctorSection(): Promise<void> {
  section('6. cirrus doctor');
  process.stdout.write(
    'Expected on the local stack: the S3 stand-in has no lifecycle configuration API, so the lifecycle\n' +
      'checks cannot confirm the <root>/tmp/ expiry rule (the CDK stack creates it in AWS); the failed\n' +
      'and invalid payloads above were caused on purpose and are not doctor findings.\n\n',
  );
  const doctor = await capture(['doctor']);
  process.stdout.write(doctor.out + doctor.err);
}

/** A value quoted for a POSIX shell. */
function shq(v: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, "'\\''")}'`;
}

/** The example payload shipped with the repository, and its payload id. */
function examplePayload(): { file: string; id: string } {
  const file = path.join(repoRoot(), 'examples', 'payload.json');
  const payload = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  return { file, id: validateProcessPayload(payload).id };
}

/**
 * The lines `--serve` prints: the environment (AWS CLI v1 needs `AWS_DEFAULT_REGION` and ignores
 * `AWS_ENDPOINT_URL_<SERVICE>`, so each AWS CLI command passes `--endpoint-url`; v2 and the SDKs
 * read both), what runs, and commands that work as printed.
 */
function serveInstructions(p: Pipeline): string {
  const { stack } = p;
  const ep = stack.endpoints;
  const example = examplePayload();
  const key = payloadIdToKey(example.id);
  const ddbKey = JSON.stringify({ collections_workflow: { S: key.collections_workflow }, itemids: { S: key.itemids } });
  const env: Record<string, string> = { AWS_DEFAULT_REGION: stack.region, ...stack.env };
  const lines: string[] = [];
  lines.push('Export these in the shell you drive it from (the AWS CLI v1 reads AWS_DEFAULT_REGION and the keys,');
  lines.push('and ignores the AWS_ENDPOINT_URL_* lines, so every aws command below passes --endpoint-url;');
  lines.push('the AWS CLI v2, the SDKs and cirrus read them too):');
  lines.push('');
  for (const [k, v] of Object.entries(env)) lines.push(`export ${k}=${shq(v)}`);
  lines.push('');
  lines.push(`Workflows registered from workflows/*.asl.json: ${p.workflows.map((w) => stack.sfn.workflowArn(w.name).split(':').pop()).join(', ') || '(none)'}`);
  for (const n of p.notices) lines.push(`Cannot run here: ${n}`);
  lines.push('');
  lines.push(`The process queue is polled every second and its messages handed to the process function:`);
  lines.push(`  ${stack.processQueueUrl}`);
  lines.push(
    `A message process reports failed comes back after the queue's ${PROCESS_QUEUE_VISIBILITY_TIMEOUT_SECONDS} s visibility timeout; after ` +
      `${stack.processMaxReceiveCount} receives (the deployed stack's maxReceiveCount) it moves to the dead-letter queue:`,
  );
  lines.push(`  ${stack.processDeadLetterQueueUrl}`);
  lines.push('');
  lines.push(`Send the example payload (payload id ${example.id}):`);
  lines.push(`  aws --endpoint-url ${ep.sqs} sqs send-message --queue-url ${stack.processQueueUrl} --message-body ${shq(`file://${example.file}`)}`);
  lines.push('Then look at it:');
  lines.push(`  npx cirrus get-state ${shq(example.id)}`);
  lines.push(`  npx cirrus get-output-payload ${shq(example.id)}`);
  lines.push(`  aws --endpoint-url ${ep.dynamodb} dynamodb get-item --table-name ${stack.stateDbTable} --key ${shq(ddbKey)}`);
  lines.push(`  aws --endpoint-url ${ep.s3} s3 ls s3://${stack.payloadBucket}/${stack.env.CIRRUS_PAYLOAD_ROOT_PREFIX}/ --recursive`);
  lines.push(`  aws --endpoint-url ${ep.sfn} stepfunctions list-executions --state-machine-arn ${stack.sfn.workflowArn('minimal')}`);
  lines.push(`  aws --endpoint-url ${ep.sqs} sqs receive-message --queue-url ${stack.processDeadLetterQueueUrl}`);
  lines.push('');
  lines.push('Each handled message prints one line below (payload id and outcome, from the workflow-event topic).');
  lines.push('Ctrl-C stops the stack and removes its data.');
  return `${lines.join('\n')}\n`;
}

/** One line per workflow event published since `from` (the interim CLAIMED_PROCESSING left out); returns the new cursor. */
function reportEvents(p: Pipeline, from: number): number {
  const messages = p.stack.sns.messages(p.stack.workflowEventTopicArn);
  for (const m of messages.slice(from)) {
    let e: { event_type?: string; payload_id?: string; error?: string; execution_arn?: string };
    try {
      e = JSON.parse(m.message) as typeof e;
    } catch {
      continue;
    }
    if (e.event_type === 'CLAIMED_PROCESSING') continue;
    const detail = e.error ? `: ${e.error}` : e.event_type === 'STARTED_PROCESSING' && e.execution_arn ? ` (execution ${e.execution_arn.split(':').pop()})` : '';
    step(`payload ${e.payload_id ?? '(no id)'}: ${e.event_type}${detail}`);
  }
  return messages.length;
}

/** Set while `--serve` runs: the first Ctrl-C stops it gracefully. */
let stopServing: (() => void) | undefined;

async function serve(p: Pipeline): Promise<void> {
  section('Local stack running');
  process.stdout.write(serveInstructions(p));
  let stopping = false;
  const stop = new Promise<void>((resolve) => {
    stopServing = () => {
      stopping = true;
      resolve();
    };
  });
  let cursor = reportEvents(p, 0);
  let deadLettered = 0;
  while (!stopping) {
    await Promise.race([
      p
        .poll()
        .then((d) => {
          cursor = reportEvents(p, cursor);
          for (const f of d.failed) {
            const left = p.stack.processMaxReceiveCount - f.receiveCount;
            step(
              `message ${f.messageId}: reported failed by process (receive ${f.receiveCount} of ${p.stack.processMaxReceiveCount}); ` +
                (left > 0 ? `redelivered after ${PROCESS_QUEUE_VISIBILITY_TIMEOUT_SECONDS} s` : 'moves to the dead-letter queue on its next receive'),
            );
          }
          const dlq = p.stack.sqs.sent(p.stack.processDeadLetterQueueUrl);
          for (const m of dlq.slice(deadLettered)) step(`message ${m.messageId}: moved to the dead-letter queue`);
          deadLettered = dlq.length;
        })
        .catch((err: Error) => step(`poll failed: ${err.message}`)),
      stop,
    ]);
    if (!stopping) cursor = reportEvents(p, cursor);
    await Promise.race([new Promise((r) => setTimeout(r, 1000)), stop]);
  }
  step('stopping');
}

/**
 * Ctrl-C (or SIGTERM): while serving, the first one stops the stack gracefully; otherwise (the
 * demo, start-up, a second Ctrl-C) the process exits at once, and the local stack's exit hook
 * removes its data folder, so nothing is left in the temporary directory.
 */
function onSignal(signal: NodeJS.Signals): void {
  const stopNow = stopServing;
  stopServing = undefined;
  if (stopNow) {
    stopNow();
    return;
  }
  process.stderr.write(`\n${signal}: stopping; the local stack data is removed\n`);
  process.exit(130);
}

async function main(): Promise<void> {
  const serveMode = process.argv.includes('--serve');
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  step('starting the local stack (S3, DynamoDB, Step Functions, SNS, SQS on 127.0.0.1)');
  const p = await startPipeline();
  step(`ready: bucket ${p.stack.payloadBucket}, table ${p.stack.stateDbTable}, workflows ${p.workflows.map((w) => `${p.stack.resourcePrefix}-${w.name}`).join(', ')}`);
  step(`data folder ${p.stack.dataDir} (removed when the demo stops, Ctrl-C included)`);
  for (const n of p.notices) step(`cannot run here: ${n}`);
  let code = 0;
  try {
    if (serveMode) await serve(p);
    else code = await demo(p);
  } finally {
    await p.stop();
  }
  step(`stopped; nothing left running (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  process.exitCode = code;
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
