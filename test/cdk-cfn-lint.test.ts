/**
 * An independent check of the synthesized templates: cfn-lint (AWS's CloudFormation linter, run
 * through Python) on the default, custom-prefix and existing-bucket variants; any error fails.
 * Where cfn-lint is not installed the check is skipped with one line saying so.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from './helpers/cdk-app';


const available = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' }).status === 0;
if (!available) console.warn('cfn-lint not found on PATH: skipping the cfn-lint template check (pip install cfn-lint)');
const maybe = available ? describe : describe.skip;

const VARIANTS: [string, Record<string, unknown>][] = [
  ['default', {}],
  ['custom prefix', { resourcePrefix: 'prod-eu', payloadRootPrefix: '/custom/', stackName: 'prod-eu-cirrus', alarmEmail: 'ops@example.com' }],
  ['existing bucket', { payloadBucketName: 'my-existing-bucket', referenceBuckets: 'ref-a', alarms: false, dashboard: false }],
];

maybe('cfn-lint on the synthesized templates', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cirrus-cfn-lint-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test.each(VARIANTS)('%s: no errors', (name, context) => {
    const { app, stack } = buildApp({ ...context, nag: false });
    const file = join(dir, `${name.replace(/\W+/g, '-')}.template.json`);
    writeFileSync(file, JSON.stringify(app.synth().getStackByName(stack.stackName).template));
    // Errors only (warnings and informational findings do not fail): --format parseable prints one per line.
    const r = spawnSync('cfn-lint', ['--format', 'parseable', '--regions', 'us-west-2', '--', file], { encoding: 'utf8', timeout: 120_000 });
    const errors = r.stdout.split('\n').filter((l) => /:E\d{4}:/.test(l));
    expect(errors).toEqual([]);
    expect(r.error).toBeUndefined();
    // Exit status bits: 2 errors, 4 warnings, 8 informational; 1 means cfn-lint itself failed.
    expect((r.status ?? 1) & 1).toBe(0);
  }, 180_000);
});
