import { generateShortCode, isValidCustomCode, parseShortCode, RESERVED_CODES, SHORT_CODE_PATTERN } from '../../lambdas/domain/short-code';

/** A deterministic byte source that replays the given bytes and records how many were asked for. */
function byteSource(bytes: number[]): { next: (n: number) => Uint8Array; requested: number[] } {
  const queue = [...bytes];
  const requested: number[] = [];
  return {
    requested,
    next: (n) => {
      requested.push(n);
      return Uint8Array.from(queue.splice(0, n));
    },
  };
}

describe('parseShortCode', () => {
  it.each(['abc123', 'A', 'a_b-C', 'x'.repeat(64)])('accepts %s', (code) => {
    expect(parseShortCode(code)).toBe(code);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['too long', 'x'.repeat(65)],
    ['a dot', 'a.b'],
    ['a slash', 'a/b'],
    ['percent-encoding', 'a%20b'],
    ['unicode', 'café'],
    ['a space', 'a b'],
    ['reserved', 'api'],
    ['reserved in another case', 'API'],
  ])('rejects %s', (_, raw) => {
    expect(parseShortCode(raw)).toBeNull();
  });

  it('reserves api', () => {
    expect(RESERVED_CODES.has('api')).toBe(true);
  });
});

describe('isValidCustomCode', () => {
  it.each(['abc', 'my-launch_2026', 'x'.repeat(64)])('accepts %s', (code) => {
    expect(isValidCustomCode(code)).toBe(true);
  });

  it.each(['ab', 'x'.repeat(65), 'api', 'Api', 'has space', 'semi;colon', ''])('rejects %s', (code) => {
    expect(isValidCustomCode(code)).toBe(false);
  });
});

describe('generateShortCode', () => {
  it('maps bytes to base62 symbols, 7 by default', () => {
    const source = byteSource([0, 1, 9, 10, 35, 36, 61]);
    expect(generateShortCode(source.next)).toBe('019AZaz');
  });

  it('reduces accepted bytes modulo 62', () => {
    // 62 -> '0', 123 -> 61 -> 'z', 247 -> 247 - 186 = 61 -> 'z'
    expect(generateShortCode(byteSource([62, 123, 247]).next, 3)).toBe('0zz');
  });

  it('rejects bytes at or above 248 so every symbol is equally likely, and asks for more', () => {
    const source = byteSource([248, 5, 255, 6, 7]);
    expect(generateShortCode(source.next, 3)).toBe('567');
    expect(source.requested).toEqual([3, 2]);
  });

  it('produces codes a redirect accepts, of the requested length', () => {
    const bytes = Array.from({ length: 200 }, (_, i) => (i * 37) % 256);
    const code = generateShortCode(byteSource(bytes).next, 12);
    expect(code).toHaveLength(12);
    expect(code).toMatch(SHORT_CODE_PATTERN);
    expect(parseShortCode(code)).toBe(code);
  });

  it.each([0, 65, 2.5])('refuses length %s', (length) => {
    expect(() => generateShortCode(byteSource([]).next, length)).toThrow(RangeError);
  });
});
