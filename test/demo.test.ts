/**
 * `npm start` runs the demo bundle; this runs the same bundle (built by `npm test` before jest) and
 * checks what it printed.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..');
const demo = path.join(root, 'dist', 'bin', 'demo.js');

describe('npm start (the local demo)', () => {
  let stdout = '';

  beforeAll(async () => {
    if (!existsSync(demo)) throw new Error(`${demo} is missing: run "npm run build" first (npm test does)`);
    const res = await run(process.execPath, [demo], {
      cwd: root,
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'WARN' },
      timeout: 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    stdout = res.stdout;
  }, 90_000);

  // No bound on the duration: on a loaded machine it varies with the load, not with the code.
  it('exits 0 and says the pipeline behaved', () => {
    expect(stdout).toContain('pipeline OK: 3 succeeded, 1 failed on purpose, 1 invalid message reported for redelivery');
    expect(stdout).toMatch(/stopped; nothing left running/);
  });

  it('reports the invalid message as the only batch item failure', () => {
    expect(stdout).toContain('process returned batchItemFailures: 1');
  });

  it('draws the bucket tree with input.json and output.json under executions/<payload_id>/<execution_id>/', () => {
    expect(stdout).toMatch(/s3:\/\/cirrus-payloads\/\n└── cirrus\/\n {4}├── executions\/\n/);
    expect(stdout).toMatch(/demo-item-1\/\n.*└── [0-9a-f-]{36}\/\n.*├── input\.json .*\n.*└── output\.json/);
    expect(stdout).toMatch(/tmp\/\n.*├── invalid\/\n.*[0-9a-f-]{36}\.json/);
    expect(stdout).toMatch(/oversized\/\n.*[0-9a-f-]{36}\.json/);
  });

  it('prints each payload state from the StateDB', () => {
    expect(stdout).toMatch(/SUCCEEDED +demo-collection\/workflow-minimal\/demo-item-1\n/);
    expect(stdout).toMatch(/SUCCEEDED +demo-collection\/workflow-minimal\/demo-item-big\n/);
    expect(stdout).toMatch(/FAILED +demo-collection\/workflow-minimal\/demo-item-fails\n +last_error: WorkflowFailed: /);
    expect(stdout).toMatch(/SUCCEEDED +demo-collection\/workflow-stamp-items\/demo-item-stamped\n/);
  });

  it('shows the CLI returning the successful run input and output', () => {
    const input = /\$ cirrus get-input-payload demo-collection\/workflow-minimal\/demo-item-1 --raw\n(.*)\n/.exec(stdout);
    expect(input).not.toBeNull();
    const parsed = JSON.parse((input as RegExpExecArray)[1]) as { id: string };
    expect(parsed.id).toBe('demo-collection/workflow-minimal/demo-item-1');
    expect(stdout).toMatch(/\$ cirrus get-output-payload demo-collection\/workflow-minimal\/demo-item-1 --raw\n\{"type":"FeatureCollection"/);
  });

  it('shows an output grown past the limit travelling as a reference and re-hydrated into output.json', () => {
    expect(stdout).toMatch(/execution output \(what Step Functions carried\): \{"url":"s3:\/\/cirrus-payloads\/cirrus\/tmp\/oversized\/[0-9a-f-]{36}\.json"\}/);
    expect(stdout).toMatch(/output\.json is the re-hydrated payload \(1\d\d\.\d KB\): processing:stamped=/);
  });

  it('ends with a cirrus doctor report', () => {
    expect(stdout).toContain('cirrus doctor');
    expect(stdout).toMatch(/Summary: (healthy|warnings)/);
  });
});
