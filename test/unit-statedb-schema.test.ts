/**
 * The StateDB table definition (key schema, GSIs, on-demand billing) against the CreateTable input
 * written out in `test/fixtures/statedb/create-table.json`.
 */
import {
  PARTITION_KEY,
  SORT_KEY,
  STATE_DB_SCHEMA,
  STATE_UPDATED_INDEX,
  UPDATED_INDEX,
  createTableInput,
} from '../shared/statedb-schema';
import { readFixture } from './helpers/fixtures';

describe('StateDB schema', () => {
  it('createTableInput equals the definition in statedb/create-table.json apart from the table name', () => {
    const reference = readFixture('statedb/create-table.json');
    expect(createTableInput(String(reference.TableName))).toEqual(reference);
  });

  it('uses the given table name', () => {
    expect(createTableInput('my-table').TableName).toBe('my-table');
  });

  it('keys on collections_workflow (HASH) and itemids (RANGE)', () => {
    expect([PARTITION_KEY, SORT_KEY]).toEqual(['collections_workflow', 'itemids']);
    expect(createTableInput('t').KeySchema).toEqual([
      { AttributeName: 'collections_workflow', KeyType: 'HASH' },
      { AttributeName: 'itemids', KeyType: 'RANGE' },
    ]);
  });

  it('has the GSIs state_updated and updated, both HASH collections_workflow, projection ALL', () => {
    expect([STATE_UPDATED_INDEX, UPDATED_INDEX]).toEqual(['state_updated', 'updated']);
    for (const g of createTableInput('t').GlobalSecondaryIndexes) {
      expect(g.KeySchema[0]).toEqual({ AttributeName: 'collections_workflow', KeyType: 'HASH' });
      expect(g.KeySchema[1]).toEqual({ AttributeName: g.IndexName, KeyType: 'RANGE' });
      expect(g.Projection).toEqual({ ProjectionType: 'ALL' });
    }
    expect(STATE_DB_SCHEMA.globalSecondaryIndexes.map((g) => g.indexName)).toEqual(['state_updated', 'updated']);
  });

  it('declares each key attribute once', () => {
    const names = createTableInput('t').AttributeDefinitions.map((a) => a.AttributeName);
    expect(names).toEqual(['collections_workflow', 'itemids', 'state_updated', 'updated']);
  });
});
