/**
 * Daily and monthly items, recomputed from the level below (never incremented), and the (target, day)
 * pairs the rollup must recompute. Days and months are cut in the reporting time zone; a quarter
 * belongs to the day its start falls in. Their table forms are lambdas/tables/period-aggregates.ts and
 * lambdas/tables/pending-rollups.ts.
 */
import { emptyState, mergeInto, type AggregateState } from './aggregate-state';
import {
  addDaysEpochSeconds,
  DAILY_RETENTION_DAYS,
  dayBounds,
  localDayOf,
  monthBounds,
  monthOfDay,
  QUARTER_MS,
  quarterOf,
  quarterStart,
} from './buckets';
import type { QuarterHourGroup, QuarterHourItem } from './quarter-hour';

/** A daily (period 'YYYY-MM-DD') or monthly (period 'YYYY-MM') item. */
export interface PeriodItem {
  target: string;
  period: string;
  /** The reporting zone the period was cut in. */
  tz: string;
  state: AggregateState;
  /** clicks + botClicks: a rewrite is only allowed to grow it, so a stale recomputation never wins. */
  events: number;
  updatedAt: string;
  expiresAt?: number;
  /** Monthly items: the latest day whose daily item is merged in (absent in items written before it existed). */
  latestDay?: string;
  /**
   * Monthly items while their latest day is today: the month without that day's daily item. The Stats
   * API answers a month whose only unfinished day is today from it and today's quarter-hour items,
   * instead of reading the month's daily items too (docs/statistics.md, Stats API).
   */
  withoutLatestDay?: AggregateState;
}

export interface PendingRollup {
  readonly target: string;
  readonly day: string;
}

function periodItem(target: string, period: string, tz: string, state: AggregateState, now: Date): PeriodItem {
  return { target, period, tz, state, events: state.clicks + state.botClicks, updatedAt: now.toISOString() };
}

function assertTarget(item: { target: string }, target: string): void {
  if (item.target !== target) throw new Error(`An item of ${item.target} was given to the rollup of ${target}`);
}

/** Daily item from the quarter-hour items of that local day (items outside the day are ignored). expiresAt = day start + DAILY_RETENTION_DAYS. */
export function rollupDay(target: string, day: string, tz: string, quarterItems: readonly QuarterHourItem[], now: Date): PeriodItem {
  const { startMs, endMs } = dayBounds(day, tz);
  const state = emptyState();
  for (const item of quarterItems) {
    assertTarget(item, target);
    const start = quarterStart(item.quarter).getTime();
    if (start >= startMs && start < endMs) mergeInto(state, item.state);
  }
  return { ...periodItem(target, day, tz, state, now), expiresAt: addDaysEpochSeconds(new Date(startMs), DAILY_RETENTION_DAYS) };
}

/**
 * Monthly item from the daily items of that month (others ignored); no expiresAt. While its latest
 * day is today (or later) in the zone, it also holds the month without that day: sketches merge but
 * cannot be subtracted, so that state is merged here, from the same daily items.
 */
export function rollupMonth(target: string, month: string, tz: string, dailyItems: readonly PeriodItem[], now: Date): PeriodItem {
  monthBounds(month, tz); // Throws on a malformed month or zone, as rollupDay does.
  const days = dailyItems.filter((item) => {
    assertTarget(item, target);
    return monthOfDay(item.period) === month;
  });
  const state = emptyState();
  for (const item of days) mergeInto(state, item.state);
  const monthly = periodItem(target, month, tz, state, now);
  if (days.length === 0) return monthly;
  const latestDay = days.reduce((latest, item) => (item.period > latest ? item.period : latest), days[0].period);
  if (latestDay < localDayOf(now.getTime(), tz)) return { ...monthly, latestDay };
  const withoutLatestDay = emptyState();
  for (const item of days) if (item.period !== latestDay) mergeInto(withoutLatestDay, item.state);
  return { ...monthly, latestDay, withoutLatestDay };
}

/**
 * Whether the day is over in the zone at `asOfMs`: only then does the rollup make its daily and monthly
 * items. Until then the day is pending and the Stats API answers it from its quarter-hour items, so
 * rolling it up every run would only rewrite the same items and make the aggregator mark it again:
 * a day is rolled up once, after it ends, and again only for a click that arrives late
 * (docs/statistics.md, Rollup).
 */
export function isDayOver(day: string, tz: string, asOfMs: number): boolean {
  return dayBounds(day, tz).endMs <= asOfMs;
}

/** When a pending day became due for the rollup: its end, or its latest mark when that came later (a late click). */
export function dueSinceMs(day: string, tz: string, markedAtMs: number): number {
  return Math.max(dayBounds(day, tz).endMs, markedAtMs);
}

/**
 * First and last quarter of a local day: the quarters whose start falls in the day. For every
 * current zone the day's bounds are on the quarter grid, so these quarters are exactly the day.
 */
export function quarterRangeOfDay(day: string, tz: string): { firstQuarter: string; lastQuarter: string } {
  const { startMs, endMs } = dayBounds(day, tz);
  return {
    firstQuarter: quarterOf(Math.ceil(startMs / QUARTER_MS) * QUARTER_MS),
    lastQuarter: quarterOf((Math.ceil(endMs / QUARTER_MS) - 1) * QUARTER_MS),
  };
}

/** Distinct (target, local day in tz) of the groups' quarters, in order of first appearance. */
export function daysTouched(groups: readonly QuarterHourGroup[], tz: string): PendingRollup[] {
  const touched = new Map<string, PendingRollup>();
  for (const { target, quarter } of groups) {
    const pending = { target, day: localDayOf(quarterStart(quarter).getTime(), tz) };
    touched.set(`${pending.target}\n${pending.day}`, pending);
  }
  return [...touched.values()];
}
