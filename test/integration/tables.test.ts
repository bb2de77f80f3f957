/**
 * The table modules (lambdas/tables/) on DynamoDB Local: what each conditional write refuses (a taken
 * code, a stale watermark, an older recomputation, a marker marked again), what it lets through, and
 * the key ranges their reads cover.
 */
import { DeleteItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { linkTarget } from '../../lambdas/domain/aggregate-state';
import { quarterOf } from '../../lambdas/domain/buckets';
import { applyGroup, type QuarterHourItem } from '../../lambdas/domain/quarter-hour';
import { rollupDay, rollupMonth, type PendingRollup, type PeriodItem } from '../../lambdas/domain/rollup';
import { createLinkIfAbsent, findLink } from '../../lambdas/tables/links';
import { putDailyItemUnlessNewer, putMonthlyItemUnlessNewer, queryDailyItems, queryDailyItemsOfMonth, queryMonthlyItems } from '../../lambdas/tables/period-aggregates';
import {
  claimPendingMarker,
  deletePendingMarkerIfUnchanged,
  listPendingMarkers,
  markPendingDays,
  pendingMarker,
  pendingPartitionOf,
  queryPendingDays,
  readPendingMarkers,
  type PendingMarker,
} from '../../lambdas/tables/pending-rollups';
import { putQuarterHourItemOver, queryQuarterHourItems, queryQuarterHourStates, readQuarterHourItem } from '../../lambdas/tables/quarter-hour';
import { createTable, type DynamoForHandlers, startDynamoForHandlers } from '../fixtures/local/emulators';
import { createStatisticsTables, partitionItems, STATISTICS_TABLES, testClick } from './helpers/statistics-tables';

jest.setTimeout(60_000);

const LINKS_TABLE = 'LinksForTablesTest';
const { QUARTER_HOUR_TABLE_NAME, DAILY_TABLE_NAME, MONTHLY_TABLE_NAME, PENDING_ROLLUPS_TABLE_NAME } = STATISTICS_TABLES;
const WRITER = 'shardId-00000001700000000000-0000aaaa';
const NOW = new Date('2026-12-01T10:00:00.000Z');

let local: DynamoForHandlers;
let dynamo: DynamoDBClient;

beforeAll(async () => {
  local = await startDynamoForHandlers({});
  ({ dynamo } = local);
  await Promise.all([createTable(dynamo, LINKS_TABLE, ['code']), createStatisticsTables(dynamo)]);
});

afterAll(() => local?.stop());

describe('links table', () => {
  it('creates a link only while its code is free, and finds it', async () => {
    expect(await createLinkIfAbsent(LINKS_TABLE, { code: 'taken', url: 'https://example.com/first', owner: 'admin' })).toBe(true);
    expect(await createLinkIfAbsent(LINKS_TABLE, { code: 'taken', url: 'https://example.com/second', owner: 'someone' })).toBe(false);
    expect(await findLink(LINKS_TABLE, 'taken')).toEqual({ url: 'https://example.com/first', owner: 'admin' });
    const [item] = await partitionItems(dynamo, LINKS_TABLE, ['code', 'taken']);
    expect(item).toEqual({ code: 'taken', url: 'https://example.com/first', owner: 'admin', createdAt: expect.any(String) });
    expect(new Date(item.createdAt as string).toISOString()).toBe(item.createdAt);
  });

  it('finds nothing for an unknown code, and no owner on an item written without one', async () => {
    expect(await findLink(LINKS_TABLE, 'unknown')).toBeNull();
    await dynamo.send(new PutItemCommand({ TableName: LINKS_TABLE, Item: marshall({ code: 'by-hand', url: 'https://example.com/' }) }));
    expect(await findLink(LINKS_TABLE, 'by-hand')).toEqual({ url: 'https://example.com/', owner: null });
  });

  it('works through a client of the caller, as the local stack passes its own', async () => {
    // Straight to DynamoDB Local, where the handlers' client goes through the proxy.
    const client = DynamoDBDocumentClient.from(dynamo);
    const seen = local.proxy.requests.length;
    expect(await createLinkIfAbsent(LINKS_TABLE, { code: 'own-client', url: 'https://example.com/', owner: 'admin' }, client)).toBe(true);
    expect(local.proxy.requests.length).toBe(seen);
    expect(await findLink(LINKS_TABLE, 'own-client')).toEqual({ url: 'https://example.com/', owner: 'admin' });
  });
});

describe('quarter-hour table', () => {
  const read = (item: QuarterHourItem): Promise<QuarterHourItem | null> => readQuarterHourItem(QUARTER_HOUR_TABLE_NAME, item.target, item.quarter, item.writer);
  const putOver = async (item: QuarterHourItem, over: QuarterHourItem | null): Promise<boolean> =>
    (await putQuarterHourItemOver(QUARTER_HOUR_TABLE_NAME, item, over)) !== null;
  let sequence = 1_000;
  /** The item after applying `count` new clicks of the code to `existing` (or to nothing), at 05:10 UTC unless `ts` says otherwise. */
  const applied = (code: string, existing: QuarterHourItem | null, count: number, ts = '2026-11-26T05:10:00.000Z'): QuarterHourItem => {
    const clicks = Array.from({ length: count }, () => ({ click: testClick(code, 'owner', { ts }), sequenceNumber: String((sequence += 1)) }));
    const item = applyGroup(existing, { target: linkTarget(code), quarter: quarterOf(ts), clicks }, WRITER);
    if (item === null) throw new Error('nothing applied');
    return item;
  };

  it('writes a new item only where none is, and reads it back', async () => {
    const first = applied('qh-new', null, 2);
    expect(await read(first)).toBeNull();
    expect(await putOver(first, null)).toBe(true);
    // Another invocation that also read nothing got there first: a second "new" item is refused.
    expect(await putOver(applied('qh-new', null, 1), null)).toBe(false);
    expect(await read(first)).toMatchObject({ watermark: first.watermark, state: { clicks: 2 } });
  });

  it('writes over the item it was computed from, and refuses a write computed from a stale read', async () => {
    const first = applied('qh-stale', null, 1);
    await putOver(first, null);
    const winner = applied('qh-stale', first, 1);
    const loser = applied('qh-stale', first, 3);
    expect(await putOver(winner, first)).toBe(true);
    expect(await putOver(loser, first)).toBe(false);
    const stored = await read(first);
    expect(stored).toMatchObject({ watermark: winner.watermark, state: { clicks: 2 } });
    expect(await putOver(applied('qh-stale', stored, 3), stored)).toBe(true);
    expect((await read(first))?.state.clicks).toBe(5);
  });

  it('gives back the item as stored, as a read gives it: breakdowns bounded, the sketch as written', async () => {
    let item: QuarterHourItem | null = null;
    // Far more referrer hosts than 100 KB holds: the stored breakdowns fold the smallest.
    for (let batch = 0; batch < 4; batch++) {
      const clicks = Array.from({ length: 1_000 }, (_, index) => ({
        click: testClick('qh-stored', 'owner', { referrer: `referrer-${batch}-${index}-of-a-long-spam-campaign.example` }),
        sequenceNumber: String((sequence += 1)),
      }));
      item = applyGroup(item, { target: linkTarget('qh-stored'), quarter: '2026-11-26T05:00', clicks }, WRITER);
    }
    if (item === null) throw new Error('nothing applied');
    const stored = await putQuarterHourItemOver(QUARTER_HOUR_TABLE_NAME, item, null);
    const reread = await read(item);
    expect(Object.keys(item.state.breakdowns.referrer).length).toBeGreaterThan(Object.keys(stored?.state.breakdowns.referrer ?? {}).length);
    expect(stored && { ...stored, state: { ...stored.state, visitors: stored.state.visitors.toBytes() } }).toEqual(
      reread && { ...reread, state: { ...reread.state, visitors: reread.state.visitors.toBytes() } },
    );
  });

  it('queries every writer of the quarters in range, and nothing outside it', async () => {
    for (const ts of ['2026-11-26T04:59:59.999Z', '2026-11-26T05:00:00.000Z', '2026-11-26T05:59:59.999Z', '2026-11-26T06:00:00.000Z']) {
      await putOver(applied('qh-range', null, 1, ts), null);
    }
    const other = { ...applied('qh-range', null, 1, '2026-11-26T05:30:00.000Z'), writer: 'shardId-00000001700000000000-0000bbbb' };
    await putOver(other, null);
    const items = await queryQuarterHourItems(QUARTER_HOUR_TABLE_NAME, linkTarget('qh-range'), '2026-11-26T05:00', '2026-11-26T05:45', { consistentRead: true });
    expect(items.map(({ quarter, writer }) => `${quarter} ${writer}`)).toEqual([
      `2026-11-26T05:00 ${WRITER}`,
      `2026-11-26T05:30 ${other.writer}`,
      `2026-11-26T05:45 ${WRITER}`,
    ]);
    // Statistics read only the quarters and states, the same ones.
    const states = await queryQuarterHourStates(QUARTER_HOUR_TABLE_NAME, linkTarget('qh-range'), '2026-11-26T05:00', '2026-11-26T05:45');
    expect(states).toEqual(items.map(({ quarter, state }) => ({ quarter, state })));
  });
});

describe('daily and monthly tables', () => {
  const putDay = (item: PeriodItem): Promise<boolean> => putDailyItemUnlessNewer(DAILY_TABLE_NAME, item);
  const storedEvents = async (code: string, day: string): Promise<number[]> =>
    (await queryDailyItems(DAILY_TABLE_NAME, linkTarget(code), day, day, { consistentRead: true })).map(({ events }) => events);
  /** The daily item of the code's day with `clicks` human clicks, as the rollup computes it. */
  const dayWith = (code: string, day: string, clicks: number): PeriodItem => {
    const item = rollupDay(linkTarget(code), day, 'UTC', [], NOW);
    item.state.clicks = clicks;
    item.events = clicks;
    return item;
  };

  it('writes a recomputation with as many events or more, and refuses one with fewer', async () => {
    expect(await putDay(dayWith('period-guard', '2026-11-26', 3))).toBe(true);
    expect(await putDay(dayWith('period-guard', '2026-11-26', 2))).toBe(false);
    expect(await storedEvents('period-guard', '2026-11-26')).toEqual([3]);
    expect(await putDay(dayWith('period-guard', '2026-11-26', 3))).toBe(true);
    expect(await putDay(dayWith('period-guard', '2026-11-26', 4))).toBe(true);
    expect(await storedEvents('period-guard', '2026-11-26')).toEqual([4]);
  });

  it('reads the days of one month, and monthly items without an expiry', async () => {
    for (const day of ['2026-10-31', '2026-11-01', '2026-11-30', '2026-12-01']) await putDay(dayWith('period-month', day, 1));
    const days = await queryDailyItemsOfMonth(DAILY_TABLE_NAME, linkTarget('period-month'), '2026-11', { consistentRead: true });
    expect(days.map(({ period }) => period)).toEqual(['2026-11-01', '2026-11-30']);

    const month = rollupMonth(linkTarget('period-month'), '2026-11', 'UTC', days, NOW);
    expect(await putMonthlyItemUnlessNewer(MONTHLY_TABLE_NAME, month)).toBe(true);
    expect(await putMonthlyItemUnlessNewer(MONTHLY_TABLE_NAME, rollupMonth(linkTarget('period-month'), '2026-11', 'UTC', days.slice(1), NOW))).toBe(false);
    const months = await queryMonthlyItems(MONTHLY_TABLE_NAME, linkTarget('period-month'), '2026-01', '2026-12', { consistentRead: true });
    expect(months.map(({ period, events, expiresAt }) => ({ period, events, expiresAt }))).toEqual([{ period: '2026-11', events: 2, expiresAt: undefined }]);
    const [stored] = await partitionItems(dynamo, MONTHLY_TABLE_NAME, ['target', linkTarget('period-month')]);
    expect(stored).not.toHaveProperty('expiresAt');
  });
});

describe('pending rollups table', () => {
  const listed = async (marker: string): Promise<PendingMarker | undefined> =>
    (await listPendingMarkers(PENDING_ROLLUPS_TABLE_NAME)).find((each) => each.marker === marker);
  const listedNow = async (marker: string): Promise<PendingMarker> => {
    const found = await listed(marker);
    if (found === undefined) throw new Error(`${marker} is not listed`);
    return found;
  };
  const deleteIfUnchanged = (marker: PendingMarker | undefined): Promise<boolean> => {
    if (marker === undefined) throw new Error('not listed');
    return deletePendingMarkerIfUnchanged(PENDING_ROLLUPS_TABLE_NAME, marker);
  };

  /** Marks the days, expecting every mark to be made. */
  const mark = async (pendings: readonly PendingRollup[], at = NOW): Promise<void> => {
    expect(await markPendingDays(PENDING_ROLLUPS_TABLE_NAME, pendings, at)).toEqual([]);
  };

  it('gives every mark a new version, keeps the latest time, and lists the marker', async () => {
    const pending = { target: linkTarget('pending-marks'), day: '2026-11-26' };
    await mark([pending], new Date('2026-11-26T05:00:00.000Z'));
    const first = await listedNow(pendingMarker(pending));
    await mark([pending], new Date('2026-11-26T05:10:00.000Z'));
    const marker = await listedNow(pendingMarker(pending));
    expect(marker.markedAtMs).toBe(Date.parse('2026-11-26T05:10:00.000Z'));
    expect(marker.version).not.toEqual(first.version);
    expect(await deleteIfUnchanged(marker)).toBe(true);
  });

  it('marks many days at once, 25 a BatchWriteItem, each with a version of its own', async () => {
    const target = linkTarget('pending-many');
    const days = Array.from({ length: 60 }, (_, index) => new Date(Date.UTC(2026, 5, 1 + index)).toISOString().slice(0, 10));
    await mark(days.map((day) => ({ target, day })));
    const markers = (await listPendingMarkers(PENDING_ROLLUPS_TABLE_NAME)).filter((each) => each.marker.startsWith(`${target}|`));
    expect(markers.map((each) => each.marker).sort()).toEqual(days.map((day) => pendingMarker({ target, day })));
    expect(new Set(markers.map((each) => each.version)).size).toBe(days.length);
    for (const each of markers) expect(await deleteIfUnchanged(each)).toBe(true);
  });

  it('keeps a marker marked again after it was listed, and deletes it at the version listed', async () => {
    const pending = { target: linkTarget('pending-again'), day: '2026-11-26' };
    await mark([pending]);
    const first = await listed(pendingMarker(pending));
    await mark([pending]);
    expect(await deleteIfUnchanged(first)).toBe(false);
    const again = await listed(pendingMarker(pending));
    expect(again?.version).not.toEqual(first?.version);
    expect(await deleteIfUnchanged(again)).toBe(true);
    expect(await listed(pendingMarker(pending))).toBeUndefined();
  });

  it("reads a target's pending days within a range, leaving out other targets and malformed markers", async () => {
    const target = linkTarget('pending-days');
    await mark(['2026-10-31', '2026-11-01', '2026-11-15', '2026-11-30', '2026-12-01'].map((day) => ({ target, day })));
    await mark([{ target: linkTarget('pending-days-other'), day: '2026-11-02' }]);
    const malformed = { partition: pendingPartitionOf(target), marker: `${target}|2026-11-1`, version: 1 };
    await dynamo.send(new PutItemCommand({ TableName: PENDING_ROLLUPS_TABLE_NAME, Item: marshall(malformed) }));
    expect(await queryPendingDays(PENDING_ROLLUPS_TABLE_NAME, target, '2026-11-01', '2026-11-30')).toEqual(['2026-11-01', '2026-11-15', '2026-11-30']);
  });

  it('tells which of many days are marked, and which of those a rollup has claimed, over more than one BatchGetItem', async () => {
    const target = linkTarget('pending-existing');
    const days = Array.from({ length: 150 }, (_, index) => new Date(Date.UTC(2026, 0, 1 + index)).toISOString().slice(0, 10));
    const marked = days.filter((_, index) => index % 7 === 0);
    await mark(marked.map((day) => ({ target, day })));
    const claimed = marked.filter((_, index) => index % 2 === 0).map((day) => pendingMarker({ target, day }));
    for (const marker of claimed) expect(await claimPendingMarker(PENDING_ROLLUPS_TABLE_NAME, await listedNow(marker), NOW)).toBe(true);
    const states = await readPendingMarkers(PENDING_ROLLUPS_TABLE_NAME, days.map((day) => ({ target, day })));
    expect([...states.keys()].sort()).toEqual(marked.map((day) => pendingMarker({ target, day })));
    expect([...states].filter(([, state]) => state === 'claimed').map(([marker]) => marker).sort()).toEqual(claimed.sort());
  });

  it('claims a marker only at the version listed, and a mark clears the claim', async () => {
    const pending = { target: linkTarget('pending-claim'), day: '2026-11-26' };
    const marker = pendingMarker(pending);
    await mark([pending]);
    const first = await listedNow(marker);
    await mark([pending]);
    expect(await claimPendingMarker(PENDING_ROLLUPS_TABLE_NAME, first, NOW)).toBe(false);
    expect(await claimPendingMarker(PENDING_ROLLUPS_TABLE_NAME, await listedNow(marker), NOW)).toBe(true);
    expect((await readPendingMarkers(PENDING_ROLLUPS_TABLE_NAME, [pending])).get(marker)).toBe('claimed');
    await mark([pending]);
    expect((await readPendingMarkers(PENDING_ROLLUPS_TABLE_NAME, [pending])).get(marker)).toBe('unclaimed');
  });

  it('lists a marker whose time cannot be read with markedAtMs null', async () => {
    const broken = { partition: 'p0', marker: 'broken|2026-11-26', version: 1, markedAt: 'yesterday' };
    await dynamo.send(new PutItemCommand({ TableName: PENDING_ROLLUPS_TABLE_NAME, Item: marshall(broken) }));
    expect(await listed(broken.marker)).toEqual({ partition: 'p0', marker: broken.marker, version: 1, markedAtMs: null });
    await dynamo.send(new DeleteItemCommand({ TableName: PENDING_ROLLUPS_TABLE_NAME, Key: marshall({ partition: broken.partition, marker: broken.marker }) }));
  });
});
