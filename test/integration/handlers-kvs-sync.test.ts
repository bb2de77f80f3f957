/**
 * The kvs-sync handler with the real SDK client (SigV4A, pure JS) against the local KeyValueStore API and
 * the links table on DynamoDB Local. First fed stream records of link items as lambdas/tables/links.ts
 * writes them: creations, URL changes, disabling and deletion reach the store; links that cannot be
 * stored stay out; a stale ETag is re-described and retried; a full store with nothing to evict is counted
 * without failing the batch; an API that goes down fails only the records it did not take. Then driven by
 * the table's own stream through the local poller, with a store of three entries: when full, the least
 * recently clicked links leave it for the origin, a link clicked again comes back, and the sync's own
 * writes to the table come back on the stream as nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue as StreamAttributeValue, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { ENV, LOCAL_ACCOUNT_ID, LOCAL_REGION, METRIC } from '../../lambdas/contract';
import { handler } from '../../lambdas/handlers/kvs-sync';
import { KEY_VALUE_STORE_ENDPOINT_VARIABLE } from '../../lambdas/shared/clients/key-value-store';
import { getLink, listHeldAtEdgeClickedBefore, recordLinkClickDay, releaseAllFromEdge } from '../../lambdas/tables/links';
import { EdgeKeyValueStore, type KeyValueStoreLimits } from '../../local/edge/key-value-store';
import { startKeyValueStoreApi, type KeyValueStoreApi } from '../../local/emulators/key-value-store-api';
import { type DynamoForHandlers, startDynamoForHandlers, streamsClient, testStreamPoller } from '../fixtures/local/emulators';
import { createLinksTable } from './helpers/api-tables';
import { summedMetricsOf } from './helpers/metrics';

jest.setTimeout(30_000);

const ARN = `arn:aws:cloudfront::${LOCAL_ACCOUNT_ID}:key-value-store/5e1d0a7c-links`;
const LINKS_TABLE = 'LinksForKvsSync';
const OWNER = 'owner-1';
const CREATED_AT = '2026-12-01T10:00:00.000Z';

type LinkItem = Record<string, unknown>;

/** The items links.ts writes: a new link, a link after updateLink, a tombstone after deleteLink. */
const newLink = (code: string, url: string): LinkItem => ({ code, url, owner: OWNER, createdAt: CREATED_AT });
const updated = (item: LinkItem, changes: { url?: string; disabled?: boolean }): LinkItem => ({ ...item, ...changes, updatedAt: '2026-12-01T11:00:00.000Z' });
const tombstone = (code: string): LinkItem => ({ code, deletedAt: '2026-12-01T12:00:00.000Z', deletedOwner: OWNER });

let sequence = 0;
const streamImage = (item: LinkItem): Record<string, StreamAttributeValue> =>
  // The SDK's AttributeValue and aws-lambda's describe the same wire shape.
  marshall(item) as Record<string, AttributeValue> as Record<string, StreamAttributeValue>;

/** A links-table stream record (NEW_AND_OLD_IMAGES) of the change from `before` to `after`. */
function streamRecord(before: LinkItem | undefined, after: LinkItem | undefined): DynamoDBRecord {
  sequence += 1;
  const code = String((after ?? before)?.code);
  return {
    eventID: `event-${sequence}`,
    eventName: before === undefined ? 'INSERT' : after === undefined ? 'REMOVE' : 'MODIFY',
    eventSource: 'aws:dynamodb',
    awsRegion: LOCAL_REGION,
    eventSourceARN: `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:table/Links/stream/2026-12-01T00:00:00.000`,
    dynamodb: {
      Keys: streamImage({ code }),
      ...(before === undefined ? {} : { OldImage: streamImage(before) }),
      ...(after === undefined ? {} : { NewImage: streamImage(after) }),
      SequenceNumber: String(sequence).padStart(21, '0'),
      SizeBytes: 100,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

const sync = (records: DynamoDBRecord[]): Promise<DynamoDBBatchResponse> => handler({ Records: records });

let store: EdgeKeyValueStore;
let api: KeyValueStoreApi;
let beforeUpdate: () => 'unavailable' | undefined;
let local: DynamoForHandlers;
let streamArn: string;

async function startApi(limits?: KeyValueStoreLimits): Promise<void> {
  await api?.stop();
  store = new EdgeKeyValueStore(limits);
  api = await startKeyValueStoreApi({ store, arn: ARN, beforeUpdate: () => beforeUpdate() });
  process.env[KEY_VALUE_STORE_ENDPOINT_VARIABLE] = api.endpoint;
}

beforeAll(async () => {
  local = await startDynamoForHandlers({ [ENV.keyValueStoreArn]: ARN, [ENV.linksTable]: LINKS_TABLE, [ENV.reportingTimeZone]: 'UTC' });
  streamArn = (await createLinksTable(local.dynamo, LINKS_TABLE, { edge: true })) ?? '';
});

afterAll(async () => {
  await api.stop();
  await local.stop();
});

describe('fed stream records', () => {
  beforeEach(async () => {
    beforeUpdate = () => undefined;
    await startApi();
  });


  test('a created link is put with its URL; a URL change replaces it; disabling removes it', async () => {
    const created = newLink('abc', 'https://example.com/first');
    expect(await sync([streamRecord(undefined, created)])).toEqual({ batchItemFailures: [] });
    expect(store.get('abc')).toBe('https://example.com/first');

    const moved = updated(created, { url: 'https://example.com/second' });
    expect(await sync([streamRecord(created, moved)])).toEqual({ batchItemFailures: [] });
    expect(store.get('abc')).toBe('https://example.com/second');

    expect(await sync([streamRecord(moved, updated(moved, { disabled: true }))])).toEqual({ batchItemFailures: [] });
    expect(store.has('abc')).toBe(false);
  });

  test('a deleted link (its tombstone) is removed; the last change of a code in a batch wins', async () => {
    const kept = newLink('kept', 'https://example.com/kept');
    const gone = newLink('gone', 'https://example.com/gone');
    const later = updated(kept, { url: 'https://example.com/kept-later' });
    await sync([streamRecord(undefined, kept), streamRecord(undefined, gone), streamRecord(kept, later), streamRecord(gone, tombstone('gone'))]);
    expect(store.sortedEntries()).toEqual([['kept', 'https://example.com/kept-later']]);
  });

  test('a link whose URL does not fit the store stays out; one whose new URL no longer fits leaves it', async () => {
    const oversize = `https://example.com/${'x'.repeat(1100)}`;
    const small = newLink('small', 'https://example.com/small');
    expect(await sync([streamRecord(undefined, newLink('big', oversize)), streamRecord(undefined, small)])).toEqual({ batchItemFailures: [] });
    expect(store.has('big')).toBe(false);
    expect(store.has('small')).toBe(true);

    expect(await sync([streamRecord(small, updated(small, { url: oversize }))])).toEqual({ batchItemFailures: [] });
    expect(store.has('small')).toBe(false);
  });

  test('a stale ETag (another writer) is re-described and the update retried', async () => {
    let updates = 0;
    beforeUpdate = () => {
      updates += 1;
      if (updates === 1) api.writeAsAnotherClient('other', 'https://other.example/');
      return undefined;
    };
    const metrics = await summedMetricsOf(() => sync([streamRecord(undefined, newLink('abc', 'https://example.com/'))]));
    expect(updates).toBe(2);
    expect(store.sortedEntries()).toEqual([
      ['abc', 'https://example.com/'],
      ['other', 'https://other.example/'],
    ]);
    expect(metrics).toMatchObject({ EdgeStoreStaleETags: 1, EdgeKeysPut: 1 });
  });

  test('a full store with no less recently clicked link to evict refuses the put: counted, the link left to the origin, the batch not failed', async () => {
    await startApi({ maxKeyBytes: 512, maxValueBytes: 1024, maxStoreBytes: 120 });
    const first = newLink('first', `https://example.com/${'a'.repeat(60)}`);
    await sync([streamRecord(undefined, first)]);
    expect(store.has('first')).toBe(true);

    // `second` does not fit; `first` moving to a longer URL does not fit either, so its old value must go.
    const second = newLink('second', `https://example.com/${'b'.repeat(60)}`);
    const longer = updated(first, { url: `https://example.com/${'c'.repeat(100)}` });
    const small = newLink('s', 'https://s.example/');
    let response: DynamoDBBatchResponse | undefined;
    const metrics = await summedMetricsOf(async () => {
      response = await sync([streamRecord(undefined, second), streamRecord(first, longer), streamRecord(undefined, small)]);
    });
    expect(response).toEqual({ batchItemFailures: [] });
    expect(store.sortedEntries()).toEqual([['s', 'https://s.example/']]);
    expect(metrics).toMatchObject({ [METRIC.edgeStoreFullRefusals]: 2 });
  });

  test('when the API goes down, only the records of the requests it did not take fail', async () => {
    let updates = 0;
    beforeUpdate = () => {
      updates += 1;
      return updates > 1 ? 'unavailable' : undefined;
    };
    // 60 codes: one request of 50 goes through, the request of the other 10 fails (after the SDK's retries).
    const records = Array.from({ length: 60 }, (_, index) => streamRecord(undefined, newLink(`code${index}`, `https://example.com/${index}`)));
    const response = await sync(records);
    expect(store.size).toBe(50);
    const failed = records.slice(50).map((record) => ({ itemIdentifier: record.dynamodb?.SequenceNumber }));
    expect(response.batchItemFailures).toEqual(failed);
  });

  test('a record without a code fails alone', async () => {
    const good = streamRecord(undefined, newLink('good', 'https://example.com/good'));
    const malformed = streamRecord(undefined, newLink('x', 'https://example.com/x'));
    const { Keys: _keys, ...withoutKeys } = malformed.dynamodb ?? {};
    const response = await sync([good, { ...malformed, dynamodb: withoutKeys }]);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: malformed.dynamodb?.SequenceNumber }]);
    expect(store.has('good')).toBe(true);
  });
});

describe('a full store, driven by the links stream', () => {
  const OWNER_ITEM = { owner: OWNER };
  const urlOf = (code: string): string => `https://example.com/${code}`;
  /** Room for three entries of a one-letter code and its URL. */
  const THREE_ENTRIES = 3 * (1 + urlOf('a').length);
  let scratchDir: string;
  let invocations = 0;
  let updates = 0;
  let poller: ReturnType<typeof testStreamPoller>;

  /** A link created on `day`, as links.ts writes one. */
  async function createLink(code: string, day: string): Promise<void> {
    const item = { code, url: urlOf(code), ...OWNER_ITEM, createdAt: `${day}T09:00:00.000Z` };
    await local.dynamo.send(new PutItemCommand({ TableName: LINKS_TABLE, Item: marshall(item) }));
  }

  /** Waits until the poller has handled every record, the sync's own writes included. */
  async function settle(): Promise<void> {
    expect(await poller.drain(15_000)).toBe(true);
  }

  const stored = (): string[] => store.sortedEntries().map(([key]) => key);
  const heldInIndex = async (): Promise<string[]> => (await listHeldAtEdgeClickedBefore(LINKS_TABLE, '9999-12-31', 50)).map(({ code }) => code);

  beforeAll(async () => {
    scratchDir = mkdtempSync(path.join(tmpdir(), 'kvs-sync-'));
    await startApi({ maxKeyBytes: 512, maxValueBytes: 1024, maxStoreBytes: THREE_ENTRIES });
    beforeUpdate = () => {
      updates += 1;
      return undefined;
    };
    poller = testStreamPoller({
      streams: streamsClient(local.proxy.endpoint),
      streamArn,
      checkpointFile: path.join(scratchDir, 'checkpoint.json'),
      batchSize: 100,
      fn: {
        name: 'kvs-sync',
        timeoutSeconds: 30,
        invoke: (event) => {
          invocations += 1;
          return handler(event as DynamoDBStreamEvent);
        },
      },
    });
    poller.start();
  });

  afterAll(async () => {
    await poller.stop();
    rmSync(scratchDir, { recursive: true, force: true });
  });

  test('fills up, marking each link it holds in the table, with its creation day as its recency', async () => {
    await createLink('a', '2026-11-01');
    await createLink('b', '2026-11-02');
    await createLink('c', '2026-11-03');
    await settle();
    expect(stored()).toEqual(['a', 'b', 'c']);
    expect(store.bytes).toBe(THREE_ENTRIES);
    expect(await heldInIndex()).toEqual(['a', 'b', 'c']);
  });

  test("a held link's click day moves it up the order without touching the store", async () => {
    const before = updates;
    expect(await recordLinkClickDay(LINKS_TABLE, 'a', '2026-11-10')).toBe(true);
    // A click day never moves back: an older one is refused.
    expect(await recordLinkClickDay(LINKS_TABLE, 'a', '2026-11-09')).toBe(false);
    await settle();
    expect(updates).toBe(before);
    expect(await heldInIndex()).toEqual(['b', 'c', 'a']);
  });

  test('a new link evicts the least recently clicked one, which falls back to the origin', async () => {
    await createLink('d', '2026-11-05');
    const metrics = await summedMetricsOf(settle);
    expect(stored()).toEqual(['a', 'c', 'd']);
    expect(await heldInIndex()).toEqual(['c', 'd', 'a']);
    expect(metrics).toMatchObject({ EdgeKeysEvicted: 1 });
    // b is still a live link, answered by the origin, no longer marked as held.
    expect(await getLink(LINKS_TABLE, 'b')).toMatchObject({ url: urlOf('b'), disabled: false });
  });

  test('a link less recently clicked than everything held stays with the origin, evicting nothing', async () => {
    await createLink('e', '2026-11-02');
    const metrics = await summedMetricsOf(settle);
    expect(stored()).toEqual(['a', 'c', 'd']);
    expect(metrics).toMatchObject({ [METRIC.edgeStoreFullRefusals]: 1 });
    expect(await heldInIndex()).toEqual(['c', 'd', 'a']);
  });

  test('an evicted link clicked again comes back, evicting the one now least recently clicked', async () => {
    expect(await recordLinkClickDay(LINKS_TABLE, 'b', '2026-11-12')).toBe(true);
    await settle();
    expect(stored()).toEqual(['a', 'b', 'd']);
    expect(await heldInIndex()).toEqual(['d', 'a', 'b']);
  });

  test("the sync's own writes come back as nothing: once settled, the stream stays quiet", async () => {
    const [before, updatesBefore] = [invocations, updates];
    await settle();
    expect([invocations, updates]).toEqual([before, updatesBefore]);
  });

  test('releaseAllFromEdge (the local stack, whose store starts empty) clears every mark, which the sync takes as nothing', async () => {
    const updatesBefore = updates;
    expect(await releaseAllFromEdge(LINKS_TABLE, DynamoDBDocumentClient.from(local.dynamo))).toBe(3);
    expect(await heldInIndex()).toEqual([]);
    await settle();
    expect(updates).toBe(updatesBefore);
  });
});
