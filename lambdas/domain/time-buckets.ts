/** Hour buckets (UTC) and retention arithmetic shared by the writers and the stats API. */

export const RAW_RETENTION_DAYS = 90;
export const HOURLY_RETENTION_DAYS = 90;

const HOUR_BUCKET_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}$/;
const DAY_SECONDS = 86_400;

/** 'YYYY-MM-DDTHH' of the UTC hour holding `at`. */
export function hourBucket(at: string | Date): string {
  const date = typeof at === 'string' ? new Date(at) : at;
  if (Number.isNaN(date.getTime())) throw new RangeError(`Not a valid time: ${String(at)}`);
  return date.toISOString().slice(0, 13);
}

/** The instant an hour bucket starts. */
export function hourStart(bucket: string): Date {
  const start = HOUR_BUCKET_PATTERN.test(bucket) ? new Date(`${bucket}:00:00.000Z`) : null;
  // The round trip rejects impossible dates such as 2026-02-30T00 that Date would roll over.
  if (start === null || Number.isNaN(start.getTime()) || hourBucket(start) !== bucket) {
    throw new RangeError(`Not an hour bucket (YYYY-MM-DDTHH): ${bucket}`);
  }
  return start;
}

/** Epoch seconds `days` days after `at` (for DynamoDB TTL attributes). */
export function addDaysEpochSeconds(at: Date, days: number): number {
  if (Number.isNaN(at.getTime())) throw new RangeError('Cannot add days to an invalid date.');
  return Math.floor(at.getTime() / 1000) + days * DAY_SECONDS;
}
