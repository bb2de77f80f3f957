/** Reading links from the links table (`{ code, url, owner, createdAt }`). */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDocumentClient } from './aws-clients';

/** The link's target URL, or null when no link has this code. Rejects when the table cannot be read. */
export async function findLinkUrl(tableName: string, code: string): Promise<string | null> {
  const { Item } = await dynamoDocumentClient().send(
    new GetCommand({
      TableName: tableName,
      Key: { code },
      ProjectionExpression: '#url',
      ExpressionAttributeNames: { '#url': 'url' },
    }),
  );
  return typeof Item?.url === 'string' ? Item.url : null;
}

const MAX_CACHED_LINKS = 10_000;
/** Unknown codes are remembered briefly: enough to absorb a burst, short enough for a new link to work soon. */
const MISS_TTL_SECONDS = 5;

interface CachedLink {
  readonly url: string | null;
  readonly expiresAtMs: number;
}

/** findLinkUrl behind a bounded in-memory cache (oldest entries evicted first). */
export class CachedLinkLookup {
  readonly #entries = new Map<string, CachedLink>();

  constructor(
    private readonly tableName: string,
    /** 0 disables the cache. */
    private readonly ttlSeconds: number,
  ) {}

  async find(code: string, nowMs = Date.now()): Promise<string | null> {
    const cached = this.#entries.get(code);
    if (cached !== undefined && cached.expiresAtMs > nowMs) return cached.url;
    const url = await findLinkUrl(this.tableName, code);
    const ttlSeconds = url === null ? Math.min(MISS_TTL_SECONDS, this.ttlSeconds) : this.ttlSeconds;
    if (ttlSeconds > 0) this.#remember(code, { url, expiresAtMs: nowMs + ttlSeconds * 1000 });
    return url;
  }

  #remember(code: string, link: CachedLink): void {
    // Re-inserting moves the code to the end of the Map's insertion order, which is its eviction order.
    this.#entries.delete(code);
    if (this.#entries.size >= MAX_CACHED_LINKS) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(code, link);
  }
}
