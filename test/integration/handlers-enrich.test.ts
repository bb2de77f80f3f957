/**
 * The enrich handler in-process on DynamoDB Local, through a proxy that records each request and
 * can leave items unprocessed as a throttled BatchWriteItem does: raw clicks go out 25 to a
 * request, duplicates within a batch are written once, unprocessed items are retried, and a bad
 * message or an item that never gets written fails alone.
 */
import path from 'node:path';
import { type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { linkShardOf, type ClickMessage } from '../../lambdas/domain/click';
import { handler } from '../../lambdas/handlers/enrich';
import { clickMessage } from '../fixtures/clicks';
import { createTable, type DynamoForHandlers, REGION, startDynamoForHandlers } from '../fixtures/local/emulators';
import type { DynamoProxy } from '../fixtures/local/dynamo-proxy';
import { eventIdOfPut, rawClicksTable, type RawClicksTable } from './helpers/raw-clicks-table';

jest.setTimeout(60_000);

const RAW_TABLE = 'RawClicksForTest';
let local: DynamoForHandlers;
let dynamo: DynamoDBClient;
let proxy: DynamoProxy;
let rawClicks: RawClicksTable;
let messagesMade = 0;

/** A click message of its own (a new event id) on the code. */
function message(code: string, changes: Partial<ClickMessage> = {}): ClickMessage {
  messagesMade += 1;
  return clickMessage({ code, eventId: `00000000-0000-4000-8000-${String(messagesMade).padStart(12, '0')}`, ...changes });
}

/** An SQS record of the body; every record has its own message id, as redeliveries do. */
function sqsRecord(body: ClickMessage | string): SQSRecord {
  messagesMade += 1;
  return {
    messageId: `message-${messagesMade}`,
    receiptHandle: `receipt-${messagesMade}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'local', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${REGION}:000000000000:clicks`,
    awsRegion: REGION,
  };
}

/** The table's key of a message's raw click. */
const keyOf = ({ code, eventId, ts }: ClickMessage): string => `${linkShardOf(code, eventId)} ${ts}#${eventId}`;

beforeAll(async () => {
  local = await startDynamoForHandlers({
    RAW_CLICKS_TABLE_NAME: RAW_TABLE,
    GEOIP_DATABASE: path.resolve(__dirname, '../fixtures/maxmind/GeoIP2-Country-Test.mmdb'),
    GEOIP_DATABASE_TYPE: 'maxmind',
  });
  ({ dynamo, proxy } = local);
  rawClicks = rawClicksTable(dynamo, proxy, RAW_TABLE);
  await createTable(dynamo, RAW_TABLE, ['linkShard', 'clickKey']);
});

afterAll(() => local?.stop());

afterEach(() => proxy.intercept(undefined));

describe('enrich handler', () => {
  it('stores 250 records with duplicates among them once per click, 25 to a BatchWriteItem; a bad message fails alone', async () => {
    const distinct = Array.from({ length: 200 }, () => message('batch'));
    // 49 redeliveries spread over the batch, some of them right after their original.
    const redelivered = Array.from({ length: 49 }, (_, index) => distinct[(index * 37) % distinct.length]);
    const bodies: (ClickMessage | string)[] = [...distinct, ...redelivered];
    bodies.splice(120, 0, '{"v": 1, "eventId": "not json');
    const records = bodies.map(sqsRecord);
    expect(records).toHaveLength(250);
    const from = proxy.requests.length;

    expect(await handler({ Records: records })).toEqual({ batchItemFailures: [{ itemIdentifier: records[120].messageId }] });

    const writes = rawClicks.batchWrites(from);
    expect(writes.map((puts) => puts.length)).toEqual([25, 25, 25, 25, 25, 25, 25, 25]);
    expect(new Set(writes.flat().map(eventIdOfPut)).size).toBe(200);
    expect(proxy.requests.slice(from).map(({ operation }) => operation)).toEqual(writes.map(() => 'BatchWriteItem'));
    expect(await rawClicks.storedKeys('batch')).toEqual(distinct.map(keyOf).sort());
  });

  it('overwrites a redelivered click with the same item', async () => {
    const event: SQSEvent = { Records: [message('again'), message('again', { referrerHost: null })].map(sqsRecord) };
    await handler(event);
    const before = await rawClicks.storedItems('again');
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    expect(await rawClicks.storedItems('again')).toEqual(before);
    expect(before).toHaveLength(2);
  });

  it('retries the items DynamoDB left unprocessed until they are written', async () => {
    const messages = Array.from({ length: 30 }, () => message('throttled'));
    // Unprocessed on their first attempt only.
    const throttledOnce = new Set(messages.slice(3, 20).map(({ eventId }) => eventId));
    rawClicks.leaveUnprocessed((eventId) => throttledOnce.delete(eventId));
    const from = proxy.requests.length;
    expect(await handler({ Records: messages.map(sqsRecord) })).toEqual({ batchItemFailures: [] });
    expect(await rawClicks.storedKeys('throttled')).toEqual(messages.map(keyOf).sort());
    expect(rawClicks.batchWrites(from).map((puts) => puts.length)).toEqual([25, 5, 17]);
  });

  it('fails only the records whose items stay unprocessed after every attempt', async () => {
    const messages = Array.from({ length: 10 }, () => message('stuck'));
    const stuck = new Set([messages[2].eventId, messages[7].eventId]);
    rawClicks.leaveUnprocessed((eventId) => stuck.has(eventId));
    const records = messages.map(sqsRecord);
    const response = await handler({ Records: records });
    expect(response.batchItemFailures.map(({ itemIdentifier }) => itemIdentifier).sort()).toEqual([records[2].messageId, records[7].messageId].sort());
    expect(await rawClicks.storedKeys('stuck')).toEqual(messages.filter(({ eventId }) => !stuck.has(eventId)).map(keyOf).sort());
  });
});
