import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { lambdaContextKeys, startInvocation } from '../shared/invocation';
import { payloadLogger } from '../shared/logger';
import { captureStdout } from './helpers/emf';

const context = (requestId: string): Partial<Context> => ({
  awsRequestId: requestId,
  functionName: 'cirrus-process',
  functionVersion: '$LATEST',
});

function logLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('Lambda context on every log line', () => {
  // Cold start is once per module instance: isolate it so this file's order is the only one.
  let start: typeof startInvocation;
  beforeEach(() => {
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      start = (require('../shared/invocation') as typeof import('../shared/invocation')).startInvocation;
    });
  });

  it('adds request id, function name and cold start to the lines of the function logger and of per-payload child loggers', async () => {
    const logger = new Logger({ serviceName: 'process', logLevel: 'INFO' });
    const { stdout } = await captureStdout(() => {
      start(logger, context('req-1'), {});
      logger.info('batch received');
      payloadLogger(logger, 'c/workflow-a/1').info('workflow started');
    });
    const [parent, child] = logLines(stdout);
    expect(parent).toMatchObject({ message: 'batch received', function_request_id: 'req-1', function_name: 'cirrus-process', function_version: '$LATEST', cold_start: true });
    expect(child).toMatchObject({ message: 'workflow started', payload_id: 'c/workflow-a/1', function_request_id: 'req-1', function_name: 'cirrus-process', cold_start: true });
  });

  it('reports cold_start only for the first invocation of the environment, also on child loggers', async () => {
    const logger = new Logger({ serviceName: 'process', logLevel: 'INFO' });
    const { stdout } = await captureStdout(() => {
      start(logger, context('req-1'), {});
      start(logger, context('req-2'), {});
      logger.info('second invocation');
      payloadLogger(logger, 'c/workflow-a/1').info('child of the second invocation');
    });
    const lines = logLines(stdout);
    expect(lines.map((l) => [l.function_request_id, l.cold_start])).toEqual([
      ['req-2', false],
      ['req-2', false],
    ]);
  });

  it('takes the function name from AWS_LAMBDA_FUNCTION_NAME when run without a context (local runs)', () => {
    expect(lambdaContextKeys(undefined, false, { AWS_LAMBDA_FUNCTION_NAME: 'cirrus-update-state' })).toEqual({
      function_name: 'cirrus-update-state',
      cold_start: false,
    });
  });
});
