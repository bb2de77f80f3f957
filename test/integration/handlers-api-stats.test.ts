/**
 * The stats routes of the API handler in-process on DynamoDB Local, over items the aggregate and
 * rollup handlers wrote: each level serves the queries docs/statistics.md gives it, the owner
 * route sums the owner's links, and client mistakes are 4xx. Clicks are a few days old so every
 * level still holds them.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { StatsResponse } from '../../lambdas/domain/stats';
import { handler as aggregate } from '../../lambdas/handlers/aggregate';
import { handler as api } from '../../lambdas/handlers/api';
import { handler as rollup } from '../../lambdas/handlers/rollup';
import { createTable, type DynamoForHandlers, startDynamoForHandlers } from '../fixtures/local/emulators';
import { apiEvent } from './helpers/api-handler';
import { createStatisticsTables, STATISTICS_TABLES, streamInserts, testClick } from './helpers/statistics-tables';

jest.setTimeout(60_000);

const API_KEY = 'stats-test-key';
const LINKS_TABLE = 'LinksForStatsTest';
const DAY_MS = 86_400_000;
/** Three, two and one days ago (UTC), so the quarter-hour level (90 days) still has them. */
const [DAY0, DAY1, DAY2] = [3, 2, 1].map((daysAgo) => new Date(Date.now() - daysAgo * DAY_MS).toISOString().slice(0, 10));
const [ALICE, BOB, CAROL] = ['a1', 'b2', 'c3'].map((pair) => pair.repeat(32));

let local: DynamoForHandlers;

interface Answer {
  readonly status: number;
  readonly body: StatsResponse & { error?: { code: string; message: string } };
}

async function get(path: string, query: Record<string, string> = {}, key = API_KEY): Promise<Answer> {
  const event = apiEvent('GET', path, key, query);
  const result = await api(event);
  return { status: result.statusCode ?? 0, body: JSON.parse(String(result.body)) as Answer['body'] };
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
    shardId: 'shardId-00000001700000000000-0000aaaa',
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
