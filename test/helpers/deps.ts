/**
 * The dependencies tests hand to the shared functions, which read no environment and build no
 * client of their own (docs/ARCHITECTURE.md, "Conventions"): one factory per kind, built the way the
 * handlers build theirs.
 */
import type { LogReader } from '../../shared/batch';
import type { Env } from '../../shared/config';
import { createLogger } from '../../shared/logger';
import type { ProcessDeps } from '../../shared/process';
import { handlerRuntime } from '../../shared/runtime';

/**
 * What the process handler gives `processEvent`, built as it builds them (the handlers' runtime of
 * `env`, shared/runtime.ts), with `overrides` on top: for tests that call `processEvent` directly.
 */
export function processDeps(env: Env = process.env, overrides: Partial<ProcessDeps> = {}): ProcessDeps {
  return { ...handlerRuntime(env).processDeps(createLogger('process', env)), ...overrides };
}

/** The Batch log reader of post-batch paths that read no log: reading one fails. */
export const noBatchLog: LogReader = async (logStreamName) => {
  throw new Error(`no Batch log is read on this path (asked for ${logStreamName})`);
};
