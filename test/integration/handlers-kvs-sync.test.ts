/**
 * The kvs-sync handler with the real SDK client (SigV4A, pure JS) against the local KeyValueStore API, fed
 * DynamoDB stream records of link items as lambdas/tables/links.ts writes them: creations, URL changes,
 * disabling and deletion reach the store; links that cannot be stored stay out; a stale ETag is
 * re-described and retried; a full store is counted without failing the batch; an API that goes down
 * fails only the records it did not take.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue as StreamAttributeValue, DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { ENV, LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_REGION, METRIC } from '../../lambdas/contract';
import { handler } from '../../lambdas/handlers/kvs-sync';
import { KEY_VALUE_STORE_ENDPOINT_VARIABLE } from '../../lambdas/shared/clients/key-value-store';
import { EdgeKeyValueStore, type KeyValueStoreLimits } from '../../local/edge/key-value-store';
import { startKeyValueStoreApi, type KeyValueStoreApi } from '../../local/emulators/key-value-store-api';
import { metricsOf } from './helpers/metrics';

jest.setTimeout(30_000);

const ARN = `arn:aws:cloudfront::${LOCAL_ACCOUNT_ID}:key-value-store/5e1d0a7c-links`;
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

async function startApi(limits?: KeyValueStoreLimits): Promise<void> {
  await api?.stop();
  store = new EdgeKeyValueStore(limits);
  api = await startKeyValueStoreApi({ store, arn: ARN, beforeUpdate: () => beforeUpdate() });
  process.env[KEY_VALUE_STORE_ENDPOINT_VARIABLE] = api.endpoint;
}

beforeAll(() => {
  process.env.AWS_REGION = LOCAL_REGION;
  process.env.AWS_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = LOCAL_CREDENTIALS.secretAccessKey;
  process.env[ENV.keyValueStoreArn] = ARN;
});

beforeEach(async () => {
  beforeUpdate = () => undefined;
  await startApi();
});

afterAll(() => api.stop());

test('a created link is put with its URL; a URL change replaces it; disabling removes it', async () => {
  const created = newLink('abc', 'https://example.com/first');
  expect(await sync([streamRecord(undefined, created)])).toEqual({ batchItemFailures: [] });
  expect(store.peek('abc')).toBe('https://example.com/first');

  const moved = updated(created, { url: 'https://example.com/second' });
  expect(await sync([streamRecord(created, moved)])).toEqual({ batchItemFailures: [] });
  expect(store.peek('abc')).toBe('https://example.com/second');

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
  const metrics = await metricsOf(() => sync([streamRecord(undefined, newLink('abc', 'https://example.com/'))]));
  expect(updates).toBe(2);
  expect(store.sortedEntries()).toEqual([
    ['abc', 'https://example.com/'],
    ['other', 'https://other.example/'],
  ]);
  expect(metrics).toMatchObject({ EdgeStoreStaleETags: 1, EdgeKeysPut: 1 });
});

test('a full store refuses the put: counted, the link left to the origin, the batch not failed', async () => {
  await startApi({ maxKeyBytes: 512, maxValueBytes: 1024, maxStoreBytes: 120 });
  const first = newLink('first', `https://example.com/${'a'.repeat(60)}`);
  await sync([streamRecord(undefined, first)]);
  expect(store.has('first')).toBe(true);

  // `second` does not fit; `first` moving to a longer URL does not fit either, so its old value must go.
  const second = newLink('second', `https://example.com/${'b'.repeat(60)}`);
  const longer = updated(first, { url: `https://example.com/${'c'.repeat(100)}` });
  const small = newLink('s', 'https://s.example/');
  let response: DynamoDBBatchResponse | undefined;
  const metrics = await metricsOf(async () => {
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
