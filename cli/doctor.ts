/**
 * `cirrus doctor`: finds the silent ways a deployment loses its payload history. The checks, with
 * what each reports, are the one list {@link CHECKS}; `cirrus doctor --help` is generated from it
 * ({@link checksHelp}) and a test keeps the README's doctor section naming every check.
 * @module
 */
import {
  GetBucketLifecycleConfigurationCommand,
  GetBucketVersioningCommand,
  HeadObjectCommand,
  type LifecycleRule,
  type Tag,
} from '@aws-sdk/client-s3';
import { ScanCommand, paginateScan, type ScanCommandInput } from '@aws-sdk/lib-dynamodb';
import { errorName } from '../shared/errors';
import { executionIdFromArn } from '../shared/execution';
import type { JsonObject } from '../shared/json';
import { parseUrl, type PayloadBucket } from '../shared/payload-bucket';
import { INPUT_KEY, OUTPUT_KEY, type PayloadLayout } from '../shared/payload-layout';
import { LEGACY_SUCCEEDED, State, keyToPayloadId, stateOf, type StateDbRecord } from '../shared/statedb';
import { PARTITION_KEY, SORT_KEY } from '../shared/statedb-schema';
import { requireBucket, requireStateDb, type CliConfig } from './config';
import { formatDuration } from './duration';
import { describeError } from './errors';

/** Severity of a finding. */
export type Severity = 'error' | 'warning' | 'info';

/** A `<root>/tmp/` expiry shorter than this many days is a warning. */
export const MIN_TMP_EXPIRY_DAYS = 3;

/** One check: what it makes sure of (one line) and what it reports (the `--help` text). */
export interface CheckSpec {
  summary: string;
  help: string;
}

/** The checks, in report order: the one list the report order and `cirrus doctor --help` come from. */
export const CHECKS = {
  'lifecycle.executions': {
    summary: 'execution history is never expired or transitioned by a lifecycle rule',
    help:
      'error when an enabled lifecycle rule that expires or transitions objects can match keys under ' +
      '<root>/executions/: a rule with no filter, a prefix of <root>/executions/ (such as the root or ""), ' +
      'a prefix inside it, or a tag or size filter (any object can carry tags). Losing input.json/output.json ' +
      'breaks get-input-payload/get-output-payload. Rules acting only on noncurrent versions are reported as info.',
  },
  'lifecycle.tmp': {
    summary: `a lifecycle rule expires <root>/tmp/ after at least ${MIN_TMP_EXPIRY_DAYS} days`,
    help:
      'warning when no enabled rule expires every object under <root>/tmp/ (oversized, batch and invalid ' +
      `payloads then grow without bound), or when a rule expires any of it in under ${MIN_TMP_EXPIRY_DAYS} days ` +
      '(in-flight retries need them).',
  },
  versioning: {
    summary: 'bucket versioning and noncurrent versions',
    help:
      "info: the bucket's versioning status; in a versioned bucket, expired objects stay as noncurrent " +
      'versions unless a NoncurrentVersionExpiration rule removes them.',
  },
  'statedb.stale': {
    summary: 'no item stays CLAIMED or PROCESSING longer than --stale-after',
    help:
      'warning per item in CLAIMED or PROCESSING for longer than --stale-after (a crash or a lost status ' +
      'event), with payload id, state, age and last execution. Read with a paginated StateDB scan.',
  },
  'statedb.scan': {
    summary: 'the StateDB scan read the whole table within --max-items',
    help: 'warning when --max-items stopped the scan before the end of the table.',
  },
  'payloads.missing': {
    summary: 'recent SUCCEEDED items still have their input.json and output.json',
    help: 'error per item among the --sample most recent SUCCEEDED items whose input.json or output.json is missing from the bucket.',
  },
} as const satisfies Record<string, CheckSpec>;

/** Column of the help text after the check names, and the width it is wrapped to. */
const HELP_INDENT = 23;
const HELP_WIDTH = 100;

/** Wraps `text` into lines of at most `width` characters (a longer word stands alone). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** The `Checks:` section of `cirrus doctor --help`, generated from {@link CHECKS}. */
export function checksHelp(): string {
  const rows = Object.entries(CHECKS).map(([name, spec]) =>
    wrap(spec.help, HELP_WIDTH - HELP_INDENT)
      .map((line, i) => `  ${(i === 0 ? name : '').padEnd(HELP_INDENT - 3)} ${line}`)
      .join('\n'),
  );
  return `Checks:\n${rows.join('\n')}`;
}

/** Name of a check. */
export type CheckName = keyof typeof CHECKS;

/** One finding. */
export interface Finding {
  severity: Severity;
  check: CheckName;
  /** One line, for people. */
  message: string;
  /** Machine-readable facts (rule id, payload id, ages, URLs, …). */
  details: JsonObject;
}

/** Outcome of one check. */
export interface CheckResult {
  check: CheckName;
  /** Worst severity among its findings, `ok` without findings, `skipped` when it could not run. */
  status: 'ok' | Severity | 'skipped';
  /** One line describing what was checked (and found). */
  summary: string;
}

/** The doctor's report; {@link DoctorReport.summary}`.exit_code` is the command's exit code. */
export interface DoctorReport {
  findings: Finding[];
  summary: {
    /** `healthy` (exit 0), `warnings` (exit 1) or `errors` (exit 2). */
    status: 'healthy' | 'warnings' | 'errors';
    exit_code: 0 | 1 | 2;
    errors: number;
    warnings: number;
    infos: number;
    bucket: string;
    root_prefix: string;
    table: string;
    /** StateDB items read by the scan. */
    scanned_items: number;
    /** False when `--max-items` stopped the scan before the end of the table. */
    scan_complete: boolean;
    checks: CheckResult[];
    generated_at: string;
  };
}

/** Options of {@link runDoctor}. */
export interface DoctorOptions {
  /** Age after which a CLAIMED or PROCESSING item is reported, in ms (default 6 h). */
  staleAfterMs?: number;
  /** Maximum number of StateDB items the scan reads (default 10,000). */
  maxItems?: number;
  /** How many of the most recent SUCCEEDED items to check in the bucket (default 20; 0 = none). */
  sample?: number;
  /** The current time (tests). */
  now?: Date;
  /** Items per Scan request (default 1,000). */
  scanPageSize?: number;
}

/** Default of `--stale-after`: 6 hours. */
export const DEFAULT_STALE_AFTER_MS = 6 * 3_600_000;
/** Default of `--max-items`. */
export const DEFAULT_MAX_ITEMS = 10_000;
/** Default of `--sample`. */
export const DEFAULT_SAMPLE = 20;
/** Items per Scan request. */
const SCAN_PAGE = 1000;
/** Parallel HeadObject requests of the sample check. */
const HEAD_CONCURRENCY = 8;

// ---------------------------------------------------------------------------------------------
// Lifecycle rules

/** What a lifecycle rule's filter selects. */
export interface RuleScope {
  /** Key prefix; `''` = every key. */
  prefix: string;
  tags: Tag[];
  sizeGreaterThan?: number;
  sizeLessThan?: number;
}

/** The scope of a rule (its `Filter`, or the legacy top-level `Prefix`). */
export function ruleScope(rule: LifecycleRule): RuleScope {
  const f = rule.Filter;
  if (!f) return { prefix: rule.Prefix ?? '', tags: [] };
  if (f.And) {
    return {
      prefix: f.And.Prefix ?? '',
      tags: f.And.Tags ?? [],
      ...(f.And.ObjectSizeGreaterThan !== undefined ? { sizeGreaterThan: f.And.ObjectSizeGreaterThan } : {}),
      ...(f.And.ObjectSizeLessThan !== undefined ? { sizeLessThan: f.And.ObjectSizeLessThan } : {}),
    };
  }
  return {
    prefix: f.Prefix ?? '',
    tags: f.Tag ? [f.Tag] : [],
    ...(f.ObjectSizeGreaterThan !== undefined ? { sizeGreaterThan: f.ObjectSizeGreaterThan } : {}),
    ...(f.ObjectSizeLessThan !== undefined ? { sizeLessThan: f.ObjectSizeLessThan } : {}),
  };
}

/** True when the scope restricts by tag or size (so it selects only some objects of a prefix). */
function isConditional(scope: RuleScope): boolean {
  return scope.tags.length > 0 || scope.sizeGreaterThan !== undefined || scope.sizeLessThan !== undefined;
}

/**
 * True when a rule with this scope can match some key under `target` (a prefix ending in `/`):
 * a key K matches prefix P when K starts with P, so keys under `target` can match when `target`
 * starts with P (P is `''`, the root, …) or P starts with `target` (P lies inside it). Tag and
 * size conditions never rule a key out in advance (any object can be tagged).
 */
export function scopeCanMatch(scope: RuleScope, target: string): boolean {
  return target.startsWith(scope.prefix) || scope.prefix.startsWith(target);
}

/** True when a rule with this scope matches every key under `target`. */
export function scopeCovers(scope: RuleScope, target: string): boolean {
  return target.startsWith(scope.prefix) && !isConditional(scope);
}

/** Describes a scope: `no filter`, `prefix "x/"`, `tag k=v`, … */
export function describeScope(scope: RuleScope): string {
  const parts: string[] = [];
  if (scope.prefix !== '') parts.push(`prefix ${JSON.stringify(scope.prefix)}`);
  for (const t of scope.tags) parts.push(`tag ${t.Key ?? ''}=${t.Value ?? ''}`);
  if (scope.sizeGreaterThan !== undefined) parts.push(`size > ${scope.sizeGreaterThan} B`);
  if (scope.sizeLessThan !== undefined) parts.push(`size < ${scope.sizeLessThan} B`);
  return parts.length === 0 ? 'no filter: every object' : parts.join(' and ');
}

/** Why a scope can match keys under `target`. */
function whyMatches(scope: RuleScope, target: string): string {
  const conditional = isConditional(scope) ? ` (its ${describeScope({ ...scope, prefix: '' })} condition can match any object)` : '';
  if (scope.prefix === '') return `it has no prefix${conditional}`;
  if (target.startsWith(scope.prefix)) return `its prefix ${JSON.stringify(scope.prefix)} contains ${target}${conditional}`;
  return `its prefix ${JSON.stringify(scope.prefix)} lies under ${target}${conditional}`;
}

/** The actions of a rule that delete or move current objects, described; `[]` for none. */
export function currentObjectActions(rule: LifecycleRule): string[] {
  const out: string[] = [];
  const e = rule.Expiration;
  if (e?.Days !== undefined) out.push(`expires objects after ${e.Days} day${e.Days === 1 ? '' : 's'}`);
  else if (e?.Date !== undefined) out.push(`expires objects from ${new Date(e.Date).toISOString().slice(0, 10)}`);
  for (const t of rule.Transitions ?? []) {
    const when = t.Days !== undefined ? `after ${t.Days} day${t.Days === 1 ? '' : 's'}` : t.Date ? `from ${new Date(t.Date).toISOString().slice(0, 10)}` : '';
    out.push(`transitions objects to ${t.StorageClass ?? 'another storage class'} ${when}`.trim());
  }
  return out;
}

/** True when a rule acts only on noncurrent versions (current objects untouched). */
function hasNoncurrentActions(rule: LifecycleRule): boolean {
  return rule.NoncurrentVersionExpiration !== undefined || (rule.NoncurrentVersionTransitions?.length ?? 0) > 0;
}

function ruleName(rule: LifecycleRule, index: number): string {
  return rule.ID ? `"${rule.ID}"` : `#${index + 1} (no ID)`;
}

function ruleDetails(rule: LifecycleRule, index: number, scope: RuleScope): JsonObject {
  return {
    rule_id: rule.ID ?? null,
    rule_index: index,
    prefix: scope.prefix,
    tags: scope.tags.map((t) => ({ key: t.Key ?? '', value: t.Value ?? '' })),
    object_size_greater_than: scope.sizeGreaterThan ?? null,
    object_size_less_than: scope.sizeLessThan ?? null,
  };
}

/** Result of reading an S3 bucket configuration: the value, or why it could not be read. */
type ConfigRead<T> = { ok: true; value: T } | { ok: false; severity: Severity; reason: string };

function unreadable<T>(what: string, err: unknown): ConfigRead<T> {
  if (errorName(err) === 'NotImplemented') {
    return { ok: false, severity: 'info', reason: `the S3 endpoint does not implement ${what}; check skipped` };
  }
  return { ok: false, severity: 'warning', reason: `could not read the bucket's ${what}: ${describeError(err)}` };
}

async function readLifecycleRules(config: CliConfig, bucket: PayloadBucket): Promise<ConfigRead<LifecycleRule[]>> {
  try {
    const res = await config.clients.bucketConfigS3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket.bucketName }));
    return { ok: true, value: res.Rules ?? [] };
  } catch (err) {
    if (errorName(err) === 'NoSuchLifecycleConfiguration') return { ok: true, value: [] };
    return unreadable('lifecycle configuration', err);
  }
}

async function readVersioning(config: CliConfig, bucket: PayloadBucket): Promise<ConfigRead<string | undefined>> {
  try {
    const res = await config.clients.bucketConfigS3.send(new GetBucketVersioningCommand({ Bucket: bucket.bucketName }));
    return { ok: true, value: res.Status };
  } catch (err) {
    return unreadable('versioning configuration', err);
  }
}

/** What a group of checks found: its findings and one result per check. */
interface Checked {
  findings: Finding[];
  checks: CheckResult[];
}

/** An enabled lifecycle rule, with its position and the keys it can match. */
interface EnabledRule {
  rule: LifecycleRule;
  index: number;
  scope: RuleScope;
}

/** The lifecycle and versioning checks, from the rules and the versioning status (pure). */
export function analyseBucketConfiguration(
  layout: PayloadLayout,
  lifecycle: ConfigRead<LifecycleRule[]>,
  versioning: ConfigRead<string | undefined>,
): { findings: Finding[]; checks: CheckResult[] } {
  // The prefixes come from the payload bucket layout, like the CDK lifecycle rule's.
  const executions = `${layout.prefixExecutions}/`;
  const tmp = `${layout.prefixTmp}/`;
  const parts: Checked[] = [];
  if (!lifecycle.ok) {
    parts.push({
      findings: [{ severity: lifecycle.severity, check: 'lifecycle.executions', message: lifecycle.reason, details: {} }],
      checks: [
        { check: 'lifecycle.executions', status: 'skipped', summary: lifecycle.reason },
        { check: 'lifecycle.tmp', status: 'skipped', summary: lifecycle.reason },
      ],
    });
  } else {
    const rules = lifecycle.value.map((rule, index) => ({ rule, index, scope: ruleScope(rule) })).filter((r) => r.rule.Status === 'Enabled');
    const disabled = lifecycle.value.length - rules.length;
    const ruleCount = `${lifecycle.value.length} rule${lifecycle.value.length === 1 ? '' : 's'}${disabled ? `, ${disabled} disabled` : ''}`;
    parts.push(executionsLifecycle(rules, executions, ruleCount), tmpLifecycle(rules, tmp, lifecycle.value.length === 0));
  }
  parts.push(versioningCheck(lifecycle, versioning, tmp));
  return { findings: parts.flatMap((c) => c.findings), checks: parts.flatMap((c) => c.checks) };
}

/** `lifecycle.executions`: no enabled rule may expire or transition current objects under executions/. */
function executionsLifecycle(rules: readonly EnabledRule[], executions: string, ruleCount: string): Checked {
  const findings: Finding[] = [];
  let execErrors = 0;
  for (const { rule, index, scope } of rules) {
    if (!scopeCanMatch(scope, executions)) continue;
    const actions = currentObjectActions(rule);
    if (actions.length > 0) {
      execErrors++;
      findings.push({
        severity: 'error',
        check: 'lifecycle.executions',
        message:
          `lifecycle rule ${ruleName(rule, index)} ${actions.join(' and ')} and can match keys under ${executions} ` +
          `(${whyMatches(scope, executions)}): execution history (input.json/output.json) will be lost and the CLI can no longer read it`,
        details: { ...ruleDetails(rule, index, scope), actions, target: executions },
      });
    } else if (hasNoncurrentActions(rule)) {
      findings.push({
        severity: 'info',
        check: 'lifecycle.executions',
        message:
          `lifecycle rule ${ruleName(rule, index)} acts on noncurrent versions under ${executions} ` +
          `(${whyMatches(scope, executions)}); current input.json/output.json objects are not affected`,
        details: { ...ruleDetails(rule, index, scope), target: executions },
      });
    }
  }
  const summary =
    execErrors > 0
      ? `${execErrors} enabled rule${execErrors === 1 ? '' : 's'} can delete or move execution history (${ruleCount})`
      : `no enabled rule expires or transitions objects under ${executions} (${ruleCount})`;
  return { findings, checks: [{ check: 'lifecycle.executions', status: execErrors > 0 ? 'error' : 'ok', summary }] };
}

/** `lifecycle.tmp`: some enabled rule must expire all of tmp/, none in under {@link MIN_TMP_EXPIRY_DAYS} days. */
function tmpLifecycle(rules: readonly EnabledRule[], tmp: string, noConfiguration: boolean): Checked {
  const findings: Finding[] = [];
  const expiring = rules.filter(({ rule, scope }) => (rule.Expiration?.Days !== undefined || rule.Expiration?.Date !== undefined) && scopeCanMatch(scope, tmp));
  const covering = expiring.filter(({ scope }) => scopeCovers(scope, tmp));
  for (const { rule, index, scope } of expiring) {
    const days = rule.Expiration?.Days;
    if (days !== undefined && days >= MIN_TMP_EXPIRY_DAYS) continue;
    const what = days !== undefined ? `after ${days} day${days === 1 ? '' : 's'}` : `on a fixed date (${new Date(rule.Expiration?.Date ?? 0).toISOString().slice(0, 10)}), after which new objects live under a day`;
    findings.push({
      severity: 'warning',
      check: 'lifecycle.tmp',
      message:
        `lifecycle rule ${ruleName(rule, index)} expires objects under ${tmp} ${what} (${describeScope(scope)}): ` +
        `under ${MIN_TMP_EXPIRY_DAYS} days, in-flight retries and batch jobs can lose their payloads`,
      details: { ...ruleDetails(rule, index, scope), expiration_days: days ?? null, target: tmp },
    });
  }
  if (covering.length === 0) {
    const partial = expiring.map(({ rule, index, scope }) => `${ruleName(rule, index)} (${describeScope(scope)})`);
    findings.push({
      severity: 'warning',
      check: 'lifecycle.tmp',
      message:
        (noConfiguration ? 'the bucket has no lifecycle configuration: ' : '') +
        `no enabled rule expires every object under ${tmp}` +
        (partial.length > 0 ? ` (only part of it: ${partial.join(', ')})` : '') +
        ': oversized, batch and invalid payloads accumulate forever (a 10-day expiration is the default)',
      details: { target: tmp, partial_rules: expiring.map(({ rule, index }) => rule.ID ?? `#${index + 1}`) },
    });
  }
  const minDays = Math.min(...covering.map(({ rule }) => rule.Expiration?.Days ?? 0));
  const summary =
    covering.length > 0
      ? `${tmp} expires after ${minDays} day${minDays === 1 ? '' : 's'} (rule ${covering.map(({ rule, index }) => ruleName(rule, index)).join(', ')})`
      : `no rule expires ${tmp}`;
  return { findings, checks: [{ check: 'lifecycle.tmp', status: findings.length > 0 ? 'warning' : 'ok', summary }] };
}

/** `versioning`: what happens to objects the lifecycle rules expire. */
function versioningCheck(lifecycle: ConfigRead<LifecycleRule[]>, versioning: ConfigRead<string | undefined>, tmp: string): Checked {
  if (!versioning.ok) {
    return {
      findings: [{ severity: versioning.severity, check: 'versioning', message: versioning.reason, details: {} }],
      checks: [{ check: 'versioning', status: 'skipped', summary: versioning.reason }],
    };
  }
  const status = versioning.value ?? 'Disabled';
  let message: string;
  if (status === 'Enabled' || status === 'Suspended') {
    const noncurrent = lifecycle.ok
      ? lifecycle.value
          .map((rule, index) => ({ rule, index }))
          .filter(({ rule }) => rule.Status === 'Enabled' && rule.NoncurrentVersionExpiration !== undefined && scopeCanMatch(ruleScope(rule), tmp))
      : [];
    message =
      `bucket versioning is ${status}: objects expired by lifecycle rules remain as noncurrent versions (still stored and billed) ` +
      (noncurrent.length > 0
        ? `until the NoncurrentVersionExpiration of rule ${noncurrent.map(({ rule, index }) => ruleName(rule, index)).join(', ')} removes them`
        : lifecycle.ok
          ? `forever: no rule has a NoncurrentVersionExpiration covering ${tmp}`
          : 'unless a NoncurrentVersionExpiration rule removes them');
  } else {
    message = 'bucket versioning is not enabled: objects expired by lifecycle rules are deleted for good';
  }
  return {
    findings: [{ severity: 'info', check: 'versioning', message, details: { status } }],
    checks: [{ check: 'versioning', status: 'info', summary: `versioning ${status}` }],
  };
}

// ---------------------------------------------------------------------------------------------
// StateDB

/** The fields of a StateDB item the doctor reads. */
interface ScannedItem {
  payloadId: string;
  state: State;
  /** Time of the last state change (from `state_updated`, else `updated`), ms since epoch. */
  since: number | undefined;
  updated: string | undefined;
  executions: string[];
}

/** Parses an ISO-8601 time, including Python's microsecond form (`…T12:00:00.123456+00:00`). */
export function parseIsoTime(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const t = Date.parse(text.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(t) ? undefined : t;
}

/** The time encoded in `state_updated` (`"<STATE>_<iso>"`). */
function stateTime(stateUpdated: string | undefined): number | undefined {
  if (!stateUpdated) return undefined;
  const i = stateUpdated.indexOf('_');
  return i === -1 ? undefined : parseIsoTime(stateUpdated.slice(i + 1));
}

/** Result of {@link scanStateDb}. */
interface ScanResult {
  items: ScannedItem[];
  scanned: number;
  complete: boolean;
}

/**
 * Scans the StateDB for CLAIMED, PROCESSING and SUCCEEDED items, page by page, reading at most
 * `maxItems` items (DynamoDB's `Limit` bounds the items read, before the filter).
 */
async function scanStateDb(config: CliConfig, tableName: string, maxItems: number, pageSize: number): Promise<ScanResult> {
  const items: ScannedItem[] = [];
  let scanned = 0;
  let start: Record<string, unknown> | undefined;
  const input: ScanCommandInput = {
    TableName: tableName,
    Limit: Math.min(pageSize, maxItems),
    FilterExpression: 'begins_with(#su, :c) OR begins_with(#su, :p) OR begins_with(#su, :s) OR begins_with(#su, :d)',
    ProjectionExpression: '#cw, #ids, #su, #up, #ex',
    ExpressionAttributeNames: { '#cw': PARTITION_KEY, '#ids': SORT_KEY, '#su': 'state_updated', '#up': 'updated', '#ex': 'executions' },
    ExpressionAttributeValues: { ':c': `${State.CLAIMED}_`, ':p': `${State.PROCESSING}_`, ':s': `${State.SUCCEEDED}_`, ':d': `${LEGACY_SUCCEEDED}_` },
  };
  for await (const res of paginateScan({ client: config.clients.dynamo }, input)) {
    scanned += res.ScannedCount ?? 0;
    for (const raw of res.Items ?? []) {
      const rec = raw as StateDbRecord;
      const state = stateOf(rec);
      if (!state) continue;
      items.push({
        payloadId: keyToPayloadId(rec),
        state,
        since: stateTime(rec.state_updated) ?? parseIsoTime(rec.updated),
        updated: rec.updated,
        executions: Array.isArray(rec.executions) ? rec.executions : [],
      });
    }
    start = res.LastEvaluatedKey;
    if (scanned >= maxItems) break;
    // The paginator sends the same input object with each page's start key: the last page is
    // shortened so that no more than maxItems items are read.
    input.Limit = Math.min(pageSize, maxItems - scanned);
  }
  if (start) {
    // DynamoDB returns a LastEvaluatedKey whenever Limit is reached, even at the end of the
    // table: look one item further before saying that the bound cut the scan short.
    const probe = await config.clients.dynamo.send(
      new ScanCommand({ TableName: tableName, Limit: 1, ExclusiveStartKey: start, ProjectionExpression: '#cw', ExpressionAttributeNames: { '#cw': PARTITION_KEY } }),
    );
    if ((probe.ScannedCount ?? 0) === 0 && !probe.LastEvaluatedKey) start = undefined;
  }
  return { items, scanned, complete: start === undefined };
}

function staleFindings(scan: ScanResult, staleAfterMs: number, now: number): Finding[] {
  const stale = scan.items
    .filter((i) => (i.state === State.CLAIMED || i.state === State.PROCESSING) && i.since !== undefined && now - i.since > staleAfterMs)
    .sort((a, b) => (a.since ?? 0) - (b.since ?? 0));
  return stale.map((i) => {
    const age = now - (i.since ?? now);
    const last = i.executions.at(-1) ?? null;
    return {
      severity: 'warning' as const,
      check: 'statedb.stale' as const,
      message:
        `payload ${i.payloadId} has been ${i.state} for ${formatDuration(age)} (since ${new Date(i.since ?? now).toISOString()}), ` +
        `last execution ${last ?? '(none recorded)'}` +
        (i.state === State.PROCESSING ? ': it is skipped as ALREADY_PROCESSING until its status is resolved' : ': it is re-claimed only when resubmitted'),
      details: {
        payload_id: i.payloadId,
        state: i.state,
        since: new Date(i.since ?? now).toISOString(),
        age_seconds: Math.floor(age / 1000),
        age: formatDuration(age),
        last_execution: last,
      },
    };
  });
}

async function headExists(config: CliConfig, url: string): Promise<boolean> {
  const { bucket, key } = parseUrl(url);
  try {
    await config.clients.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (err) {
    const name = errorName(err);
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (name === 'NotFound' || name === 'NoSuchKey' || status === 404) return false;
    throw err;
  }
}

async function sampleFindings(config: CliConfig, bucket: PayloadBucket, scan: ScanResult, sample: number): Promise<{ findings: Finding[]; checked: number }> {
  const recent = scan.items
    .filter((i) => i.state === State.SUCCEEDED)
    .sort((a, b) => (parseIsoTime(b.updated) ?? 0) - (parseIsoTime(a.updated) ?? 0))
    .slice(0, sample);
  const results: (Finding | undefined)[] = new Array(recent.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < recent.length) {
      const n = next++;
      const item = recent[n];
      const last = item.executions.at(-1);
      if (!last) {
        results[n] = {
          severity: 'warning',
          check: 'payloads.missing',
          message: `payload ${item.payloadId} is SUCCEEDED but records no execution, so its payloads cannot be found`,
          details: { payload_id: item.payloadId, updated: item.updated ?? null },
        };
        continue;
      }
      const executionId = executionIdFromArn(last);
      const urls: [string, string][] = [
        [INPUT_KEY, bucket.getInputPayloadUrl(item.payloadId, executionId)],
        [OUTPUT_KEY, bucket.getOutputPayloadUrl(item.payloadId, executionId)],
      ];
      const exists = await Promise.all(urls.map(([, url]) => headExists(config, url)));
      const missing = urls.filter((_, i) => !exists[i]);
      if (missing.length === 0) continue;
      results[n] = {
        severity: 'error',
        check: 'payloads.missing',
        message:
          `payload ${item.payloadId} (SUCCEEDED ${item.updated ?? ''}): ${missing.map(([name]) => name).join(' and ')} of execution ${executionId} ` +
          `${missing.length > 1 ? 'are' : 'is'} missing from ${missing.map(([, url]) => url).join(', ')}: expired or deleted, the CLI can no longer show ${missing.length > 1 ? 'them' : 'it'}`,
        details: {
          payload_id: item.payloadId,
          execution_id: executionId,
          execution_arn: last,
          updated: item.updated ?? null,
          missing: missing.map(([name]) => name),
          urls: missing.map(([, url]) => url),
        },
      };
    }
  };
  await Promise.all(Array.from({ length: Math.min(HEAD_CONCURRENCY, recent.length) }, worker));
  return { findings: results.filter((f): f is Finding => f !== undefined), checked: recent.length };
}

// ---------------------------------------------------------------------------------------------
// Report

const SEVERITY_RANK: Record<CheckResult['status'], number> = { ok: 0, skipped: 0, info: 1, warning: 2, error: 3 };

function worst(a: CheckResult['status'], b: CheckResult['status']): CheckResult['status'] {
  return SEVERITY_RANK[b] > SEVERITY_RANK[a] ? b : a;
}

/** A failure inside one check, reported as an error finding of that check. */
function checkFailure(check: CheckName, err: unknown): { finding: Finding; result: CheckResult } {
  const message = `check could not run: ${describeError(err)}`;
  return { finding: { severity: 'error', check, message, details: { error: describeError(err) } }, result: { check, status: 'error', summary: message } };
}

/**
 * Runs every check against a configuration (bucket and table both required).
 * @throws ConfigurationError when the bucket or the table is not configured.
 */
export async function runDoctor(config: CliConfig, options: DoctorOptions = {}): Promise<DoctorReport> {
  const bucket = requireBucket(config);
  const db = requireStateDb(config);
  const maxItems = options.maxItems ?? DEFAULT_MAX_ITEMS;
  const sample = options.sample ?? DEFAULT_SAMPLE;
  const now = (options.now ?? new Date()).getTime();

  const [lifecycle, versioning] = await Promise.all([readLifecycleRules(config, bucket), readVersioning(config, bucket)]);
  const parts: Checked[] = [analyseBucketConfiguration(bucket.layout, lifecycle, versioning)];
  const scanned = await stateDbChecks(config, db.tableName, { ...options, maxItems, nowMs: now });
  parts.push(scanned);
  if (scanned.scan) parts.push(await payloadSampleChecks(config, bucket, scanned.scan, sample));
  return buildReport(parts, {
    bucket: bucket.bucketName,
    root_prefix: bucket.layout.rootPrefix,
    table: db.tableName,
    scanned_items: scanned.scan?.scanned ?? 0,
    scan_complete: scanned.scan?.complete ?? false,
    generated_at: new Date(now).toISOString(),
  });
}

/**
 * `statedb.scan` and `statedb.stale`: scans the StateDB and reports stale CLAIMED/PROCESSING items
 * and whether the scan reached the end of the table. Without a scan, `payloads.missing` is skipped.
 */
async function stateDbChecks(
  config: CliConfig,
  tableName: string,
  options: DoctorOptions & { maxItems: number; nowMs: number },
): Promise<Checked & { scan?: ScanResult }> {
  const { maxItems } = options;
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  let scan: ScanResult;
  try {
    scan = await scanStateDb(config, tableName, maxItems, options.scanPageSize ?? SCAN_PAGE);
  } catch (err) {
    const failure = checkFailure('statedb.scan', errorName(err) === 'ResourceNotFoundException' ? new Error(`StateDB table "${tableName}" does not exist`) : err);
    return {
      findings: [failure.finding],
      checks: [
        { check: 'statedb.stale', status: 'skipped', summary: 'the StateDB could not be scanned' },
        failure.result,
        { check: 'payloads.missing', status: 'skipped', summary: 'the StateDB could not be scanned' },
      ],
    };
  }
  const findings = staleFindings(scan, staleAfterMs, options.nowMs);
  const stale = findings.length;
  const active = scan.items.filter((i) => i.state === State.CLAIMED || i.state === State.PROCESSING).length;
  if (!scan.complete) {
    findings.push({
      severity: 'warning',
      check: 'statedb.scan',
      message: `the StateDB scan stopped after ${scan.scanned} items (--max-items ${maxItems}) before the end of table ${tableName}: the stale and sample checks saw only part of it; raise --max-items`,
      details: { scanned_items: scan.scanned, max_items: maxItems },
    });
  }
  const checks: CheckResult[] = [
    {
      check: 'statedb.stale',
      status: stale > 0 ? 'warning' : 'ok',
      summary: `${stale} of ${active} CLAIMED/PROCESSING item${active === 1 ? '' : 's'} older than ${formatDuration(staleAfterMs)}`,
    },
    {
      check: 'statedb.scan',
      status: scan.complete ? 'ok' : 'warning',
      summary: scan.complete ? `scanned all ${scan.scanned} items of ${tableName}` : `scan cut short after ${scan.scanned} items (--max-items ${maxItems})`,
    },
  ];
  return { findings, checks, scan };
}

/** `payloads.missing`: the most recent SUCCEEDED items of the scan still have input.json and output.json. */
async function payloadSampleChecks(config: CliConfig, bucket: PayloadBucket, scan: ScanResult, sample: number): Promise<Checked> {
  try {
    const res = await sampleFindings(config, bucket, scan, sample);
    const errors = res.findings.filter((f) => f.severity === 'error').length;
    const summary =
      sample === 0
        ? 'skipped (--sample 0)'
        : `checked the ${res.checked} most recent SUCCEEDED item${res.checked === 1 ? '' : 's'}: ${errors} missing input.json or output.json`;
    return {
      findings: res.findings,
      checks: [{ check: 'payloads.missing', status: res.findings.reduce<CheckResult['status']>((s, f) => worst(s, f.severity), 'ok'), summary }],
    };
  } catch (err) {
    const failure = checkFailure('payloads.missing', err);
    return { findings: [failure.finding], checks: [failure.result] };
  }
}

/** The report: findings and checks in {@link CHECKS} order, counts, status and exit code. */
function buildReport(
  parts: readonly Checked[],
  about: Pick<DoctorReport['summary'], 'bucket' | 'root_prefix' | 'table' | 'scanned_items' | 'scan_complete' | 'generated_at'>,
): DoctorReport {
  const order = Object.keys(CHECKS);
  const byCheck = (a: { check: string }, b: { check: string }): number => order.indexOf(a.check) - order.indexOf(b.check);
  const checks = parts.flatMap((p) => p.checks).sort(byCheck);
  const findings = parts.flatMap((p) => p.findings).sort(byCheck);
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.filter((f) => f.severity === 'warning').length;
  const infos = findings.filter((f) => f.severity === 'info').length;
  const exitCode = errors > 0 ? 2 : warnings > 0 ? 1 : 0;
  return {
    findings,
    summary: {
      status: exitCode === 2 ? 'errors' : exitCode === 1 ? 'warnings' : 'healthy',
      exit_code: exitCode,
      errors,
      warnings,
      infos,
      bucket: about.bucket,
      root_prefix: about.root_prefix,
      table: about.table,
      scanned_items: about.scanned_items,
      scan_complete: about.scan_complete,
      checks,
      generated_at: about.generated_at,
    },
  };
}

const TAG: Record<CheckResult['status'], string> = {
  ok: '[ok]   ',
  skipped: '[skip] ',
  info: '[info] ',
  warning: '[WARN] ',
  error: '[ERROR]',
};

const SECTIONS: { title: string; checks: CheckName[] }[] = [
  { title: 'Bucket lifecycle', checks: ['lifecycle.executions', 'lifecycle.tmp'] },
  { title: 'Bucket versioning', checks: ['versioning'] },
  { title: 'StateDB', checks: ['statedb.stale', 'statedb.scan'] },
  { title: 'Recent SUCCEEDED payloads in the bucket', checks: ['payloads.missing'] },
];

/**
 * The human-readable report: one section per area, one line per finding with a severity tag
 * (`[ERROR]`, `[WARN]`, `[info]`), `[ok]` for a check without findings, and a summary line.
 */
export function formatDoctorReport(report: DoctorReport): string {
  const s = report.summary;
  const lines: string[] = [`cirrus doctor: bucket s3://${s.bucket}/${s.root_prefix}/, table ${s.table}`];
  for (const section of SECTIONS) {
    lines.push('', section.title);
    for (const check of section.checks) {
      const result = s.checks.find((c) => c.check === check);
      const own = report.findings.filter((f) => f.check === check);
      if (own.length === 0 && result) lines.push(`  ${TAG[result.status === 'skipped' ? 'skipped' : 'ok']} ${result.summary}`);
      for (const f of own) lines.push(`  ${TAG[f.severity]} ${f.message}`);
    }
  }
  const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? '' : 's'}`;
  lines.push(
    '',
    `Summary: ${s.status === 'healthy' ? 'healthy' : s.status === 'warnings' ? 'warnings' : 'ERRORS'}: ` +
      `${plural(s.errors, 'error')}, ${plural(s.warnings, 'warning')}, ${s.infos} info (exit ${s.exit_code})`,
  );
  return lines.join('\n') + '\n';
}
