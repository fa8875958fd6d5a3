const { existsSync } = require('node:fs');
const path = require('node:path');

// The conformance suite reads the reference system's test vectors, which sit beside the
// repository (`../shared/fixtures/cirrus`) only in this project's CI. Elsewhere it is left out,
// with one line saying so (on stderr, so `--json` output stays clean); `.ci/run` fails when it
// did not run in CI.
const referenceVectors = path.resolve(__dirname, '../shared/fixtures/cirrus');
const conformance = existsSync(referenceVectors);
// jest may load this file more than once per run: say it once.
if (!conformance && !process.env.JEST_WORKER_ID && !process.env.CIRRUS_CONFORMANCE_SKIP_SAID) {
  process.env.CIRRUS_CONFORMANCE_SKIP_SAID = '1';
  process.stderr.write(`conformance-cirrus skipped: no reference vectors at ${referenceVectors} (they exist in CI only)\n`);
}

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', ...(conformance ? [] : ['<rootDir>/test/conformance-cirrus\\.test\\.ts$'])],
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  setupFiles: ['<rootDir>/test/setup-env.js'],
  globalSetup: '<rootDir>/test/global-setup.js',
  globalTeardown: '<rootDir>/test/global-teardown.js',
  testTimeout: 60000,
  // Jest's transform cache lives with the dependencies, not in /tmp/jest_<uid> (nothing left behind).
  cacheDirectory: '<rootDir>/node_modules/.cache/jest',
  maxWorkers: 2,
};
