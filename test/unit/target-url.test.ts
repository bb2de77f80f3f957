import { domainToASCII } from 'node:url';
import fc from 'fast-check';
import { nonPublicHostReason } from '../../lambdas/domain/destination-host';
import { mixedScriptLabel } from '../../lambdas/domain/host-scripts';
import { validateTargetUrl } from '../../lambdas/domain/target-url';

const SHORTENER_HOSTS = ['sho.rt', 'links.example.com:8443', '127.0.0.1:3000'];
const check = (input: unknown) => validateTargetUrl(input, SHORTENER_HOSTS);
const intranetCheck = (input: unknown) => validateTargetUrl(input, SHORTENER_HOSTS, { allowPrivateAddresses: true });

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

/** What a refusal by the address rule looks like, naming the block or name rule it breaks. */
const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const refusedAsNonPublic = (reason: string) => ({
  ok: false,
  error: expect.stringMatching(new RegExp(`^The url must point at a public host: .*${escapeRegExp(reason)}`)),
});

/** Destinations that were accepted before and must be refused, with the rule each breaks. */
const PRIVATE_DESTINATIONS: readonly (readonly [string, string])[] = [
  ['http://0.0.0.0/', '0.0.0.0 is in 0.0.0.0/8'],
  ['http://[::ffff:127.0.0.1]/', 'IPv4-mapped (::ffff:0:0/96) and 127.0.0.1 is in 127.0.0.0/8 (loopback)'],
  ['https://[::1]/', '[::1] is in ::1/128 (loopback)'],
  ['http://169.254.169.254/latest/meta-data/', '169.254.169.254 is in 169.254.0.0/16'],
  ['http://[fd00:ec2::254]/', '[fd00:ec2::254] is in fc00::/7'],
  ['http://metadata.google.internal/computeMetadata/v1/', 'metadata.google.internal is a private-use name under .internal'],
  ['http://localhost:3000/demo', 'localhost is a loopback name'],
  ['http://100.100.100.200/latest/meta-data/', '100.100.100.200 is in 100.64.0.0/10'],
  ['http://10.0.0.1/', '10.0.0.1 is in 10.0.0.0/8 (private)'],
  ['http://metadata/computeMetadata/v1/', 'metadata is a single-label name'],
  ['http://printer.local/', 'printer.local is a multicast DNS name'],
  ['http://LocalHost./', 'localhost is a loopback name'],
  ['http://%6c%6f%63%61%6c%68%6f%73%74/', 'localhost is a loopback name'],
  ['http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/', 'localhost is a loopback name'],
];

describe('validateTargetUrl: public destinations only, by default', () => {
  it.each(PRIVATE_DESTINATIONS)('refuses %s', (input, reason) => {
    expect(check(input)).toEqual(refusedAsNonPublic(reason));
  });

  it.each(PRIVATE_DESTINATIONS)('accepts %s when the deployment allows private destinations', (input) => {
    expect(intranetCheck(input).ok).toBe(true);
  });

  it('still refuses what points back at the shortener when private destinations are allowed', () => {
    expect(intranetCheck('http://127.0.0.1:3000/abc')).toEqual({ ok: false, error: 'The url must not point back at this link shortener.' });
  });

  it.each([
    ['a decimal number', 'http://2130706434/', '127.0.0.2'],
    ['an octal quad', 'http://0177.0.0.2/', '127.0.0.2'],
    ['a hex short form', 'http://0x7f.2/', '127.0.0.2'],
    ['a short form', 'http://10.1/', '10.0.0.1'],
    ['a hex number', 'http://0xA9FEA9FE/', '169.254.169.254'],
    ['a trailing dot', 'http://192.168.0.1./', '192.168.0.1'],
    ['an IPv6 dotted tail', 'http://[64:ff9b::10.0.0.1]/', '10.0.0.1'],
  ])('refuses a private address written as %s', (_, input, address) => {
    expect(check(input)).toEqual(refusedAsNonPublic(`${address} is in`));
  });
});

/** Address blocks refused by default (RFC 6890, IANA special-purpose registries), as the tests see them. */
const PRIVATE_IPV4_BLOCKS = [
  '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24',
  '192.168.0.0/16', '198.18.0.0/15', '224.0.0.0/4', '240.0.0.0/4',
] as const;

const parseCidr = (cidr: string): { readonly first: number; readonly size: number } => {
  const [base, bits] = cidr.split('/');
  return { first: base.split('.').reduce((value, octet) => value * 256 + Number(octet), 0), size: 2 ** (32 - Number(bits)) };
};

const octetsOf = (address: number): number[] => [address >>> 24, (address >>> 16) & 0xff, (address >>> 8) & 0xff, address & 0xff];

/** Every way the WHATWG URL parser accepts an IPv4 host (it normalises them all to a dotted quad). */
const IPV4_FORMS: Readonly<Record<string, (address: number) => string>> = {
  'dotted decimal': (address) => octetsOf(address).join('.'),
  'one decimal number': (address) => String(address),
  'one hex number': (address) => `0x${address.toString(16)}`,
  'one octal number': (address) => `0${address.toString(8)}`,
  'dotted hex': (address) => octetsOf(address).map((octet) => `0X${octet.toString(16).toUpperCase()}`).join('.'),
  'dotted octal': (address) => octetsOf(address).map((octet) => `0${octet.toString(8)}`).join('.'),
  'a.b.c with a 16-bit tail': (address) => `${address >>> 24}.${(address >>> 16) & 0xff}.${address & 0xffff}`,
  'a.b with a 24-bit tail': (address) => `${address >>> 24}.${address & 0xffffff}`,
  'dotted decimal and a trailing dot': (address) => `${octetsOf(address).join('.')}.`,
};

const FORM_NAMES = Object.keys(IPV4_FORMS);

/** Any address of the block, as a 32-bit number (fast-check leans towards its first and last ones). */
const addressIn = (cidr: string): fc.Arbitrary<number> => {
  const { first, size } = parseCidr(cidr);
  return fc.integer({ min: first, max: first + size - 1 });
};

/** Any address of any refused block. */
const privateIpv4Address = fc.oneof(...PRIVATE_IPV4_BLOCKS.map(addressIn));

const PRIVATE_IPV4_RANGES = PRIVATE_IPV4_BLOCKS.map(parseCidr);

/** Any address outside every refused block, often one just before or after a block, where an off-by-one would show. */
const publicIpv4Address = fc
  .oneof(
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 2 ** 32 - 1 }) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...PRIVATE_IPV4_RANGES), fc.integer({ min: -256, max: 255 }))
        .map(([{ first, size }, offset]) => (offset < 0 ? first + offset : first + size + offset)),
    },
  )
  .filter(
    (address) =>
      address >= 0 && address < 2 ** 32 && PRIVATE_IPV4_RANGES.every(({ first, size }) => address < first || address >= first + size),
  );

describe('validateTargetUrl: properties over generated addresses', () => {
  // No shortener host, so the address rule is the one that answers even for 127.0.0.1.
  const publicOnly = (input: string) => validateTargetUrl(input, []);

  it.each(PRIVATE_IPV4_BLOCKS)('refuses any address in %s, in any form the URL parser accepts, naming the block', (cidr) => {
    fc.assert(
      fc.property(addressIn(cidr), fc.constantFrom(...FORM_NAMES), fc.constantFrom('http', 'https'), (address, form, scheme) => {
        const result = publicOnly(`${scheme}://${IPV4_FORMS[form](address)}/path`);
        expect(result).toEqual({ ok: false, error: expect.stringContaining(`${octetsOf(address).join('.')} is in ${cidr}`) });
      }),
      { numRuns: 300 },
    );
  });

  it('refuses any private IPv4 address embedded in IPv6 (mapped, compatible, NAT64, 6to4)', () => {
    const hex = (value: number): string => value.toString(16);
    fc.assert(
      fc.property(privateIpv4Address, fc.nat({ max: 0xffff }), (address, interfaceId) => {
        const high = hex(address >>> 16);
        const low = hex(address & 0xffff);
        const dotted = octetsOf(address).join('.');
        const hosts = [`::ffff:${dotted}`, `::ffff:${high}:${low}`, `64:ff9b::${dotted}`, `2002:${high}:${low}::${hex(interfaceId)}`];
        // ::/96 with a zero address is :: itself (and ::1 is loopback): both are refused, under their own names.
        if (address > 1) hosts.push(`::${dotted}`);
        for (const host of hosts) {
          expect({ host, result: publicOnly(`http://[${host}]/`) }).toEqual({
            host,
            result: { ok: false, error: expect.stringContaining(`${dotted} is in`) },
          });
        }
      }),
      { numRuns: 600 },
    );
  });

  it('accepts any public IPv4 address in any form, as its dotted quad', () => {
    fc.assert(
      fc.property(publicIpv4Address, fc.constantFrom(...FORM_NAMES), (address, form) => {
        expect(publicOnly(`https://${IPV4_FORMS[form](address)}/`)).toEqual({ ok: true, url: `https://${octetsOf(address).join('.')}/` });
      }),
      { numRuns: 1_000 },
    );
  });

  it('never throws on arbitrary input, and what it accepts passes every host rule', () => {
    const scheme = fc.constantFrom('http://', 'https://', 'HTTP://', 'https://user@', 'ftp://', 'http:', '');
    // Pieces that reach the rules: numbers, special names, IDNA oddities, and letters of other scripts (for look-alikes).
    const hostPiece = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.constantFrom(
          'a', 'Z', '0', '7', '127', '255', '0x7f', 'ff', '-', '_', 'localhost', 'local', 'internal', 'home', 'arpa', 'xn--', 'example',
          'com', '\u200d', '\u0301', '%2e', '[', ']', '::', ':', ' ',
        ),
      },
      { weight: 3, arbitrary: fc.constantFrom('\u0430', '\u03b1', '\u00df', '\u6f22', '\u3072', '\u30ab', '\ud55c', '\u0627') },
    );
    const label = fc.array(hostPiece, { minLength: 1, maxLength: 3 }).map((pieces) => pieces.join(''));
    const separator = fc.constantFrom('.', '.', '.', '\uff0e', '\u3002', '%2e', '');
    const tail = fc.constantFrom('', '/', '/path?q=1#x', ':8080/', ':99999/', '\\', '/\u0430', '@evil.com/');
    const hostLike = fc
      .tuple(scheme, label, fc.array(fc.tuple(separator, label), { maxLength: 3 }), tail)
      .map(([start, first, rest, end]) => start + first + rest.map(([dot, next]) => dot + next).join('') + end);
    // And now and then any code points at all after the scheme.
    const anyAfterScheme = fc.tuple(scheme, fc.string({ unit: 'binary', maxLength: 40 })).map(([start, rest]) => start + rest);
    const input = fc.oneof({ weight: 9, arbitrary: hostLike }, { weight: 1, arbitrary: anyAfterScheme });
    const outcomes = { accepted: 0, mixedScripts: 0, nonPublic: 0 };
    fc.assert(
      fc.property(input, (generated) => {
        const result = publicOnly(generated);
        if (result.ok) {
          outcomes.accepted += 1;
          const { hostname } = new URL(result.url);
          expect({ generated, nonPublic: nonPublicHostReason(hostname), mixed: mixedScriptLabel(hostname) }).toEqual({
            generated,
            nonPublic: null,
            mixed: null,
          });
        } else {
          expect(result.error).toMatch(/^The (url|url's host) /);
          if (result.error.startsWith("The url's host mixes scripts")) outcomes.mixedScripts += 1;
          if (result.error.startsWith('The url must point at a public host')) outcomes.nonPublic += 1;
        }
      }),
      { numRuns: 3_000 },
    );
    // The generator reaches the rules under test, not only the parser's refusals.
    for (const count of Object.values(outcomes)) expect(count).toBeGreaterThan(50);
  });
});

describe('validateTargetUrl: one script per host label', () => {
  it.each([
    ['a Cyrillic \u0430 in a Latin name', 'https://ex\u0430mple.com/', 'ex\u0430mple', 'Latin, Cyrillic'],
    ['the same, already in punycode', `https://${domainToASCII('ex\u0430mple.com')}/`, 'ex\u0430mple', 'Latin, Cyrillic'],
    ['a Greek \u03b1 in a Latin name', 'https://p\u03b1ypal.com/', 'p\u03b1ypal', 'Latin, Greek'],
    ['Cyrillic beside digits and a hyphen', 'https://\u0430pple-123.com/', '\u0430pple-123', 'Cyrillic, Latin'],
    ['Katakana with Hangul', 'https://\u30c6\u30b9\u30c8\ud55c\uad6d.com/', '\u30c6\u30b9\u30c8\ud55c\uad6d', 'Katakana, Hangul'],
  ])('refuses %s, naming the label and its scripts', (_, input, label, scripts) => {
    expect(check(input)).toEqual({
      ok: false,
      error: `The url's host mixes scripts in one label ("${label}": ${scripts}), as look-alike host names do.`,
    });
  });

  it('refuses mixed scripts even when private destinations are allowed', () => {
    expect(intranetCheck('https://ex\u0430mple.com/').ok).toBe(false);
  });

  it.each([
    ['Latin with diacritics', 'https://b\u00fccher.de/'],
    ['Cyrillic throughout, under a Latin top-level domain', 'https://\u043f\u0440\u0438\u043c\u0435\u0440.com/'],
    ['Greek throughout', 'https://\u03b1\u03b2\u03b3.gr/'],
    ['Japanese: Han, Hiragana, Katakana and Latin', 'https://\u65e5\u672c\u3072\u3089\u30ab\u30bfabc.jp/'],
    ['Chinese with Bopomofo and Latin', 'https://\u6f22\u3105abc.tw/'],
    ['Korean: Hangul, Han and Latin', 'https://\ud55c\uad6d\u6f22abc.kr/'],
    ['Arabic throughout', 'https://\u0645\u062b\u0627\u0644.com/'],
  ])('accepts %s', (_, input) => {
    expect(check(input).ok).toBe(true);
  });
});
