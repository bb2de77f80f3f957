/**
 * The standard-log backfill in-process on DynamoDB Local and fauxqs S3, the handlers reaching DynamoDB
 * through the proxy that records their requests: a click the real-time consumer missed is stored once; one
 * it stored is left exactly as it is (no put at all, so no stream record and no second count); the object
 * is deleted once read; garbage lines and objects are skipped, not failed; a failure fails only its message.
 */
import { gzipSync } from 'node:zlib';
import { CreateBucketCommand, GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { KinesisStreamEvent, SQSEvent, SQSRecord } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS } from '../../lambdas/contract';
import { edgeEventId, formatEdgeLogRecord, percentDecode, type EdgeLogField } from '../../lambdas/domain/edge-log';
import { objectCreatedNotification } from '../../lambdas/domain/s3-event';
import { formatStandardLogLine, standardLogObjectKey } from '../../lambdas/domain/standard-log';
import { handler } from '../../lambdas/handlers/backfill-edge-logs';
import { handler as realtimeHandler } from '../../lambdas/handlers/enrich-edge';
import { startSqs, type SqsEmulator } from '../../local/emulators/sqs';
import { EDGE_REDIRECT_FIELDS, edgeConsumerEnvironment } from '../fixtures/edge-log';
import { createTable, type DynamoForHandlers, REGION, startDynamoForHandlers } from '../fixtures/local/emulators';
import { rawClicksTable, type RawClicksTable } from './helpers/raw-clicks-table';

jest.setTimeout(60_000);

const TABLES = { raw: 'RawClicksForBackfillTest', links: 'LinksForBackfillTest', salts: 'SaltsForBackfillTest' };
const { raw: RAW_TABLE, links: LINKS_TABLE, salts: SALTS_TABLE } = TABLES;
const BUCKET = 'edge-access-logs';
const OWNER = 'owner-backfill';

let local: DynamoForHandlers;
let fauxqs: SqsEmulator;
let s3: S3Client;
let rawClicks: RawClicksTable;
let made = 0;

/** A request's values (the User-Agent as sent, not as logged) with a request id of its own, on the code. */
function request(code: string, changes: Partial<Record<EdgeLogField, string>> = {}): Record<EdgeLogField, string> {
  made += 1;
  return {
    ...EDGE_REDIRECT_FIELDS,
    'cs-user-agent': percentDecode(EDGE_REDIRECT_FIELDS['cs-user-agent']),
    'cs-uri-stem': `/${code}`,
    'x-edge-request-id': `backfill-request-${made}-${code}`,
    ...changes,
  };
}

/** Writes a delivered object of these lines (gzip unless given raw bytes); answers its key. */
async function deliver(content: readonly string[] | Buffer): Promise<string> {
  made += 1;
  const key = standardLogObjectKey(LOCAL_ACCOUNT_ID, 'EBACKFILLTEST1', new Date('2026-11-26T05:00:00Z'), `object ${made}`);
  const body = Buffer.isBuffer(content) ? content : gzipSync(`${content.join('\n')}\n`);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  return key;
}

function message(body: string): SQSRecord {
  made += 1;
  return {
    messageId: `message-${made}`,
    receiptHandle: `receipt-${made}`,
    body,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1795671608000', SenderId: 'S3', ApproximateFirstReceiveTimestamp: '1795671608000' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${REGION}:${LOCAL_ACCOUNT_ID}:access-log-notifications`,
    awsRegion: REGION,
  };
}

const notificationOf = (key: string, bucket = BUCKET): SQSRecord =>
  message(objectCreatedNotification({ region: REGION, bucket, key, size: 1, eTag: 'etag', at: new Date() }));
const eventOf = (records: readonly SQSRecord[]): SQSEvent => ({ Records: [...records] });

async function exists(key: string): Promise<boolean> {
  try {
    await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return true;
  } catch (error) {
    if (error instanceof NoSuchKey) return false;
    throw error;
  }
}

const eventIdsStored = async (code: string): Promise<string[]> => (await rawClicks.storedItems(code)).map((item) => String(item.eventId)).sort();
const eventIdsOf = (requests: readonly Record<EdgeLogField, string>[]): string[] => requests.map((values) => edgeEventId(values['x-edge-request-id'])).sort();
const rawPutsSince = (from: number): number =>
  local.proxy.requests.slice(from).filter(({ operation, body }) => operation === 'PutItem' && body.TableName === RAW_TABLE).length;

beforeAll(async () => {
  fauxqs = await startSqs({ region: REGION });
  local = await startDynamoForHandlers({ ...edgeConsumerEnvironment(TABLES), AWS_ENDPOINT_URL_S3: fauxqs.endpoint });
  s3 = new S3Client({ region: REGION, credentials: LOCAL_CREDENTIALS, endpoint: fauxqs.endpoint, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  rawClicks = rawClicksTable(local.dynamo, local.proxy, RAW_TABLE);
  await Promise.all([
    createTable(local.dynamo, RAW_TABLE, ['linkShard', 'clickKey']),
    createTable(local.dynamo, LINKS_TABLE, ['code']),
    createTable(local.dynamo, SALTS_TABLE, ['period']),
  ]);
  const documents = DynamoDBDocumentClient.from(local.dynamo);
  for (const code of ['missed', 'both', 'mixed', 'isolated']) {
    await documents.send(new PutCommand({ TableName: LINKS_TABLE, Item: { code, url: `https://example.com/${code}`, owner: OWNER, createdAt: '2026-11-01T00:00:00.000Z' } }));
  }
});

afterAll(async () => {
  s3?.destroy();
  await local?.stop();
  await fauxqs?.stop();
});

describe('backfill-edge-logs handler', () => {
  it('stores the clicks the real-time log missed, as the real-time consumer would have, and deletes the object', async () => {
    const requests = Array.from({ length: 130 }, () => request('missed'));
    const key = await deliver(requests.map(formatStandardLogLine));
    expect(await handler(eventOf([notificationOf(key)]))).toEqual({ batchItemFailures: [] });
    expect(await eventIdsStored('missed')).toEqual(eventIdsOf(requests));
    expect(await exists(key)).toBe(false);

    // The same request through the real-time consumer writes the very same item.
    const [first] = await rawClicks.storedItems('missed');
    const same = requests.find((values) => edgeEventId(values['x-edge-request-id']) === first.eventId);
    if (same === undefined) throw new Error('stored an event id of no request');
    const realtime: KinesisStreamEvent = {
      Records: [{ kinesis: { data: Buffer.from(formatEdgeLogRecord(same)).toString('base64'), sequenceNumber: '1', partitionKey: 'p', kinesisSchemaVersion: '1.0', approximateArrivalTimestamp: 1 }, eventSource: 'aws:kinesis', eventVersion: '1.0', eventID: 'e', eventName: 'aws:kinesis:record', invokeIdentityArn: 'arn', awsRegion: REGION, eventSourceARN: 'arn' }],
    };
    const before = await rawClicks.storedItems('missed');
    expect(await realtimeHandler(realtime)).toEqual({ batchItemFailures: [] });
    expect(await rawClicks.storedItems('missed')).toEqual(before);
  });

  it('changes nothing for a click the real-time consumer stored: no put at all, so no stream record and no second count', async () => {
    const requests = Array.from({ length: 6 }, () => request('both'));
    const realtime: KinesisStreamEvent = {
      Records: requests.slice(0, 4).map((values, index) => ({
        kinesis: { data: Buffer.from(formatEdgeLogRecord(values)).toString('base64'), sequenceNumber: String(index), partitionKey: 'p', kinesisSchemaVersion: '1.0', approximateArrivalTimestamp: 1 },
        eventSource: 'aws:kinesis',
        eventVersion: '1.0',
        eventID: `e${index}`,
        eventName: 'aws:kinesis:record',
        invokeIdentityArn: 'arn',
        awsRegion: REGION,
        eventSourceARN: 'arn',
      })),
    };
    expect(await realtimeHandler(realtime)).toEqual({ batchItemFailures: [] });
    const before = await rawClicks.storedItems('both');
    expect(before).toHaveLength(4);

    const from = local.proxy.requests.length;
    const key = await deliver(requests.map(formatStandardLogLine));
    expect(await handler(eventOf([notificationOf(key)]))).toEqual({ batchItemFailures: [] });
    // Only the two missed clicks were put; the four stored ones are exactly as they were.
    expect(rawPutsSince(from)).toBe(2);
    const after = await rawClicks.storedItems('both');
    expect(after).toHaveLength(6);
    for (const item of before) expect(after).toContainEqual(item);

    // A second delivery of the notification: the object is gone, which means it was done.
    expect(await handler(eventOf([notificationOf(key)]))).toEqual({ batchItemFailures: [] });
    expect(await rawClicks.storedItems('both')).toEqual(after);
  });

  it('skips garbage and origin-answered lines, an unreadable object and the test event, and stores the rest', async () => {
    const clicks = [request('mixed'), request('mixed'), request('mixed')];
    const key = await deliver([
      formatStandardLogLine(clicks[0]),
      'not json',
      '{"timestamp(ms)": "1"}',
      '',
      formatStandardLogLine(request('mixed', { 'x-edge-detailed-result-type': 'Miss' })),
      `{"c-ip": "${'x'.repeat(20_000)}"}`,
      formatStandardLogLine(clicks[1]),
      formatStandardLogLine(request('unknown-code')),
      '[1,2,3]',
      formatStandardLogLine(clicks[2]),
    ]);
    const unreadable = await deliver(Buffer.from('this is not gzip data'));
    const testEvent = message(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: '2026-11-26T05:00:00Z', Bucket: BUCKET }));
    expect(await handler(eventOf([notificationOf(key), notificationOf(unreadable), testEvent]))).toEqual({ batchItemFailures: [] });
    expect(await eventIdsStored('mixed')).toEqual(eventIdsOf(clicks));
    expect(await exists(key)).toBe(false);
    // Left for the bucket's expiry: no retry could read it.
    expect(await exists(unreadable)).toBe(true);
  });

  it('fails only the message whose object cannot be fetched', async () => {
    const requests = [request('isolated'), request('isolated')];
    const key = await deliver(requests.map(formatStandardLogLine));
    const broken = notificationOf(key, 'bucket-that-does-not-exist');
    const garbled = message('{"Records": [{"s3": {}}]}');
    const response = await handler(eventOf([broken, notificationOf(key), garbled]));
    expect(response.batchItemFailures.map(({ itemIdentifier }) => itemIdentifier).sort()).toEqual([broken.messageId, garbled.messageId].sort());
    expect(await eventIdsStored('isolated')).toEqual(eventIdsOf(requests));
  });
});
