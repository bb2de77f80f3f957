/**
 * The local KeyValueStore API through the real SDK client (SigV4A-signed by the pure-JS signer): ETags that
 * every write moves on, a stale If-Match refused, the key, value, request and store limits, GetKey and
 * ListKeys, and a listener on 127.0.0.1 only.
 */
import {
  CloudFrontKeyValueStoreClient,
  DescribeKeyValueStoreCommand,
  GetKeyCommand,
  ListKeysCommand,
  UpdateKeysCommand,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_REGION } from '../../lambdas/contract';
import { keyValueStoreClient, KEY_VALUE_STORE_ENDPOINT_VARIABLE } from '../../lambdas/shared/clients/key-value-store';
import { EdgeKeyValueStore } from '../../local/edge/key-value-store';
import { startKeyValueStoreApi, type KeyValueStoreApi } from '../../local/emulators/key-value-store-api';

const ARN = `arn:aws:cloudfront::${LOCAL_ACCOUNT_ID}:key-value-store/0f4b5c3e-local`;
const SMALL_LIMITS = { maxKeyBytes: 512, maxValueBytes: 1024, maxStoreBytes: 2_000 };

let store: EdgeKeyValueStore;
let api: KeyValueStoreApi;
let client: CloudFrontKeyValueStoreClient;

beforeEach(async () => {
  store = new EdgeKeyValueStore(SMALL_LIMITS);
  api = await startKeyValueStoreApi({ store, arn: ARN });
  process.env.AWS_REGION = LOCAL_REGION;
  process.env.AWS_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = LOCAL_CREDENTIALS.secretAccessKey;
  process.env[KEY_VALUE_STORE_ENDPOINT_VARIABLE] = api.endpoint;
  client = keyValueStoreClient();
});

afterEach(async () => {
  await api.stop();
});

const etagNow = async (): Promise<string> => (await client.send(new DescribeKeyValueStoreCommand({ KvsARN: ARN }))).ETag ?? '';

test('listens on 127.0.0.1', () => {
  expect(new URL(api.endpoint).hostname).toBe('127.0.0.1');
});

test('describes the store, and each write moves the ETag on', async () => {
  const described = await client.send(new DescribeKeyValueStoreCommand({ KvsARN: ARN }));
  expect(described).toMatchObject({ KvsARN: ARN, ItemCount: 0, TotalSizeInBytes: 0, Status: 'READY' });
  expect(described.Created).toBeInstanceOf(Date);

  const updated = await client.send(
    new UpdateKeysCommand({ KvsARN: ARN, IfMatch: described.ETag, Puts: [{ Key: 'abc', Value: 'https://example.com/' }] }),
  );
  expect(updated).toMatchObject({ ItemCount: 1, TotalSizeInBytes: 3 + 20 });
  expect(updated.ETag).not.toBe(described.ETag);
  expect(updated.ETag).toBe(await etagNow());

  const got = await client.send(new GetKeyCommand({ KvsARN: ARN, Key: 'abc' }));
  expect(got).toMatchObject({ Key: 'abc', Value: 'https://example.com/', ItemCount: 1 });
  expect(store.has('abc')).toBe(true);
});

test('refuses a stale ETag with ConflictException, writing nothing', async () => {
  const stale = await etagNow();
  api.writeAsAnotherClient('other', 'https://other.example/');
  await expect(client.send(new UpdateKeysCommand({ KvsARN: ARN, IfMatch: stale, Puts: [{ Key: 'abc', Value: 'https://a.example/' }] }))).rejects.toMatchObject({
    name: 'ConflictException',
    $metadata: { httpStatusCode: 409 },
  });
  expect(store.has('abc')).toBe(false);
});

test('refuses a write past the store size with ServiceQuotaExceededException, all or nothing', async () => {
  const value = `https://example.com/${'x'.repeat(900)}`;
  let etag = await etagNow();
  etag = (await client.send(new UpdateKeysCommand({ KvsARN: ARN, IfMatch: etag, Puts: [{ Key: 'a', Value: value }, { Key: 'b', Value: value }] }))).ETag ?? '';
  await expect(
    client.send(new UpdateKeysCommand({ KvsARN: ARN, IfMatch: etag, Puts: [{ Key: 'c', Value: 'https://c.example/' }, { Key: 'd', Value: value }] })),
  ).rejects.toMatchObject({ name: 'ServiceQuotaExceededException', $metadata: { httpStatusCode: 402 } });
  expect(store.has('c')).toBe(false);
  expect(store.size).toBe(2);

  // Deleting in the same request makes the room: nothing is evicted.
  await client.send(new UpdateKeysCommand({ KvsARN: ARN, IfMatch: etag, Deletes: [{ Key: 'a' }], Puts: [{ Key: 'd', Value: value }] }));
  expect(store.sortedEntries().map(([key]) => key)).toEqual(['b', 'd']);
});

test('validates keys, values, the number of keys and repeated keys in a request', async () => {
  const etag = await etagNow();
  const update = (puts: { Key: string; Value: string }[]) => client.send(new UpdateKeysCommand({ KvsARN: ARN, IfMatch: etag, Puts: puts }));
  await expect(update([{ Key: 'k'.repeat(513), Value: 'v' }])).rejects.toMatchObject({ name: 'ValidationException' });
  await expect(update([{ Key: 'k', Value: 'v'.repeat(1025) }])).rejects.toMatchObject({ name: 'ValidationException' });
  const tooMany = Array.from({ length: 51 }, (_, index) => ({ Key: `k${index}`, Value: 'v' }));
  await expect(update(tooMany)).rejects.toMatchObject({ name: 'ValidationException' });
  await expect(update([{ Key: 'k', Value: 'a' }, { Key: 'k', Value: 'b' }])).rejects.toMatchObject({ name: 'ValidationException' });
  expect(store.size).toBe(0);
});

test('GetKey of a missing key and another store are ResourceNotFoundException', async () => {
  await expect(client.send(new GetKeyCommand({ KvsARN: ARN, Key: 'none' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  const otherArn = `arn:aws:cloudfront::${LOCAL_ACCOUNT_ID}:key-value-store/other`;
  await expect(client.send(new DescribeKeyValueStoreCommand({ KvsARN: otherArn }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
});

test('lists keys in pages', async () => {
  for (const key of ['c', 'a', 'b']) api.writeAsAnotherClient(key, `https://${key}.example/`);
  const first = await client.send(new ListKeysCommand({ KvsARN: ARN, MaxResults: 2 }));
  expect(first.Items?.map((item) => item.Key)).toEqual(['a', 'b']);
  const second = await client.send(new ListKeysCommand({ KvsARN: ARN, MaxResults: 2, NextToken: first.NextToken }));
  expect(second.Items).toEqual([{ Key: 'c', Value: 'https://c.example/' }]);
  expect(second.NextToken).toBeUndefined();
});

test('refuses a request not signed with SigV4A', async () => {
  const response = await fetch(`${api.endpoint}/key-value-stores/${encodeURIComponent(ARN)}`);
  expect(response.status).toBe(403);
  expect(response.headers.get('x-amzn-errortype')).toBe('AccessDeniedException');
});
