/**
 * The aggregate handler in-process on DynamoDB Local: quarter-hour items per (target, quarter,
 * writer) for links and owners, exactly once under retried, bisected and partial batches, and
 * pending rollup markers for every touched reporting day.
 */
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { RawClick } from '../../lambdas/domain/click';
import { linkTarget, ownerTarget } from '../../lambdas/domain/aggregate-state';
import type { QuarterHourItem } from '../../lambdas/domain/quarter-hour';
import { METRIC } from '../../lambdas/contract';
import { handler, type TumblingWindowStreamEvent } from '../../lambdas/handlers/aggregate';
import { claimPendingMarker, pendingMarker, pendingPartitionOf } from '../../lambdas/tables/pending-rollups';
import { parseQuarterHourItem } from '../../lambdas/tables/quarter-hour';
import { type DynamoForHandlers, startDynamoForHandlers } from '../fixtures/local/emulators';
import type { DynamoProxy } from '../fixtures/local/dynamo-proxy';
import { metricsOf } from './helpers/metrics';
import { createStatisticsTables, partitionItems, STATISTICS_TABLES, streamInserts, testClick } from './helpers/statistics-tables';

jest.setTimeout(60_000);

const SHARD = 'shardId-00000001700000000000-0000aaaa';
const OTHER_SHARD = 'shardId-00000001700000000000-0000bbbb';
const { QUARTER_HOUR_TABLE_NAME, PENDING_ROLLUPS_TABLE_NAME } = STATISTICS_TABLES;

let local: DynamoForHandlers;
let dynamo: DynamoDBClient;
let proxy: DynamoProxy;
const batch = (batchRecords: DynamoDBRecord[], shardId = SHARD): TumblingWindowStreamEvent => ({
  Records: batchRecords,
  shardId,
  state: {},
  window: { start: '2026-11-26T05:00:00Z', end: '2026-11-26T05:15:00Z' },
  isFinalInvokeForWindow: false,
});

async function quarterItems(target: string): Promise<QuarterHourItem[]> {
  return (await partitionItems(dynamo, QUARTER_HOUR_TABLE_NAME, ['target', target])).map(parseQuarterHourItem);
}

/** clicks, botClicks, uniques per `quarter writer` of a target. */
async function summary(target: string): Promise<Record<string, { clicks: number; botClicks: number; uniques: number }>> {
  return Object.fromEntries(
    (await quarterItems(target)).map(({ quarter, writer, state }) => [
      `${quarter} ${writer}`,
      { clicks: state.clicks, botClicks: state.botClicks, uniques: state.visitors.estimate() },
    ]),
  );
}

/** Runs the batch with one of the tables gone: every record of it must come back as a batch item failure. The table is made again after. */
async function expectEveryRecordReportedWithout(table: keyof typeof STATISTICS_TABLES, event: TumblingWindowStreamEvent): Promise<void> {
  await dynamo.send(new DeleteTableCommand({ TableName: STATISTICS_TABLES[table] }));
  try {
    const response = await handler(event);
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(
      event.Records.map((record) => record.dynamodb?.SequenceNumber).sort(),
    );
  } finally {
    await createStatisticsTables(dynamo, [table]);
  }
}

beforeAll(async () => {
  local = await startDynamoForHandlers({ QUARTER_HOUR_TABLE_NAME, PENDING_ROLLUPS_TABLE_NAME, REPORTING_TIME_ZONE: 'America/New_York' });
  ({ dynamo, proxy } = local);
  await createStatisticsTables(dynamo, ['QUARTER_HOUR_TABLE_NAME', 'PENDING_ROLLUPS_TABLE_NAME']);
});

afterAll(() => local?.stop());

describe('aggregate handler', () => {
  it('counts each quarter for the link and for its owner, and answers with the tumbling-window state', async () => {
    const response = await handler(
      batch(
        streamInserts([
          testClick('count-a', 'counter', { ts: '2026-11-26T05:01:00.000Z' }),
          testClick('count-a', 'counter', { ts: '2026-11-26T05:14:59.999Z' }),
          testClick('count-a', 'counter', { ts: '2026-11-26T05:15:00.000Z' }),
          testClick('count-b', 'counter', { ts: '2026-11-26T05:20:00.000Z' }),
        ]),
      ),
    );
    expect(response).toEqual({ state: {}, batchItemFailures: [] });
    expect(await summary(linkTarget('count-a'))).toEqual({
      [`2026-11-26T05:00 ${SHARD}`]: { clicks: 2, botClicks: 0, uniques: 1 },
      [`2026-11-26T05:15 ${SHARD}`]: { clicks: 1, botClicks: 0, uniques: 1 },
    });
    expect(await summary(linkTarget('count-b'))).toEqual({ [`2026-11-26T05:15 ${SHARD}`]: { clicks: 1, botClicks: 0, uniques: 1 } });
    expect(await summary(ownerTarget('counter'))).toEqual({
      [`2026-11-26T05:00 ${SHARD}`]: { clicks: 2, botClicks: 0, uniques: 1 },
      [`2026-11-26T05:15 ${SHARD}`]: { clicks: 2, botClicks: 0, uniques: 1 },
    });
  });

  it('keeps bots apart: counted as botClicks, not in uniques or breakdowns', async () => {
    await handler(
      batch(
        streamInserts([
          testClick('bots', 'bots-owner', { referrer: 'twitter.com', country: 'SE', visitor: '1'.repeat(64) }),
          testClick('bots', 'bots-owner', { referrer: 'twitter.com', country: 'US', visitor: '2'.repeat(64) }),
          testClick('bots', 'bots-owner', { bot: true, botReason: 'link-preview', referrer: 'slack.com', visitor: '3'.repeat(64) }),
        ]),
      ),
    );
    const [item] = await quarterItems(linkTarget('bots'));
    expect(item.state).toMatchObject({ clicks: 2, botClicks: 1 });
    expect(item.state.visitors.estimate()).toBe(2);
    expect({ ...item.state.breakdowns.referrer }).toEqual({ 'twitter.com': 2 });
    expect({ ...item.state.breakdowns.country }).toEqual({ SE: 1, US: 1 });
  });

  it('merges uniques across batches: a visitor seen again is not counted again', async () => {
    const alice = 'a1'.repeat(32);
    const bob = 'b2'.repeat(32);
    await handler(batch(streamInserts([testClick('uniq', 'uniq-owner', { visitor: alice }), testClick('uniq', 'uniq-owner', { visitor: alice })])));
    await handler(batch(streamInserts([testClick('uniq', 'uniq-owner', { visitor: alice }), testClick('uniq', 'uniq-owner', { visitor: bob })])));
    expect(await summary(linkTarget('uniq'))).toEqual({ [`2026-11-26T05:00 ${SHARD}`]: { clicks: 4, botClicks: 0, uniques: 2 } });
  });

  it('changes nothing when the same batch is delivered again', async () => {
    const retried = batch(streamInserts([testClick('retry', 'retry-owner'), testClick('retry', 'retry-owner', { bot: true, botReason: 'head-request' })]));
    await handler(retried);
    const before = await partitionItems(dynamo, QUARTER_HOUR_TABLE_NAME, ['target', linkTarget('retry')]);
    expect(await handler(retried)).toEqual({ state: {}, batchItemFailures: [] });
    expect(await partitionItems(dynamo, QUARTER_HOUR_TABLE_NAME, ['target', linkTarget('retry')])).toEqual(before);
    expect(await summary(ownerTarget('retry-owner'))).toEqual({ [`2026-11-26T05:00 ${SHARD}`]: { clicks: 1, botClicks: 1, uniques: 1 } });
  });

  it('starts over when another invocation wrote the item between its read and its write', async () => {
    const [first, second, third] = streamInserts([testClick('race', 'race-owner'), testClick('race', 'race-owner'), testClick('race', 'race-owner')]);
    const target = linkTarget('race');
    // The first put of this item waits while a retry carrying one record more runs to the end.
    proxy.intercept(async ({ operation, body }) => {
      if (operation !== 'PutItem' || JSON.stringify(body.Item).indexOf(`"${target}"`) < 0) return undefined;
      proxy.intercept(undefined);
      await handler(batch([first, second, third]));
      return undefined;
    });
    try {
      await handler(batch([first, second]));
    } finally {
      proxy.intercept(undefined);
    }
    expect(await summary(target)).toEqual({ [`2026-11-26T05:00 ${SHARD}`]: { clicks: 3, botClicks: 0, uniques: 1 } });
  });

  it('reads an item only when this environment did not write it last, and counts exactly when another one did since', async () => {
    const target = linkTarget('known');
    const reads = (): number => proxy.requests.filter(({ operation, body }) => operation === 'GetItem' && JSON.stringify(body).includes(`"${target}"`)).length;
    await handler(batch(streamInserts([testClick('known', 'known-owner')])));
    const readsOfNewItem = reads();
    await handler(batch(streamInserts([testClick('known', 'known-owner')])));
    expect(reads()).toBe(readsOfNewItem);

    // Another execution environment (a module of its own: its own memory) takes the shard's next batch.
    let other: { handler: typeof handler } | undefined;
    jest.isolateModules(() => {
      other = require('../../lambdas/handlers/aggregate') as { handler: typeof handler };
    });
    await other?.handler(batch(streamInserts([testClick('known', 'known-owner')])));
    await handler(batch(streamInserts([testClick('known', 'known-owner')])));
    expect(await summary(target)).toEqual({ [`2026-11-26T05:00 ${SHARD}`]: { clicks: 4, botClicks: 0, uniques: 1 } });
    expect(reads()).toBeGreaterThan(readsOfNewItem + 1);
  });

  it('applies only the new records of a bisected or partial retry', async () => {
    const first = streamInserts([1, 2, 3, 4].map(() => testClick('bisect', 'bisect-owner')));
    await handler(batch(first));
    // A bisected retry: the second half again, with records the stream added since.
    const later = streamInserts([testClick('bisect', 'bisect-owner'), testClick('bisect', 'bisect-owner', { ts: '2026-11-26T06:00:00.000Z' })]);
    await handler(batch([...first.slice(2), ...later]));
    // Half of the first half alone, as a bisection can deliver it.
    await handler(batch(first.slice(0, 1)));
    expect(await summary(linkTarget('bisect'))).toEqual({
      [`2026-11-26T05:00 ${SHARD}`]: { clicks: 5, botClicks: 0, uniques: 1 },
      [`2026-11-26T06:00 ${SHARD}`]: { clicks: 1, botClicks: 0, uniques: 1 },
    });
  });

  it('gives each writer (stream shard) its own item of a quarter', async () => {
    await handler(batch(streamInserts([testClick('writers', 'writers-owner'), testClick('writers', 'writers-owner')]), SHARD));
    await handler(batch(streamInserts([testClick('writers', 'writers-owner')]), OTHER_SHARD));
    expect(await summary(linkTarget('writers'))).toEqual({
      [`2026-11-26T05:00 ${SHARD}`]: { clicks: 2, botClicks: 0, uniques: 1 },
      [`2026-11-26T05:00 ${OTHER_SHARD}`]: { clicks: 1, botClicks: 0, uniques: 1 },
    });
  });

  it('marks every touched (target, reporting day) pending, and again, also when a retry has nothing new, only once a rollup has claimed it', async () => {
    // 03:00 UTC on Nov 26 is still Nov 25 in New York, the reporting zone of this test.
    const event = batch(
      streamInserts([testClick('marks', 'marks-owner', { ts: '2026-11-26T03:00:00.000Z' }), testClick('marks', 'marks-owner', { ts: '2026-11-26T15:00:00.000Z' })]),
    );
    await handler(event);
    const expected = [linkTarget('marks'), ownerTarget('marks-owner')].flatMap((target) =>
      ['2026-11-25', '2026-11-26'].map((day) => ({ target, marker: pendingMarker({ target, day }) })),
    );
    const marker = async (target: string, name: string): Promise<Record<string, unknown> | undefined> =>
      (await partitionItems(dynamo, PENDING_ROLLUPS_TABLE_NAME, ['partition', pendingPartitionOf(target)])).find((item) => item.marker === name);
    // Marked before the quarter-hour writes (no marker yet), not after them (no rollup claimed it).
    const versions = new Map<string, unknown>();
    for (const { target, marker: name } of expected) {
      const item = await marker(target, name);
      expect(item).toEqual({ partition: pendingPartitionOf(target), marker: name, version: expect.any(String), markedAt: expect.any(String) });
      versions.set(name, item?.version);
    }
    expect(new Set(versions.values()).size).toBe(expected.length);
    const firstMarkedAt = String((await marker(linkTarget('marks'), expected[0].marker))?.markedAt);

    // A retry with nothing new, the markers unclaimed: no mark at all.
    await handler(event);
    for (const { target, marker: name } of expected) expect(await marker(target, name)).toMatchObject({ version: versions.get(name) });

    // A rollup claimed them (and may have read the days before the crashed attempt's writes): marked again.
    for (const { target, marker: name } of expected) {
      const listed = await marker(target, name);
      expect(await claimPendingMarker(PENDING_ROLLUPS_TABLE_NAME, { partition: pendingPartitionOf(target), marker: name, version: listed?.version, markedAtMs: null }, new Date())).toBe(true);
    }
    await handler(event);
    for (const { target, marker: name } of expected) {
      const item = await marker(target, name);
      expect(item).toEqual({ partition: pendingPartitionOf(target), marker: name, version: expect.any(String), markedAt: expect.any(String) });
      expect(item?.version).not.toEqual(versions.get(name));
    }
    // The latest mark's time: what the rollup's lag metric measures from.
    expect(String((await marker(linkTarget('marks'), expected[0].marker))?.markedAt) > firstMarkedAt).toBe(true);
  });

  it('marks an unmarked day before writing its quarter-hour item, and again after only when a rollup claimed it meanwhile', async () => {
    const target = linkTarget('mark-first');
    const name = pendingMarker({ target, day: '2026-11-26' });
    const markerItem = async (): Promise<Record<string, unknown> | undefined> =>
      (await partitionItems(dynamo, PENDING_ROLLUPS_TABLE_NAME, ['partition', pendingPartitionOf(target)])).find((item) => item.marker === name);
    const seenAtWrite: unknown[] = [];
    let claimAtWrite = false;
    proxy.intercept(async ({ operation, body }) => {
      if (operation === 'PutItem' && body.TableName === QUARTER_HOUR_TABLE_NAME && JSON.stringify(body.Item).includes(`"${target}"`)) {
        const item = await markerItem();
        seenAtWrite.push(item?.version);
        // A rollup claims the day just before this write lands: it may read the day without it.
        if (claimAtWrite) {
          const claimed = { partition: pendingPartitionOf(target), marker: name, version: item?.version, markedAtMs: null };
          expect(await claimPendingMarker(PENDING_ROLLUPS_TABLE_NAME, claimed, new Date())).toBe(true);
        }
      }
      return undefined;
    });
    try {
      for (const claim of [false, false, true]) {
        claimAtWrite = claim;
        expect(await handler(batch(streamInserts([testClick('mark-first', 'mark-first-owner')])))).toEqual({ state: {}, batchItemFailures: [] });
      }
    } finally {
      proxy.intercept(undefined);
    }
    // The later batches find the day marked: no mark before their writes, and none after while unclaimed.
    expect(seenAtWrite).toEqual([expect.any(String), seenAtWrite[0], seenAtWrite[0]]);
    // The claimed one is marked again after the write, which clears the claim: the rollup's delete then fails.
    const after = await markerItem();
    expect(after).toEqual({ partition: pendingPartitionOf(target), marker: name, version: expect.any(String), markedAt: expect.any(String) });
    expect(after?.version).not.toEqual(seenAtWrite[0]);
  });

  it('writes no quarter-hour item of a day it could not mark first', async () => {
    const event = batch(streamInserts([testClick('unmarked-first', 'unmarked-first-owner')]));
    await expectEveryRecordReportedWithout('PENDING_ROLLUPS_TABLE_NAME', event);
    expect(await quarterItems(linkTarget('unmarked-first'))).toEqual([]);
  });

  it('skips a malformed record instead of failing it, so the valid ones are not re-delivered', async () => {
    const [good, malformed, alsoGood] = streamInserts([
      testClick('skip', 'skip-owner'),
      testClick('skip', 'skip-owner', { visitor: 'not-a-hash' }),
      testClick('skip', 'skip-owner'),
    ]);
    expect(await handler(batch([good, malformed, alsoGood]))).toEqual({ state: {}, batchItemFailures: [] });
    expect(await summary(linkTarget('skip'))).toEqual({ [`2026-11-26T05:00 ${SHARD}`]: { clicks: 2, botClicks: 0, uniques: 1 } });
  });

  it('ignores records that are not INSERTs', async () => {
    const [insert] = streamInserts([testClick('modify', 'modify-owner')]);
    expect(await handler(batch([{ ...insert, eventName: 'MODIFY' }]))).toEqual({ state: {}, batchItemFailures: [] });
    expect(await quarterItems(linkTarget('modify'))).toEqual([]);
  });

  it('fails the whole batch without a shardId (no tumbling window), writing nothing', async () => {
    const withoutWindow: TumblingWindowStreamEvent = { Records: streamInserts([testClick('no-shard', 'no-shard-owner')]) };
    await expect(handler(withoutWindow)).rejects.toThrow(/shardId/);
    expect(await quarterItems(linkTarget('no-shard'))).toEqual([]);
  });

  it('reports every record of a day it could not mark; the retry marks it without counting again', async () => {
    const event = batch(streamInserts([testClick('unmarked', 'unmarked-owner'), testClick('unmarked', 'unmarked-owner')]));
    await expectEveryRecordReportedWithout('PENDING_ROLLUPS_TABLE_NAME', event);
    expect(await handler(event)).toEqual({ state: {}, batchItemFailures: [] });
    expect(await summary(linkTarget('unmarked'))).toEqual({ [`2026-11-26T05:00 ${SHARD}`]: { clicks: 2, botClicks: 0, uniques: 1 } });
    const markers = await partitionItems(dynamo, PENDING_ROLLUPS_TABLE_NAME, ['partition', pendingPartitionOf(linkTarget('unmarked'))]);
    expect(markers.map((item) => item.marker)).toContain(pendingMarker({ target: linkTarget('unmarked'), day: '2026-11-26' }));
  });

  it('reports every record of a quarter-hour item it could not write', async () => {
    const event = batch(streamInserts([testClick('down', 'down-owner'), testClick('down', 'down-owner')]));
    await expectEveryRecordReportedWithout('QUARTER_HOUR_TABLE_NAME', event);
  });

  it('publishes the aggregation lag: from its oldest counted click to its writes done', async () => {
    const now = Date.now();
    const clickedAgo = (seconds: number): Partial<RawClick> => ({ ts: new Date(now - seconds * 1000).toISOString() });
    const started = Date.now();
    const published = await metricsOf(() =>
      handler(
        batch(
          streamInserts([
            testClick('lag', 'lag-owner', { ...clickedAgo(60), visitor: 'not-a-hash' }),
            testClick('lag', 'lag-owner', clickedAgo(10)),
            testClick('lag', 'lag-owner', clickedAgo(30)),
          ]),
        ),
      ),
    );
    // The older valid click's 30 s and the run; not the malformed record's 60 s, which counted nowhere.
    expect(published[METRIC.aggregationLag]).toBeGreaterThanOrEqual(started - (now - 30_000));
    expect(published[METRIC.aggregationLag]).toBeLessThanOrEqual(Date.now() - (now - 30_000));

    const uncounted = batch(streamInserts([testClick('lag-down', 'lag-owner', clickedAgo(5))]));
    const whenNoneCounted = await metricsOf(() => expectEveryRecordReportedWithout('QUARTER_HOUR_TABLE_NAME', uncounted));
    expect(whenNoneCounted).toHaveProperty('AggregationFailures', 1);
    expect(whenNoneCounted).not.toHaveProperty(METRIC.aggregationLag);
  });
});
