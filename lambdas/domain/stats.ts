/** The statistics API's domain: query parsing, bucket ranges, and the response built from hourly records. */
import { BREAKDOWN_DIMENSIONS, type BreakdownDimension, type HourlyRecord } from './hourly';
import { hourBucket, hourStart } from './time-buckets';
import { canonicalTimeZone, formatWithOffset, instantOfWallTime, wallTimeAt } from './zoned-time';

export type Granularity = 'hour' | 'day' | 'month';

export interface StatsQuery {
  from: Date;
  to: Date;
  granularity: Granularity;
  tz: string;
}

export type Breakdown = { key: string; clicks: number }[];

export interface StatsResponse {
  link: string;
  from: string;
  to: string;
  granularity: Granularity;
  tz: string;
  series: { t: string; clicks: number; uniques: number | null; botClicks: number }[];
  totals: { clicks: number; uniques: number | null; botClicks: number };
  breakdowns: { referrers: Breakdown; countries: Breakdown; devices: Breakdown; browsers: Breakdown; os: Breakdown };
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const GRANULARITIES: readonly Granularity[] = ['hour', 'day', 'month'];
const DEFAULT_RANGE_DAYS = 7;
/** Longest range per granularity, in days (5 years with their leap days for months): bounds the series length. */
const MAX_RANGE_DAYS: Readonly<Record<Granularity, number>> = { hour: 31, day: 400, month: 1827 };
/**
 * Bounds of from and to. Past year 9999 an hour bucket is no longer `YYYY-MM-DDTHH` (toISOString writes
 * `+010000-…`), which would make the hourly table query's range invalid: a 5xx for a client's typo.
 */
const EARLIEST_TIME_MS = Date.UTC(1970, 0, 1);
const LATEST_TIME_MS = Date.UTC(9999, 0, 1);

/** `2026-11-01`, `2026-11-01T09:30`, `2026-11-01T09:30:00.000Z`, `2026-11-01T09:30:00+01:00`. */
const ISO_TIME_PATTERN =
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

const isGranularity = (value: string): value is Granularity => (GRANULARITIES as readonly string[]).includes(value);

/** Validates the stats query string; errors are sentences for a 400. Empty parameters count as absent. */
export function parseStatsQuery(
  params: Readonly<Record<string, string | undefined>>,
  now: Date,
): { ok: true; query: StatsQuery } | { ok: false; error: string } {
  const param = (name: string): string | undefined => params[name]?.trim() || undefined;

  const tzParam = param('tz') ?? 'UTC';
  const tz = canonicalTimeZone(tzParam);
  if (tz === null) return { ok: false, error: `tz must be an IANA time zone such as Europe/Paris, got "${tzParam}".` };

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
      error: `The range from from to to must be at most ${MAX_RANGE_DAYS[granularity]} days for ${granularity} granularity; use a coarser granularity or a shorter range.`,
    };
  }
  return { ok: true, query: { from, to, granularity, tz } };
}

function bucketStartMs(instantMs: number, granularity: Granularity, tz: string): number {
  if (granularity === 'hour') return Math.floor(instantMs / HOUR_MS) * HOUR_MS;
  const wall = wallTimeAt(instantMs, tz);
  const day = granularity === 'day' ? wall.day : 1;
  return instantOfWallTime({ year: wall.year, month: wall.month, day, hour: 0, minute: 0, second: 0 }, tz);
}

function nextBucketStartMs(startMs: number, granularity: Granularity, tz: string): number {
  if (granularity === 'hour') return startMs + HOUR_MS;
  const wall = wallTimeAt(startMs, tz);
  // Date.UTC carries day 32 or month 13 into the next month or year.
  const next = new Date(
    granularity === 'day' ? Date.UTC(wall.year, wall.month - 1, wall.day + 1) : Date.UTC(wall.year, wall.month, 1),
  );
  return instantOfWallTime(
    { year: next.getUTCFullYear(), month: next.getUTCMonth() + 1, day: next.getUTCDate(), hour: 0, minute: 0, second: 0 },
    tz,
  );
}

/** Start instants of every bucket touching [from, to), and the end of the last one. */
function bucketsOf(query: StatsQuery): { starts: number[]; endMs: number } {
  const starts: number[] = [];
  let start = bucketStartMs(query.from.getTime(), query.granularity, query.tz);
  while (start < query.to.getTime()) {
    starts.push(start);
    start = nextBucketStartMs(start, query.granularity, query.tz);
  }
  return { starts, endMs: start };
}

const ceilHourMs = (instantMs: number): number => Math.ceil(instantMs / HOUR_MS) * HOUR_MS;

/** First and last hour bucket (inclusive) whose hours fall in the query's buckets: what to read from the hourly table. */
export function hourRange(query: StatsQuery): { first: string; last: string } {
  const { starts, endMs } = bucketsOf(query);
  return { first: hourBucket(new Date(ceilHourMs(starts[0]))), last: hourBucket(new Date(ceilHourMs(endMs) - HOUR_MS)) };
}

/** Index of the last start at or before instantMs (starts ascending), or -1. */
function bucketIndex(starts: readonly number[], instantMs: number): number {
  let low = 0;
  let high = starts.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (starts[middle] <= instantMs) low = middle + 1;
    else high = middle;
  }
  return low - 1;
}

const isBreakdownDimension = (value: string): value is BreakdownDimension =>
  (BREAKDOWN_DIMENSIONS as readonly string[]).includes(value);

function sortedBreakdown(totals: ReadonlyMap<string, number>): Breakdown {
  return [...totals]
    .map(([key, clicks]) => ({ key, clicks }))
    .sort((a, b) => b.clicks - a.clicks || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Every bucket of the range (zeros included), totals and breakdowns over the hourly records in range. */
export function buildStats(code: string, records: readonly HourlyRecord[], query: StatsQuery): StatsResponse {
  const { starts, endMs } = bucketsOf(query);
  const series = starts.map((start) => ({
    t:
      query.granularity === 'hour'
        ? new Date(start).toISOString().replace('.000Z', 'Z')
        : formatWithOffset(start, query.tz),
    clicks: 0,
    uniques: null,
    botClicks: 0,
  }));
  const counters: Record<BreakdownDimension, Map<string, number>> = {
    referrer: new Map(),
    country: new Map(),
    device: new Map(),
    browser: new Map(),
    os: new Map(),
  };
  for (const record of records) {
    const hourMs = hourStart(record.hour).getTime();
    if (hourMs >= endMs) continue;
    const bucket = series[bucketIndex(starts, hourMs)];
    if (bucket === undefined) continue;
    bucket.clicks += record.clicks;
    bucket.botClicks += record.botClicks;
    for (const [name, count] of Object.entries(record.counters)) {
      const separator = name.indexOf(':');
      const dimension = name.slice(0, separator);
      if (!isBreakdownDimension(dimension)) continue;
      const values = counters[dimension];
      const value = name.slice(separator + 1);
      values.set(value, (values.get(value) ?? 0) + count);
    }
  }
  return {
    link: code,
    from: query.from.toISOString(),
    to: query.to.toISOString(),
    granularity: query.granularity,
    tz: query.tz,
    series,
    totals: {
      clicks: series.reduce((sum, bucket) => sum + bucket.clicks, 0),
      uniques: null,
      botClicks: series.reduce((sum, bucket) => sum + bucket.botClicks, 0),
    },
    breakdowns: {
      referrers: sortedBreakdown(counters.referrer),
      countries: sortedBreakdown(counters.country),
      devices: sortedBreakdown(counters.device),
      browsers: sortedBreakdown(counters.browser),
      os: sortedBreakdown(counters.os),
    },
  };
}
