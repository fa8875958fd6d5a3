/**
 * The `cirrus` command-line program (commander). {@link runCli} runs it in-process and returns the
 * exit code, so `bin/cirrus.ts`, the demo and tests share one implementation.
 * @module
 */
import { Command, CommanderError } from 'commander';
import { version } from '../package.json';
import type { Env } from '../shared/config';
import { ENV } from '../shared/config';
import { resolveConfig, type CliConfig } from './config';
import type { CliIo, CommandContext, TextSink } from './context';
import { CHECKS, type CheckName } from './doctor';
import { EXIT, describeError, exitCodeFor } from './errors';
import { CONFIG_HELP } from './help';
import type { TextSource } from './input';
import { registerOperateCommands } from './commands/register-operate';
import { registerPayloadCommands } from './commands/register-payload';
import { registerReadCommands } from './commands/register-read';

export type { CliIo, TextSink } from './context';
export { formatJson } from './context';

/** The run's exit code and the configurations whose clients are released at the end. */
export interface RunState {
  exitCode: number;
  configs: CliConfig[];
}

function baseProgram(out: TextSink, err: TextSink): Command {
  return new Command('cirrus')
    .description(
      'Operate a Cirrus deployment: feed payloads to the process queue, query the StateDB, inspect executions ' +
        '(payloads in the payload bucket, Step Functions history), rerun work, and check the health of it all (cirrus doctor).',
    )
    .version(version, '-V, --version', 'print the version')
    .option('--bucket <name>', `payload bucket (overrides ${ENV.payloadBucket})`)
    .option('--root-prefix <prefix>', `root prefix of payload keys (overrides ${ENV.rootPrefix}; default "cirrus")`)
    .option('--table <name>', `StateDB DynamoDB table (overrides ${ENV.stateDb})`)
    .option('--queue-url <url>', `process queue (overrides ${ENV.processQueueUrl})`)
    .option('--stack <name>', "read bucket, root prefix, table and queue from this CloudFormation stack's outputs")
    .option('--region <region>', 'AWS region (overrides AWS_REGION)')
    .option('--raw', 'compact JSON output (default: indented with 2 spaces)')
    .addHelpText('after', `\nExample:\n  cirrus --stack my-cirrus query --collections sentinel-2-l2a --workflow cog --state FAILED\n${CONFIG_HELP}`)
    .allowExcessArguments(false)
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: (s) => out.write(s),
      writeErr: (s) => err.write(s),
      outputError: (s, write) => write(`cirrus: ${s.replace(/^error: /, '').trimEnd()}\n`),
    })
    .exitOverride();
}

/**
 * Builds the `cirrus` commander program. Commands write to `io.stdout` and throw on failure; the
 * program's exit callback throws instead of exiting (see {@link runCli}).
 * @param io - output sinks, input and environment (defaults: the process's).
 * @param state - receives the exit code chosen by a command and the clients to release.
 */
export function buildProgram(io: Partial<CliIo> = {}, state: RunState = { exitCode: EXIT.ok, configs: [] }): Command {
  const out: TextSink = io.stdout ?? process.stdout;
  const err: TextSink = io.stderr ?? process.stderr;
  const env: Env = io.env ?? process.env;
  const program = baseProgram(out, err);
  const ctx: CommandContext = {
    out,
    err,
    env,
    stdin: io.stdin ?? (process.stdin as TextSource),
    config: async (cmd) => {
      const options = cmd.optsWithGlobals();
      const cfg = await resolveConfig(options, env, io.clients);
      state.configs.push(cfg);
      return { config: cfg, options };
    },
    setExitCode: (code) => {
      state.exitCode = code;
    },
  };
  registerReadCommands(program, ctx);
  registerOperateCommands(program, ctx);
  registerPayloadCommands(program, ctx);
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
  const state: RunState = { exitCode: EXIT.ok, configs: [] };
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
