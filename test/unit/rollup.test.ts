import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { createHash } from 'node:crypto';
import { stateToAttributes } from '../../lambdas/domain/aggregate-state';
import { QUARTER_MS, quarterStart } from '../../lambdas/domain/buckets';
import type { RawClick } from '../../lambdas/domain/click';
import { applyGroup, groupByTargetQuarter, type QuarterHourItem } from '../../lambdas/domain/quarter-hour';
import { daysTouched, dueSinceMs, isDayOver, quarterRangeOfDay, rollupDay, rollupMonth, type PeriodItem } from '../../lambdas/domain/rollup';
import { parseDailyItem, parseMonthlyItem, toDailyAttributes, toMonthlyAttributes } from '../../lambdas/tables/period-aggregates';
import { parsePendingMarker, pendingMarker, pendingPartitionOf, PENDING_PARTITIONS } from '../../lambdas/tables/pending-rollups';
import { numberedEventId, numberedVisitor, rawClick } from '../fixtures/clicks';

const TARGET = 'link#abc123';
const NOW = new Date('2026-12-01T10:00:00.000Z');
let sequence = 0;

function click(ts: string, changes: Partial<RawClick> = {}): RawClick {
  sequence += 1;
  return rawClick({ eventId: numberedEventId(sequence), visitor: numberedVisitor(sequence), ts, ...changes });
}

/** The quarter-hour items of the link target the aggregator would write for these clicks. */
function quarterItems(clicks: readonly RawClick[], writer = 'shard-1'): QuarterHourItem[] {
  const streamed = clicks.map((each, n) => ({ click: each, sequenceNumber: String(n + 1) }));
  return groupByTargetQuarter(streamed)
    .filter((group) => group.target === TARGET)
    .map((group) => applyGroup(null, group, writer)!);
}

const figures = (item: PeriodItem): unknown => ({
  clicks: item.state.clicks,
  botClicks: item.state.botClicks,
  uniques: item.state.visitors.estimate(),
  events: item.events,
});

describe('rollupDay', () => {
  it('merges the quarters of the day and stamps it', () => {
    const visitor = numberedVisitor(1_000);
    const items = [
      ...quarterItems([click('2026-11-26T05:10:00Z', { visitor }), click('2026-11-26T05:20:00Z', { bot: true, botReason: 'prefetch' })]),
      // The same visitor in another quarter and from another writer: merged, not summed.
      ...quarterItems([click('2026-11-26T23:59:59.999Z', { visitor, country: 'US' })], 'shard-2'),
    ];
    const daily = rollupDay(TARGET, '2026-11-26', 'UTC', items, NOW);
    expect(daily).toMatchObject({ target: TARGET, period: '2026-11-26', tz: 'UTC', updatedAt: NOW.toISOString() });
    expect(figures(daily)).toEqual({ clicks: 2, botClicks: 1, uniques: 1, events: 3 });
    expect(daily.state.breakdowns.country).toEqual({ SE: 1, US: 1 });
    // 731 days after the day starts.
    expect(daily.expiresAt).toBe(Date.parse('2028-11-26T00:00:00Z') / 1000);
  });

  it.each([
    ['America/New_York', '2026-03-08', ['2026-03-08T05:00:00Z', '2026-03-09T03:59:59Z'], ['2026-03-08T04:59:59Z', '2026-03-09T04:00:00Z']],
    ['America/New_York', '2026-11-01', ['2026-11-01T04:00:00Z', '2026-11-02T04:59:59Z'], ['2026-11-01T03:59:59Z', '2026-11-02T05:00:00Z']],
    ['Asia/Kolkata', '2026-11-26', ['2026-11-25T18:30:00Z', '2026-11-26T18:29:59Z'], ['2026-11-25T18:29:59Z', '2026-11-26T18:30:00Z']],
    ['Asia/Kathmandu', '2026-11-26', ['2026-11-25T18:15:00Z', '2026-11-26T18:14:59Z'], ['2026-11-25T18:14:59Z', '2026-11-26T18:15:00Z']],
  ])('in %s counts %s from its first to its last quarter and ignores the quarters around it', (tz, day, inside, outside) => {
    const items = quarterItems([...inside, ...outside].map((ts) => click(ts)));
    expect(items).toHaveLength(4);
    const daily = rollupDay(TARGET, day, tz, items, NOW);
    expect(figures(daily)).toEqual({ clicks: 2, botClicks: 0, uniques: 2, events: 2 });
    expect(daily.tz).toBe(tz);
  });

  it('throws on a quarter-hour item of another target', () => {
    const [item] = quarterItems([click('2026-11-26T05:10:00Z')]);
    expect(() => rollupDay('link#other', '2026-11-26', 'UTC', [item], NOW)).toThrow(Error);
  });

  it('gives the same item when run twice', () => {
    const items = quarterItems([click('2026-11-26T05:10:00Z'), click('2026-11-26T07:10:00Z')]);
    const attributes = (item: PeriodItem): Record<string, unknown> => toDailyAttributes(item);
    expect(attributes(rollupDay(TARGET, '2026-11-26', 'UTC', items, NOW))).toEqual(attributes(rollupDay(TARGET, '2026-11-26', 'UTC', items, NOW)));
  });
});

describe('rollupMonth', () => {
  const visitor = numberedVisitor(2_000);
  const day = (period: string, clicks: readonly RawClick[]): PeriodItem => rollupDay(TARGET, period, 'America/New_York', quarterItems(clicks), NOW);
  const DAYS = [
    day('2026-10-31', [click('2026-11-01T03:00:00Z')]),
    day('2026-11-01', [click('2026-11-01T12:00:00Z', { visitor }), click('2026-11-01T13:00:00Z', { bot: true, botReason: 'user-agent' })]),
    day('2026-11-30', [click('2026-11-30T12:00:00Z', { visitor }), click('2026-11-30T13:00:00Z')]),
    day('2026-12-01', [click('2026-12-01T12:00:00Z')]),
  ];

  it('merges the daily items of the month, without a TTL', () => {
    const monthly = rollupMonth(TARGET, '2026-11', 'America/New_York', DAYS, NOW);
    expect(monthly).toMatchObject({ target: TARGET, period: '2026-11', tz: 'America/New_York', updatedAt: NOW.toISOString() });
    // The visitor of 1 and 30 November counts once.
    expect(figures(monthly)).toEqual({ clicks: 3, botClicks: 1, uniques: 2, events: 4 });
    expect(monthly).not.toHaveProperty('expiresAt');
  });

  it('agrees with a rollup of the same clicks straight from the quarters', () => {
    const clicks = Array.from({ length: 40 }, (_, n) => click(new Date(Date.parse('2026-11-03T00:00:00Z') + n * 17 * 3_600_000).toISOString()));
    const items = quarterItems(clicks);
    const days = Array.from({ length: 30 }, (_, n) => rollupDay(TARGET, `2026-11-${String(n + 1).padStart(2, '0')}`, 'America/New_York', items, NOW));
    const monthly = rollupMonth(TARGET, '2026-11', 'America/New_York', days, NOW);
    const inMonth = clicks.filter((each) => each.ts >= '2026-11-01T04:00:00Z' && each.ts < '2026-12-01T05:00:00Z');
    expect(figures(monthly)).toEqual({ clicks: inMonth.length, botClicks: 0, uniques: inMonth.length, events: inMonth.length });
  });

  it('names its latest day, and holds the month without it only while that day is today', () => {
    const closed = rollupMonth(TARGET, '2026-11', 'America/New_York', DAYS, NOW);
    expect(closed.latestDay).toBe('2026-11-30');
    expect(closed).not.toHaveProperty('withoutLatestDay');

    const onLatestDay = rollupMonth(TARGET, '2026-11', 'America/New_York', DAYS, new Date('2026-11-30T23:00:00Z'));
    expect(onLatestDay.latestDay).toBe('2026-11-30');
    expect(figures(onLatestDay)).toEqual(figures(closed));
    // Only 1 November's two clicks: its visitor also came on the 30th, and still counts once.
    const without = onLatestDay.withoutLatestDay;
    expect(without && { clicks: without.clicks, botClicks: without.botClicks, uniques: without.visitors.estimate() }).toEqual({ clicks: 1, botClicks: 1, uniques: 1 });
  });

  it('has no latest day when the month has no daily item', () => {
    const empty = rollupMonth(TARGET, '2026-11', 'America/New_York', [], new Date('2026-11-30T23:00:00Z'));
    expect(empty).not.toHaveProperty('latestDay');
    expect(empty).not.toHaveProperty('withoutLatestDay');
  });

  it('throws on a malformed month and on a daily item of another target', () => {
    expect(() => rollupMonth(TARGET, '2026-13', 'UTC', DAYS, NOW)).toThrow(RangeError);
    expect(() => rollupMonth('owner#owner-1', '2026-11', 'America/New_York', DAYS, NOW)).toThrow(Error);
  });
});

describe('quarterRangeOfDay', () => {
  it.each([
    ['2026-11-26', 'UTC', '2026-11-26T00:00', '2026-11-26T23:45', 96],
    ['2026-03-08', 'America/New_York', '2026-03-08T05:00', '2026-03-09T03:45', 92],
    ['2026-11-01', 'America/New_York', '2026-11-01T04:00', '2026-11-02T04:45', 100],
    ['2026-11-26', 'Asia/Kolkata', '2026-11-25T18:30', '2026-11-26T18:15', 96],
    ['2026-11-26', 'Asia/Kathmandu', '2026-11-25T18:15', '2026-11-26T18:00', 96],
  ])('%s in %s is %s..%s, %d quarters', (day, tz, firstQuarter, lastQuarter, quarters) => {
    const range = quarterRangeOfDay(day, tz);
    expect(range).toEqual({ firstQuarter, lastQuarter });
    expect((quarterStart(lastQuarter).getTime() - quarterStart(firstQuarter).getTime()) / QUARTER_MS + 1).toBe(quarters);
  });

  it('throws RangeError on a malformed day', () => {
    expect(() => quarterRangeOfDay('2026-02-30', 'UTC')).toThrow(RangeError);
  });
});

describe('isDayOver and dueSinceMs', () => {
  const at = (iso: string): number => Date.parse(iso);

  it.each([
    ['2026-12-01', 'UTC', '2026-12-01T23:59:59.999Z', false],
    ['2026-12-01', 'UTC', '2026-12-02T00:00:00.000Z', true],
    ['2026-12-02', 'UTC', '2026-12-01T12:00:00.000Z', false],
    // Kolkata's day ends at 18:30 UTC; Apia's (UTC+13) long before UTC's, Honolulu's (UTC-10) long after.
    ['2026-12-01', 'Asia/Kolkata', '2026-12-01T18:29:59.999Z', false],
    ['2026-12-01', 'Asia/Kolkata', '2026-12-01T18:30:00.000Z', true],
    ['2026-12-01', 'Pacific/Apia', '2026-12-01T11:00:00.000Z', true],
    ['2026-12-01', 'Pacific/Honolulu', '2026-12-02T09:59:59.999Z', false],
    ['2026-12-01', 'Pacific/Honolulu', '2026-12-02T10:00:00.000Z', true],
    // New York's fall-back day lasts 25 hours.
    ['2026-11-01', 'America/New_York', '2026-11-02T04:59:59.999Z', false],
    ['2026-11-01', 'America/New_York', '2026-11-02T05:00:00.000Z', true],
  ])('%s in %s is over at %s: %s', (day, tz, asOf, over) => {
    expect(isDayOver(day, tz, at(asOf))).toBe(over);
  });

  it('is due from the end of its day, or from a mark after it (a late click)', () => {
    expect(dueSinceMs('2026-12-01', 'UTC', at('2026-12-01T15:00:00.000Z'))).toBe(at('2026-12-02T00:00:00.000Z'));
    expect(dueSinceMs('2026-12-01', 'UTC', at('2026-12-05T08:00:00.000Z'))).toBe(at('2026-12-05T08:00:00.000Z'));
    expect(dueSinceMs('2026-12-01', 'Asia/Kolkata', at('2026-12-01T15:00:00.000Z'))).toBe(at('2026-12-01T18:30:00.000Z'));
  });

  it('throws RangeError on a malformed day', () => {
    expect(() => isDayOver('2026-12-32', 'UTC', 0)).toThrow(RangeError);
    expect(() => dueSinceMs('20261201', 'UTC', 0)).toThrow(RangeError);
  });
});

describe('daily and monthly attributes', () => {
  const visitor = numberedVisitor(3_000);
  const DAILY = rollupDay(
    TARGET,
    '2026-11-01',
    'America/New_York',
    quarterItems([click('2026-11-01T12:00:00Z', { visitor }), click('2026-11-01T13:00:00Z', { bot: true, botReason: 'head-request' })]),
    NOW,
  );
  const MONTHLY = rollupMonth(TARGET, '2026-11', 'America/New_York', [DAILY], NOW);

  it('writes the daily item with its day, zone, guard, stamp, TTL and state', () => {
    expect(toDailyAttributes(DAILY)).toEqual({
      target: TARGET,
      day: '2026-11-01',
      tz: 'America/New_York',
      events: 2,
      updatedAt: NOW.toISOString(),
      expiresAt: DAILY.expiresAt,
      ...stateToAttributes(DAILY.state),
    });
  });

  it('writes the monthly item without a TTL, naming its latest day', () => {
    expect(toMonthlyAttributes(MONTHLY)).toEqual({
      target: TARGET,
      month: '2026-11',
      tz: 'America/New_York',
      events: 2,
      updatedAt: NOW.toISOString(),
      latestDay: '2026-11-01',
      ...stateToAttributes(MONTHLY.state),
    });
  });

  it('writes and reads the month without its latest day as a second state', () => {
    const later = rollupDay(TARGET, '2026-11-02', 'America/New_York', quarterItems([click('2026-11-02T12:00:00Z')]), NOW);
    const open = rollupMonth(TARGET, '2026-11', 'America/New_York', [DAILY, later], new Date('2026-11-02T15:00:00Z'));
    const attributes = toMonthlyAttributes(open);
    expect(attributes).toMatchObject({ latestDay: '2026-11-02', events: 3, withoutLatestDay: { clicks: 1, botClicks: 1, uniques: 1 } });
    const read = parseMonthlyItem(unmarshall(marshall(attributes)));
    expect(toMonthlyAttributes(read)).toEqual(attributes);
    expect(read.withoutLatestDay?.clicks).toBe(1);
    expect(() => parseMonthlyItem({ ...attributes, latestDay: undefined })).toThrow(/^withoutLatestDay: /);
    expect(() => parseMonthlyItem({ ...attributes, withoutLatestDay: { clicks: 1 } })).toThrow(/^withoutLatestDay: /);
    const tooMany = { ...(attributes.withoutLatestDay as Record<string, unknown>), clicks: 3 };
    expect(() => parseMonthlyItem({ ...attributes, withoutLatestDay: tooMany })).toThrow(/^withoutLatestDay: must not hold more events/);
  });

  it('refuses to write a daily item without a TTL', () => {
    expect(() => toDailyAttributes(MONTHLY)).toThrow(TypeError);
  });

  it('round-trips both through DynamoDB', () => {
    const daily = parseDailyItem(unmarshall(marshall(toDailyAttributes(DAILY))));
    expect(toDailyAttributes(daily)).toEqual(toDailyAttributes(DAILY));
    expect(figures(daily)).toEqual({ clicks: 1, botClicks: 1, uniques: 1, events: 2 });
    const monthly = parseMonthlyItem(unmarshall(marshall(toMonthlyAttributes(MONTHLY))));
    expect(toMonthlyAttributes(monthly)).toEqual(toMonthlyAttributes(MONTHLY));
    expect(monthly).not.toHaveProperty('expiresAt');
  });

  it.each([
    ['target', { target: undefined }],
    ['day', { day: '2026-02-30' }],
    ['day', { day: '2026-11' }],
    ['tz', { tz: 'Mars/Olympus_Mons' }],
    ['tz', { tz: undefined }],
    ['events', { events: 3 }],
    ['events', { events: -2 }],
    ['updatedAt', { updatedAt: 'yesterday' }],
    ['updatedAt', { updatedAt: '2026-12-01T10:00:00Z' }],
    ['expiresAt', { expiresAt: undefined }],
    ['botClicks', { botClicks: -1 }],
  ])('rejects a daily item with a malformed %s: %p', (name, changes) => {
    const item = { ...toDailyAttributes(DAILY), ...changes };
    expect(() => parseDailyItem(item)).toThrow(TypeError);
    expect(() => parseDailyItem(item)).toThrow(new RegExp(`^${name}: `));
  });

  it.each([
    ['month', { month: '2026-13' }],
    ['month', { month: '2026-11-01' }],
    ['events', { events: 1 }],
    ['latestDay', { latestDay: '2026-12-01' }],
    ['latestDay', { latestDay: '2026-11-31' }],
    ['latestDay', { latestDay: 7 }],
  ])('rejects a monthly item with a malformed %s: %p', (name, changes) => {
    expect(() => parseMonthlyItem({ ...toMonthlyAttributes(MONTHLY), ...changes })).toThrow(new RegExp(`^${name}: `));
  });
});

describe('pending rollups', () => {
  it('has eight partitions', () => {
    expect(PENDING_PARTITIONS).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7']);
  });

  it('puts a target in the partition of the first byte of its SHA-256, mod 8', () => {
    for (const target of ['link#abc123', 'owner#owner-1', 'link#x']) {
      expect(pendingPartitionOf(target)).toBe(`p${createHash('sha256').update(target).digest()[0] % 8}`);
    }
  });

  it('spreads targets over every partition', () => {
    const partitions = new Set(Array.from({ length: 200 }, (_, n) => pendingPartitionOf(`link#code${n}`)));
    expect([...partitions].sort()).toEqual([...PENDING_PARTITIONS]);
  });

  it.each([
    ['link#abc123', '2026-11-26', 'link#abc123|2026-11-26'],
    ['owner#team@example.org', '2026-03-08', 'owner#team@example.org|2026-03-08'],
    ['link#a#b', '2028-02-29', 'link#a#b|2028-02-29'],
    ['odd|target', '2026-11-26', 'odd|target|2026-11-26'],
  ])('marks %s on %s as %s and reads it back', (target, day, marker) => {
    expect(pendingMarker({ target, day })).toBe(marker);
    expect(parsePendingMarker(marker)).toEqual({ target, day });
  });

  it.each(['link#abc123', '|2026-11-26', 'link#abc123|', 'link#abc123|2026-13-01', 'link#abc123|2026-11-26T00', ''])(
    'rejects the marker %p',
    (marker) => {
      expect(() => parsePendingMarker(marker)).toThrow(TypeError);
    },
  );
});

describe('daysTouched', () => {
  const clicks = [
    click('2026-11-26T04:59:00Z', { code: 'a', owner: 'team' }),
    click('2026-11-26T05:10:00Z', { code: 'a', owner: 'team' }),
    click('2026-11-26T05:20:00Z', { code: 'b', owner: 'team' }),
    click('2026-11-26T23:50:00Z', { code: 'a', owner: 'team' }),
  ];
  const groups = groupByTargetQuarter(clicks.map((each, n) => ({ click: each, sequenceNumber: String(n + 1) })));

  it('names each target and local day once, in the reporting zone', () => {
    expect(daysTouched(groups, 'America/New_York')).toEqual([
      { target: 'link#a', day: '2026-11-25' },
      { target: 'owner#team', day: '2026-11-25' },
      { target: 'link#a', day: '2026-11-26' },
      { target: 'owner#team', day: '2026-11-26' },
      { target: 'link#b', day: '2026-11-26' },
    ]);
  });

  it('cuts days at the zone midnight', () => {
    expect(daysTouched(groups, 'UTC')).toEqual([
      { target: 'link#a', day: '2026-11-26' },
      { target: 'owner#team', day: '2026-11-26' },
      { target: 'link#b', day: '2026-11-26' },
    ]);
    expect(daysTouched(groups, 'Asia/Kolkata')).toEqual([
      { target: 'link#a', day: '2026-11-26' },
      { target: 'owner#team', day: '2026-11-26' },
      { target: 'link#b', day: '2026-11-26' },
      { target: 'link#a', day: '2026-11-27' },
      { target: 'owner#team', day: '2026-11-27' },
    ]);
  });

  it('is empty for no groups', () => {
    expect(daysTouched([], 'UTC')).toEqual([]);
  });
});
