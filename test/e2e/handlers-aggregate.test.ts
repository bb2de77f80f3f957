/**
 * The aggregate handler in-process on DynamoDB Local: one hourly update per link-hour, and a
 * partial batch response that never makes Lambda re-apply records that were already counted
 * for a record that can never succeed.
 */
import { CreateTableCommand, DeleteTableCommand, GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { RawClick } from '../../lambdas/domain/click';
import { handler } from '../../lambdas/handlers/aggregate';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/emulators/dynamodb-local';
import { rawClick } from '../fixtures/clicks';
import { dynamoClient, REGION, LOCAL_AWS_ENV } from '../fixtures/local/emulators';

jest.setTimeout(60_000);

const HOURLY_TABLE = 'HourlyAggregatesForTest';
let dynamoLocal: DynamoDbLocal;
let dynamo: DynamoDBClient;
const savedEnv = { ...process.env };
let sequence = 0;

type StreamImage = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;

function insert(image: object): DynamoDBRecord {
  sequence += 1;
  return {
    eventID: `event-${sequence}`,
    eventName: 'INSERT',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: REGION,
    dynamodb: {
      SequenceNumber: String(1000 + sequence).padStart(21, '0'),
      NewImage: marshall(image, { removeUndefinedValues: true }) as StreamImage,
      StreamViewType: 'NEW_IMAGE',
    },
  };
}

function click(code: string, changes: Partial<RawClick> = {}): RawClick {
  sequence += 1;
  return rawClick({ code, eventId: `00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`, ts: '2026-11-26T05:10:00.000Z', ...changes });
}

async function hourly(code: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await dynamo.send(
    new GetItemCommand({ TableName: HOURLY_TABLE, Key: marshall({ code, hour: '2026-11-26T05' }), ConsistentRead: true }),
  );
  return Item === undefined ? undefined : unmarshall(Item);
}

async function createHourlyTable(): Promise<void> {
  await dynamo.send(
    new CreateTableCommand({
      TableName: HOURLY_TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'code', AttributeType: 'S' },
        { AttributeName: 'hour', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'code', KeyType: 'HASH' },
        { AttributeName: 'hour', KeyType: 'RANGE' },
      ],
    }),
  );
}

beforeAll(async () => {
  dynamoLocal = await startDynamoDbLocal({});
  dynamo = dynamoClient(dynamoLocal.endpoint);
  Object.assign(process.env, {
    ...LOCAL_AWS_ENV,
    AWS_ENDPOINT_URL_DYNAMODB: dynamoLocal.endpoint,
    HOURLY_TABLE_NAME: HOURLY_TABLE,
    POWERTOOLS_METRICS_NAMESPACE: 'ClickAnalytics',
  });
  await createHourlyTable();
});

afterAll(async () => {
  process.env = savedEnv;
  dynamo?.destroy();
  await dynamoLocal?.stop();
});

describe('aggregate handler', () => {
  it('folds a batch into one item per link-hour: human and bot clicks apart, breakdowns over humans', async () => {
    const event: DynamoDBStreamEvent = {
      Records: [
        insert(click('fold', { referrer: 'twitter.com', country: 'SE' })),
        insert(click('fold', { referrer: 'twitter.com', country: 'US' })),
        insert(click('fold', { bot: true, botReason: 'link-preview', referrer: 'slack.com' })),
      ],
    };
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    expect(await hourly('fold')).toMatchObject({
      clicks: 2,
      botClicks: 1,
      'referrer:twitter.com': 2,
      'country:SE': 1,
      'country:US': 1,
    });
    expect(await hourly('fold')).not.toHaveProperty(['referrer:slack.com']);
  });

  it('skips a malformed record instead of failing it, so the valid ones are not re-applied on a retry', async () => {
    const malformed = insert({ ...click('skip'), visitor: 'not-a-hash' });
    const event: DynamoDBStreamEvent = { Records: [insert(click('skip')), malformed, insert(click('skip'))] };
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    expect(await hourly('skip')).toMatchObject({ clicks: 2, botClicks: 0 });
  });

  it('ignores records that are not INSERTs', async () => {
    const modify = { ...insert(click('modify')), eventName: 'MODIFY' as const };
    expect(await handler({ Records: [modify] })).toEqual({ batchItemFailures: [] });
    expect(await hourly('modify')).toBeUndefined();
  });

  it('reports every record of a link-hour whose update failed, so Lambda retries them', async () => {
    await dynamo.send(new DeleteTableCommand({ TableName: HOURLY_TABLE }));
    try {
      const records = [insert(click('down')), insert(click('down'))];
      const response = await handler({ Records: records });
      expect(response.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(
        records.map((record) => record.dynamodb?.SequenceNumber).sort(),
      );
    } finally {
      await createHourlyTable();
    }
  });
});
