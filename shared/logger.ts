/**
 * Structured JSON logging (Powertools Logger). Each function has one logger; per-payload child
 * loggers carry `payload_id` on every line.
 * @module
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import type { Env } from './config';

/** The logger type used across the project. */
export type { Logger };

/** Cirrus's (Python `logging`) level names that Powertools spells otherwise. */
const PYTHON_LEVELS: Record<string, string> = { WARNING: 'WARN', FATAL: 'CRITICAL' };
const POWERTOOLS_LEVELS = new Set<string>(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT']);

/**
 * The log level a Cirrus deployment sets with `CIRRUS_LOG_LEVEL` (Python level names: `DEBUG`,
 * `INFO`, `WARNING`, `ERROR`, `CRITICAL`), as a Powertools level; `undefined` when
 * `POWERTOOLS_LOG_LEVEL` is set (it wins), when `CIRRUS_LOG_LEVEL` is unset, or when it names no level.
 */
export function cirrusLogLevel(env: Env): LogLevel | undefined {
  if (env.POWERTOOLS_LOG_LEVEL) return undefined;
  const raw = env.CIRRUS_LOG_LEVEL?.trim().toUpperCase();
  if (!raw) return undefined;
  const level = PYTHON_LEVELS[raw] ?? raw;
  return POWERTOOLS_LEVELS.has(level) ? (level as LogLevel) : undefined;
}

/**
 * Creates the logger of a function or tool; its composition root passes the environment. Level from
 * `POWERTOOLS_LOG_LEVEL`, else `CIRRUS_LOG_LEVEL` of `env` (as a Cirrus deployment sets it), default INFO.
 */
export function createLogger(serviceName: string, env: Env): Logger {
  return new Logger({ serviceName, logLevel: cirrusLogLevel(env) });
}

/** A child logger that adds `payload_id` (and any other keys) to every line. */
export function payloadLogger(parent: Logger, payloadId: string, extra: Record<string, string> = {}): Logger {
  const child = parent.createChild();
  child.appendKeys({ payload_id: payloadId, ...extra });
  return child;
}
