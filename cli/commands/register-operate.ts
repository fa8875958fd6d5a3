/**
 * The operator commands of the `cirrus` program: process, run-workflow, query and rerun.
 * @module
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { ENV, parsePositiveInt } from '../../shared/config';
import { requireBucket } from '../config';
import { assertResourcesExist } from '../resources';
import { exampleHelp, formatJson, ndjson, type CommandContext } from '../context';
import { parseDuration } from '../duration';
import { CliError, EXIT, UsageError } from '../errors';
import { CONFIG_HELP } from '../help';
import { readDocuments } from '../input';
import { startProgress } from '../progress';
import { stateReport } from './payloads';
import { processPayloads, runWorkflow } from './process';
import { parseFilters, queryItems, type QueryFlags } from './query';
import { planRerun, sendPlans, summarize, summaryLine, type RerunPlan } from './rerun';

const INPUT_HELP = 'payloads: a JSON file holding one payload, a JSON array or NDJSON; "-" or none: standard input';

function processCommand(program: Command, ctx: CommandContext): void {
  program
    .command('process')
    .summary('Send payloads to the process queue.')
    .description(
      'Send payloads to the process queue: one payload, a JSON array or NDJSON. Each is validated as the process ' +
        'function does (its id computed when missing); if any is invalid nothing is sent. A payload over the queue\'s ' +
        'message limit is stored under <root>/tmp/oversized/ and sent as {"url": ...}. Prints one NDJSON line per ' +
        'payload: payload_id, message_id and oversized_url when offloaded. A progress bar shows on a terminal. ' +
        `Needs the queue (${ENV.processQueueUrl}) and the bucket (${ENV.payloadBucket}).`,
    )
    .argument('[file]', INPUT_HELP)
    .addHelpText('after', `${exampleHelp('cirrus process payloads.ndjson', 'cirrus payload template --workflow cog --collections sentinel-2-l2a S2A_1 | cirrus process -')}${CONFIG_HELP}`)
    .action(async (file: string | undefined, _opts: unknown, c: Command) => {
      const docs = await readDocuments(file, ctx.stdin);
      const { config } = await ctx.config(c);
      const progress = startProgress('process', docs.length, ctx.out, ctx.err);
      const results = await processPayloads(config, docs, (n) => progress.increment(n)).finally(() => progress.stop());
      for (const r of results) ctx.out.write(ndjson(r));
      const failed = results.filter((r) => r.error);
      if (failed.length > 0) throw new CliError(`${failed.length} of ${results.length} payloads not sent; first: ${failed[0].payload_id}: ${failed[0].error}`, EXIT.failed);
    });
}

interface RunWorkflowFlags {
  timeout: string;
  pollInterval: string;
  replace?: boolean;
}

function runWorkflowCommand(program: Command, ctx: CommandContext): void {
  program
    .command('run-workflow')
    .summary('Send one payload and wait for its final state.')
    .description(
      'Send one payload as process does and wait (reading the StateDB) for the run to end. SUCCEEDED: prints its ' +
        'output.json (exit 0). FAILED or ABORTED (exit 4), INVALID (exit 5): prints the StateDB record and the error. ' +
        'Timed out (exit 6): the run may still finish. A payload already SUCCEEDED or INVALID is not run again ' +
        `without --replace. Needs the queue (${ENV.processQueueUrl}), the bucket and the table.`,
    )
    .argument('[file]', 'one payload (JSON); "-" or none: standard input')
    .option('--timeout <duration>', 'stop waiting after this long (30s, 10m, 1h)', '10m')
    .option('--poll-interval <duration>', 'time between StateDB reads', '2s')
    .option('--replace', 'set process[0].replace = true: run it even if it already ran')
    .addHelpText('after', `${exampleHelp('cirrus run-workflow payload.json --timeout 30m > output.json', 'cirrus run-workflow payload.json --replace --raw | jq .features[0].assets')}${CONFIG_HELP}`)
    .action(async (file: string | undefined, opts: RunWorkflowFlags, c: Command) => {
      const timeoutMs = parseDuration(opts.timeout, '--timeout');
      const pollMs = parseDuration(opts.pollInterval, '--poll-interval');
      const docs = await readDocuments(file, ctx.stdin);
      if (docs.length !== 1) throw new UsageError(`run-workflow takes one payload, got ${docs.length}; use process for several`);
      const { config, options } = await ctx.config(c);
      const outcome = await runWorkflow(config, docs[0], { timeoutMs, pollMs, replace: opts.replace });
      ctx.out.write(formatJson(outcome.output ?? outcome.state, options.raw));
      const { state, payload_id: id, last_error: error } = outcome.state;
      if (state === 'INVALID') throw new CliError(`payload ${id} is INVALID: ${error ?? 'no error recorded'}`, EXIT.invalid);
      if (state !== 'SUCCEEDED') throw new CliError(`payload ${id} ended ${state}: ${error ?? 'no error recorded'}`, EXIT.failed);
    });
}

function filterOptions(cmd: Command): Command {
  return cmd
    .option('--collections-workflow <cw>', 'the StateDB partition: <collections>_<workflow>')
    .option('--collections <collections>', 'collections part of the payload ids (with --workflow)')
    .option('--workflow <name>', 'workflow name (with --collections)')
    .option('--state <state>', 'CLAIMED, PROCESSING, SUCCEEDED (also reads legacy COMPLETED), FAILED, INVALID or ABORTED')
    .option('--since <when>', 'updated at or after: a duration before now (30m, 6h, 2d) or an ISO time')
    .option('--error-prefix <text>', 'last_error starts with this (for example "WorkflowFailed")')
    .option('--limit <n>', 'at most this many records');
}

/**
 * A command that selects StateDB items with the query filters: its name, texts and examples
 * (query and rerun share the filters and the configuration help).
 */
function filterCommand(program: Command, name: string, texts: { summary: string; description: string; examples: string[] }): Command {
  return filterOptions(program.command(name))
    .summary(texts.summary)
    .description(texts.description)
    .addHelpText('after', `${exampleHelp(...texts.examples)}${CONFIG_HELP}`);
}

function queryCommand(program: Command, ctx: CommandContext): void {
  filterCommand(program, 'query', {
    summary: 'List StateDB records of a collections/workflow, as NDJSON.',
    description:
      'List the StateDB records of one collections/workflow, newest first, one NDJSON line each (the get-state fields). ' +
      'Reads the state_updated index with --state and the updated index without; never scans the table. ' +
      `Needs the table (${ENV.stateDb}); the payload URLs also need the bucket.`,
    examples: [
      'cirrus query --collections sentinel-2-l2a --workflow cog --state FAILED --since 1d',
      "cirrus query --collections-workflow sentinel-2-l2a_cog --error-prefix 'Lambda.Timeout' --limit 20 | jq -r .payload_id",
    ],
  })
    .action(async (flags: QueryFlags, c: Command) => {
      const filters = parseFilters(flags);
      const { config } = await ctx.config(c);
      await assertResourcesExist(config, { bucket: true });
      const bucket = config.bucketName ? requireBucket(config) : undefined;
      for await (const item of queryItems(config, filters)) ctx.out.write(ndjson(stateReport(item, bucket)));
    });
}

interface RerunFlags extends QueryFlags {
  dryRun?: boolean;
  yes?: boolean;
  confirmOver: string;
}

/** Asks on the terminal before sending many; refuses without a terminal. */
async function confirm(ctx: CommandContext, count: number, over: number, yes: boolean | undefined): Promise<void> {
  if (yes || count <= over) return;
  if (!ctx.stdin.isTTY) throw new UsageError(`rerun would send ${count} payloads (more than --confirm-over ${over}): pass --yes to send them, or --dry-run to list them`);
  const rl = createInterface({ input: ctx.stdin as NodeJS.ReadableStream, output: ctx.err as NodeJS.WritableStream });
  const answer = await rl.question(`send ${count} payloads again? [y/N] `).finally(() => rl.close());
  if (!/^y(es)?$/i.test(answer.trim())) throw new UsageError('rerun cancelled: nothing sent');
}

function planLine(p: RerunPlan): unknown {
  const { payload: _payload, ...rest } = p;
  return rest;
}

function rerunCommand(program: Command, ctx: CommandContext): void {
  filterCommand(program, 'rerun', {
    summary: 'Send matched items again: their last input.json with process[0].replace = true.',
    description:
      'Send the items query matches again: each item\'s last input.json with process[0].replace = true, sent as process ' +
      'sends (oversized payloads as tmp/oversized/ references). Items in progress (CLAIMED, PROCESSING) or without an ' +
      'input.json are skipped, with the reason. --dry-run lists what would be sent. Asks before sending more than --confirm-over ' +
      'payloads (refuses without a terminal) unless --yes. Prints one NDJSON line per item and a summary line on stderr; ' +
      `exit 4 when some could not be sent. Needs the table, the bucket and the queue (${ENV.processQueueUrl}).`,
    examples: [
      'cirrus rerun --collections sentinel-2-l2a --workflow cog --state FAILED --dry-run',
      'cirrus rerun --collections-workflow sentinel-2-l2a_cog --state FAILED --since 6h --yes',
    ],
  })
    .option('--dry-run', 'list what would be sent; send nothing')
    .option('--yes', 'send without asking, however many')
    .option('--confirm-over <n>', 'ask before sending more than this many', '10')
    .action(async (flags: RerunFlags, c: Command) => {
      const filters = parseFilters(flags);
      const over = parsePositiveInt(flags.confirmOver, { what: '--confirm-over', min: 0 });
      const { config } = await ctx.config(c);
      const plans = await planRerun(config, filters);
      const toSend = plans.filter((p) => p.action === 'send');
      if (flags.dryRun) {
        for (const p of plans) ctx.out.write(ndjson(planLine(p)));
        ctx.err.write(`${summaryLine(summarize(plans, toSend.map((p) => ({ payload_id: p.payload_id }))), true)}\n`);
        return;
      }
      await confirm(ctx, toSend.length, over, flags.yes);
      const progress = startProgress('rerun', toSend.length, ctx.out, ctx.err);
      const results = await sendPlans(config, plans, (n) => progress.increment(n)).finally(() => progress.stop());
      const byId = new Map(results.map((r) => [r.payload_id, r]));
      for (const p of plans) ctx.out.write(ndjson({ ...(planLine(p) as object), ...(byId.get(p.payload_id) ?? {}) }));
      const summary = summarize(plans, results);
      ctx.err.write(`${summaryLine(summary)}\n`);
      if (summary.failed > 0) ctx.setExitCode(EXIT.failed);
    });
}

/** Adds the operator commands to `program`. */
export function registerOperateCommands(program: Command, ctx: CommandContext): void {
  processCommand(program, ctx);
  runWorkflowCommand(program, ctx);
  queryCommand(program, ctx);
  rerunCommand(program, ctx);
}
