/**
 * Writes store changes to the edge redirect's CloudFront KeyValueStore through the data-plane API:
 * UpdateKeys with the store's ETag as `IfMatch` (from DescribeKeyValueStore, then from each update's
 * answer), re-described and retried a bounded number of times when another writer moved it on.
 */
import {
  DescribeKeyValueStoreCommand,
  UpdateKeysCommand,
  type CloudFrontKeyValueStoreClient,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import type { EdgeStoreChange } from '../domain/edge-store-sync';
import { keyValueStoreClient } from './clients/key-value-store';

/** Attempts of one UpdateKeys while its ETag keeps going stale. */
const MAX_CONFLICT_ATTEMPTS = 4;

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
  /** Codes whose put the full store refused: their links fall back to the origin. */
  readonly refusedForSpace: string[] = [];
  private etag: string | undefined;

  constructor(
    private readonly keyValueStoreArn: string,
    private readonly client: CloudFrontKeyValueStoreClient = keyValueStoreClient(),
  ) {}

  /**
   * Applies one request's changes (at most one per key). A full store refuses the whole request
   * (UpdateKeys is all or nothing), so then the deletes go first, freeing room, and each put alone;
   * a refused put deletes its key, so an older value of the link does not keep redirecting at the edge.
   */
  async apply(changes: readonly EdgeStoreChange[]): Promise<void> {
    try {
      await this.update(changes);
      return;
    } catch (error) {
      if (!isStoreFull(error)) throw error;
    }
    const deletes = changes.filter((change) => change.kind === 'delete');
    if (deletes.length > 0) await this.update(deletes);
    for (const change of changes) {
      if (change.kind !== 'put') continue;
      try {
        await this.update([change]);
      } catch (error) {
        if (!isStoreFull(error)) throw error;
        this.refusedForSpace.push(change.key);
        await this.update([{ kind: 'delete', key: change.key }]);
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
