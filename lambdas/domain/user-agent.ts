/** Device, browser and OS of a User-Agent, for breakdowns (ua-parser-js 1.x: 2.x is AGPL). */
import UAParser from 'ua-parser-js';

export const UNKNOWN = 'unknown';

export function describeUserAgent(userAgent: string): { device: string; browser: string; os: string } {
  const { device, browser, os } = new UAParser(userAgent).getResult();
  const recognised = browser.name !== undefined || os.name !== undefined;
  return {
    // ua-parser-js reports no device type for desktops: a known browser or OS without one is a desktop.
    device: device.type ?? (recognised ? 'desktop' : UNKNOWN),
    browser: browser.name ?? UNKNOWN,
    os: os.name ?? UNKNOWN,
  };
}
