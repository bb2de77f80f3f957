/**
 * The rollup handler in-process on DynamoDB Local, fed by the aggregate handler: daily and
 * monthly items in the reporting zone (UTC, Asia/Kolkata, America/New_York across a DST change),
 * repeatable runs, concurrent runs, a day re-marked while a run reads it, and its metrics.
 * DynamoDB is reached through a proxy that lets a test act between two of the handler's requests.
 */
import { DeleteItemCommand, GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { ENV } from '../../lambdas/contract';
import { linkTarget, ownerTarget } from '../../lambdas/domain/aggregate-state';
import type { RawClick } from '../../lambdas/domain/click';
import type { PeriodItem } from '../../lambdas/domain/rollup';
import { canonicalTimeZone } from '../../lambdas/domain/zoned-time';
import { handler as aggregate } from '../../lambdas/handlers/aggregate';
import { handler as rollup } from '../../lambdas/handlers/rollup';
import { parseDailyItem, parseMonthlyItem } from '../../lambdas/tables/period-aggregates';
import { markPendingDays, PENDING_PARTITIONS, pendingMarker, pendingPartitionOf } from '../../lambdas/tables/pending-rollups';
import { type DynamoForHandlers, startDynamoForHandlers } from '../fixtures/local/emulators';
import { lambdaContext } from '../fixtures/lambda-context';
import type { DynamoProxy } from '../fixtures/local/dynamo-proxy';
import { createLinksTable } from './helpers/api-tables';
import { createStatisticsTables, partitionItems, STATISTICS_TABLES, streamInserts, testClick } from './helpers/statistics-tables';

jest.setTimeout(60_000);

const SHARD = 'shardId-00000001700000000000-0000aaaa';
const OTHER_SHARD = 'shardId-00000001700000000000-0000bbbb';
const { DAILY_TABLE_NAME, MONTHLY_TABLE_NAME, PENDING_ROLLUPS_TABLE_NAME, QUARTER_HOUR_TABLE_NAME } = STATISTICS_TABLES;

let local: DynamoForHandlers;
let dynamo: DynamoDBClient;
let proxy: DynamoProxy;

async function aggregateClicks(clicks: readonly RawClick[], shardId = SHARD): Promise<void> {
  const response = await aggregate({ Records: streamInserts(clicks), shardId });
  expect(response.batchItemFailures).toEqual([]);
}

interface Figures {
  readonly clicks: number;
  readonly botClicks: number;
  readonly uniques: number;
  readonly tz: string;
}

const figures = ({ state, tz }: PeriodItem): Figures => ({ clicks: state.clicks, botClicks: state.botClicks, uniques: state.visitors.estimate(), tz });

/** The figures of periods in which one visitor made the given number of human clicks. */
const oneVisitor = (tz: string | null, clicksPerPeriod: Record<string, number>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(clicksPerPeriod).map(([period, clicks]) => [period, { clicks, botClicks: 0, uniques: 1, tz }]));

async function daily(target: string): Promise<Record<string, Figures>> {
  const items = (await partitionItems(dynamo, DAILY_TABLE_NAME, ['target', target])).map(parseDailyItem);
  return Object.fromEntries(items.map((item) => [item.period, figures(item)]));
}

async function monthly(target: string): Promise<Record<string, Figures>> {
  const items = (await partitionItems(dynamo, MONTHLY_TABLE_NAME, ['target', target])).map(parseMonthlyItem);
  return Object.fromEntries(items.map((item) => [item.period, figures(item)]));
}

/** The daily and monthly items of targets as stored, without the time they were written. */
async function storedItems(targets: readonly string[]): Promise<Record<string, unknown>[]> {
  const items = await Promise.all(
    targets.flatMap((target) => [DAILY_TABLE_NAME, MONTHLY_TABLE_NAME].map((table) => partitionItems(dynamo, table, ['target', target]))),
  );
  return items.flat().map(({ updatedAt: _updatedAt, ...rest }) => rest);
}

async function markers(): Promise<Record<string, unknown>[]> {
  return (await Promise.all(PENDING_PARTITIONS.map((partition) => partitionItems(dynamo, PENDING_ROLLUPS_TABLE_NAME, ['partition', partition])))).flat();
}

/** Aggregates the clicks and rolls them up with the reporting zone set to tz (the aggregator marks days, the rollup cuts them, in it). */
async function rollUpInZone(tz: string, clicks: readonly RawClick[]): Promise<void> {
  process.env.REPORTING_TIME_ZONE = tz;
  try {
    await aggregateClicks(clicks);
    await rollup({});
  } finally {
    process.env.REPORTING_TIME_ZONE = 'UTC';
  }
}

/** The metrics (EMF lines on stdout) published while `run` ran, by name. */
async function metricsOf(run: () => Promise<unknown>): Promise<Record<string, unknown>> {
  const published: Record<string, unknown> = {};
  const write = process.stdout.write.bind(process.stdout);
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    for (const line of String(chunk).split('\n')) {
      if (!line.includes('"_aws"')) continue;
      const { _aws: _meta, service: _service, ...values } = JSON.parse(line) as Record<string, unknown>;
      Object.assign(published, values);
    }
    return write(chunk, ...(rest as []));
  });
  try {
    await run().catch(() => undefined);
  } finally {
    spy.mockRestore();
  }
  return published;
}

beforeAll(async () => {
  local = await startDynamoForHandlers({ ...STATISTICS_TABLES, REPORTING_TIME_ZONE: 'UTC' });
  ({ dynamo, proxy } = local);
  await createStatisticsTables(dynamo);
});

afterAll(() => local?.stop());

afterEach(async () => {
  proxy.intercept(undefined);
  // Each test leaves nothing pending for the next one.
  await rollup({});
  expect(await markers()).toEqual([]);
});

describe('rollup handler', () => {
  it('rolls quarter-hour items up into daily and monthly items, for the link and its owner, and clears the markers', async () => {
    const [alice, bob] = ['a1'.repeat(32), 'b2'.repeat(32)];
    await aggregateClicks([
      testClick('days', 'days-owner', { ts: '2026-10-31T23:59:59.999Z', visitor: alice }),
      testClick('days', 'days-owner', { ts: '2026-11-25T10:00:00.000Z', visitor: alice }),
      testClick('days', 'days-owner', { ts: '2026-11-25T10:20:00.000Z', visitor: bob }),
      testClick('days', 'days-owner', { ts: '2026-11-25T11:00:00.000Z', bot: true, botReason: 'user-agent' }),
    ]);
    // Another stream shard's items of the same day are merged in too.
    await aggregateClicks([testClick('days', 'days-owner', { ts: '2026-11-25T10:05:00.000Z', visitor: alice })], OTHER_SHARD);
    expect(await markers()).toHaveLength(4);

    await rollup({});
    const expectedDaily = {
      '2026-10-31': { clicks: 1, botClicks: 0, uniques: 1, tz: 'UTC' },
      '2026-11-25': { clicks: 3, botClicks: 1, uniques: 2, tz: 'UTC' },
    };
    const expectedMonthly = {
      '2026-10': { clicks: 1, botClicks: 0, uniques: 1, tz: 'UTC' },
      '2026-11': { clicks: 3, botClicks: 1, uniques: 2, tz: 'UTC' },
    };
    for (const target of [linkTarget('days'), ownerTarget('days-owner')]) {
      expect(await daily(target)).toEqual(expectedDaily);
      expect(await monthly(target)).toEqual(expectedMonthly);
    }
    expect(await markers()).toEqual([]);
    // Daily items live two years from the day's start; monthly ones for ever.
    const [dailyItem] = await partitionItems(dynamo, DAILY_TABLE_NAME, ['target', linkTarget('days')]);
    expect(dailyItem.expiresAt).toBe(Date.UTC(2026, 9, 31) / 1000 + 731 * 86_400);
    const [monthlyItem] = await partitionItems(dynamo, MONTHLY_TABLE_NAME, ['target', linkTarget('days')]);
    expect(monthlyItem).not.toHaveProperty('expiresAt');
  });

  it('cuts days and months in the reporting zone: Asia/Kolkata (+05:30)', async () => {
    await rollUpInZone('Asia/Kolkata', [
      testClick('kolkata', 'kolkata-owner', { ts: '2026-11-25T18:29:59.999Z' }), // 23:59:59 on Nov 25
      testClick('kolkata', 'kolkata-owner', { ts: '2026-11-25T18:30:00.000Z' }), // 00:00 on Nov 26
      testClick('kolkata', 'kolkata-owner', { ts: '2026-11-30T18:30:00.000Z' }), // 00:00 on Dec 1
    ]);
    // Items carry the zone's canonical name (Node's ICU still calls it Asia/Calcutta), as the stats API compares it.
    const zone = canonicalTimeZone('Asia/Kolkata');
    expect(await daily(linkTarget('kolkata'))).toEqual(oneVisitor(zone, { '2026-11-25': 1, '2026-11-26': 1, '2026-12-01': 1 }));
    expect(await monthly(linkTarget('kolkata'))).toEqual(oneVisitor(zone, { '2026-11': 2, '2026-12': 1 }));
  });

  it('cuts days in the reporting zone across a DST change: America/New_York on its 25-hour November 1', async () => {
    await rollUpInZone('America/New_York', [
      testClick('new-york', 'new-york-owner', { ts: '2026-11-01T03:59:59.999Z' }), // 23:59:59 EDT on Oct 31
      testClick('new-york', 'new-york-owner', { ts: '2026-11-01T04:00:00.000Z' }), // 00:00 EDT on Nov 1
      testClick('new-york', 'new-york-owner', { ts: '2026-11-02T04:59:59.999Z' }), // 23:59:59 EST on Nov 1
      testClick('new-york', 'new-york-owner', { ts: '2026-11-02T05:00:00.000Z' }), // 00:00 EST on Nov 2
    ]);
    const zone = 'America/New_York';
    expect(await daily(linkTarget('new-york'))).toEqual(oneVisitor(zone, { '2026-10-31': 1, '2026-11-01': 2, '2026-11-02': 1 }));
    expect(await monthly(linkTarget('new-york'))).toEqual(oneVisitor(zone, { '2026-10': 1, '2026-11': 3 }));
  });

  it('writes the same items when run again over a re-marked day', async () => {
    const clicks = [testClick('again', 'again-owner'), testClick('again', 'again-owner', { ts: '2026-11-27T12:00:00.000Z' })];
    const records = streamInserts(clicks);
    await aggregate({ Records: records, shardId: SHARD });
    await rollup({});
    const targets = [linkTarget('again'), ownerTarget('again-owner')];
    const once = await storedItems(targets);
    expect(once).toHaveLength(6);

    // A redelivered batch adds nothing but marks its days again.
    await aggregate({ Records: records, shardId: SHARD });
    expect(await markers()).toHaveLength(4);
    await rollup({});
    expect(await storedItems(targets)).toEqual(once);
  });

  it('gives two runs at once the same items as one run', async () => {
    const records = streamInserts([
      testClick('together', 'together-owner', { visitor: 'c3'.repeat(32) }),
      testClick('together', 'together-owner', { ts: '2026-11-28T12:00:00.000Z' }),
      testClick('together', 'together-owner', { ts: '2026-12-01T00:00:00.000Z', bot: true, botReason: 'prefetch' }),
    ]);
    await aggregate({ Records: records, shardId: SHARD });
    await Promise.all([rollup({}), rollup({})]);
    const targets = [linkTarget('together'), ownerTarget('together-owner')];
    const concurrently = await storedItems(targets);

    await aggregate({ Records: records, shardId: SHARD });
    await rollup({});
    expect(await storedItems(targets)).toEqual(concurrently);
    expect(await monthly(linkTarget('together'))).toEqual({
      '2026-11': { clicks: 2, botClicks: 0, uniques: 2, tz: 'UTC' },
      '2026-12': { clicks: 0, botClicks: 1, uniques: 0, tz: 'UTC' },
    });
  });

  it('never lets a slower run overwrite a newer result with an older one', async () => {
    const target = linkTarget('slow');
    await aggregateClicks([testClick('slow', 'slow-owner')]);
    // This run has read the day; before it writes, a new click arrives and a faster run rolls it up.
    proxy.intercept(async ({ operation, body }) => {
      if (operation !== 'PutItem' || body.TableName !== DAILY_TABLE_NAME || !JSON.stringify(body.Item).includes(`"${target}"`)) return undefined;
      proxy.intercept(undefined);
      await aggregateClicks([testClick('slow', 'slow-owner', { ts: '2026-11-26T06:00:00.000Z' })]);
      await rollup({});
      return undefined;
    });
    await rollup({});
    expect(await daily(target)).toEqual({ '2026-11-26': { clicks: 2, botClicks: 0, uniques: 1, tz: 'UTC' } });
    expect(await monthly(target)).toEqual({ '2026-11': { clicks: 2, botClicks: 0, uniques: 1, tz: 'UTC' } });
  });

  it('keeps a marker that was marked again during the run, and the next run rolls the new click up', async () => {
    const target = linkTarget('remarked');
    const marker = pendingMarker({ target, day: '2026-11-26' });
    await aggregateClicks([testClick('remarked', 'remarked-owner')]);
    // Just before the run deletes the marker, a new click of that day arrives and marks it again.
    proxy.intercept(async ({ operation, body }) => {
      if (operation !== 'DeleteItem' || !JSON.stringify(body.Key).includes(marker)) return undefined;
      proxy.intercept(undefined);
      await aggregateClicks([testClick('remarked', 'remarked-owner', { ts: '2026-11-26T20:00:00.000Z' })]);
      return undefined;
    });
    await rollup({});
    expect(await daily(target)).toEqual({ '2026-11-26': { clicks: 1, botClicks: 0, uniques: 1, tz: 'UTC' } });
    // Marked before the first click's write; marked again after the second's, which found the run's claim.
    expect(await markers()).toContainEqual(expect.objectContaining({ marker }));
    expect(await markers()).not.toContainEqual(expect.objectContaining({ claimedAt: expect.anything() }));

    await rollup({});
    expect(await daily(target)).toEqual({ '2026-11-26': { clicks: 2, botClicks: 0, uniques: 1, tz: 'UTC' } });
    expect(await markers()).toEqual([]);
  });

  it('claims a marker before reading its day, and leaves one marked again since it was listed to the next run', async () => {
    const target = linkTarget('claimed');
    const marker = pendingMarker({ target, day: '2026-11-26' });
    await aggregateClicks([testClick('claimed', 'claimed-owner')]);
    const claimsSeenByReads: unknown[] = [];
    let markedAgain = false;
    proxy.intercept(async ({ operation, body }) => {
      if (operation === 'Query' && body.TableName === QUARTER_HOUR_TABLE_NAME && JSON.stringify(body).includes(target)) {
        claimsSeenByReads.push((await markers()).find((item) => item.marker === marker)?.claimedAt);
      }
      // Between the listing and the claim, a new click marks the day again: the claim is refused.
      if (operation === 'UpdateItem' && body.TableName === PENDING_ROLLUPS_TABLE_NAME && JSON.stringify(body.Key).includes(marker) && !markedAgain) {
        markedAgain = true;
        expect(await markPendingDays(PENDING_ROLLUPS_TABLE_NAME, [{ target, day: '2026-11-26' }], new Date())).toEqual([]);
      }
      return undefined;
    });
    try {
      await rollup({});
      expect(await daily(target)).toEqual({});
      // Marked again: unclaimed, at a version the run never listed.
      const [again] = (await markers()).filter((item) => item.marker === marker);
      expect(again).toBeDefined();
      expect(again).not.toHaveProperty('claimedAt');
      await rollup({});
    } finally {
      proxy.intercept(undefined);
    }
    expect(claimsSeenByReads).toEqual([expect.any(String)]);
    expect(await daily(target)).toEqual({ '2026-11-26': { clicks: 1, botClicks: 0, uniques: 1, tz: 'UTC' } });
    expect((await markers()).filter((item) => item.marker === marker)).toEqual([]);
  });

  it('leaves a day that is not over pending, out of the waiting time, until its first run after the day ends', async () => {
    const target = linkTarget('today');
    const now = new Date();
    const today = now.toISOString().slice(0, 10);
    const todaysMarkers = [target, ownerTarget('today-owner')].map((each) => pendingMarker({ target: each, day: today })).sort();
    await aggregateClicks([testClick('today', 'today-owner', { ts: now.toISOString() })]);

    const during = await metricsOf(() => rollup({ 'detail-type': 'Scheduled Event', time: now.toISOString() }));
    expect(during).toMatchObject({ PendingRollups: 2, RollupsApplied: 0, RollupsWaitingForDayEnd: 2, RollupsFailed: 0, OldestPendingRollupSeconds: 0 });
    expect(await storedItems([target])).toEqual([]);
    expect((await markers()).map((item) => item.marker).sort()).toEqual(todaysMarkers);

    const dayEndMs = Date.parse(`${today}T00:00:00.000Z`) + 86_400_000;
    const after = await metricsOf(() => rollup({ 'detail-type': 'Scheduled Event', time: new Date(dayEndMs + 90_000).toISOString() }));
    expect(after).toMatchObject({ PendingRollups: 2, RollupsApplied: 2, RollupsWaitingForDayEnd: 0, OldestPendingRollupSeconds: 90 });
    expect(await daily(target)).toEqual({ [today]: { clicks: 1, botClicks: 0, uniques: 1, tz: 'UTC' } });
    expect(await markers()).toEqual([]);
  });

  it('publishes how many rollups are pending and how long the oldest has waited', async () => {
    const target = linkTarget('lagging');
    const markedAt = new Date(Date.now() - 600_000).toISOString();
    await dynamo.send(
      new PutItemCommand({
        TableName: PENDING_ROLLUPS_TABLE_NAME,
        Item: marshall({ partition: pendingPartitionOf(target), marker: pendingMarker({ target, day: '2026-11-20' }), version: 3, markedAt }),
      }),
    );
    await aggregateClicks([testClick('lagging', 'lagging-owner')]);

    const published = await metricsOf(() => rollup({}));
    expect(published).toMatchObject({ PendingRollups: 3, RollupsApplied: 3, RollupsFailed: 0 });
    expect(published.OldestPendingRollupSeconds).toBeGreaterThanOrEqual(600);
    expect(published.OldestPendingRollupSeconds).toBeLessThan(660);
    expect(await daily(target)).toEqual({
      '2026-11-20': { clicks: 0, botClicks: 0, uniques: 0, tz: 'UTC' },
      '2026-11-26': { clicks: 1, botClicks: 0, uniques: 1, tz: 'UTC' },
    });
  });

  it('leaves a failing marker for the next run, rolls the others up, then fails the invocation', async () => {
    const broken = { partition: PENDING_PARTITIONS[0], marker: 'no-day-in-this-marker', version: 1, markedAt: new Date().toISOString() };
    await dynamo.send(new PutItemCommand({ TableName: PENDING_ROLLUPS_TABLE_NAME, Item: marshall(broken) }));
    await aggregateClicks([testClick('survivor', 'survivor-owner')]);

    const published = await metricsOf(() => expect(rollup({})).rejects.toThrow('1 of 3 pending rollups failed'));
    expect(published).toMatchObject({ PendingRollups: 3, RollupsApplied: 2, RollupsFailed: 1 });
    expect(await daily(linkTarget('survivor'))).toEqual({ '2026-11-26': { clicks: 1, botClicks: 0, uniques: 1, tz: 'UTC' } });
    expect(await markers()).toEqual([broken]);
    await dynamo.send(
      new DeleteItemCommand({ TableName: PENDING_ROLLUPS_TABLE_NAME, Key: marshall({ partition: broken.partition, marker: broken.marker }) }),
    );
  });

  it("edge mode: records each link's latest click day in the links table, once a day per environment, never moving it back", async () => {
    const linksTable = 'LinksForRollup';
    await createLinksTable(dynamo, linksTable);
    const link = { code: 'recent', url: 'https://example.com/', owner: 'recent-owner', createdAt: '2026-11-01T00:00:00.000Z' };
    await dynamo.send(new PutItemCommand({ TableName: linksTable, Item: marshall(link) }));
    const clickDayOf = async (code: string): Promise<unknown> =>
      (await dynamo.send(new GetItemCommand({ TableName: linksTable, Key: marshall({ code }), ConsistentRead: true }))).Item?.lastClickDay?.S;
    const clickDayWrites = (): number =>
      proxy.requests.filter(({ operation, body }) => operation === 'UpdateItem' && body.TableName === linksTable).length;
    process.env[ENV.linksTable] = linksTable;
    try {
      await aggregateClicks([testClick('recent', 'recent-owner', { ts: '2026-11-25T10:00:00.000Z' }), testClick('gone', 'recent-owner')]);
      await rollup({});
      expect(await clickDayOf('recent')).toBe('2026-11-25');
      // A code without a live link gets no item; the owner's target is not a link.
      expect((await dynamo.send(new GetItemCommand({ TableName: linksTable, Key: marshall({ code: 'gone' }) }))).Item).toBeUndefined();
      expect(clickDayWrites()).toBe(2);

      await aggregateClicks([testClick('recent', 'recent-owner', { ts: '2026-11-26T10:00:00.000Z' })]);
      await rollup({});
      expect(await clickDayOf('recent')).toBe('2026-11-26');
      // Another click the same day: this environment has recorded it already.
      await aggregateClicks([testClick('recent', 'recent-owner', { ts: '2026-11-26T11:00:00.000Z' })]);
      await rollup({});
      expect(clickDayWrites()).toBe(3);
      // A late click of an earlier day does not move the day back.
      await aggregateClicks([testClick('recent', 'recent-owner', { ts: '2026-11-20T10:00:00.000Z' })]);
      await rollup({});
      expect(await clickDayOf('recent')).toBe('2026-11-26');
    } finally {
      delete process.env[ENV.linksTable];
    }
  });

  it('takes no marker with less than 15 seconds left, leaving them for the next run', async () => {
    await aggregateClicks([testClick('late', 'late-owner')]);
    await rollup({}, lambdaContext({ functionName: 'rollup', remainingMs: 14_000 }));
    expect(await daily(linkTarget('late'))).toEqual({});
    expect(await markers()).toHaveLength(2);
    await rollup({}, lambdaContext({ functionName: 'rollup', remainingMs: 60_000 }));
    expect(await daily(linkTarget('late'))).toEqual({ '2026-11-26': { clicks: 1, botClicks: 0, uniques: 1, tz: 'UTC' } });
  });
});
