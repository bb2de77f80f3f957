/**
 * Time zones through the local stack, with New York as the reporting zone: daily and monthly
 * items cut at New York midnight across both DST changes (23 and 25 hour days), and days and
 * hours in other zones (Asia/Kolkata +05:30, Asia/Kathmandu +05:45) from the quarter-hour items.
 * Clicks go straight into the queue with chosen times; the expected days come from Intl here,
 * independently of the code under test. The DST changes are the latest ones before today, so the
 * test never goes stale.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { clickMessage } from '../fixtures/clicks';
import { ADMIN_OWNER } from '../../lambdas/contract';
import { CLICK_QUEUE, StackClient, tearDownLocalStack } from '../fixtures/stack-client';
import { eventually, startLocalStackProcess, type LocalStackProcess } from '../fixtures/local/local-stack-process';

const NEW_YORK = 'America/New_York';
const KOLKATA = 'Asia/Kolkata';
const KATHMANDU = 'Asia/Kathmandu';
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** The quarter-hour items serve other zones for this long (docs/statistics.md). */
const QUARTER_HOUR_RETENTION_DAYS = 90;

/** A change of a zone's UTC offset: the first instant of the new offset, and the offsets (minutes) around it. */
interface Transition {
  readonly at: number;
  readonly before: number;
  readonly after: number;
}

/** A click at `ms` and the local day (in the zone under test) it must be counted on. */
interface PlacedClick {
  readonly ms: number;
  readonly day: string;
}

const offsetFormats = new Map<string, Intl.DateTimeFormat>();

/** UTC offset in minutes of a zone at an instant, from Intl's `GMT-05:00` names. */
function offsetMinutes(ms: number, tz: string): number {
  let format = offsetFormats.get(tz);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'longOffset' });
    offsetFormats.set(tz, format);
  }
  const name = format.formatToParts(ms).find((part) => part.type === 'timeZoneName')?.value ?? '';
  const match = /^GMT(?:([+-])(\d{2}):(\d{2}))?$/.exec(name);
  if (match === null) throw new Error(`Unexpected offset name "${name}" for ${tz}`);
  if (match[1] === undefined) return 0;
  return (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3]));
}

/** 'YYYY-MM-DD' of the local day holding `ms` in a zone. */
const localDay = (ms: number, tz: string): string => new Date(ms + offsetMinutes(ms, tz) * MINUTE_MS).toISOString().slice(0, 10);

const addDays = (day: string, days: number): string =>
  new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);

/** 'YYYY-MM' after a 'YYYY-MM'. */
const nextMonth = (month: string): string => addDays(`${month}-28`, 7).slice(0, 7);

/** The instant of a local wall time on `day`, under the given offset. */
const atWall = (day: string, time: string, offset: number): number => Date.parse(`${day}T${time}:00Z`) - offset * MINUTE_MS;

/** The latest offset change of a zone within [fromMs, toMs) that moves the clock the given way. */
function latestTransition(tz: string, direction: 'forward' | 'back', fromMs: number, toMs: number): Transition {
  for (let hour = Math.floor(toMs / HOUR_MS) * HOUR_MS; hour > fromMs; hour -= HOUR_MS) {
    const before = offsetMinutes(hour - HOUR_MS, tz);
    const after = offsetMinutes(hour, tz);
    if (before === after || (after > before) !== (direction === 'forward')) continue;
    // Bisect the hour down to the millisecond the new offset starts.
    let low = hour - HOUR_MS;
    let high = hour;
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      if (offsetMinutes(middle, tz) === before) low = middle;
      else high = middle;
    }
    return { at: high, before, after };
  }
  throw new Error(`${tz} has no ${direction} change between ${new Date(fromMs).toISOString()} and ${new Date(toMs).toISOString()}`);
}

/**
 * Clicks at 00:30 and 23:30 on the days before, of and after a change, and 15 minutes either side
 * of it (in the missing hour's edges in spring, twice inside the repeated hour in autumn).
 */
function clicksAround(change: Transition): PlacedClick[] {
  const day = localDay(change.at, NEW_YORK);
  const previous = addDays(day, -1);
  const next = addDays(day, 1);
  return [
    { ms: atWall(previous, '00:30', change.before), day: previous },
    { ms: atWall(previous, '23:30', change.before), day: previous },
    { ms: atWall(day, '00:30', change.before), day },
    { ms: change.at - 15 * MINUTE_MS, day },
    { ms: change.at + 15 * MINUTE_MS, day },
    { ms: atWall(day, '23:30', change.after), day },
    { ms: atWall(next, '00:30', change.after), day: next },
  ];
}

/** How many of the clicks fall on each key (a day, or its month). */
function countBy(clicks: readonly PlacedClick[], key: (click: PlacedClick) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const click of clicks) counts[key(click)] = (counts[key(click)] ?? 0) + 1;
  return counts;
}

const now = Date.now();
/**
 * The latest changes at least 3 days back (so the day after is over). 400 days, not 365: a change can
 * come 371 days after the year before's (second Sunday of March); daily items are kept 2 years anyway.
 */
const searchFrom = now - 400 * DAY_MS;
const searchTo = now - 3 * DAY_MS;
const spring = latestTransition(NEW_YORK, 'forward', searchFrom, searchTo);
const autumn = latestTransition(NEW_YORK, 'back', searchFrom, searchTo);
const yesterday = new Date(now - DAY_MS).toISOString().slice(0, 10);
/** Kolkata's days start at 18:30Z, Kathmandu's at 18:15Z: these straddle both. */
const nearMidnightInAsia = ['18:14', '18:16', '18:29', '18:31'].map((time) => Date.parse(`${yesterday}T${time}:00Z`));

let stack: LocalStackProcess;
let client: StackClient;
let dstCode: string;
let asiaCode: string;

beforeAll(async () => {
  stack = await startLocalStackProcess({
    // A daily sweep: clicks from March are past their quarter-hour TTL, and the rollup must still read them.
    env: { REPORTING_TIME_ZONE: NEW_YORK, TTL_SWEEP_INTERVAL_SECONDS: '86400' },
  });
  client = new StackClient(stack);
  dstCode = await client.createLink('https://example.com/dst');
  asiaCode = await client.createLink('https://example.com/asia');
  const message = (code: string, ms: number): string =>
    JSON.stringify(
      clickMessage({
        eventId: randomUUID(),
        code,
        owner: ADMIN_OWNER,
        ts: new Date(ms).toISOString(),
        visitor: randomBytes(32).toString('hex'),
      }),
    );
  await client.sendToQueue(CLICK_QUEUE, [
    ...[...clicksAround(spring), ...clicksAround(autumn)].map((click) => message(dstCode, click.ms)),
    ...nearMidnightInAsia.map((ms) => message(asiaCode, ms)),
  ]);
}, 90_000);

afterAll(() => tearDownLocalStack(stack, client));

describe.each([
  { name: 'spring forward (a 23-hour day)', change: spring, hours: 23 },
  { name: 'fall back (a 25-hour day)', change: autumn, hours: 25 },
])('New York, the reporting zone: $name', ({ change, hours }) => {
  const clicks = clicksAround(change);
  const day = localDay(change.at, NEW_YORK);

  test('the fixture places its clicks where it means to', () => {
    expect(clicks.map((click) => localDay(click.ms, NEW_YORK))).toEqual(clicks.map((click) => click.day));
    expect(change.before - change.after).toBe((hours - 24) * 60);
  });

  test('the daily series puts every click on its New York day, the day of the change lasting its hours', async () => {
    const params = { from: addDays(day, -1), to: addDays(day, 2), granularity: 'day', tz: NEW_YORK };
    const expected = countBy(clicks, (click) => click.day);
    // The aggregator works through the queue meanwhile; each rollup run brings the days up to date.
    // Days it has not finished are answered from quarter-hour items: done is when the daily items answer.
    const body = await eventually(
      async () => {
        await client.rollUpEveryDay();
        const stats = await client.stats({ link: dstCode }, params);
        expect(Object.fromEntries(stats.series.map((point) => [point.t.slice(0, 10), point.clicks]))).toEqual(expected);
        expect(stats.source).toBe('daily');
        return stats;
      },
      90_000,
      1_000,
    );
    expect(body.totals).toMatchObject({ clicks: clicks.length, botClicks: 0, uniques: clicks.length });
    const starts = [...body.series.map((point) => Date.parse(point.t)), Date.parse(body.to)];
    const lengths = starts.slice(1).map((end, index) => (end - starts[index]) / HOUR_MS);
    expect(lengths).toEqual([24, hours, 24]);
    expect(starts[0]).toBe(atWall(addDays(day, -1), '00:00', change.before));
  }, 120_000);

  test('the monthly series cuts months at New York midnight too', async () => {
    const months = countBy(clicks, (click) => click.day.slice(0, 7));
    const first = Object.keys(months).sort()[0];
    const last = Object.keys(months).sort().at(-1) ?? first;
    const params = { from: `${first}-01`, to: `${nextMonth(last)}-01`, granularity: 'month', tz: NEW_YORK };
    const body = await client.stats({ link: dstCode }, params);
    expect(body.source).toBe('monthly');
    expect(Object.fromEntries(body.series.map((point) => [point.t.slice(0, 7), point.clicks]))).toEqual(months);
  });
});

test('days older than the quarter-hour retention in another zone are a 400 that names the reporting zone', async () => {
  const older = [spring, autumn].sort((a, b) => a.at - b.at)[0];
  const day = localDay(older.at, NEW_YORK);
  // Of two changes about 4 and 8 months apart, the older is always beyond the 90 days.
  expect(Date.parse(`${day}T00:00:00Z`)).toBeLessThan(now - (QUARTER_HOUR_RETENTION_DAYS + 2) * DAY_MS);
  const params = { from: addDays(day, -1), to: addDays(day, 2), granularity: 'day', tz: 'UTC' };
  const response = await client.statsResponse({ link: dstCode }, params);
  expect(response.status).toBe(400);
  expect(await response.text()).toContain(NEW_YORK);
});

describe('zones with half- and quarter-hour offsets, from the quarter-hour items', () => {
  test.each([
    { tz: KOLKATA, perDay: [3, 1] },
    { tz: KATHMANDU, perDay: [1, 3] },
  ])('$tz: clicks a minute either side of local midnight fall on their own days', async ({ tz, perDay }) => {
    const firstDay = localDay(nearMidnightInAsia[0], tz);
    expect(firstDay).toBe(yesterday);
    const expected = { [firstDay]: perDay[0], [addDays(firstDay, 1)]: perDay[1] };
    const body = await eventually(
      async () => {
        const stats = await client.stats({ link: asiaCode }, { from: firstDay, to: addDays(firstDay, 2), granularity: 'day', tz });
        expect(Object.fromEntries(stats.series.map((point) => [point.t.slice(0, 10), point.clicks]))).toEqual(expected);
        return stats;
      },
      60_000,
      500,
    );
    expect(body.source).toBe('quarter-hour');
    expect(body.totals).toMatchObject({ clicks: 4, uniques: 4 });
  }, 90_000);

  test.each([
    { tz: KOLKATA, minute: '30', perHour: [0, 3, 1] },
    { tz: KATHMANDU, minute: '15', perHour: [0, 1, 3] },
  ])('$tz: hour buckets start $minute minutes past the UTC hour', async ({ tz, minute, perHour }) => {
    const params = { from: `${yesterday}T17:00:00Z`, to: `${yesterday}T19:00:00Z`, granularity: 'hour', tz };
    const body = await eventually(
      async () => {
        const stats = await client.stats({ link: asiaCode }, params);
        expect(stats.series.map((point) => point.clicks)).toEqual(perHour);
        return stats;
      },
      60_000,
      500,
    );
    expect(body.source).toBe('quarter-hour');
    expect(body.series.map((point) => new Date(point.t).toISOString())).toEqual(
      ['16', '17', '18'].map((hour) => `${yesterday}T${hour}:${minute}:00.000Z`),
    );
  }, 90_000);
});
