import { describeUserAgent } from '../../lambdas/domain/user-agent';
import { USER_AGENTS } from '../fixtures/user-agents';

describe('describeUserAgent', () => {
  it.each([
    ['Chrome on Windows', USER_AGENTS.chromeWindows, { device: 'desktop', browser: 'Chrome', os: 'Windows' }],
    ['Safari on iPhone', USER_AGENTS.safariIphone, { device: 'mobile', browser: 'Mobile Safari', os: 'iOS' }],
    ['Samsung Internet on a tablet', USER_AGENTS.samsungTablet, { device: 'tablet', browser: 'Samsung Internet', os: 'Android' }],
    ['Firefox on Linux', USER_AGENTS.firefoxLinux, { device: 'desktop', browser: 'Firefox', os: 'Linux' }],
    ['Edge', USER_AGENTS.edgeWindows, { device: 'desktop', browser: 'Edge', os: 'Windows' }],
    ['curl', USER_AGENTS.curl, { device: 'unknown', browser: 'unknown', os: 'unknown' }],
    ['Googlebot', USER_AGENTS.googlebot, { device: 'unknown', browser: 'unknown', os: 'unknown' }],
    ['facebookexternalhit', USER_AGENTS.facebookexternalhit, { device: 'unknown', browser: 'unknown', os: 'unknown' }],
    ['an empty User-Agent', USER_AGENTS.empty, { device: 'unknown', browser: 'unknown', os: 'unknown' }],
  ])('%s', (_, userAgent, expected) => {
    expect(describeUserAgent(userAgent)).toEqual(expected);
  });

  it('reports a smart TV and a console by their device type', () => {
    expect(
      describeUserAgent(
        'Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/87.0.4280.88 Safari/537.36 WebAppManager',
      ).device,
    ).toBe('smarttv');
    expect(
      describeUserAgent('Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 Safari/605.1.15')
        .device,
    ).toBe('console');
  });
});
