/**
 * provision() on DynamoDB Local against tables left by an older template (the data folder is
 * kept across restarts): a global index, stream view type or TTL attribute that differs is brought in
 * line; a changed key schema stops the start with nothing changed or deleted.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateTimeToLiveCommand,
  type StreamViewType,
} from '@aws-sdk/client-dynamodb';
import { DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/emulators/dynamodb-local';
import { type KinesisEmulator, kinesisClient, startKinesis } from '../../local/emulators/kinesis';
import { type SqsEmulator, startSqs } from '../../local/emulators/sqs';
import { keyValueStoreArn, provision } from '../../local/provision';
import type { CfnTemplate } from '../../local/types';
import { LOCAL_ACCOUNT_ID } from '../../lambdas/contract';
import { dynamoClient, REGION, sqsClient, stringKeys } from '../fixtures/local/emulators';

jest.setTimeout(30_000);

let dynamoLocal: DynamoDbLocal;
let sqsEmulator: SqsEmulator;
let dynamo: DynamoDBClient;
let sqs: SQSClient;

beforeAll(async () => {
  [dynamoLocal, sqsEmulator] = await Promise.all([startDynamoDbLocal({}), startSqs({ region: REGION })]);
  dynamo = dynamoClient(dynamoLocal.endpoint);
  sqs = sqsClient(sqsEmulator.endpoint);
}, 60_000);

afterAll(async () => {
  dynamo?.destroy();
  sqs?.destroy();
  await Promise.all([dynamoLocal?.stop(), sqsEmulator?.stop()]);
});

/** A template with one table, as CloudFormation describes it. */
function templateWith(tableName: string, stream: StreamViewType | undefined, ttlAttribute: string | undefined): CfnTemplate {
  return {
    Resources: {
      [tableName]: {
        Type: 'AWS::DynamoDB::Table',
        Properties: {
          ...stringKeys('code'),
          BillingMode: 'PAY_PER_REQUEST',
          ...(stream ? { StreamSpecification: { StreamViewType: stream } } : {}),
          ...(ttlAttribute ? { TimeToLiveSpecification: { AttributeName: ttlAttribute, Enabled: true } } : {}),
        },
      },
    },
  };
}

/** The table an older template left behind. */
async function existingTable(tableName: string, stream: StreamViewType | undefined, ttlAttribute: string | undefined): Promise<string | undefined> {
  const { TableDescription } = await dynamo.send(
    new CreateTableCommand({
      TableName: tableName,
      ...stringKeys('code'),
      BillingMode: 'PAY_PER_REQUEST',
      ...(stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: stream } } : {}),
    }),
  );
  if (ttlAttribute) {
    await dynamo.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { Enabled: true, AttributeName: ttlAttribute } }));
  }
  return TableDescription?.LatestStreamArn;
}

async function actualSettings(tableName: string): Promise<{ stream?: string; streamArn?: string; ttl?: string }> {
  const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: tableName }));
  const { TimeToLiveDescription } = await dynamo.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  return {
    stream: Table?.StreamSpecification?.StreamEnabled ? Table.StreamSpecification.StreamViewType : undefined,
    streamArn: Table?.StreamSpecification?.StreamEnabled ? Table.LatestStreamArn : undefined,
    ttl: TimeToLiveDescription?.TimeToLiveStatus === 'ENABLED' ? TimeToLiveDescription.AttributeName : undefined,
  };
}

describe('provision on DynamoDB Local, over a table from an older template', () => {
  it('switches a stream of another view type to the template\'s, and the TTL to the template\'s attribute', async () => {
    const oldStreamArn = await existingTable('Clicks1', 'KEYS_ONLY', 'deleteAt');
    const lines: string[] = [];
    const provisioned = await provision(templateWith('Clicks1', 'NEW_IMAGE', 'expiresAt'), dynamo, sqs, (line) => lines.push(line));

    const actual = await actualSettings('Clicks1');
    expect(actual).toEqual({ stream: 'NEW_IMAGE', streamArn: expect.any(String), ttl: 'expiresAt' });
    expect(actual.streamArn).not.toBe(oldStreamArn);
    // The pollers read the stream that is there now.
    expect(provisioned.tables.Clicks1).toEqual({ tableName: 'Clicks1', ttlAttribute: 'expiresAt', streamArn: actual.streamArn });
    expect(provisioned.physical.Clicks1.attributes.StreamArn).toBe(actual.streamArn);
    expect(lines).toEqual([
      expect.stringMatching(/Clicks1: stream KEYS_ONLY -> NEW_IMAGE/),
      expect.stringMatching(/Clicks1: TTL attribute deleteAt -> expiresAt/),
    ]);

    // Run again (the next start): nothing changes, the stream is the same one.
    lines.length = 0;
    await provision(templateWith('Clicks1', 'NEW_IMAGE', 'expiresAt'), dynamo, sqs, (line) => lines.push(line));
    expect(await actualSettings('Clicks1')).toEqual(actual);
    expect(lines).toEqual([]);
  });

  it('turns on a stream and TTL the template added', async () => {
    await existingTable('Clicks2', undefined, undefined);
    const provisioned = await provision(templateWith('Clicks2', 'NEW_AND_OLD_IMAGES', 'expiresAt'), dynamo, sqs);
    const actual = await actualSettings('Clicks2');
    expect(actual).toEqual({ stream: 'NEW_AND_OLD_IMAGES', streamArn: expect.any(String), ttl: 'expiresAt' });
    expect(provisioned.tables.Clicks2.streamArn).toBe(actual.streamArn);
  });

  it('turns off a stream and TTL the template dropped', async () => {
    await existingTable('Clicks3', 'NEW_IMAGE', 'expiresAt');
    const provisioned = await provision(templateWith('Clicks3', undefined, undefined), dynamo, sqs);
    expect(await actualSettings('Clicks3')).toEqual({ stream: undefined, streamArn: undefined, ttl: undefined });
    expect(provisioned.tables.Clicks3).toEqual({ tableName: 'Clicks3', ttlAttribute: undefined, streamArn: undefined });
  });

  it('refuses a changed key schema, naming the table and asking to move DATA_DIR aside, and changes or drops nothing', async () => {
    // The raw clicks table as the previous template keyed it (by code), with a click in it.
    await dynamo.send(
      new CreateTableCommand({
        TableName: 'RawClicksTable1D6702BB',
        BillingMode: 'PAY_PER_REQUEST',
        ...stringKeys('code', 'clickKey'),
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
      }),
    );
    const click = { code: { S: 'abc' }, clickKey: { S: '2026-03-01T10:00:00.000Z#e1' } };
    await dynamo.send(new PutItemCommand({ TableName: 'RawClicksTable1D6702BB', Item: click }));
    // A table whose stream the new template changes, listed first: it must not be touched either.
    await existingTable('Clicks5', 'KEYS_ONLY', undefined);
    const before = await actualSettings('Clicks5');

    const template: CfnTemplate = {
      Resources: {
        ...templateWith('Clicks5', 'NEW_IMAGE', undefined).Resources,
        RawClicksTable1D6702BB: {
          Type: 'AWS::DynamoDB::Table',
          Properties: {
            ...stringKeys('linkShard', 'clickKey'),
            BillingMode: 'PAY_PER_REQUEST',
            StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
          },
        },
        ...templateWith('QuarterHourAggregatesTable', undefined, 'expiresAt').Resources,
      },
    };
    const failure = provision(template, dynamo, sqs);
    await expect(failure).rejects.toThrow(
      'RawClicksTable1D6702BB has code:S:HASH,clickKey:S:RANGE local indexes[], the stack now defines linkShard:S:HASH,clickKey:S:RANGE local indexes[]',
    );
    await expect(failure).rejects.toThrow(/Nothing was changed or deleted\. Move the data folder \(DATA_DIR\) aside/);

    const { Item } = await dynamo.send(new GetItemCommand({ TableName: 'RawClicksTable1D6702BB', Key: click }));
    expect(Item).toEqual(click);
    expect(await actualSettings('Clicks5')).toEqual(before);
    await expect(dynamo.send(new DescribeTableCommand({ TableName: 'QuarterHourAggregatesTable' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('adds a global index the template gained, over the items already there, and drops one it lost', async () => {
    await existingTable('Links1', undefined, undefined);
    await dynamo.send(new PutItemCommand({ TableName: 'Links1', Item: { code: { S: 'kept' }, owner: { S: 'alice' }, createdAt: { S: '2026-12-01T00:00:00Z' } } }));
    const keys = stringKeys('owner', 'createdAt');
    const withIndex = (indexName: string): CfnTemplate => {
      const { Links1 } = templateWith('Links1', undefined, undefined).Resources;
      const Properties = {
        ...Links1.Properties,
        AttributeDefinitions: [...stringKeys('code').AttributeDefinitions, ...keys.AttributeDefinitions],
        GlobalSecondaryIndexes: [{ IndexName: indexName, KeySchema: keys.KeySchema, Projection: { ProjectionType: 'ALL' } }],
      };
      return { Resources: { Links1: { ...Links1, Properties } } };
    };
    const lines: string[] = [];
    await provision(withIndex('byOwner'), dynamo, sqs, (line) => lines.push(line));
    expect(lines).toEqual([expect.stringMatching(/Links1: global indexes \[\] -> \[byOwner\]/)]);
    const byOwner = await dynamo.send(
      new QueryCommand({ TableName: 'Links1', IndexName: 'byOwner', KeyConditionExpression: '#o = :o', ExpressionAttributeNames: { '#o': 'owner' }, ExpressionAttributeValues: { ':o': { S: 'alice' } } }),
    );
    expect(byOwner.Items?.map((item) => item.code?.S)).toEqual(['kept']);

    // Renamed in the template: the old index goes, the new one comes; the items stay.
    await provision(withIndex('byOwner2'), dynamo, sqs);
    const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: 'Links1' }));
    expect(Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName)).toEqual(['byOwner2']);
    expect((await dynamo.send(new GetItemCommand({ TableName: 'Links1', Key: { code: { S: 'kept' } } }))).Item?.owner?.S).toBe('alice');
    // Nothing to do the next time.
    const again: string[] = [];
    await provision(withIndex('byOwner2'), dynamo, sqs, (line) => again.push(line));
    expect(again).toEqual([]);
  });
});

describe('Kinesis streams (the edge mode click stream)', () => {
  let kinesalite: KinesisEmulator;
  let kinesis: KinesisClient;

  beforeAll(async () => {
    kinesalite = await startKinesis({});
    kinesis = kinesisClient(kinesalite.endpoint);
  });

  afterAll(async () => {
    kinesis?.destroy();
    await kinesalite?.stop();
  });

  const streams: CfnTemplate = {
    Resources: {
      ClickStream: { Type: 'AWS::Kinesis::Stream', Properties: { StreamModeDetails: { StreamMode: 'ON_DEMAND' }, RetentionPeriodHours: 24 } },
      NamedStream: { Type: 'AWS::Kinesis::Stream', Properties: { Name: 'named-clicks', ShardCount: 2 } },
    },
  };
  const shardCount = async (streamName: string): Promise<number | undefined> =>
    (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }))).StreamDescriptionSummary?.OpenShardCount;

  it('creates each stream with the shards AWS starts it with, and gives Ref and Fn::GetAtt Arn their values', async () => {
    const provisioned = await provision(streams, dynamo, sqs, () => undefined, kinesis);
    expect(provisioned.streams.ClickStream.streamName).toBe('ClickStream');
    expect(provisioned.streams.NamedStream.streamName).toBe('named-clicks');
    expect([await shardCount('ClickStream'), await shardCount('named-clicks')]).toEqual([4, 2]);
    expect(provisioned.physical.NamedStream).toEqual({ ref: 'named-clicks', attributes: { Arn: provisioned.streams.NamedStream.streamArn } });
    expect(provisioned.streams.NamedStream.streamArn).toMatch(/^arn:aws:kinesis:[^:]+:\d+:stream\/named-clicks$/);
    // A second start finds them and changes nothing.
    expect((await provision(streams, dynamo, sqs, () => undefined, kinesis)).streams).toEqual(provisioned.streams);
  });

  it('refuses a template with a stream when no Kinesis emulator is running', async () => {
    await expect(provision(streams, dynamo, sqs)).rejects.toThrow(/Kinesis stream \(ClickStream\)/);
  });
});

describe('CloudFront KeyValueStores (the edge redirect store)', () => {
  it('gives Ref the name and Fn::GetAtt Arn and Id the local store ARN kvs-sync is configured with', async () => {
    const template: CfnTemplate = {
      Resources: { RedirectStore: { Type: 'AWS::CloudFront::KeyValueStore', Properties: { Name: 'redirect-store' } } },
    };
    const { physical } = await provision(template, dynamo, sqs);
    expect(physical.RedirectStore).toEqual({
      ref: 'redirect-store',
      attributes: { Arn: keyValueStoreArn('RedirectStore'), Id: 'RedirectStore' },
    });
    expect(keyValueStoreArn('RedirectStore')).toBe(`arn:aws:cloudfront::${LOCAL_ACCOUNT_ID}:key-value-store/RedirectStore`);
  });
});
