/**
 * How the edge redirect's KeyValueStore follows the links table (docs/edge.md): from a stream record's
 * old and new link to the store change, the last change of each code in a batch, and the UpdateKeys
 * requests that carry them.
 */
import { edgeRedirectEntry, type EdgeRedirectEntry } from './edge-redirect';

/** What the store needs of a link image; null for no image, a tombstone or an item without a URL. */
export interface StreamedLink {
  readonly url: string;
  readonly disabled: boolean;
}

export type EdgeStoreChange =
  | { readonly kind: 'put'; readonly key: string; readonly value: string }
  | { readonly kind: 'delete'; readonly key: string };

/**
 * UpdateKeys takes at most 50 keys (or 3 MB, whichever comes first: docs/edge.md). 50 entries of at most
 * 512 + 1,024 bytes stay far under 3 MB, so the key count is the only bound a request can reach.
 */
export const MAX_KEYS_PER_UPDATE = 50;

/** The entry a link image puts in the store, or null when that image keeps the code out of it. */
function storedEntry(code: string, link: StreamedLink | null): EdgeRedirectEntry | null {
  if (link === null || link.disabled) return null;
  return edgeRedirectEntry(code, link.url);
}

/**
 * The store change of one links-table change: a put for a live link whose entry fits, a delete when the
 * old image had an entry and the new one has none (disabled, deleted, tombstoned, or a URL that no longer
 * fits), null when the entry did not change (an `updatedAt` alone, a link that never fitted).
 */
export function edgeStoreChange(code: string, before: StreamedLink | null, after: StreamedLink | null): EdgeStoreChange | null {
  const previous = storedEntry(code, before);
  const next = storedEntry(code, after);
  if (next !== null) return previous?.value === next.value ? null : { kind: 'put', key: next.key, value: next.value };
  return previous === null ? null : { kind: 'delete', key: code };
}

/** One change a key: the last one, since a shard's records arrive in order and each overwrites the key. */
export function lastChangePerKey(changes: readonly EdgeStoreChange[]): EdgeStoreChange[] {
  const byKey = new Map<string, EdgeStoreChange>();
  for (const change of changes) byKey.set(change.key, change);
  return [...byKey.values()];
}

/** The changes cut into UpdateKeys requests of at most `maxKeys` keys, in order. */
export function updateRequests(changes: readonly EdgeStoreChange[], maxKeys: number = MAX_KEYS_PER_UPDATE): EdgeStoreChange[][] {
  const requests: EdgeStoreChange[][] = [];
  for (let start = 0; start < changes.length; start += maxKeys) requests.push(changes.slice(start, start + maxKeys));
  return requests;
}
