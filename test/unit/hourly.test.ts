import type { RawClick } from '../../lambdas/domain/click';
import { aggregateHourly, parseHourlyItem } from '../../lambdas/domain/hourly';
import { rawClick } from '../fixtures/clicks';

let sequence = 0;
function click(changes: Partial<RawClick>): RawClick {
  sequence += 1;
  const eventId = `00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`;
  return rawClick({ code: 'abc', ts: '2026-11-26T05:10:00.000Z', eventId, ...changes });
}

describe('aggregateHourly', () => {
  it('returns nothing for no clicks', () => {
    expect(aggregateHourly([])).toEqual([]);
  });

  it('groups by code and hour, counting humans and bots apart, with counters over humans only', () => {
    const deltas = aggregateHourly([
      click({ ts: '2026-11-26T05:10:00.000Z', referrer: 'twitter.com' }),
      click({ ts: '2026-11-26T05:59:59.999Z', country: 'US', device: 'mobile', browser: 'Mobile Safari', os: 'iOS' }),
      click({ ts: '2026-11-26T05:30:00.000Z', bot: true, botReason: 'link-preview', country: 'IE' }),
      click({ ts: '2026-11-26T06:00:00.000Z' }),
      click({ code: 'other', ts: '2026-11-26T05:20:00.000Z', bot: true, botReason: 'user-agent' }),
    ]);
    expect(deltas).toEqual([
      {
        code: 'abc',
        hour: '2026-11-26T05',
        clicks: 2,
        botClicks: 1,
        counters: {
          'referrer:twitter.com': 1,
          'referrer:(direct)': 1,
          'country:SE': 1,
          'country:US': 1,
          'device:desktop': 1,
          'device:mobile': 1,
          'browser:Firefox': 1,
          'browser:Mobile Safari': 1,
          'os:Linux': 1,
          'os:iOS': 1,
        },
      },
      {
        code: 'abc',
        hour: '2026-11-26T06',
        clicks: 1,
        botClicks: 0,
        counters: { 'referrer:(direct)': 1, 'country:SE': 1, 'device:desktop': 1, 'browser:Firefox': 1, 'os:Linux': 1 },
      },
      { code: 'other', hour: '2026-11-26T05', clicks: 0, botClicks: 1, counters: {} },
    ]);
  });

  it('keeps every click: human plus bot clicks equal the input, and each dimension sums to the human clicks', () => {
    const clicks = Array.from({ length: 50 }, (_, i) =>
      click({
        ts: new Date(Date.UTC(2026, 10, 26, i % 3, i)).toISOString(),
        bot: i % 4 === 0,
        botReason: i % 4 === 0 ? 'user-agent' : null,
        country: ['SE', 'US', 'unknown'][i % 3],
      }),
    );
    const deltas = aggregateHourly(clicks);
    expect(deltas.reduce((sum, delta) => sum + delta.clicks + delta.botClicks, 0)).toBe(50);
    for (const delta of deltas) {
      const countries = Object.entries(delta.counters).filter(([name]) => name.startsWith('country:'));
      expect(countries.reduce((sum, [, count]) => sum + count, 0)).toBe(delta.clicks);
    }
  });
});

describe('parseHourlyItem', () => {
  it('reads counts and takes the attributes with a colon as counters', () => {
    expect(
      parseHourlyItem({
        code: 'abc',
        hour: '2026-11-26T05',
        clicks: 3,
        botClicks: 2,
        expiresAt: 1771911607,
        'referrer:twitter.com': 2,
        'referrer:(direct)': 1,
        'country:SE': 3,
      }),
    ).toEqual({ hour: '2026-11-26T05', clicks: 3, botClicks: 2, counters: { 'referrer:twitter.com': 2, 'referrer:(direct)': 1, 'country:SE': 3 } });
  });

  it('reads counts never added to as 0', () => {
    expect(parseHourlyItem({ code: 'abc', hour: '2026-11-26T05', botClicks: 4 })).toEqual({
      hour: '2026-11-26T05',
      clicks: 0,
      botClicks: 4,
      counters: {},
    });
  });

  it.each([
    ['no hour', { clicks: 1 }, 'no hour'],
    ['a malformed hour', { hour: '2026-11-26 05' }, 'hour bucket'],
    ['a non-numeric count', { hour: '2026-11-26T05', clicks: '3' }, 'clicks is not a count'],
    ['a negative counter', { hour: '2026-11-26T05', 'country:SE': -1 }, 'country:SE is not a count'],
  ])('rejects an item with %s', (_, item, message) => {
    expect(() => parseHourlyItem(item)).toThrow(message);
  });
});
