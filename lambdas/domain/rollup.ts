/**
 * Daily and monthly items, recomputed from the level below (never incremented), and the pending
 * markers that tell the rollup which (target, day) to recompute. Days and months are cut in the
 * reporting time zone; a quarter belongs to the day its start falls in.
 */
import { createHash } from 'node:crypto';
import {
  asCount,
  asNonEmptyString,
  emptyState,
  mergeInto,
  readAttribute,
  stateFromAttributes,
  stateToAttributes,
  type AggregateState,
} from './aggregate-state';
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
import { canonicalTimeZone } from './zoned-time';

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
}

export interface PendingRollup {
  readonly target: string;
  readonly day: string;
}

type Item = Readonly<Record<string, unknown>>;

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

/** Monthly item from the daily items of that month (others ignored); no expiresAt. */
export function rollupMonth(target: string, month: string, tz: string, dailyItems: readonly PeriodItem[], now: Date): PeriodItem {
  monthBounds(month, tz); // Throws on a malformed month or zone, as rollupDay does.
  const state = emptyState();
  for (const item of dailyItems) {
    assertTarget(item, target);
    if (monthOfDay(item.period) === month) mergeInto(state, item.state);
  }
  return periodItem(target, month, tz, state, now);
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

function periodAttributes(item: PeriodItem): Record<string, unknown> {
  return { target: item.target, tz: item.tz, events: item.events, updatedAt: item.updatedAt, ...stateToAttributes(item.state) };
}

/** Daily table item { target, day, tz, events, updatedAt, expiresAt, ...state }. */
export function toDailyAttributes(item: PeriodItem): Record<string, unknown> {
  if (item.expiresAt === undefined) throw new TypeError(`Daily item ${item.target} ${item.period} has no expiresAt`);
  return { ...periodAttributes(item), day: item.period, expiresAt: item.expiresAt };
}

/** Monthly table item { target, month, tz, events, updatedAt, ...state }: kept forever, so no expiresAt. */
export function toMonthlyAttributes(item: PeriodItem): Record<string, unknown> {
  return { ...periodAttributes(item), month: item.period };
}

function asTimeZone(value: unknown): string {
  const tz = asNonEmptyString(value);
  if (canonicalTimeZone(tz) === null) throw new TypeError('must be an IANA time zone');
  return tz;
}

function asIsoTime(value: unknown): string {
  const text = asNonEmptyString(value);
  const time = new Date(text);
  if (Number.isNaN(time.getTime()) || time.toISOString() !== text) throw new TypeError('must be an ISO 8601 UTC time');
  return text;
}

/** The fields daily and monthly items share; `checkPeriod` throws on a malformed period of the item's zone. */
function parsePeriodItem(item: Item, periodName: string, checkPeriod: (period: string, tz: string) => void): PeriodItem {
  const tz = readAttribute(item, 'tz', asTimeZone);
  const period = readAttribute(item, periodName, (value) => {
    const text = asNonEmptyString(value);
    checkPeriod(text, tz);
    return text;
  });
  const state = stateFromAttributes(item);
  const events = readAttribute(item, 'events', asCount);
  if (events !== state.clicks + state.botClicks) throw new TypeError('events: must equal clicks + botClicks');
  return { target: readAttribute(item, 'target', asNonEmptyString), period, tz, state, events, updatedAt: readAttribute(item, 'updatedAt', asIsoTime) };
}

/** Inverse of toDailyAttributes; throws TypeError naming the bad attribute. */
export function parseDailyItem(item: Item): PeriodItem {
  return { ...parsePeriodItem(item, 'day', dayBounds), expiresAt: readAttribute(item, 'expiresAt', asCount) };
}

/** Inverse of toMonthlyAttributes; throws TypeError naming the bad attribute. */
export function parseMonthlyItem(item: Item): PeriodItem {
  return parsePeriodItem(item, 'month', monthBounds);
}

/** Pending markers are spread over a few partitions so marking many targets at once has no hot key. */
export const PENDING_PARTITIONS: readonly string[] = Array.from({ length: 8 }, (_, n) => `p${n}`);

export function pendingPartitionOf(target: string): string {
  return PENDING_PARTITIONS[createHash('sha256').update(target).digest()[0] % PENDING_PARTITIONS.length];
}

/** `${target}|${day}`: codes and owners never contain '|', and the day is read from after the last one anyway. */
export function pendingMarker(pending: PendingRollup): string {
  return `${pending.target}|${pending.day}`;
}

/** Inverse of pendingMarker; throws TypeError on a malformed marker. */
export function parsePendingMarker(marker: string): PendingRollup {
  const malformed = (): TypeError => new TypeError(`Not a pending marker (target|YYYY-MM-DD): ${marker}`);
  const separator = marker.lastIndexOf('|');
  if (separator < 1) throw malformed();
  const day = marker.slice(separator + 1);
  try {
    monthOfDay(day); // Throws on a malformed day.
  } catch {
    throw malformed();
  }
  return { target: marker.slice(0, separator), day };
}

/** Distinct (target, local day in tz) of the groups' quarters, in order of first appearance. */
export function daysTouched(groups: readonly QuarterHourGroup[], tz: string): PendingRollup[] {
  const touched = new Map<string, PendingRollup>();
  for (const { target, quarter } of groups) {
    const pending = { target, day: localDayOf(quarterStart(quarter).getTime(), tz) };
    touched.set(pendingMarker(pending), pending);
  }
  return [...touched.values()];
}
