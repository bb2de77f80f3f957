/**
 * The statistics API's domain: the query, which aggregate levels serve it (docs/statistics.md; the
 * level of each day is in stats-sources.ts), and the response built from their items in the
 * query's time zone.
 */
import { emptyState, LONG_TAIL_KEY, mergeInto, type AggregateState, type BreakdownDimension } from './aggregate-state';
import {
  DAILY_RETENTION_DAYS,
  dayBounds,
  localDayOf,
  monthBounds,
  monthOfDay,
  QUARTER_HOUR_RETENTION_DAYS,
  QUARTER_MS,
  quarterOf,
  quarterStart,
} from './buckets';
import type { QuarterHourState } from './quarter-hour';
import type { PeriodItem } from './rollup';
import { itemCounts, sourceOf, type StatsSources } from './stats-sources';
import { canonicalTimeZone, formatWithOffset, instantOfWallTime, offsetMinutesAt } from './zoned-time';

export type Granularity = 'hour' | 'day' | 'month';

export interface StatsQuery {
  from: Date;
  to: Date;
  granularity: Granularity;
  /** Canonical IANA name. */
  tz: string;
  /** Entries kept per breakdown; null keeps them all. */
  top: number | null;
  /** `clicks` counts bot clicks too. */
  includeBots: boolean;
  /** 'previous': the period of as many buckets just before, answered alongside. */
  compare: 'previous' | null;
}

/**
 * The range a query reads and the level closed periods come from: daily and monthly plans still
 * answer pending days from quarter-hour items (StatsSources). With compare=previous it spans both periods.
 */
export type StatsPlan =
  | { source: 'quarter-hour'; firstQuarter: string; lastQuarter: string }
  | { source: 'daily'; firstDay: string; lastDay: string }
  | { source: 'monthly'; firstMonth: string; lastMonth: string };

export type StatsSubject = { link: string } | { owner: string };

/** Percent change against the previous month, to 0.1; null when that month had none (or was not read). */
export interface Trend {
  clicks: number | null;
  uniques: number | null;
}

export interface SeriesEntry {
  /** Bucket start: `2026-11-26T05:00:00Z` for hours in UTC, else with the zone's offset (`2026-11-26T00:00:00-05:00`). */
  t: string;
  /** Human clicks, plus bot clicks with includeBots. */
  clicks: number;
  /** Distinct human visitors of the bucket. */
  uniques: number;
  botClicks: number;
  /** Month entries only. */
  trend?: Trend;
}

export interface BreakdownEntry {
  key: string;
  clicks: number;
}

/**
 * What one breakdown does not list: the keys `top` cut and their clicks, plus the long tail folded
 * away in storage (the smallest keys of an item that would outgrow MAX_AGGREGATE_ITEM_BYTES), whose
 * keys are not known any more, only how many were folded.
 */
export interface BreakdownRest {
  /** The keys cut plus the keys folded: an upper bound when a key was folded in more than one item. */
  keys: number;
  clicks: number;
  /** The part of keys and clicks folded in storage. */
  longTail: { keys: number; clicks: number };
}

export const BREAKDOWN_FIELDS = {
  referrers: 'referrer',
  countries: 'country',
  devices: 'device',
  browsers: 'browser',
  os: 'os',
} as const satisfies Record<string, BreakdownDimension>;
export type BreakdownField = keyof typeof BREAKDOWN_FIELDS;

export interface Totals {
  /** Human clicks, plus bot clicks with includeBots. */
  clicks: number;
  /** The estimate of the merged sketches (never a sum). */
  uniques: number;
  botClicks: number;
}

/** The figures of one period: `from`/`to` are its bucket-aligned range; `source` the levels it was answered from. */
export interface PeriodFigures {
  from: string;
  to: string;
  /** `monthly`, `daily`, `quarter-hour`, or several of them joined by '+', coarsest first. */
  source: string;
  series: SeriesEntry[];
  totals: Totals;
}

/**
 * The response of both stats routes. `breakdowns` lists human clicks per key, by clicks descending
 * then key, cut to the first `top` keys when asked; `breakdownOthers` says, per breakdown, how many
 * keys and clicks the cut left out (always present: `{ keys: 0, clicks: 0, longTail: { keys: 0, clicks: 0 } }`
 * when nothing was cut), so every breakdown still adds up to the human clicks (`totals.clicks`, less
 * `totals.botClicks` with includeBots). With compare=previous, `previous` is the period of as many buckets
 * just before, and `change` the percent change of the totals against it (to 0.1; null when it had none).
 */
export type StatsResponse = StatsSubject &
  PeriodFigures & {
    granularity: Granularity;
    tz: string;
    includeBots: boolean;
    breakdowns: Record<BreakdownField, BreakdownEntry[]>;
    breakdownOthers: Record<BreakdownField, BreakdownRest>;
    previous?: PeriodFigures;
    change?: { clicks: number | null; uniques: number | null; botClicks: number | null };
  };

type Rejection = { ok: false; error: string };

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
export const GRANULARITIES: readonly Granularity[] = ['hour', 'day', 'month'];
export const DEFAULT_RANGE_DAYS = 7;
/** Longest range per granularity, in days (5 years with their leap days for months): bounds the series length. */
export const MAX_RANGE_DAYS: Readonly<Record<Granularity, number>> = { hour: 31, day: 400, month: 1827 };
export const MAX_TOP = 1000;
/**
 * Bounds of from and to. Past year 9999 a quarter or day is no longer `YYYY-…` (toISOString writes
 * `+010000-…`), which would make a table query's range invalid: a 5xx for a client's typo.
 */
export const EARLIEST_TIME_MS = Date.UTC(1970, 0, 1);
export const LATEST_TIME_MS = Date.UTC(9999, 0, 1);

/** `2026-11-01`, `2026-11-01T09:30`, `2026-11-01T09:30:00.000Z`, `2026-11-01T09:30:00+01:00`. */
export const ISO_TIME_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** An ISO 8601 date or time; without an offset it is wall time in tz (a date is its local midnight). */
function parseIsoTime(text: string, tz: string): Date | null {
  const match = ISO_TIME_PATTERN.exec(text);
  if (match === null) return null;
  const [, year, month, day, hour = '0', minute = '0', second = '0', fraction = '0', offset] = match;
  const wall = { year: +year, month: +month, day: +day, hour: +hour, minute: +minute, second: +second };
  const asUtc = new Date(Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second));
  // Date rolls 2026-02-30 or 25:00 over; a real time comes back unchanged.
  const rolledOver =
    asUtc.getUTCFullYear() !== wall.year ||
    asUtc.getUTCMonth() !== wall.month - 1 ||
    asUtc.getUTCDate() !== wall.day ||
    asUtc.getUTCHours() !== wall.hour ||
    asUtc.getUTCMinutes() !== wall.minute ||
    asUtc.getUTCSeconds() !== wall.second;
  if (rolledOver) return null;
  const milliseconds = Number(fraction.padEnd(3, '0'));
  if (offset === undefined) return new Date(instantOfWallTime(wall, tz) + milliseconds);
  if (offset === 'Z') return new Date(asUtc.getTime() + milliseconds);
  const [offsetHours, offsetMinutes] = offset.slice(1).split(':').map(Number);
  if (offsetHours > 23 || offsetMinutes > 59) return null;
  const sign = offset.startsWith('-') ? -1 : 1;
  return new Date(asUtc.getTime() + milliseconds - sign * (offsetHours * 60 + offsetMinutes) * 60_000);
}

/** A whole number from 1 to MAX_TOP, else null. */
function parseTop(text: string): number | null {
  const top = Number(text);
  return /^\d+$/.test(text) && top >= 1 && top <= MAX_TOP ? top : null;
}

const isGranularity = (value: string): value is Granularity => (GRANULARITIES as readonly string[]).includes(value);

/** Validates the stats query string; errors are sentences for a 400. Empty parameters count as absent. */
export function parseStatsQuery(
  params: Readonly<Record<string, string | undefined>>,
  now: Date,
): { ok: true; query: StatsQuery } | Rejection {
  const param = (name: string): string | undefined => params[name]?.trim() || undefined;

  const tzParam = param('tz') ?? 'UTC';
  const canonical = canonicalTimeZone(tzParam);
  if (canonical === null) return { ok: false, error: `tz must be an IANA time zone such as Europe/Paris, got "${tzParam}".` };
  // Intl resolves some current names to their old aliases (Asia/Kolkata to Asia/Calcutta): a zone
  // asked for by another valid name keeps that name; only a difference of case takes Intl's spelling.
  const tz = tzParam.toLowerCase() === canonical.toLowerCase() ? canonical : tzParam;

  const times: { from?: Date; to?: Date } = {};
  for (const name of ['from', 'to'] as const) {
    const text = param(name);
    if (text === undefined) continue;
    const time = parseIsoTime(text, tz);
    if (time === null) {
      return { ok: false, error: `${name} must be an ISO 8601 date or time such as 2026-11-01 or 2026-11-01T09:30:00Z.` };
    }
    times[name] = time;
  }
  const to = times.to ?? now;
  const from = times.from ?? new Date(to.getTime() - DEFAULT_RANGE_DAYS * DAY_MS);
  if (from.getTime() < EARLIEST_TIME_MS || to.getTime() > LATEST_TIME_MS) {
    return { ok: false, error: 'from and to must be between 1970-01-01T00:00:00Z and 9999-01-01T00:00:00Z.' };
  }
  if (from.getTime() >= to.getTime()) return { ok: false, error: 'from must be before to.' };

  const rangeDays = (to.getTime() - from.getTime()) / DAY_MS;
  const granularityParam = param('granularity');
  let granularity: Granularity;
  if (granularityParam === undefined) {
    granularity = rangeDays <= DEFAULT_RANGE_DAYS ? 'hour' : 'day';
  } else if (isGranularity(granularityParam)) {
    granularity = granularityParam;
  } else {
    return { ok: false, error: `granularity must be one of ${GRANULARITIES.join(', ')}.` };
  }
  if (rangeDays > MAX_RANGE_DAYS[granularity]) {
    return {
      ok: false,
      error:
        `The range from from to to must be at most ${MAX_RANGE_DAYS[granularity]} days for ${granularity} granularity; ` +
        'use a coarser granularity or a shorter range.',
    };
  }

  const topParam = param('top');
  const top = topParam === undefined ? null : parseTop(topParam);
  if (topParam !== undefined && top === null) return { ok: false, error: `top must be a whole number from 1 to ${MAX_TOP}.` };

  const compare = param('compare') ?? null;
  if (compare !== null && compare !== 'previous') {
    return { ok: false, error: `compare must be previous (the period of as many buckets just before from), got "${compare}".` };
  }
  const includeBots = param('includeBots') ?? 'false';
  if (includeBots !== 'true' && includeBots !== 'false') return { ok: false, error: `includeBots must be true or false, got "${includeBots}".` };
  return { ok: true, query: { from, to, granularity, tz, top, includeBots: includeBots === 'true', compare } };
}

/** [startMs, endMs) of one series bucket. */
interface Bucket {
  startMs: number;
  endMs: number;
}

const positiveModulo = (value: number, divisor: number): number => ((value % divisor) + divisor) % divisor;
const offsetMsAt = (instantMs: number, tz: string): number => offsetMinutesAt(instantMs, tz) * 60_000;

/** First instant in (afterMs, atMs] with the offset in force at atMs: the one offset change between them. */
function offsetChangeBetween(afterMs: number, atMs: number, tz: string): number {
  const offset = offsetMsAt(atMs, tz);
  let before = afterMs;
  let after = atMs;
  while (after - before > 1) {
    const middle = Math.floor((before + after) / 2);
    if (offsetMsAt(middle, tz) === offset) after = middle;
    else before = middle;
  }
  return after;
}

/**
 * The local hour holding an instant: from a wall-clock hour to the next, split where the offset
 * changes. Whole-hour DST changes give 1-hour buckets (New York's repeated 01:00 is two of them);
 * Australia/Lord_Howe's 30-minute change gives one 30-minute bucket.
 */
function localHourAt(instantMs: number, tz: string): Bucket {
  const offset = offsetMsAt(instantMs, tz);
  const floorMs = instantMs - positiveModulo(instantMs + offset, HOUR_MS);
  const ceilingMs = floorMs + HOUR_MS;
  return {
    startMs: offsetMsAt(floorMs, tz) === offset ? floorMs : offsetChangeBetween(floorMs, instantMs, tz),
    endMs: offsetMsAt(ceilingMs - 1, tz) === offset ? ceilingMs : offsetChangeBetween(instantMs, ceilingMs - 1, tz),
  };
}

const monthAt = (instantMs: number, tz: string): string => monthOfDay(localDayOf(instantMs, tz));

function bucketAt(instantMs: number, granularity: Granularity, tz: string): Bucket {
  if (granularity === 'hour') return localHourAt(instantMs, tz);
  return granularity === 'day' ? dayBounds(localDayOf(instantMs, tz), tz) : monthBounds(monthAt(instantMs, tz), tz);
}

/** Every bucket touching [from, to), in order; each starts where the previous one ends. */
function bucketsOf(query: StatsQuery): Bucket[] {
  const buckets = [bucketAt(query.from.getTime(), query.granularity, query.tz)];
  for (let last = buckets[0]; last.endMs < query.to.getTime(); last = buckets[buckets.length - 1]) {
    buckets.push(bucketAt(last.endMs, query.granularity, query.tz));
  }
  return buckets;
}

/**
 * The period compare=previous answers: as many buckets of the same granularity and zone, ending where
 * the query's first bucket starts (7 days before 7 days; 25 New York hours before 25 hours).
 */
export function previousPeriod(query: StatsQuery): StatsQuery {
  const buckets = bucketsOf(query);
  let startMs = buckets[0].startMs;
  for (let count = 0; count < buckets.length; count++) startMs = bucketAt(startMs - 1, query.granularity, query.tz).startMs;
  return { ...query, from: new Date(startMs), to: new Date(buckets[0].startMs), compare: null };
}

export const isoSeconds = (instantMs: number): string => new Date(instantMs).toISOString().replace(/\.\d{3}Z$/, 'Z');

function retentionError(query: StatsQuery, reportingTz: string, cutoffMs: number): Rejection {
  const instead = query.granularity === 'hour' ? `granularity=day&tz=${reportingTz}` : `tz=${reportingTz}`;
  const what = query.granularity === 'hour' ? 'Hourly statistics' : `Statistics in ${query.tz}`;
  return {
    ok: false,
    error:
      `${what} cover the last ${QUARTER_HOUR_RETENTION_DAYS} days only (buckets starting from ${isoSeconds(cutoffMs)}); ` +
      `statistics are kept per day in ${reportingTz} beyond ${QUARTER_HOUR_RETENTION_DAYS} days; ask with ${instead}.`,
  };
}

/**
 * Which level serves the query (docs/statistics.md), or a 400 sentence:
 * - day or month in the reporting zone: the daily (within its retention) or monthly table; the
 *   monthly plan starts one month early, for the first month's trend;
 * - anything else: the quarter-hour table, within its retention, and only where every bucket
 *   boundary is a quarter (not so under historic local mean time offsets such as -00:44:30).
 * With compare=previous the previous period must pass the same rules, and the plan spans both.
 * Throws RangeError when reportingTz is not a time zone (a configuration error).
 */
export function planStats(query: StatsQuery, reportingTz: string, now: Date): { ok: true; plan: StatsPlan } | Rejection {
  const reporting = canonicalTimeZone(reportingTz);
  if (reporting === null) throw new RangeError(`Not an IANA time zone: ${reportingTz}`);
  const planned = planPeriod(query, reporting, now);
  if (!planned.ok || query.compare === null) return planned;
  const previous = previousPeriod(query);
  const before = planPeriod(previous, reporting, now);
  if (!before.ok) {
    return { ok: false, error: `compare=previous reads the period before from too (from ${isoSeconds(previous.from.getTime())}): ${before.error}` };
  }
  return { ok: true, plan: spanning(before.plan, planned.plan) };
}

function planPeriod(query: StatsQuery, reporting: string, now: Date): { ok: true; plan: StatsPlan } | Rejection {
  const buckets = bucketsOf(query);
  const first = buckets[0];
  const last = buckets[buckets.length - 1];
  const dailyCutoffMs = now.getTime() - DAILY_RETENTION_DAYS * DAY_MS;
  const quarterCutoffMs = now.getTime() - QUARTER_HOUR_RETENTION_DAYS * DAY_MS;

  const inReportingZone = canonicalTimeZone(query.tz) === reporting;
  if (inReportingZone && query.granularity === 'day') {
    if (first.startMs < dailyCutoffMs) {
      const firstKept = localDayOf(dailyCutoffMs, reporting);
      return {
        ok: false,
        error: `Daily statistics are kept for ${DAILY_RETENTION_DAYS} days (days from ${firstKept} on); ask with granularity=month for older ranges.`,
      };
    }
    const plan: StatsPlan = { source: 'daily', firstDay: localDayOf(first.startMs, reporting), lastDay: localDayOf(last.startMs, reporting) };
    return { ok: true, plan };
  }
  if (inReportingZone && query.granularity === 'month') {
    const plan: StatsPlan = { source: 'monthly', firstMonth: monthAt(first.startMs - 1, reporting), lastMonth: monthAt(last.startMs, reporting) };
    return { ok: true, plan };
  }
  if (first.startMs < quarterCutoffMs) return retentionError(query, reporting, quarterCutoffMs);
  const boundaries = [first.startMs, ...buckets.map((bucket) => bucket.endMs)];
  if (!boundaries.every((boundary) => positiveModulo(boundary, QUARTER_MS) === 0)) {
    return {
      ok: false,
      error:
        `In this range ${query.tz} is not a whole number of quarter hours away from UTC (a historic local time), ` +
        `so its ${query.granularity}s cannot be counted exactly; ask with tz=UTC.`,
    };
  }
  return { ok: true, plan: { source: 'quarter-hour', firstQuarter: quarterOf(first.startMs), lastQuarter: quarterOf(last.endMs - QUARTER_MS) } };
}

/** One plan over two adjacent periods' plans (the same level: same granularity and zone). */
function spanning(earlier: StatsPlan, later: StatsPlan): StatsPlan {
  if (earlier.source === 'quarter-hour' && later.source === 'quarter-hour') return { ...later, firstQuarter: earlier.firstQuarter };
  if (earlier.source === 'daily' && later.source === 'daily') return { ...later, firstDay: earlier.firstDay };
  if (earlier.source === 'monthly' && later.source === 'monthly') return { ...later, firstMonth: earlier.firstMonth };
  throw new Error(`Plans of two levels cannot be spanned: ${earlier.source} and ${later.source}`);
}

/** Where the plan's reads start (in the reporting zone): a month bucket starting there or later was read whole. */
function planStartMs(plan: StatsPlan, reportingTz: string): number {
  switch (plan.source) {
    case 'quarter-hour':
      return quarterStart(plan.firstQuarter).getTime();
    case 'daily':
      return dayBounds(plan.firstDay, reportingTz).startMs;
    case 'monthly':
      return monthBounds(plan.firstMonth, reportingTz).startMs;
  }
}

/** The items the table reads returned, by level. */
export interface StatsItems {
  readonly quarterHour: readonly QuarterHourState[];
  readonly daily: readonly PeriodItem[];
  readonly monthly: readonly PeriodItem[];
}

/** An item that counts, at the start of its quarter, day or month. */
interface CountedItem {
  readonly startMs: number;
  readonly state: AggregateState;
}

/** The items whose days are answered from their level (StatsSources): the others are ignored, so no click counts twice. */
function countedItems(sources: StatsSources, items: StatsItems): CountedItem[] {
  return [
    ...items.quarterHour
      .filter((item) => itemCounts(sources, 'quarter-hour', item.quarter))
      .map((item) => ({ startMs: quarterStart(item.quarter).getTime(), state: item.state })),
    ...items.daily.filter((item) => itemCounts(sources, 'daily', item.period)).map((item) => ({ startMs: dayBounds(item.period, item.tz).startMs, state: item.state })),
    ...items.monthly
      .filter((item) => itemCounts(sources, 'monthly', item.period))
      .map((item) => ({ startMs: monthBounds(item.period, item.tz).startMs, state: item.state })),
  ];
}

/** Index of the bucket holding instantMs, or -1 (buckets contiguous and ascending). */
function bucketIndex(buckets: readonly Bucket[], instantMs: number): number {
  if (instantMs >= buckets[buckets.length - 1].endMs) return -1;
  let low = 0;
  let high = buckets.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (buckets[middle].startMs <= instantMs) low = middle + 1;
    else high = middle;
  }
  return low - 1;
}

function percentChange(previous: number, current: number): number | null {
  if (previous === 0) return null;
  // + 0 turns the -0 of a fall that rounds to nothing into 0.
  return Math.round(((current - previous) / previous) * 1000) / 10 + 0;
}

/** Keys by clicks descending, then key; the first `top` of them, and what the cut left out. */
function breakdownOf(
  counts: Readonly<Record<string, number>>,
  foldedKeys: number,
  top: number | null,
): { entries: BreakdownEntry[]; rest: BreakdownRest } {
  const ranked = Object.entries(counts)
    .filter(([key]) => key !== LONG_TAIL_KEY)
    .map(([key, clicks]) => ({ key, clicks }))
    .sort((a, b) => b.clicks - a.clicks || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const kept = top ?? ranked.length;
  const cut = ranked.slice(kept);
  const longTail = { keys: foldedKeys, clicks: counts[LONG_TAIL_KEY] ?? 0 };
  return {
    entries: ranked.slice(0, kept),
    rest: { keys: cut.length + longTail.keys, clicks: cut.reduce((sum, entry) => sum + entry.clicks, longTail.clicks), longTail },
  };
}

function byBreakdownField<T>(value: (field: BreakdownField) => T): Record<BreakdownField, T> {
  return {
    referrers: value('referrers'),
    countries: value('countries'),
    devices: value('devices'),
    browsers: value('browsers'),
    os: value('os'),
  };
}

interface Period {
  readonly figures: PeriodFigures;
  /** Every counted state of the period merged (human breakdowns included). */
  readonly total: AggregateState;
}

/**
 * One period's figures. Each item counts in the bucket holding its start (quarter, local day or local
 * month); items outside every bucket are ignored, except that a month series' month before its first
 * bucket feeds the first month's trend when the plan read it whole (not so for a series from the
 * quarter-hour level, unless compare=previous read the previous period).
 */
function periodOf(query: StatsQuery, sources: StatsSources, items: readonly CountedItem[]): Period {
  const buckets = bucketsOf(query);
  const before = bucketAt(buckets[0].startMs - 1, 'month', query.tz);
  const lead = query.granularity === 'month' && before.startMs >= planStartMs(sources.plan, sources.reportingTz) ? [before] : [];
  const counted = [...lead, ...buckets];
  const states = counted.map(() => emptyState());
  for (const item of items) {
    const index = bucketIndex(counted, item.startMs);
    if (index >= 0) mergeInto(states[index], item.state);
  }
  const uniques = states.map((state) => state.visitors.estimate());
  const clicksOf = (state: AggregateState): number => state.clicks + (query.includeBots ? state.botClicks : 0);

  const series = buckets.map((bucket, position): SeriesEntry => {
    const index = position + lead.length;
    const state = states[index];
    const entry: SeriesEntry = {
      t: query.granularity === 'hour' && canonicalTimeZone(query.tz) === 'UTC' ? isoSeconds(bucket.startMs) : formatWithOffset(bucket.startMs, query.tz),
      clicks: clicksOf(state),
      uniques: uniques[index],
      botClicks: state.botClicks,
    };
    if (query.granularity === 'month') {
      const previous: AggregateState | undefined = states[index - 1];
      entry.trend = {
        clicks: previous === undefined ? null : percentChange(clicksOf(previous), clicksOf(state)),
        uniques: previous === undefined ? null : percentChange(uniques[index - 1], uniques[index]),
      };
    }
    return entry;
  });

  const total = emptyState();
  for (const state of states.slice(lead.length)) mergeInto(total, state);
  const startMs = buckets[0].startMs;
  const endMs = buckets[buckets.length - 1].endMs;
  return {
    figures: {
      from: new Date(startMs).toISOString(),
      to: new Date(endMs).toISOString(),
      source: sourceOf(sources, startMs, endMs),
      series,
      totals: { clicks: clicksOf(total), uniques: total.visitors.estimate(), botClicks: total.botClicks },
    },
    total,
  };
}

/** The response from the items the sources' reads returned (docs/statistics.md, Stats API). */
export function buildStats(subject: StatsSubject, query: StatsQuery, sources: StatsSources, items: StatsItems): StatsResponse {
  const counted = countedItems(sources, items);
  const { figures, total } = periodOf(query, sources, counted);
  const breakdowns = byBreakdownField((field) =>
    breakdownOf(total.breakdowns[BREAKDOWN_FIELDS[field]], total.foldedKeys[BREAKDOWN_FIELDS[field]], query.top),
  );
  const response: StatsResponse = {
    ...subject,
    from: figures.from,
    to: figures.to,
    granularity: query.granularity,
    tz: query.tz,
    includeBots: query.includeBots,
    source: figures.source,
    series: figures.series,
    totals: figures.totals,
    breakdowns: byBreakdownField((field) => breakdowns[field].entries),
    breakdownOthers: byBreakdownField((field) => breakdowns[field].rest),
  };
  if (query.compare === null) return response;
  const previous = periodOf(previousPeriod(query), sources, counted).figures;
  const change = (field: keyof Totals): number | null => percentChange(previous.totals[field], figures.totals[field]);
  return { ...response, previous, change: { clicks: change('clicks'), uniques: change('uniques'), botClicks: change('botClicks') } };
}
