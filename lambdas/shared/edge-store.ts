/**
 * Writes store changes to the edge redirect's CloudFront KeyValueStore through the data-plane API:
 * UpdateKeys with the store's ETag as `IfMatch` (from DescribeKeyValueStore, then from each update's
 * answer), re-described and retried a bounded number of times when another writer moved it on. When the
 * store is full it lets the least recently clicked links go to make room (docs/edge.md), and it keeps the
 * links table's held marks in step with what the store took.
 */
import {
  DescribeKeyValueStoreCommand,
  UpdateKeysCommand,
  type CloudFrontKeyValueStoreClient,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import {
  evictionVictims,
  updateRequests,
  type EdgePut,
  type EdgeStoreChange,
  type HeldLink,
} from '../domain/edge-store-sync';
import { keyValueStoreClient } from './clients/key-value-store';

/** Attempts of one UpdateKeys while its ETag keeps going stale. */
const MAX_CONFLICT_ATTEMPTS = 4;
/**
 * Rounds of evictions for one put the full store refused: a victim listed from the lagging index may turn
 * out clicked since (not claimed) or already gone, so a round can free less than planned.
 */
const MAX_EVICTION_ROUNDS = 3;
/** Held links listed per round: enough to free 1.5 KB (the largest entry) with entries of 8 bytes. */
const EVICTION_CANDIDATES = 200;

/** What the writer needs of the links table (lambdas/tables/links.ts): the held links and their marks. */
export interface HeldLinks {
  /** Up to `limit` links the store holds, clicked before `day`, least recently clicked first. */
  clickedBefore(day: string, limit: number): Promise<HeldLink[]>;
  /** Clears the mark of a link about to be evicted if it still has the listed click day; false when not. */
  claim(link: HeldLink): Promise<boolean>;
  /** Marks a link the store took with this value. */
  hold(put: EdgePut): Promise<void>;
  /** Clears the mark of a link the store no longer holds. */
  release(key: string): Promise<void>;
}

/** The store refused a write that would pass its total size (5 MB): ServiceQuotaExceededException, HTTP 402. */
export function isStoreFull(error: unknown): boolean {
  return error instanceof Error && error.name === 'ServiceQuotaExceededException';
}

/** The `IfMatch` ETag was not the store's current one: ConflictException, HTTP 409. */
function isStaleETag(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConflictException';
}

export class EdgeStoreWriter {
  keysPut = 0;
  keysDeleted = 0;
  staleETags = 0;
  /** Codes whose put the full store refused even after evictions: their links fall back to the origin. */
  readonly refusedForSpace: string[] = [];
  /** Codes evicted to make room: less recently clicked than the links put in their place. */
  readonly evicted: string[] = [];
  private etag: string | undefined;

  constructor(
    private readonly keyValueStoreArn: string,
    private readonly links: HeldLinks,
    private readonly client: CloudFrontKeyValueStoreClient = keyValueStoreClient(),
  ) {}

  /**
   * Applies one request's changes (at most one per key), then sets the held marks of the puts and clears
   * those of the deletes. A full store refuses the whole request (UpdateKeys is all or nothing), so then
   * the deletes go first, freeing room, and each put alone, making room for it when refused.
   */
  async apply(changes: readonly EdgeStoreChange[]): Promise<void> {
    let applied: readonly EdgeStoreChange[] = changes;
    try {
      await this.update(changes);
    } catch (error) {
      if (!isStoreFull(error)) throw error;
      applied = await this.applyMakingRoom(changes);
    }
    await Promise.all(
      applied.map((change) => (change.kind === 'put' ? this.links.hold(change) : change.held ? this.links.release(change.key) : undefined)),
    );
  }

  /**
   * The changes one by one, evicting for the puts; a put that still does not fit deletes its key, so an
   * older value of the link does not keep redirecting at the edge. What the store now has of each key.
   */
  private async applyMakingRoom(changes: readonly EdgeStoreChange[]): Promise<EdgeStoreChange[]> {
    const applied: EdgeStoreChange[] = changes.filter((change) => change.kind === 'delete');
    if (applied.length > 0) await this.update(applied);
    for (const change of changes) {
      if (change.kind !== 'put') continue;
      if (await this.putMakingRoom(change)) {
        applied.push(change);
        continue;
      }
      this.refusedForSpace.push(change.key);
      const gone: EdgeStoreChange = { kind: 'delete', key: change.key, held: change.held };
      await this.update([gone]);
      applied.push(gone);
    }
    return applied;
  }

  /** Puts one entry, evicting less recently clicked links while the store refuses it; false when it stays out. */
  private async putMakingRoom(put: EdgePut): Promise<boolean> {
    for (let round = 0; ; round++) {
      try {
        await this.update([put]);
        return true;
      } catch (error) {
        if (!isStoreFull(error)) throw error;
      }
      if (round === MAX_EVICTION_ROUNDS) return false;
      const victims = evictionVictims(await this.links.clickedBefore(put.recency, EVICTION_CANDIDATES), put);
      if (victims === null) return false;
      // Claimed in the table first (strongly consistent), so a link clicked since it was listed stays.
      const claimed: HeldLink[] = [];
      for (const victim of victims) if (await this.links.claim(victim)) claimed.push(victim);
      for (const request of updateRequests(claimed)) {
        await this.update(request.map(({ key }) => ({ kind: 'delete', key, held: false })));
        this.evicted.push(...request.map(({ key }) => key));
      }
    }
  }

  private async update(changes: readonly EdgeStoreChange[]): Promise<void> {
    const puts = changes.flatMap((change) => (change.kind === 'put' ? [{ Key: change.key, Value: change.value }] : []));
    const deletes = changes.flatMap((change) => (change.kind === 'delete' ? [{ Key: change.key }] : []));
    for (let attempt = 1; ; attempt++) {
      const ifMatch = this.etag ?? (await this.describeETag());
      try {
        const { ETag } = await this.client.send(
          new UpdateKeysCommand({ KvsARN: this.keyValueStoreArn, IfMatch: ifMatch, Puts: puts, Deletes: deletes }),
        );
        this.etag = ETag;
        this.keysPut += puts.length;
        this.keysDeleted += deletes.length;
        return;
      } catch (error) {
        // Whatever failed, the next request describes the store again rather than trust this ETag.
        this.etag = undefined;
        if (!isStaleETag(error) || attempt >= MAX_CONFLICT_ATTEMPTS) throw error;
        this.staleETags += 1;
      }
    }
  }

  private async describeETag(): Promise<string> {
    const { ETag } = await this.client.send(new DescribeKeyValueStoreCommand({ KvsARN: this.keyValueStoreArn }));
    if (ETag === undefined) throw new Error('DescribeKeyValueStore answered without an ETag');
    return ETag;
  }
}
