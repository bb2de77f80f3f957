import { addDaysEpochSeconds, hourBucket, hourStart } from '../../lambdas/domain/time-buckets';

describe('hourBucket', () => {
  it.each([
    ['2026-11-26T05:40:07.123Z', '2026-11-26T05'],
    ['2026-11-26T05:00:00.000Z', '2026-11-26T05'],
    ['2026-11-26T05:59:59.999Z', '2026-11-26T05'],
    ['2026-11-26T00:30:00+01:00', '2026-11-25T23'],
  ])('%s -> %s', (at, bucket) => {
    expect(hourBucket(at)).toBe(bucket);
    expect(hourBucket(new Date(at))).toBe(bucket);
  });

  it('throws on an invalid time', () => {
    expect(() => hourBucket('soon')).toThrow(RangeError);
  });
});

describe('hourStart', () => {
  it('is the start of the bucket and round-trips', () => {
    expect(hourStart('2026-11-26T05').toISOString()).toBe('2026-11-26T05:00:00.000Z');
    expect(hourBucket(hourStart('2028-02-29T23'))).toBe('2028-02-29T23');
  });

  it.each(['2026-11-26', '2026-11-26T5', '2026-11-26T24', '2026-02-30T00', '2027-02-29T00', 'x'])('rejects %s', (bucket) => {
    expect(() => hourStart(bucket)).toThrow(RangeError);
  });
});

describe('addDaysEpochSeconds', () => {
  it('adds whole days in seconds, dropping milliseconds', () => {
    expect(addDaysEpochSeconds(new Date('2026-11-26T05:40:07.999Z'), 90)).toBe(Date.parse('2027-02-24T05:40:07Z') / 1000);
    expect(addDaysEpochSeconds(new Date('2026-01-01T00:00:00Z'), 0)).toBe(Date.parse('2026-01-01T00:00:00Z') / 1000);
  });

  it('throws on an invalid date', () => {
    expect(() => addDaysEpochSeconds(new Date(NaN), 1)).toThrow(RangeError);
  });
});
