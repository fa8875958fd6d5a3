/**
 * The StateDB (README, "StateDB"): one DynamoDB item per payload id, keyed by
 * `collections_workflow` / `itemids`, recording state, executions and errors.
 * @module
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  GetCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { errorName } from './errors';
import { executionIdFromArn } from './execution';
import type { PayloadBucket } from './payload-bucket';
import { checkStateDbPayloadId } from './payload-id';
import { stringEnum } from './string-enum';

/** Payload states. */
export const State = stringEnum('CLAIMED', 'PROCESSING', 'SUCCEEDED', 'FAILED', 'INVALID', 'ABORTED');
/** One of {@link State}. */
export type State = (typeof State)[keyof typeof State];

const STATES = new Set<string>(Object.values(State));

/** The DynamoDB key of a payload. */
export interface StateKey {
  collections_workflow: string;
  itemids: string;
}

/** A StateDB item as stored: the DynamoDB attribute names (wire names, shared with Cirrus). */
export interface StateDbRecord extends StateKey {
  created?: string;
  updated?: string;
  state_updated?: string;
  executions?: string[];
  claimed_at?: string;
  last_error?: string;
  outputs?: string[];
  /** Random token of the last claim (tells a retried claim of our own from another's). */
  claim_id?: string;
}

/**
 * A StateDB item in the form the functions and the CLI use (camelCase; {@link recordToItem} converts
 * a stored record, the CLI prints its own snake_case report).
 */
export interface StateItem {
  payloadId: string;
  collections: string;
  workflow: string;
  items: string;
  state: State | undefined;
  created?: string;
  updated?: string;
  /** Execution ARNs, one per attempt, oldest first. */
  executions: string[];
  claimedAt?: string;
  lastError?: string;
  outputs?: string[];
  /** Random token of the last claim, when the claimer gave one. */
  claimId?: string;
}

/**
 * The current time as Python's `datetime.now(UTC).isoformat()` prints it
 * (`2024-05-01T12:00:00.123000+00:00`), so items written by Cirrus and by us sort together.
 */
export function isoNow(date: Date = new Date()): string {
  const iso = date.toISOString();
  // Python leaves the fraction out when it is zero.
  return iso.endsWith('.000Z') ? iso.replace('.000Z', '+00:00') : iso.replace('Z', '000+00:00');
}

/** Joins collections and workflow into the partition key (`<collections>_<workflow>`). */
export function joinCollectionsWorkflow(collections: string, workflow: string): string {
  return `${collections}_${workflow}`;
}

/** Splits a partition key on its last `_`. */
export function splitCollectionsWorkflow(cw: string): { collections: string; workflow: string } {
  const i = cw.lastIndexOf('_');
  return { collections: cw.slice(0, i), workflow: cw.slice(i + 1) };
}

/**
 * The DynamoDB key of a payload id, split as Cirrus's `payload_id_to_key` splits it, so an item
 * Cirrus wrote is found again, whether or not today's id rule would accept the id.
 *
 * @throws InvalidPayloadIdError when the id breaks the StateDB rule.
 */
export function payloadIdToKey(payloadId: string): StateKey {
  const { collections, workflow, itemids } = checkStateDbPayloadId(payloadId);
  return { collections_workflow: joinCollectionsWorkflow(collections, workflow), itemids };
}

/** The payload id of a DynamoDB key. */
export function keyToPayloadId(key: StateKey): string {
  const { collections, workflow } = splitCollectionsWorkflow(key.collections_workflow);
  return `${collections}/workflow-${workflow}/${key.itemids}`;
}

/**
 * Older Cirrus versions wrote `COMPLETED` where the current ones write `SUCCEEDED`. It is read as
 * SUCCEEDED (so a payload done by them is not processed again) and never written.
 */
export const LEGACY_SUCCEEDED = 'COMPLETED';

/**
 * The state encoded in `state_updated` (`"<STATE>_<iso>"`); a legacy `COMPLETED` reads as
 * SUCCEEDED, an unknown state as `undefined`.
 */
export function stateOf(record: Pick<StateDbRecord, 'state_updated'>): State | undefined {
  const s = record.state_updated?.split('_')[0];
  if (s === LEGACY_SUCCEEDED) return State.SUCCEEDED;
  return s && STATES.has(s) ? (s as State) : undefined;
}

/** Converts a stored record to a {@link StateItem}. */
export function recordToItem(record: StateDbRecord): StateItem {
  const { collections, workflow } = splitCollectionsWorkflow(record.collections_workflow);
  const item: StateItem = {
    payloadId: keyToPayloadId(record),
    collections,
    workflow,
    items: record.itemids,
    state: stateOf(record),
    created: record.created,
    updated: record.updated,
    executions: Array.isArray(record.executions) ? record.executions : [],
  };
  if (record.claimed_at !== undefined) item.claimedAt = record.claimed_at;
  if (record.last_error !== undefined) item.lastError = record.last_error;
  if (record.outputs !== undefined) item.outputs = record.outputs;
  if (record.claim_id !== undefined) item.claimId = record.claim_id;
  return item;
}

/** The input/output URLs of an item's last execution (output only when SUCCEEDED). */
export function itemUrls(item: StateItem, bucket: PayloadBucket): { inputPayloadUrl?: string; outputPayloadUrl?: string } {
  const last = item.executions.at(-1);
  if (!last) return {};
  const execId = executionIdFromArn(last);
  return {
    inputPayloadUrl: bucket.getInputPayloadUrl(item.payloadId, execId),
    ...(item.state === State.SUCCEEDED ? { outputPayloadUrl: bucket.getOutputPayloadUrl(item.payloadId, execId) } : {}),
  };
}

/** Result of {@link StateDb.claim}. */
export type ClaimResult = { claimed: true } | { claimed: false; current: StateItem | undefined };

/** Result of {@link StateDb.setProcessing}. */
export type SetProcessingResult = { updated: true } | { updated: false; current: StateItem | undefined };

const BATCH_GET_LIMIT = 100;

/** Access to the StateDB table. */
export class StateDb {
  constructor(
    /** The table name. */
    readonly tableName: string,
    private readonly client: DynamoDBDocumentClient,
  ) {}

  /** Reads one item; `undefined` when there is none. */
  async getItem(payloadId: string): Promise<StateItem | undefined> {
    const res = await this.client.send(new GetCommand({ TableName: this.tableName, Key: payloadIdToKey(payloadId), ConsistentRead: true }));
    return res.Item ? recordToItem(res.Item as StateDbRecord) : undefined;
  }

  /**
   * Reads the items of many payload ids with BatchGetItem (one call per 100 unique keys, retrying
   * unprocessed keys). Returns a map from payload id to item; ids with no item are absent.
   */
  async getItems(payloadIds: readonly string[]): Promise<Map<string, StateItem>> {
    const out = new Map<string, StateItem>();
    const unique = [...new Set(payloadIds)];
    for (let i = 0; i < unique.length; i += BATCH_GET_LIMIT) {
      let keys: Record<string, unknown>[] = unique.slice(i, i + BATCH_GET_LIMIT).map(payloadIdToKey) as unknown as Record<string, unknown>[];
      for (let attempt = 0; keys.length > 0; attempt++) {
        if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt));
        if (attempt > 8) throw new Error(`BatchGetItem left ${keys.length} keys unprocessed after ${attempt} attempts`);
        const res = await this.client.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys } } }));
        for (const rec of res.Responses?.[this.tableName] ?? []) {
          const item = recordToItem(rec as StateDbRecord);
          out.set(item.payloadId, item);
        }
        keys = (res.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Record<string, unknown>[];
      }
    }
    return out;
  }

  /**
   * Claims a payload: sets CLAIMED and appends the planned execution ARN, unless the payload is
   * CLAIMED or PROCESSING. On a failed condition the current item is returned (from
   * `ReturnValuesOnConditionCheckFailure`, or read back where the backend does not return it).
   *
   * `claimId` (a random token, stored as `claim_id`) makes the claim safe to retry: when the SDK
   * retries a claim whose first response was lost, the retry fails the condition on our own claim;
   * the token tells it apart from another invocation's claim, and the claim counts as ours.
   */
  async claim(payloadId: string, executionArn: string, now: string = isoNow(), claimId?: string): Promise<ClaimResult> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: payloadIdToKey(payloadId),
          UpdateExpression:
            'SET created = if_not_exists(created, :now), state_updated = :su, updated = :now, claimed_at = :now, ' +
            'executions = list_append(if_not_exists(executions, :empty), :exes)' +
            (claimId !== undefined ? ', claim_id = :cid' : '') +
            ' REMOVE last_error, outputs',
          ConditionExpression: 'NOT (begins_with(state_updated, :proc) OR begins_with(state_updated, :claim))',
          ExpressionAttributeValues: {
            ':now': now,
            ':su': `${State.CLAIMED}_${now}`,
            ':empty': [],
            ':exes': [executionArn],
            ':proc': State.PROCESSING,
            ':claim': State.CLAIMED,
            ...(claimId !== undefined ? { ':cid': claimId } : {}),
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { claimed: true };
    } catch (err) {
      if (errorName(err) !== 'ConditionalCheckFailedException') throw err;
      const current = await this.itemAfterConditionFailure(payloadId, err);
      if (claimId !== undefined && current?.state === State.CLAIMED && current.claimId === claimId) return { claimed: true };
      return { claimed: false, current };
    }
  }

  /** Sets PROCESSING, only if the payload is CLAIMED; otherwise returns the current item. */
  async setProcessing(payloadId: string, now: string = isoNow()): Promise<SetProcessingResult> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: payloadIdToKey(payloadId),
          UpdateExpression: 'SET state_updated = :su, updated = :now',
          ConditionExpression: 'begins_with(state_updated, :claim)',
          ExpressionAttributeValues: { ':su': `${State.PROCESSING}_${now}`, ':now': now, ':claim': State.CLAIMED },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { updated: true };
    } catch (err) {
      if (errorName(err) !== 'ConditionalCheckFailedException') throw err;
      return { updated: false, current: await this.itemAfterConditionFailure(payloadId, err) };
    }
  }

  private async itemAfterConditionFailure(payloadId: string, err: unknown): Promise<StateItem | undefined> {
    const raw = (err as { Item?: Record<string, AttributeValue> }).Item;
    if (raw && Object.keys(raw).length > 0) return recordToItem(unmarshall(raw) as StateDbRecord);
    return this.getItem(payloadId);
  }

  private async setFinal(payloadId: string, state: State, now: string, extra: { lastError?: string; outputs?: string[] } = {}): Promise<void> {
    const names: string[] = ['created = if_not_exists(created, :now)', 'state_updated = :su', 'updated = :now'];
    const values: Record<string, unknown> = { ':now': now, ':su': `${state}_${now}` };
    if (extra.lastError !== undefined) {
      names.push('last_error = :err');
      values[':err'] = extra.lastError;
    }
    if (extra.outputs !== undefined) {
      names.push('outputs = :outputs');
      values[':outputs'] = extra.outputs;
    }
    const input: UpdateCommandInput = {
      TableName: this.tableName,
      Key: payloadIdToKey(payloadId),
      UpdateExpression: `SET ${names.join(', ')}`,
      ExpressionAttributeValues: values,
    };
    await this.client.send(new UpdateCommand(input));
  }

  /** Sets SUCCEEDED (optionally recording output item URLs); keeps `created`. */
  setSucceeded(payloadId: string, options: { outputs?: string[]; now?: string } = {}): Promise<void> {
    return this.setFinal(payloadId, State.SUCCEEDED, options.now ?? isoNow(), { outputs: options.outputs });
  }

  /** Sets FAILED with an error message; keeps `created`. */
  setFailed(payloadId: string, message: string, now: string = isoNow()): Promise<void> {
    return this.setFinal(payloadId, State.FAILED, now, { lastError: message });
  }

  /** Sets INVALID with an error message; keeps `created`. */
  setInvalid(payloadId: string, message: string, now: string = isoNow()): Promise<void> {
    return this.setFinal(payloadId, State.INVALID, now, { lastError: message });
  }

  /** Sets ABORTED; keeps `created`. */
  setAborted(payloadId: string, now: string = isoNow()): Promise<void> {
    return this.setFinal(payloadId, State.ABORTED, now);
  }
}


function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
