/** Validation of the URL a short link redirects to. */

export type UrlCheck = { ok: true; url: string } | { ok: false; error: string };

export const MAX_TARGET_URL_LENGTH = 2048;

/** Lower-case host without port or trailing dot, in the URL parser's (punycode) form. */
function comparableHost(host: string): string {
  let hostname: string;
  try {
    hostname = new URL(`http://${host.trim()}`).hostname;
  } catch {
    hostname = host.trim().toLowerCase();
  }
  return hostname.replace(/\.$/, '');
}

export function validateTargetUrl(input: unknown, shortenerHosts: readonly string[]): UrlCheck {
  if (typeof input !== 'string') return { ok: false, error: 'The url must be a string.' };
  const trimmed = input.trim();
  if (trimmed === '') return { ok: false, error: 'The url must not be empty.' };
  if (trimmed.length > MAX_TARGET_URL_LENGTH) {
    return { ok: false, error: `The url must be at most ${MAX_TARGET_URL_LENGTH} characters long.` };
  }
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return { ok: false, error: 'The url is not a valid absolute URL.' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, error: 'The url must use http or https.' };
  }
  if (url.hostname === '') return { ok: false, error: 'The url must have a host.' };
  if (url.username !== '' || url.password !== '') {
    return { ok: false, error: 'The url must not contain a user name or password.' };
  }
  const host = comparableHost(url.hostname);
  if (shortenerHosts.some((shortener) => comparableHost(shortener) === host)) {
    return { ok: false, error: 'The url must not point back at this link shortener.' };
  }
  // Normalisation can lengthen the URL (percent-encoding, punycode): the stored form must fit too.
  if (url.href.length > MAX_TARGET_URL_LENGTH) {
    return { ok: false, error: `The url must be at most ${MAX_TARGET_URL_LENGTH} characters long.` };
  }
  return { ok: true, url: url.href };
}
