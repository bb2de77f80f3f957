/**
 * The entries of the edge redirect's CloudFront KeyValueStore (redirectMode=edge, docs/edge.md): the key is
 * the short code, the value the destination URL exactly as the origin redirect sends it in `location`.
 * A link whose entry breaks the store's limits, or whose URL is not plain printable ASCII, is left out:
 * its clicks fall through to the origin, which answers every link.
 */
import { parseShortCode } from './short-code';

/** CloudFront's KeyValueStore quotas, in UTF-8 bytes (docs/edge.md cites them). */
export const KEY_VALUE_STORE_LIMITS = {
  maxKeyBytes: 512,
  maxValueBytes: 1024,
  maxStoreBytes: 5 * 1024 * 1024,
} as const;

export interface EdgeRedirectEntry {
  readonly key: string;
  readonly value: string;
}

/** What lambdas/edge/redirect-function.js answers from: anything else there falls through to the origin. */
const EDGE_REDIRECT_TARGET = /^https?:\/\/[\x21-\x7e]+$/i;

export const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/** The store entry for a link, or null when the link must be left to the origin. */
export function edgeRedirectEntry(code: string, url: string): EdgeRedirectEntry | null {
  if (parseShortCode(code) === null || utf8Bytes(code) > KEY_VALUE_STORE_LIMITS.maxKeyBytes) return null;
  if (!EDGE_REDIRECT_TARGET.test(url) || utf8Bytes(url) > KEY_VALUE_STORE_LIMITS.maxValueBytes) return null;
  return { key: code, value: url };
}
