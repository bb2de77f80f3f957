/**
 * The stats routes of the API handler in-process on DynamoDB Local, over items the aggregate and
 * rollup handlers wrote: each level serves the queries docs/statistics.md gives it, the owner
 * route sums the owner's links, days the rollup has not finished agree with the hours, and client
 * mistakes are 4xx. Clicks are a few days old at most so every level still holds them. Every answer
 * is checked against the OpenAPI document.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { StatsResponse } from '../../lambdas/domain/stats';
import type { DynamoRequest } from '../fixtures/local/dynamo-proxy';
import { handler as aggregate } from '../../lambdas/handlers/aggregate';
import { handler as rollup } from '../../lambdas/handlers/rollup';
import { createTable, type DynamoForHandlers, startDynamoForHandlers } from '../fixtures/local/emulators';
import { requestApi } from './helpers/api-handler';
import { createStatisticsTables, STATISTICS_TABLES, streamInserts, testClick } from './helpers/statistics-tables';

jest.setTimeout(60_000);

const API_KEY = 'stats-test-key';
const LINKS_TABLE = 'LinksForStatsTest';
const DAY_MS = 86_400_000;
/** Three, two and one days ago (UTC), so the quarter-hour level (90 days) still has them; today and tomorrow. */
const [DAY0, DAY1, DAY2, TODAY, TOMORROW] = [3, 2, 1, 0, -1].map((daysAgo) => new Date(Date.now() - daysAgo * DAY_MS).toISOString().slice(0, 10));
const SHARD = 'shardId-00000001700000000000-0000aaaa';
const [ALICE, BOB, CAROL, DAVE, ERIN] = ['a1', 'b2', 'c3', 'd4', 'e5'].map((pair) => pair.repeat(32));

let local: DynamoForHandlers;

interface Answer {
  readonly status: number;
  readonly body: StatsResponse & { error?: { code: string; message: string } };
}

/** Checked against the OpenAPI document on the way (requestApi). */
async function get(path: string, query: Record<string, string> = {}, key = API_KEY): Promise<Answer> {
  const { status, body } = await requestApi('GET', path, key, { query });
  return { status, body: JSON.parse(body) as Answer['body'] };
}

/** 'YYYY-MM' of the month after a 'YYYY-MM'. */
const monthAfter = (month: string): string => new Date(Date.UTC(Number(month.slice(0, 4)), Number(month.slice(5, 7)), 1)).toISOString().slice(0, 7);

beforeAll(async () => {
  local = await startDynamoForHandlers({
    ...STATISTICS_TABLES,
    LINKS_TABLE_NAME: LINKS_TABLE,
    // Not created: the admin key reads neither.
    API_KEYS_TABLE_NAME: 'ApiKeysNotRead',
    API_REQUEST_COUNTS_TABLE_NAME: 'ApiRequestCountsNotRead',
    CLICKS_API_KEY: API_KEY,
    REPORTING_TIME_ZONE: 'UTC',
  });
  const { dynamo } = local;
  await createStatisticsTables(dynamo);
  await createTable(dynamo, LINKS_TABLE, ['code']);
  for (const code of ['stats-a', 'stats-b']) {
    await dynamo.send(new PutItemCommand({ TableName: LINKS_TABLE, Item: marshall({ code, url: 'https://example.com/', owner: 'admin' }) }));
  }
  const response = await aggregate({
    shardId: SHARD,
    Records: streamInserts([
      testClick('stats-a', 'admin', { ts: `${DAY0}T10:00:00.000Z`, visitor: ALICE, referrer: 'news.ycombinator.com' }),
      testClick('stats-a', 'admin', { ts: `${DAY0}T10:20:00.000Z`, visitor: BOB, referrer: 'twitter.com' }),
      // 01:30 on the next day in Asia/Kolkata.
      testClick('stats-a', 'admin', { ts: `${DAY0}T20:00:00.000Z`, visitor: ALICE, bot: true, botReason: 'user-agent' }),
      testClick('stats-b', 'admin', { ts: `${DAY1}T05:00:00.000Z`, visitor: CAROL, referrer: 'twitter.com' }),
    ]),
  });
  expect(response.batchItemFailures).toEqual([]);
  await rollup({});
});

afterAll(() => local?.stop());

const daySeries = (body: StatsResponse): [string, number, number, number][] =>
  body.series.map(({ t, clicks, uniques, botClicks }) => [t.slice(0, 10), clicks, uniques, botClicks]);

describe('stats routes', () => {
  it('serves days in the reporting zone from the daily level', async () => {
    const { status, body } = await get('/api/links/stats-a/stats', { from: DAY0, to: DAY2, granularity: 'day', tz: 'UTC' });
    expect(status).toBe(200);
    expect(body).toMatchObject({ link: 'stats-a', source: 'daily', granularity: 'day', tz: 'UTC', totals: { clicks: 2, uniques: 2, botClicks: 1 } });
    expect(daySeries(body)).toEqual([
      [DAY0, 2, 2, 1],
      [DAY1, 0, 0, 0],
    ]);
    expect(body.breakdowns.referrers).toEqual([
      { key: 'news.ycombinator.com', clicks: 1 },
      { key: 'twitter.com', clicks: 1 },
    ]);
  });

  it('serves months in the reporting zone from the monthly level, with trends', async () => {
    const month = DAY0.slice(0, 7);
    const { status, body } = await get('/api/links/stats-a/stats', { from: `${month}-01`, to: `${monthAfter(month)}-01`, granularity: 'month', tz: 'UTC' });
    expect(status).toBe(200);
    expect(body).toMatchObject({ source: 'monthly', totals: { clicks: 2, uniques: 2, botClicks: 1 } });
    expect(body.series[0]).toMatchObject({ clicks: 2, uniques: 2, trend: { clicks: null, uniques: null } });
  });

  it('serves hours, and days in another zone, from the quarter-hour level', async () => {
    const hours = await get('/api/links/stats-a/stats', { from: `${DAY0}T10:00:00Z`, to: `${DAY0}T12:00:00Z`, granularity: 'hour' });
    expect(hours.status).toBe(200);
    expect(hours.body.source).toBe('quarter-hour');
    expect(hours.body.series.map(({ t, clicks, uniques }) => [t, clicks, uniques])).toEqual([
      [`${DAY0}T10:00:00Z`, 2, 2],
      [`${DAY0}T11:00:00Z`, 0, 0],
    ]);

    const kolkata = await get('/api/links/stats-a/stats', { from: DAY0, to: DAY2, granularity: 'day', tz: 'Asia/Kolkata' });
    expect(kolkata.status).toBe(200);
    expect(kolkata.body.source).toBe('quarter-hour');
    // The bot click at 20:00 UTC is on the next day in Kolkata.
    expect(daySeries(kolkata.body)).toEqual([
      [DAY0, 2, 2, 0],
      [DAY1, 0, 0, 1],
    ]);
  });

  it("serves the owner's statistics over all their links, uniques merged", async () => {
    const { status, body } = await get('/api/stats', { from: DAY0, to: DAY2, granularity: 'day', tz: 'UTC' });
    expect(status).toBe(200);
    expect(body).toMatchObject({ owner: 'admin', source: 'daily', totals: { clicks: 3, uniques: 3, botClicks: 1 } });
    expect(daySeries(body)).toEqual([
      [DAY0, 2, 2, 1],
      [DAY1, 1, 1, 0],
    ]);
  });

  it('cuts breakdowns to the first `top` keys and says what it left out', async () => {
    const { body } = await get('/api/stats', { from: DAY0, to: DAY2, granularity: 'day', top: '1' });
    expect(body.breakdowns.referrers).toEqual([{ key: 'twitter.com', clicks: 2 }]);
    expect(body.breakdownOthers.referrers).toEqual({ keys: 1, clicks: 1, longTail: { keys: 0, clicks: 0 } });
  });

  it.each([
    ['an unknown time zone', { tz: 'Mars/Olympus_Mons' }],
    ['from after to', { from: DAY2, to: DAY0 }],
    ['an hourly range over 31 days', { from: '2026-01-01', to: '2026-03-01', granularity: 'hour' }],
    ['top 0', { top: '0' }],
    ['a top that is no number', { top: 'ten' }],
    ['top above 1000', { top: '1001' }],
  ])('400 for %s, on both routes', async (_, query) => {
    for (const path of ['/api/links/stats-a/stats', '/api/stats']) {
      const { status, body } = await get(path, query);
      expect([path, status, body.error?.code]).toEqual([path, 400, 'invalid_request']);
    }
  });

  it('400 naming the reporting zone for days in another zone older than the quarter-hour level', async () => {
    const { status, body } = await get('/api/links/stats-a/stats', { from: '2024-01-01', to: '2024-01-05', granularity: 'day', tz: 'Asia/Kolkata' });
    expect(status).toBe(400);
    expect(body.error?.message).toContain('UTC');
  });

  it.each([
    ['an unknown link', '/api/links/no-such-link/stats'],
    ['a malformed code', '/api/links/bad code!/stats'],
    ['a route one segment too deep', '/api/stats/more'],
  ])('404 for %s', async (_, path) => {
    const { status, body } = await get(path, { from: DAY0, to: DAY2 });
    expect(status).toBe(404);
    expect(body.error?.code).toBe('not_found');
  });

  it('401 without the key, before reading anything', async () => {
    expect((await get('/api/stats', {}, 'wrong-key')).status).toBe(401);
  });
});

describe('figures that agree at every granularity before and after the rollup', () => {
  const path = '/api/links/live-a/stats';
  const counts = ({ totals }: StatsResponse): [number, number, number] => [totals.clicks, totals.uniques, totals.botClicks];
  const range = { from: DAY1, to: TOMORROW, tz: 'UTC' };
  const monthRange = { from: `${DAY1.slice(0, 7)}-01`, to: `${monthAfter(TODAY.slice(0, 7))}-01`, tz: 'UTC', granularity: 'month' };

  /** The answer and the DynamoDB requests the handler made for it. */
  async function measured(query: Record<string, string>, on = path): Promise<Answer & { requests: DynamoRequest[] }> {
    const before = local.proxy.requests.length;
    const answer = await get(on, query);
    return { ...answer, requests: local.proxy.requests.slice(before) };
  }
  const tablesQueried = (requests: readonly DynamoRequest[]): unknown[] =>
    requests.filter(({ operation }) => operation === 'Query').map(({ body }) => body.TableName);

  beforeAll(async () => {
    await local.dynamo.send(new PutItemCommand({ TableName: LINKS_TABLE, Item: marshall({ code: 'live-a', url: 'https://example.com/', owner: 'admin' }) }));
    // Two days ago, rolled up: a closed day with its daily and monthly items.
    expect(await aggregate({ shardId: SHARD, Records: streamInserts([testClick('live-a', 'admin', { ts: `${DAY1}T09:00:00.000Z`, visitor: ALICE })]) })).toMatchObject({
      batchItemFailures: [],
    });
    await rollup({});
    // Yesterday and today, not rolled up: pending days, the older one with a bot click.
    const pending = await aggregate({
      shardId: SHARD,
      Records: streamInserts([
        testClick('live-a', 'admin', { ts: `${DAY2}T08:00:00.000Z`, visitor: ALICE }),
        testClick('live-a', 'admin', { ts: `${DAY2}T09:00:00.000Z`, visitor: BOB }),
        testClick('live-a', 'admin', { ts: `${DAY2}T10:00:00.000Z`, visitor: CAROL, bot: true, botReason: 'user-agent' }),
        testClick('live-a', 'admin', { ts: `${TODAY}T00:00:00.000Z`, visitor: CAROL }),
      ]),
    });
    expect(pending.batchItemFailures).toEqual([]);
  });

  it('answers pending days from quarter-hour items: hours, days and months agree before the rollup runs', async () => {
    const hours = await measured({ ...range, granularity: 'hour' });
    const days = await measured({ ...range, granularity: 'day' });
    const months = await measured(monthRange);
    expect([hours.status, days.status, months.status]).toEqual([200, 200, 200]);
    expect(counts(hours.body)).toEqual([4, 3, 1]);
    expect(counts(days.body)).toEqual(counts(hours.body));
    expect(counts(months.body)).toEqual(counts(hours.body));
    expect(daySeries(days.body)).toEqual([
      [DAY1, 1, 1, 0],
      [DAY2, 2, 2, 1],
      [TODAY, 1, 1, 0],
    ]);
    expect([hours.body.source, days.body.source]).toEqual(['quarter-hour', 'daily+quarter-hour']);
    expect(months.body.source).toMatch(/^(monthly\+)?daily\+quarter-hour$/);

    // The link's owner was read by the hours query and is cached (no GetItem after it); then the pending
    // days before the levels: at most 3 Queries for days, 4 for months.
    expect(hours.requests.map(({ operation }) => operation)).toEqual(['GetItem', 'Query']);
    expect(tablesQueried(hours.requests)).toEqual([STATISTICS_TABLES.QUARTER_HOUR_TABLE_NAME]);
    expect(days.requests.map(({ operation }) => operation)).toEqual(['Query', 'Query', 'Query']);
    expect(tablesQueried(days.requests)[0]).toBe(STATISTICS_TABLES.PENDING_ROLLUPS_TABLE_NAME);
    expect(new Set(tablesQueried(days.requests).slice(1))).toEqual(new Set([STATISTICS_TABLES.DAILY_TABLE_NAME, STATISTICS_TABLES.QUARTER_HOUR_TABLE_NAME]));
    expect(tablesQueried(months.requests)[0]).toBe(STATISTICS_TABLES.PENDING_ROLLUPS_TABLE_NAME);
    expect(tablesQueried(months.requests).length).toBeLessThanOrEqual(4);
  });

  it("agrees for the owner, whose days are pending as the link's are", async () => {
    const hours = await get('/api/stats', { ...range, granularity: 'hour' });
    const days = await get('/api/stats', { ...range, granularity: 'day' });
    expect(counts(days.body)).toEqual(counts(hours.body));
    expect(days.body.source).toBe('daily+quarter-hour');
  });

  it('compares with the previous period and counts bots when asked, with no more requests', async () => {
    const plain = await measured({ ...range, granularity: 'day' });
    const compared = await measured({ ...range, granularity: 'day', compare: 'previous', includeBots: 'true' });
    expect(compared.status).toBe(200);
    expect(compared.requests.map(({ operation }) => operation)).toEqual(plain.requests.map(({ operation }) => operation));
    expect(compared.body).toMatchObject({ includeBots: true, totals: { clicks: 5, uniques: 3, botClicks: 1 } });
    // The three days before: nothing from this link.
    expect(compared.body.previous).toMatchObject({ from: new Date(Date.parse(DAY1) - 3 * DAY_MS).toISOString(), to: new Date(Date.parse(DAY1)).toISOString() });
    expect(compared.body.previous?.totals).toEqual({ clicks: 0, uniques: 0, botClicks: 0 });
    expect(compared.body.change).toEqual({ clicks: null, uniques: null, botClicks: null });
    const owner = await get('/api/stats', { from: DAY2, to: TOMORROW, granularity: 'day', compare: 'previous' });
    // The two days before yesterday: stats-a's two human clicks, stats-b's and live-a's; yesterday and today: live-a's three.
    expect([owner.body.previous?.totals.clicks, owner.body.totals.clicks, owner.body.change?.clicks]).toEqual([4, 3, -25]);
  });

  it('still agrees once the rollup has run, now from the daily and monthly items', async () => {
    const hours = await get(path, { ...range, granularity: 'hour' });
    // A run now rolls up the days that are over; today stays pending, answered from its quarter-hour items...
    await rollup({});
    const whileToday = await get(path, { ...range, granularity: 'day' });
    expect([whileToday.body.source, counts(whileToday.body)]).toEqual(['daily+quarter-hour', counts(hours.body)]);
    // ...until the first run after it ends.
    await rollup({ 'detail-type': 'Scheduled Event', time: `${TOMORROW}T00:01:00Z` });
    const days = await measured({ ...range, granularity: 'day' });
    const months = await measured(monthRange);
    expect(counts(days.body)).toEqual(counts(hours.body));
    expect(counts(months.body)).toEqual(counts(hours.body));
    expect([days.body.source, months.body.source]).toEqual(['daily', 'monthly']);
    expect(tablesQueried(days.requests)).toEqual([STATISTICS_TABLES.PENDING_ROLLUPS_TABLE_NAME, STATISTICS_TABLES.DAILY_TABLE_NAME]);
    expect(tablesQueried(months.requests)).toEqual([STATISTICS_TABLES.PENDING_ROLLUPS_TABLE_NAME, STATISTICS_TABLES.MONTHLY_TABLE_NAME]);
  });

  it("answers a year of months in 3 requests while only today is pending: the month's item without today, and today's quarter-hours", async () => {
    expect(await aggregate({ shardId: SHARD, Records: streamInserts([testClick('live-a', 'admin', { ts: `${TODAY}T00:30:00.000Z`, visitor: DAVE })]) })).toMatchObject({
      batchItemFailures: [],
    });
    const hours = await get(path, { ...range, granularity: 'hour' });
    const months = await measured(monthRange);
    expect(counts(months.body)).toEqual(counts(hours.body));
    expect(counts(hours.body)).toEqual([5, 4, 1]);
    expect(months.body.source).toBe('monthly+quarter-hour');
    expect(tablesQueried(months.requests)[0]).toBe(STATISTICS_TABLES.PENDING_ROLLUPS_TABLE_NAME);
    expect(new Set(tablesQueried(months.requests).slice(1))).toEqual(new Set([STATISTICS_TABLES.MONTHLY_TABLE_NAME, STATISTICS_TABLES.QUARTER_HOUR_TABLE_NAME]));
    expect(months.requests).toHaveLength(3);
  });

  it('still agrees when an earlier day is pending again beside today, from daily items where the month needs them', async () => {
    expect(await aggregate({ shardId: SHARD, Records: streamInserts([testClick('live-a', 'admin', { ts: `${DAY1}T23:00:00.000Z`, visitor: ERIN })]) })).toMatchObject({
      batchItemFailures: [],
    });
    const hours = await get(path, { ...range, granularity: 'hour' });
    const days = await get(path, { ...range, granularity: 'day' });
    const months = await measured(monthRange);
    expect(counts(hours.body)).toEqual([6, 5, 1]);
    expect([counts(days.body), counts(months.body)]).toEqual([counts(hours.body), counts(hours.body)]);
    expect(tablesQueried(months.requests).length).toBeLessThanOrEqual(4);
  });

  it.each([
    ['compare other than previous', { compare: 'last-year' }, 'compare must be previous'],
    ['includeBots other than true or false', { includeBots: 'yes' }, 'includeBots must be true or false'],
    ['a previous period beyond the daily retention', { from: '2025-06-01', to: '2026-06-01', granularity: 'day', compare: 'previous' }, 'compare=previous reads the period before from too'],
  ])('400 for %s, saying what is wrong', async (_, query, message) => {
    const { status, body } = await get(path, query);
    expect([status, body.error?.code]).toEqual([400, 'invalid_request']);
    expect(body.error?.message).toContain(message);
  });
});
