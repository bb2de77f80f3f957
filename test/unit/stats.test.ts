import type { HourlyRecord } from '../../lambdas/domain/hourly';
import { buildStats, hourRange, parseStatsQuery, type StatsQuery } from '../../lambdas/domain/stats';
import { hourBucket } from '../../lambdas/domain/time-buckets';

const NOW = new Date('2026-11-26T05:40:07.123Z');
const DAY_MS = 86_400_000;

function parsed(params: Record<string, string | undefined>): StatsQuery {
  const result = parseStatsQuery(params, NOW);
  if (!result.ok) throw new Error(`expected a valid query, got: ${result.error}`);
  return result.query;
}

function errorOf(params: Record<string, string | undefined>): string {
  const result = parseStatsQuery(params, NOW);
  if (result.ok) throw new Error('expected the query to be rejected');
  return result.error;
}

const query = (from: string, to: string, granularity: StatsQuery['granularity'], tz = 'UTC'): StatsQuery => ({
  from: new Date(from),
  to: new Date(to),
  granularity,
  tz,
});

/** One record per hour from `from` (inclusive) to `to` (exclusive), each with the given counts. */
function everyHour(from: string, to: string, clicks = 1, botClicks = 0): HourlyRecord[] {
  const records: HourlyRecord[] = [];
  for (let at = Date.parse(from); at < Date.parse(to); at += 3_600_000) {
    records.push({ hour: hourBucket(new Date(at)), clicks, botClicks, counters: {} });
  }
  return records;
}

describe('parseStatsQuery', () => {
  it('defaults to the last 7 days, hourly, in UTC', () => {
    expect(parsed({})).toEqual({ from: new Date(NOW.getTime() - 7 * DAY_MS), to: NOW, granularity: 'hour', tz: 'UTC' });
  });

  it('treats empty parameters as absent', () => {
    expect(parsed({ from: '', to: ' ', granularity: '', tz: '' })).toEqual(parsed({}));
  });

  it('defaults the granularity to days for ranges over 7 days', () => {
    expect(parsed({ from: '2026-11-01T00:00:00Z' }).granularity).toBe('day');
    expect(parsed({ from: '2026-11-19T05:40:07.123Z' }).granularity).toBe('hour');
    expect(parsed({ from: '2026-11-19T05:40:07.122Z' }).granularity).toBe('day');
  });

  it('defaults from to 7 days before an explicit to', () => {
    expect(parsed({ to: '2026-11-10T00:00:00Z' }).from).toEqual(new Date('2026-11-03T00:00:00Z'));
  });

  it.each([
    ['2026-11-01T09:30:00Z', 'UTC', '2026-11-01T09:30:00.000Z'],
    ['2026-11-01T09:30:00.5Z', 'UTC', '2026-11-01T09:30:00.500Z'],
    ['2026-11-01T09:30:00+01:00', 'UTC', '2026-11-01T08:30:00.000Z'],
    ['2026-11-01T09:30:00-05:30', 'Europe/Paris', '2026-11-01T15:00:00.000Z'],
    ['2026-11-01', 'UTC', '2026-11-01T00:00:00.000Z'],
    ['2026-11-01', 'America/New_York', '2026-11-01T04:00:00.000Z'],
    ['2026-11-02', 'America/New_York', '2026-11-02T05:00:00.000Z'],
    ['2026-11-01T09:30', 'Asia/Kolkata', '2026-11-01T04:00:00.000Z'],
  ])('reads from=%s in %s as %s (dates and times without an offset are wall time in tz)', (from, tz, instant) => {
    expect(parsed({ from, to: '2026-11-20T00:00:00Z', tz }).from.toISOString()).toBe(instant);
  });

  it('accepts every granularity and canonicalises the time zone', () => {
    expect(parsed({ granularity: 'month' }).granularity).toBe('month');
    expect(parsed({ tz: 'utc' }).tz).toBe('UTC');
    expect(parsed({ tz: 'America/New_York' }).tz).toBe('America/New_York');
  });

  it.each([
    [{ tz: 'Mars/Olympus_Mons' }, 'tz must be an IANA time zone'],
    [{ tz: 'EST5EDT; DROP TABLE' }, 'tz must be an IANA time zone'],
    [{ from: 'yesterday' }, 'from must be an ISO 8601'],
    [{ from: '1764135607123' }, 'from must be an ISO 8601'],
    [{ from: '2026-02-30' }, 'from must be an ISO 8601'],
    [{ from: '2026-11-01T25:00:00Z' }, 'from must be an ISO 8601'],
    [{ from: '2026-11-01T10:00:00+24:00' }, 'from must be an ISO 8601'],
    [{ to: 'Thu, 26 Nov 2026 05:40:07 GMT' }, 'to must be an ISO 8601'],
    [{ granularity: 'week' }, 'granularity must be one of hour, day, month'],
    [{ from: '2026-11-27T00:00:00Z' }, 'from must be before to'],
    [{ from: '2026-11-10T00:00:00Z', to: '2026-11-10T00:00:00Z' }, 'from must be before to'],
    [{ from: '2026-10-01T00:00:00Z', granularity: 'hour' }, 'at most 31 days for hour granularity'],
    [{ from: '2025-01-01T00:00:00Z' }, 'at most 400 days for day granularity'],
    [{ from: '2020-01-01T00:00:00Z', granularity: 'month' }, 'at most 1827 days for month granularity'],
    [{ from: '9999-12-30', to: '9999-12-31', granularity: 'month' }, 'between 1970-01-01T00:00:00Z and 9999-01-01T00:00:00Z'],
    [{ from: '1969-12-31', to: '1970-01-02' }, 'between 1970-01-01T00:00:00Z and 9999-01-01T00:00:00Z'],
  ])('rejects %p', (params, message) => {
    expect(errorOf(params)).toContain(message);
  });

  it('allows the longest ranges', () => {
    expect(parsed({ from: '2026-10-26T05:40:07.123Z', granularity: 'hour' }).granularity).toBe('hour');
    expect(parsed({ from: '2021-11-26T05:40:07.123Z', granularity: 'month' }).granularity).toBe('month');
  });
});

describe('hourRange', () => {
  it.each([
    ['hours, partial at both ends', query('2026-11-26T05:40:00Z', '2026-11-26T08:10:00Z', 'hour'), '2026-11-26T05', '2026-11-26T08'],
    ['hours, ending on an hour', query('2026-11-26T05:00:00Z', '2026-11-26T08:00:00Z', 'hour'), '2026-11-26T05', '2026-11-26T07'],
    ['UTC days', query('2026-11-24T12:00:00Z', '2026-11-26T05:40:00Z', 'day'), '2026-11-24T00', '2026-11-26T23'],
    [
      'New York days across the autumn change',
      query('2026-11-01T04:00:00Z', '2026-11-03T05:00:00Z', 'day', 'America/New_York'),
      '2026-11-01T04',
      '2026-11-03T04',
    ],
    [
      'Kolkata days (half-hour offset: the hour starting 23:30 local belongs to that day)',
      query('2026-11-25T18:30:00Z', '2026-11-26T18:30:00Z', 'day', 'Asia/Kolkata'),
      '2026-11-25T19',
      '2026-11-26T18',
    ],
    ['UTC months', query('2026-01-15T00:00:00Z', '2026-03-02T00:00:00Z', 'month'), '2026-01-01T00', '2026-03-31T23'],
  ])('%s', (_, stats, first, last) => {
    expect(hourRange(stats)).toEqual({ first, last });
  });

  it('names hour buckets the hourly table can be queried with, up to the latest accepted time', () => {
    const range = parsed({ from: '9998-12-30', to: '9998-12-31T12:00', granularity: 'month', tz: 'Etc/GMT+12' });
    const { first, last } = hourRange(range);
    expect([first, last]).toEqual(['9998-12-01T12', '9999-01-01T11']);
    expect(first <= last).toBe(true);
  });
});

describe('buildStats', () => {
  it('fills every hour of the range, with zeros, and sums totals over the range only', () => {
    const stats = buildStats(
      'abc',
      [
        { hour: '2026-11-26T04', clicks: 100, botClicks: 100, counters: { 'country:SE': 100 } },
        { hour: '2026-11-26T06', clicks: 3, botClicks: 1, counters: {} },
        { hour: '2026-11-26T08', clicks: 2, botClicks: 0, counters: {} },
        { hour: '2026-11-26T09', clicks: 100, botClicks: 100, counters: { 'country:SE': 100 } },
      ],
      query('2026-11-26T05:00:00Z', '2026-11-26T09:00:00Z', 'hour'),
    );
    expect(stats).toEqual({
      link: 'abc',
      from: '2026-11-26T05:00:00.000Z',
      to: '2026-11-26T09:00:00.000Z',
      granularity: 'hour',
      tz: 'UTC',
      series: [
        { t: '2026-11-26T05:00:00Z', clicks: 0, uniques: null, botClicks: 0 },
        { t: '2026-11-26T06:00:00Z', clicks: 3, uniques: null, botClicks: 1 },
        { t: '2026-11-26T07:00:00Z', clicks: 0, uniques: null, botClicks: 0 },
        { t: '2026-11-26T08:00:00Z', clicks: 2, uniques: null, botClicks: 0 },
      ],
      totals: { clicks: 5, uniques: null, botClicks: 1 },
      breakdowns: { referrers: [], countries: [], devices: [], browsers: [], os: [] },
    });
  });

  it('adds up breakdowns across hours, sorted by clicks then key', () => {
    const stats = buildStats(
      'abc',
      [
        {
          hour: '2026-11-26T05',
          clicks: 6,
          botClicks: 0,
          counters: { 'referrer:twitter.com': 2, 'referrer:(direct)': 4, 'country:US': 3, 'country:SE': 3, 'device:mobile': 6 },
        },
        {
          hour: '2026-11-26T06',
          clicks: 5,
          botClicks: 0,
          counters: { 'referrer:twitter.com': 3, 'referrer:[::1]': 2, 'country:DE': 5, 'browser:Firefox': 5, 'os:Linux': 5 },
        },
      ],
      query('2026-11-26T05:00:00Z', '2026-11-26T07:00:00Z', 'hour'),
    );
    expect(stats.breakdowns).toEqual({
      referrers: [
        { key: 'twitter.com', clicks: 5 },
        { key: '(direct)', clicks: 4 },
        { key: '[::1]', clicks: 2 },
      ],
      countries: [
        { key: 'DE', clicks: 5 },
        { key: 'SE', clicks: 3 },
        { key: 'US', clicks: 3 },
      ],
      devices: [{ key: 'mobile', clicks: 6 }],
      browsers: [{ key: 'Firefox', clicks: 5 }],
      os: [{ key: 'Linux', clicks: 5 }],
    });
  });

  it('ignores counters of unknown dimensions', () => {
    const stats = buildStats(
      'abc',
      [{ hour: '2026-11-26T05', clicks: 1, botClicks: 0, counters: { 'city:Paris': 1 } }],
      query('2026-11-26T05:00:00Z', '2026-11-26T06:00:00Z', 'hour'),
    );
    expect(Object.values(stats.breakdowns).flat()).toEqual([]);
  });

  it('groups days in America/New_York across the spring change: the day of the change has 23 hours', () => {
    const range = query('2026-03-07T05:00:00Z', '2026-03-10T04:00:00Z', 'day', 'America/New_York');
    const stats = buildStats('abc', everyHour('2026-03-06T00:00:00Z', '2026-03-11T00:00:00Z'), range);
    expect(stats.series).toEqual([
      { t: '2026-03-07T00:00:00-05:00', clicks: 24, uniques: null, botClicks: 0 },
      { t: '2026-03-08T00:00:00-05:00', clicks: 23, uniques: null, botClicks: 0 },
      { t: '2026-03-09T00:00:00-04:00', clicks: 24, uniques: null, botClicks: 0 },
    ]);
    expect(stats.totals.clicks).toBe(71);
  });

  it('groups days in America/New_York across the autumn change: the day of the change has 25 hours', () => {
    const range = parsed({ from: '2026-10-31', to: '2026-11-03', granularity: 'day', tz: 'America/New_York' });
    const stats = buildStats('abc', everyHour('2026-10-30T00:00:00Z', '2026-11-04T00:00:00Z', 2, 1), range);
    expect(stats.series).toEqual([
      { t: '2026-10-31T00:00:00-04:00', clicks: 48, uniques: null, botClicks: 24 },
      { t: '2026-11-01T00:00:00-04:00', clicks: 50, uniques: null, botClicks: 25 },
      { t: '2026-11-02T00:00:00-05:00', clicks: 48, uniques: null, botClicks: 24 },
    ]);
    const { first, last } = hourRange(range);
    expect({ first, last }).toEqual({ first: '2026-10-31T04', last: '2026-11-03T04' });
  });

  it('assigns hours to days by the local date of their start in half-hour zones', () => {
    const stats = buildStats(
      'abc',
      [
        { hour: '2026-11-26T18', clicks: 1, botClicks: 0, counters: {} }, // 23:30 on the 26th in Kolkata
        { hour: '2026-11-26T19', clicks: 10, botClicks: 0, counters: {} }, // 00:30 on the 27th
      ],
      query('2026-11-25T18:30:00Z', '2026-11-27T18:30:00Z', 'day', 'Asia/Kolkata'),
    );
    expect(stats.series.map(({ t, clicks }) => ({ t, clicks }))).toEqual([
      { t: '2026-11-26T00:00:00+05:30', clicks: 1 },
      { t: '2026-11-27T00:00:00+05:30', clicks: 10 },
    ]);
  });

  it('fills every month of the range', () => {
    const stats = buildStats(
      'abc',
      [
        { hour: '2026-01-31T23', clicks: 1, botClicks: 0, counters: {} },
        { hour: '2026-03-01T00', clicks: 2, botClicks: 0, counters: {} },
      ],
      // Ends at midnight of April 1 in Paris (summer time), so April is not touched.
      query('2026-01-15T00:00:00Z', '2026-03-31T22:00:00Z', 'month', 'Europe/Paris'),
    );
    expect(stats.series.map(({ t, clicks }) => ({ t, clicks }))).toEqual([
      { t: '2026-01-01T00:00:00+01:00', clicks: 0 }, // 23:00Z on the 31st is already February in Paris
      { t: '2026-02-01T00:00:00+01:00', clicks: 1 },
      { t: '2026-03-01T00:00:00+01:00', clicks: 2 },
    ]);
  });
});
