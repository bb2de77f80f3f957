/**
 * An in-memory CloudFront KeyValueStore for the local stack's edge redirect, with the real store's limits
 * (key and value bytes, total bytes). Where the real store refuses a write that would pass its total size,
 * this one makes room: it evicts the least recently clicked keys (read by `get`) first, and those links fall
 * back to the origin. A key enters as recently used, so a new link is not the next to go; rewriting a key's
 * value keeps its place, so refilling the store from the links table does not reset what clicks taught it.
 */
import { KEY_VALUE_STORE_LIMITS, utf8Bytes } from '../../lambdas/domain/edge-redirect';

export interface KeyValueStoreLimits {
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  readonly maxStoreBytes: number;
}

export type PutRefusal = 'empty-key' | 'key-too-large' | 'value-too-large' | 'larger-than-store';

export type PutResult =
  | { readonly stored: true; readonly evicted: readonly string[] }
  | { readonly stored: false; readonly reason: PutRefusal };

/** What the sandbox's `cf.kvs()` reads: a value, or undefined for a key the store does not hold. */
export interface KeyValueReader {
  get(key: string): string | undefined;
}

export class EdgeKeyValueStore implements KeyValueReader {
  /** Least recently used first: Map keeps insertion order, and a hit moves its key to the end. */
  private readonly entries = new Map<string, string>();
  private storedBytes = 0;

  constructor(readonly limits: KeyValueStoreLimits = KEY_VALUE_STORE_LIMITS) {}

  /** Stores or replaces `key`, evicting least recently clicked keys while the total would pass the limit. */
  put(key: string, value: string): PutResult {
    const keyBytes = utf8Bytes(key);
    const entryBytes = keyBytes + utf8Bytes(value);
    if (keyBytes === 0) return { stored: false, reason: 'empty-key' };
    if (keyBytes > this.limits.maxKeyBytes) return { stored: false, reason: 'key-too-large' };
    if (utf8Bytes(value) > this.limits.maxValueBytes) return { stored: false, reason: 'value-too-large' };
    if (entryBytes > this.limits.maxStoreBytes) return { stored: false, reason: 'larger-than-store' };

    const previous = this.entries.get(key);
    const otherBytes = this.storedBytes - (previous === undefined ? 0 : keyBytes + utf8Bytes(previous));
    const evicted: string[] = [];
    let freed = 0;
    for (const [candidate, candidateValue] of this.entries) {
      if (otherBytes - freed + entryBytes <= this.limits.maxStoreBytes) break;
      if (candidate === key) continue;
      freed += utf8Bytes(candidate) + utf8Bytes(candidateValue);
      evicted.push(candidate);
    }
    for (const gone of evicted) this.entries.delete(gone);
    // set() on an existing key keeps its place in the order, which is what a rewrite should do.
    this.entries.set(key, value);
    this.storedBytes = otherBytes - freed + entryBytes;
    return { stored: true, evicted };
  }

  delete(key: string): boolean {
    const value = this.entries.get(key);
    if (value === undefined) return false;
    this.entries.delete(key);
    this.storedBytes -= utf8Bytes(key) + utf8Bytes(value);
    return true;
  }

  /** A click's read: the value, and the key becomes the most recently used. */
  get(key: string): string | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  /** The value, without counting as a click (the data-plane API's reads). */
  peek(key: string): string | undefined {
    return this.entries.get(key);
  }

  /** Every entry in key order, without counting as clicks. */
  sortedEntries(): [string, string][] {
    return [...this.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Whether the store holds `key`, without counting as a click. */
  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Number of keys. */
  get size(): number {
    return this.entries.size;
  }

  /** Key and value bytes held, what the store's total size limit counts. */
  get bytes(): number {
    return this.storedBytes;
  }
}
