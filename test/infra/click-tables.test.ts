import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { synthesize } from './synth';

const { stack, template, logicalId } = synthesize();
const { tables } = stack;

describe('ClickTables', () => {
  const resourceOf = (table: Table) => template.toJSON().Resources[logicalId(table)];

  it('creates exactly the nine tables of docs/design.md, on demand, with AWS-managed encryption', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 9);
    template.allResourcesProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
    });
  });

  it('keeps point-in-time recovery on every data table, and none on the salts table (salts must die)', () => {
    const pitr = (table: Table): unknown => resourceOf(table).Properties.PointInTimeRecoverySpecification;
    for (const table of [
      tables.linksTable, tables.rawClicksTable, tables.quarterHourTable, tables.dailyTable, tables.monthlyTable, tables.pendingRollupsTable,
      tables.apiKeysTable,
    ]) {
      expect(pitr(table)).toEqual({ PointInTimeRecoveryEnabled: true });
    }
    expect(pitr(tables.saltsTable)).toEqual({ PointInTimeRecoveryEnabled: false });
    expect(pitr(tables.apiRequestCountsTable)).toEqual({ PointInTimeRecoveryEnabled: false });
  });

  it('keys the links table on code with the byOwner index (owner, createdAt), no TTL or stream, and retains it', () => {
    expect(resourceOf(tables.linksTable)).toMatchObject({
      Properties: {
        KeySchema: [{ AttributeName: 'code', KeyType: 'HASH' }],
        AttributeDefinitions: [
          { AttributeName: 'code', AttributeType: 'S' },
          { AttributeName: 'owner', AttributeType: 'S' },
          { AttributeName: 'createdAt', AttributeType: 'S' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: 'byOwner',
            KeySchema: [
              { AttributeName: 'owner', KeyType: 'HASH' },
              { AttributeName: 'createdAt', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    expect(resourceOf(tables.linksTable).Properties.TimeToLiveSpecification).toBeUndefined();
    expect(resourceOf(tables.linksTable).Properties.StreamSpecification).toBeUndefined();
  });

  it('keys the API keys table on keyId and retains it; the request counts expire and may be destroyed', () => {
    expect(resourceOf(tables.apiKeysTable)).toMatchObject({
      Properties: { KeySchema: [{ AttributeName: 'keyId', KeyType: 'HASH' }] },
      DeletionPolicy: 'Retain',
    });
    expect(resourceOf(tables.apiKeysTable).Properties.TimeToLiveSpecification).toBeUndefined();
    expect(resourceOf(tables.apiRequestCountsTable)).toMatchObject({
      Properties: {
        KeySchema: [{ AttributeName: 'window', KeyType: 'HASH' }],
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      },
      DeletionPolicy: 'Delete',
    });
  });

  it('keys the salts table on period with TTL expiresAt, and lets it be destroyed', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        KeySchema: [{ AttributeName: 'period', KeyType: 'HASH' }],
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      },
      DeletionPolicy: 'Delete',
    });
  });

  it('keys the raw clicks table on linkShard + clickKey, with TTL and a NEW_IMAGE stream, retained under its old logical ID', () => {
    // The logical ID the deployed stack already has: a new one would leave the old table behind under a new name.
    expect(logicalId(tables.rawClicksTable)).toBe('RawClicksTable1D6702BB');
    expect(resourceOf(tables.rawClicksTable)).toMatchObject({
      Properties: {
        KeySchema: [
          { AttributeName: 'linkShard', KeyType: 'HASH' },
          { AttributeName: 'clickKey', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'linkShard', AttributeType: 'S' },
          { AttributeName: 'clickKey', AttributeType: 'S' },
        ],
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it.each([
    ['quarter-hour aggregates', () => tables.quarterHourTable, 'QuarterHourAggregatesTable', 'target', 'slot', 'expiresAt'],
    ['daily aggregates', () => tables.dailyTable, 'DailyAggregatesTable', 'target', 'day', 'expiresAt'],
    ['monthly aggregates', () => tables.monthlyTable, 'MonthlyAggregatesTable', 'target', 'month', undefined],
    ['pending rollups', () => tables.pendingRollupsTable, 'PendingRollupsTable', 'partition', 'marker', undefined],
  ])('keys the %s table (%s) on %s + %s, TTL %s, no stream, retained', (_name, table, idPrefix, partitionKey, sortKey, ttl) => {
    expect(logicalId(table())).toMatch(new RegExp(`^${idPrefix}[0-9A-F]{8}$`));
    const resource = resourceOf(table());
    expect(resource).toMatchObject({
      Properties: {
        KeySchema: [
          { AttributeName: partitionKey, KeyType: 'HASH' },
          { AttributeName: sortKey, KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: partitionKey, AttributeType: 'S' },
          { AttributeName: sortKey, AttributeType: 'S' },
        ],
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    expect(resource.Properties.TimeToLiveSpecification).toEqual(ttl === undefined ? undefined : { AttributeName: ttl, Enabled: true });
    expect(resource.Properties.StreamSpecification).toBeUndefined();
  });

  it('has no hourly table any more (the quarter-hour table replaces it)', () => {
    expect(Object.keys(template.findResources('AWS::DynamoDB::Table')).filter((id) => id.startsWith('Hourly'))).toEqual([]);
  });
});
