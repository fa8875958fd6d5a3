/**
 * The set-up most pipeline integration test files share, on top of `helpers/pipeline.ts`: the
 * local stack with the example `minimal` workflow registered, and a workflow whose one Lambda task
 * fails with the error the payload names.
 */
import path from 'node:path';
import type { LocalStack, LocalStackOptions } from '../../local';
import { WORKFLOWS_DIR, makePayload, startPipelineStack, type PipelineStack } from './pipeline';

/** A process payload as {@link makePayload} builds it (with its `id`). */
export type TestPayload = ReturnType<typeof makePayload>;

/** The example `minimal` workflow's definition file. */
export const MINIMAL_WORKFLOW = path.join(WORKFLOWS_DIR, 'minimal.asl.json');

/** {@link startPipelineStack} with the `minimal` workflow registered. */
export async function startMinimalPipeline(options: LocalStackOptions = {}): Promise<PipelineStack> {
  const p = await startPipelineStack(options);
  await p.stack.registerWorkflow('minimal', MINIMAL_WORKFLOW);
  return p;
}

/** A Lambda that throws the error described by `process[0].raise` ({name, message}). */
export function raiser(event: { process: { raise: { name: string; message: string } }[] }): never {
  const { name, message } = event.process[0].raise;
  const err = new Error(message);
  err.name = name;
  throw err;
}

/** A workflow of one task, {@link raiser}. */
export const RAISE_DEFINITION = {
  Comment: 'Fails with the error named in process[0].raise',
  StartAt: 'Raise',
  States: { Raise: { Type: 'Task', Resource: 'arn:aws:lambda:us-west-2:123456789012:function:raiser', End: true } },
};

/** Registers {@link RAISE_DEFINITION} as workflow `raise`, with its Lambda. */
export async function registerRaiseWorkflow(stack: LocalStack): Promise<void> {
  await stack.registerWorkflow('raise', RAISE_DEFINITION, { lambdaHandlers: { raiser } });
}
