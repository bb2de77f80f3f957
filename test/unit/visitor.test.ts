import { createHmac } from 'node:crypto';
import { parseSaltPeriod, saltPeriodOf, visitorHash } from '../../lambdas/domain/visitor';

const epochSeconds = (iso: string): number => Date.parse(iso) / 1000;

describe('parseSaltPeriod', () => {
  it.each([
    [undefined, 'month'],
    ['', 'month'],
    ['day', 'day'],
    [' Week ', 'week'],
    ['MONTH', 'month'],
  ])('%p -> %s', (value, period) => {
    expect(parseSaltPeriod(value)).toBe(period);
  });

  it.each(['daily', 'year', '30d'])('throws on %s, naming the accepted values', (value) => {
    expect(() => parseSaltPeriod(value)).toThrow('day, week, month');
  });
});

describe('saltPeriodOf', () => {
  it.each([
    // month: the salt lives until a day after the month ends
    ['2026-11-26T05:40:07.123Z', 'month', 'month:2026-11', '2026-12-02T00:00:00Z'],
    ['2026-12-31T23:59:59.999Z', 'month', 'month:2026-12', '2027-01-02T00:00:00Z'],
    ['2027-01-01T00:00:00.000Z', 'month', 'month:2027-01', '2027-02-02T00:00:00Z'],
    ['2028-02-29T12:00:00.000Z', 'month', 'month:2028-02', '2028-03-02T00:00:00Z'],
    // day
    ['2026-11-26T00:00:00.000Z', 'day', 'day:2026-11-26', '2026-11-28T00:00:00Z'],
    ['2026-11-26T23:59:59.999Z', 'day', 'day:2026-11-26', '2026-11-28T00:00:00Z'],
    ['2026-12-31T12:00:00.000Z', 'day', 'day:2026-12-31', '2027-01-02T00:00:00Z'],
    // week: ISO weeks start on Monday and belong to the year of their Thursday
    ['2026-11-26T05:40:07.123Z', 'week', 'week:2026-W48', '2026-12-01T00:00:00Z'],
    ['2026-11-23T00:00:00.000Z', 'week', 'week:2026-W48', '2026-12-01T00:00:00Z'],
    ['2026-11-29T23:59:59.999Z', 'week', 'week:2026-W48', '2026-12-01T00:00:00Z'],
    ['2026-12-31T12:00:00.000Z', 'week', 'week:2026-W53', '2027-01-05T00:00:00Z'],
    ['2027-01-03T12:00:00.000Z', 'week', 'week:2026-W53', '2027-01-05T00:00:00Z'],
    ['2027-01-04T00:00:00.000Z', 'week', 'week:2027-W01', '2027-01-12T00:00:00Z'],
    ['2025-12-29T00:00:00.000Z', 'week', 'week:2026-W01', '2026-01-06T00:00:00Z'],
    ['2021-01-03T00:00:00.000Z', 'week', 'week:2020-W53', '2021-01-05T00:00:00Z'],
    ['2024-12-30T00:00:00.000Z', 'week', 'week:2025-W01', '2025-01-07T00:00:00Z'],
  ] as const)('%s in a %s period is %s, destroyed at %s', (at, period, id, expires) => {
    expect(saltPeriodOf(new Date(at), period)).toEqual({ id, expiresAt: epochSeconds(expires) });
  });

  it('refuses an invalid date', () => {
    expect(() => saltPeriodOf(new Date('nope'), 'day')).toThrow(RangeError);
  });
});

describe('visitorHash', () => {
  const salt = Uint8Array.from({ length: 32 }, (_, i) => i);
  const ua = 'Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0';

  it('is the hex HMAC-SHA256 of ip, newline, User-Agent under the salt', () => {
    const expected = createHmac('sha256', Buffer.from(salt)).update(`203.0.113.9\n${ua}`).digest('hex');
    expect(visitorHash(salt, '203.0.113.9', ua)).toBe(expected);
  });

  it('is deterministic and 64 lower-case hex characters', () => {
    const hash = visitorHash(salt, '203.0.113.9', ua);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(visitorHash(salt, '203.0.113.9', ua)).toBe(hash);
  });

  it('changes with the salt, the IP and the User-Agent', () => {
    const hash = visitorHash(salt, '203.0.113.9', ua);
    const otherSalt = Uint8Array.from(salt, (byte) => byte ^ 1);
    expect(visitorHash(otherSalt, '203.0.113.9', ua)).not.toBe(hash);
    expect(visitorHash(salt, '203.0.113.10', ua)).not.toBe(hash);
    expect(visitorHash(salt, '203.0.113.9', `${ua} `)).not.toBe(hash);
  });

  it('keeps IP and User-Agent apart (no ambiguity at the boundary)', () => {
    expect(visitorHash(salt, '1.2.3.4', '5 UA')).not.toBe(visitorHash(salt, '1.2.3.45', ' UA'));
  });
});
