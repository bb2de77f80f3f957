/**
 * A string-keyed cache of at most `capacity` entries: repeated inputs (the same User-Agents, the
 * same networks) are computed once, while a flood of distinct ones cannot grow the process's memory.
 *
 * Two generations of half the capacity each: new entries go into the current one; when it is full
 * it becomes the previous one and the oldest generation is dropped whole. A hit in the previous
 * generation moves the entry forward, so what was used within the last generation stays. Deleting a
 * Map's oldest entry one at a time, the textbook LRU, leaves V8 iterating over the deleted ones on
 * every eviction: under a flood of new keys it made the cache the slowest part of enrichment.
 */
export class BoundedCache<V> {
  readonly #generationSize: number;
  #current = new Map<string, V>();
  #previous = new Map<string, V>();

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 2) throw new RangeError(`A cache needs a capacity of at least 2, got ${capacity}`);
    this.#generationSize = Math.floor(capacity / 2);
  }

  /** The value of `key`: cached, or computed by `compute` and cached. */
  get(key: string, compute: (key: string) => V): V {
    if (this.#current.has(key)) return this.#current.get(key) as V;
    const value = this.#previous.has(key) ? (this.#previous.get(key) as V) : compute(key);
    this.#store(key, value);
    return value;
  }

  /** The cached value of `key` (moved forward, as get does), or undefined. */
  peek(key: string): V | undefined {
    if (this.#current.has(key) || !this.#previous.has(key)) return this.#current.get(key);
    const value = this.#previous.get(key) as V;
    this.#store(key, value);
    return value;
  }

  /** Caches `value` for `key` in place of what was there. */
  set(key: string, value: V): void {
    this.#previous.delete(key);
    this.#store(key, value);
  }

  delete(key: string): void {
    this.#current.delete(key);
    this.#previous.delete(key);
  }

  #store(key: string, value: V): void {
    this.#current.set(key, value);
    if (this.#current.size >= this.#generationSize) {
      this.#previous = this.#current;
      this.#current = new Map();
    }
  }

  /** Whether `key` is cached, without computing it or moving it forward. */
  has(key: string): boolean {
    return this.#current.has(key) || this.#previous.has(key);
  }

  /** Entries held: never more than the capacity (a key moved forward may be counted in both generations). */
  get entries(): number {
    return this.#current.size + this.#previous.size;
  }
}
