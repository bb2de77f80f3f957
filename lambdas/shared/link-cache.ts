/**
 * A bounded in-memory cache in front of a links-table lookup: the redirect's (findLink) and the API's
 * ownership check on statistics (getLink). An entry lives `ttlSeconds`; so a link changed, disabled or
 * deleted is seen by an environment that cached it at the latest that long after.
 */
const MAX_CACHED_LINKS = 10_000;
/** Unknown codes are remembered briefly: enough to absorb a burst, short enough for a new link to work soon. */
const MISS_TTL_SECONDS = 5;

interface CachedEntry<T> {
  readonly value: T | null;
  readonly expiresAtMs: number;
}

/** `find` behind a bounded cache (oldest entries evicted first); null results are cached for at most 5 s. */
export class CachedLinkLookup<T> {
  readonly #entries = new Map<string, CachedEntry<T>>();

  constructor(
    private readonly find: (code: string) => Promise<T | null>,
    /** 0 disables the cache. */
    private readonly ttlSeconds: number,
  ) {}

  async get(code: string, nowMs = Date.now()): Promise<T | null> {
    const cached = this.#entries.get(code);
    if (cached !== undefined && cached.expiresAtMs > nowMs) return cached.value;
    const value = await this.find(code);
    const ttlSeconds = value === null ? Math.min(MISS_TTL_SECONDS, this.ttlSeconds) : this.ttlSeconds;
    if (ttlSeconds > 0) this.#remember(code, { value, expiresAtMs: nowMs + ttlSeconds * 1000 });
    return value;
  }

  /** Entries held; never more than MAX_CACHED_LINKS. */
  get size(): number {
    return this.#entries.size;
  }

  #remember(code: string, entry: CachedEntry<T>): void {
    // Re-inserting moves the code to the end of the Map's insertion order, which is its eviction order.
    this.#entries.delete(code);
    if (this.#entries.size >= MAX_CACHED_LINKS) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(code, entry);
  }
}
