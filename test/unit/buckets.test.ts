import {
  addDaysEpochSeconds,
  calendarDays,
  calendarMonths,
  dayBounds,
  lastDayOfMonth,
  localDayOf,
  monthBounds,
  monthOfDay,
  QUARTER_MS,
  quarterOf,
  quarterStart,
} from '../../lambdas/domain/buckets';

const HOUR_MS = 3_600_000;
const at = (iso: string): number => Date.parse(iso);

describe('quarterOf', () => {
  it.each([
    ['2026-11-26T05:40:07.123Z', '2026-11-26T05:30'],
    ['2026-11-26T05:00:00.000Z', '2026-11-26T05:00'],
    ['2026-11-26T05:14:59.999Z', '2026-11-26T05:00'],
    ['2026-11-26T05:15:00.000Z', '2026-11-26T05:15'],
    ['2026-11-26T05:59:59.999Z', '2026-11-26T05:45'],
    ['2026-11-26T00:50:00+01:00', '2026-11-25T23:45'],
    ['1969-12-31T23:59:59.999Z', '1969-12-31T23:45'],
  ])('%s -> %s', (time, quarter) => {
    expect(quarterOf(time)).toBe(quarter);
    expect(quarterOf(new Date(time))).toBe(quarter);
    expect(quarterOf(Date.parse(time))).toBe(quarter);
  });

  it.each(['soon', '', Number.NaN, Date.UTC(10000, 0, 1)])('throws RangeError on %p', (time) => {
    expect(() => quarterOf(time)).toThrow(RangeError);
  });
});

describe('quarterStart', () => {
  it('is the start of the quarter and round-trips', () => {
    expect(quarterStart('2026-11-26T05:45').toISOString()).toBe('2026-11-26T05:45:00.000Z');
    expect(quarterOf(quarterStart('2028-02-29T23:15'))).toBe('2028-02-29T23:15');
  });

  it.each(['2026-11-26T05:10', '2026-11-26T05', '2026-11-26T05:30Z', '2026-11-26T24:00', '2026-02-30T00:00', '2027-02-29T00:00', 'x', ''])(
    'rejects %p',
    (quarter) => {
      expect(() => quarterStart(quarter)).toThrow(RangeError);
    },
  );
});

describe('localDayOf', () => {
  it.each([
    ['2026-11-26T04:59:59.999Z', 'America/New_York', '2026-11-25'],
    ['2026-11-26T05:00:00.000Z', 'America/New_York', '2026-11-26'],
    ['2026-11-25T18:29:59.999Z', 'Asia/Kolkata', '2026-11-25'],
    ['2026-11-25T18:30:00.000Z', 'Asia/Kolkata', '2026-11-26'],
    ['2026-11-25T18:14:59.999Z', 'Asia/Kathmandu', '2026-11-25'],
    ['2026-11-25T18:15:00.000Z', 'Asia/Kathmandu', '2026-11-26'],
    ['2026-11-26T23:59:59.999Z', 'UTC', '2026-11-26'],
  ])('%s in %s is %s', (time, tz, day) => {
    expect(localDayOf(at(time), tz)).toBe(day);
  });

  it('throws RangeError on an unknown zone', () => {
    expect(() => localDayOf(0, 'Mars/Olympus_Mons')).toThrow(RangeError);
  });
});

describe('dayBounds', () => {
  it.each([
    ['2026-11-26', 'UTC', '2026-11-26T00:00:00Z', '2026-11-27T00:00:00Z', 24],
    ['2026-03-08', 'America/New_York', '2026-03-08T05:00:00Z', '2026-03-09T04:00:00Z', 23],
    ['2026-11-01', 'America/New_York', '2026-11-01T04:00:00Z', '2026-11-02T05:00:00Z', 25],
    ['2026-07-04', 'America/New_York', '2026-07-04T04:00:00Z', '2026-07-05T04:00:00Z', 24],
    ['2026-11-26', 'Asia/Kolkata', '2026-11-25T18:30:00Z', '2026-11-26T18:30:00Z', 24],
    ['2026-11-26', 'Asia/Kathmandu', '2026-11-25T18:15:00Z', '2026-11-26T18:15:00Z', 24],
    ['2026-12-31', 'Asia/Kathmandu', '2026-12-30T18:15:00Z', '2026-12-31T18:15:00Z', 24],
    // Chile moves its clocks at midnight: the day starts when the clock jumps to 01:00, or lasts 25 hours.
    ['2026-09-06', 'America/Santiago', '2026-09-06T04:00:00Z', '2026-09-07T03:00:00Z', 23],
    ['2026-04-04', 'America/Santiago', '2026-04-04T03:00:00Z', '2026-04-05T04:00:00Z', 25],
    // Lord Howe Island shifts by half an hour.
    ['2026-04-05', 'Australia/Lord_Howe', '2026-04-04T13:00:00Z', '2026-04-05T13:30:00Z', 24.5],
  ])('%s in %s is [%s, %s), %s hours', (day, tz, start, end, hours) => {
    const bounds = dayBounds(day, tz);
    expect(bounds).toEqual({ startMs: at(start), endMs: at(end) });
    expect((bounds.endMs - bounds.startMs) / HOUR_MS).toBe(hours);
    expect(localDayOf(bounds.startMs, tz)).toBe(day);
    expect(localDayOf(bounds.endMs - 1, tz)).toBe(day);
  });

  const ZONES = ['UTC', 'America/New_York', 'Asia/Kolkata', 'Asia/Kathmandu', 'Australia/Lord_Howe', 'Australia/Eucla', 'Pacific/Chatham', 'America/Santiago'];

  it.each(ZONES)('cuts every day of 2026 and 2027 in %s on the quarter grid, with no gap or overlap', (tz) => {
    let day = '2026-01-01';
    let previousEnd = dayBounds('2025-12-31', tz).endMs;
    const lengths = new Set<number>();
    while (day < '2028-01-01') {
      const { startMs, endMs } = dayBounds(day, tz);
      expect(startMs).toBe(previousEnd);
      expect(startMs % QUARTER_MS).toBe(0);
      lengths.add((endMs - startMs) / HOUR_MS);
      previousEnd = endMs;
      day = localDayOf(endMs, tz);
    }
    expect([...lengths].filter((hours) => ![23, 23.5, 24, 24.5, 25].includes(hours))).toEqual([]);
    expect(previousEnd).toBe(dayBounds('2028-01-01', tz).startMs);
  });

  it.each(['2026-02-29', '2026-13-01', '2026-11-26T00', '2026-11', '26-11-26', '2026-1-05', ''])('rejects the day %p', (day) => {
    expect(() => dayBounds(day, 'UTC')).toThrow(RangeError);
  });

  it('throws RangeError on an unknown zone', () => {
    expect(() => dayBounds('2026-11-26', 'Nowhere/Special')).toThrow(RangeError);
  });
});

describe('monthOfDay', () => {
  it('is the month of the day', () => {
    expect(monthOfDay('2026-11-26')).toBe('2026-11');
    expect(monthOfDay('2028-02-29')).toBe('2028-02');
  });

  it.each(['2026-11', '2026-02-30', 'x'])('rejects %p', (day) => {
    expect(() => monthOfDay(day)).toThrow(RangeError);
  });
});

describe('monthBounds', () => {
  it.each([
    ['2026-11', 'UTC', '2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z'],
    ['2026-03', 'America/New_York', '2026-03-01T05:00:00Z', '2026-04-01T04:00:00Z'],
    ['2026-11', 'America/New_York', '2026-11-01T04:00:00Z', '2026-12-01T05:00:00Z'],
    ['2026-12', 'America/New_York', '2026-12-01T05:00:00Z', '2027-01-01T05:00:00Z'],
    ['2026-12', 'Asia/Kathmandu', '2026-11-30T18:15:00Z', '2026-12-31T18:15:00Z'],
    ['2028-02', 'Asia/Kolkata', '2028-01-31T18:30:00Z', '2028-02-29T18:30:00Z'],
  ])('%s in %s is [%s, %s)', (month, tz, start, end) => {
    expect(monthBounds(month, tz)).toEqual({ startMs: at(start), endMs: at(end) });
  });

  it('starts on its first day and ends where its last day ends', () => {
    for (const tz of ['America/New_York', 'Asia/Kathmandu']) {
      expect(monthBounds('2026-11', tz)).toEqual({ startMs: dayBounds('2026-11-01', tz).startMs, endMs: dayBounds('2026-11-30', tz).endMs });
    }
  });

  it.each(['2026-13', '2026-00', '2026-11-01', '2026-1', 'x'])('rejects %p', (month) => {
    expect(() => monthBounds(month, 'UTC')).toThrow(RangeError);
  });
});

describe('calendarDays, calendarMonths and lastDayOfMonth', () => {
  it('lists every day and month from the first to the last, across a leap day and a year end', () => {
    expect(calendarDays('2028-02-27', '2028-03-01')).toEqual(['2028-02-27', '2028-02-28', '2028-02-29', '2028-03-01']);
    expect(calendarDays('2026-12-31', '2027-01-01')).toEqual(['2026-12-31', '2027-01-01']);
    expect(calendarMonths('2026-11', '2027-02')).toEqual(['2026-11', '2026-12', '2027-01', '2027-02']);
    expect(['2026-02', '2028-02', '2026-11', '2026-12'].map(lastDayOfMonth)).toEqual(['2026-02-28', '2028-02-29', '2026-11-30', '2026-12-31']);
  });

  it('lists nothing when the last is before the first, and throws RangeError on a malformed day or month', () => {
    expect(calendarDays('2026-11-02', '2026-11-01')).toEqual([]);
    expect(calendarMonths('2026-11', '2026-10')).toEqual([]);
    expect(() => calendarDays('2026-11-01', '2026-11-31')).toThrow(RangeError);
    expect(() => calendarMonths('2026-13', '2027-01')).toThrow(RangeError);
    expect(() => lastDayOfMonth('2026-1')).toThrow(RangeError);
  });
});

describe('addDaysEpochSeconds', () => {
  it('adds whole days in seconds, dropping milliseconds', () => {
    expect(addDaysEpochSeconds(new Date('2026-11-26T05:40:07.999Z'), 90)).toBe(Date.parse('2027-02-24T05:40:07Z') / 1000);
    expect(addDaysEpochSeconds(new Date('2026-01-01T00:00:00Z'), 731)).toBe(Date.parse('2028-01-02T00:00:00Z') / 1000);
  });

  it('throws on an invalid date', () => {
    expect(() => addDaysEpochSeconds(new Date(NaN), 1)).toThrow(RangeError);
  });
});
