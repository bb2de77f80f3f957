import fc from 'fast-check';
import { offsetMinutesAt, wallTimeAt, type WallTime } from '../../lambdas/domain/zoned-time';

/**
 * What Intl says, by another road than the module's own (a Swedish date string, which is ISO-shaped):
 * the reference the cached offsets must match.
 */
function intlWallTime(instantMs: number, timeZone: string): WallTime {
  const text = new Date(instantMs).toLocaleString('sv-SE', { timeZone });
  const [year, month, day, hour, minute, second] = (/^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text) ?? []).slice(1).map(Number);
  return { year, month, day, hour, minute, second };
}

const ZONES = [
  'UTC',
  'America/New_York',
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'Australia/Lord_Howe', // 30-minute DST
  'Pacific/Chatham', // +12:45 / +13:45
  'Europe/Dublin', // negative DST in tzdb
  'America/St_Johns',
  'Pacific/Apia', // skipped 2011-12-30 entirely
  'Africa/Monrovia', // -00:44:30 until 1972
  'Antarctica/Troll', // +00 / +02
];

describe('wall times and offsets (cached per 15-minute window)', () => {
  it('agree with Intl at any instant from 1900 to 2100, in zones with odd offsets and transitions', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2100, 0, 1) }), fc.constantFrom(...ZONES), (instantMs, zone) => {
        expect(wallTimeAt(instantMs, zone)).toEqual(intlWallTime(instantMs, zone));
      }),
      { numRuns: 3_000 },
    );
  });

  it('agree with Intl minute by minute across DST changes and a skipped day', () => {
    const sweeps: [string, number][] = [
      ['America/New_York', Date.UTC(2026, 2, 8, 6)],
      ['America/New_York', Date.UTC(2026, 10, 1, 5)],
      ['Australia/Lord_Howe', Date.UTC(2026, 3, 4, 14)],
      ['Pacific/Apia', Date.UTC(2011, 11, 30, 9)],
      ['Africa/Monrovia', Date.UTC(1972, 0, 7, 0)],
    ];
    for (const [zone, startMs] of sweeps) {
      for (let minute = 0; minute < 240; minute++) {
        const instantMs = startMs + minute * 60_000 + 17_000;
        expect([zone, instantMs, wallTimeAt(instantMs, zone)]).toEqual([zone, instantMs, intlWallTime(instantMs, zone)]);
      }
    }
  });

  it('give historic offsets that are not whole minutes', () => {
    expect(offsetMinutesAt(Date.UTC(1970, 0, 1), 'Africa/Monrovia')).toBe(-44.5);
    expect(offsetMinutesAt(Date.UTC(2026, 0, 1), 'Asia/Kathmandu')).toBe(345);
  });
});
