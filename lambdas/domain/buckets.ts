/**
 * Time buckets of every aggregate level and retention arithmetic. The finest bucket is the UTC
 * quarter hour: every zone in use is offset from UTC by a multiple of 15 minutes, so local hours,
 * days and months in any zone (Asia/Kathmandu, DST changes) are unions of whole quarters.
 */
import { instantOfWallTime, wallTimeAt } from './zoned-time';

export const RAW_RETENTION_DAYS = 90;
export const QUARTER_HOUR_RETENTION_DAYS = 90;
export const DAILY_RETENTION_DAYS = 731;
export const QUARTER_MS = 900_000;

const DAY_SECONDS = 86_400;
const QUARTER_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:(?:00|15|30|45)$/;
const DAY_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;
const MONTH_PATTERN = /^(\d{4})-(\d{2})$/;

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/** 'YYYY-MM-DDTHH:MM' (UTC, MM in 00/15/30/45) of the quarter holding `at`. Throws RangeError on an invalid time. */
export function quarterOf(at: string | Date | number): string {
  const ms = new Date(at).getTime();
  if (Number.isNaN(ms)) throw new RangeError(`Not a valid time: ${String(at)}`);
  const quarter = new Date(Math.floor(ms / QUARTER_MS) * QUARTER_MS).toISOString().slice(0, 16);
  // Outside years 0000..9999 toISOString writes `+010000-…`, which is no sortable quarter.
  if (!QUARTER_PATTERN.test(quarter)) throw new RangeError(`Time outside years 0000 to 9999: ${String(at)}`);
  return quarter;
}

/** Start instant of a quarter string; throws RangeError when not a quarter. */
export function quarterStart(quarter: string): Date {
  const start = QUARTER_PATTERN.test(quarter) ? new Date(`${quarter}:00.000Z`) : null;
  // The round trip rejects impossible times such as 2026-02-30T00:00 that Date would roll over.
  if (start === null || Number.isNaN(start.getTime()) || start.toISOString().slice(0, 16) !== quarter) {
    throw new RangeError(`Not a quarter (YYYY-MM-DDTHH:MM, MM in 00/15/30/45): ${quarter}`);
  }
  return start;
}

/** Local calendar day 'YYYY-MM-DD' of an instant in an IANA zone. */
export function localDayOf(instantMs: number, tz: string): string {
  const wall = wallTimeAt(instantMs, tz);
  return `${pad(wall.year, 4)}-${pad(wall.month)}-${pad(wall.day)}`;
}

/** Year, month and day of a calendar date, rejecting dates Date.UTC would roll over (2026-02-30) or remap (years 0..99). */
function calendarDate(text: string, pattern: RegExp, what: string): { year: number; month: number; day: number } {
  const match = pattern.exec(text);
  if (match !== null) {
    const [year, month, day = 1] = match.slice(1).map(Number);
    const date = new Date(Date.UTC(year, month - 1, day));
    if (date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day) return { year, month, day };
  }
  throw new RangeError(`Not a ${what}: ${text}`);
}

/** The instant a local calendar date starts; day and month may overflow (Date.UTC normalises them). */
function localMidnight(year: number, month: number, day: number, tz: string): number {
  const date = new Date(Date.UTC(year, month - 1, day));
  return instantOfWallTime(
    { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate(), hour: 0, minute: 0, second: 0 },
    tz,
  );
}

/** [startMs, endMs) of a local day in a zone (23, 24 or 25 hours; DST-safe). Throws RangeError on a malformed day. */
export function dayBounds(day: string, tz: string): { startMs: number; endMs: number } {
  const date = calendarDate(day, DAY_PATTERN, 'day (YYYY-MM-DD)');
  return { startMs: localMidnight(date.year, date.month, date.day, tz), endMs: localMidnight(date.year, date.month, date.day + 1, tz) };
}

/** 'YYYY-MM' of a 'YYYY-MM-DD'. Throws RangeError on a malformed day. */
export function monthOfDay(day: string): string {
  calendarDate(day, DAY_PATTERN, 'day (YYYY-MM-DD)');
  return day.slice(0, 7);
}

/** Last day 'YYYY-MM-DD' of a month 'YYYY-MM'. Throws RangeError on a malformed month. */
export function lastDayOfMonth(month: string): string {
  const { year, month: monthNumber } = calendarDate(month, MONTH_PATTERN, 'month (YYYY-MM)');
  return `${month}-${pad(new Date(Date.UTC(year, monthNumber, 0)).getUTCDate())}`;
}

/** [startMs, endMs) of a local month. Throws RangeError on a malformed month. */
export function monthBounds(month: string, tz: string): { startMs: number; endMs: number } {
  const date = calendarDate(month, MONTH_PATTERN, 'month (YYYY-MM)');
  return { startMs: localMidnight(date.year, date.month, 1, tz), endMs: localMidnight(date.year, date.month + 1, 1, tz) };
}

/** Every calendar day from first to last ('YYYY-MM-DD'), inclusive; empty when last is before first. Throws RangeError on a malformed day. */
export function calendarDays(first: string, last: string): string[] {
  const [firstMs, lastMs] = [first, last].map((day) => {
    const date = calendarDate(day, DAY_PATTERN, 'day (YYYY-MM-DD)');
    return Date.UTC(date.year, date.month - 1, date.day);
  });
  const days: string[] = [];
  for (let ms = firstMs; ms <= lastMs; ms += DAY_SECONDS * 1000) days.push(new Date(ms).toISOString().slice(0, 10));
  return days;
}

/** Every month from first to last ('YYYY-MM'), inclusive; empty when last is before first. Throws RangeError on a malformed month. */
export function calendarMonths(first: string, last: string): string[] {
  const [firstIndex, lastIndex] = [first, last].map((month) => {
    const date = calendarDate(month, MONTH_PATTERN, 'month (YYYY-MM)');
    return date.year * 12 + date.month - 1;
  });
  const months: string[] = [];
  for (let index = firstIndex; index <= lastIndex; index++) months.push(`${pad(Math.floor(index / 12), 4)}-${pad((index % 12) + 1)}`);
  return months;
}

/** Epoch seconds `days` days after `at` (DynamoDB TTL). */
export function addDaysEpochSeconds(at: Date, days: number): number {
  if (Number.isNaN(at.getTime())) throw new RangeError('Cannot add days to an invalid date.');
  return Math.floor(at.getTime() / 1000) + days * DAY_SECONDS;
}
