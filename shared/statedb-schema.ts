/**
 * The StateDB table schema (README, "StateDB"), shared by the CDK stack and the local stack so that
 * there is exactly one definition.
 * @module
 */

/** Partition key: `"<collections>_<workflow>"`. */
export const PARTITION_KEY = 'collections_workflow';
/** Sort key: the item ids part of the payload id. */
export const SORT_KEY = 'itemids';
/** GSI sorted by `state_updated` (`"<STATE>_<iso>"`). */
export const STATE_UPDATED_INDEX = 'state_updated';
/** GSI sorted by `updated`. */
export const UPDATED_INDEX = 'updated';

/** One key attribute (all are strings). */
export interface KeyAttribute {
  name: string;
  type: 'S';
}

/** One global secondary index, projection ALL. */
export interface GlobalIndex {
  indexName: string;
  partitionKey: KeyAttribute;
  sortKey: KeyAttribute;
}

/** The table definition in a form both CDK and `CreateTable` can be built from. */
export interface StateDbSchema {
  partitionKey: KeyAttribute;
  sortKey: KeyAttribute;
  globalSecondaryIndexes: GlobalIndex[];
}

/** The StateDB schema. */
export const STATE_DB_SCHEMA: StateDbSchema = {
  partitionKey: { name: PARTITION_KEY, type: 'S' },
  sortKey: { name: SORT_KEY, type: 'S' },
  globalSecondaryIndexes: [
    {
      indexName: STATE_UPDATED_INDEX,
      partitionKey: { name: PARTITION_KEY, type: 'S' },
      sortKey: { name: STATE_UPDATED_INDEX, type: 'S' },
    },
    {
      indexName: UPDATED_INDEX,
      partitionKey: { name: PARTITION_KEY, type: 'S' },
      sortKey: { name: UPDATED_INDEX, type: 'S' },
    },
  ],
};

/** The input of DynamoDB `CreateTable` for the StateDB (on-demand billing). */
export function createTableInput(tableName: string): {
  TableName: string;
  BillingMode: 'PAY_PER_REQUEST';
  AttributeDefinitions: { AttributeName: string; AttributeType: 'S' }[];
  KeySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];
  GlobalSecondaryIndexes: {
    IndexName: string;
    KeySchema: { AttributeName: string; KeyType: 'HASH' | 'RANGE' }[];
    Projection: { ProjectionType: 'ALL' };
  }[];
} {
  const s = STATE_DB_SCHEMA;
  const attrs = new Map<string, 'S'>();
  for (const a of [s.partitionKey, s.sortKey, ...s.globalSecondaryIndexes.flatMap((g) => [g.partitionKey, g.sortKey])]) {
    attrs.set(a.name, a.type);
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attrs].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
    KeySchema: [
      { AttributeName: s.partitionKey.name, KeyType: 'HASH' },
      { AttributeName: s.sortKey.name, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: s.globalSecondaryIndexes.map((g) => ({
      IndexName: g.indexName,
      KeySchema: [
        { AttributeName: g.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: g.sortKey.name, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    })),
  };
}
