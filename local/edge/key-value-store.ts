/**
 * An in-memory CloudFront KeyValueStore for the local stack's edge redirect, with the real store's limits
 * (key and value bytes, total bytes). Like the real store it evicts nothing: a write that would pass the
 * total size is refused, and which links make room is the store sync's choice (docs/edge.md).
 */
import { KEY_VALUE_STORE_LIMITS, utf8Bytes } from '../../lambdas/domain/edge-redirect';

export interface KeyValueStoreLimits {
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  readonly maxStoreBytes: number;
}

export type PutRefusal = 'empty-key' | 'key-too-large' | 'value-too-large' | 'store-full';

export type PutResult = { readonly stored: true } | { readonly stored: false; readonly reason: PutRefusal };

/** What the sandbox's `cf.kvs()` reads: a value, or undefined for a key the store does not hold. */
export interface KeyValueReader {
  get(key: string): string | undefined;
}

export class EdgeKeyValueStore implements KeyValueReader {
  private readonly entries = new Map<string, string>();
  private storedBytes = 0;

  constructor(readonly limits: KeyValueStoreLimits = KEY_VALUE_STORE_LIMITS) {}

  /** Stores or replaces `key`, unless the entry breaks a limit or the total would pass the store's size. */
  put(key: string, value: string): PutResult {
    const keyBytes = utf8Bytes(key);
    if (keyBytes === 0) return { stored: false, reason: 'empty-key' };
    if (keyBytes > this.limits.maxKeyBytes) return { stored: false, reason: 'key-too-large' };
    if (utf8Bytes(value) > this.limits.maxValueBytes) return { stored: false, reason: 'value-too-large' };
    const total = this.storedBytes + this.growth(key, value);
    if (total > this.limits.maxStoreBytes) return { stored: false, reason: 'store-full' };
    this.entries.set(key, value);
    this.storedBytes = total;
    return { stored: true };
  }

  /** How many bytes putting the entry adds to the total (negative when a value shrinks). */
  growth(key: string, value: string): number {
    const previous = this.entries.get(key);
    return utf8Bytes(value) - (previous === undefined ? -utf8Bytes(key) : utf8Bytes(previous));
  }

  delete(key: string): boolean {
    const value = this.entries.get(key);
    if (value === undefined) return false;
    this.entries.delete(key);
    this.storedBytes -= utf8Bytes(key) + utf8Bytes(value);
    return true;
  }

  /** The value, or undefined for a key the store does not hold. */
  get(key: string): string | undefined {
    return this.entries.get(key);
  }

  /** Every entry in key order. */
  sortedEntries(): [string, string][] {
    return [...this.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Whether the store holds `key`. */
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
