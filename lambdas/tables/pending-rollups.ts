/**
 * The pending rollups table: one marker per (target, reporting day) the aggregator touched, keyed by
 * `partition` (p0..p7, by target) and `marker` = `${target}|${day}`, { version, markedAt, claimedAt? }.
 * Every mark writes the marker whole with a new `version` and no `claimedAt`; the rollup claims a
 * marker (sets `claimedAt`) before reading the day and deletes it only at the version it claimed, so a
 * day marked again meanwhile stays pending. The aggregator marks again after its writes only a day
 * whose marker is gone or claimed: an unclaimed marker's next rollup reads the day after those writes
 * (docs/statistics.md, Exactly once).
 */
import { createHash, randomUUID } from 'node:crypto';
import { BatchGetCommand, BatchWriteCommand, DeleteCommand, paginateQuery, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { monthOfDay } from '../domain/buckets';
import type { PendingRollup } from '../domain/rollup';
import { conditionHeld, dynamoDocumentClient, MAX_BATCH_WRITE_ITEMS, untilProcessed } from '../shared/clients/dynamodb';
import { settleWithLimit } from '../shared/concurrency';

/** Pending markers are spread over a few partitions so marking many targets at once has no hot key. */
export const PENDING_PARTITIONS: readonly string[] = Array.from({ length: 8 }, (_, n) => `p${n}`);

export function pendingPartitionOf(target: string): string {
  return PENDING_PARTITIONS[createHash('sha256').update(target).digest()[0] % PENDING_PARTITIONS.length];
}

/** `${target}|${day}`: codes and owners never contain '|', and the day is read from after the last one anyway. */
export function pendingMarker(pending: PendingRollup): string {
  return `${pending.target}|${pending.day}`;
}

/** Inverse of pendingMarker; throws TypeError on a malformed marker. */
export function parsePendingMarker(marker: string): PendingRollup {
  const malformed = (): TypeError => new TypeError(`Not a pending marker (target|YYYY-MM-DD): ${marker}`);
  const separator = marker.lastIndexOf('|');
  if (separator < 1) throw malformed();
  const day = marker.slice(separator + 1);
  try {
    monthOfDay(day); // Throws on a malformed day.
  } catch {
    throw malformed();
  }
  return { target: marker.slice(0, separator), day };
}

/** A marker as listed; parsePendingMarker reads its (target, day), which fails for a malformed one alone. */
export interface PendingMarker {
  readonly partition: string;
  readonly marker: string;
  /** Bumped by every mark: the marker is deleted only when it is still the version rolled up. */
  readonly version: unknown;
  /** Epoch ms of the latest mark (a day marked again is rolled up again, so it waits from then); null when unreadable. */
  readonly markedAtMs: number | null;
}

/** BatchWriteItem requests of marks sent at once. */
const CONCURRENT_MARK_REQUESTS = 4;

/** Days a mark request could not mark, and why. */
export interface MarkFailure {
  readonly pendings: readonly PendingRollup[];
  readonly error: unknown;
}

/**
 * Marks the days for the rollup, unclaimed: each marker is put whole, 25 a BatchWriteItem, with a
 * version no mark had before (the rollup compares versions only for equality, so a day marked again
 * after it was listed is never deleted) and no `claimedAt`. `markedAt` is the latest mark: a day
 * marked again after a claim has waited only since then. Resolves with the days that could not be marked.
 */
export async function markPendingDays(tableName: string, pendings: readonly PendingRollup[], now: Date): Promise<MarkFailure[]> {
  const chunks: PendingRollup[][] = [];
  for (let start = 0; start < pendings.length; start += MAX_BATCH_WRITE_ITEMS) chunks.push(pendings.slice(start, start + MAX_BATCH_WRITE_ITEMS));
  const markedAt = now.toISOString();
  const outcomes = await settleWithLimit(chunks, CONCURRENT_MARK_REQUESTS, async (chunk) => {
    const items = new Map(
      chunk.map((pending) => {
        const marker = pendingMarker(pending);
        return [marker, { partition: pendingPartitionOf(pending.target), marker, version: randomUUID(), markedAt }];
      }),
    );
    await untilProcessed(new Set(items.keys()), async (markers) => {
      const { UnprocessedItems } = await dynamoDocumentClient().send(
        new BatchWriteCommand({ RequestItems: { [tableName]: [...markers].map((marker) => ({ PutRequest: { Item: items.get(marker) } })) } }),
      );
      return new Set((UnprocessedItems?.[tableName] ?? []).map(({ PutRequest }) => String(PutRequest?.Item?.marker)));
    });
  });
  return outcomes.flatMap((outcome, index) => (outcome.status === 'fulfilled' ? [] : [{ pendings: chunks[index], error: outcome.reason }]));
}

/** The marker's key, on condition that it is still at the version listed. */
function atListedVersion(pending: PendingMarker) {
  return {
    Key: { partition: pending.partition, marker: pending.marker },
    ConditionExpression: '#version = :seen',
    ExpressionAttributeNames: { '#version': 'version' },
    ExpressionAttributeValues: { ':seen': pending.version },
  };
}

/**
 * Claims the marker for a rollup about to read its day; false when it was marked again since it was
 * listed (the next run rolls it up). Any aggregator write after the claim then marks the day again.
 */
export function claimPendingMarker(tableName: string, pending: PendingMarker, now: Date): Promise<boolean> {
  const listed = atListedVersion(pending);
  return conditionHeld(
    dynamoDocumentClient().send(
      new UpdateCommand({
        TableName: tableName,
        ...listed,
        UpdateExpression: 'SET #claimedAt = :now',
        ExpressionAttributeNames: { ...listed.ExpressionAttributeNames, '#claimedAt': 'claimedAt' },
        ExpressionAttributeValues: { ...listed.ExpressionAttributeValues, ':now': now.toISOString() },
      }),
    ),
  );
}

/** The partition's markers, or those from first to last (inclusive); consistent reads: a mark just made is seen. */
async function queryPartition(tableName: string, partition: string, markers?: { first: string; last: string }): Promise<PendingMarker[]> {
  const pages = paginateQuery(
    { client: dynamoDocumentClient() },
    {
      TableName: tableName,
      KeyConditionExpression: markers === undefined ? '#partition = :partition' : '#partition = :partition AND #marker BETWEEN :first AND :last',
      ExpressionAttributeNames: { '#partition': 'partition', ...(markers === undefined ? {} : { '#marker': 'marker' }) },
      ExpressionAttributeValues: { ':partition': partition, ...(markers === undefined ? {} : { ':first': markers.first, ':last': markers.last }) },
      ConsistentRead: true,
    },
  );
  const found: PendingMarker[] = [];
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      const markedAtMs = typeof item.markedAt === 'string' ? Date.parse(item.markedAt) : Number.NaN;
      found.push({ partition, marker: String(item.marker), version: item.version, markedAtMs: Number.isFinite(markedAtMs) ? markedAtMs : null });
    }
  }
  return found;
}

/** Keys one BatchGetItem takes at most. */
const BATCH_GET_KEYS = 100;

/** A marker as a consistent read found it: whether a rollup has claimed it since its latest mark. */
export type MarkerState = 'unclaimed' | 'claimed';

/**
 * The markers (pendingMarker) of these days that exist now, with their state: consistent BatchGetItem
 * reads, 100 keys a request. Keys DynamoDB leaves unprocessed count as absent: the caller marks those
 * days, which is harmless.
 */
export async function readPendingMarkers(tableName: string, pendings: readonly PendingRollup[]): Promise<Map<string, MarkerState>> {
  const keys = pendings.map((pending) => ({ partition: pendingPartitionOf(pending.target), marker: pendingMarker(pending) }));
  const existing = new Map<string, MarkerState>();
  for (let start = 0; start < keys.length; start += BATCH_GET_KEYS) {
    const { Responses } = await dynamoDocumentClient().send(
      new BatchGetCommand({
        RequestItems: {
          [tableName]: {
            Keys: keys.slice(start, start + BATCH_GET_KEYS),
            ConsistentRead: true,
            ProjectionExpression: '#marker, #claimedAt',
            ExpressionAttributeNames: { '#marker': 'marker', '#claimedAt': 'claimedAt' },
          },
        },
      }),
    );
    for (const item of Responses?.[tableName] ?? []) existing.set(String(item.marker), item.claimedAt === undefined ? 'unclaimed' : 'claimed');
  }
  return existing;
}

/** Every marker, partition by partition. */
export async function listPendingMarkers(tableName: string): Promise<PendingMarker[]> {
  const markers: PendingMarker[] = [];
  for (const partition of PENDING_PARTITIONS) markers.push(...(await queryPartition(tableName, partition)));
  return markers;
}

/**
 * The target's pending days from firstDay to lastDay (YYYY-MM-DD): one Query of its partition. A
 * malformed marker names no day and is left out (the rollup reports it).
 */
export async function queryPendingDays(tableName: string, target: string, firstDay: string, lastDay: string): Promise<string[]> {
  const markers = await queryPartition(tableName, pendingPartitionOf(target), {
    first: pendingMarker({ target, day: firstDay }),
    last: pendingMarker({ target, day: lastDay }),
  });
  return markers.flatMap(({ marker }) => {
    try {
      return [parsePendingMarker(marker).day];
    } catch {
      return [];
    }
  });
}

/** Deletes the marker unless it was marked again since it was claimed; false when it was (the next run rolls the newer clicks up). */
export function deletePendingMarkerIfUnchanged(tableName: string, pending: PendingMarker): Promise<boolean> {
  return conditionHeld(
    dynamoDocumentClient().send(
      new DeleteCommand({ TableName: tableName, ...atListedVersion(pending) }),
    ),
  );
}
