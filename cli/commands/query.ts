/**
 * `cirrus query`: StateDB records of one collections/workflow partition, read through the
 * `state_updated` GSI (with `--state`) or the `updated` GSI (without), newest first, with the
 * SDK's query paginator. Never a Scan.
 * @module
 */
import { paginateQuery, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { LEGACY_SUCCEEDED, State, isoNow, joinCollectionsWorkflow, recordToItem, type StateDbRecord, type StateItem } from '../../shared/statedb';
import { PARTITION_KEY, STATE_UPDATED_INDEX, UPDATED_INDEX } from '../../shared/statedb-schema';
import { parsePositiveInt } from '../../shared/config';
import { requireStateDb, type CliConfig } from '../config';
import { parseDuration } from '../duration';
import { UsageError } from '../errors';
import { assertResourcesExist } from '../resources';
import { translateResourceError } from './payloads';

/** The filters of `query` and `rerun`. */
export interface QueryFilters {
  /** The partition: `<collections>_<workflow>`. */
  collectionsWorkflow: string;
  state?: State;
  /** ISO time, in the StateDB's format: only records updated at or after it. */
  since?: string;
  /** Only records whose `last_error` starts with this. */
  errorPrefix?: string;
  /** At most this many records. */
  limit?: number;
}

/** The filter flags as commander parses them. */
export interface QueryFlags {
  collectionsWorkflow?: string;
  collections?: string;
  workflow?: string;
  state?: string;
  since?: string;
  errorPrefix?: string;
  limit?: string;
}

/**
 * States written by older Cirrus versions that read as another state: a query for SUCCEEDED also
 * reads the partition's `COMPLETED_…` records.
 */
const STORED_AS: Partial<Record<State, string[]>> = { [State.SUCCEEDED]: [State.SUCCEEDED, LEGACY_SUCCEEDED] };

/** Parses `--since`: a duration before now (`30m`, `6h`, `2d`) or an ISO-8601 time. */
export function parseSince(text: string, now: number = Date.now()): string {
  if (/^\s*(\d+[smhd])+\s*$/i.test(text)) return isoNow(new Date(now - parseDuration(text, '--since')));
  const t = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim()) || Number.isNaN(t)) {
    throw new UsageError(`invalid --since value ${JSON.stringify(text)}: expected a duration (30m, 6h, 2d) or an ISO time (2024-05-01T12:00:00Z)`);
  }
  return isoNow(new Date(t));
}

function parseState(text: string): State {
  const s = text.trim().toUpperCase();
  if (s === 'COMPLETED') return State.SUCCEEDED;
  if (!(Object.values(State) as string[]).includes(s)) {
    throw new UsageError(`invalid --state value ${JSON.stringify(text)}: expected one of ${Object.values(State).join(', ')}`);
  }
  return s as State;
}

/** The partition a set of flags names. @throws UsageError without one. */
function partitionOf(flags: QueryFlags): string {
  if (flags.collectionsWorkflow) {
    if (flags.collections || flags.workflow) throw new UsageError('give --collections-workflow, or --collections with --workflow, not both');
    if (!flags.collectionsWorkflow.includes('_')) throw new UsageError(`invalid --collections-workflow value ${JSON.stringify(flags.collectionsWorkflow)}: expected <collections>_<workflow>`);
    return flags.collectionsWorkflow;
  }
  if (flags.collections && flags.workflow) {
    if (flags.workflow.includes('_')) throw new UsageError(`invalid --workflow value ${JSON.stringify(flags.workflow)}: a workflow name has no "_"`);
    return joinCollectionsWorkflow(flags.collections, flags.workflow);
  }
  throw new UsageError('name the records to read: --collections-workflow <collections>_<workflow>, or --collections <c> --workflow <w> (the StateDB is queried by partition, never scanned)');
}

/** Turns the flags into filters. @throws UsageError for malformed values. */
export function parseFilters(flags: QueryFlags): QueryFilters {
  return {
    collectionsWorkflow: partitionOf(flags),
    ...(flags.state !== undefined ? { state: parseState(flags.state) } : {}),
    ...(flags.since !== undefined ? { since: parseSince(flags.since) } : {}),
    ...(flags.errorPrefix !== undefined ? { errorPrefix: flags.errorPrefix } : {}),
    ...(flags.limit !== undefined ? { limit: parsePositiveInt(flags.limit, { what: '--limit' }) } : {}),
  };
}

/** The Query inputs for a set of filters (one per stored state name). */
export function queryInputs(tableName: string, f: QueryFilters): QueryCommandInput[] {
  const filter = f.errorPrefix !== undefined ? { FilterExpression: 'begins_with(last_error, :err)' } : {};
  const base = (index: string, condition?: string, values: Record<string, string> = {}): QueryCommandInput => ({
    TableName: tableName,
    IndexName: index,
    KeyConditionExpression: condition ? `#pk = :pk AND ${condition}` : '#pk = :pk',
    ExpressionAttributeNames: { '#pk': PARTITION_KEY, ...(condition ? { '#sk': index } : {}) },
    ExpressionAttributeValues: { ':pk': f.collectionsWorkflow, ...values, ...(f.errorPrefix !== undefined ? { ':err': f.errorPrefix } : {}) },
    ScanIndexForward: false,
    ...filter,
  });
  if (f.state === undefined) {
    return [f.since === undefined ? base(UPDATED_INDEX) : base(UPDATED_INDEX, '#sk >= :since', { ':since': f.since })];
  }
  return (STORED_AS[f.state] ?? [f.state]).map((stored) =>
    f.since === undefined
      ? base(STATE_UPDATED_INDEX, 'begins_with(#sk, :state)', { ':state': `${stored}_` })
      : base(STATE_UPDATED_INDEX, '#sk BETWEEN :lo AND :hi', { ':lo': `${stored}_${f.since}`, ':hi': `${stored}_\uffff` }),
  );
}

/**
 * The StateDB items matching the filters, newest first per stored state, at most `limit`.
 * @throws UsageError, ConfigurationError (no table, or a table that does not exist)
 */
export async function* queryItems(config: CliConfig, filters: QueryFilters): AsyncGenerator<StateItem> {
  const db = requireStateDb(config);
  await assertResourcesExist(config, { table: true });
  let n = 0;
  for (const input of queryInputs(db.tableName, filters)) {
    try {
      for await (const page of paginateQuery({ client: config.clients.dynamo }, input)) {
        for (const record of page.Items ?? []) {
          yield recordToItem(record as StateDbRecord);
          if (filters.limit !== undefined && ++n >= filters.limit) return;
        }
      }
    } catch (err) {
      throw translateResourceError(err, config);
    }
  }
}
