/**
 * The package as a consumer installs it: `npm pack` gives a tarball with the built library, its
 * declarations and the `cirrus` bin (and nothing the tests or the local tools need), and a fresh
 * project installs it and imports it. Offline and quick: the consumer gets a lockfile pinning the
 * package's runtime dependencies exactly as this repository's package-lock.json does, so
 * `npm ci --offline` takes them from the npm cache `npm ci` filled.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dev?: boolean;
  devOptional?: boolean;
  dependencies?: Record<string, string>;
  bin?: Record<string, string>;
  [k: string]: unknown;
}

let dir: string;
let tarball: string;
let files: string[];
let consumer: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cirrus-pack-'));
  // The build is npm test's (prepare would rebuild dist/ under the other suites' feet).
  const packed = await run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root });
  const info = (JSON.parse(packed.stdout) as { filename: string; files: { path: string; mode: number }[] }[])[0];
  tarball = path.join(dir, info.filename);
  files = info.files.map((f) => f.path).sort();

  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string>; bin: Record<string, string> };
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  consumer = path.join(dir, 'consumer');
  mkdirSync(consumer);
  const spec = `file:../${info.filename}`;
  const packages: Record<string, LockEntry> = {
    '': { name: 'consumer', version: '1.0.0', dependencies: { [pkg.name]: spec } },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: spec,
      integrity: `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
    },
  };
  for (const [p, e] of Object.entries(lock.packages)) {
    if (p === '' || e.dev || e.devOptional || p.startsWith('node_modules/.')) continue;
    // An entry without `resolved` makes npm ask the registry for metadata; give the tarball URL
    // npm itself would derive, so the cached tarball (found by its integrity) is used.
    const name = p.slice(p.lastIndexOf('node_modules/') + 'node_modules/'.length);
    packages[p] = e.resolved ? e : { ...e, resolved: `https://registry.npmjs.org/${name}/-/${name.split('/').pop()}-${e.version}.tgz` };
  }
  writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, dependencies: { [pkg.name]: spec } }));
  writeFileSync(path.join(consumer, 'package-lock.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', lockfileVersion: 3, requires: true, packages }));
  await run(npm, ['ci', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: consumer });
}, 180_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds the library, its declarations, the cirrus bin and the README, and nothing else', () => {
    expect(files).toEqual(expect.arrayContaining(['README.md', 'package.json', 'dist/lib/index.js', 'dist/lib/types/index.d.ts', 'dist/bin/cirrus.js']));
    expect(files.filter((f) => !/^(README\.md|package\.json|dist\/lib\/.*|dist\/bin\/cirrus\.js)$/.test(f))).toEqual([]);
  });

  it('installs into a fresh project, which can require it by name', async () => {
    const script = "const api = require('cirrus-payload-bucket'); console.log(typeof api.PayloadBucket, typeof api.validateProcessPayload, api.MAX_PAYLOAD_LENGTH)";
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: consumer });
    expect(stdout.trim()).toBe('function function 120000');
  });

  it('links an executable cirrus bin that runs', async () => {
    const bin = path.join(consumer, 'node_modules', '.bin', 'cirrus');
    expect(statSync(bin).mode & 0o111).not.toBe(0);
    const { stdout } = await run(bin, ['--help'], { cwd: consumer });
    expect(stdout).toMatch(/get-input-payload/);
  });
});
