/** The redirect's view of the links table: a bounded in-memory cache in front of it. */
import { findLink, type Link } from '../tables/links';

const MAX_CACHED_LINKS = 10_000;
/** Unknown codes are remembered briefly: enough to absorb a burst, short enough for a new link to work soon. */
const MISS_TTL_SECONDS = 5;

interface CachedLink {
  readonly link: Link | null;
  readonly expiresAtMs: number;
}

/** findLink behind a bounded in-memory cache (oldest entries evicted first). */
export class CachedLinkLookup {
  readonly #entries = new Map<string, CachedLink>();

  constructor(
    private readonly tableName: string,
    /** 0 disables the cache. */
    private readonly ttlSeconds: number,
  ) {}

  async find(code: string, nowMs = Date.now()): Promise<Link | null> {
    const cached = this.#entries.get(code);
    if (cached !== undefined && cached.expiresAtMs > nowMs) return cached.link;
    const link = await findLink(this.tableName, code);
    const ttlSeconds = link === null ? Math.min(MISS_TTL_SECONDS, this.ttlSeconds) : this.ttlSeconds;
    if (ttlSeconds > 0) this.#remember(code, { link, expiresAtMs: nowMs + ttlSeconds * 1000 });
    return link;
  }

  #remember(code: string, entry: CachedLink): void {
    // Re-inserting moves the code to the end of the Map's insertion order, which is its eviction order.
    this.#entries.delete(code);
    if (this.#entries.size >= MAX_CACHED_LINKS) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(code, entry);
  }
}
