import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { apiKeyHash, checkOwnerName, generateApiKey, matchesKeyHash, parseApiKey, sameSecret } from '../../lambdas/domain/api-key';

const LOWER_AND_DIGITS = 'abcdefghijklmnopqrstuvwxyz0123456789';
const LETTERS_AND_DIGITS = `ABCDEFGHIJKLMNOPQRSTUVWXYZ${LOWER_AND_DIGITS}`;

describe('API keys', () => {
  it.each([
    ['owner', /^ck_[a-z0-9]{12}_[A-Za-z0-9]{40}$/],
    ['share', /^cs_[a-z0-9]{12}_[A-Za-z0-9]{40}$/],
  ] as const)('makes %s keys whose kind and id parse back, and whose hash alone is enough to check them', (kind, shape) => {
    const keys = Array.from({ length: 200 }, () => generateApiKey(kind, randomBytes));
    for (const { keyId, key, keyHash } of keys) {
      expect(key).toMatch(shape);
      expect(parseApiKey(key)).toEqual({ kind, keyId });
      expect(keyHash).toBe(apiKeyHash(key));
      expect(keyHash).not.toContain(key.slice(16));
      expect(matchesKeyHash(key, keyHash)).toBe(true);
    }
    expect(new Set(keys.map(({ key }) => key)).size).toBe(keys.length);
  });

  it('draws every symbol with equal chance: bytes past the last whole multiple of the alphabet are skipped', () => {
    // 252 is past 36 × 7 = 252 for the id's 36 symbols, and 248 past 62 × 4 for the secret's: both skipped.
    const bytes = (): number[] => [252, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 248, ...Array.from({ length: 40 }, (_, n) => n)];
    const feed = (source: number[]) => (n: number): Uint8Array => Uint8Array.from(source.splice(0, n));
    expect(generateApiKey('owner', feed(bytes())).key).toBe('ck_abcdefghijkl_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn');
    expect(generateApiKey('share', feed(bytes())).key).toBe('cs_abcdefghijkl_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn');
  });

  it('parses only tokens shaped exactly like a key: the prefix, 12 lowercase letters or digits, 40 letters or digits', () => {
    // Tokens at or near the shape: each part mostly right, sometimes off by its prefix, its length or one character.
    const mostly = <T>(right: fc.Arbitrary<T>, off: fc.Arbitrary<T>): fc.Arbitrary<T> => fc.oneof({ weight: 4, arbitrary: right }, { weight: 1, arbitrary: off });
    const symbols = (alphabet: string, minLength: number, maxLength: number) => fc.string({ unit: fc.constantFrom(...alphabet), minLength, maxLength });
    const part = (alphabet: string, length: number) =>
      mostly(
        symbols(alphabet, length, length),
        fc.oneof(
          symbols(alphabet, length - 2, length + 2),
          fc.tuple(symbols(alphabet, length, length), fc.nat(length - 1), fc.constantFrom('A', '_', '-', 'é', ' ', '\n', '\u0000')).map(
            ([text, at, symbol]) => `${text.slice(0, at)}${symbol}${text.slice(at + 1)}`,
          ),
        ),
      );
    const token = fc.tuple(
      mostly(fc.constantFrom('ck', 'cs'), fc.constantFrom('CK', 'Cs', 'cx', 'c', 'ck ', '')),
      mostly(fc.constant('_'), fc.constantFrom('-', '', '__')),
      part(LOWER_AND_DIGITS, 12),
      part(LETTERS_AND_DIGITS, 40),
    );
    fc.assert(
      fc.property(token, ([prefix, separator, id, secret]) => {
        const text = `${prefix}${separator}${id}_${secret}`;
        const wellShaped =
          (prefix === 'ck' || prefix === 'cs') &&
          separator === '_' &&
          id.length === 12 &&
          [...id].every((symbol) => LOWER_AND_DIGITS.includes(symbol)) &&
          secret.length === 40 &&
          [...secret].every((symbol) => LETTERS_AND_DIGITS.includes(symbol));
        expect(parseApiKey(text)).toEqual(wellShaped ? { kind: prefix === 'cs' ? 'share' : 'owner', keyId: id } : null);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        const parsed = parseApiKey(text);
        return parsed === null || text === `${parsed.kind === 'share' ? 'cs' : 'ck'}_${parsed.keyId}_${text.slice(16)}`;
      }),
    );
    const key = generateApiKey('share', randomBytes).key;
    for (const nearKey of [`${key}x`, key.slice(0, -1), ` ${key}`, `${key}\n`, key.toUpperCase(), key.replace('cs_', 'CS_')]) expect(parseApiKey(nearKey)).toBeNull();
  });

  it('tells a wrong secret apart, and never matches a malformed stored hash', () => {
    const { key, keyHash } = generateApiKey('owner', randomBytes);
    const other = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    expect(matchesKeyHash(other, keyHash)).toBe(false);
    // The prefix is hashed too: the same id and secret as a share token is another key.
    expect(matchesKeyHash(key.replace('ck_', 'cs_'), keyHash)).toBe(false);
    expect(matchesKeyHash(key, keyHash.slice(0, 10))).toBe(false);
    expect(matchesKeyHash(key, 'not hex at all')).toBe(false);
  });

  it('compares the admin key whatever the lengths', () => {
    fc.assert(fc.property(fc.string(), fc.string(), (a, b) => sameSecret(a, b) === (a === b)));
  });
});

describe('owner names', () => {
  it('takes what click events can carry, except the admin owner', () => {
    for (const name of ['alice', 'team.marketing', 'a+b@example.com', 'x'.repeat(128)]) expect(checkOwnerName(name)).toEqual({ ok: true, owner: name });
    for (const name of ['', 'x'.repeat(129), 'has space', 'semi;colon', 'pipe|char', 'ünïcode']) expect(checkOwnerName(name).ok).toBe(false);
    expect(checkOwnerName('admin')).toEqual({ ok: false, error: expect.stringMatching(/admin key's owner/) });
  });
});
