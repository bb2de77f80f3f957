import fc from 'fast-check';
import {
  checkCustomCode,
  generateShortCode,
  OWN_PATH_SEGMENTS,
  parseShortCode,
  RESERVED_CODES,
  SHORT_CODE_PATTERN,
} from '../../lambdas/domain/short-code';
import { CONTROL_PATH_PREFIX } from '../../local/control';

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
    ['the local control segment', '_local'],
  ])('rejects %s', (_, raw) => {
    expect(parseShortCode(raw)).toBeNull();
  });

  it('reserves the API, the dashboard page and the local control routes', () => {
    expect([...RESERVED_CODES].sort()).toEqual(['_local', 'api', 'dashboard']);
  });

  it('reserves the first segment of the local control routes, whatever it is spelt as', () => {
    expect(CONTROL_PATH_PREFIX).toBe(`/${OWN_PATH_SEGMENTS.localControl}/`);
    expect(RESERVED_CODES.has(CONTROL_PATH_PREFIX.split('/')[1])).toBe(true);
  });
});

describe('checkCustomCode', () => {
  it.each(['abc', 'my-launch_2026', 'x'.repeat(64), '-a-', '__1', 'api2', 'my-api', 'Dashboards'])('accepts %s', (code) => {
    expect(checkCustomCode(code)).toEqual({ ok: true, code });
  });

  it.each([
    ['too short', 'ab', 'must be 3 to 64 letters, digits, "-" or "_"'],
    ['too long', 'x'.repeat(65), 'must be 3 to 64 letters, digits, "-" or "_"'],
    ['a space', 'has space', 'must be 3 to 64 letters, digits, "-" or "_"'],
    ['a semicolon', 'semi;colon', 'must be 3 to 64 letters, digits, "-" or "_"'],
    ['empty', '', 'must be 3 to 64 letters, digits, "-" or "_"'],
    ['only hyphens', '---', 'must contain a letter or a digit'],
    ['only underscores', '___', 'must contain a letter or a digit'],
    ['only punctuation, mixed', '-_-_', 'must contain a letter or a digit'],
    ['api', 'api', 'The code "api" is reserved: /api is one of the shortener\'s own paths.'],
    ['api in another case', 'Api', 'The code "Api" is reserved: /api is one of the shortener\'s own paths.'],
    ['dashboard', 'DASHBOARD', 'is reserved'],
    ['_local', '_local', 'The code "_local" is reserved: /_local is one of the shortener\'s own paths.'],
    ['_local in another case', '_Local', 'is reserved'],
    ['a number', 1234, 'must be a string'],
    ['null', null, 'must be a string'],
  ])('refuses %s, saying which rule', (_, code, message) => {
    const result = checkCustomCode(code);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toContain(message);
  });

  it('refuses every code of "-" and "_" alone, whatever its length', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('-', '_'), minLength: 3, maxLength: 64, size: 'max' }), (code) => {
        expect({ code, check: checkCustomCode(code) }).toEqual({ code, check: { ok: false, error: expect.stringContaining('letter or a digit') } });
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on arbitrary strings, and accepts only codes a redirect can look up', () => {
    // Pieces near each rule (reserved words, punctuation, non-ASCII), codes of the allowed characters
    // around the length bounds, and any code points at all.
    const piece = fc.constantFrom('a', 'Z', '5', '-', '_', '.', '/', ' ', '%', '\u00e9', 'api', '_local', 'dashboard', 'API');
    const pieces = fc.array(piece, { maxLength: 7, size: 'max' }).map((parts) => parts.join(''));
    const code = fc.oneof(
      { weight: 3, arbitrary: pieces },
      { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...'aZ5-_'), minLength: 1, maxLength: 66, size: 'max' }) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 66 }) },
    );
    const outcomes = { accepted: 0, reserved: 0, refused: 0 };
    fc.assert(
      fc.property(code, (generated) => {
        const result = checkCustomCode(generated);
        if (result.ok) {
          outcomes.accepted += 1;
          expect(parseShortCode(result.code)).toBe(generated);
        } else {
          outcomes[result.error.includes('is reserved') ? 'reserved' : 'refused'] += 1;
          expect(result.error).toMatch(/^The code /);
        }
      }),
      { numRuns: 2_000 },
    );
    // The generator reaches acceptance and the reserved rule, not only the format's refusals.
    expect(Math.min(outcomes.accepted, outcomes.refused)).toBeGreaterThan(100);
    expect(outcomes.reserved).toBeGreaterThan(10);
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
