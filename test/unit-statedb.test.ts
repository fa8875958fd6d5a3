/**
 * The StateDB (README, "StateDB"): key mapping, states, and the conditional updates against a real
 * DynamoDB wire protocol (dynalite).
 */
import { InvalidPayloadIdError } from '../shared/payload-id';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { startDynalite, type LocalDynamo } from './helpers/dynalite';
import { PayloadBucket } from '../shared/payload-bucket';
import {
  State,
  StateDb,
  isoNow,
  itemUrls,
  joinCollectionsWorkflow,
  keyToPayloadId,
  payloadIdToKey,
  recordToItem,
  splitCollectionsWorkflow,
  stateOf,
  type StateItem,
} from '../shared/statedb';
import { createTableInput } from '../shared/statedb-schema';
import { createRuntime, loadRuntimeConfig } from '../shared/runtime';
import { TIMESTAMPS, testExecutionArn } from './helpers/samples';

const [ARN1, ARN2] = ['11111111-1111-5111-8111-111111111111', '22222222-2222-5222-8222-222222222222'].map((name) => testExecutionArn('wf', name));
const [T0, T1, T2] = TIMESTAMPS;

describe('key mapping', () => {
  it('maps a payload id to collections_workflow and itemids', () => {
    expect(payloadIdToKey('sentinel-s2-l2a/workflow-cog-archive/S2B_17HQD_20201103_0_L2A')).toEqual({
      collections_workflow: 'sentinel-s2-l2a_cog-archive',
      itemids: 'S2B_17HQD_20201103_0_L2A',
    });
  });

  it('keeps / in collections and item ids', () => {
    expect(payloadIdToKey('col-a/col-b/workflow-wf/i1/i2')).toEqual({ collections_workflow: 'col-a/col-b_wf', itemids: 'i1/i2' });
  });

  it('maps a key back to the payload id', () => {
    expect(keyToPayloadId({ collections_workflow: 'sentinel-s2-l2a_cog-archive', itemids: 'S2B_17HQD_20201103_0_L2A' })).toBe(
      'sentinel-s2-l2a/workflow-cog-archive/S2B_17HQD_20201103_0_L2A',
    );
  });

  it.each([
    ['sentinel-s2-l2a/workflow-cog-archive/S2B_17HQD_20201103_0_L2A'],
    ['my_collection/workflow-wf/item_1'],
    ['a_b/c_d/workflow-my-wf.v2/x_y/z'],
    ['none/workflow-wf/é/中'],
  ])('round-trips %j (collections may contain _)', (id) => {
    const key = payloadIdToKey(id);
    expect(keyToPayloadId(key)).toBe(id);
  });

  it('splits collections_workflow on its last _', () => {
    expect(splitCollectionsWorkflow('my_coll_wf')).toEqual({ collections: 'my_coll', workflow: 'wf' });
    expect(joinCollectionsWorkflow('my_coll', 'wf')).toBe('my_coll_wf');
  });

  it('rejects a string that is not a payload id', () => {
    expect(() => payloadIdToKey('not-a-payload-id')).toThrow(InvalidPayloadIdError);
  });
});

describe('isoNow and stateOf', () => {
  it('prints UTC time as Python isoformat with microseconds and +00:00', () => {
    expect(isoNow(new Date('2024-05-01T12:00:00.123Z'))).toBe('2024-05-01T12:00:00.123000+00:00');
    expect(isoNow()).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$/);
  });

  it('leaves the fraction out when it is zero, as Python does', () => {
    expect(isoNow(new Date('2024-05-01T12:00:00.000Z'))).toBe('2024-05-01T12:00:00+00:00');
    expect([isoNow(new Date('2024-05-01T12:00:00.001Z')), isoNow(new Date('2024-05-01T12:00:00.000Z'))].sort()[0]).toBe('2024-05-01T12:00:00+00:00');
  });

  it('sorts in time order as text', () => {
    const a = isoNow(new Date('2024-05-01T12:00:00.999Z'));
    const b = isoNow(new Date('2024-05-01T12:00:01.000Z'));
    expect([b, a].sort()).toEqual([a, b]);
  });

  it.each(Object.values(State))('reads %s from state_updated', (state) => {
    expect(stateOf({ state_updated: `${state}_${T0}` })).toBe(state);
  });

  it('is undefined without state_updated or for an unknown state', () => {
    expect(stateOf({})).toBeUndefined();
    expect(stateOf({ state_updated: `BOGUS_${T0}` })).toBeUndefined();
  });

  it('has exactly the six states CLAIMED, PROCESSING, SUCCEEDED, FAILED, INVALID and ABORTED', () => {
    expect(Object.values(State).sort()).toEqual(['ABORTED', 'CLAIMED', 'FAILED', 'INVALID', 'PROCESSING', 'SUCCEEDED']);
  });
});

describe('recordToItem / itemUrls', () => {
  const record = {
    collections_workflow: 'my_coll_wf',
    itemids: 'i1/i2',
    created: T0,
    updated: T1,
    state_updated: `SUCCEEDED_${T1}`,
    executions: [ARN1, ARN2],
  };

  it('converts a stored record', () => {
    expect(recordToItem(record)).toEqual({
      payloadId: 'my_coll/workflow-wf/i1/i2',
      collections: 'my_coll',
      workflow: 'wf',
      items: 'i1/i2',
      state: State.SUCCEEDED,
      created: T0,
      updated: T1,
      executions: [ARN1, ARN2],
    });
  });

  it('gives the input and output URLs of the last execution of a SUCCEEDED item', () => {
    const bucket = new PayloadBucket('bkt');
    expect(itemUrls(recordToItem(record), bucket)).toEqual({
      inputPayloadUrl: 's3://bkt/cirrus/executions/my_coll/workflow-wf/i1/i2/22222222-2222-5222-8222-222222222222/input.json',
      outputPayloadUrl: 's3://bkt/cirrus/executions/my_coll/workflow-wf/i1/i2/22222222-2222-5222-8222-222222222222/output.json',
    });
  });

  it('gives no output URL before success and nothing without executions', () => {
    const bucket = new PayloadBucket('bkt');
    expect(Object.keys(itemUrls(recordToItem({ ...record, state_updated: `FAILED_${T1}` }), bucket))).toEqual(['inputPayloadUrl']);
    expect(itemUrls(recordToItem({ ...record, executions: [] }), bucket)).toEqual({});
  });
});

describe('StateDb against dynalite', () => {
  let local: LocalDynamo;
  let db: StateDb;
  let n = 0;
  /** A fresh payload id per test. */
  const newId = (collections = 'col'): string => `${collections}/workflow-wf/item-${++n}`;

  beforeAll(async () => {
    local = await startDynalite();
    await local.createTable(createTableInput('state-db-unit'));
    db = new StateDb('state-db-unit', local.doc);
  });

  afterAll(async () => {
    await local?.stop();
  });

  async function raw(id: string): Promise<Record<string, unknown> | undefined> {
    const res = await local.doc.send(new GetCommand({ TableName: 'state-db-unit', Key: payloadIdToKey(id) }));
    return res.Item;
  }

  it('claims a new item: CLAIMED, the planned execution, created/updated/claimed_at', async () => {
    const id = newId();
    expect(await db.claim(id, ARN1, T0)).toEqual({ claimed: true });
    expect(await raw(id)).toEqual({
      collections_workflow: 'col_wf',
      itemids: id.split('/workflow-wf/')[1],
      created: T0,
      updated: T0,
      claimed_at: T0,
      state_updated: `CLAIMED_${T0}`,
      executions: [ARN1],
    });
    const item = (await db.getItem(id)) as StateItem;
    expect(item.state).toBe(State.CLAIMED);
    expect(item.payloadId).toBe(id);
  });

  it('returns the current item when the payload is already CLAIMED, without appending', async () => {
    const id = newId();
    await db.claim(id, ARN1, T0);
    const r = await db.claim(id, ARN2, T1);
    expect(r.claimed).toBe(false);
    const current = (r as { current: StateItem }).current;
    expect(current.state).toBe(State.CLAIMED);
    expect(current.executions).toEqual([ARN1]);
    expect((await raw(id))?.updated).toBe(T0);
  });

  it('returns the current item when the payload is PROCESSING', async () => {
    const id = newId();
    await db.claim(id, ARN1, T0);
    await db.setProcessing(id, T1);
    const r = await db.claim(id, ARN2, T2);
    expect(r).toMatchObject({ claimed: false, current: { state: State.PROCESSING, executions: [ARN1] } });
  });

  it.each([
    ['FAILED', (id: string) => db.setFailed(id, 'boom', T1)],
    ['ABORTED', (id: string) => db.setAborted(id, T1)],
    ['SUCCEEDED', (id: string) => db.setSucceeded(id, { outputs: ['s3://out/item.json'], now: T1 })],
    ['INVALID', (id: string) => db.setInvalid(id, 'bad input', T1)],
  ])('re-claims a %s payload: appends the execution, removes last_error and outputs, keeps created', async (_state, setState) => {
    const id = newId();
    await db.claim(id, ARN1, T0);
    await setState(id);
    expect(await db.claim(id, ARN2, T2)).toEqual({ claimed: true });
    const item = await raw(id);
    expect(item).toMatchObject({ created: T0, updated: T2, claimed_at: T2, state_updated: `CLAIMED_${T2}`, executions: [ARN1, ARN2] });
    expect(item).not.toHaveProperty('last_error');
    expect(item).not.toHaveProperty('outputs');
  });

  it('sets PROCESSING on a CLAIMED payload', async () => {
    const id = newId();
    await db.claim(id, ARN1, T0);
    expect(await db.setProcessing(id, T1)).toEqual({ updated: true });
    expect(await raw(id)).toMatchObject({ state_updated: `PROCESSING_${T1}`, updated: T1, created: T0, executions: [ARN1] });
  });

  it('does not set PROCESSING on a payload that is not CLAIMED, and returns it', async () => {
    const id = newId();
    await db.claim(id, ARN1, T0);
    await db.setProcessing(id, T1);
    const r = await db.setProcessing(id, T2);
    expect(r).toMatchObject({ updated: false, current: { state: State.PROCESSING } });
    expect((await raw(id))?.updated).toBe(T1);

    const failed = newId();
    await db.setFailed(failed, 'x', T0);
    expect(await db.setProcessing(failed, T1)).toMatchObject({ updated: false, current: { state: State.FAILED } });
  });

  it('does not create an item when setting PROCESSING on an unknown payload', async () => {
    const id = newId();
    expect(await db.setProcessing(id, T0)).toEqual({ updated: false, current: undefined });
    expect(await raw(id)).toBeUndefined();
  });

  it('setSucceeded sets SUCCEEDED and outputs and keeps created', async () => {
    const id = newId();
    await db.claim(id, ARN1, T0);
    await db.setProcessing(id, T1);
    await db.setSucceeded(id, { outputs: ['s3://b/a.json', 's3://b/b.json'], now: T2 });
    expect(await raw(id)).toMatchObject({
      created: T0,
      updated: T2,
      state_updated: `SUCCEEDED_${T2}`,
      outputs: ['s3://b/a.json', 's3://b/b.json'],
      executions: [ARN1],
    });
  });

  it('setFailed sets FAILED and last_error and keeps created', async () => {
    const id = newId();
    await db.claim(id, ARN1, T0);
    await db.setFailed(id, 'ValueError: boom', T2);
    expect(await raw(id)).toMatchObject({ created: T0, updated: T2, state_updated: `FAILED_${T2}`, last_error: 'ValueError: boom' });
  });

  it('setInvalid sets INVALID and last_error and keeps created', async () => {
    const id = newId();
    await db.claim(id, ARN1, T0);
    await db.setInvalid(id, 'InvalidInput: no', T2);
    expect(await raw(id)).toMatchObject({ created: T0, state_updated: `INVALID_${T2}`, last_error: 'InvalidInput: no' });
  });

  it('setAborted sets ABORTED and keeps created', async () => {
    const id = newId();
    await db.claim(id, ARN1, T0);
    await db.setAborted(id, T2);
    expect(await raw(id)).toMatchObject({ created: T0, updated: T2, state_updated: `ABORTED_${T2}` });
  });

  it('final states are unconditional and set created on a new item', async () => {
    const id = newId();
    await db.setFailed(id, 'early', T1);
    expect(await raw(id)).toMatchObject({ created: T1, updated: T1, state_updated: `FAILED_${T1}` });
  });

  it('getItems reads many ids at once; unknown ids are absent', async () => {
    const a = newId('col_x');
    const b = newId();
    const missing = newId();
    await db.claim(a, ARN1, T0);
    await db.setFailed(b, 'x', T0);
    const items = await db.getItems([a, b, missing, a]);
    expect([...items.keys()].sort()).toEqual([a, b].sort());
    expect(items.get(a)?.state).toBe(State.CLAIMED);
    expect(items.get(a)?.collections).toBe('col_x');
    expect(items.get(b)?.state).toBe(State.FAILED);
  });

  it('getItems reads more than 100 ids (several BatchGetItem calls)', async () => {
    const ids = Array.from({ length: 105 }, () => newId('many'));
    for (const id of ids) await db.setAborted(id, T0);
    const items = await db.getItems(ids);
    expect(items.size).toBe(105);
    expect(new Set(items.keys())).toEqual(new Set(ids));
  });

  it('getItems of no ids is empty', async () => {
    expect((await db.getItems([])).size).toBe(0);
  });

  it("the functions' runtime requires CIRRUS_STATE_DB for the StateDB", () => {
    const without = createRuntime(loadRuntimeConfig({ CIRRUS_PAYLOAD_BUCKET: 'b' }));
    const withTable = createRuntime(loadRuntimeConfig({ CIRRUS_PAYLOAD_BUCKET: 'b', CIRRUS_STATE_DB: 'tbl' }));
    try {
      expect(() => without.stateDb()).toThrow(/CIRRUS_STATE_DB/);
      expect(withTable.stateDb().tableName).toBe('tbl');
    } finally {
      without.destroy();
      withTable.destroy();
    }
  });
});

describe('StateDb with a backend that returns the item on a failed condition', () => {
  const base = new DynamoDBClient({ region: 'us-west-2', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const doc = DynamoDBDocumentClient.from(base);
  const mock = mockClient(doc);

  afterAll(() => {
    mock.restore();
    base.destroy();
  });

  it('uses ReturnValuesOnConditionCheckFailure and does not read the item again', async () => {
    mock.reset();
    const stored = {
      collections_workflow: 'col_wf',
      itemids: 'i',
      state_updated: `PROCESSING_${T0}`,
      executions: [ARN1],
      created: T0,
      updated: T0,
    };
    mock.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'failed', $metadata: {}, Item: marshall(stored) }));
    const r = await new StateDb('tbl', doc).claim('col/workflow-wf/i', ARN2, T1);
    expect(r).toMatchObject({ claimed: false, current: { state: State.PROCESSING, executions: [ARN1] } });
    expect(mock.commandCalls(UpdateCommand)[0].args[0].input.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
    expect(mock.commandCalls(GetCommand)).toHaveLength(0);
  });

  it('propagates errors other than a failed condition', async () => {
    mock.reset();
    mock.on(UpdateCommand).rejects(Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' }));
    await expect(new StateDb('tbl', doc).claim('col/workflow-wf/i', ARN1, T0)).rejects.toThrow('throttled');
  });
});
