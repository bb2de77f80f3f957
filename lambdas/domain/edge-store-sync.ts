/**
 * How the edge redirect's KeyValueStore follows the links table (docs/edge.md): from a stream record's
 * old and new link to the store change, the last change of each code in a batch, the UpdateKeys requests
 * that carry them, and which links leave the full store to make room (the least recently clicked).
 */
import { localDayOf } from './buckets';
import { edgeRedirectEntry, utf8Bytes, type EdgeRedirectEntry } from './edge-redirect';

/** What the store needs of a link image; null for no image, a tombstone or an item without a URL. */
export interface StreamedLink {
  readonly url: string;
  readonly disabled: boolean;
  /** The links item carries the mark of a link the store holds (set by the sync after its put). */
  readonly held: boolean;
  /** The day (reporting zone, YYYY-MM-DD) of its latest click, else of its creation: linkRecency. */
  readonly recency: string;
}

/**
 * A put carries the link's recency (it may displace less recently clicked links) and a delete whether the
 * links item is marked as held; both say so, for the mark is set or cleared once the store has changed.
 */
export type EdgeStoreChange =
  | { readonly kind: 'put'; readonly key: string; readonly value: string; readonly recency: string; readonly held: boolean }
  | { readonly kind: 'delete'; readonly key: string; readonly held: boolean };

export type EdgePut = Extract<EdgeStoreChange, { kind: 'put' }>;

/**
 * UpdateKeys takes at most 50 keys (or 3 MB, whichever comes first: docs/edge.md). 50 entries of at most
 * 512 + 1,024 bytes stay far under 3 MB, so the key count is the only bound a request can reach.
 */
export const MAX_KEYS_PER_UPDATE = 50;

/** The recency of a link with neither a click day nor a creation time (an item written by hand): the least of all. */
export const EARLIEST_RECENCY = '0000-01-01';
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** A link's recency: the day of its latest click as the rollup recorded it, else the day it was created, in the zone. */
export function linkRecency(lastClickDay: string | null, createdAt: string | null, tz: string): string {
  if (lastClickDay !== null && DAY.test(lastClickDay)) return lastClickDay;
  const created = createdAt === null ? Number.NaN : Date.parse(createdAt);
  return Number.isNaN(created) ? EARLIEST_RECENCY : localDayOf(created, tz);
}

/** The entry a link image puts in the store, or null when that image keeps the code out of it. */
function storedEntry(code: string, link: StreamedLink | null): EdgeRedirectEntry | null {
  if (link === null || link.disabled) return null;
  return edgeRedirectEntry(code, link.url);
}

/**
 * The store change of one links-table change:
 * - a put for a live link whose entry changed (created, new URL, re-enabled), or whose link the store does
 *   not hold and that was clicked on a later day than before (it may now displace a less recent one);
 * - a delete when the new image has no entry and the old one had one, or the item is still marked held
 *   (disabled, deleted, tombstoned, or a URL that no longer fits);
 * - null otherwise: an `updatedAt` alone, a link that never fitted, and the sync's own marks (held set or
 *   cleared, nothing else changed), so its writes to the links table do not come back as work.
 */
export function edgeStoreChange(code: string, before: StreamedLink | null, after: StreamedLink | null): EdgeStoreChange | null {
  const previous = storedEntry(code, before);
  const next = storedEntry(code, after);
  if (next !== null && after !== null) {
    const moved = previous?.value !== next.value;
    const clickedAgain = !after.held && (before === null || after.recency > before.recency);
    return moved || clickedAgain ? { kind: 'put', key: next.key, value: next.value, recency: after.recency, held: after.held } : null;
  }
  const held = after?.held === true;
  return previous === null && !held ? null : { kind: 'delete', key: code, held };
}

/** One change a key: the last one, since a shard's records arrive in order and each overwrites the key. */
export function lastChangePerKey(changes: readonly EdgeStoreChange[]): EdgeStoreChange[] {
  const byKey = new Map<string, EdgeStoreChange>();
  for (const change of changes) byKey.set(change.key, change);
  return [...byKey.values()];
}

/** The changes cut into UpdateKeys requests of at most `maxKeys` keys, in order. */
export function updateRequests<T>(changes: readonly T[], maxKeys: number = MAX_KEYS_PER_UPDATE): T[][] {
  const requests: T[][] = [];
  for (let start = 0; start < changes.length; start += maxKeys) requests.push(changes.slice(start, start + maxKeys));
  return requests;
}

/** A link the store holds, as the links table lists them, least recently clicked first. */
export interface HeldLink {
  readonly key: string;
  readonly value: string;
  /** Its `lastClickDay` as listed: the eviction takes it only if the item still has it. */
  readonly recency: string;
}

/** Bytes an entry takes of the store's total: key plus value (docs/edge.md). */
export const entryBytes = (entry: { readonly key: string; readonly value: string }): number => utf8Bytes(entry.key) + utf8Bytes(entry.value);

/**
 * The links to delete from the full store so that `put` fits: from `held` (least recently clicked first),
 * those clicked on an earlier day than `put`, in order, until they free the put's own bytes. A store that
 * refused the put holds at most its limit, so freeing the entry's size is always enough (at most one
 * entry more than the least), and needs neither the limit nor the store's own count. Never the put's own
 * key, never a link clicked on the put's day or later: a tie stays, so two links of a day cannot displace
 * each other, and an evicted link comes back only once clicked on a later day. Null when these links
 * cannot free enough: then the put stays with the origin.
 */
export function evictionVictims(held: readonly HeldLink[], put: EdgePut): HeldLink[] | null {
  const need = entryBytes(put);
  const victims: HeldLink[] = [];
  let freed = 0;
  for (const link of held) {
    if (freed >= need || link.recency >= put.recency) break;
    if (link.key === put.key) continue;
    victims.push(link);
    freed += entryBytes(link);
  }
  return freed >= need ? victims : null;
}
