/**
 * `cirrus doctor` against the embedded local stack. The StateDB scan and the HeadObject sample run
 * on real DynamoDB and S3 protocols (one fresh table per scenario); the local S3 stand-in does not
 * implement lifecycle or versioning configuration, so those two responses come from a mocked S3
 * client injected for bucket configuration only.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetBucketLifecycleConfigurationCommand,
  GetBucketVersioningCommand,
  S3Client,
  type LifecycleRule,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { CliClients, createConfig } from '../cli/config';
import { formatDoctorReport, runDoctor, type DoctorReport, type Finding } from '../cli/doctor';
import { formatDuration, parseDuration } from '../cli/duration';
import type { Env } from '../shared/config';
import { createTableInput } from '../shared/statedb-schema';
import { StateDb } from '../shared/statedb';
import { isoAgo, runCirrus, samplePayload, startCliTestStack, type CliRun, type CliTestStack } from './helpers/cli-stack';

let t: CliTestStack;
const configS3 = new S3Client({ region: 'us-west-2' });
const configMock = mockClient(configS3);

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const TMP_10_DAYS: LifecycleRule = { ID: 'expire-tmp', Status: 'Enabled', Filter: { Prefix: 'cirrus/tmp/' }, Expiration: { Days: 10 } };

/** Tables, one per scenario, so that scans see only their own items. */
const TABLE = { empty: 'doctor-empty', stale: 'doctor-stale', missing: 'doctor-missing', bounded: 'doctor-bounded', legacy: 'doctor-legacy' };

async function createTable(name: string): Promise<void> {
  const client = new DynamoDBClient(t.stack.clientConfig('dynamodb'));
  try {
    await client.send(new CreateTableCommand(createTableInput(name)));
  } finally {
    client.destroy();
  }
}

function noSuchLifecycle(): Error {
  return Object.assign(new Error('The lifecycle configuration does not exist'), { name: 'NoSuchLifecycleConfiguration' });
}

/** Mocks the bucket configuration: lifecycle rules (or an error) and versioning status. */
function bucketConfig(rules: LifecycleRule[] | Error, versioning?: 'Enabled' | 'Suspended'): void {
  configMock.reset();
  if (rules instanceof Error) configMock.on(GetBucketLifecycleConfigurationCommand).rejects(rules);
  else configMock.on(GetBucketLifecycleConfigurationCommand).resolves({ Rules: rules });
  configMock.on(GetBucketVersioningCommand).resolves(versioning ? { Status: versioning } : {});
}

async function doctor(table: string, args: string[] = [], env: Env = t.env): Promise<CliRun & { report: DoctorReport }> {
  const r = await runCirrus(['doctor', '--json', '--table', table, ...args], env, { bucketConfigS3: configS3 });
  let report: DoctorReport;
  try {
    report = JSON.parse(r.stdout) as DoctorReport;
  } catch {
    throw new Error(`doctor printed no JSON (exit ${r.code}): ${r.stderr}`);
  }
  return { ...r, report };
}

function only(report: DoctorReport, check: Finding['check']): Finding[] {
  return report.findings.filter((f) => f.check === check);
}

// Seeding ------------------------------------------------------------------------------------

const NOW = Date.now();
const STALE_CLAIMED = 'sentinel-2-l2a/workflow-cog/STALE_CLAIMED';
const STALE_PROCESSING = 'sentinel-2-l2a/workflow-cog/STALE_PROCESSING';
const FRESH_PROCESSING = 'sentinel-2-l2a/workflow-cog/FRESH_PROCESSING';
const OLD_FAILED = 'sentinel-2-l2a/workflow-cog/OLD_FAILED';

const OK_1 = 'landsat/workflow-mirror/OK_1';
const NO_OUTPUT = 'landsat/workflow-mirror/NO_OUTPUT';
const NO_BOTH = 'landsat/workflow-mirror/NO_BOTH';
const OLD_NO_OUTPUT = 'landsat/workflow-mirror/OLD_NO_OUTPUT';
const LEGACY_NO_OUTPUT = 'landsat/workflow-mirror/LEGACY_NO_OUTPUT';

beforeAll(async () => {
  t = await startCliTestStack();
  await Promise.all(Object.values(TABLE).map(createTable));

  const stale = async (payloadId: string, state: string, agoMs: number, execId: string): Promise<void> => {
    await t.putRecord(
      payloadId,
      {
        state_updated: `${state}_${isoAgo(agoMs, NOW)}`,
        created: isoAgo(agoMs + HOUR, NOW),
        updated: isoAgo(agoMs, NOW),
        claimed_at: isoAgo(agoMs, NOW),
        executions: [t.arn('cog', execId)],
      },
      TABLE.stale,
    );
  };
  await stale(STALE_CLAIMED, 'CLAIMED', 7 * HOUR, 'aaaaaaaa-0000-4000-8000-000000000001');
  await stale(STALE_PROCESSING, 'PROCESSING', 3 * DAY + 2 * HOUR, 'aaaaaaaa-0000-4000-8000-000000000002');
  await stale(FRESH_PROCESSING, 'PROCESSING', HOUR, 'aaaaaaaa-0000-4000-8000-000000000003');
  await stale(OLD_FAILED, 'FAILED', 10 * DAY, 'aaaaaaaa-0000-4000-8000-000000000004');

  // SUCCEEDED items of the sample check, newest first: OK_1, NO_OUTPUT, NO_BOTH, OLD_NO_OUTPUT.
  const db = new StateDb(TABLE.missing, t.doc);
  const succeeded = async (payloadId: string, execId: string, agoMs: number, objects: ('input' | 'output')[]): Promise<void> => {
    await db.claim(payloadId, t.arn('mirror', execId), isoAgo(agoMs + HOUR, NOW));
    await db.setProcessing(payloadId, isoAgo(agoMs + HOUR, NOW));
    await db.setSucceeded(payloadId, { now: isoAgo(agoMs, NOW) });
    if (objects.includes('input')) await t.bucket.uploadInputPayload(samplePayload(payloadId), payloadId, execId);
    if (objects.includes('output')) await t.bucket.uploadOutputPayload(samplePayload(payloadId), payloadId, execId);
  };
  await succeeded(OK_1, 'bbbbbbbb-0000-4000-8000-000000000001', 1 * HOUR, ['input', 'output']);
  await succeeded(NO_OUTPUT, 'bbbbbbbb-0000-4000-8000-000000000002', 2 * HOUR, ['input']);
  await succeeded(NO_BOTH, 'bbbbbbbb-0000-4000-8000-000000000003', 3 * HOUR, []);
  await succeeded(OLD_NO_OUTPUT, 'bbbbbbbb-0000-4000-8000-000000000004', 5 * DAY, ['input']);

  // An item as Cirrus before v1 recorded success (COMPLETED), with its output.json gone.
  await t.putRecord(
    LEGACY_NO_OUTPUT,
    {
      state_updated: `COMPLETED_${isoAgo(HOUR, NOW)}`,
      created: isoAgo(2 * HOUR, NOW),
      updated: isoAgo(HOUR, NOW),
      executions: [t.arn('mirror', 'dddddddd-0000-4000-8000-000000000001')],
    },
    TABLE.legacy,
  );
  await t.bucket.uploadInputPayload(samplePayload(LEGACY_NO_OUTPUT), LEGACY_NO_OUTPUT, 'dddddddd-0000-4000-8000-000000000001');

  // 30 items for the --max-items bound: 10 SUCCEEDED, 10 FAILED, 10 stale PROCESSING.
  const bounded = new StateDb(TABLE.bounded, t.doc);
  for (let i = 0; i < 30; i++) {
    const id = `bounded/workflow-w/item-${String(i).padStart(2, '0')}`;
    await bounded.claim(id, t.arn('w', `cccccccc-0000-4000-8000-0000000000${String(i).padStart(2, '0')}`), isoAgo(2 * DAY, NOW));
    if (i % 3 === 0) continue; // stays CLAIMED, 2 days old
    if (i % 3 === 1) await bounded.setFailed(id, 'boom', isoAgo(DAY, NOW));
    else await bounded.setSucceeded(id, { now: isoAgo(DAY, NOW) });
  }
});

afterAll(async () => {
  configMock.restore();
  configS3.destroy();
  await t?.stop();
});

// Every test starts with a healthy bucket configuration (the 10-day rule on tmp/, versioning off);
// a test of another configuration sets its own.
beforeEach(() => bucketConfig([TMP_10_DAYS]));

// Lifecycle ----------------------------------------------------------------------------------

describe('bucket lifecycle', () => {
  test('healthy: a 10-day rule on <root>/tmp/ and nothing else: exit 0, versioning info only', async () => {
    const r = await doctor(TABLE.empty);
    expect(r.code).toBe(0);
    expect(r.report.findings.map((f) => [f.severity, f.check])).toEqual([['info', 'versioning']]);
    expect(r.report.summary).toMatchObject({ status: 'healthy', exit_code: 0, errors: 0, warnings: 0, infos: 1 });
    expect(r.report.summary.checks.find((c) => c.check === 'lifecycle.tmp')).toMatchObject({ status: 'ok', summary: expect.stringContaining('10 days') });
  });

  test('no lifecycle configuration: tmp/ never expires (warning, exit 1)', async () => {
    bucketConfig(noSuchLifecycle());
    const r = await doctor(TABLE.empty);
    expect(r.code).toBe(1);
    expect(only(r.report, 'lifecycle.executions')).toEqual([]);
    const [w] = only(r.report, 'lifecycle.tmp');
    expect(w).toMatchObject({ severity: 'warning', message: expect.stringMatching(/no lifecycle configuration: no enabled rule expires every object under cirrus\/tmp\//) });
  });

  test('a rule with no filter expires execution history (error, exit 2)', async () => {
    bucketConfig([{ ID: 'expire-everything', Status: 'Enabled', Filter: {}, Expiration: { Days: 30 } }]);
    const r = await doctor(TABLE.empty);
    expect(r.code).toBe(2);
    const [e] = only(r.report, 'lifecycle.executions');
    expect(e).toMatchObject({
      severity: 'error',
      message: expect.stringMatching(/"expire-everything" expires objects after 30 days and can match keys under cirrus\/executions\/ \(it has no prefix\)/),
      details: { rule_id: 'expire-everything', prefix: '', actions: ['expires objects after 30 days'] },
    });
    // It also covers tmp/ for 30 days: no tmp warning.
    expect(only(r.report, 'lifecycle.tmp')).toEqual([]);
    expect(r.report.summary.status).toBe('errors');
  });

  test.each([
    ['a prefix of the root (legacy Prefix field)', { Prefix: 'cir' }, /its prefix "cir" contains cirrus\/executions\//],
    ['the root itself', { Filter: { Prefix: 'cirrus/' } }, /its prefix "cirrus\/" contains cirrus\/executions\//],
    ['a prefix inside executions/', { Filter: { Prefix: 'cirrus/executions/sentinel-2-l2a/' } }, /lies under cirrus\/executions\//],
    ['an And filter with a root prefix and a size condition', { Filter: { And: { Prefix: 'cirrus/', ObjectSizeGreaterThan: 1024 } } }, /size > 1024 B condition can match any object/],
  ])('a rule with %s matches executions (error)', async (_name, filter, why) => {
    bucketConfig([TMP_10_DAYS, { ID: 'bad', Status: 'Enabled', Expiration: { Days: 90 }, ...filter } as LifecycleRule]);
    const r = await doctor(TABLE.empty);
    expect(r.code).toBe(2);
    const errors = only(r.report, 'lifecycle.executions');
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toMatch(why);
  });

  test('a tag-only filter can match execution objects (error), and does not cover tmp/', async () => {
    bucketConfig([{ ID: 'tagged', Status: 'Enabled', Filter: { Tag: { Key: 'retention', Value: 'short' } }, Expiration: { Days: 1 } }]);
    const r = await doctor(TABLE.empty);
    expect(r.code).toBe(2);
    expect(only(r.report, 'lifecycle.executions')[0]).toMatchObject({
      severity: 'error',
      message: expect.stringContaining('tag retention=short condition can match any object'),
      details: { tags: [{ key: 'retention', value: 'short' }] },
    });
    const tmp = only(r.report, 'lifecycle.tmp').map((f) => f.message);
    expect(tmp).toEqual([expect.stringMatching(/"tagged" expires objects under cirrus\/tmp\/ after 1 day/), expect.stringMatching(/only part of it: "tagged"/)]);
  });

  test('a transition to GLACIER under the root is an error', async () => {
    bucketConfig([TMP_10_DAYS, { ID: 'archive', Status: 'Enabled', Filter: { Prefix: 'cirrus/' }, Transitions: [{ Days: 30, StorageClass: 'GLACIER' }] }]);
    const r = await doctor(TABLE.empty);
    expect(r.code).toBe(2);
    expect(only(r.report, 'lifecycle.executions')[0].message).toMatch(/"archive" transitions objects to GLACIER after 30 days/);
  });

  test('rules that cannot reach executions/: tmp/, another root, disabled, noncurrent-only', async () => {
    bucketConfig([
      TMP_10_DAYS,
      { ID: 'other-root', Status: 'Enabled', Filter: { Prefix: 'cirrus-other/' }, Expiration: { Days: 1 } },
      { ID: 'disabled', Status: 'Disabled', Filter: {}, Expiration: { Days: 1 } },
      { ID: 'noncurrent', Status: 'Enabled', Filter: {}, NoncurrentVersionExpiration: { NoncurrentDays: 30 } },
      { ID: 'multipart', Status: 'Enabled', Filter: {}, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } },
    ]);
    const r = await doctor(TABLE.empty);
    expect(r.code).toBe(0);
    expect(only(r.report, 'lifecycle.executions')).toEqual([
      expect.objectContaining({ severity: 'info', message: expect.stringMatching(/"noncurrent" acts on noncurrent versions .* current input\.json\/output\.json objects are not affected/) }),
    ]);
    expect(only(r.report, 'lifecycle.tmp')).toEqual([]);
  });

  test('tmp/ expiring in under 3 days is a warning (exit 1)', async () => {
    bucketConfig([{ ID: 'tmp-1-day', Status: 'Enabled', Filter: { Prefix: 'cirrus/tmp/' }, Expiration: { Days: 2 } }]);
    const r = await doctor(TABLE.empty);
    expect(r.code).toBe(1);
    expect(only(r.report, 'lifecycle.tmp')).toEqual([
      expect.objectContaining({ severity: 'warning', message: expect.stringMatching(/"tmp-1-day" expires objects under cirrus\/tmp\/ after 2 days .*under 3 days/), details: expect.objectContaining({ expiration_days: 2 }) }),
    ]);
    expect(only(r.report, 'lifecycle.executions')).toEqual([]);
  });

  test('a rule covering only part of tmp/ is a warning', async () => {
    bucketConfig([{ ID: 'oversized-only', Status: 'Enabled', Filter: { Prefix: 'cirrus/tmp/oversized/' }, Expiration: { Days: 10 } }]);
    const r = await doctor(TABLE.empty);
    expect(r.code).toBe(1);
    expect(only(r.report, 'lifecycle.tmp')[0].message).toMatch(/only part of it: "oversized-only" \(prefix "cirrus\/tmp\/oversized\/"\)/);
  });

  test('uses the configured root prefix', async () => {
    bucketConfig([{ ID: 'tmp', Status: 'Enabled', Filter: { Prefix: 'data/cirrus/tmp/' }, Expiration: { Days: 10 } }]);
    const r = await doctor(TABLE.empty, ['--root-prefix', 'data/cirrus']);
    expect(r.code).toBe(0);
    const wrongRoot = await doctor(TABLE.empty);
    expect(wrongRoot.code).toBe(1);
  });

  test('an unreadable lifecycle configuration is a warning', async () => {
    bucketConfig(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
    const denied = await doctor(TABLE.empty);
    expect(denied.code).toBe(1);
    expect(only(denied.report, 'lifecycle.executions')[0]).toMatchObject({ severity: 'warning', message: expect.stringContaining('access refused (AccessDenied): Access Denied') });
  });

  test('an endpoint without lifecycle configuration is info (the local S3 stand-in answers NotImplemented)', async () => {
    const local = await runCirrus(['doctor', '--json', '--table', TABLE.empty], t.env);
    expect(local.code).toBe(0);
    const report = JSON.parse(local.stdout) as DoctorReport;
    expect(report.findings.map((f) => [f.severity, f.check])).toEqual([
      ['info', 'lifecycle.executions'],
      ['info', 'versioning'],
    ]);
    expect(report.summary.checks.find((c) => c.check === 'lifecycle.tmp')?.status).toBe('skipped');
  });
});

describe('versioning', () => {
  test('enabled without a noncurrent rule: info that expired objects stay forever', async () => {
    bucketConfig([TMP_10_DAYS], 'Enabled');
    const r = await doctor(TABLE.empty);
    expect(r.code).toBe(0);
    expect(only(r.report, 'versioning')).toEqual([
      {
        severity: 'info',
        check: 'versioning',
        message: expect.stringMatching(/versioning is Enabled: objects expired by lifecycle rules remain as noncurrent versions .* forever: no rule has a NoncurrentVersionExpiration covering cirrus\/tmp\//),
        details: { status: 'Enabled' },
      },
    ]);
  });

  test('enabled with a noncurrent rule: info naming the rule', async () => {
    bucketConfig([{ ...TMP_10_DAYS, NoncurrentVersionExpiration: { NoncurrentDays: 1 } }], 'Enabled');
    const r = await doctor(TABLE.empty);
    expect(only(r.report, 'versioning')[0].message).toMatch(/until the NoncurrentVersionExpiration of rule "expire-tmp" removes them/);
  });

  test('not enabled: info that expired objects are deleted for good', async () => {
    const off = await doctor(TABLE.empty);
    expect(only(off.report, 'versioning')[0]).toMatchObject({ message: expect.stringMatching(/not enabled: .* deleted for good/), details: { status: 'Disabled' } });
  });
});

// StateDB ------------------------------------------------------------------------------------

describe('stale CLAIMED / PROCESSING items', () => {
  test('lists items older than --stale-after (default 6h) with state, age and last execution', async () => {
    const r = await doctor(TABLE.stale);
    expect(r.code).toBe(1);
    const stale = only(r.report, 'statedb.stale');
    expect(stale.map((f) => f.details.payload_id)).toEqual([STALE_PROCESSING, STALE_CLAIMED]); // oldest first
    expect(stale[0]).toMatchObject({
      severity: 'warning',
      message: expect.stringMatching(new RegExp(`payload ${STALE_PROCESSING} has been PROCESSING for 3d 2h .*last execution arn:aws:states:.*:aaaaaaaa-0000-4000-8000-000000000002`)),
      details: { state: 'PROCESSING', age: '3d 2h', last_execution: t.arn('cog', 'aaaaaaaa-0000-4000-8000-000000000002') },
    });
    expect(stale[0].details.age_seconds).toBeGreaterThanOrEqual((3 * DAY + 2 * HOUR) / 1000);
    expect(stale[1]).toMatchObject({ details: { state: 'CLAIMED', age: expect.stringMatching(/^7h/) } });
    expect(r.report.summary).toMatchObject({ scanned_items: 4, scan_complete: true, status: 'warnings' });
  });

  test('--stale-after changes the threshold', async () => {
    const twoDays = await doctor(TABLE.stale, ['--stale-after', '2d']);
    expect(only(twoDays.report, 'statedb.stale').map((f) => f.details.payload_id)).toEqual([STALE_PROCESSING]);
    const halfHour = await doctor(TABLE.stale, ['--stale-after', '30m']);
    expect(only(halfHour.report, 'statedb.stale').map((f) => f.details.payload_id)).toEqual([STALE_PROCESSING, STALE_CLAIMED, FRESH_PROCESSING]);
    const week = await doctor(TABLE.stale, ['--stale-after', '7d']);
    expect(week.code).toBe(0);
  });

  test('a malformed --stale-after is a usage error', async () => {
    const bad = await runCirrus(['doctor', '--table', TABLE.stale, '--stale-after', 'soon'], t.env, { bucketConfigS3: configS3 });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trimEnd()).toBe('cirrus: invalid --stale-after value "soon": expected a duration such as 30m, 6h or 2d');
  });
});

describe('recent SUCCEEDED items missing their payloads', () => {
  test('one error per item missing input.json or output.json (exit 2)', async () => {
    const r = await doctor(TABLE.missing);
    expect(r.code).toBe(2);
    const missing = only(r.report, 'payloads.missing');
    expect(missing.map((f) => [f.severity, f.details.payload_id, f.details.missing])).toEqual([
      ['error', NO_OUTPUT, ['output.json']],
      ['error', NO_BOTH, ['input.json', 'output.json']],
      ['error', OLD_NO_OUTPUT, ['output.json']],
    ]);
    expect(missing[0].message).toMatch(new RegExp(`output\\.json of execution bbbbbbbb-0000-4000-8000-000000000002 is missing from s3://.*/output\\.json`));
    expect(missing[0].details.urls).toEqual([t.bucket.getOutputPayloadUrl(NO_OUTPUT, 'bbbbbbbb-0000-4000-8000-000000000002')]);
  });

  test('a COMPLETED item (older Cirrus) is sampled as SUCCEEDED', async () => {
    const r = await doctor(TABLE.legacy);
    expect(only(r.report, 'payloads.missing').map((f) => [f.details.payload_id, f.details.missing])).toEqual([[LEGACY_NO_OUTPUT, ['output.json']]]);
  });

  test('--sample N checks only the N most recent', async () => {
    const two = await doctor(TABLE.missing, ['--sample', '2']);
    expect(only(two.report, 'payloads.missing').map((f) => f.details.payload_id)).toEqual([NO_OUTPUT]);
    expect(two.report.summary.checks.find((c) => c.check === 'payloads.missing')?.summary).toBe('checked the 2 most recent SUCCEEDED items: 1 missing input.json or output.json');
  });

  test('--sample 0 checks none', async () => {
    const none = await doctor(TABLE.missing, ['--sample', '0']);
    expect(none.code).toBe(0);
    expect(only(none.report, 'payloads.missing')).toEqual([]);
  });

  test('a negative --sample is a usage error', async () => {
    const bad = await runCirrus(['doctor', '--table', TABLE.missing, '--sample', '-1'], t.env, { bucketConfigS3: configS3 });
    expect(bad.code).toBe(2);
  });
});

describe('--max-items', () => {
  test('says when the bound cut the scan short (warning)', async () => {
    const r = await doctor(TABLE.bounded, ['--max-items', '10', '--stale-after', '3d', '--sample', '0']);
    expect(r.code).toBe(1);
    expect(only(r.report, 'statedb.scan')).toEqual([
      expect.objectContaining({ severity: 'warning', message: expect.stringMatching(/stopped after 10 items \(--max-items 10\)/), details: { scanned_items: 10, max_items: 10 } }),
    ]);
    expect(r.report.summary).toMatchObject({ scanned_items: 10, scan_complete: false });

    const all = await doctor(TABLE.bounded, ['--max-items', '30', '--stale-after', '3d', '--sample', '0']);
    expect(all.code).toBe(0);
    expect(all.report.summary).toMatchObject({ scanned_items: 30, scan_complete: true });
  });

  test('pages through the table and stops at the bound', async () => {
    const clients = new CliClients(t.env, t.stack.region, { s3: t.s3, dynamo: t.doc, bucketConfigS3: configS3 });
    const config = createConfig({ bucketName: t.stack.payloadBucket, tableName: TABLE.bounded }, clients);
    const full = await runDoctor(config, { scanPageSize: 7, maxItems: 1000, sample: 0 });
    expect(full.summary).toMatchObject({ scanned_items: 30, scan_complete: true });
    expect(only(full, 'statedb.stale')).toHaveLength(10); // every CLAIMED item, across pages
    const cut = await runDoctor(config, { scanPageSize: 7, maxItems: 20, sample: 0 });
    expect(cut.summary).toMatchObject({ scanned_items: 20, scan_complete: false });
  });
});

describe('output and exit codes', () => {
  test('--json shape', async () => {
    const r = await doctor(TABLE.stale);
    expect(Object.keys(r.report).sort()).toEqual(['findings', 'summary']);
    for (const f of r.report.findings) {
      expect(Object.keys(f).sort()).toEqual(['check', 'details', 'message', 'severity']);
      expect(['error', 'warning', 'info']).toContain(f.severity);
    }
    expect(r.report.summary).toMatchObject({
      status: 'warnings',
      exit_code: 1,
      errors: 0,
      warnings: 2,
      infos: 1,
      bucket: t.stack.payloadBucket,
      root_prefix: 'cirrus',
      table: TABLE.stale,
    });
    expect(r.report.summary.checks.map((c) => c.check)).toEqual([
      'lifecycle.executions',
      'lifecycle.tmp',
      'versioning',
      'statedb.stale',
      'statedb.scan',
      'payloads.missing',
    ]);
    expect(r.stdout).toBe(`${JSON.stringify(r.report, null, 2)}\n`);
  });

  test('--json --raw prints the report on one line', async () => {
    const raw = await runCirrus(['doctor', '--json', '--raw', '--table', TABLE.stale], t.env, { bucketConfigS3: configS3 });
    expect(raw.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(raw.stdout)).toHaveProperty('summary');
  });

  test('human-readable report: sections, severity tags, summary line', async () => {
    bucketConfig([{ ID: 'everything', Status: 'Enabled', Expiration: { Days: 30 } }]);
    const r = await runCirrus(['doctor', '--table', TABLE.stale], t.env, { bucketConfigS3: configS3 });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`cirrus doctor: bucket s3://${t.stack.payloadBucket}/cirrus/, table ${TABLE.stale}`);
    for (const title of ['Bucket lifecycle', 'Bucket versioning', 'StateDB', 'Recent SUCCEEDED payloads in the bucket']) expect(lines).toContain(title);
    expect(lines.filter((l) => l.startsWith('  [ERROR] '))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith('  [WARN]  payload '))).toHaveLength(2);
    expect(lines.filter((l) => l.startsWith('  [info]  bucket versioning'))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith('  [ok]    '))).toEqual(
      expect.arrayContaining([expect.stringContaining('expires after 30 days'), expect.stringContaining('scanned all 4 items')]),
    );
    expect(r.stdout).toMatch(/\nSummary: ERRORS: 1 error, 2 warnings, 1 info \(exit 2\)\n$/);
  });

  test('formatDoctorReport of a healthy report', async () => {
    const clients = new CliClients(t.env, t.stack.region, { s3: t.s3, dynamo: t.doc, bucketConfigS3: configS3 });
    const report = await runDoctor(createConfig({ bucketName: t.stack.payloadBucket, tableName: TABLE.empty }, clients));
    expect(report.summary.exit_code).toBe(0);
    expect(formatDoctorReport(report)).toMatch(/Summary: healthy: 0 errors, 0 warnings, 1 info \(exit 0\)\n$/);
  });

  test('needs the table (exit 2)', async () => {
    const noTable = { ...t.env };
    delete noTable.CIRRUS_STATE_DB;
    const r = await runCirrus(['doctor'], noTable, { bucketConfigS3: configS3 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^cirrus: no StateDB table configured: set CIRRUS_STATE_DB or pass --table/);
  });

  test('a table that does not exist is a configuration error naming it', async () => {
    const gone = await runCirrus(['doctor', '--json', '--table', 'no-such-table'], t.env, { bucketConfigS3: configS3 });
    expect(gone).toMatchObject({ code: 2, stdout: '' });
    expect(gone.stderr).toBe('cirrus: StateDB table "no-such-table" does not exist (CIRRUS_STATE_DB / --table)\n');
  });
});

describe('durations', () => {
  test.each([
    ['30m', 30 * 60_000],
    ['6h', 6 * HOUR],
    ['2d', 2 * DAY],
    ['1d12h', 36 * HOUR],
  ])('parses %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test('refuses a zero duration and a number without unit', () => {
    expect(() => parseDuration('0h')).toThrow(/longer than zero/);
    expect(() => parseDuration('6')).toThrow(/expected a duration/);
  });

  test('formats at most the two largest units, and zero as 0s', () => {
    expect(formatDuration(3 * DAY + 2 * HOUR + 5 * 60_000)).toBe('3d 2h');
    expect(formatDuration(42 * 60_000)).toBe('42m');
    expect(formatDuration(0)).toBe('0s');
  });
});
