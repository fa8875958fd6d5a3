/**
 * The deployed function bundles keep the names of the errors they throw: Step Functions
 * Retry/Catch rules, `last_error` and dead-letter triage match on `err.name`, so a minified name
 * (`qw` instead of `UndefinedPayloadBucketError`) would silently break them. These tests load the
 * built `dist/lambdas/<name>/index.js` (run `npm run build` first), not the sources.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { rejection } from './helpers/fixtures';

const DIST = path.resolve(__dirname, '..', 'dist', 'lambdas');

type Handler = (event: unknown, context?: unknown) => Promise<unknown>;

function bundle(name: string): Handler {
  const file = path.join(DIST, name, 'index.js');
  if (!existsSync(file)) throw new Error(`missing bundle ${file}: run "npm run build" first`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(file) as { handler: Handler }).handler;
}

/** Runs `fn` with `vars` applied to process.env (undefined deletes), then restores it. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = new Map(Object.keys(vars).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** A configuration whose AWS endpoints refuse connections at once (nothing listens on port 9). */
const OFFLINE = {
  CIRRUS_PAYLOAD_BUCKET: 'bundle-test-payloads',
  CIRRUS_STATE_DB: 'bundle-test-state',
  CIRRUS_BASE_WORKFLOW_ARN: 'arn:aws:states:us-west-2:123456789012:stateMachine:cirrus-',
  CIRRUS_WORKFLOW_EVENT_TOPIC_ARN: undefined,
  AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
  AWS_REGION: 'us-west-2',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_MAX_ATTEMPTS: '1',
};

const succeededEvent = {
  'detail-type': 'Step Functions Execution Status Change',
  source: 'aws.states',
  detail: {
    executionArn: 'arn:aws:states:us-west-2:123456789012:execution:cirrus-minimal:492fca12-ae13-5b13-8f98-4873fed8f3d3',
    name: '492fca12-ae13-5b13-8f98-4873fed8f3d3',
    status: 'SUCCEEDED',
    input: '{}',
    output: '{}',
  },
};

describe('the built function bundles keep error class names', () => {
  it('builds every function the CDK app deploys', () => {
    expect(readdirSync(DIST).sort()).toEqual(['post-batch', 'pre-batch', 'process', 'stamp-items', 'update-state']);
  });

  it('process without CIRRUS_PAYLOAD_BUCKET throws UndefinedPayloadBucketError', async () => {
    const err = await withEnv({ ...OFFLINE, CIRRUS_PAYLOAD_BUCKET: undefined }, () => rejection(bundle('process')({ Records: [] })));
    expect(err.name).toBe('UndefinedPayloadBucketError');
    expect(err.constructor.name).toBe('UndefinedPayloadBucketError');
  });

  it('process invoked directly with a record it cannot handle throws ProcessFailedError', async () => {
    const err = await withEnv(OFFLINE, () => rejection(bundle('process')({ Records: ['not a record'] })));
    expect(err.name).toBe('ProcessFailedError');
  });

  it('update-state given a malformed event throws MalformedEventError', async () => {
    const err = await withEnv(OFFLINE, () => rejection(bundle('update-state')({ detail: {} })));
    expect(err.name).toBe('MalformedEventError');
  });

  it('update-state without CIRRUS_PAYLOAD_BUCKET throws UndefinedPayloadBucketError', async () => {
    const err = await withEnv({ ...OFFLINE, CIRRUS_PAYLOAD_BUCKET: undefined }, () => rejection(bundle('update-state')(succeededEvent)));
    expect(err.name).toBe('UndefinedPayloadBucketError');
  });

  it('pre-batch without CIRRUS_PAYLOAD_BUCKET throws UndefinedPayloadBucketError', async () => {
    const err = await withEnv({ ...OFFLINE, CIRRUS_PAYLOAD_BUCKET: undefined }, () => rejection(bundle('pre-batch')({ url: 's3://b/k.json' })));
    expect(err.name).toBe('UndefinedPayloadBucketError');
  });

  it('pre-batch given an event with several payloads throws RecordExtractError', async () => {
    const err = await withEnv(OFFLINE, () => rejection(bundle('pre-batch')({ Records: [{ body: '{}' }, { body: '{}' }] })));
    expect(err.name).toBe('RecordExtractError');
  });

  it('post-batch given a failed job without a cause throws BatchJobError', async () => {
    const err = await withEnv(OFFLINE, () => rejection(bundle('post-batch')({ error: { Error: 'States.TaskFailed' } })));
    expect(err.name).toBe('BatchJobError');
  });

  it('post-batch given a {"url"} that is not an s3:// URL throws InvalidS3UrlError', async () => {
    const err = await withEnv(OFFLINE, () => rejection(bundle('post-batch')({ url: 'https://example.com/payload.json' })));
    expect(err.name).toBe('InvalidS3UrlError');
  });

  it('pre-batch given a payload whose id has a ".." segment throws InvalidPayloadIdError before writing anything', async () => {
    const payload = { type: 'FeatureCollection', id: 'c/workflow-minimal/../../i1', features: [], process: [{ workflow: 'minimal' }] };
    const err = await withEnv(OFFLINE, () => rejection(bundle('pre-batch')(payload)));
    expect(err.name).toBe('InvalidPayloadIdError');
  });

  it('pre-batch given a reference to a bucket it may not read throws ReferenceNotAllowedError before any request', async () => {
    const err = await withEnv(OFFLINE, () => rejection(bundle('pre-batch')({ url: 's3://someone-elses-bucket/payload.json' })));
    expect(err.name).toBe('ReferenceNotAllowedError');
  });

  it('update-state given an execution input without a payload id throws NotAProcessPayloadError', async () => {
    const err = await withEnv(OFFLINE, () => rejection(bundle('update-state')(succeededEvent)));
    expect(err.name).toBe('NotAProcessPayloadError');
  });

  it('a task built with lambdaTask given a non-object input throws TaskInputError', async () => {
    const err = await withEnv(OFFLINE, () => rejection(bundle('stamp-items')('not a payload')));
    expect(err.name).toBe('TaskInputError');
  });
});
