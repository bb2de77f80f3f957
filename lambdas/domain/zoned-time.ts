/** Wall-clock time in IANA time zones, from the built-in Intl data (no library needed). */
import { BoundedCache } from './bounded-cache';

export interface WallTime {
  year: number;
  /** 1..12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Zone names already resolved: every parsed stored item checks its zone, and Intl is slow to build. */
const canonicalNames = new Map<string, string | null>();
const MAX_CACHED_ZONE_NAMES = 1_000;

/** The canonical name of an IANA time zone, or null when Intl does not know it. */
export function canonicalTimeZone(timeZone: string): string | null {
  const cached = canonicalNames.get(timeZone);
  if (cached !== undefined) return cached;
  let canonical: string | null;
  try {
    canonical = new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch {
    canonical = null;
  }
  // Names come from requests too: the cache stays bounded whatever callers send.
  if (canonicalNames.size < MAX_CACHED_ZONE_NAMES) canonicalNames.set(timeZone, canonical);
  return canonical;
}

/** The wall time as Intl computes it: exact, and slow (a formatToParts call, several microseconds). */
function intlWallTimeAt(instantMs: number, timeZone: string): WallTime {
  const parts: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(instantMs)) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return {
    year: parts.year,
    month: parts.month,
    day: parts.day,
    hour: parts.hour,
    minute: parts.minute,
    second: parts.second,
  };
}

const wallTimeAsUtcMs = (wall: WallTime): number =>
  Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);

/** Offset in minutes at an instant, from Intl (fractional for historic local mean times such as -00:44:30). */
function intlOffsetMinutesAt(instantMs: number, timeZone: string): number {
  const wholeSecond = Math.floor(instantMs / 1000) * 1000;
  return (wallTimeAsUtcMs(intlWallTimeAt(wholeSecond, timeZone)) - wholeSecond) / 60_000;
}

/**
 * Offsets are asked for the same few windows over and over (every bucket boundary and item of a
 * query; the same hours query after query), and Intl is the slowest part of a stats query, so the
 * offset at the start of each 15-minute window is kept. When a window's start and the next one's
 * agree, no transition lies between them (zones change offset months apart), and every instant of the
 * window has that offset; a window holding a transition asks Intl for the instant itself.
 */
const OFFSET_WINDOW_MS = 15 * 60_000;
const windowOffsets = new BoundedCache<number>(50_000);
const windowOffset = (window: number, timeZone: string): number =>
  windowOffsets.get(`${timeZone}\n${window}`, () => intlOffsetMinutesAt(window * OFFSET_WINDOW_MS, timeZone));

/** Offset of the zone from UTC at an instant, in minutes (e.g. -300 for New York in winter). */
export function offsetMinutesAt(instantMs: number, timeZone: string): number {
  const window = Math.floor(instantMs / OFFSET_WINDOW_MS);
  const offset = windowOffset(window, timeZone);
  return offset === windowOffset(window + 1, timeZone) ? offset : intlOffsetMinutesAt(instantMs, timeZone);
}

/** The wall-clock time in the zone at an instant (to the second). */
export function wallTimeAt(instantMs: number, timeZone: string): WallTime {
  const wholeSecond = Math.floor(instantMs / 1000) * 1000;
  const wall = new Date(wholeSecond + offsetMinutesAt(wholeSecond, timeZone) * 60_000);
  return {
    year: wall.getUTCFullYear(),
    month: wall.getUTCMonth() + 1,
    day: wall.getUTCDate(),
    hour: wall.getUTCHours(),
    minute: wall.getUTCMinutes(),
    second: wall.getUTCSeconds(),
  };
}

const DAY_MS = 86_400_000;
const sameWallTime = (a: WallTime, b: WallTime): boolean =>
  a.year === b.year && a.month === b.month && a.day === b.day && a.hour === b.hour && a.minute === b.minute && a.second === b.second;

/**
 * The instant a wall time happens in a zone. Repeated wall times (autumn) give the earlier instant;
 * skipped ones (spring) give the instant the clock jumps to when the wall time is the start of the gap,
 * which is the case for days and months that start with a gap at midnight.
 */
export function instantOfWallTime(wall: WallTime, timeZone: string): number {
  const asUtc = wallTimeAsUtcMs(wall);
  // The offsets in force just before and just after any transition near that wall time.
  const candidates = [offsetMinutesAt(asUtc - DAY_MS, timeZone), offsetMinutesAt(asUtc + DAY_MS, timeZone)].map(
    (offset) => asUtc - offset * 60_000,
  );
  const exact = candidates.filter((instant) => sameWallTime(wallTimeAt(instant, timeZone), wall));
  return exact.length > 0 ? Math.min(...exact) : candidates[0];
}

/**
 * ISO 8601 with the zone's offset, e.g. 2026-11-26T00:00:00-05:00, or with `milliseconds`
 * 2026-11-26T00:00:00.123-05:00.
 */
export function formatWithOffset(instantMs: number, timeZone: string, options: { milliseconds?: boolean } = {}): string {
  const wall = wallTimeAt(instantMs, timeZone);
  const offset = offsetMinutesAt(instantMs, timeZone);
  const pad = (value: number, width = 2): string => String(value).padStart(width, '0');
  const sign = offset < 0 ? '-' : '+';
  const magnitude = Math.abs(offset);
  const fraction = options.milliseconds === true ? `.${pad(((instantMs % 1000) + 1000) % 1000, 3)}` : '';
  return (
    `${pad(wall.year, 4)}-${pad(wall.month)}-${pad(wall.day)}T${pad(wall.hour)}:${pad(wall.minute)}:${pad(wall.second)}${fraction}` +
    `${sign}${pad(Math.floor(magnitude / 60))}:${pad(magnitude % 60)}`
  );
}
