/** Validation of the URL a short link redirects to (the rules are listed in the README, "What links are refused"). */
import { nonPublicHostReason } from './destination-host';
import { mixedScriptLabel } from './host-scripts';

export type UrlCheck = { ok: true; url: string } | { ok: false; error: string };

export const MAX_TARGET_URL_LENGTH = 2048;

export interface TargetUrlOptions {
  /**
   * Lets links point at loopback, private, link-local and other non-public hosts, for intranet
   * deployments (the context option `allowPrivateDestinations`). The other rules still apply.
   */
  readonly allowPrivateAddresses: boolean;
}

/** Unless the deployment says otherwise, links go to public hosts only. */
const PUBLIC_DESTINATIONS_ONLY: TargetUrlOptions = { allowPrivateAddresses: false };

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

export function validateTargetUrl(
  input: unknown,
  shortenerHosts: readonly string[],
  options: TargetUrlOptions = PUBLIC_DESTINATIONS_ONLY,
): UrlCheck {
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
  const mixed = mixedScriptLabel(host);
  if (mixed !== null) {
    return {
      ok: false,
      error: `The url's host mixes scripts in one label ("${mixed.label}": ${mixed.scripts.join(', ')}), as look-alike host names do.`,
    };
  }
  const nonPublic = options.allowPrivateAddresses ? null : nonPublicHostReason(host);
  if (nonPublic !== null) return { ok: false, error: `The url must point at a public host: ${nonPublic}.` };
  // Normalisation can lengthen the URL (percent-encoding, punycode): the stored form must fit too.
  if (url.href.length > MAX_TARGET_URL_LENGTH) {
    return { ok: false, error: `The url must be at most ${MAX_TARGET_URL_LENGTH} characters long.` };
  }
  return { ok: true, url: url.href };
}
