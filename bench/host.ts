/**
 * The parent side of a stack host: a child process (`<script> --child <name> …`) that runs the
 * local stack and answers requests over IPC. The child sends `{type: 'ready', …}` once (or
 * `{type: 'failed', error}`), then one `{type: 'reply', id, …}` per request `{id, op, …}`.
 * @module
 */
import { fork, type ChildProcess } from 'node:child_process';

/** The messages every stack host sends; `Ready` and `Reply` carry what one host adds. */
export type HostReply<Reply> = { type: 'reply'; id: number } & Reply;
export type HostMessage<Ready, Reply> = ({ type: 'ready' } & Ready) | { type: 'failed'; error: string } | HostReply<Reply>;

/** A started stack host. */
export interface ForkedHost<Ready, Reply> {
  /** What the host sent when it was ready. */
  readonly ready: Ready;
  /** Sends a request (an `id` is added) and resolves with its reply; rejects if the host exits first. */
  request(req: { op: string } & Record<string, unknown>): Promise<HostReply<Reply>>;
  /** Asks the host to stop (`op: 'stop'`) and waits for it to exit; nothing if it already has. */
  stop(): Promise<void>;
}

/** Forks `script --child …args` and waits until the host is ready. */
export async function forkHost<Ready, Reply>(script: string, args: string[]): Promise<ForkedHost<Ready, Reply>> {
  const child: ChildProcess = fork(script, ['--child', ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map<number, { resolve: (m: HostReply<Reply>) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the stack host exited (code ${code}) before it was ready`)));
    child.on('message', (m: HostMessage<Ready, Reply>) => {
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
  const request = (req: { op: string } & Record<string, unknown>): Promise<HostReply<Reply>> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send({ ...req, id });
    });
  return {
    ready,
    request,
    async stop() {
      if (child.exitCode !== null || !child.connected) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await request({ op: 'stop' }).catch(() => undefined);
      await exited;
    },
  };
}
