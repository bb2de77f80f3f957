import fc from 'fast-check';
import { nonPublicHostReason } from '../../lambdas/domain/destination-host';

describe('nonPublicHostReason', () => {
  it.each([
    ['0.0.0.0', '0.0.0.0/8'],
    ['0.255.255.255', '0.0.0.0/8'],
    ['10.0.0.0', '10.0.0.0/8'],
    ['10.255.255.255', '10.0.0.0/8'],
    ['100.64.0.0', '100.64.0.0/10'],
    ['100.100.100.200', '100.64.0.0/10'],
    ['100.127.255.255', '100.64.0.0/10'],
    ['127.0.0.1', '127.0.0.0/8'],
    ['127.255.255.254', '127.0.0.0/8'],
    ['169.254.0.0', '169.254.0.0/16'],
    ['169.254.169.254', '169.254.0.0/16'],
    ['172.16.0.0', '172.16.0.0/12'],
    ['172.31.255.255', '172.16.0.0/12'],
    ['192.0.0.0', '192.0.0.0/24'],
    ['192.0.0.255', '192.0.0.0/24'],
    ['192.168.0.1', '192.168.0.0/16'],
    ['198.18.0.0', '198.18.0.0/15'],
    ['198.19.255.255', '198.18.0.0/15'],
    ['224.0.0.1', '224.0.0.0/4'],
    ['239.255.255.255', '224.0.0.0/4'],
    ['240.0.0.0', '240.0.0.0/4'],
    ['255.255.255.255', '240.0.0.0/4'],
  ])('refuses the IPv4 address %s (%s)', (host, block) => {
    expect(nonPublicHostReason(host)).toContain(`${host} is in ${block}`);
  });

  it.each([
    '1.1.1.1', '8.8.8.8', '9.255.255.255', '11.0.0.0', '100.63.255.255', '100.128.0.0', '126.255.255.255', '128.0.0.0',
    '169.253.255.255', '169.255.0.0', '172.15.255.255', '172.32.0.0', '192.0.1.0', '192.167.255.255', '192.169.0.0',
    '198.17.255.255', '198.20.0.0', '223.255.255.255',
  ])('accepts the public IPv4 address %s, just outside a block', (host) => {
    expect(nonPublicHostReason(host)).toBeNull();
  });

  it.each([
    ['[::]', '::/128'],
    ['[::1]', '::1/128'],
    ['[fc00::]', 'fc00::/7'],
    ['[fd00:ec2::254]', 'fc00::/7'],
    ['[fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]', 'fc00::/7'],
    ['[fe80::1]', 'fe80::/10'],
    ['[febf::1]', 'fe80::/10'],
    ['[fec0::1]', 'fec0::/10'],
    ['[ff02::1]', 'ff00::/8'],
  ])('refuses the IPv6 address %s (%s)', (host, block) => {
    expect(nonPublicHostReason(host)).toContain(`is in ${block}`);
  });

  it.each([
    ['[::ffff:7f00:1]', 'IPv4-mapped', '127.0.0.1 is in 127.0.0.0/8'],
    ['[::ffff:127.0.0.1]', 'IPv4-mapped', '127.0.0.1 is in 127.0.0.0/8'],
    ['[::a9fe:a9fe]', 'IPv4-compatible', '169.254.169.254 is in 169.254.0.0/16'],
    ['[::0.0.0.2]', 'IPv4-compatible', '0.0.0.2 is in 0.0.0.0/8'],
    ['[64:ff9b::a00:1]', 'NAT64', '10.0.0.1 is in 10.0.0.0/8'],
    ['[2002:c0a8:101::1]', '6to4', '192.168.1.1 is in 192.168.0.0/16'],
  ])('judges %s by the IPv4 address it embeds (%s)', (host, mechanism, reason) => {
    expect(nonPublicHostReason(host)).toContain(mechanism);
    expect(nonPublicHostReason(host)).toContain(reason);
  });

  it.each(['[2001:db8::1]', '[2606:4700:4700::1111]', '[::ffff:808:808]', '[64:ff9b::808:808]', '[2002:808:808::1]', '[fbff::1]', '[fe7f::1]'])(
    'accepts the public IPv6 address %s',
    (host) => {
      expect(nonPublicHostReason(host)).toBeNull();
    },
  );

  it.each([
    ['localhost', 'loopback name'],
    ['localhost.', 'loopback name'],
    ['api.localhost', 'loopback name'],
    ['printer.local', 'multicast DNS'],
    ['metadata.google.internal', '.internal'],
    ['home.arpa', 'home network'],
    ['nas.home.arpa', 'home network'],
    ['invalid', 'never resolves'],
    ['x.invalid', 'never resolves'],
    ['metadata', 'single-label'],
    ['intranet', 'single-label'],
    ['', 'single-label'],
  ])('refuses the name %j (%s)', (host, reason) => {
    expect(nonPublicHostReason(host)).toContain(reason);
  });

  it.each(['example.com', 'localhost.example.com', 'local.example.org', 'internal.example.net', 'arpa.example', 'xn--bcher-kva.de'])(
    'accepts the public name %s',
    (host) => {
      expect(nonPublicHostReason(host)).toBeNull();
    },
  );

  it('refuses a bracketed host that is no IPv6 address rather than guess', () => {
    expect(nonPublicHostReason('[not-an-address]')).toContain('not an IPv6 address');
    expect(nonPublicHostReason('[1:2:3:4:5:6:7:8:9]')).toContain('not an IPv6 address');
  });

  it('never throws, and answers a reason or null, for arbitrary strings', () => {
    const pieces = fc
      .array(fc.constantFrom('a', 'z', '0', '9', 'f', ':', '.', '[', ']', '-', '%', 'x', 'ff', '::', '256', '\u0430', '\u00df', '\u200d'), {
        maxLength: 23,
        size: 'max',
      })
      .map((parts) => parts.join(''));
    // Near-addresses and near-names, the same in brackets (the IPv6 parser's input), real addresses, and any code points.
    const host = fc.oneof(
      { weight: 4, arbitrary: pieces },
      { weight: 2, arbitrary: pieces.map((inside) => `[${inside}]`) },
      { weight: 1, arbitrary: fc.ipV4() },
      { weight: 1, arbitrary: fc.ipV6().map((address) => `[${address}]`) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    );
    const outcomes = { public: 0, refused: 0 };
    fc.assert(
      fc.property(host, (generated) => {
        const reason = nonPublicHostReason(generated);
        expect({ generated, answer: reason === null || (typeof reason === 'string' && reason.length > 0) }).toEqual({ generated, answer: true });
        outcomes[reason === null ? 'public' : 'refused'] += 1;
      }),
      { numRuns: 2_000 },
    );
    // Both answers are reached.
    for (const count of Object.values(outcomes)) expect(count).toBeGreaterThan(100);
  });
});
