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
import { runCli } from '../cli/program';
import { startPipeline, type Pipeline } from '../local/pipeline';
import { formatBytes, renderTree } from '../local/tree';
import { StateDb } from '../shared/statedb';
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

async function demo(p: Pipeline): Promise<number> {
  const { stack } = p;
  const root = stack.env.CIRRUS_PAYLOAD_ROOT_PREFIX;

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

  section('2. A Lambda task whose output grows past the inline limit');
  const stamp = payload('stamp-items', [item('demo-item-stamped', 'demo-collection')], { tasks: { 'stamp-items': { pad_bytes: 130000 } } });
  step('stamp-items payload   demo-collection/workflow-stamp-items/demo-item-stamped (the task adds 130 KB to the item)');
  await p.sendBatch([JSON.stringify(stamp)]);
  await stack.waitForIdle();
  const stampExec = stack.sfn.executions().find((e) => e.stateMachineArn.endsWith(':stamp-items') || e.stateMachineArn.endsWith('-stamp-items'));
  const stampOutput = stampExec ? String((await stack.sfn.execution(stampExec.executionArn))?.output ?? '') : '';
  step(`execution output (what Step Functions carried): ${stampOutput.length > 160 ? `${stampOutput.slice(0, 160)}…` : stampOutput}`);

  section(`3. The payload bucket: s3://${stack.payloadBucket}/${root}/`);
  const objects = await p.listPayloadObjects();
  process.stdout.write(`${renderTree(`s3://${stack.payloadBucket}/`, objects)}\n`);

  section('4. StateDB');
  const db = new StateDb(stack.stateDbTable);
  const ids = [
    'demo-collection/workflow-minimal/demo-item-1',
    'demo-collection/workflow-minimal/demo-item-big',
    'demo-collection/workflow-minimal/demo-item-fails',
    'demo-collection/workflow-stamp-items/demo-item-stamped',
  ];
  const states = await db.getItems(ids);
  for (const id of ids) {
    const it = states.get(id);
    process.stdout.write(`${(it?.state ?? 'MISSING').padEnd(10)} ${id}${it?.last_error ? `\n           last_error: ${it.last_error}` : ''}\n`);
  }

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

  section('6. cirrus doctor');
  process.stdout.write(
    'Expected on the local stack: the S3 stand-in has no lifecycle configuration API, so the lifecycle\n' +
      'checks cannot confirm the <root>/tmp/ expiry rule (the CDK stack creates it in AWS); the failed\n' +
      'and invalid payloads above were caused on purpose and are not doctor findings.\n\n',
  );
  const doctor = await capture(['doctor']);
  process.stdout.write(doctor.out + doctor.err);

  section('Summary');
  const ok =
    states.get(ids[0])?.state === 'SUCCEEDED' &&
    states.get(ids[1])?.state === 'SUCCEEDED' &&
    states.get(ids[2])?.state === 'FAILED' &&
    states.get(ids[3])?.state === 'SUCCEEDED' &&
    failures.length === 1 &&
    input.code === 0 &&
    output.code === 0 &&
    stamped.code === 0;
  step(ok ? 'pipeline OK: 3 succeeded, 1 failed on purpose, 1 invalid message reported for redelivery' : 'pipeline did NOT behave as expected (see above)');
  return ok ? 0 : 1;
}

async function serve(p: Pipeline): Promise<void> {
  const { stack } = p;
  section('Local stack running');
  process.stdout.write('Export these to drive it with the AWS CLI or the cirrus command:\n\n');
  for (const [k, v] of Object.entries(stack.env)) process.stdout.write(`export ${k}=${JSON.stringify(v)}\n`);
  process.stdout.write(
    `\nWorkflows: ${stack.resourcePrefix}-minimal, ${stack.resourcePrefix}-stamp-items. Messages sent to the process queue\n` +
      `(${stack.processQueueUrl}) are handed to the process function every second.\n` +
      'Try: aws sqs send-message --queue-url "$CIRRUS_PROCESS_QUEUE_URL" --message-body file://payload.json\n' +
      '     npx cirrus get-state <payload_id>\n\nCtrl-C stops the stack.\n',
  );
  let stopping = false;
  const stop = new Promise<void>((resolve) => {
    const onSignal = (): void => {
      stopping = true;
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  while (!stopping) {
    await Promise.race([p.pollOnce().catch((err: Error) => step(`poll failed: ${err.message}`)), stop]);
    await Promise.race([new Promise((r) => setTimeout(r, 1000)), stop]);
  }
  step('stopping');
}

async function main(): Promise<void> {
  const serveMode = process.argv.includes('--serve');
  step('starting the local stack (S3, DynamoDB, Step Functions, SNS, SQS on 127.0.0.1)');
  const p = await startPipeline();
  step(`ready: bucket ${p.stack.payloadBucket}, table ${p.stack.stateDbTable}, workflows ${p.stack.resourcePrefix}-minimal and ${p.stack.resourcePrefix}-stamp-items`);
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
