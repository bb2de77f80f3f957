/**
 * Share links: a read-only view of one link's dashboard for whoever holds the link, as Plausible and
 * Dub offer. The token is a share-kind API key (api-key.ts); this module holds the rules around it.
 */
import { OWN_PATH_SEGMENTS } from './short-code';

export const MAX_SHARE_LABEL_LENGTH = 64;
/**
 * Shares a link may have, revoked ones included (they stay listed): far more than a team hands out, and
 * no more than the 100 keys one BatchGetItem takes, which reads them all (docs/design.md, "How a link's
 * shares are found").
 */
export const MAX_SHARES_PER_LINK = 100;

/**
 * Refused in a label: control characters (a newline would split a line of `npm run keys list`), lone
 * surrogates (not text), line and paragraph separators, and the bidirectional overrides and isolates
 * that make a label read as something else in a terminal or a page.
 */
const FORBIDDEN_IN_LABEL = /[\p{Cc}\p{Cs}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069]/u;

export type ShareLabelCheck = { readonly ok: true; readonly label: string | null } | { readonly ok: false; readonly error: string };

/**
 * A label as a client sends it: absent, null or blank means none; otherwise trimmed, at most 64
 * characters (code points, as people count them), without the characters above.
 */
export function checkShareLabel(input: unknown): ShareLabelCheck {
  if (input === undefined || input === null) return { ok: true, label: null };
  if (typeof input !== 'string') return { ok: false, error: `"label" must be a string of at most ${MAX_SHARE_LABEL_LENGTH} characters.` };
  const label = input.trim();
  if ([...label].length > MAX_SHARE_LABEL_LENGTH) return { ok: false, error: `"label" must be at most ${MAX_SHARE_LABEL_LENGTH} characters.` };
  if (FORBIDDEN_IN_LABEL.test(label)) return { ok: false, error: '"label" may not hold control, separator or text-direction characters.' };
  return { ok: true, label: label === '' ? null : label };
}

/**
 * The dashboard address that opens the share: the token rides in the fragment, which browsers never
 * send, so it reaches no server, proxy or access log; the link's code tells the page which link it
 * reads (no route names it for the token).
 */
export function shareDashboardUrl(shortLinkBase: string, token: string, code: string): string {
  return `${shortLinkBase}/${OWN_PATH_SEGMENTS.dashboard}#${new URLSearchParams({ share: token, link: code }).toString()}`;
}
