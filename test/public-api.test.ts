/**
 * The public library API (package.json "exports"), seen from a consumer: a file that imports only
 * from the package name must type-check against the built declarations, and the CommonJS entry must
 * export what the declarations promise. Requires `npm run build` (npm test runs it first).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..');

describe('public API', () => {
  it('type-checks a consumer that imports only from the package name', async () => {
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    await expect(run(process.execPath, [tsc, '-p', path.join(__dirname, 'consumer', 'tsconfig.json')], { cwd: root })).resolves.toBeDefined();
  }, 60_000);

  it('resolves the package name to the built CommonJS entry with the documented exports', async () => {
    const script = `
      const api = require('cirrus-payload-bucket');
      const b = new api.PayloadBucket('b', '/custom/');
      console.log(JSON.stringify({
        names: Object.keys(api).sort(),
        tmp: b.layout.prefixTmp,
        url: b.getOutputPayloadUrl('c/workflow-w/i', 'e'),
        limit: api.MAX_PAYLOAD_LENGTH,
      }));`;
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: root });
    const out = JSON.parse(stdout) as { names: string[]; tmp: string; url: string; limit: number };
    for (const name of ['PayloadBucket', 'readPayload', 'readPayloadUnrestricted', 'lambdaTask', 'batchTask', 'validateProcessPayload', 'measureInlineSize', 'inlineOrReference', 'UndefinedPayloadBucketError']) {
      expect(out.names).toContain(name);
    }
    expect(out.names).not.toContain('processEvent');
    expect(out.names).not.toContain('StateDb');
    expect(out.tmp).toBe('custom/tmp');
    expect(out.url).toBe('s3://b/custom/executions/c/workflow-w/i/e/output.json');
    expect(out.limit).toBe(120000);
  });
});
