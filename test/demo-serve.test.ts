/**
 * `npm start -- --serve` (the built demo bundle, as `npm start` runs it): what it prints drives the
 * stack with the AWS CLI v1 as well as v2, the example payload it names goes through, each handled
 * message prints a line, and Ctrl-C leaves nothing behind, during the demo too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PROCESS_MAX_RECEIVE_COUNT } from '../cdk/process-limits';

const root = path.resolve(__dirname, '..');
const demo = path.join(root, 'dist', 'bin', 'demo.js');

/** A running demo process and everything it printed so far. */
interface Demo {
  child: ChildProcess;
  out(): string;
  /** Resolves with the output once `re` matches it (rejects when the process ends first). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startDemo(args: string[]): Demo {
  if (!existsSync(demo)) throw new Error(`${demo} is missing: run "npm run build" first (npm test does)`);
  const child = spawn(process.execPath, [demo, ...args], {
    cwd: root,
    env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'ERROR', AWS_PROFILE: '', AWS_DEFAULT_REGION: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer): void => {
    text += d.toString('utf8');
    for (const l of [...listeners]) l();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let ended = false;
  void exited.then(() => {
    ended = true;
    for (const l of [...listeners]) l();
  });
  return {
    child,
    out: () => text,
    exited,
    waitFor(re, timeoutMs = 45_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`timed out waiting for ${re}; output so far:\n${text}`)), timeoutMs);
        const check = (): void => {
          const m = re.exec(text);
          if (m) done(undefined, m);
          else if (ended) done(new Error(`the demo exited before printing ${re}; output:\n${text}`));
        };
        const done = (err?: Error, m?: RegExpExecArray): void => {
          clearTimeout(timer);
          listeners.delete(check);
          if (err) reject(err);
          else resolve(m as RegExpExecArray);
        };
        listeners.add(check);
        check();
      });
    },
  };
}

describe('npm start -- --serve', () => {
  let d: Demo;
  let printed = '';

  beforeAll(async () => {
    d = startDemo(['--serve']);
    await d.waitFor(/Ctrl-C stops the stack/);
    printed = d.out();
  }, 60_000);

  afterAll(async () => {
    if (d.child.exitCode === null && d.child.signalCode === null) {
      d.child.kill('SIGKILL');
      await d.exited;
    }
  });

  const exported = (): Record<string, string> =>
    Object.fromEntries([...printed.matchAll(/^export ([A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1], m[2].replace(/^'(.*)'$/, '$1')]));

  it('prints AWS_DEFAULT_REGION (what the AWS CLI v1 reads) with AWS_REGION and the keys', () => {
    const env = exported();
    expect(env.AWS_DEFAULT_REGION).toBe('us-west-2');
    expect(env.AWS_REGION).toBe('us-west-2');
    expect(env.AWS_ACCESS_KEY_ID).toBeTruthy();
    expect(env.AWS_SECRET_ACCESS_KEY).toBeTruthy();
  });

  it('passes --endpoint-url on every aws command, with the endpoint of its service', () => {
    const env = exported();
    const commands = [...printed.matchAll(/^ {2}aws (.*)$/gm)].map((m) => m[1]);
    expect(commands.length).toBeGreaterThanOrEqual(5);
    const service: Record<string, string> = { sqs: 'SQS', dynamodb: 'DYNAMODB', s3: 'S3', stepfunctions: 'SFN' };
    for (const c of commands) {
      const m = /^--endpoint-url (\S+) (\S+) /.exec(c);
      expect(m).not.toBeNull();
      const [, url, svc] = m as RegExpExecArray;
      expect(url).toBe(env[`AWS_ENDPOINT_URL_${service[svc]}`]);
    }
  });

  it('names the shipped example payload file, its payload id, and the queue in the send command', () => {
    const send = /^ {2}aws --endpoint-url \S+ sqs send-message --queue-url (\S+) --message-body file:\/\/(\S+)$/m.exec(printed);
    expect(send).not.toBeNull();
    const [, queueUrl, file] = send as RegExpExecArray;
    expect(queueUrl).toBe(exported().CIRRUS_PROCESS_QUEUE_URL);
    expect(file).toBe(path.join(root, 'examples', 'payload.json'));
    const payload = JSON.parse(readFileSync(file, 'utf8')) as { features: { id: string; collection: string }[]; process: { workflow: string }[] };
    const id = `${payload.features[0].collection}/workflow-${payload.process[0].workflow}/${payload.features[0].id}`;
    expect(printed).toContain(`Send the example payload (payload id ${id})`);
  });

  it('registers every workflows/*.asl.json', () => {
    expect(printed).toMatch(/Workflows registered from workflows\/\*\.asl\.json: cirrus-minimal, cirrus-stamp-items\n/);
  });

  it("names the dead-letter queue and the deployed stack's receive count", () => {
    expect(printed).toContain(`after ${PROCESS_MAX_RECEIVE_COUNT} receives (the deployed stack's maxReceiveCount) it moves to the dead-letter queue:\n`);
    expect(printed).toMatch(/dead-letter queue:\n {2}http:\/\/127\.0\.0\.1:\d+\/123456789012\/cirrus-process-dead-letter\n/);
  });

  it('prints one line per handled message: the payload id and its outcome', async () => {
    const env = exported();
    const sqs = new SQSClient({ endpoint: env.AWS_ENDPOINT_URL_SQS, region: env.AWS_DEFAULT_REGION, credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY } });
    try {
      const body = readFileSync(path.join(root, 'examples', 'payload.json'), 'utf8');
      await sqs.send(new SendMessageCommand({ QueueUrl: env.CIRRUS_PROCESS_QUEUE_URL, MessageBody: body }));
      await d.waitFor(/payload sentinel-2-l2a\/workflow-minimal\/S2B_33UUP_20240812_0_L2A: SUCCEEDED\n/);
      expect(d.out()).toMatch(/payload sentinel-2-l2a\/workflow-minimal\/S2B_33UUP_20240812_0_L2A: STARTED_PROCESSING/);
      await sqs.send(new SendMessageCommand({ QueueUrl: env.CIRRUS_PROCESS_QUEUE_URL, MessageBody: 'not a payload' }));
      const failed = await d.waitFor(new RegExp(`message ([0-9a-f-]{36}): reported failed by process \\(receive 1 of ${PROCESS_MAX_RECEIVE_COUNT}\\); redelivered after \\d+ s\n`));
      expect(failed[1]).toMatch(/^[0-9a-f-]{36}$/);
      expect(d.out()).toMatch(/payload unknown: RECORD_EXTRACT_FAILED: SQS message body is not valid JSON/);
    } finally {
      sqs.destroy();
    }
  });

  it('stops on Ctrl-C and removes its data folder', async () => {
    const dataDir = /data folder (\S+) \(removed/.exec(printed)?.[1] ?? '';
    expect(existsSync(dataDir)).toBe(true);
    d.child.kill('SIGINT');
    expect(await d.exited).toEqual({ code: 0, signal: null });
    expect(d.out()).toMatch(/stopped; nothing left running/);
    expect(existsSync(dataDir)).toBe(false);
  });
});

describe('npm start interrupted', () => {
  it('removes the local stack data folder on Ctrl-C during the demo', async () => {
    const d = startDemo([]);
    const [, dataDir] = await d.waitFor(/data folder (\S+) \(removed/);
    expect(existsSync(dataDir)).toBe(true);
    d.child.kill('SIGINT');
    expect(await d.exited).toEqual({ code: 130, signal: null });
    expect(existsSync(dataDir)).toBe(false);
  }, 60_000);
});
