import { validateTargetUrl } from '../../lambdas/domain/target-url';

const SHORTENER_HOSTS = ['sho.rt', 'links.example.com:8443', '127.0.0.1:3000'];
const check = (input: unknown) => validateTargetUrl(input, SHORTENER_HOSTS);

describe('validateTargetUrl', () => {
  it.each([
    ['https://example.com/path?q=1#frag', 'https://example.com/path?q=1#frag'],
    ['HTTP://Example.COM', 'http://example.com/'],
    ['  https://example.com/a b  ', 'https://example.com/a%20b'],
    ['https://example.com:443/x', 'https://example.com/x'],
    ['https://bücher.de/straße', 'https://xn--bcher-kva.de/stra%C3%9Fe'],
    ['http://[2001:db8::1]:8080/', 'http://[2001:db8::1]:8080/'],
  ])('accepts %s as its normalised form', (input, normalised) => {
    expect(check(input)).toEqual({ ok: true, url: normalised });
  });

  it.each([
    ['not a string', 42, 'must be a string'],
    ['an object', { url: 'https://example.com' }, 'must be a string'],
    ['empty', '   ', 'must not be empty'],
    ['relative', '/path', 'not a valid absolute URL'],
    ['no scheme', 'example.com', 'not a valid absolute URL'],
    ['javascript:', 'javascript:alert(1)', 'http or https'],
    ['data:', 'data:text/html,<script>alert(1)</script>', 'http or https'],
    ['file:', 'file:///etc/passwd', 'http or https'],
    ['ftp:', 'ftp://example.com/file', 'http or https'],
    ['user name', 'https://admin@example.com/', 'user name or password'],
    ['credentials', 'https://user:secret@example.com/', 'user name or password'],
    ['too long', `https://example.com/${'a'.repeat(2048)}`, 'at most 2048'],
    ['too long once normalised', `https://example.com/${' '.repeat(700)}x`.replace(/ /g, '\u00e9'), 'at most 2048'],
  ])('rejects %s', (_, input, message) => {
    const result = check(input);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toContain(message);
  });

  it.each([
    'https://sho.rt/abc',
    'https://SHO.RT/abc',
    'https://sho.rt./abc',
    'http://sho.rt:8080/abc',
    'https://links.example.com/abc',
    'https://LINKS.example.com.:9/abc',
    'http://127.0.0.1/abc',
  ])('rejects %s, which points back at the shortener', (input) => {
    expect(check(input)).toEqual({ ok: false, error: 'The url must not point back at this link shortener.' });
  });

  it('compares internationalised shortener hosts in their punycode form', () => {
    expect(validateTargetUrl('https://xn--krz-hoa.de/abc', ['kürz.de']).ok).toBe(false);
    expect(validateTargetUrl('https://kürz.de/abc', ['xn--krz-hoa.de']).ok).toBe(false);
  });

  it('allows subdomains and look-alikes of the shortener host', () => {
    expect(check('https://docs.sho.rt/').ok).toBe(true);
    expect(check('https://sho.rt.example.com/').ok).toBe(true);
  });
});
