import fc from 'fast-check';
import { emptyState, linkTarget, mergeInto, type AggregateState } from '../../lambdas/domain/aggregate-state';
import { dayBounds, localDayOf } from '../../lambdas/domain/buckets';
import { buildStats, planStats, previousPeriod, type Totals } from '../../lambdas/domain/stats';
import type { PeriodItem } from '../../lambdas/domain/rollup';
import { levelOfDay, pendingDaysToRead, readsOf, settleTrimmedMonths, sourceOf, sourcesOf, type StatsSources } from '../../lambdas/domain/stats-sources';
import { CODE, clicksAt, levelsOf, NOW, parsed, planOf, quarterItems, readLevels, statsOf, type ClickSpec, type Params } from './helpers/stats-levels';

const DAY_MS = 86_400_000;

/** The sources of a query's plan, given the target's pending days. */
function sourcesFor(params: Params, reportingTz: string, pendingDays: readonly string[], now = NOW): StatsSources {
  return sourcesOf(planOf(params, reportingTz, now), pendingDays, reportingTz, now);
}

describe('pendingDaysToRead', () => {
  it('reads no markers for a plan of the quarter-hour level', () => {
    expect(pendingDaysToRead(planOf({ from: '2026-11-20', to: '2026-11-26', granularity: 'hour' }, 'UTC'), 'UTC', NOW)).toBeNull();
  });

  it("reads the markers of a daily plan's days", () => {
    expect(pendingDaysToRead(planOf({ from: '2026-11-20', to: '2026-11-27', granularity: 'day' }, 'UTC'), 'UTC', NOW)).toEqual({
      firstDay: '2026-11-20',
      lastDay: '2026-11-26',
    });
  });

  it.each([
    // Quarter-hour items are kept from 2026-08-28T05:40:07Z on: the first whole day is the 29th, in both zones.
    ['UTC', '2026-08-29'],
    ['America/New_York', '2026-08-29'],
  ])('reads only the days whose quarter-hour items are all still kept (%s)', (tz, firstDay) => {
    expect(pendingDaysToRead(planOf({ from: '2026-08-01', to: '2026-11-27', granularity: 'day', tz }, tz), tz, NOW)).toEqual({
      firstDay,
      lastDay: '2026-11-26',
    });
  });

  it("reads a monthly plan's markers from the first kept day to the end of its last month, and none for older months", () => {
    expect(pendingDaysToRead(planOf({ from: '2026-01-01', to: '2026-11-27', granularity: 'month' }, 'UTC'), 'UTC', NOW)).toEqual({
      firstDay: '2026-08-29',
      lastDay: '2026-11-30',
    });
    expect(pendingDaysToRead(planOf({ from: '2025-01-01', to: '2025-06-01', granularity: 'month' }, 'UTC'), 'UTC', NOW)).toBeNull();
  });
});

describe('sourcesOf and readsOf', () => {
  const week = { from: '2026-11-20', to: '2026-11-27', granularity: 'day' };

  it('answers a daily plan from the daily items, and today, pending, from its quarter-hour items', () => {
    const sources = sourcesFor(week, 'UTC', ['2026-11-26']);
    expect(readsOf(sources)).toEqual({
      daily: { firstDay: '2026-11-20', lastDay: '2026-11-25' },
      quarterHour: { firstQuarter: '2026-11-26T00:00', lastQuarter: '2026-11-26T23:45' },
      monthly: null,
    });
    expect(sourceOf(sources, Date.parse('2026-11-20T00:00:00Z'), Date.parse('2026-11-27T00:00:00Z'))).toBe('daily+quarter-hour');
    expect(sourceOf(sources, Date.parse('2026-11-20T00:00:00Z'), Date.parse('2026-11-26T00:00:00Z'))).toBe('daily');
    expect(sourceOf(sources, Date.parse('2026-11-26T00:00:00Z'), Date.parse('2026-11-27T00:00:00Z'))).toBe('quarter-hour');
  });

  it('reads the quarter-hour items of every day from a pending day older than today to today, counting only the pending ones', () => {
    const sources = sourcesFor(week, 'UTC', ['2026-11-22', '2026-11-26']);
    expect(readsOf(sources)).toEqual({
      daily: { firstDay: '2026-11-20', lastDay: '2026-11-25' },
      quarterHour: { firstQuarter: '2026-11-22T00:00', lastQuarter: '2026-11-26T23:45' },
      monthly: null,
    });
    expect(['2026-11-21', '2026-11-22', '2026-11-23', '2026-11-26'].map((day) => levelOfDay(sources, day))).toEqual([
      'daily',
      'quarter-hour',
      'daily',
      'quarter-hour',
    ]);
  });

  it('keeps the daily item of a day pending beyond the quarter-hour retention, and ignores pending days outside the plan', () => {
    const sources = sourcesFor({ from: '2026-08-20', to: '2026-09-01', granularity: 'day' }, 'UTC', ['2026-08-25', '2026-08-30', '2026-11-26']);
    expect([...sources.liveDays]).toEqual(['2026-08-30']);
    expect(levelOfDay(sources, '2026-08-25')).toBe('daily');
  });

  it.each([
    // Autumn: November 1 has 25 hours; spring: March 8 has 23.
    ['2026-11-01', new Date('2026-11-03T00:00:00Z'), '2026-11-01T04:00', '2026-11-02T04:45'],
    ['2026-03-08', new Date('2026-03-20T00:00:00Z'), '2026-03-08T05:00', '2026-03-09T03:45'],
  ])('reads exactly the quarters of a pending New York day across a DST change (%s)', (day, now, firstQuarter, lastQuarter) => {
    const tz = 'America/New_York';
    const sources = sourcesFor({ from: day, to: localDayOf(dayBounds(day, tz).endMs + 1, tz), granularity: 'day', tz }, tz, [day], now);
    expect(readsOf(sources)).toEqual({ daily: null, quarterHour: { firstQuarter, lastQuarter }, monthly: null });
  });

  it("answers a month whose one pending day is today from its monthly item and that day's quarter-hour items: 3 reads", () => {
    const sources = sourcesFor({ from: '2026-09-01', to: '2026-11-27', granularity: 'month' }, 'UTC', ['2026-11-26']);
    expect(readsOf(sources)).toEqual({
      monthly: { firstMonth: '2026-08', lastMonth: '2026-11' },
      daily: null,
      quarterHour: { firstQuarter: '2026-11-26T00:00', lastQuarter: '2026-11-26T23:45' },
    });
    expect(sources.trimmedMonths).toEqual(new Map([['2026-11', '2026-11-26']]));
    expect(sourceOf(sources, Date.parse('2026-09-01T00:00:00Z'), Date.parse('2026-12-01T00:00:00Z'))).toBe('monthly+quarter-hour');
    expect(sourceOf(sources, Date.parse('2026-09-01T00:00:00Z'), Date.parse('2026-11-01T00:00:00Z'))).toBe('monthly');
  });

  it('answers a month with two pending days from its daily items, and then every month with one too', () => {
    const sources = sourcesFor({ from: '2026-09-01', to: '2026-11-27', granularity: 'month' }, 'UTC', ['2026-10-31', '2026-11-25', '2026-11-26']);
    expect(sources.trimmedMonths.size).toBe(0);
    expect(readsOf(sources)).toEqual({
      monthly: { firstMonth: '2026-08', lastMonth: '2026-09' },
      daily: { firstDay: '2026-10-01', lastDay: '2026-11-30' },
      quarterHour: { firstQuarter: '2026-10-31T00:00', lastQuarter: '2026-11-26T23:45' },
    });
    expect(sourceOf(sources, Date.parse('2026-09-01T00:00:00Z'), Date.parse('2026-12-01T00:00:00Z'))).toBe('monthly+daily+quarter-hour');
  });

  it('answers the month before a series (its first trend) like any other: trimmed when one of its days is pending', () => {
    const sources = sourcesFor({ from: '2026-11-01', to: '2026-11-27', granularity: 'month' }, 'UTC', ['2026-10-31']);
    expect(readsOf(sources)).toEqual({
      monthly: { firstMonth: '2026-10', lastMonth: '2026-11' },
      daily: null,
      quarterHour: { firstQuarter: '2026-10-31T00:00', lastQuarter: '2026-10-31T23:45' },
    });
  });

  it('keeps trimming out of day series: a month is whole days there', () => {
    expect(sourcesFor({ from: '2026-11-20', to: '2026-11-27', granularity: 'day' }, 'UTC', ['2026-11-26']).trimmedMonths.size).toBe(0);
  });
});

describe('settleTrimmedMonths', () => {
  const plan = { from: '2026-10-01', to: '2026-11-27', granularity: 'month' };
  const sources = sourcesFor(plan, 'UTC', ['2026-10-20', '2026-11-26']);
  const state = (clicks: number): AggregateState => ({ ...emptyState(), clicks });
  const monthItem = (period: string, clicks: number, extra: Partial<PeriodItem> = {}): PeriodItem => ({
    target: linkTarget(CODE),
    period,
    tz: 'UTC',
    state: state(clicks),
    events: clicks,
    updatedAt: NOW.toISOString(),
    ...extra,
  });

  it('takes the live day out of an item whose latest day it is, from withoutLatestDay', () => {
    const november = monthItem('2026-11', 9, { latestDay: '2026-11-26', withoutLatestDay: state(4) });
    const settled = settleTrimmedMonths(sources, [november]);
    expect(settled.sources).toBe(sources);
    expect(settled.monthly.map((item) => [item.period, item.state.clicks, item.events])).toEqual([['2026-11', 4, 4]]);
  });

  it('uses an item as it is when it holds no daily item of the live day, and a month without an item needs none', () => {
    const settled = settleTrimmedMonths(sources, [monthItem('2026-11', 9, { latestDay: '2026-11-25' })]);
    expect(settled.sources).toBe(sources);
    expect(settled.monthly[0].state.clicks).toBe(9);
    expect(readsOf(settled.sources).daily).toBeNull();
  });

  it.each<[string, Partial<PeriodItem>]>([
    ['a later day beside the live one', { latestDay: '2026-10-25', withoutLatestDay: state(1) }],
    ['the live day, written after it stopped being today', { latestDay: '2026-10-20' }],
    ['no latestDay (written before it existed)', {}],
  ])('opens a month whose item holds %s: its daily items are read after all', (_case, extra) => {
    const settled = settleTrimmedMonths(sources, [monthItem('2026-10', 5, extra), monthItem('2026-11', 9, { latestDay: '2026-11-25' })]);
    expect([...settled.sources.openMonths]).toEqual(['2026-10']);
    expect([...settled.sources.trimmedMonths.keys()]).toEqual(['2026-11']);
    expect(readsOf(settled.sources).daily).toEqual({ firstDay: '2026-10-01', lastDay: '2026-10-31' });
    expect(levelOfDay(settled.sources, '2026-10-19')).toBe('daily');
    expect(levelOfDay(settled.sources, '2026-10-20')).toBe('quarter-hour');
    expect(levelOfDay(settled.sources, '2026-11-25')).toBe('monthly');
  });
  it('reads the quarters of a pending day in a reporting zone other than UTC', () => {
    const sources = sourcesFor({ from: '2026-11-20', to: '2026-11-27', granularity: 'day', tz: 'Asia/Kolkata' }, 'Asia/Kolkata', ['2026-11-26']);
    expect(readsOf(sources).quarterHour).toEqual({ firstQuarter: '2026-11-25T18:30', lastQuarter: '2026-11-26T18:15' });
  });
});

describe('figures that agree at every granularity before the rollup has finished', () => {
  const clicks: ClickSpec[] = [
    { at: '2026-10-31T23:00:00Z', visitor: 'ann' },
    { at: '2026-11-20T10:00:00Z', visitor: 'ann' },
    { at: '2026-11-22T10:00:00Z', visitor: 'bob' },
    { at: '2026-11-22T11:00:00Z', visitor: 'cid', bot: true },
    { at: '2026-11-22T12:00:00Z', visitor: 'dan' },
    { at: '2026-11-26T01:00:00Z', visitor: 'ann' },
    { at: '2026-11-26T05:00:00Z', visitor: 'eve' },
  ];
  const options = { pendingDays: ['2026-10-31', '2026-11-22', '2026-11-26'] };
  const range = { from: '2026-10-31', to: '2026-11-27' };

  it('gives hours, days and months the same totals, and says which levels answered', () => {
    const hours = statsOf({ ...range, granularity: 'hour', from: '2026-11-20' }, clicks.slice(1), options);
    const days = statsOf({ ...range, granularity: 'day' }, clicks, options);
    const months = statsOf({ ...range, granularity: 'month' }, clicks, options);
    expect(hours.totals).toEqual({ clicks: 5, uniques: 4, botClicks: 1 });
    expect(days.totals).toEqual({ clicks: 6, uniques: 4, botClicks: 1 });
    expect(months.totals).toEqual(days.totals);
    expect([hours.source, days.source, months.source]).toEqual(['quarter-hour', 'daily+quarter-hour', 'daily+quarter-hour']);
    expect(days.series.filter(({ clicks: count }) => count > 0).map(({ t, clicks: count }) => [t.slice(0, 10), count])).toEqual([
      ['2026-10-31', 1],
      ['2026-11-20', 1],
      ['2026-11-22', 2],
      ['2026-11-26', 2],
    ]);
    // October's only click is on a pending day: its monthly item, rolled up before it, is not used.
    expect(months.series.map(({ clicks: count, trend }) => [count, trend])).toEqual([
      [1, { clicks: null, uniques: null }],
      [5, { clicks: 400, uniques: 300 }],
    ]);
  });

  it("would miss what the stale daily items lack if the pending days were not read (each pending day's last click)", () => {
    const levels = levelsOf(clicks, linkTarget(CODE), 'UTC', options.pendingDays);
    const query = parsed({ ...range, granularity: 'day' });
    const planned = planStats(query, 'UTC', NOW);
    if (!planned.ok) throw new Error(planned.error);
    const humanClicks = (pendingDays: readonly string[]): number => {
      const { sources, items } = readLevels(levels, planned.plan, pendingDays, 'UTC', NOW);
      return buildStats({ link: CODE }, query, sources, items).totals.clicks;
    };
    expect([humanClicks(options.pendingDays), humanClicks([])]).toEqual([6, 3]);
  });

  it('counts bot clicks in clicks with includeBots, still reporting them apart and keeping uniques and breakdowns human', () => {
    const days = statsOf({ ...range, granularity: 'day', includeBots: 'true' }, clicks, options);
    expect(days.includeBots).toBe(true);
    expect(days.totals).toEqual({ clicks: 7, uniques: 4, botClicks: 1 });
    expect(days.series.find(({ t }) => t.startsWith('2026-11-22'))).toMatchObject({ clicks: 3, botClicks: 1, uniques: 2 });
    expect(days.breakdowns.countries).toEqual([{ key: 'SE', clicks: 6 }]);
    const months = statsOf({ ...range, granularity: 'month', includeBots: 'true' }, clicks, options);
    expect(months.series[1]).toMatchObject({ clicks: 6, trend: { clicks: 500 } });
  });
});

describe('compare=previous', () => {
  it.each<[string, Params, string, string]>([
    ['7 days before 7 days', { from: '2026-11-20', to: '2026-11-27', granularity: 'day' }, '2026-11-13T00:00:00.000Z', '2026-11-20T00:00:00.000Z'],
    ['3 months before 3 months', { from: '2026-09-15', to: '2026-11-27', granularity: 'month' }, '2026-06-01T00:00:00.000Z', '2026-09-01T00:00:00.000Z'],
    [
      '24 New York hours before a 24-hour day, from the first of the two 01:00s of the 25-hour day',
      { from: '2026-11-02', to: '2026-11-03', granularity: 'hour', tz: 'America/New_York' },
      '2026-11-01T05:00:00.000Z',
      '2026-11-02T05:00:00.000Z',
    ],
    [
      '23 New York days, the spring day of 23 hours among them, in New York days',
      { from: '2026-03-25', to: '2026-04-17', granularity: 'day', tz: 'America/New_York' },
      '2026-03-02T05:00:00.000Z',
      '2026-03-25T04:00:00.000Z',
    ],
  ])('is %s', (_, params, from, to) => {
    const previous = previousPeriod(parsed({ ...params, compare: 'previous' }, new Date('2026-11-26T00:00:00Z')));
    expect([previous.from.toISOString(), previous.to.toISOString(), previous.compare]).toEqual([from, to, null]);
  });

  it('plans one range over both periods', () => {
    expect(planOf({ from: '2026-11-20', to: '2026-11-27', granularity: 'day', compare: 'previous' }, 'UTC')).toEqual({
      source: 'daily',
      firstDay: '2026-11-13',
      lastDay: '2026-11-26',
    });
    expect(planOf({ from: '2026-11-20T00:00:00Z', to: '2026-11-20T02:00:00Z', granularity: 'hour', compare: 'previous' }, 'UTC')).toEqual({
      source: 'quarter-hour',
      firstQuarter: '2026-11-19T22:00',
      lastQuarter: '2026-11-20T01:45',
    });
  });

  it('refuses a previous period beyond the retention, saying so', () => {
    const result = planStats(parsed({ from: '2025-11-01', to: '2026-11-01', granularity: 'day', compare: 'previous' }), 'UTC', NOW);
    expect(result).toEqual({
      ok: false,
      error:
        'compare=previous reads the period before from too (from 2024-11-01T00:00:00Z): ' +
        'Daily statistics are kept for 731 days (days from 2024-11-25 on); ask with granularity=month for older ranges.',
    });
  });

  it('answers the previous period alongside, with the percent change of the totals', () => {
    const clicks: ClickSpec[] = [
      ...clicksAt('2026-11-18T10:00:00Z', '2026-11-19T10:00:00Z'),
      { at: '2026-11-19T11:00:00Z', bot: true },
      ...clicksAt('2026-11-23T10:00:00Z', '2026-11-24T10:00:00Z', '2026-11-26T01:00:00Z'),
    ];
    const stats = statsOf({ from: '2026-11-23', to: '2026-11-27', granularity: 'day', compare: 'previous' }, clicks, { pendingDays: ['2026-11-19', '2026-11-26'] });
    expect(stats).toMatchObject({ from: '2026-11-23T00:00:00.000Z', to: '2026-11-27T00:00:00.000Z', source: 'daily+quarter-hour', totals: { clicks: 3, uniques: 3, botClicks: 0 } });
    expect(stats.previous).toEqual({
      from: '2026-11-19T00:00:00.000Z',
      to: '2026-11-23T00:00:00.000Z',
      source: 'daily+quarter-hour',
      series: [
        { t: '2026-11-19T00:00:00+00:00', clicks: 1, uniques: 1, botClicks: 1 },
        { t: '2026-11-20T00:00:00+00:00', clicks: 0, uniques: 0, botClicks: 0 },
        { t: '2026-11-21T00:00:00+00:00', clicks: 0, uniques: 0, botClicks: 0 },
        { t: '2026-11-22T00:00:00+00:00', clicks: 0, uniques: 0, botClicks: 0 },
      ],
      totals: { clicks: 1, uniques: 1, botClicks: 1 },
    });
    expect(stats.change).toEqual({ clicks: 200, uniques: 200, botClicks: -100 });
    const withBots = statsOf({ from: '2026-11-23', to: '2026-11-27', granularity: 'day', compare: 'previous', includeBots: 'true' }, clicks);
    expect(withBots.change).toEqual({ clicks: 50, uniques: 200, botClicks: -100 });
  });

  it('has a null change where the previous period had none, and no previous without compare', () => {
    const stats = statsOf({ from: '2026-11-23', to: '2026-11-27', granularity: 'day', compare: 'previous' }, clicksAt('2026-11-24T10:00:00Z'));
    expect(stats.change).toEqual({ clicks: null, uniques: null, botClicks: null });
    const plain = statsOf({ from: '2026-11-23', to: '2026-11-27', granularity: 'day' }, clicksAt('2026-11-24T10:00:00Z'));
    expect(plain).not.toHaveProperty('previous');
    expect(plain).not.toHaveProperty('change');
  });

  it('gives the first month of a series from quarter-hour items its trend, as the previous period read the month before', () => {
    const clicks = clicksAt('2026-09-02T12:00:00Z', '2026-10-02T12:00:00Z', '2026-10-03T12:00:00Z');
    const stats = statsOf({ from: '2026-10-01', to: '2026-11-01', granularity: 'month', tz: 'America/New_York', compare: 'previous' }, clicks);
    expect(stats.source).toBe('quarter-hour');
    expect(stats.series[0]).toMatchObject({ clicks: 2, trend: { clicks: 100 } });
    expect(stats.previous?.series[0]).toMatchObject({ clicks: 1, trend: { clicks: null } });
  });
});

describe('property: pending or rolled up, days and months add up to the hours', () => {
  // Ten days around the New York autumn change and a month's end; "now" two days after.
  const startMs = Date.parse('2026-10-28T00:00:00Z');
  const now = new Date('2026-11-09T00:00:00Z');
  const click = fc.record({
    minute: fc.integer({ min: 0, max: 10 * 24 * 60 - 1 }),
    visitor: fc.constantFrom('ann', 'bob', 'cid', 'dan', 'eve', 'fay'),
    bot: fc.boolean(),
  });

  it('holds for random clicks, reporting zones and pending days', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('UTC', 'America/New_York', 'Asia/Kolkata'),
        fc.array(click, { maxLength: 40 }),
        fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
        fc.integer({ min: 0, max: 11 }),
        (reportingTz, picked, pendingFlags, rollupDayIndex) => {
          const clicks: ClickSpec[] = picked.map(({ minute, visitor, bot }) => ({ at: new Date(startMs + minute * 60_000).toISOString(), visitor, bot }));
          const firstDay = localDayOf(startMs, reportingTz);
          const days = Array.from({ length: 12 }, (_, index) => localDayOf(dayBounds(firstDay, reportingTz).startMs + (index + 0.5) * DAY_MS, reportingTz));
          const pendingDays = days.filter((_, index) => pendingFlags[index]);
          const range = { from: days[0], to: days[days.length - 1], tz: reportingTz };
          // Monthly items hold their month without its latest day when it was the rollup's today.
          const rolledUpAt = new Date(dayBounds(days[rollupDayIndex], reportingTz).startMs + DAY_MS / 2);
          const options = { reportingTz, now, pendingDays, rolledUpAt };

          const hours = statsOf({ ...range, granularity: 'hour' }, clicks, options);
          const byDay = statsOf({ ...range, granularity: 'day' }, clicks, options);
          const byMonth = statsOf({ ...range, granularity: 'month' }, clicks, options);
          const counts = ({ clicks: human, botClicks }: Totals): Omit<Totals, 'uniques'> => ({ clicks: human, botClicks });
          expect(counts(byDay.totals)).toEqual(counts(hours.totals));
          // Each day is the sum of its hours.
          const hoursByDay = new Map<string, number>();
          for (const entry of hours.series) {
            const day = localDayOf(Date.parse(entry.t), reportingTz);
            hoursByDay.set(day, (hoursByDay.get(day) ?? 0) + entry.clicks + entry.botClicks);
          }
          for (const entry of byDay.series) expect(entry.clicks + entry.botClicks).toBe(hoursByDay.get(entry.t.slice(0, 10)) ?? 0);

          // Uniques are the merge of every quarter item of the range, at each granularity.
          const merged = emptyState();
          const rangeStart = dayBounds(range.from, reportingTz).startMs;
          const rangeEnd = dayBounds(range.to, reportingTz).startMs;
          for (const item of quarterItems(clicks, linkTarget(CODE))) {
            const quarterMs = Date.parse(`${item.quarter}:00Z`);
            if (quarterMs >= rangeStart && quarterMs < rangeEnd) mergeInto(merged, item.state);
          }
          expect([hours.totals.uniques, byDay.totals.uniques]).toEqual([merged.visitors.estimate(), merged.visitors.estimate()]);
          // Months hold every click (all fall within the months of the range).
          expect(counts(byMonth.totals)).toEqual({ clicks: clicks.filter((each) => !each.bot).length, botClicks: clicks.filter((each) => each.bot).length });
        },
      ),
      { numRuns: 60 },
    );
  });
});
