/**
 * provision() on DynamoDB Local against tables left by an older template (the data folder is
 * kept across restarts): a stream view type or TTL attribute that differs is brought in line.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
  type StreamViewType,
} from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/emulators/dynamodb-local';
import { type SqsEmulator, startSqs } from '../../local/emulators/sqs';
import { provision } from '../../local/provision';
import type { CfnTemplate } from '../../local/types';
import { dynamoClient, REGION, sqsClient } from '../fixtures/local/emulators';

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

const KEYS = {
  KeySchema: [{ AttributeName: 'code', KeyType: 'HASH' as const }],
  AttributeDefinitions: [{ AttributeName: 'code', AttributeType: 'S' as const }],
};

/** A template with one table, as CloudFormation describes it. */
function templateWith(tableName: string, stream: StreamViewType | undefined, ttlAttribute: string | undefined): CfnTemplate {
  return {
    Resources: {
      [tableName]: {
        Type: 'AWS::DynamoDB::Table',
        Properties: {
          ...KEYS,
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
      ...KEYS,
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

  it('still refuses a changed key schema with the "delete DATA_DIR" error', async () => {
    await existingTable('Clicks4', undefined, undefined);
    const template: CfnTemplate = {
      Resources: {
        Clicks4: {
          Type: 'AWS::DynamoDB::Table',
          Properties: { ...KEYS, AttributeDefinitions: [{ AttributeName: 'code', AttributeType: 'N' }], BillingMode: 'PAY_PER_REQUEST' },
        },
      },
    };
    await expect(provision(template, dynamo, sqs)).rejects.toThrow(/created from an older template.*Delete the data folder \(DATA_DIR\)/);
  });
});
