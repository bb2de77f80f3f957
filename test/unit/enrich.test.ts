import { linkShardOf, parseRawClick } from '../../lambdas/domain/click';
import { Enricher, enrichClick, type CountryLookup } from '../../lambdas/domain/enrich';
import { clickMessage } from '../fixtures/clicks';
import { USER_AGENTS } from '../fixtures/user-agents';

const MESSAGE = clickMessage({ visitor: 'c'.repeat(64), userAgent: USER_AGENTS.safariIphone, referrerHost: 't.co' });

/** A lookup over a fixed table, standing in for a GeoIP database (the adapter is tested in geo.test.ts). */
const countries: CountryLookup = (prefix) => ({ '203.0.113.0': 'se', '2001:db8:1::': 'JP' })[prefix] ?? null;

describe('enrichClick', () => {
  it('turns a human click into a raw click', () => {
    expect(enrichClick(MESSAGE, countries)).toEqual({
      linkShard: linkShardOf('abc123', '3b241101-e2bb-4255-8caf-4136c566a962'),
      code: 'abc123',
      owner: 'owner-1',
      clickKey: '2026-11-26T05:40:07.123Z#3b241101-e2bb-4255-8caf-4136c566a962',
      eventId: '3b241101-e2bb-4255-8caf-4136c566a962',
      ts: '2026-11-26T05:40:07.123Z',
      visitor: 'c'.repeat(64),
      country: 'SE',
      referrer: 'twitter.com',
      device: 'mobile',
      browser: 'Mobile Safari',
      os: 'iOS',
      bot: false,
      botReason: null,
      expiresAt: Date.parse('2027-02-24T05:40:07Z') / 1000,
    });
  });

  it('produces raw clicks that parseRawClick accepts, with the owner and shard of the message', () => {
    const message = { ...MESSAGE, code: 'hot-link', owner: 'team@example.org', eventId: '00000000-0000-4000-8000-000000000007' };
    const raw = enrichClick(message, countries);
    expect(raw).toMatchObject({ owner: 'team@example.org', linkShard: linkShardOf('hot-link', message.eventId) });
    expect(parseRawClick({ ...raw })).toEqual(raw);
  });

  it('flags bots with their reason', () => {
    expect(enrichClick({ ...MESSAGE, userAgent: USER_AGENTS.slackbot }, countries)).toMatchObject({ bot: true, botReason: 'link-preview' });
    expect(enrichClick({ ...MESSAGE, method: 'HEAD' }, countries)).toMatchObject({ bot: true, botReason: 'head-request' });
    expect(enrichClick({ ...MESSAGE, purpose: 'prefetch' }, countries)).toMatchObject({ bot: true, botReason: 'prefetch' });
  });

  it('looks up IPv6 prefixes too', () => {
    expect(enrichClick({ ...MESSAGE, ipPrefix: '2001:db8:1::' }, countries).country).toBe('JP');
  });

  it('records unknown for a missing prefix, an unknown network and a failing lookup', () => {
    const failing: CountryLookup = () => {
      throw new Error('database unreadable');
    };
    expect(enrichClick({ ...MESSAGE, ipPrefix: null }, countries).country).toBe('unknown');
    expect(enrichClick({ ...MESSAGE, ipPrefix: '198.51.100.0' }, countries).country).toBe('unknown');
    expect(enrichClick(MESSAGE, failing).country).toBe('unknown');
  });

  it('records (direct) without a referrer and unknowns for an unparsable User-Agent', () => {
    const raw = enrichClick({ ...MESSAGE, referrerHost: null, userAgent: '' }, countries);
    expect(raw).toMatchObject({ referrer: '(direct)', device: 'unknown', browser: 'unknown', os: 'unknown' });
    expect(raw).toMatchObject({ bot: true, botReason: 'empty-user-agent' });
  });

  it('stores neither the User-Agent nor the IP prefix', () => {
    const stored = JSON.stringify(enrichClick(MESSAGE, countries));
    expect(stored).not.toContain('203.0.113');
    expect(stored).not.toContain('AppleWebKit');
  });
});

describe('Enricher (cached User-Agents and networks)', () => {
  const methods = ['GET', 'HEAD'] as const;
  const purposes = [null, 'prefetch'];
  const prefixes = ['203.0.113.0', '2001:db8:1::', '198.51.100.0', null];
  /** Every real User-Agent of the fixtures, with each method, purpose and network. */
  const messages = Object.values(USER_AGENTS).flatMap((userAgent) =>
    methods.flatMap((method) =>
      purposes.flatMap((purpose) => prefixes.map((ipPrefix) => ({ ...MESSAGE, userAgent, method, purpose, ipPrefix }))),
    ),
  );

  it.each([
    ['a cache that holds them all', 10_000],
    ['a cache of two, which evicts all the time', 2],
  ])('agrees with enrichClick on real User-Agents, seen once and again, with %s', (_name, capacity) => {
    const enricher = new Enricher(countries, capacity);
    for (const round of [1, 2]) {
      for (const message of messages) expect({ round, raw: enricher.enrich(message) }).toEqual({ round, raw: enrichClick(message, countries) });
    }
  });

  it('looks up each network once, however many clicks come from it', () => {
    let lookups = 0;
    const counting: CountryLookup = (prefix) => {
      lookups += 1;
      return countries(prefix);
    };
    const enricher = new Enricher(counting);
    for (const message of messages) enricher.enrich(message);
    expect(lookups).toBe(prefixes.filter((prefix) => prefix !== null).length);
  });
});
