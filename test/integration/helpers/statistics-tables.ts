/**
 * The statistics tables (docs/statistics.md: raw clicks and the aggregate levels) on DynamoDB Local for
 * handler tests that run the handlers in-process, and stream records as the aggregator receives them.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateQuery } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { RawClick } from '../../../lambdas/domain/click';
import { rawClick } from '../../fixtures/clicks';
import { createTable, REGION } from '../../fixtures/local/emulators';

export const STATISTICS_TABLES = {
  RAW_CLICKS_TABLE_NAME: 'RawClicksForTest',
  QUARTER_HOUR_TABLE_NAME: 'QuarterHourForTest',
  DAILY_TABLE_NAME: 'DailyForTest',
  MONTHLY_TABLE_NAME: 'MonthlyForTest',
  PENDING_ROLLUPS_TABLE_NAME: 'PendingRollupsForTest',
} as const;

const KEYS: Readonly<Record<keyof typeof STATISTICS_TABLES, readonly [string, string]>> = {
  RAW_CLICKS_TABLE_NAME: ['linkShard', 'clickKey'],
  QUARTER_HOUR_TABLE_NAME: ['target', 'slot'],
  DAILY_TABLE_NAME: ['target', 'day'],
  MONTHLY_TABLE_NAME: ['target', 'month'],
  PENDING_ROLLUPS_TABLE_NAME: ['partition', 'marker'],
};

/** Creates the tables whose environment variables are given (all of them by default). */
export async function createStatisticsTables(
  dynamo: DynamoDBClient,
  which: readonly (keyof typeof STATISTICS_TABLES)[] = Object.keys(STATISTICS_TABLES) as (keyof typeof STATISTICS_TABLES)[],
): Promise<void> {
  await Promise.all(which.map((variable) => createTable(dynamo, STATISTICS_TABLES[variable], KEYS[variable])));
}

/** Every item under one partition key value, unmarshalled, in sort key order (consistent read). */
export async function partitionItems(
  dynamo: DynamoDBClient,
  tableName: string,
  [name, value]: readonly [string, string],
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  const pages = paginateQuery(
    { client: DynamoDBDocumentClient.from(dynamo) },
    {
      TableName: tableName,
      KeyConditionExpression: '#key = :value',
      ExpressionAttributeNames: { '#key': name },
      ExpressionAttributeValues: { ':value': value },
      ConsistentRead: true,
    },
  );
  for await (const page of pages) items.push(...(page.Items ?? []));
  return items;
}

type StreamImage = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;

/** An INSERT stream record of the raw click (or of any image, to test malformed ones). */
export function streamInsert(image: RawClick | Record<string, unknown>, sequenceNumber: string): DynamoDBRecord {
  return {
    eventID: `event-${sequenceNumber}`,
    eventName: 'INSERT',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: REGION,
    dynamodb: {
      SequenceNumber: sequenceNumber,
      NewImage: marshall(image, { removeUndefinedValues: true }) as StreamImage,
      StreamViewType: 'NEW_IMAGE',
    },
  };
}

let clicksMade = 0;

/** A raw click of the link and owner with an event id of its own (at 05:10 UTC on 2026-11-26 unless changed). */
export function testClick(code: string, owner: string, changes: Partial<RawClick> = {}): RawClick {
  clicksMade += 1;
  const eventId = `00000000-0000-4000-8000-${String(clicksMade).padStart(12, '0')}`;
  return rawClick({ code, owner, eventId, ts: '2026-11-26T05:10:00.000Z', ...changes });
}

let lastSequenceNumber = 100_000_000_000_000_000_000n;

/** INSERT records of the clicks with increasing sequence numbers (21 digits, like DynamoDB's), as one shard hands them out. */
export function streamInserts(clicks: readonly RawClick[]): DynamoDBRecord[] {
  return clicks.map((click) => {
    lastSequenceNumber += 1n;
    return streamInsert(click, String(lastSequenceNumber));
  });
}
