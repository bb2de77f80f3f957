import fc from 'fast-check';
import type { RawClick } from '../../lambdas/domain/click';
import {
  assemblePage,
  BUCKET_COLUMNS,
  bucketRows,
  decodeExportCursor,
  encodeExportCursor,
  type ExportCursor,
  type ExportLevel,
  type ExportPage,
  type ExportPosition,
  type ExportRequest,
  type ExportRow,
  exportFileName,
  type LinkRows,
  MAX_EXPORT_ROWS,
  nextPageQuery,
  ownerVisitor,
  type PageCaps,
  parseExportRequest,
  RAW_COLUMNS,
  rawClickRow,
  rawShardPageSize,
  responseBytes,
  rowEncoder,
} from '../../lambdas/domain/export';
import { planStats, type SeriesEntry, type StatsSubject } from '../../lambdas/domain/stats';
import { numberedEventId, rawClick } from '../fixtures/clicks';

const NOW = new Date('2026-11-26T05:40:07.123Z');
const DAY_MS = 86_400_000;
const LINK: StatsSubject = { link: 'abc123' };
const OWNER: StatsSubject = { owner: 'alice' };

type Params = Record<string, string | undefined>;

function requestOf(params: Params, subject: StatsSubject = LINK): ExportRequest {
  const result = parseExportRequest(params, subject, 'UTC', NOW);
  if (!result.ok) throw new Error(`expected a valid export, got: ${result.error}`);
  return result.request;
}

function errorOf(params: Params, subject: StatsSubject = LINK): string {
  const result = parseExportRequest(params, subject, 'UTC', NOW);
  if (result.ok) throw new Error('expected the export to be refused');
  return result.error;
}

const clickKeyAt = (ms: number, n: number): string => `${new Date(ms).toISOString()}#${numberedEventId(n)}`;

describe('parseExportRequest', () => {
  it('defaults to raw clicks as CSV over the last 7 days in UTC, 10,000 rows a page, from the start', () => {
    const request = requestOf({});
    expect(request).toMatchObject({ format: 'csv', level: 'raw', limit: MAX_EXPORT_ROWS, plan: null, resumeFrom: null, subject: LINK });
    expect(request.query.tz).toBe('UTC');
    expect(request.query.to).toEqual(NOW);
    expect(request.query.from).toEqual(new Date(NOW.getTime() - 7 * DAY_MS));
  });

  it('reads buckets from the level the stats route would (planStats)', () => {
    for (const [level, tz, source] of [
      ['hour', 'UTC', 'quarter-hour'],
      ['day', 'UTC', 'daily'],
      ['day', 'Asia/Kolkata', 'quarter-hour'],
      ['month', 'UTC', 'monthly'],
    ] as const) {
      const request = requestOf({ level, tz, from: '2026-11-20', to: '2026-11-25' });
      const planned = planStats({ ...request.query, granularity: level }, 'UTC', NOW);
      expect(planned.ok && planned.plan).toEqual(request.plan);
      expect(request.plan?.source).toBe(source);
    }
  });

  it.each([
    [{ format: 'xml' }, 'format must be one of csv, ndjson.'],
    [{ level: 'week' }, 'level must be one of raw, hour, day, month.'],
    [{ limit: '0' }, 'limit must be a whole number from 1 to 10000.'],
    [{ limit: '10001' }, 'limit must be a whole number from 1 to 10000.'],
    [{ limit: '1.5' }, 'limit must be a whole number from 1 to 10000.'],
    [{ limit: 'ten' }, 'limit must be a whole number from 1 to 10000.'],
    [{ tz: 'Mars/Olympus_Mons' }, /^tz must be an IANA time zone/],
    [{ from: 'yesterday' }, /^from must be an ISO 8601 date or time/],
    [{ from: '2026-11-20', to: '2026-11-19' }, 'from must be before to.'],
    [{ from: '2026-08-01' }, /^Raw clicks are kept for 90 days \(from 2026-08-28T05:40:07.123Z on\); ask with level=day or level=month/],
    [{ level: 'hour', from: '2026-09-01', to: '2026-11-01' }, /at most 31 days for hour level; use a coarser level or a shorter range\.$/],
    [{ level: 'hour', from: '2026-08-01', to: '2026-08-02' }, /ask with level=day&tz=UTC\.$/],
    [{ level: 'day', from: '2024-01-01', to: '2024-01-02' }, /ask with level=month for older ranges\.$/],
  ])('refuses %p with a sentence in the export terms', (params, message) => {
    const error = errorOf(params);
    expect(error).toMatch(message);
    expect(error).not.toMatch(/granularity/);
  });

  it('takes back a cursor of the same export only, whatever the page size', () => {
    const request = requestOf({ from: '2026-11-20', to: '2026-11-25' });
    const position: ExportPosition = { link: 'abc123', createdAt: null, after: clickKeyAt(Date.parse('2026-11-21T00:00:00Z'), 1) };
    const cursor = encodeExportCursor({ fingerprint: request.fingerprint, asOfMs: NOW.getTime(), position });
    expect(requestOf({ from: '2026-11-20', to: '2026-11-25', cursor, limit: '3' }).resumeFrom).toEqual(position);

    for (const other of [{ from: '2026-11-19' }, { to: '2026-11-24' }, { format: 'ndjson' }, { tz: 'Europe/Paris' }]) {
      expect(errorOf({ from: '2026-11-20', to: '2026-11-25', cursor, ...other })).toMatch(/^cursor belongs to another export/);
    }
    // Another link, or the owner route: not this export either.
    expect(() => requestOf({ from: '2026-11-20', to: '2026-11-25', cursor }, { link: 'other' })).toThrow(/cursor/);
    expect(errorOf({ from: '2026-11-20', to: '2026-11-25', cursor }, OWNER)).toMatch(/^cursor must be the X-Next-Cursor value/);
    // The level decides what a position may be: a clickKey is no bucket start.
    expect(errorOf({ from: '2026-11-20', to: '2026-11-25', cursor, level: 'day' })).toMatch(/^cursor must be the X-Next-Cursor value/);
    // A cursor is not made in the future.
    const ahead = encodeExportCursor({ fingerprint: request.fingerprint, asOfMs: NOW.getTime() + 61_000, position });
    expect(errorOf({ from: '2026-11-20', to: '2026-11-25', cursor: ahead })).toMatch(/^cursor must be the X-Next-Cursor value/);
  });

  it('plans every page as of the first: a retention limit passing `from` meanwhile refuses no later page', () => {
    const range = { from: new Date(NOW.getTime() - 89.9 * DAY_MS).toISOString(), to: NOW.toISOString() };
    const first = requestOf(range);
    const position: ExportPosition = { link: 'abc123', createdAt: null, after: clickKeyAt(NOW.getTime() - DAY_MS, 1) };
    const cursor = encodeExportCursor({ fingerprint: first.fingerprint, asOfMs: NOW.getTime(), position });
    const later = new Date(NOW.getTime() + 3 * 3_600_000);
    expect(parseExportRequest(range, LINK, 'UTC', later)).toMatchObject({ ok: false, error: expect.stringMatching(/^Raw clicks are kept for 90 days/) });
    const resumed = parseExportRequest({ ...range, cursor }, LINK, 'UTC', later);
    expect(resumed.ok && resumed.request).toMatchObject({ asOf: NOW, resumeFrom: position });
  });

  it.each(['!!!', 'bm90LWEtY3Vyc29y', 'A'.repeat(513), Buffer.from(`[1,"aaaaaaaaaaaaaaaa",${NOW.getTime()},"abc123",null,null]`).toString('base64url')])(
    'refuses the cursor %p with a 400 sentence',
    (cursor) => {
      expect(errorOf({ cursor })).toBe('cursor must be the X-Next-Cursor value of an earlier page, unchanged.');
    },
  );
});

describe('export cursors', () => {
  const fingerprint = fc.stringMatching(/^[A-Za-z0-9_-]{16}$/);
  const code = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
  const instant = fc.integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(9998, 11, 31) });
  const createdAt = fc.option(instant.map((ms) => new Date(ms).toISOString()));

  it('give back the position they were made from', () => {
    const rawAfter = fc.option(fc.tuple(instant, fc.nat({ max: 10 ** 9 })).map(([ms, n]) => clickKeyAt(ms, n)));
    const bucketAfter = fc.option(instant.map((ms) => new Date(ms).toISOString()));
    for (const [level, after] of [['raw', rawAfter], ['day', bucketAfter]] as const) {
      fc.assert(
        fc.property(fingerprint, instant, code, createdAt, after, (print, asOfMs, link, created, afterKey) => {
          const made: ExportCursor = { fingerprint: print, asOfMs, position: { link, createdAt: created, after: afterKey } };
          expect(decodeExportCursor(encodeExportCursor(made), level)).toEqual(made);
        }),
      );
    }
  });

  it('turn anything a client makes up into null, never an exception or a malformed position', () => {
    const made = fc.oneof(
      fc.string({ maxLength: 600 }),
      fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value) ?? 'null').toString('base64url')),
      fc
        .tuple(fc.constantFrom(1, 2, '1'), fc.string(), fc.oneof(fc.double(), fc.integer()), fc.string(), fc.option(fc.string()), fc.option(fc.string()))
        .map((parts) => Buffer.from(JSON.stringify(parts)).toString('base64url')),
    );
    fc.assert(
      fc.property(made, fc.constantFrom<ExportLevel>('raw', 'hour', 'day', 'month'), (cursor, level) => {
        const decoded = decodeExportCursor(cursor, level);
        if (decoded === null) return;
        expect(decoded.fingerprint).toMatch(/^[A-Za-z0-9_-]{16}$/);
        expect(Number.isSafeInteger(decoded.asOfMs) && decoded.asOfMs >= 0).toBe(true);
        expect(decoded.position.link).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
        expect(Object.keys(decoded.position).sort()).toEqual(['after', 'createdAt', 'link']);
      }),
    );
  });
});

describe('rows', () => {
  const click = (changes: Partial<RawClick> = {}): RawClick => rawClick({ owner: 'alice', visitor: 'c'.repeat(64), ...changes });

  it('has exactly the documented raw columns: the raw item less its keys, TTL and owner; never an IP or a User-Agent', () => {
    expect(RAW_COLUMNS).toEqual(['ts', 'code', 'eventId', 'bot', 'botReason', 'country', 'referrer', 'device', 'browser', 'os', 'visitor']);
    expect(rowEncoder('csv', RAW_COLUMNS).header).toBe('"ts","code","eventId","bot","botReason","country","referrer","device","browser","os","visitor"\r\n');
    const stored = Object.keys(click());
    expect(stored.filter((field) => !(RAW_COLUMNS as readonly string[]).includes(field)).sort()).toEqual(['clickKey', 'expiresAt', 'linkShard', 'owner']);
    expect(RAW_COLUMNS.every((column) => stored.includes(column))).toBe(true);
    for (const column of RAW_COLUMNS) expect(column).not.toMatch(/ip|agent|ua$/i);
    const line = JSON.parse(rowEncoder('ndjson', RAW_COLUMNS).line(rawClickRow(click(), 'UTC').cells)) as Record<string, unknown>;
    expect(Object.keys(line)).toEqual([...RAW_COLUMNS]);
  });

  it('writes a raw click in the export zone, its visitor re-keyed for its owner, its values typed in NDJSON', () => {
    const row = rawClickRow(click({ ts: '2026-11-26T05:40:07.123Z', bot: true, botReason: 'user-agent' }), 'UTC');
    expect(row.key).toBe(`2026-11-26T05:40:07.123Z#${click().eventId}`);
    expect(row.cells.slice(0, 5)).toEqual(['2026-11-26T05:40:07.123Z', 'abc123', click().eventId, true, 'user-agent']);
    expect(rawClickRow(click({ ts: '2026-11-26T05:40:07.123Z' }), 'America/New_York').cells[0]).toBe('2026-11-26T00:40:07.123-05:00');
    expect(rawClickRow(click({ ts: '2026-11-26T05:40:07.123Z' }), 'Asia/Kathmandu').cells[0]).toBe('2026-11-26T11:25:07.123+05:45');

    const visitor = row.cells[10];
    expect(visitor).toMatch(/^[0-9a-f]{64}$/);
    expect(visitor).not.toBe('c'.repeat(64));
    expect(visitor).toBe(ownerVisitor('alice', 'c'.repeat(64)));
    expect(rawClickRow(click({ owner: 'bob' }), 'UTC').cells[10]).not.toBe(visitor);
    expect(rowEncoder('ndjson', RAW_COLUMNS).line(row.cells)).toContain('"bot":true,"botReason":"user-agent","country":"SE"');
    // A human click has no bot reason: null in NDJSON, an empty cell in CSV.
    const human = rawClickRow(click(), 'UTC').cells;
    expect(rowEncoder('ndjson', RAW_COLUMNS).line(human)).toContain('"bot":false,"botReason":null,');
    expect(rowEncoder('csv', RAW_COLUMNS).line(human)).toContain('"false","","SE"');
  });

  it('keeps the non-empty buckets after the position, keyed by their start', () => {
    const series: SeriesEntry[] = [
      { t: '2026-11-25T00:00:00-05:00', clicks: 2, uniques: 1, botClicks: 0 },
      { t: '2026-11-26T00:00:00-05:00', clicks: 0, uniques: 0, botClicks: 0 },
      { t: '2026-11-27T00:00:00-05:00', clicks: 0, uniques: 0, botClicks: 3 },
      { t: '2026-11-28T00:00:00-05:00', clicks: 1, uniques: 1, botClicks: 1 },
    ];
    expect(bucketRows('abc123', series, null)).toEqual([
      { key: '2026-11-25T05:00:00.000Z', cells: ['2026-11-25T00:00:00-05:00', 'abc123', 2, 1, 0] },
      { key: '2026-11-27T05:00:00.000Z', cells: ['2026-11-27T00:00:00-05:00', 'abc123', 0, 0, 3] },
      { key: '2026-11-28T05:00:00.000Z', cells: ['2026-11-28T00:00:00-05:00', 'abc123', 1, 1, 1] },
    ]);
    expect(bucketRows('abc123', series, '2026-11-27T05:00:00.000Z').map((row) => row.key)).toEqual(['2026-11-28T05:00:00.000Z']);
    expect(BUCKET_COLUMNS).toEqual(['t', 'code', 'clicks', 'uniques', 'botClicks']);
  });

  it('asks each of the 16 shards for a quarter more than its share, within 1,000', () => {
    expect(rawShardPageSize(1)).toBe(9);
    expect(rawShardPageSize(160)).toBe(21);
    expect(rawShardPageSize(MAX_EXPORT_ROWS)).toBe(790);
    expect(rawShardPageSize(1_000_000)).toBe(1_000);
  });

  it('names the file and the next page after the export, with the range pinned', () => {
    const request = requestOf({ level: 'day', format: 'ndjson', tz: 'Europe/Paris' });
    expect(exportFileName(request)).toBe('abc123-day.ndjson');
    expect(exportFileName(requestOf({}, OWNER))).toBe('alice-links-raw.csv');
    expect(Object.fromEntries(new URLSearchParams(nextPageQuery(request, 'CURSOR')))).toEqual({
      format: 'ndjson',
      level: 'day',
      from: new Date(NOW.getTime() - 7 * DAY_MS).toISOString(),
      to: NOW.toISOString(),
      tz: 'Europe/Paris',
      limit: '10000',
      cursor: 'CURSOR',
    });
  });
});

describe('assemblePage', () => {
  interface FakeLink {
    readonly code: string;
    readonly createdAt: string;
    /** Sorted, distinct within the link; links may share keys (the same instant). */
    readonly keys: readonly string[];
  }

  const encoder = rowEncoder('csv', ['key', 'code']);
  const roomy: PageCaps = { rows: 1_000_000, bytes: 1_000_000_000, links: 1_000_000, newLinkAfterMs: Infinity };

  /** The links from a position, as the owner route gives them: the rest of the link it stopped in, then the ones after it. */
  function linksFrom(links: readonly FakeLink[], resume: ExportPosition | null, closed: string[] = []): LinkRows[] {
    const rowsOf = (link: FakeLink, after: string | null): LinkRows => ({
      link: link.code,
      createdAt: link.createdAt,
      rows: () =>
        (async function* (): AsyncGenerator<ExportRow, void, undefined> {
          try {
            for (const key of link.keys) if (after === null || key > after) yield { key, cells: [key, link.code] };
          } finally {
            closed.push(link.code);
          }
        })(),
    });
    if (resume === null) return links.map((link) => rowsOf(link, null));
    const at = links.findIndex((link) => link.code === resume.link);
    return [...(resume.after === null ? [] : [rowsOf(links[at], resume.after)]), ...links.slice(at + 1).map((link) => rowsOf(link, null))];
  }

  async function pagesOf(links: readonly FakeLink[], caps: PageCaps): Promise<ExportPage[]> {
    const pages: ExportPage[] = [];
    let resume: ExportPosition | null = null;
    do {
      const page = await assemblePage(linksFrom(links, resume), encoder, caps, resume, () => 0);
      pages.push(page);
      // Through a cursor and back, as a client would.
      const decoded = page.next === null ? null : decodeExportCursor(encodeExportCursor({ fingerprint: 'f'.repeat(16), asOfMs: 0, position: page.next }), 'day');
      resume = decoded === null ? null : decoded.position;
      if (pages.length > 10_000) throw new Error('no progress');
    } while (resume !== null);
    return pages;
  }

  const bucketKey = fc.integer({ min: 0, max: 40 }).map((hour) => new Date(Date.UTC(2026, 10, 1, hour)).toISOString());
  const fakeLinks = fc
    .array(fc.uniqueArray(bucketKey, { maxLength: 8 }), { maxLength: 6 })
    .map((keySets) =>
      keySets.map((keys, index): FakeLink => ({ code: `link-${index}`, createdAt: new Date(Date.UTC(2026, 0, 1, index)).toISOString(), keys: [...keys].sort() })),
    );
  const caps = fc.record({
    rows: fc.integer({ min: 1, max: 6 }),
    bytes: fc.integer({ min: 1, max: 200 }),
    links: fc.integer({ min: 1, max: 4 }),
    newLinkAfterMs: fc.constant(Infinity),
  });

  it('pages concatenate into the one-page export: no row lost or repeated, each page within its caps', async () => {
    await fc.assert(
      fc.asyncProperty(fakeLinks, caps, async (links, pageCaps) => {
        const [whole] = await pagesOf(links, roomy);
        const pages = await pagesOf(links, pageCaps);
        expect(pages.map((page) => page.body).join('')).toBe(whole.body);
        for (const page of pages) {
          const rows = page.body.split('\r\n').filter((line) => line !== '' && line !== '"key","code"');
          expect(rows.length).toBeLessThanOrEqual(pageCaps.rows);
          // A page goes over the byte cap only with its one row (and the header): every page moves on.
          if (rows.length > 1) expect(responseBytes(page.body)).toBeLessThanOrEqual(pageCaps.bytes);
        }
      }),
      { numRuns: 300, endOnFailure: true },
    );
  });

  it('writes the CSV header on the first page only, and an empty export as the header alone', async () => {
    const [k1, k2, k3] = [1, 2, 3].map((hour) => new Date(Date.UTC(2026, 10, 1, hour)).toISOString());
    const links: FakeLink[] = [{ code: 'a', createdAt: '2026-01-01T00:00:00.000Z', keys: [k1, k2, k3] }];
    const pages = await pagesOf(links, { ...roomy, rows: 2 });
    expect(pages.map((page) => page.body)).toEqual([`"key","code"\r\n"${k1}","a"\r\n"${k2}","a"\r\n`, `"${k3}","a"\r\n`]);
    expect((await pagesOf([], roomy)).map((page) => page.body)).toEqual(['"key","code"\r\n']);
    const ndjson = await assemblePage(linksFrom(links, null), rowEncoder('ndjson', ['key', 'code']), roomy, null, () => 0);
    expect(ndjson.body).toBe(`{"key":"${k1}","code":"a"}\n{"key":"${k2}","code":"a"}\n{"key":"${k3}","code":"a"}\n`);
  });

  it('counts bytes as the Lambda response carries them: JSON escapes included', async () => {
    const line = encoder.line(['"', 'a']);
    expect(line).toBe('"""","a"\r\n');
    // Each of its six quotes and its CR and LF take a byte more there.
    expect(responseBytes(line)).toBe(line.length + 6 + 2);
    const links: FakeLink[] = [{ code: 'a', createdAt: '2026-01-01T00:00:00.000Z', keys: ['k1', 'k2'] }];
    const header = responseBytes(encoder.header);
    const rowBytes = responseBytes(encoder.line(['k1', 'a']));
    const page = await assemblePage(linksFrom(links, null), encoder, { ...roomy, bytes: header + 2 * rowBytes - 1 }, null, () => 0);
    expect(page.next).toEqual({ link: 'a', createdAt: '2026-01-01T00:00:00.000Z', after: 'k1' });
  });

  it('stops at the link cap, or starts no link once its time is up, after whole links', async () => {
    const links: FakeLink[] = ['a', 'b', 'c'].map((code, index) => ({ code, createdAt: `2026-01-0${index + 1}T00:00:00.000Z`, keys: [] }));
    const capped = await assemblePage(linksFrom(links, null), encoder, { ...roomy, links: 2 }, null, () => 0);
    expect(capped.next).toEqual({ link: 'b', createdAt: '2026-01-02T00:00:00.000Z', after: null });

    const times = [0, 4_999, 5_000];
    const timed = await assemblePage(linksFrom(links, null), encoder, { ...roomy, newLinkAfterMs: 5_000 }, null, () => times.shift() ?? 5_000);
    expect(timed.next).toEqual({ link: 'b', createdAt: '2026-01-02T00:00:00.000Z', after: null });
  });

  it('closes the reads of the link it stops in', async () => {
    const links: FakeLink[] = [
      { code: 'a', createdAt: '2026-01-01T00:00:00.000Z', keys: ['k1', 'k2', 'k3'] },
      { code: 'b', createdAt: '2026-01-02T00:00:00.000Z', keys: ['k1'] },
    ];
    const closed: string[] = [];
    const page = await assemblePage(linksFrom(links, null, closed), encoder, { ...roomy, rows: 2 }, null, () => 0);
    expect(page.next).toEqual({ link: 'a', createdAt: '2026-01-01T00:00:00.000Z', after: 'k2' });
    expect(closed).toEqual(['a']);
  });
});
