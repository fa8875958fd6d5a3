/**
 * `npm ci` on Node 20 prints no EBADENGINE: package-lock.json records aws-local-stepfunctions
 * (development only) without the `engines: node >=22` its 3.0.0 declares, because this project
 * supplies what it needs on Node 20 (README, "Installing the library"). These checks fail when
 * that stops being true.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { engines?: unknown; version?: string; hasInstallScript?: boolean }>;
};
const project = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string }; allowScripts?: Record<string, boolean> };

describe('engines: Node 20.3 or later, and no EBADENGINE on npm ci', () => {
  it('the lock entry of aws-local-stepfunctions has no engines field (npm install may put it back: remove it again)', () => {
    const entry = lock.packages['node_modules/aws-local-stepfunctions'];
    expect(entry.version).toBe('3.0.0');
    expect(entry.engines).toBeUndefined();
  });

  it('no other locked package requires a Node newer than the one running the tests', () => {
    const major = Number(process.versions.node.split('.')[0]);
    const tooNew = Object.entries(lock.packages)
      .filter(([, e]) => typeof e.engines === 'object' && e.engines !== null && typeof (e.engines as { node?: unknown }).node === 'string')
      .filter(([, e]) => {
        const m = /^>=\s*(\d+)/.exec((e.engines as { node: string }).node);
        return m !== null && Number(m[1]) > major;
      })
      .map(([name]) => name);
    expect(tooNew).toEqual([]);
  });

  it('the project declares Node 20.3 or later, and this Node has what the interpreter needs', () => {
    expect(project.engines.node).toBe('>=20.3');
    expect(typeof (AbortSignal as unknown as { any?: unknown }).any).toBe('function');
    expect(readFileSync(path.join(ROOT, 'local', 'asl.ts'), 'utf8')).toContain("Object.defineProperty(Promise, 'withResolvers'");
  });
});

describe('install scripts: npm ci neither skips nor warns about one', () => {
  it('every locked package with an install script is approved or denied in allowScripts', () => {
    const withScript = Object.entries(lock.packages)
      .filter(([, e]) => e.hasInstallScript === true)
      .map(([key]) => key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length));
    expect(withScript.length).toBeGreaterThan(0);
    const decided = Object.keys(project.allowScripts ?? {});
    expect(withScript.filter((name) => !decided.includes(name))).toEqual([]);
  });
});
