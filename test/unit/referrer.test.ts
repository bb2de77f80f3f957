import { normaliseReferrer, referrerHost } from '../../lambdas/domain/referrer';

describe('referrerHost', () => {
  it.each([
    ['https://news.ycombinator.com/item?id=42', 'news.ycombinator.com'],
    ['https://www.google.com/search?q=secret+token&client=firefox', 'www.google.com'],
    ['http://Example.COM:8080/path/to?x=1#frag', 'example.com'],
    ['https://user:password@example.com/private', 'example.com'],
    ['https://example.com./', 'example.com'],
    ['https://bücher.de/', 'xn--bcher-kva.de'],
    ['https://例え.jp/パス', 'xn--r8jz45g.jp'],
    ['  https://t.co/abc  ', 't.co'],
    ['https://[2001:db8::1]:8443/', '[2001:db8::1]'],
    ['https://203.0.113.9/x', '203.0.113.9'],
  ])('%s -> %s', (header, host) => {
    expect(referrerHost(header)).toBe(host);
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['a bare word', 'google'],
    ['a relative path', '/some/path'],
    ['javascript:', 'javascript:alert(document.cookie)'],
    ['data:', 'data:text/html;base64,PHNjcmlwdD4='],
    ['file:', 'file:///etc/passwd'],
    ['android-app:', 'android-app://com.google.android.gm/'],
    ['chrome-extension:', 'chrome-extension://abcdefghijklmnop/page.html'],
    ['a host longer than a DNS name', `https://${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(10)}.com/`],
    ['a broken URL', 'https://exa mple.com/'],
  ])('rejects %s', (_, header) => {
    expect(referrerHost(header)).toBeNull();
  });

  it('reduces a very long referrer to its host', () => {
    expect(referrerHost(`https://example.com/${'x'.repeat(100_000)}?token=${'y'.repeat(10_000)}`)).toBe('example.com');
  });
});

describe('normaliseReferrer', () => {
  it.each([
    [null, '(direct)'],
    ['', '(direct)'],
    ['news.ycombinator.com', 'news.ycombinator.com'],
    ['www.example.com', 'example.com'],
    ['WWW.Example.COM.', 'example.com'],
    ['m.wikipedia.org', 'wikipedia.org'],
    ['mobile.twitter.com', 'twitter.com'],
    ['t.co', 'twitter.com'],
    ['x.com', 'twitter.com'],
    ['www.x.com', 'twitter.com'],
    ['l.facebook.com', 'facebook.com'],
    ['lm.facebook.com', 'facebook.com'],
    ['m.facebook.com', 'facebook.com'],
    ['www.facebook.com', 'facebook.com'],
    ['lnkd.in', 'linkedin.com'],
    ['www.linkedin.com', 'linkedin.com'],
    ['out.reddit.com', 'reddit.com'],
    ['old.reddit.com', 'reddit.com'],
    ['l.instagram.com', 'instagram.com'],
    ['www.google.com', 'google.com'],
    ['www.google.co.uk', 'google.co.uk'],
    ['google.de', 'google.de'],
    // A prefix is only stripped when a registrable-looking name remains.
    ['www.com', 'www.com'],
    ['m.co', 'm.co'],
  ])('%p -> %s', (host, normalised) => {
    expect(normaliseReferrer(host)).toBe(normalised);
  });

  it('composes with referrerHost', () => {
    expect(normaliseReferrer(referrerHost('https://t.co/AbCdEf?amp=1'))).toBe('twitter.com');
    expect(normaliseReferrer(referrerHost('javascript:void(0)'))).toBe('(direct)');
  });
});
