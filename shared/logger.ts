/**
 * Structured JSON logging (Powertools Logger). Each function has one logger; per-payload child
 * loggers carry `payload_id` on every line.
 * @module
 */
import { Logger } from '@aws-lambda-powertools/logger';

/** The logger type used across the project. */
export type { Logger };

/** Creates the logger of a function or tool. Level from `POWERTOOLS_LOG_LEVEL` (default INFO). */
export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName });
}

/** A child logger that adds `payload_id` (and any other keys) to every line. */
export function payloadLogger(parent: Logger, payloadId: string, extra: Record<string, string> = {}): Logger {
  const child = parent.createChild();
  child.appendKeys({ payload_id: payloadId, ...extra });
  return child;
}
