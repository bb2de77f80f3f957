/**
 * The edge log consumer in-process on DynamoDB Local, through the proxy that can leave items
 * unprocessed: edge-answered redirects become raw clicks once per x-edge-request-id however often
 * they are delivered; origin-answered, malformed and unknown-link records are skipped without
 * failing the batch; a table failure fails only its records.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { DEFAULT_SALT_PERIOD } from '../../lambdas/contract';
import { saltPeriodOf, visitorHash } from '../../lambdas/domain/visitor';
import { edgeEventId, type EdgeLogField } from '../../lambdas/domain/edge-log';
import { handler } from '../../lambdas/handlers/enrich-edge';
import { edgeConsumerEnvironment, edgeLogLine } from '../fixtures/edge-log';
import { createTable, type DynamoForHandlers, REGION, startDynamoForHandlers } from '../fixtures/local/emulators';
import { USER_AGENTS } from '../fixtures/user-agents';
import { rawClicksTable, type RawClicksTable } from './helpers/raw-clicks-table';

jest.setTimeout(60_000);

const TABLES = { raw: 'RawClicksForEdgeTest', links: 'LinksForEdgeTest', salts: 'SaltsForEdgeTest' };
const { raw: RAW_TABLE, links: LINKS_TABLE, salts: SALTS_TABLE } = TABLES;
const OWNER = 'owner-edge';
/** 2026-11-26T05:40:07.123Z */
const CLICK_TIMESTAMP = '1795671607.123';

let local: DynamoForHandlers;
let dynamo: DynamoDBClient;
let rawClicks: RawClicksTable;
let recordsMade = 0;

/** A Kinesis record of one log line, as Lambda delivers it: base64 data, a trailing newline, its own sequence number. */
function kinesisRecord(line: string): KinesisStreamRecord {
  recordsMade += 1;
  const sequenceNumber = String(49_000_000_000_000_000_000 + recordsMade);
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: `partition-${recordsMade}`,
      sequenceNumber,
      data: Buffer.from(`${line}\n`, 'utf8').toString('base64'),
      approximateArrivalTimestamp: 1_795_671_608,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `shardId-000000000000:${sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: `arn:aws:iam::000000000000:role/edge-consumer`,
    awsRegion: REGION,
    eventSourceARN: `arn:aws:kinesis:${REGION}:000000000000:stream/edge-logs`,
  };
}

/** An edge-answered redirect of its own (a new x-edge-request-id) on the code. */
function edgeRedirect(code: string, changes: Partial<Record<EdgeLogField, string>> = {}): string {
  recordsMade += 1;
  return edgeLogLine({ 'cs-uri-stem': `/${code}`, 'x-edge-request-id': `edge-request-${recordsMade}-${code}`, timestamp: CLICK_TIMESTAMP, ...changes });
}

const requestIdOf = (line: string): string => line.split('\t')[5];
const eventOf = (lines: readonly string[]): KinesisStreamEvent => ({ Records: lines.map(kinesisRecord) });
const eventIdsStored = async (code: string): Promise<string[]> => (await rawClicks.storedItems(code)).map((item) => String(item.eventId)).sort();
const eventIdsOf = (lines: readonly string[]): string[] => lines.map((line) => edgeEventId(requestIdOf(line))).sort();

async function putLink(code: string, changes: Record<string, unknown> = {}): Promise<void> {
  await DynamoDBDocumentClient.from(dynamo).send(
    new PutCommand({ TableName: LINKS_TABLE, Item: { code, url: `https://example.com/${code}`, owner: OWNER, createdAt: '2026-11-01T00:00:00.000Z', ...changes } }),
  );
}

beforeAll(async () => {
  local = await startDynamoForHandlers(edgeConsumerEnvironment(TABLES));
  dynamo = local.dynamo;
  rawClicks = rawClicksTable(dynamo, local.proxy, RAW_TABLE);
  await Promise.all([createTable(dynamo, RAW_TABLE, ['linkShard', 'clickKey']), createTable(dynamo, LINKS_TABLE, ['code']), createTable(dynamo, SALTS_TABLE, ['period'])]);
  await Promise.all(['edge', 'again', 'mixed', 'stuck', 'salted'].map((code) => putLink(code)));
  await putLink('disabled', { disabled: true });
  await putLink('ownerless', { owner: null });
});

afterAll(() => local?.stop());

afterEach(() => {
  local.proxy.intercept(undefined);
  process.env.SALTS_TABLE_NAME = SALTS_TABLE;
});

describe('enrich-edge handler', () => {
  it('stores an edge click as the origin would: owner, visitor key under the shared salt, referrer, time', async () => {
    const line = edgeRedirect('salted', { 'c-ip': '198.51.100.7', 'cs-referer': 'https://t.co/xyz' });
    expect(await handler(eventOf([line]))).toEqual({ batchItemFailures: [] });

    const [stored] = await rawClicks.storedItems('salted');
    const { Item: salt } = await DynamoDBDocumentClient.from(dynamo).send(
      new GetCommand({ TableName: SALTS_TABLE, Key: { period: saltPeriodOf(new Date('2026-11-26T05:40:07.123Z'), DEFAULT_SALT_PERIOD).id } }),
    );
    expect(stored).toMatchObject({
      eventId: edgeEventId(requestIdOf(line)),
      owner: OWNER,
      ts: '2026-11-26T05:40:07.123Z',
      visitor: visitorHash(salt?.salt as Uint8Array, '198.51.100.7', USER_AGENTS.firefoxLinux),
      referrer: 'twitter.com',
      browser: 'Firefox',
      bot: false,
    });
    // Nothing of the address but the hash and the country reaches the table.
    expect(JSON.stringify(stored)).not.toContain('198.51.100');
  });

  it('writes each x-edge-request-id once, even when the same records are delivered twice and repeated within a batch', async () => {
    const lines = Array.from({ length: 40 }, () => edgeRedirect('again'));
    const event = eventOf([...lines, ...lines.slice(0, 7)]);
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    const before = await rawClicks.storedItems('again');
    expect(await eventIdsStored('again')).toEqual(eventIdsOf(lines));

    // Kinesis redelivers from a checkpoint: the same lines, as new records.
    expect(await handler(eventOf(lines))).toEqual({ batchItemFailures: [] });
    expect(await rawClicks.storedItems('again')).toEqual(before);
  });

  it('skips origin-answered, malformed and unknown-link records, and stores the rest of the batch', async () => {
    const clicks = Array.from({ length: 5 }, () => edgeRedirect('mixed'));
    const skipped = [
      edgeRedirect('mixed', { 'x-edge-detailed-result-type': 'Miss' }),
      edgeRedirect('mixed', { 'x-edge-detailed-result-type': 'Hit', 'sc-status': '302' }),
      edgeRedirect('mixed', { 'sc-status': '503' }),
      'not\ta\tlog\trecord',
      '\u0000\uFFFF%%%',
      edgeRedirect('mixed', { 'c-ip': '-' }),
      edgeRedirect('missing'),
      edgeRedirect('disabled'),
      edgeRedirect('ownerless'),
    ];
    const response = await handler(eventOf([clicks[0], ...skipped.slice(0, 5), clicks[1], clicks[2], ...skipped.slice(5), clicks[3], clicks[4]]));
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await eventIdsStored('mixed')).toEqual(eventIdsOf(clicks));
    expect(await rawClicks.storedItems('missing')).toEqual([]);
    expect(await rawClicks.storedItems('disabled')).toEqual([]);
    expect(await rawClicks.storedItems('ownerless')).toEqual([]);
  });

  it('reports only the records whose raw clicks stay unprocessed as batch item failures', async () => {
    const lines = Array.from({ length: 10 }, () => edgeRedirect('stuck'));
    const stuck = new Set([edgeEventId(requestIdOf(lines[3])), edgeEventId(requestIdOf(lines[8]))]);
    rawClicks.leaveUnprocessed((eventId) => stuck.has(eventId));
    const event = eventOf(lines);
    const response = await handler(event);
    expect(response.batchItemFailures.map(({ itemIdentifier }) => itemIdentifier).sort()).toEqual(
      [event.Records[3].kinesis.sequenceNumber, event.Records[8].kinesis.sequenceNumber].sort(),
    );
    expect(await eventIdsStored('stuck')).toEqual(eventIdsOf(lines.filter((_, index) => index !== 3 && index !== 8)));
  });

  it('fails the clicks, not the skipped records, while the salts table cannot be read', async () => {
    process.env.SALTS_TABLE_NAME = 'SaltsTableThatDoesNotExist';
    const event = eventOf([edgeRedirect('edge'), edgeRedirect('edge', { 'x-edge-detailed-result-type': 'Miss' }), edgeRedirect('edge')]);
    const response = await handler(event);
    expect(response.batchItemFailures.map(({ itemIdentifier }) => itemIdentifier)).toEqual([event.Records[0].kinesis.sequenceNumber, event.Records[2].kinesis.sequenceNumber]);
    expect(await rawClicks.storedItems('edge')).toEqual([]);
  });
});
