/** Referrers are reduced to a host at the redirect (paths and queries carry tokens and PII), then normalised. */

/** Longest DNS name; anything longer is not a host. */
export const MAX_REFERRER_HOST_LENGTH = 253;

/** The lower-case host of an http(s) Referer header, or null. */
export function referrerHost(header: string | undefined): string | null {
  if (header === undefined) return null;
  let url: URL;
  try {
    url = new URL(header.trim());
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  const host = url.hostname.replace(/\.$/, '');
  if (host === '' || host.length > MAX_REFERRER_HOST_LENGTH) return null;
  return host;
}

const MOBILE_OR_WWW_PREFIX = /^(?:www|m|mobile)\.(?=.+\..+)/;

/** Hosts that are another site's shortener, redirector or mirror, counted as that site. */
const HOST_ALIASES: ReadonlyMap<string, string> = new Map([
  ['t.co', 'twitter.com'],
  ['x.com', 'twitter.com'],
  ['l.facebook.com', 'facebook.com'],
  ['lm.facebook.com', 'facebook.com'],
  ['lnkd.in', 'linkedin.com'],
  ['out.reddit.com', 'reddit.com'],
  ['old.reddit.com', 'reddit.com'],
  ['l.instagram.com', 'instagram.com'],
]);

export const DIRECT_REFERRER = '(direct)';

/** The referrer as counted in statistics: '(direct)' when there is none. */
export function normaliseReferrer(host: string | null): string {
  const lowered = host?.trim().toLowerCase().replace(/\.$/, '') ?? '';
  if (lowered === '') return DIRECT_REFERRER;
  const stripped = lowered.replace(MOBILE_OR_WWW_PREFIX, '');
  return HOST_ALIASES.get(stripped) ?? stripped;
}
