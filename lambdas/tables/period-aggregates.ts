/**
 * The daily and monthly aggregates tables: one item per (target, period of the reporting zone), keyed
 * by `target` and `day` (YYYY-MM-DD) or `month` (YYYY-MM), { tz, events, updatedAt, ...state }, daily
 * items with `expiresAt`, monthly items with `latestDay` and, while that day is today,
 * `withoutLatestDay` (a second state; the two then share the item's size bound). Items are recomputed,
 * never incremented, and a write only lands over an item with no more events: aggregates only grow, so
 * a slower concurrent run never overwrites a newer result (docs/statistics.md, Exactly once).
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import {
  asCount,
  asNonEmptyString,
  asPlainObject,
  MAX_STATE_BYTES,
  readAttribute,
  stateFromAttributes,
  stateToAttributes,
  type AggregateState,
} from '../domain/aggregate-state';
import { dayBounds, monthBounds, monthOfDay } from '../domain/buckets';
import type { PeriodItem } from '../domain/rollup';
import { canonicalTimeZone } from '../domain/zoned-time';
import { conditionHeld, dynamoDocumentClient } from '../shared/clients/dynamodb';
import { queryTargetRange, type ReadOptions } from './target-range';

type Item = Readonly<Record<string, unknown>>;

function periodAttributes(item: PeriodItem, stateBytes = MAX_STATE_BYTES): Record<string, unknown> {
  return { target: item.target, tz: item.tz, events: item.events, updatedAt: item.updatedAt, ...stateToAttributes(item.state, stateBytes) };
}

/** Kept, out of each state's half, for `withoutLatestDay`'s own name and map. */
const NESTED_STATE_OVERHEAD_BYTES = 32;

/** Daily table item { target, day, tz, events, updatedAt, expiresAt, ...state }. */
export function toDailyAttributes(item: PeriodItem): Record<string, unknown> {
  if (item.expiresAt === undefined) throw new TypeError(`Daily item ${item.target} ${item.period} has no expiresAt`);
  return { ...periodAttributes(item), day: item.period, expiresAt: item.expiresAt };
}

/**
 * Monthly table item { target, month, tz, events, updatedAt, latestDay?, withoutLatestDay?, ...state }:
 * kept forever, so no expiresAt.
 */
export function toMonthlyAttributes(item: PeriodItem): Record<string, unknown> {
  const month = { month: item.period, ...(item.latestDay === undefined ? {} : { latestDay: item.latestDay }) };
  if (item.withoutLatestDay === undefined) return { ...periodAttributes(item), ...month };
  const half = Math.floor(MAX_STATE_BYTES / 2) - NESTED_STATE_OVERHEAD_BYTES;
  return { ...periodAttributes(item, half), ...month, withoutLatestDay: stateToAttributes(item.withoutLatestDay, half) };
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
  const monthly = parsePeriodItem(item, 'month', monthBounds);
  if (item.latestDay === undefined) {
    if (item.withoutLatestDay !== undefined) throw new TypeError('withoutLatestDay: needs latestDay');
    return monthly;
  }
  const latestDay = readAttribute(item, 'latestDay', (value) => {
    const day = asNonEmptyString(value);
    dayBounds(day, monthly.tz);
    if (monthOfDay(day) !== monthly.period) throw new TypeError(`must be a day of ${monthly.period}`);
    return day;
  });
  if (item.withoutLatestDay === undefined) return { ...monthly, latestDay };
  const withoutLatestDay = readAttribute(item, 'withoutLatestDay', (value): AggregateState => {
    const state = stateFromAttributes(asPlainObject(value));
    if (state.clicks + state.botClicks > monthly.events) throw new TypeError('must not hold more events than the month');
    return state;
  });
  return { ...monthly, latestDay, withoutLatestDay };
}

/** Writes the item unless the table holds one of its period with more events; false when it does (a newer result, which stands). */
function putUnlessNewer(tableName: string, attributes: Record<string, unknown>, events: number): Promise<boolean> {
  return conditionHeld(
    dynamoDocumentClient().send(
      new PutCommand({
        TableName: tableName,
        Item: attributes,
        ConditionExpression: 'attribute_not_exists(#events) OR #events <= :events',
        ExpressionAttributeNames: { '#events': 'events' },
        ExpressionAttributeValues: { ':events': events },
      }),
    ),
  );
}

/** Writes the daily item unless the table holds one of its day with more events; false when it does. */
export function putDailyItemUnlessNewer(tableName: string, item: PeriodItem): Promise<boolean> {
  return putUnlessNewer(tableName, toDailyAttributes(item), item.events);
}

/** Writes the monthly item unless the table holds one of its month with more events; false when it does. */
export function putMonthlyItemUnlessNewer(tableName: string, item: PeriodItem): Promise<boolean> {
  return putUnlessNewer(tableName, toMonthlyAttributes(item), item.events);
}

/** The target's daily items of days first..last (YYYY-MM-DD), inclusive. */
export function queryDailyItems(tableName: string, target: string, firstDay: string, lastDay: string, options: ReadOptions = {}): Promise<PeriodItem[]> {
  return queryTargetRange(dynamoDocumentClient(), { tableName, target, sortKey: 'day', first: firstDay, last: lastDay, ...options }, parseDailyItem);
}

/** The target's daily items of the days of a month (YYYY-MM). */
export function queryDailyItemsOfMonth(tableName: string, target: string, month: string, options: ReadOptions = {}): Promise<PeriodItem[]> {
  return queryDailyItems(tableName, target, `${month}-01`, `${month}-31`, options);
}

/** The target's monthly items of months first..last (YYYY-MM), inclusive. */
export function queryMonthlyItems(tableName: string, target: string, firstMonth: string, lastMonth: string, options: ReadOptions = {}): Promise<PeriodItem[]> {
  return queryTargetRange(dynamoDocumentClient(), { tableName, target, sortKey: 'month', first: firstMonth, last: lastMonth, ...options }, parseMonthlyItem);
}
