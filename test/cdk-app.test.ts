/**
 * The CDK entry point end to end: `scripts/run-ts.mjs bin/app.ts` as the CDK CLI runs it
 * (context through CDK_CONTEXT_JSON, output through CDK_OUTDIR), and `cdk synth` itself.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleDir } from './helpers/cdk-bundles';

const ROOT = join(__dirname, '..');
const CDK_JSON = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { app: string; context: Record<string, unknown> };


interface Run {
  pid: number;
  status: number | null;
  stdout: string;
  stderr: string;
  outdir: string;
}

/** Runs the app the way the CDK CLI does. */
function runApp(context: Record<string, unknown>): Run {
  const outdir = mkdtempSync(join(tmpdir(), 'cirrus-cdkout-'));
  const r = spawnSync(process.execPath, ['scripts/run-ts.mjs', 'bin/app.ts'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: {
      ...process.env,
      CDK_OUTDIR: outdir,
      CDK_CONTEXT_JSON: JSON.stringify({ ...CDK_JSON.context, ...context }),
    },
  });
  return { pid: r.pid ?? -1, status: r.status, stdout: r.stdout, stderr: r.stderr, outdir };
}

interface Rule {
  Id: string;
  Prefix?: string;
  ExpirationInDays?: number;
}

function lifecycleRules(templateFile: string): Rule[] {
  const t = JSON.parse(readFileSync(templateFile, 'utf8')) as {
    Resources: Record<string, { Type: string; Properties: { LifecycleConfiguration?: { Rules: Rule[] } } }>;
  };
  return Object.values(t.Resources)
    .filter((r) => r.Type === 'AWS::S3::Bucket')
    .flatMap((r) => r.Properties.LifecycleConfiguration?.Rules ?? []);
}

/** Whether run-ts left its temporary bundle behind. */
function leftover(r: Run): boolean {
  return existsSync(join(ROOT, 'node_modules', '.cache', 'run-ts', `app-${r.pid}.cjs`));
}

jest.setTimeout(120_000);

describe('bin/app.ts through scripts/run-ts.mjs', () => {
  test('cdk.json runs the TypeScript app with esbuild (no ts-node)', () => {
    expect(CDK_JSON.app).toBe('node scripts/build.mjs --if-missing && node scripts/run-ts.mjs bin/app.ts');
  });

  test('synthesizes the stack; payloadRootPrefix=custom gives the custom/tmp/ rule', () => {
    const r = runApp({ lambdaBundleDir: bundleDir(), payloadRootPrefix: 'custom' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const template = join(r.outdir, 'cirrus.template.json');
    expect(existsSync(template)).toBe(true);
    const expiring = lifecycleRules(template).filter((x) => x.ExpirationInDays !== undefined && x.Id === 'expire-tmp');
    expect(expiring).toEqual([expect.objectContaining({ Prefix: 'custom/tmp/', ExpirationInDays: 10 })]);
    expect(leftover(r)).toBe(false);
  });

  test('fails with "run npm run build first" when a bundle is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cirrus-partial-'));
    mkdirSync(join(dir, 'process'));
    writeFileSync(join(dir, 'process', 'index.js'), 'exports.handler = async () => ({});\n');
    const r = runApp({ lambdaBundleDir: dir });
    expect(r.status).toBe(1);
    expect(leftover(r)).toBe(false);
    expect(r.stderr).toMatch(/^error: missing Lambda bundle\(s\) update-state\/index.js, pre-batch\/index.js, post-batch\/index.js in .*: run npm run build first\n$/);
  });

  test('fails with a one-line error naming the key for an invalid context', () => {
    const r = runApp({ lambdaBundleDir: bundleDir(), payloadRootPrefix: 'a/../b' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: invalid CDK context "payloadRootPrefix" \("a\/..\/b"\): .*\n$/);
  });

  test('prints the lifecycle warning for an imported bucket', () => {
    const r = runApp({ lambdaBundleDir: bundleDir(), payloadBucketName: 'my-existing-bucket' });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/WARNING: Using the existing payload bucket "my-existing-bucket".*"cirrus\/tmp\/"/);
    expect(lifecycleRules(join(r.outdir, 'cirrus.template.json'))).toEqual([]);
  });
});

describe('cdk synth (the CDK CLI, offline)', () => {
  test('npx cdk synth -c payloadRootPrefix=custom', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'cirrus-cli-'));
    const r = spawnSync(
      process.execPath,
      [
        join(ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk'),
        'synth',
        '--quiet',
        '--no-notices',
        '--no-version-reporting',
        '-o',
        outdir,
        '-c',
        'payloadRootPrefix=custom',
        '-c',
        `lambdaBundleDir=${bundleDir()}`,
      ],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' } },
    );
    expect({ status: r.status, stderr: r.status === 0 ? '' : r.stderr }).toEqual({ status: 0, stderr: '' });
    const rules = lifecycleRules(join(outdir, 'cirrus.template.json'));
    expect(rules.filter((x) => x.Id === 'expire-tmp')).toEqual([
      expect.objectContaining({ Prefix: 'custom/tmp/', ExpirationInDays: 10 }),
    ]);
  });
});
