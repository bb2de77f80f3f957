import { Match } from 'aws-cdk-lib/assertions';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { synthesize } from './synth';

const { stack, template, logicalId } = synthesize();
const { tables } = stack;

describe('ClickTables', () => {
  const resourceOf = (table: Table) => template.toJSON().Resources[logicalId(table)];

  it('creates exactly the seven tables of docs/design.md, on demand, with AWS-managed encryption', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 7);
    template.allResourcesProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
    });
  });

  it('keeps point-in-time recovery on every data table, and none on the salts table (salts must die)', () => {
    const pitr = (table: Table): unknown => resourceOf(table).Properties.PointInTimeRecoverySpecification;
    for (const table of [
      tables.linksTable, tables.rawClicksTable, tables.quarterHourTable, tables.dailyTable, tables.monthlyTable, tables.pendingRollupsTable,
    ]) {
      expect(pitr(table)).toEqual({ PointInTimeRecoveryEnabled: true });
    }
    expect(pitr(tables.saltsTable)).toEqual({ PointInTimeRecoveryEnabled: false });
  });

  it('keys the links table on code, with no TTL or stream, and retains it', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        KeySchema: [{ AttributeName: 'code', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'code', AttributeType: 'S' }],
        TimeToLiveSpecification: Match.absent(),
        StreamSpecification: Match.absent(),
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
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
