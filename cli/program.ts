/**
 * The `cirrus` command-line program (commander). {@link runCli} runs it in-process and returns the
 * exit code, so `bin/cirrus.ts`, the demo and tests share one implementation.
 * @module
 */
import { Command, CommanderError } from 'commander';
import type { Env } from '../shared/config';
import { ENV } from '../shared/config';
import { getInputPayload, getOutputPayload, getState, listExecutions } from './commands/payloads';
import { resolveConfig, type CliConfig, type ClientOverrides, type GlobalOptions } from './config';
import {
  CHECKS,
  DEFAULT_MAX_ITEMS,
  DEFAULT_SAMPLE,
  MIN_TMP_EXPIRY_DAYS,
  formatDoctorReport,
  runDoctor,
  type CheckName,
} from './doctor';
import { parseDuration } from './duration';
import { EXIT, UsageError, describeError, exitCodeFor } from './errors';

/** Something text can be written to (`process.stdout`, a test buffer). */
export interface TextSink {
  write(text: string): unknown;
}

/** Where the program reads its environment and writes its output. */
export interface CliIo {
  /** Standard output (JSON results, reports, help). */
  stdout: TextSink;
  /** Standard error (one-line errors). */
  stderr: TextSink;
  /** Environment (configuration variables, AWS endpoints and credentials). */
  env: Env;
  /** AWS clients to use instead of building them from `env` (tests, the demo). */
  clients?: ClientOverrides;
}

/** Serialises a command result: 2-space indented, or compact with `--raw`. */
export function formatJson(value: unknown, raw = false): string {
  return `${raw ? JSON.stringify(value) : JSON.stringify(value, null, 2)}\n`;
}

const CONFIG_SECTION = `
Configuration (per value: flag, then --stack output, then environment variable):
  --bucket <name>        ${ENV.payloadBucket}
  --root-prefix <prefix> ${ENV.rootPrefix} (default "cirrus")
  --table <name>         ${ENV.stateDb}
  --stack <name>         reads the CloudFormation stack outputs PayloadBucketName,
                         PayloadRootPrefix and StateDbTableName
AWS region, credentials and endpoints come from the usual AWS_* variables
(AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3, ...).`;

const EXIT_SECTION = `
Exit codes:
  0  success (doctor: healthy)
  1  unknown payload, no execution yet, no output because the run has not succeeded,
     object missing from the bucket, or an AWS failure (doctor: warnings found)
  2  configuration or usage error (doctor: errors found)

Errors are one line on stderr ("cirrus: <message>"); set CIRRUS_DEBUG=1 for stack traces.`;

const CONFIG_HELP = `${CONFIG_SECTION}
${EXIT_SECTION}`;

const PAYLOAD_ID_HELP = 'payload id: <collections>/workflow-<workflow>/<itemids>';

const DOCTOR_HELP = `
Checks:
  ${'lifecycle.executions'.padEnd(21)}error when an enabled lifecycle rule that expires or transitions objects
  ${''.padEnd(21)}can match keys under <root>/executions/: a rule with no filter, a prefix of
  ${''.padEnd(21)}<root>/executions/ (such as the root or ""), a prefix inside it, or a tag or
  ${''.padEnd(21)}size filter (any object can carry tags). Losing input.json/output.json
  ${''.padEnd(21)}breaks get-input-payload/get-output-payload. Rules acting only on
  ${''.padEnd(21)}noncurrent versions are reported as info.
  ${'lifecycle.tmp'.padEnd(21)}warning when no enabled rule expires every object under <root>/tmp/
  ${''.padEnd(21)}(oversized, batch and invalid payloads then grow without bound), or when a
  ${''.padEnd(21)}rule expires any of it in under ${MIN_TMP_EXPIRY_DAYS} days (in-flight retries need them).
  ${'versioning'.padEnd(21)}info: the bucket's versioning status; in a versioned bucket, expired
  ${''.padEnd(21)}objects stay as noncurrent versions unless a NoncurrentVersionExpiration
  ${''.padEnd(21)}rule removes them.
  ${'statedb.stale'.padEnd(21)}warning per item in CLAIMED or PROCESSING for longer than --stale-after
  ${''.padEnd(21)}(a crash or a lost status event), with payload id, state, age and last
  ${''.padEnd(21)}execution. Read with a paginated StateDB scan.
  ${'statedb.scan'.padEnd(21)}warning when --max-items stopped the scan before the end of the table.
  ${'payloads.missing'.padEnd(21)}error per item among the --sample most recent SUCCEEDED items whose
  ${''.padEnd(21)}input.json or output.json is missing from the bucket.

Output: a report with one line per finding ([ERROR], [WARN], [info]) and [ok] per passing
check; --json prints {"findings": [{severity, check, message, details}], "summary": {...}}.

Exit codes:
  0  healthy (no findings, or info only)
  1  warnings found
  2  errors found, or a configuration or usage error (one line on stderr)

Needs both the payload bucket and the StateDB table. AWS permissions used:
s3:GetLifecycleConfiguration, s3:GetBucketVersioning, s3:GetObject (HeadObject),
dynamodb:Scan.`;

/** Options of `cirrus doctor` as commander parses them. */
interface DoctorCliOptions {
  staleAfter: string;
  maxItems: string;
  sample: string;
  json?: boolean;
}

function parseCount(text: string, flag: string, min: number): number {
  const t = text.trim();
  const n = Number(t);
  if (!/^\d+$/.test(t) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`invalid ${flag} value ${JSON.stringify(text)}: expected ${min === 0 ? 'a non-negative' : 'a positive'} integer`);
  }
  return n;
}

/**
 * Builds the `cirrus` commander program. Commands write to `io.stdout` and throw on failure; the
 * program's exit callback throws instead of exiting (see {@link runCli}).
 * @param io - output sinks and environment (defaults: the process's).
 * @param state - receives the exit code chosen by a command (doctor) and the clients to release.
 */
export function buildProgram(io: Partial<CliIo> = {}, state: { exitCode: number; configs: CliConfig[] } = { exitCode: EXIT.ok, configs: [] }): Command {
  const out: TextSink = io.stdout ?? process.stdout;
  const err: TextSink = io.stderr ?? process.stderr;
  const env: Env = io.env ?? process.env;

  const program = new Command('cirrus');
  program
    .description(
      'Inspect a Cirrus deployment: the payloads of workflow executions in the payload bucket, the StateDB ' +
        'records of payloads, and the health of both (cirrus doctor).',
    )
    .option('--bucket <name>', `payload bucket (overrides ${ENV.payloadBucket})`)
    .option('--root-prefix <prefix>', `root prefix of payload keys (overrides ${ENV.rootPrefix}; default "cirrus")`)
    .option('--table <name>', `StateDB DynamoDB table (overrides ${ENV.stateDb})`)
    .option('--stack <name>', 'read bucket, root prefix and table from this CloudFormation stack\'s outputs')
    .option('--region <region>', 'AWS region (overrides AWS_REGION)')
    .option('--raw', 'compact JSON output (default: indented with 2 spaces)')
    .addHelpText('after', CONFIG_HELP)
    .allowExcessArguments(false)
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: (s) => out.write(s),
      writeErr: (s) => err.write(s),
      outputError: (s, write) => write(`cirrus: ${s.replace(/^error: /, '').trimEnd()}\n`),
    })
    .exitOverride();

  const config = async (cmd: Command): Promise<{ config: CliConfig; options: GlobalOptions }> => {
    const options = cmd.optsWithGlobals<GlobalOptions>();
    const cfg = await resolveConfig(options, env, io.clients);
    state.configs.push(cfg);
    return { config: cfg, options };
  };

  const payloadCommand = (
    name: string,
    summary: string,
    details: string,
    run: (cfg: CliConfig, payloadId: string) => Promise<unknown>,
  ): void => {
    program
      .command(name)
      .summary(summary)
      .description(`${summary}\n\n${details}`)
      .argument('<payload_id>', PAYLOAD_ID_HELP)
      .addHelpText('after', `\nExample:\n  cirrus ${name} sentinel-2-l2a/workflow-cog-archive/S2B_10TFK_20210713_0_L2A --raw\n${CONFIG_HELP}`)
      .action(async (payloadId: string, _opts: unknown, cmd: Command) => {
        const { config: cfg, options } = await config(cmd);
        out.write(formatJson(await run(cfg, payloadId), options.raw));
      });
  };

  payloadCommand(
    'get-input-payload',
    "Print the input payload (input.json) of a payload's last execution.",
    'Looks the payload up in the StateDB, takes its last recorded execution and reads ' +
      '<root>/executions/<payload_id>/<execution_id>/input.json from the payload bucket. ' +
      'Fails when the payload is unknown, has no execution yet, or the object is missing. ' +
      `Needs the bucket (${ENV.payloadBucket}) and the table (${ENV.stateDb}).`,
    getInputPayload,
  );
  payloadCommand(
    'get-output-payload',
    "Print the output payload (output.json) of a payload's last execution.",
    'Looks the payload up in the StateDB, takes its last recorded execution and reads ' +
      '<root>/executions/<payload_id>/<execution_id>/output.json from the payload bucket. ' +
      'output.json is only written when the run succeeds: any other state is an error, as are an ' +
      'unknown payload, no execution yet, or a missing object. ' +
      `Needs the bucket (${ENV.payloadBucket}) and the table (${ENV.stateDb}).`,
    getOutputPayload,
  );
  payloadCommand(
    'get-state',
    'Print the StateDB record of a payload.',
    'Prints payload_id, collections, workflow, items, state, created, updated, executions (ARNs, ' +
      'oldest first), last_error, outputs, claimed_at and the input/output payload URLs of the last ' +
      `execution (null when absent). Needs the table (${ENV.stateDb}); the URLs also need the bucket.`,
    getState,
  );
  payloadCommand(
    'list-executions',
    'List the executions of a payload found in the payload bucket.',
    'Lists <root>/executions/<payload_id>/ and prints, oldest first, each execution id with its ' +
      'input.json and output.json (URL, last modified, size; null when missing). When the table is ' +
      'configured, executions recorded in the StateDB are included too and the last one is marked ' +
      `(last_execution). Needs the bucket (${ENV.payloadBucket}); the table is optional.`,
    listExecutions,
  );

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
    .addHelpText('after', `${DOCTOR_HELP}\n${CONFIG_SECTION}`)
    .action(async (opts: DoctorCliOptions, cmd: Command) => {
      const doctorOptions = {
        staleAfterMs: parseDuration(opts.staleAfter, '--stale-after'),
        maxItems: parseCount(opts.maxItems, '--max-items', 1),
        sample: parseCount(opts.sample, '--sample', 0),
      };
      const { config: cfg, options } = await config(cmd);
      const report = await runDoctor(cfg, doctorOptions);
      out.write(opts.json ? formatJson({ findings: report.findings, summary: report.summary }, options.raw) : formatDoctorReport(report));
      state.exitCode = report.summary.exit_code;
    });

  return program;
}

/** Names of the doctor's checks (for help and tests). */
export const DOCTOR_CHECKS: readonly CheckName[] = Object.keys(CHECKS) as CheckName[];

/**
 * Runs the `cirrus` program on `argv` (the arguments after the program name) and returns the exit
 * code; never calls `process.exit`. Failures are one line on `io.stderr` (`cirrus: <message>`),
 * with the stack when `CIRRUS_DEBUG=1`.
 */
export async function runCli(argv: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
  const err: TextSink = io.stderr ?? process.stderr;
  const env: Env = io.env ?? process.env;
  const state = { exitCode: EXIT.ok as number, configs: [] as CliConfig[] };
  const program = buildProgram(io, state);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return state.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander has already printed its message (or the help).
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT.ok;
      return EXIT.usage;
    }
    err.write(`cirrus: ${describeError(e)}\n`);
    if (env.CIRRUS_DEBUG === '1' && e instanceof Error && e.stack) err.write(`${e.stack}\n`);
    return exitCodeFor(e);
  } finally {
    for (const cfg of state.configs) cfg.clients.destroy();
  }
}
