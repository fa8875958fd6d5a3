/**
 * The CDK app as the tests build it: as bin/app.ts does, with cdk.json's context plus the test's
 * and the test bundles (`helpers/cdk-bundles.ts`); its template; and the logical id of a construct.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type CfnResource, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildCirrusApp, type CirrusApp } from '../../cdk/app';
import { bundleDir } from './cdk-bundles';

/** The context of the repository's cdk.json (what `cdk synth` starts from). */
export const CDK_JSON_CONTEXT = (JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> })
  .context;

/** Builds the app as bin/app.ts does, with cdk.json's context plus `context`; `warn` gets the app's warnings. */
export function buildApp(context: Record<string, unknown> = {}, warn: (message: string) => void = () => undefined): CirrusApp {
  const app = new App({ context: { ...CDK_JSON_CONTEXT, ...context } });
  return buildCirrusApp(app, { lambdaBundleDir: bundleDir(), warn });
}

/** Runs `fn` capturing console.error; returns its result and the text printed. */
export function captureStderr<T>(fn: () => T): [T, string] {
  const spy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    const result = fn();
    return [result, spy.mock.calls.map((c) => c.map(String).join(' ')).join('\n')];
  } finally {
    spy.mockRestore();
  }
}

/** The app of {@link buildApp}, synthesized. */
export interface SynthesizedApp extends CirrusApp {
  template: Template;
  /** What the synth printed on stderr (CDK prints its validation report there). */
  stderr: string;
}

/** {@link buildApp}, then the stack's template (the synth's console output captured in `stderr`). */
export function synthApp(context: Record<string, unknown> = {}, warn?: (message: string) => void): SynthesizedApp {
  const built = buildApp(context, warn);
  const [template, stderr] = captureStderr(() => Template.fromStack(built.stack));
  return { ...built, template, stderr };
}

/** The logical id of a construct's CloudFormation resource. */
export function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnResource);
}
