import { clientIp, networkPrefix } from '../../lambdas/domain/client-ip';

describe('clientIp', () => {
  const sourceIp = '198.51.100.7';

  it.each([
    ['203.0.113.9', '203.0.113.9'],
    ['2001:db8:85a3::8a2e:370:7334', '2001:db8:85a3::8a2e:370:7334'],
    [' ::ffff:203.0.113.9 ', '::ffff:203.0.113.9'],
  ])('takes the address in true-client-ip %p', (header, ip) => {
    expect(clientIp({ 'true-client-ip': header }, sourceIp)).toBe(ip);
  });

  it.each([
    ['absent', {}],
    ['empty', { 'true-client-ip': '' }],
    ['with a port', { 'true-client-ip': '203.0.113.9:443' }],
    ['not an address', { 'true-client-ip': 'evil.example' }],
    ['a list', { 'true-client-ip': '203.0.113.9, 198.51.100.1' }],
  ])('falls back to the source IP when the header is %s', (_, headers: Record<string, string>) => {
    expect(clientIp(headers, sourceIp)).toBe(sourceIp);
  });

  it('ignores CloudFront-Viewer-Address, which the origin request policy does not forward from CloudFront', () => {
    expect(clientIp({ 'cloudfront-viewer-address': '203.0.113.9:443' }, sourceIp)).toBe(sourceIp);
  });

  it('ignores X-Forwarded-For, which any client can set', () => {
    expect(clientIp({ 'x-forwarded-for': '203.0.113.9' }, sourceIp)).toBe(sourceIp);
  });
});

describe('networkPrefix', () => {
  it.each([
    ['203.0.113.77', '203.0.113.0'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.0'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1::'],
    ['2001:0db8:0001:0002:0003:0004:0005:0006', '2001:db8:1::'],
    ['2001:DB8:1::ABCD', '2001:db8:1::'],
    ['2001:db8::1', '2001:db8::'],
    ['2001:0:0:1::', '2001::'],
    ['::1', '::'],
    ['::', '::'],
    ['fe80:1:2:3::4', 'fe80:1:2::'],
    ['64:ff9b::192.0.2.33', '64:ff9b::'],
    ['::ffff:203.0.113.77', '203.0.113.0'],
    ['::FFFF:cb00:714d', '203.0.113.0'],
    ['0:0:0:0:0:ffff:203.0.113.77', '203.0.113.0'],
  ])('%s -> %s', (ip, prefix) => {
    expect(networkPrefix(ip)).toBe(prefix);
  });

  it.each([
    '',
    'localhost',
    '256.1.1.1',
    '1.2.3',
    '1.2.3.4.5',
    '01.2.3.4',
    '1.2.3.-1',
    ' 1.2.3.4',
    '2001:db8::1::2',
    '2001:db8:1:2:3:4:5:6:7',
    '2001:db8:1:2:3:4:5',
    '12345::1',
    'fe80::1%eth0',
    '::ffff:1.2.3.256',
    '1:2:3:4:5:6:7::1.2.3.4',
    ':::',
  ])('%p is not an address', (ip) => {
    expect(networkPrefix(ip)).toBeNull();
  });

  it('gives a prefix that is its own prefix (what the click message validation relies on)', () => {
    for (const ip of ['203.0.113.77', '2001:db8:1:2::3', '::ffff:203.0.113.77']) {
      const prefix = networkPrefix(ip);
      expect(prefix).not.toBeNull();
      expect(networkPrefix(prefix as string)).toBe(prefix);
    }
  });
});
