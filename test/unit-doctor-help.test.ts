/**
 * The doctor's checks are one list (`CHECKS` in cli/doctor.ts): `cirrus doctor --help` is generated
 * from it, and the README's doctor section must name every check.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CHECKS, checksHelp } from '../cli/doctor';
import { runCli } from '../cli/program';

const NAMES = Object.keys(CHECKS);

async function doctorHelp(): Promise<string> {
  let out = '';
  const sink = { write: (s: string) => ((out += s), true) };
  await runCli(['doctor', '--help'], { stdout: sink, stderr: sink, env: {} });
  return out;
}

/** The README from the `cirrus doctor` heading to the next heading of the same level. */
function readmeDoctorSection(): string {
  const readme = readFileSync(path.resolve(__dirname, '..', 'README.md'), 'utf8');
  const start = readme.indexOf('### `cirrus doctor`');
  expect(start).toBeGreaterThan(-1);
  const end = readme.indexOf('\n### ', start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
}

describe('doctor checks: one list, help and README', () => {
  it.each(NAMES)('%s heads a row of the generated Checks section, with its help text', (name) => {
    const help = checksHelp();
    expect(help).toMatch(new RegExp(`^  ${name.replace('.', '\\.')} +\\S`, 'm'));
    const words = CHECKS[name as keyof typeof CHECKS].help.split(/\s+/);
    expect(help.replace(/\s+/g, ' ')).toContain(words.join(' '));
  });

  it.each(NAMES)('%s is in `cirrus doctor --help`', async (name) => {
    expect(await doctorHelp()).toMatch(new RegExp(`^  ${name.replace('.', '\\.')} `, 'm'));
  });

  it.each(NAMES)('%s is in the README doctor section', (name) => {
    expect(readmeDoctorSection()).toContain(`\`${name}\``);
  });

  it('the Checks section of the help lists the checks in report order and no other', async () => {
    const help = await doctorHelp();
    const section = help.slice(help.indexOf('Checks:\n'), help.indexOf('\n\n', help.indexOf('Checks:\n')));
    const listed = [...section.matchAll(/^ {2}(\S+) /gm)].map((m) => m[1]);
    expect(listed).toEqual(NAMES);
  });
});
