/**
 * Which aggregate level answers each reporting day of a stats query, and the table ranges that
 * follow (docs/statistics.md, Stats API). The rollup trails the aggregator by up to 5 minutes, so a
 * day it has not finished (its pending marker is still there) is answered from its quarter-hour
 * items: days and months agree with hours as soon as the aggregator has written them. A month
 * holding such a day cannot use its monthly item as is (a sketch cannot be subtracted): when today is
 * its only such day, the item's `withoutLatestDay` state answers the rest of the month (rollup.ts);
 * otherwise its daily items do. Every day has exactly one level, so no click counts twice.
 */
import {
  calendarDays,
  calendarMonths,
  dayBounds,
  lastDayOfMonth,
  localDayOf,
  monthOfDay,
  QUARTER_HOUR_RETENTION_DAYS,
  quarterStart,
} from './buckets';
import { quarterRangeOfDay, type PeriodItem } from './rollup';
import type { StatsPlan } from './stats';

export type StatsLevel = 'monthly' | 'daily' | 'quarter-hour';

/** Coarsest first: the order a response's `source` names them in. */
export const STATS_LEVELS: readonly StatsLevel[] = ['monthly', 'daily', 'quarter-hour'];
const DAY_MS = 86_400_000;

export interface DayRange {
  readonly firstDay: string;
  readonly lastDay: string;
}

export interface QuarterRange {
  readonly firstQuarter: string;
  readonly lastQuarter: string;
}

export interface MonthRange {
  readonly firstMonth: string;
  readonly lastMonth: string;
}

/** The level of every reporting day of a plan. */
export interface StatsSources {
  readonly plan: StatsPlan;
  /** Canonical name of the zone daily and monthly items are cut in. */
  readonly reportingTz: string;
  /** The plan's pending days within the quarter-hour retention: answered from their quarter-hour items. */
  readonly liveDays: ReadonlySet<string>;
  /** Months holding a live day answered from daily and quarter-hour items, never from their monthly item. */
  readonly openMonths: ReadonlySet<string>;
  /**
   * Months of a month series whose one live day (the value) is taken out of their monthly item
   * (settleTrimmedMonths): their other days are answered from it, so their daily items are not read.
   */
  readonly trimmedMonths: ReadonlyMap<string, string>;
}

/** What the sources need read: one Query for each range that is not null. */
export interface StatsReads {
  readonly quarterHour: QuarterRange | null;
  readonly daily: DayRange | null;
  readonly monthly: MonthRange | null;
}

/** The reporting days a daily or monthly plan covers (a monthly plan's months whole); null for a quarter-hour plan. */
function planDays(plan: StatsPlan): DayRange | null {
  switch (plan.source) {
    case 'quarter-hour':
      return null;
    case 'daily':
      return { firstDay: plan.firstDay, lastDay: plan.lastDay };
    case 'monthly':
      return { firstDay: `${plan.firstMonth}-01`, lastDay: lastDayOfMonth(plan.lastMonth) };
  }
}

/** The first reporting day all of whose quarter-hour items are still kept (they expire 90 days after their quarter). */
function firstRetainedDay(reportingTz: string, now: Date): string {
  const cutoffMs = now.getTime() - QUARTER_HOUR_RETENTION_DAYS * DAY_MS;
  const { startMs, endMs } = dayBounds(localDayOf(cutoffMs, reportingTz), reportingTz);
  return localDayOf(startMs >= cutoffMs ? startMs : endMs, reportingTz);
}

/**
 * The days whose pending markers the plan needs, or null when none: its days within the quarter-hour
 * retention. A day pending beyond it keeps its daily item, as its quarter-hour items may be gone.
 */
export function pendingDaysToRead(plan: StatsPlan, reportingTz: string, now: Date): DayRange | null {
  const days = planDays(plan);
  if (days === null) return null;
  const retained = firstRetainedDay(reportingTz, now);
  const firstDay = days.firstDay > retained ? days.firstDay : retained;
  return firstDay <= days.lastDay ? { firstDay, lastDay: days.lastDay } : null;
}

/**
 * The level of each day, from the target's pending days (any others given are ignored). A month
 * series whose months each hold at most one live day first tries their monthly items without it; when
 * some month holds two (just after midnight, or a late click), their daily items are read anyway, so
 * every month with a live day is answered from them.
 */
export function sourcesOf(plan: StatsPlan, pendingDays: readonly string[], reportingTz: string, now: Date): StatsSources {
  const window = pendingDaysToRead(plan, reportingTz, now);
  const liveDays = new Set(window === null ? [] : pendingDays.filter((day) => day >= window.firstDay && day <= window.lastDay));
  const liveMonths = new Set([...liveDays].map(monthOfDay));
  if (plan.source !== 'monthly' || liveMonths.size < liveDays.size) {
    return { plan, reportingTz, liveDays, openMonths: liveMonths, trimmedMonths: new Map() };
  }
  // One live day a month: each month's is the one taken out of its item.
  const trimmedMonths = new Map([...liveDays].map((day) => [monthOfDay(day), day]));
  return { plan, reportingTz, liveDays, openMonths: new Set(), trimmedMonths };
}

/**
 * The trimmed months' monthly items without their live day, or their months opened when an item
 * cannot leave it out: it holds that day beside a later one, or was written before its day was its
 * latest (the rollup keeps `withoutLatestDay` only while that day is today). A month with no item has
 * nothing but its live day: a finished day's rollup writes the monthly item before the day stops
 * being pending. The sources' daily reads (readsOf) then cover the opened months.
 */
export function settleTrimmedMonths(sources: StatsSources, monthlyItems: readonly PeriodItem[]): { sources: StatsSources; monthly: PeriodItem[] } {
  const opened = new Set<string>();
  const monthly = monthlyItems.map((item): PeriodItem => {
    const liveDay = sources.trimmedMonths.get(item.period);
    if (liveDay === undefined || (item.latestDay !== undefined && item.latestDay < liveDay)) return item;
    if (item.latestDay === liveDay && item.withoutLatestDay !== undefined) {
      const state = item.withoutLatestDay;
      return { ...item, state, events: state.clicks + state.botClicks };
    }
    opened.add(item.period);
    return item;
  });
  if (opened.size === 0) return { sources, monthly };
  const trimmedMonths = new Map([...sources.trimmedMonths].filter(([month]) => !opened.has(month)));
  return { sources: { ...sources, openMonths: new Set([...sources.openMonths, ...opened]), trimmedMonths }, monthly };
}

/** The level a reporting day of the plan is answered from. */
export function levelOfDay(sources: StatsSources, day: string): StatsLevel {
  const { plan } = sources;
  if (plan.source === 'quarter-hour' || sources.liveDays.has(day)) return 'quarter-hour';
  return plan.source === 'daily' || sources.openMonths.has(monthOfDay(day)) ? 'daily' : 'monthly';
}

/** Whether an item of the level counts: the days it holds are answered from it. `period` is its quarter, day or month. */
export function itemCounts(sources: StatsSources, level: StatsLevel, period: string): boolean {
  switch (level) {
    case 'quarter-hour':
      return sources.plan.source === 'quarter-hour' || sources.liveDays.has(localDayOf(quarterStart(period).getTime(), sources.reportingTz));
    case 'daily':
      return levelOfDay(sources, period) === 'daily';
    case 'monthly':
      return sources.plan.source === 'monthly' && !sources.openMonths.has(period);
  }
}

/** First and last of a sorted list, or null when empty. */
function ends<T>(sorted: readonly T[]): [T, T] | null {
  return sorted.length === 0 ? null : [sorted[0], sorted[sorted.length - 1]];
}

/**
 * The table ranges to read. Each level is one range, from its first day to its last: days of
 * another level in between are read and ignored (one Query instead of one per run of days).
 */
export function readsOf(sources: StatsSources): StatsReads {
  const { plan, reportingTz } = sources;
  if (plan.source === 'quarter-hour') return { quarterHour: { firstQuarter: plan.firstQuarter, lastQuarter: plan.lastQuarter }, daily: null, monthly: null };
  const days = planDays(plan);
  const daysOf = (level: StatsLevel): string[] => (days === null ? [] : calendarDays(days.firstDay, days.lastDay).filter((day) => levelOfDay(sources, day) === level));
  const live = ends(daysOf('quarter-hour'));
  const daily = ends(daysOf('daily'));
  const closedMonths = ends(plan.source === 'monthly' ? calendarMonths(plan.firstMonth, plan.lastMonth).filter((month) => !sources.openMonths.has(month)) : []);
  return {
    quarterHour:
      live === null ? null : { firstQuarter: quarterRangeOfDay(live[0], reportingTz).firstQuarter, lastQuarter: quarterRangeOfDay(live[1], reportingTz).lastQuarter },
    daily: daily === null ? null : { firstDay: daily[0], lastDay: daily[1] },
    monthly: closedMonths === null ? null : { firstMonth: closedMonths[0], lastMonth: closedMonths[1] },
  };
}

/** The levels answering the reporting days of [startMs, endMs), coarsest first, joined by '+': `daily`, `monthly+daily+quarter-hour`… */
export function sourceOf(sources: StatsSources, startMs: number, endMs: number): string {
  if (sources.plan.source === 'quarter-hour') return 'quarter-hour';
  const days = calendarDays(localDayOf(startMs, sources.reportingTz), localDayOf(endMs - 1, sources.reportingTz));
  const levels = new Set(days.map((day) => levelOfDay(sources, day)));
  return STATS_LEVELS.filter((level) => levels.has(level)).join('+');
}
