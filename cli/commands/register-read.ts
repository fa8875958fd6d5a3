/**
 * The read commands of the `cirrus` program: get-input-payload, get-output-payload, get-state,
 * list-executions, get-execution and doctor.
 * @module
 */
import type { Command } from 'commander';
import { ENV, parsePositiveInt } from '../../shared/config';
import { DEFAULT_MAX_ITEMS, DEFAULT_SAMPLE, checksHelp, formatDoctorReport, runDoctor } from '../doctor';
import { formatJson, exampleHelp, type CommandContext } from '../context';
import type { CliConfig } from '../config';
import { parseDuration } from '../duration';
import { CONFIG_HELP, CONFIG_SECTION, PAYLOAD_ID_HELP } from '../help';
import { assertResourcesExist, type Needs } from '../resources';
import { getExecution } from './execution';
import { getInputPayload, getOutputPayload, getState, listExecutions, validatePayloadId, type ExecutionOption } from './payloads';

const EXAMPLE_ID = 'sentinel-2-l2a/workflow-cog-archive/S2B_10TFK_20210713_0_L2A';

/** A command reading one payload. */
interface PayloadCommandSpec {
  name: string;
  summary: string;
  details: string;
  needs: Needs;
  /** Accepts `--execution <id|arn>`. */
  execution?: boolean;
  run: (cfg: CliConfig, payloadId: string, options: ExecutionOption) => Promise<unknown>;
}

function payloadCommand(program: Command, ctx: CommandContext, spec: PayloadCommandSpec): void {
  const cmd = program
    .command(spec.name)
    .summary(spec.summary)
    .description(`${spec.summary}\n\n${spec.details}`)
    .argument('<payload_id>', PAYLOAD_ID_HELP);
  if (spec.execution) cmd.option('--execution <id|arn>', 'an earlier attempt: execution id or ARN (default: the last execution)');
  const examples = [`cirrus ${spec.name} ${EXAMPLE_ID} --raw`];
  if (spec.execution) examples.push(`cirrus ${spec.name} ${EXAMPLE_ID} --execution 492fca12-ae13-5b13-8f98-4873fed8f3d3`);
  cmd.addHelpText('after', `${exampleHelp(...examples)}${CONFIG_HELP}`).action(async (payloadId: string, opts: ExecutionOption, c: Command) => {
    validatePayloadId(payloadId); // before any configuration is read or service called
    const { config: cfg, options } = await ctx.config(c);
    await assertResourcesExist(cfg, spec.needs);
    ctx.out.write(formatJson(await spec.run(cfg, payloadId, opts), options.raw));
  });
}

/**
 * get-input-payload and get-output-payload: one object of a payload's execution; `failures` says
 * when the command fails.
 */
function executionObjectSpec(which: 'input' | 'output', failures: string, run: PayloadCommandSpec['run']): PayloadCommandSpec {
  return {
    name: `get-${which}-payload`,
    summary: `Print the ${which} payload (${which}.json) of a payload's last execution, or of --execution.`,
    details:
      'Looks the payload up in the StateDB, takes its last recorded execution (or the one --execution names) and reads ' +
      `<root>/executions/<payload_id>/<execution_id>/${which}.json from the payload bucket. ${failures} ` +
      `Needs the bucket (${ENV.payloadBucket}) and the table (${ENV.stateDb}).`,
    needs: { bucket: true, table: true },
    execution: true,
    run,
  };
}

const SPECS: PayloadCommandSpec[] = [
  executionObjectSpec('input', 'Fails when the payload is unknown, has no execution yet, or the object is missing.', getInputPayload),
  executionObjectSpec(
    'output',
    'output.json is only written when the run succeeds: without --execution any other state is an error, as are an ' +
      'unknown payload, no execution yet, or a missing object.',
    getOutputPayload,
  ),
  {
    name: 'get-state',
    summary: 'Print the StateDB record of a payload.',
    details:
      'Prints payload_id, collections, workflow, items, state, created, updated, executions (ARNs, ' +
      'oldest first), last_error, outputs, claimed_at and the input/output payload URLs of the last ' +
      `execution (null when absent). Needs the table (${ENV.stateDb}); the URLs also need the bucket.`,
    needs: { bucket: true, table: true },
    run: getState,
  },
  {
    name: 'list-executions',
    summary: 'List the executions of a payload found in the payload bucket.',
    details:
      'Lists <root>/executions/<payload_id>/ and prints, oldest first, each execution id with its ' +
      'input.json and output.json (URL, last modified, size; null when missing). When the table is ' +
      'configured, executions recorded in the StateDB are included too and the last one is marked ' +
      `(last_execution). Needs the bucket (${ENV.payloadBucket}); the table is optional.`,
    needs: { bucket: true, table: true },
    run: listExecutions,
  },
];

function getExecutionCommand(program: Command, ctx: CommandContext): void {
  program
    .command('get-execution')
    .summary('Show how an execution of a payload went, from Step Functions.')
    .description(
      'Show how an execution of a payload went (default: its last): status, start and stop times, error and cause, ' +
        'the state that failed (from the execution history) and the AWS console URL. --events adds the history. ' +
        `Needs the table (${ENV.stateDb}) and Step Functions (states:DescribeExecution, states:GetExecutionHistory).`,
    )
    .argument('<payload_id>', PAYLOAD_ID_HELP)
    .option('--execution <id|arn>', 'an earlier attempt: execution id or ARN (default: the last execution)')
    .option('--events', 'include the execution history (events, oldest first)')
    .addHelpText('after', `${exampleHelp(`cirrus get-execution ${EXAMPLE_ID}`, `cirrus get-execution ${EXAMPLE_ID} --events --raw | jq '.events[].type'`)}${CONFIG_HELP}`)
    .action(async (payloadId: string, opts: { execution?: string; events?: boolean }, c: Command) => {
      validatePayloadId(payloadId); // before any configuration is read or service called
      const { config: cfg, options } = await ctx.config(c);
      ctx.out.write(formatJson(await getExecution(cfg, payloadId, opts), options.raw));
    });
}

/** Options of `cirrus doctor` as commander parses them. */
interface DoctorCliOptions {
  staleAfter: string;
  maxItems: string;
  sample: string;
  json?: boolean;
}

function doctorCommand(program: Command, ctx: CommandContext): void {
  program
    .command('doctor')
    .summary('Check the deployment for silent ways of losing payload history.')
    .description(
      'Check the deployment for silent ways of losing payload history: bucket lifecycle rules that ' +
        'expire execution history or never clean <root>/tmp/, versioning, StateDB items stuck in ' +
        'CLAIMED or PROCESSING, and recent SUCCEEDED items whose payload objects are gone.',
    )
    .option('--stale-after <duration>', 'report CLAIMED/PROCESSING items older than this (30m, 6h, 2d)', '6h')
    .option('--max-items <n>', 'read at most this many StateDB items', String(DEFAULT_MAX_ITEMS))
    .option('--sample <n>', 'check this many of the most recent SUCCEEDED items in the bucket (0: none)', String(DEFAULT_SAMPLE))
    .option('--json', 'print the report as JSON ({findings, summary}) for automation')
    .addHelpText('after', `${DOCTOR_HELP}${exampleHelp('cirrus doctor --stack my-cirrus --stale-after 2h', 'cirrus doctor --json --raw | jq .summary')}${CONFIG_SECTION}`)
    .action(async (opts: DoctorCliOptions, c: Command) => {
      const doctorOptions = {
        staleAfterMs: parseDuration(opts.staleAfter, '--stale-after'),
        maxItems: parsePositiveInt(opts.maxItems, { what: '--max-items' }),
        sample: parsePositiveInt(opts.sample, { what: '--sample', min: 0 }),
      };
      const { config: cfg, options } = await ctx.config(c);
      // A bucket or table that does not exist is a configuration error, never "lost history".
      await assertResourcesExist(cfg, { bucket: true, table: true });
      const report = await runDoctor(cfg, doctorOptions);
      ctx.out.write(opts.json ? formatJson({ findings: report.findings, summary: report.summary }, options.raw) : formatDoctorReport(report));
      ctx.setExitCode(report.summary.exit_code);
    });
}

/** Adds the read commands to `program`. */
export function registerReadCommands(program: Command, ctx: CommandContext): void {
  for (const spec of SPECS) payloadCommand(program, ctx, spec);
  getExecutionCommand(program, ctx);
  doctorCommand(program, ctx);
}

const DOCTOR_HELP = `
${checksHelp()}

Output: a report with one line per finding ([ERROR], [WARN], [info]) and [ok] per passing
check; --json prints {"findings": [{severity, check, message, details}], "summary": {...}}.

Exit codes:
  0  healthy (no findings, or info only)
  1  warnings found
  2  errors found, or a configuration or usage error (one line on stderr)

Needs both the payload bucket and the StateDB table. AWS permissions used:
s3:GetLifecycleConfiguration, s3:GetBucketVersioning, s3:GetObject (HeadObject),
dynamodb:Scan; the existence checks use s3:ListBucket (HeadBucket) and
dynamodb:DescribeTable (refused checks are skipped).`;