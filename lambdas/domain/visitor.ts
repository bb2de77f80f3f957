/** Visitor keys: a keyed hash under a salt that rotates every period, so keys cannot be linked across periods. */
import { createHmac } from 'node:crypto';
import { DEFAULT_SALT_PERIOD, SALT_PERIODS, type SaltPeriod } from '../contract';

const DAY_MS = 86_400_000;

function isSaltPeriod(value: string): value is SaltPeriod {
  return (SALT_PERIODS as readonly string[]).includes(value);
}

export function parseSaltPeriod(value: string | undefined): SaltPeriod {
  const period = value?.trim().toLowerCase() ?? '';
  if (period === '') return DEFAULT_SALT_PERIOD;
  if (!isSaltPeriod(period)) {
    throw new Error(`Visitor salt period must be one of ${SALT_PERIODS.join(', ')}, got "${value}".`);
  }
  return period;
}

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/** ISO 8601 week of a UTC date: the week-numbering year and week, and the Monday the week starts on. */
function isoWeek(at: Date): { year: number; week: number; monday: number } {
  const midnight = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
  const weekday = (at.getUTCDay() + 6) % 7; // Monday = 0
  const monday = midnight - weekday * DAY_MS;
  // The week belongs to the year its Thursday falls in.
  const thursday = new Date(monday + 3 * DAY_MS);
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY_MS)) + 1;
  return { year, week, monday };
}

/** The salt period holding `at` (UTC): its id, and when its salt may be destroyed (period end + 1 day, epoch seconds). */
export function saltPeriodOf(at: Date, period: SaltPeriod): { id: string; expiresAt: number } {
  if (Number.isNaN(at.getTime())) throw new RangeError('Salt period of an invalid date.');
  const year = at.getUTCFullYear();
  const month = at.getUTCMonth();
  let id: string;
  let end: number;
  switch (period) {
    case 'day':
      id = `day:${pad(year, 4)}-${pad(month + 1)}-${pad(at.getUTCDate())}`;
      end = Date.UTC(year, month, at.getUTCDate() + 1);
      break;
    case 'week': {
      const week = isoWeek(at);
      id = `week:${pad(week.year, 4)}-W${pad(week.week)}`;
      end = week.monday + 7 * DAY_MS;
      break;
    }
    case 'month':
      id = `month:${pad(year, 4)}-${pad(month + 1)}`;
      end = Date.UTC(year, month + 1, 1);
      break;
  }
  return { id, expiresAt: (end + DAY_MS) / 1000 };
}

/** Hex HMAC-SHA256 of the client IP and User-Agent under the period's secret salt. */
export function visitorHash(salt: Uint8Array, ip: string, userAgent: string): string {
  return createHmac('sha256', salt).update(`${ip}\n${userAgent}`).digest('hex');
}
