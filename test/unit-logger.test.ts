/**
 * Log level: `CIRRUS_LOG_LEVEL`, as a Cirrus deployment sets it (Python level names), is honoured;
 * `POWERTOOLS_LOG_LEVEL` wins when both are set.
 */
import { cirrusLogLevel, createLogger } from '../shared/logger';

function levelWith(env: { CIRRUS_LOG_LEVEL?: string; POWERTOOLS_LOG_LEVEL?: string }): string {
  const saved = { CIRRUS_LOG_LEVEL: process.env.CIRRUS_LOG_LEVEL, POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL };
  try {
    for (const k of ['CIRRUS_LOG_LEVEL', 'POWERTOOLS_LOG_LEVEL'] as const) {
      if (env[k] === undefined) delete process.env[k];
      else process.env[k] = env[k];
    }
    return createLogger('test', process.env).getLevelName();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('log level', () => {
  it.each([
    ['DEBUG', 'DEBUG'],
    ['INFO', 'INFO'],
    ['WARNING', 'WARN'],
    ['ERROR', 'ERROR'],
    ['CRITICAL', 'CRITICAL'],
    ['debug', 'DEBUG'],
  ])('CIRRUS_LOG_LEVEL=%s gives %s', (cirrus, expected) => {
    expect(levelWith({ CIRRUS_LOG_LEVEL: cirrus })).toBe(expected);
  });

  it('POWERTOOLS_LOG_LEVEL wins when both are set', () => {
    expect(levelWith({ CIRRUS_LOG_LEVEL: 'DEBUG', POWERTOOLS_LOG_LEVEL: 'ERROR' })).toBe('ERROR');
  });

  it('neither set: INFO', () => {
    expect(levelWith({})).toBe('INFO');
  });

  it('a CIRRUS_LOG_LEVEL that names no level is ignored', () => {
    expect(cirrusLogLevel({ CIRRUS_LOG_LEVEL: 'LOUD' })).toBeUndefined();
    expect(levelWith({ CIRRUS_LOG_LEVEL: 'LOUD' })).toBe('INFO');
  });
});
