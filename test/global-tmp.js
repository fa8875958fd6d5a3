// The test run's scratch folder: jest's globalSetup points TMPDIR (which os.tmpdir() reads, in
// the jest workers started afterwards and in every child process the tests start) at a fresh
// folder under the system temporary directory, and globalTeardown removes it. So a run leaves
// nothing in the temporary directory: CDK output folders (cdk.out*), bundle copies, local stack
// and s3rver data, whatever a test or a child process forgot to remove.
const { mkdtempSync, rmSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const KEY = 'CIRRUS_TEST_SCRATCH_TMPDIR';

async function setup() {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'cirrus-jest-'));
  process.env[`${KEY}_PREVIOUS`] = process.env.TMPDIR ?? '';
  process.env[KEY] = scratch;
  process.env.TMPDIR = scratch;
}

async function teardown() {
  const scratch = process.env[KEY];
  const previous = process.env[`${KEY}_PREVIOUS`];
  if (previous) process.env.TMPDIR = previous;
  else delete process.env.TMPDIR;
  if (scratch) rmSync(scratch, { recursive: true, force: true });
}

module.exports = { setup, teardown };
