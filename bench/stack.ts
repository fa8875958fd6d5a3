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
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { applyStackEnv, startLocalStack, type LocalStack, type LocalStackEnv, type StepFunctionsStatusChangeEvent } from '../local';
import { repoRoot } from '../local/pipeline';
import { instrumentSharedClients, type AwsCallInstrumentation } from './middleware';
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
  /** Delay and call counter on the shared clients. */
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
 * shared clients. The caller must `stop()` it.
 */
export async function startBenchStack(script: string = process.argv[1]): Promise<BenchStack> {
  const child: ChildProcess = fork(script, ['--child', 'stack'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map<number, { resolve: (m: HostMessage) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  const ready = await new Promise<Extract<HostMessage, { type: 'ready' }>>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the stack host exited (code ${code}) before it was ready`)));
    child.on('message', (m: HostMessage) => {
      if (m.type === 'ready') resolve(m);
      else if (m.type === 'failed') reject(new Error(`the stack host failed to start: ${m.error}`));
      else {
        const p = pending.get(m.id);
        pending.delete(m.id);
        p?.resolve(m);
      }
    });
  });
  child.on('exit', () => {
    for (const p of pending.values()) p.reject(new Error('the stack host exited'));
    pending.clear();
  });
  const request = (req: Omit<HostRequest, 'id'> & { executionArn?: string }): Promise<HostMessage> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send({ ...req, id });
    });
  const ok = async (req: Omit<HostRequest, 'id'> & { executionArn?: string }): Promise<StepFunctionsStatusChangeEvent | undefined> => {
    const m = await request(req);
    if (m.type !== 'reply') throw new Error(`unexpected message from the stack host: ${m.type}`);
    if (!m.ok) throw new Error(`stack host: ${m.error}`);
    return m.event;
  };

  const restore = applyStackEnv(ready.env);
  const aws = instrumentSharedClients(0);
  return {
    env: ready.env,
    region: ready.region,
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
      if (child.exitCode === null && child.connected) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        await ok({ op: 'stop' }).catch(() => undefined);
        await exited;
      }
    },
  };
}
