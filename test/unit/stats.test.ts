import { linkTarget, LONG_TAIL_KEY } from '../../lambdas/domain/aggregate-state';
import type { QuarterHourItem } from '../../lambdas/domain/quarter-hour';
import { buildStats, parseStatsQuery, planStats, type StatsItems, type StatsPlan, type StatsResponse } from '../../lambdas/domain/stats';
import { sourcesOf } from '../../lambdas/domain/stats-sources';
import { CODE, clicksAt, levelsOf, NOW, OWNER, parsed, planOf, quarterItems, readLevels, statsOf, type ClickSpec, type Params } from './helpers/stats-levels';

const DAY_MS = 86_400_000;

function errorOf(params: Params): string {
  const result = parseStatsQuery(params, NOW);
  if (result.ok) throw new Error('expected the query to be rejected');
  return result.error;
}

function planErrorOf(params: Params, reportingTz: string, now = NOW): string {
  const result = planStats(parsed(params, now), reportingTz, now);
  if (result.ok) throw new Error(`expected the plan to be refused, got ${JSON.stringify(result.plan)}`);
  return result.error;
}

/** Items of the quarter-hour level alone. */
const quarterHourOnly = (quarterHour: QuarterHourItem[]): StatsItems => ({ quarterHour, daily: [], monthly: [] });

const clicksByBucket = (stats: StatsResponse): [string, number][] => stats.series.map(({ t, clicks }) => [t, clicks]);

describe('parseStatsQuery', () => {
  it('defaults to the last 7 days, hourly, in UTC, every breakdown key, human clicks, no comparison', () => {
    expect(parsed({})).toEqual({
      from: new Date(NOW.getTime() - 7 * DAY_MS),
      to: NOW,
      granularity: 'hour',
      tz: 'UTC',
      top: null,
      includeBots: false,
      compare: null,
    });
  });

  it('treats empty parameters as absent', () => {
    expect(parsed({ from: '', to: ' ', granularity: '', tz: '', top: ' ', compare: '', includeBots: ' ' })).toEqual(parsed({}));
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

  it('keeps the name a zone was asked by when Intl resolves it to an old alias, and plans by the canonical one', () => {
    const query = parsed({ tz: 'Asia/Kolkata', from: '2026-11-20', to: '2026-11-22', granularity: 'day' });
    expect(query.tz).toBe('Asia/Kolkata');
    expect(planOf({ tz: 'Asia/Kolkata', from: '2026-11-20', to: '2026-11-22', granularity: 'day' }, 'Asia/Calcutta').source).toBe('daily');
    expect(statsOf({ tz: 'Asia/Kathmandu', from: '2026-11-20', to: '2026-11-21', granularity: 'day' }, []).tz).toBe('Asia/Kathmandu');
  });

  it.each([
    ['1', 1],
    ['10', 10],
    [' 25 ', 25],
    ['1000', 1000],
  ])('reads top=%p as %p', (top, expected) => {
    expect(parsed({ top }).top).toBe(expected);
  });

  it.each<[Params, string]>([
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
    ...['0', '1001', '-1', '1.5', '1e3', '0x10', 'ten', '99999999999999999999'].map((top): [Params, string] => [{ top }, 'top must be a whole number from 1 to 1000.']),
    ...['next', 'Previous', 'previous-year'].map((compare): [Params, string] => [
      { compare },
      `compare must be previous (the period of as many buckets just before from), got "${compare}".`,
    ]),
    ...['yes', 'TRUE', '1'].map((includeBots): [Params, string] => [{ includeBots }, `includeBots must be true or false, got "${includeBots}".`]),
  ])('rejects %p', (params, message) => {
    expect(errorOf(params)).toContain(message);
  });

  it('reads compare=previous and includeBots=true|false', () => {
    expect(parsed({ compare: 'previous', includeBots: 'true' })).toMatchObject({ compare: 'previous', includeBots: true });
    expect(parsed({ includeBots: 'false' })).toMatchObject({ compare: null, includeBots: false });
  });

  it('allows the longest ranges', () => {
    expect(parsed({ from: '2026-10-26T05:40:07.123Z', granularity: 'hour' }).granularity).toBe('hour');
    expect(parsed({ from: '2021-11-26T05:40:07.123Z', granularity: 'month' }).granularity).toBe('month');
  });
});

describe('planStats', () => {
  it('serves days in the reporting zone from the daily table, by the local days of the buckets', () => {
    const query = { from: '2026-11-01T12:00', to: '2026-11-03T00:30', granularity: 'day', tz: 'America/New_York' };
    expect(planOf(query, 'America/New_York')).toEqual({ source: 'daily', firstDay: '2026-11-01', lastDay: '2026-11-03' });
  });

  it('compares the reporting zone by its canonical name', () => {
    const query = { from: '2026-11-20', to: '2026-11-22', granularity: 'day', tz: 'Asia/Kolkata' };
    expect(planOf(query, 'Asia/Calcutta')).toEqual({ source: 'daily', firstDay: '2026-11-20', lastDay: '2026-11-21' });
    expect(planOf({ ...query, tz: 'Asia/Calcutta' }, 'Asia/Kolkata').source).toBe('daily');
  });

  it.each([
    ['UTC', '2026-01-15', '2026-03-02'],
    ['Europe/Paris', '2026-01-01', '2026-04-01'], // April 1 is midnight in Paris: April is not touched
  ])('serves months in the reporting zone (%s) from the monthly table, from the month before the first', (tz, from, to) => {
    expect(planOf({ from, to, granularity: 'month', tz }, tz)).toEqual({ source: 'monthly', firstMonth: '2025-12', lastMonth: '2026-03' });
  });

  it('serves months from the monthly table however old', () => {
    expect(planOf({ from: '2021-12-01', to: '2026-11-26', granularity: 'month' }, 'UTC')).toEqual({
      source: 'monthly',
      firstMonth: '2021-11',
      lastMonth: '2026-11',
    });
  });

  it.each([
    ['Asia/Kolkata', '2026-11-24T18:30', '2026-11-26T18:15'],
    ['Asia/Kathmandu', '2026-11-24T18:15', '2026-11-26T18:00'],
    ['America/New_York', '2026-11-25T05:00', '2026-11-27T04:45'],
  ])('serves days in another zone (%s) from exactly their quarters', (tz, firstQuarter, lastQuarter) => {
    expect(planOf({ from: '2026-11-25', to: '2026-11-27', granularity: 'day', tz }, 'UTC')).toEqual({
      source: 'quarter-hour',
      firstQuarter,
      lastQuarter,
    });
  });

  it('serves hours from the quarter-hour table, in the reporting zone too', () => {
    expect(planOf({ from: '2026-11-26T01:40:00Z', to: '2026-11-26T04:10:00Z', granularity: 'hour' }, 'UTC')).toEqual({
      source: 'quarter-hour',
      firstQuarter: '2026-11-26T01:00',
      lastQuarter: '2026-11-26T04:45',
    });
  });

  it('serves months in another zone from the quarters of those months only', () => {
    const query = { from: '2026-09-15', to: '2026-11-10', granularity: 'month', tz: 'America/New_York' };
    expect(planOf(query, 'UTC')).toEqual({ source: 'quarter-hour', firstQuarter: '2026-09-01T04:00', lastQuarter: '2026-12-01T04:45' });
  });

  describe('retention', () => {
    const now = new Date('2026-11-26T00:00:00Z'); // quarter-hour items from 2026-08-28T00:00Z on, daily from 2024-11-25

    it('refuses hours older than the quarter-hour retention, pointing at days in the reporting zone', () => {
      const hours = { to: '2026-08-28T05:00:00Z', granularity: 'hour' };
      expect(planOf({ ...hours, from: '2026-08-28T00:00:00Z' }, 'Europe/Paris', now).source).toBe('quarter-hour');
      expect(planErrorOf({ ...hours, from: '2026-08-27T23:59:00Z' }, 'Europe/Paris', now)).toBe(
        'Hourly statistics cover the last 90 days only (buckets starting from 2026-08-28T00:00:00Z); ' +
          'statistics are kept per day in Europe/Paris beyond 90 days; ask with granularity=day&tz=Europe/Paris.',
      );
    });

    it('refuses days and months in another zone older than the quarter-hour retention, naming the reporting zone', () => {
      const days = { to: '2026-09-10', granularity: 'day', tz: 'Europe/Paris' };
      expect(planOf({ ...days, from: '2026-08-29' }, 'UTC', now).source).toBe('quarter-hour'); // 2026-08-28T22:00Z
      expect(planErrorOf({ ...days, from: '2026-08-28' }, 'UTC', now)).toBe(
        'Statistics in Europe/Paris cover the last 90 days only (buckets starting from 2026-08-28T00:00:00Z); ' +
          'statistics are kept per day in UTC beyond 90 days; ask with tz=UTC.',
      );
      expect(planErrorOf({ ...days, from: '2026-08-29', granularity: 'month' }, 'UTC', now)).toContain('ask with tz=UTC.'); // August
    });

    it('refuses days older than the daily retention, pointing at months', () => {
      const days = { to: '2024-12-01', granularity: 'day' };
      expect(planOf({ ...days, from: '2024-11-25' }, 'UTC', now).source).toBe('daily');
      expect(planErrorOf({ ...days, from: '2024-11-24' }, 'UTC', now)).toBe(
        'Daily statistics are kept for 731 days (days from 2024-11-25 on); ask with granularity=month for older ranges.',
      );
    });
  });

  it.each(['day', 'hour'])('refuses %s buckets that are not whole quarters (a local mean time offset of -00:44:30)', (granularity) => {
    const now = new Date('1971-03-01T00:00:00Z');
    expect(planErrorOf({ from: '1971-02-01', to: '1971-02-02', granularity, tz: 'Africa/Monrovia' }, 'UTC', now)).toBe(
      `In this range Africa/Monrovia is not a whole number of quarter hours away from UTC (a historic local time), so its ${granularity}s cannot be counted exactly; ask with tz=UTC.`,
    );
  });

  it('refuses a range that starts off the quarter grid and serves the first day on it (Monrovia moved to UTC on 1972-01-07)', () => {
    const now = new Date('1972-02-01T00:00:00Z');
    const day = (from: string, to: string): Params => ({ from, to, granularity: 'day', tz: 'Africa/Monrovia' });
    expect(planErrorOf(day('1972-01-07', '1972-01-08'), 'UTC', now)).toContain('not a whole number of quarter hours');
    expect(planOf(day('1972-01-08', '1972-01-09'), 'UTC', now)).toEqual({
      source: 'quarter-hour',
      firstQuarter: '1972-01-08T00:00',
      lastQuarter: '1972-01-08T23:45',
    });
  });

  it('throws on a reporting zone that is not a time zone', () => {
    expect(() => planStats(parsed({}), 'Mars/Olympus_Mons', NOW)).toThrow(RangeError);
  });
});

describe('buildStats', () => {
  it.each([
    ['UTC', 'daily'],
    ['Europe/Paris', 'quarter-hour'],
  ])('answers over bucket-aligned days with zeros, merged uniques and breakdowns (reporting zone %s: %s)', (reportingTz, source) => {
    const clicks: ClickSpec[] = [
      { at: '2026-11-23T23:59:59Z', visitor: 'eve', country: 'FR' }, // the day before the range
      { at: '2026-11-24T10:00:00Z', visitor: 'ann', referrer: 'news.ycombinator.com', country: 'US' },
      { at: '2026-11-24T11:00:00Z', visitor: 'bob', country: 'SE' },
      { at: '2026-11-26T09:00:00Z', visitor: 'ann', referrer: 'news.ycombinator.com', country: 'US' },
      { at: '2026-11-26T09:05:00Z', visitor: 'crawler', bot: true, country: 'CN' },
      { at: '2026-11-27T00:00:00Z', visitor: 'eve', country: 'FR' }, // the day after
    ];
    const nothingCut = { keys: 0, clicks: 0, longTail: { keys: 0, clicks: 0 } };
    expect(statsOf({ from: '2026-11-24T08:00:00Z', to: '2026-11-26T12:00:00Z', granularity: 'day' }, clicks, { reportingTz })).toEqual({
      link: CODE,
      from: '2026-11-24T00:00:00.000Z',
      to: '2026-11-27T00:00:00.000Z',
      granularity: 'day',
      tz: 'UTC',
      includeBots: false,
      source,
      series: [
        { t: '2026-11-24T00:00:00+00:00', clicks: 2, uniques: 2, botClicks: 0 },
        { t: '2026-11-25T00:00:00+00:00', clicks: 0, uniques: 0, botClicks: 0 },
        { t: '2026-11-26T00:00:00+00:00', clicks: 1, uniques: 1, botClicks: 1 },
      ],
      totals: { clicks: 3, uniques: 2, botClicks: 1 },
      breakdowns: {
        referrers: [
          { key: 'news.ycombinator.com', clicks: 2 },
          { key: '(direct)', clicks: 1 },
        ],
        countries: [
          { key: 'US', clicks: 2 },
          { key: 'SE', clicks: 1 },
        ],
        devices: [{ key: 'desktop', clicks: 3 }],
        browsers: [{ key: 'Firefox', clicks: 3 }],
        os: [{ key: 'Linux', clicks: 3 }],
      },
      breakdownOthers: { referrers: nothingCut, countries: nothingCut, devices: nothingCut, browsers: nothingCut, os: nothingCut },
    });
  });

  describe('America/New_York days across the DST changes, from quarter-hour and from daily items', () => {
    it.each(['UTC', 'America/New_York'])('spring: March 8 has 23 hours (reporting zone %s)', (reportingTz) => {
      const clicks = clicksAt(
        '2026-03-07T04:59:59Z', // March 6, 23:59:59 EST: before the range
        '2026-03-07T05:00:00Z', // March 7 starts
        '2026-03-08T04:59:59Z',
        '2026-03-08T05:00:00Z', // March 8 starts
        '2026-03-08T06:59:59Z', // 01:59:59 EST
        '2026-03-08T07:00:00Z', // 03:00 EDT
        '2026-03-09T03:59:59Z', // 23:59:59 EDT
        '2026-03-09T04:00:00Z', // March 9 starts
        '2026-03-10T03:59:59Z',
        '2026-03-10T04:00:00Z', // March 10: after the range
      );
      const stats = statsOf({ from: '2026-03-07', to: '2026-03-10', granularity: 'day', tz: 'America/New_York' }, clicks, {
        reportingTz,
        now: new Date('2026-03-20T00:00:00Z'),
      });
      expect(clicksByBucket(stats)).toEqual([
        ['2026-03-07T00:00:00-05:00', 2],
        ['2026-03-08T00:00:00-05:00', 4],
        ['2026-03-09T00:00:00-04:00', 2],
      ]);
      expect([stats.from, stats.to, stats.totals.clicks]).toEqual(['2026-03-07T05:00:00.000Z', '2026-03-10T04:00:00.000Z', 8]);
    });

    it.each(['UTC', 'America/New_York'])('autumn: November 1 has 25 hours (reporting zone %s)', (reportingTz) => {
      const clicks = clicksAt(
        '2026-10-31T03:59:59Z', // October 30: before the range
        '2026-11-01T03:59:59Z', // October 31, 23:59:59 EDT
        '2026-11-01T04:00:00Z', // November 1 starts
        '2026-11-01T05:30:00Z', // 01:30 EDT
        '2026-11-01T06:30:00Z', // 01:30 EST
        '2026-11-02T04:59:59Z', // 23:59:59 EST
        '2026-11-02T05:00:00Z', // November 2 starts
        '2026-11-03T05:00:00Z', // November 3: after the range
      );
      const stats = statsOf({ from: '2026-10-31', to: '2026-11-03', granularity: 'day', tz: 'America/New_York' }, clicks, { reportingTz });
      expect(clicksByBucket(stats)).toEqual([
        ['2026-10-31T00:00:00-04:00', 1],
        ['2026-11-01T00:00:00-04:00', 4],
        ['2026-11-02T00:00:00-05:00', 1],
      ]);
      expect([stats.from, stats.to]).toEqual(['2026-10-31T04:00:00.000Z', '2026-11-03T05:00:00.000Z']);
    });
  });

  it.each([
    ['Asia/Kolkata', 'UTC', '+05:30', ['2026-11-24T18:30:00Z', '2026-11-25T18:29:00Z', '2026-11-25T18:31:00Z']],
    ['Asia/Kolkata', 'Asia/Kolkata', '+05:30', ['2026-11-24T18:30:00Z', '2026-11-25T18:29:00Z', '2026-11-25T18:31:00Z']],
    ['Asia/Kathmandu', 'UTC', '+05:45', ['2026-11-24T18:15:00Z', '2026-11-25T18:14:00Z', '2026-11-25T18:16:00Z']],
    ['Asia/Kathmandu', 'Asia/Kathmandu', '+05:45', ['2026-11-24T18:15:00Z', '2026-11-25T18:14:00Z', '2026-11-25T18:16:00Z']],
  ])('cuts %s days at local midnight (reporting zone %s)', (tz, reportingTz, offset, times) => {
    const stats = statsOf({ from: '2026-11-25', to: '2026-11-27', granularity: 'day', tz }, clicksAt(...times), { reportingTz });
    expect(clicksByBucket(stats)).toEqual([
      [`2026-11-25T00:00:00${offset}`, 2],
      [`2026-11-26T00:00:00${offset}`, 1],
    ]);
    expect(stats.from).toBe(times[0].replace('Z', '.000Z'));
  });

  it('cuts hours in Asia/Kolkata at half past the UTC hour, zeros included', () => {
    const clicks = clicksAt('2026-11-26T04:29:00Z', '2026-11-26T04:31:00Z', '2026-11-26T05:29:00Z', '2026-11-26T05:30:00Z', '2026-11-26T07:30:00Z');
    const stats = statsOf({ from: '2026-11-26T10:20', to: '2026-11-26T12:10', granularity: 'hour', tz: 'Asia/Kolkata' }, clicks);
    expect(clicksByBucket(stats)).toEqual([
      ['2026-11-26T10:00:00+05:30', 2],
      ['2026-11-26T11:00:00+05:30', 1],
      ['2026-11-26T12:00:00+05:30', 0],
    ]);
    expect([stats.from, stats.to, stats.source]).toEqual(['2026-11-26T04:30:00.000Z', '2026-11-26T07:30:00.000Z', 'quarter-hour']);
  });

  it('names UTC hours with Z, aligned to whole hours', () => {
    const clicks = clicksAt('2026-11-26T01:00:00Z', '2026-11-26T03:59:59Z');
    const stats = statsOf({ from: '2026-11-26T01:40:00Z', to: '2026-11-26T04:10:00Z', granularity: 'hour' }, clicks);
    expect(clicksByBucket(stats)).toEqual([
      ['2026-11-26T01:00:00Z', 1],
      ['2026-11-26T02:00:00Z', 0],
      ['2026-11-26T03:00:00Z', 1],
      ['2026-11-26T04:00:00Z', 0],
    ]);
    expect([stats.from, stats.to]).toEqual(['2026-11-26T01:00:00.000Z', '2026-11-26T05:00:00.000Z']);
  });

  it('lists 23 and 25 local hours on the New York DST days, the repeated 01:00 twice', () => {
    const spring = statsOf({ from: '2026-03-08', to: '2026-03-09', granularity: 'hour', tz: 'America/New_York' }, clicksAt('2026-03-08T07:00:00Z'), {
      now: new Date('2026-03-20T00:00:00Z'),
    });
    expect(spring.series).toHaveLength(23);
    expect(clicksByBucket(spring).slice(1, 3)).toEqual([
      ['2026-03-08T01:00:00-05:00', 0],
      ['2026-03-08T03:00:00-04:00', 1],
    ]);

    const autumn = statsOf(
      { from: '2026-11-01', to: '2026-11-02', granularity: 'hour', tz: 'America/New_York' },
      clicksAt('2026-11-01T05:30:00Z', '2026-11-01T06:30:00Z', '2026-11-01T06:45:00Z'),
    );
    expect(autumn.series).toHaveLength(25);
    expect(clicksByBucket(autumn).slice(1, 4)).toEqual([
      ['2026-11-01T01:00:00-04:00', 1],
      ['2026-11-01T01:00:00-05:00', 2],
      ['2026-11-01T02:00:00-05:00', 0],
    ]);
    expect(autumn.series[24].t).toBe('2026-11-01T23:00:00-05:00');
  });

  it('splits local hours where Australia/Lord_Howe moves its clock by 30 minutes', () => {
    // A minute before the change, at it, and 29 and 30 minutes after it.
    const edges = (change: string): ClickSpec[] =>
      clicksAt(...[-1, 0, 29, 30].map((minutes) => new Date(Date.parse(change) + minutes * 60_000).toISOString()));
    // Spring: 02:00 (+10:30) becomes 02:30 (+11:00) at 15:30Z.
    const spring = statsOf({ from: '2026-10-04T01:00', to: '2026-10-04T04:00', granularity: 'hour', tz: 'Australia/Lord_Howe' }, edges('2026-10-03T15:30:00Z'));
    expect(clicksByBucket(spring)).toEqual([
      ['2026-10-04T01:00:00+10:30', 1],
      ['2026-10-04T02:30:00+11:00', 2],
      ['2026-10-04T03:00:00+11:00', 1],
    ]);
    expect([spring.from, spring.to]).toEqual(['2026-10-03T14:30:00.000Z', '2026-10-03T17:00:00.000Z']);

    // Autumn: 02:00 (+11:00) becomes 01:30 (+10:30) at 15:00Z.
    const autumn = statsOf(
      { from: '2026-04-05T01:00', to: '2026-04-05T03:00', granularity: 'hour', tz: 'Australia/Lord_Howe' },
      edges('2026-04-04T15:00:00Z'),
      { now: new Date('2026-04-10T00:00:00Z') },
    );
    expect(clicksByBucket(autumn)).toEqual([
      ['2026-04-05T01:00:00+11:00', 1],
      ['2026-04-05T01:30:00+10:30', 2],
      ['2026-04-05T02:00:00+10:30', 1],
    ]);
    expect([autumn.from, autumn.to]).toEqual(['2026-04-04T14:00:00.000Z', '2026-04-04T16:30:00.000Z']);
  });

  it('ends a local hour where America/Caracas moved its clock in the middle of it', () => {
    // 2016-05-01 02:30 (-04:30) became 03:00 (-04:00) at 07:00Z.
    const clicks = clicksAt('2016-05-01T06:29:00Z', '2016-05-01T06:30:00Z', '2016-05-01T06:59:00Z', '2016-05-01T07:00:00Z');
    const stats = statsOf({ from: '2016-05-01T01:00', to: '2016-05-01T03:10', granularity: 'hour', tz: 'America/Caracas' }, clicks, {
      now: new Date('2016-05-10T00:00:00Z'),
    });
    expect(clicksByBucket(stats)).toEqual([
      ['2016-05-01T01:00:00-04:30', 1],
      ['2016-05-01T02:00:00-04:30', 2],
      ['2016-05-01T03:00:00-04:00', 1],
    ]);
    expect([stats.from, stats.to]).toEqual(['2016-05-01T05:30:00.000Z', '2016-05-01T08:00:00.000Z']);
  });

  it('merges uniques across stream shards and buckets instead of adding them', () => {
    const query = parsed({ from: '2026-11-24', to: '2026-11-26', granularity: 'day' });
    const target = linkTarget(CODE);
    const items = [
      ...quarterItems([{ at: '2026-11-24T10:00:00Z', visitor: 'ann' }], target, 'shard-1'),
      ...quarterItems([{ at: '2026-11-24T10:05:00Z', visitor: 'ann' }], target, 'shard-2'),
      ...quarterItems([{ at: '2026-11-25T10:00:00Z', visitor: 'ann' }, { at: '2026-11-25T10:00:00Z', visitor: 'bob' }], target, 'shard-1'),
    ];
    const plan = planStats(query, 'Europe/Paris', NOW);
    if (!plan.ok) throw new Error(plan.error);
    const stats = buildStats({ link: CODE }, query, sourcesOf(plan.plan, [], 'Europe/Paris', NOW), quarterHourOnly(items));
    expect(stats.series.map(({ clicks, uniques }) => [clicks, uniques])).toEqual([
      [2, 1],
      [2, 2],
    ]);
    expect(stats.totals).toEqual({ clicks: 4, uniques: 2, botClicks: 0 });
  });

  it('ignores items outside every bucket', () => {
    const query = parsed({ from: '2026-11-26T05:00:00Z', to: '2026-11-26T06:00:00Z', granularity: 'hour' });
    const items = quarterItems(clicksAt('2026-11-26T04:59:59Z', '2026-11-26T05:30:00Z', '2026-11-26T06:00:00Z'), linkTarget(CODE));
    const plan: StatsPlan = { source: 'quarter-hour', firstQuarter: '2026-11-26T05:00', lastQuarter: '2026-11-26T05:45' };
    expect(buildStats({ link: CODE }, query, sourcesOf(plan, [], 'UTC', NOW), quarterHourOnly(items)).totals.clicks).toBe(1);
  });

  it('adds to each month its trend against the month before, which counts for nothing else', () => {
    const clicks: ClickSpec[] = [
      { at: '2026-07-31T23:59:59Z', visitor: 'ann' },
      ...['ann', 'bob', 'cid'].map((visitor) => ({ at: '2026-08-05T12:00:00Z', visitor })),
      ...[1, 2, 3, 4].map((day) => ({ at: `2026-09-0${day}T12:00:00Z`, visitor: 'ann' })),
      { at: '2026-11-02T00:00:00Z', visitor: 'dan' },
      { at: '2026-11-30T23:59:59Z', visitor: 'eve' },
    ];
    const stats = statsOf({ from: '2026-09-01', to: '2026-11-20', granularity: 'month' }, clicks);
    expect(stats.source).toBe('monthly');
    expect(stats.series).toEqual([
      { t: '2026-09-01T00:00:00+00:00', clicks: 4, uniques: 1, botClicks: 0, trend: { clicks: 33.3, uniques: -66.7 } },
      { t: '2026-10-01T00:00:00+00:00', clicks: 0, uniques: 0, botClicks: 0, trend: { clicks: -100, uniques: -100 } },
      { t: '2026-11-01T00:00:00+00:00', clicks: 2, uniques: 2, botClicks: 0, trend: { clicks: null, uniques: null } },
    ]);
    expect(stats.totals).toEqual({ clicks: 6, uniques: 3, botClicks: 0 });
    expect([stats.from, stats.to]).toEqual(['2026-09-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z']);
  });

  it('reports a fall too small to show as 0, not -0', () => {
    const clicks = (month: string, count: number): ClickSpec[] => Array.from({ length: count }, () => ({ at: `2026-${month}-10T12:00:00Z`, visitor: 'ann' }));
    const stats = statsOf({ from: '2026-10-01', to: '2026-11-01', granularity: 'month' }, [...clicks('09', 2000), ...clicks('10', 1999)]);
    expect(stats.series.map(({ clicks: count, trend }) => [count, trend])).toEqual([[1999, { clicks: 0, uniques: 0 }]]);
    expect(Object.is(stats.series[0].trend?.clicks, 0)).toBe(true);
  });

  it('has no trend for the first month of a series in another zone: the month before is not read', () => {
    const clicks = clicksAt('2026-09-01T03:59:59Z', '2026-09-02T12:00:00Z', '2026-10-02T12:00:00Z', '2026-10-03T12:00:00Z');
    const stats = statsOf({ from: '2026-09-01', to: '2026-11-20', granularity: 'month', tz: 'America/New_York' }, clicks);
    expect(stats.source).toBe('quarter-hour');
    expect(stats.series.map(({ t, clicks: count, trend }) => [t, count, trend])).toEqual([
      ['2026-09-01T00:00:00-04:00', 1, { clicks: null, uniques: null }],
      ['2026-10-01T00:00:00-04:00', 2, { clicks: 100, uniques: 100 }],
      ['2026-11-01T00:00:00-04:00', 0, { clicks: -100, uniques: -100 }],
    ]);
  });

  it('keeps the first top keys of each breakdown, ranked by clicks then key, and says what the cut left out', () => {
    const referrers = ['a.example', 'a.example', 'a.example', 'c.example', 'b.example', 'c.example', 'b.example', 'd.example'];
    const clicks = referrers.map((referrer, index) => ({ at: '2026-11-25T12:00:00Z', referrer, country: index < 5 ? 'US' : 'SE' }));
    const range = { from: '2026-11-25', to: '2026-11-26', granularity: 'day' };

    const cut = statsOf({ ...range, top: '2' }, clicks);
    expect(cut.breakdowns.referrers).toEqual([
      { key: 'a.example', clicks: 3 },
      { key: 'b.example', clicks: 2 },
    ]);
    expect(cut.breakdowns.countries).toEqual([
      { key: 'US', clicks: 5 },
      { key: 'SE', clicks: 3 },
    ]);
    expect(cut.breakdownOthers.referrers).toEqual({ keys: 2, clicks: 3, longTail: { keys: 0, clicks: 0 } });
    expect(cut.breakdownOthers.countries).toEqual({ keys: 0, clicks: 0, longTail: { keys: 0, clicks: 0 } });

    const all = statsOf(range, clicks);
    expect(all.breakdowns.referrers.map(({ key }) => key)).toEqual(['a.example', 'b.example', 'c.example', 'd.example']);
    expect(all.breakdownOthers.referrers).toEqual({ keys: 0, clicks: 0, longTail: { keys: 0, clicks: 0 } });
  });

  it('counts a long tail folded away in storage with what it does not list, so the breakdown still adds up', () => {
    const range = { from: '2026-11-25', to: '2026-11-26', granularity: 'day' };
    const query = parsed(range);
    const planned = planStats(query, 'UTC', NOW);
    if (!planned.ok) throw new Error(planned.error);
    const { sources, items } = readLevels(levelsOf(clicksAt('2026-11-25T12:00:00Z'), linkTarget(CODE), 'UTC'), planned.plan, [], 'UTC', NOW);
    const [item] = items.daily;
    item.state.breakdowns.referrer[LONG_TAIL_KEY] = 40;
    item.state.foldedKeys.referrer = 12;
    item.state.clicks += 40;
    const stats = buildStats({ link: CODE }, query, sources, items);
    expect(stats.breakdowns.referrers.map(({ key }) => key)).not.toContain(LONG_TAIL_KEY);
    expect(stats.breakdownOthers.referrers).toEqual({ keys: 12, clicks: 40, longTail: { keys: 12, clicks: 40 } });
    const listed = stats.breakdowns.referrers.reduce((sum, entry) => sum + entry.clicks, 0);
    expect(listed + stats.breakdownOthers.referrers.clicks).toBe(stats.totals.clicks);
  });

  it("answers for an owner from the owner's items", () => {
    const stats = statsOf({ from: '2026-11-25', to: '2026-11-26', granularity: 'day' }, clicksAt('2026-11-25T12:00:00Z'), {
      subject: { owner: OWNER },
    });
    expect(stats).toMatchObject({ owner: OWNER, totals: { clicks: 1 } });
    expect(stats).not.toHaveProperty('link');
  });
});
