import fc from 'fast-check';
import { checkShareLabel, MAX_SHARE_LABEL_LENGTH, shareDashboardUrl } from '../../lambdas/domain/share-link';

/** Code points a label may not hold, spelt as numbers, apart from the module's pattern. */
function forbiddenCodePoint(codePoint: number): boolean {
  return (
    codePoint < 0x20 ||
    (codePoint >= 0x7f && codePoint <= 0x9f) ||
    (codePoint >= 0xd800 && codePoint <= 0xdfff) ||
    codePoint === 0x2028 ||
    codePoint === 0x2029 ||
    (codePoint >= 0x202a && codePoint <= 0x202e) ||
    (codePoint >= 0x2066 && codePoint <= 0x2069)
  );
}

const codePoints = (text: string): number[] => [...text].map((symbol) => symbol.codePointAt(0) ?? 0);

describe('share labels', () => {
  it.each([
    [undefined, null],
    [null, null],
    ['', null],
    ['   ', null],
    ['Team view', 'Team view'],
    ['  padded\t', 'padded'],
    ['Équipe 日本 👩‍👩‍👧', 'Équipe 日本 👩‍👩‍👧'],
    ['😀'.repeat(MAX_SHARE_LABEL_LENGTH), '😀'.repeat(MAX_SHARE_LABEL_LENGTH)],
  ])('takes %p as %p', (input, label) => {
    expect(checkShareLabel(input)).toEqual({ ok: true, label });
  });

  it.each([
    [42, /must be a string/],
    [['a'], /must be a string/],
    [{ text: 'a' }, /must be a string/],
    [true, /must be a string/],
    ['x'.repeat(MAX_SHARE_LABEL_LENGTH + 1), /at most 64 characters/],
    ['two\nlines', /control/],
    ['bell\u0007', /control/],
    ['\u202Eevil', /text-direction/],
    ['lone \uD800 surrogate', /control/],
  ])('refuses %p', (input, message) => {
    const checked = checkShareLabel(input);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.error).toMatch(message);
  });

  it('takes a string exactly when, trimmed, it has at most 64 code points and none of the forbidden ones', () => {
    const anyText = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.string({ unit: fc.constantFrom('a', ' ', '\t', '\n', '\u2028', '\u202E', '\u2067', '\uD83D', '😀', '日'), maxLength: 70 }),
    );
    fc.assert(
      fc.property(anyText, (input) => {
        const trimmed = input.trim();
        const acceptable = codePoints(trimmed).length <= MAX_SHARE_LABEL_LENGTH && !codePoints(trimmed).some(forbiddenCodePoint);
        const checked = checkShareLabel(input);
        expect(checked.ok).toBe(acceptable);
        if (checked.ok) expect(checked.label).toBe(trimmed === '' ? null : trimmed);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('share dashboard URLs', () => {
  it('carries the token in the fragment of the dashboard page, which browsers never send', () => {
    const url = new URL(shareDashboardUrl('https://sho.rt', 'cs_abcdefghijkl_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn', 'launch_2'));
    expect([url.origin, url.pathname, url.search, url.hash]).toEqual([
      'https://sho.rt',
      '/dashboard',
      '',
      '#share=cs_abcdefghijkl_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn&link=launch_2',
    ]);
  });
});
