/** Reading links from the links table (`{ code, url, owner, createdAt }`). */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDocumentClient } from './clients/dynamodb';

export interface Link {
  readonly url: string;
  /**
   * Whose statistics the link's clicks count for. null for an item without one (only written by
   * hand: the API always sets it): the link still redirects, its clicks cannot be attributed.
   */
  readonly owner: string | null;
}

/** The link, or null when no link has this code. Rejects when the table cannot be read. */
export async function findLink(tableName: string, code: string): Promise<Link | null> {
  const { Item } = await dynamoDocumentClient().send(
    new GetCommand({
      TableName: tableName,
      Key: { code },
      ProjectionExpression: '#url, #owner',
      ExpressionAttributeNames: { '#url': 'url', '#owner': 'owner' },
    }),
  );
  if (typeof Item?.url !== 'string') return null;
  return { url: Item.url, owner: typeof Item.owner === 'string' ? Item.owner : null };
}

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
