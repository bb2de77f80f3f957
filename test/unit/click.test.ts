import { createHash } from 'node:crypto';
import {
  InvalidClickMessage,
  linkShardOf,
  MAX_USER_AGENT_LENGTH,
  parseClickMessage,
  parseRawClick,
  purposeFrom,
  RAW_WRITE_SHARDS,
} from '../../lambdas/domain/click';
import { clickMessage, rawClick } from '../fixtures/clicks';

const VALID_MESSAGE = clickMessage();

const bodyWith = (changes: Record<string, unknown>): string => JSON.stringify({ ...VALID_MESSAGE, ...changes });

function reasonFor(body: string): string {
  try {
    parseClickMessage(body);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidClickMessage);
    return (error as Error).message;
  }
  throw new Error('expected the message to be rejected');
}

describe('parseClickMessage', () => {
  it('accepts a valid message', () => {
    expect(parseClickMessage(JSON.stringify(VALID_MESSAGE))).toEqual(VALID_MESSAGE);
  });

  it.each([
    ['an IPv6 prefix', { ipPrefix: '2001:db8:1::' }],
    ['no prefix', { ipPrefix: null }],
    ['no referrer', { referrerHost: null }],
    ['a HEAD request', { method: 'HEAD' }],
    ['a purpose', { purpose: 'prefetch' }],
    ['an empty User-Agent', { userAgent: '' }],
    ['the longest User-Agent', { userAgent: 'x'.repeat(MAX_USER_AGENT_LENGTH) }],
    ['an e-mail address as owner', { owner: 'Ada.Lovelace+links@example.org' }],
    ['the longest owner', { owner: 'o'.repeat(128) }],
  ])('accepts a message with %s', (_, changes) => {
    expect(parseClickMessage(bodyWith(changes))).toEqual({ ...VALID_MESSAGE, ...changes });
  });

  it('normalises the time to milliseconds, so redeliveries get the same clickKey', () => {
    expect(parseClickMessage(bodyWith({ ts: '2026-11-26T05:40:07Z' })).ts).toBe('2026-11-26T05:40:07.000Z');
  });

  it('keeps only the known fields', () => {
    const parsed = parseClickMessage(bodyWith({ ip: '203.0.113.9' }));
    expect(parsed).toEqual(VALID_MESSAGE);
    expect(parsed).not.toHaveProperty('ip');
  });

  it.each([
    ['not JSON', '{"v":1,', 'body is not valid JSON'],
    ['a JSON array', '[1]', 'body is not a JSON object'],
    ['JSON null', 'null', 'body is not a JSON object'],
    ['a JSON string', '"click"', 'body is not a JSON object'],
    ['too large', bodyWith({ userAgent: 'x'.repeat(5000) }), 'body is larger than 4096 bytes'],
  ])('rejects a body that is %s', (_, body, reason) => {
    expect(reasonFor(body)).toBe(reason);
  });

  it.each([
    ['v', undefined],
    ['v', 2],
    ['v', '1'],
    ['eventId', undefined],
    ['eventId', 'not-a-uuid'],
    ['eventId', '3B241101-E2BB-4255-8CAF-4136C566A962'],
    ['code', ''],
    ['code', 'a/b'],
    ['code', 'x'.repeat(65)],
    ['code', 42],
    ['owner', undefined],
    ['owner', ''],
    ['owner', 'o'.repeat(129)],
    ['owner', 'team|a'],
    ['owner', 'team#a'],
    ['owner', 'team a'],
    ['owner', 7],
    ['ts', '2026-11-26'],
    ['ts', '2026-11-26T05:40:07+01:00'],
    ['ts', '2026-02-30T05:40:07.123Z'],
    ['ts', 'yesterday'],
    ['ts', 1764135607123],
    ['visitor', 'a'.repeat(63)],
    ['visitor', 'A'.repeat(64)],
    ['visitor', 'g'.repeat(64)],
    ['ipPrefix', '203.0.113.9'],
    ['ipPrefix', '2001:db8:1::1'],
    ['ipPrefix', 'not an ip'],
    ['ipPrefix', undefined],
    ['userAgent', 'x'.repeat(MAX_USER_AGENT_LENGTH + 1)],
    ['userAgent', null],
    ['referrerHost', ''],
    ['referrerHost', 'a'.repeat(254)],
    ['referrerHost', 'example.com/path?token=1'],
    ['referrerHost', 'user@example.com'],
    ['method', 'POST'],
    ['method', 'get'],
    ['purpose', 'x'.repeat(33)],
    ['purpose', 7],
  ])('rejects %s = %p with a reason naming the field', (name, value) => {
    expect(reasonFor(bodyWith({ [name]: value }))).toMatch(new RegExp(`^${name} `));
  });
});

describe('purposeFrom', () => {
  it.each([
    [{}, null],
    [{ 'sec-purpose': 'prefetch' }, 'prefetch'],
    [{ 'sec-purpose': 'prefetch;prerender' }, 'prefetch'],
    [{ 'sec-purpose': 'prefetch; anonymous-client-ip' }, 'prefetch'],
    [{ purpose: 'Prefetch' }, 'prefetch'],
    [{ 'x-purpose': 'preview' }, 'preview'],
    [{ 'x-moz': 'prefetch' }, 'prefetch'],
    [{ 'x-purpose': 'Instant' }, 'instant'],
    [{ purpose: '  ' }, null],
    [{ 'sec-purpose': '', 'x-purpose': 'preview' }, 'preview'],
    [{ 'sec-purpose': 'prefetch', 'x-purpose': 'preview' }, 'prefetch'],
  ])('%p -> %p', (headers, purpose) => {
    expect(purposeFrom(headers)).toBe(purpose);
  });

  it('keeps unknown purposes short enough for the click message', () => {
    const purpose = purposeFrom({ purpose: 'x'.repeat(100) });
    expect(purpose).toHaveLength(32);
    expect(parseClickMessage(bodyWith({ purpose })).purpose).toBe(purpose);
  });
});

describe('parseRawClick', () => {
  const VALID_RAW = rawClick();

  const reasonForItem = (changes: Record<string, unknown>): string => {
    try {
      parseRawClick({ ...VALID_RAW, ...changes });
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidClickMessage);
      return (error as Error).message;
    }
    throw new Error('expected the item to be rejected');
  };

  it('accepts a valid human click and a valid bot click', () => {
    expect(parseRawClick({ ...VALID_RAW })).toEqual(VALID_RAW);
    const bot = { ...VALID_RAW, bot: true, botReason: 'link-preview' };
    expect(parseRawClick(bot)).toEqual(bot);
  });

  it('drops attributes that are not part of a raw click', () => {
    expect(parseRawClick({ ...VALID_RAW, extra: 'x' })).toEqual(VALID_RAW);
  });

  it.each([
    ['code', 'a b'],
    ['owner', 'a|b'],
    ['owner', undefined],
    ['linkShard', undefined],
    ['linkShard', 3],
    ['eventId', 'nope'],
    ['ts', 'nope'],
    ['visitor', 'short'],
    ['country', ''],
    ['referrer', null],
    ['device', 3],
    ['browser', undefined],
    ['os', ''],
    ['bot', 'false'],
    ['botReason', 'because'],
    ['expiresAt', '1771911607'],
    ['expiresAt', -1],
    ['expiresAt', 1.5],
  ])('rejects %s = %p with a reason naming the field', (name, value) => {
    expect(reasonForItem({ [name]: value })).toMatch(new RegExp(`^${name} `));
  });

  it('rejects a clickKey that is not ts#eventId', () => {
    expect(reasonForItem({ clickKey: `2026-11-26T05:40:08.000Z#${VALID_RAW.eventId}` })).toMatch(/^clickKey /);
  });

  it('rejects a linkShard that is not linkShardOf(code, eventId)', () => {
    const [, shard] = VALID_RAW.linkShard.split('#');
    const otherShard = `abc123#${(Number(shard) + 1) % RAW_WRITE_SHARDS}`;
    expect(reasonForItem({ linkShard: otherShard })).toMatch(/^linkShard /);
    expect(reasonForItem({ code: 'other' })).toMatch(/^linkShard /);
  });

  it('rejects a bot flag without a reason and a reason without the flag', () => {
    expect(reasonForItem({ bot: true, botReason: null })).toMatch(/^botReason /);
    expect(reasonForItem({ bot: false, botReason: 'user-agent' })).toMatch(/^botReason /);
  });
});

describe('linkShardOf', () => {
  const eventIds = Array.from({ length: 400 }, (_, n) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`);

  it('is the code and the first byte of SHA-256(eventId) mod 16', () => {
    for (const eventId of eventIds.slice(0, 20)) {
      const firstByte = createHash('sha256').update(eventId).digest()[0];
      expect(linkShardOf('abc123', eventId)).toBe(`abc123#${firstByte % 16}`);
    }
  });

  it('spreads one link over all 16 shards', () => {
    const shards = new Set(eventIds.map((eventId) => linkShardOf('hot', eventId)));
    expect([...shards].sort()).toEqual(Array.from({ length: RAW_WRITE_SHARDS }, (_, n) => `hot#${n}`).sort());
  });
});
