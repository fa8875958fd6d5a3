/**
 * What every command of the `cirrus` program is given: its output sinks, input, environment,
 * the configuration resolver and the exit code it may set.
 * @module
 */
import type { Command } from 'commander';
import type { Env } from '../shared/config';
import type { CliConfig, ClientOverrides, GlobalOptions } from './config';
import type { TextSource } from './input';

/** Something text can be written to (`process.stdout`, a test buffer). */
export interface TextSink {
  write(text: string): unknown;
  /** True when the sink is a terminal (progress bars are drawn only then). */
  isTTY?: boolean;
}

/** Where the program reads its environment and input and writes its output. */
export interface CliIo {
  /** Standard output (JSON results, reports, help). */
  stdout: TextSink;
  /** Standard error (one-line errors, progress, summaries). */
  stderr: TextSink;
  /** Standard input (payloads for `process -`, answers to questions). */
  stdin?: TextSource;
  /** Environment (configuration variables, AWS endpoints and credentials). */
  env: Env;
  /** AWS clients to use instead of building them from `env` (tests, the demo). */
  clients?: ClientOverrides;
}

/** The context a command's action runs in. */
export interface CommandContext {
  out: TextSink;
  err: TextSink;
  stdin: TextSource;
  env: Env;
  /** Resolves (and remembers, for release) the configuration of the command. */
  config(cmd: Command): Promise<{ config: CliConfig; options: GlobalOptions }>;
  /** Sets the exit code of the run (for results that are not thrown errors). */
  setExitCode(code: number): void;
}

/** Serialises a command result: 2-space indented, or compact with `--raw`. */
export function formatJson(value: unknown, raw = false): string {
  return `${raw ? JSON.stringify(value) : JSON.stringify(value, null, 2)}\n`;
}

/** One NDJSON line. */
export function ndjson(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

/** The shared tail of every command's help: an example, then where the configuration comes from. */
export function exampleHelp(...examples: string[]): string {
  return `\nExample${examples.length > 1 ? 's' : ''}:\n${examples.map((e) => `  ${e}`).join('\n')}\n`;
}
