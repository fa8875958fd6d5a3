/**
 * The local AWS stack for the benchmarks, run in a child process of its own.
 *
 * On AWS the services run elsewhere; in one Node process the emulators (dynalite, s3rver, the
 * Step Functions interpreter) would share the event loop and the CPU with the code under test and
 * their work would be timed as ours. So the stack lives in a child (`--child stack`) on the other
 * core, and the benchmark process holds only the function code and its SDK clients, like a Lambda
 * sandbox. The child answers `waitForIdle` / `waitForExecution` over IPC.
 * @module
 */
import path from 'node:path';
import { applyStackEnv, startLocalStack, type LocalStack, type LocalStackEnv, type StepFunctionsStatusChangeEvent } from '../local';
import { repoRoot } from '../local/pipeline';
import { forkHost } from './host';
import { instrumentHandlerClients, type AwsCallInstrumentation } from './middleware';
import { WORKFLOW } from './payloads';

/** A request from the benchmark process to the stack host. */
type HostRequest =
  | { id: number; op: 'waitForIdle' }
  | { id: number; op: 'waitForExecution'; executionArn: string }
  | { id: number; op: 'stop' };

/** What the stack host sends back. */
type HostMessage =
  | { type: 'ready'; env: LocalStackEnv; region: string; account: string }
  | { type: 'failed'; error: string }
  | { type: 'reply'; id: number; ok: true; event?: StepFunctionsStatusChangeEvent }
  | { type: 'reply'; id: number; ok: false; error: string };

/** A running benchmark stack. */
export interface BenchStack {
  /** The environment the functions read (also applied to `process.env`). */
  env: LocalStackEnv;
  region: string;
  /** Delay and call counter on the clients of the handlers' runtime. */
  aws: AwsCallInstrumentation;
  /** Resolves when no execution runs and no status event is being delivered. */
  waitForIdle(): Promise<void>;
  /** The status-change event of an execution, once it ended. */
  waitForExecution(executionArn: string): Promise<StepFunctionsStatusChangeEvent>;
  /** Restores the environment and stops the stack (and its process). */
  stop(): Promise<void>;
}

/** The body of the stack host child: starts the stack and serves requests until told to stop. */
export async function runStackHost(): Promise<void> {
  const send = (m: HostMessage): void => {
    process.send?.(m);
  };
  let stack: LocalStack | undefined;
  try {
    stack = await startLocalStack({ validateDefinitions: false });
    await stack.registerWorkflow(WORKFLOW, path.join(repoRoot(__dirname), 'workflows', `${WORKFLOW}.asl.json`));
  } catch (err) {
    send({ type: 'failed', error: String((err as Error).stack ?? err) });
    await stack?.stop();
    process.exit(1);
  }
  const s = stack;
  const stop = async (): Promise<void> => {
    await s.stop();
  };
  process.on('disconnect', () => void stop().then(() => process.exit(0)));
  process.on('message', (raw: HostRequest) => {
    void (async () => {
      try {
        if (raw.op === 'waitForIdle') {
          await s.waitForIdle(120000);
          send({ type: 'reply', id: raw.id, ok: true });
        } else if (raw.op === 'waitForExecution') {
          const done = await s.waitForExecution(raw.executionArn, 120000);
          send({ type: 'reply', id: raw.id, ok: true, event: done.event });
        } else {
          await stop();
          send({ type: 'reply', id: raw.id, ok: true });
          process.disconnect();
        }
      } catch (err) {
        send({ type: 'reply', id: raw.id, ok: false, error: String((err as Error).message ?? err) });
      }
    })();
  });
  send({ type: 'ready', env: s.env, region: s.region, account: s.account });
}

/**
 * Starts the stack host (`<script> --child stack`), applies its environment and instruments the
 * clients of the handlers' runtime. The caller must `stop()` it.
 */
export async function startBenchStack(script: string = process.argv[1]): Promise<BenchStack> {
  type Ready = Omit<Extract<HostMessage, { type: 'ready' }>, 'type'>;
  type Reply = { ok: true; event?: StepFunctionsStatusChangeEvent } | { ok: false; error: string };
  const host = await forkHost<Ready, Reply>(script, ['stack']);
  const ok = async (req: { op: HostRequest['op']; executionArn?: string }): Promise<StepFunctionsStatusChangeEvent | undefined> => {
    const m = await host.request(req);
    if (!m.ok) throw new Error(`stack host: ${m.error}`);
    return m.event;
  };

  const restore = applyStackEnv(host.ready.env);
  const aws = instrumentHandlerClients(0);
  return {
    env: host.ready.env,
    region: host.ready.region,
    aws,
    async waitForIdle() {
      await ok({ op: 'waitForIdle' });
    },
    async waitForExecution(executionArn) {
      const event = await ok({ op: 'waitForExecution', executionArn });
      if (!event) throw new Error(`no status event for ${executionArn}`);
      return event;
    },
    async stop() {
      restore();
      await host.stop();
    },
  };
}
