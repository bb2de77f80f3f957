import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { apiKeyHash, checkOwnerName, generateApiKey, matchesKeyHash, ownerKeyId, sameSecret } from '../../lambdas/domain/api-key';

describe('owner API keys', () => {
  it('makes keys whose id parses back, and whose hash alone is enough to check them', () => {
    const keys = Array.from({ length: 200 }, () => generateApiKey(randomBytes));
    for (const { keyId, key, keyHash } of keys) {
      expect(key).toMatch(/^ck_[a-z0-9]{12}_[A-Za-z0-9]{40}$/);
      expect(ownerKeyId(key)).toBe(keyId);
      expect(keyHash).toBe(apiKeyHash(key));
      expect(keyHash).not.toContain(key.slice(16));
      expect(matchesKeyHash(key, keyHash)).toBe(true);
    }
    expect(new Set(keys.map(({ key }) => key)).size).toBe(keys.length);
  });

  it('draws every symbol with equal chance: bytes past the last whole multiple of the alphabet are skipped', () => {
    // 252 is past 36 × 7 = 252 for the id's 36 symbols, and 248 past 62 × 4 for the secret's: both skipped.
    const bytes = [252, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 248, ...Array.from({ length: 40 }, (_, n) => n)];
    const feed = (n: number): Uint8Array => Uint8Array.from(bytes.splice(0, n));
    expect(generateApiKey(feed).key).toBe('ck_abcdefghijkl_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn');
  });

  it('finds an id only in a token shaped exactly like a key', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (token) => {
        const id = ownerKeyId(token);
        if (id !== null) expect(token).toBe(`ck_${id}_${token.slice(16)}`);
        return id === null || /^ck_[a-z0-9]{12}_[A-Za-z0-9]{40}$/.test(token);
      }),
    );
    const key = generateApiKey(randomBytes).key;
    for (const near of [`${key}x`, key.slice(0, -1), ` ${key}`, key.toUpperCase(), key.replace('ck_', 'CK_')]) expect(ownerKeyId(near)).toBeNull();
  });

  it('tells a wrong secret apart, and never matches a malformed stored hash', () => {
    const { key, keyHash } = generateApiKey(randomBytes);
    const other = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    expect(matchesKeyHash(other, keyHash)).toBe(false);
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
