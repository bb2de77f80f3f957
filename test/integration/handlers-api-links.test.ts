/**
 * The API handler in-process on DynamoDB Local: owner keys (hashed, revocable, rate-limited per key),
 * owner scoping (another owner's code answers as an unknown one), and the links routes (list with
 * pages and recent clicks, read, change, disable, delete), with the redirect's view of each change.
 */
import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { apiKeyHash } from '../../lambdas/domain/api-key';
import { handler as aggregate } from '../../lambdas/handlers/aggregate';
import type { LinkView } from '../../lambdas/handlers/api/links';
import { handler as rollup } from '../../lambdas/handlers/rollup';
import { listApiKeys, revokeApiKey } from '../../lambdas/tables/api-keys';
import { findLink } from '../../lambdas/tables/links';
import type { DynamoForHandlers } from '../fixtures/local/emulators';
import { type ApiAnswer as Answer, callApi as call } from './helpers/api-calls';
import { API_TABLES, createOwnerKey, startApiHandlerTables } from './helpers/api-tables';
import { streamInserts, testClick } from './helpers/statistics-tables';

jest.setTimeout(60_000);

const ADMIN_KEY = 'links-test-admin-key';
const REQUESTS_PER_MINUTE = 40;
const DAY_MS = 86_400_000;

let local: DynamoForHandlers;
let alice: string;
let bob: string;

const create = (key: string, body: unknown): Promise<Answer> => call('POST', '/api/links', key, { body });

beforeAll(async () => {
  ({ local, ownerKeys: [alice, bob] } = await startApiHandlerTables(ADMIN_KEY, REQUESTS_PER_MINUTE, ['alice', 'bob']));
});

afterAll(() => local?.stop());

describe('owner keys', () => {
  it('stores only the hash of a key, and the admin key and owner keys both work', async () => {
    const { Items = [] } = await local.dynamo.send(new ScanCommand({ TableName: API_TABLES.API_KEYS_TABLE_NAME }));
    const stored = Items.map((item) => unmarshall(item));
    expect(stored.map((item) => item.owner).sort()).toEqual(['alice', 'bob']);
    expect(JSON.stringify(stored)).not.toContain(alice.slice(3));
    expect(stored.find((item) => item.owner === 'alice')?.keyHash).toBe(apiKeyHash(alice));
    expect((await call('GET', '/api/links', alice)).status).toBe(200);
    expect((await call('GET', '/api/links', ADMIN_KEY)).status).toBe(200);
  });

  it.each([
    ['no key', null],
    ['an unknown key of the right shape', `ck_${'a'.repeat(12)}_${'B'.repeat(40)}`],
    ['a known id with a wrong secret', ''],
    ['garbage', 'not-a-key'],
  ])('answers 401 to %s', async (_name, key) => {
    const token = key === '' ? `${alice.slice(0, 16)}${'x'.repeat(40)}` : key;
    const answer = await call('GET', '/api/links', token);
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toBe('Bearer');
  });

  it('refuses a revoked key at its next request', async () => {
    const { keyId, key } = await createOwnerKey(local.dynamo, 'carol');
    expect((await call('GET', '/api/stats', key)).status).toBe(200);
    const client = DynamoDBDocumentClient.from(local.dynamo);
    expect(await revokeApiKey(API_TABLES.API_KEYS_TABLE_NAME, keyId, client)).toBe('revoked');
    expect(await revokeApiKey(API_TABLES.API_KEYS_TABLE_NAME, keyId, client)).toBe('already');
    expect(await revokeApiKey(API_TABLES.API_KEYS_TABLE_NAME, 'zzzzzzzzzzzz', client)).toBe('unknown');
    expect((await call('GET', '/api/stats', key)).status).toBe(401);
    const carols = await listApiKeys(API_TABLES.API_KEYS_TABLE_NAME, client, 'carol');
    expect(carols).toEqual([{ keyId, owner: 'carol', createdAt: expect.any(String), revokedAt: expect.any(String) }]);
  });

  it('limits each owner key per minute, alone: another key and the admin key go on', async () => {
    const { key } = await createOwnerKey(local.dynamo, 'dave');
    // Not at the end of a minute, so the window (the wall-clock minute) does not turn over mid-test.
    const secondsIntoMinute = new Date().getUTCSeconds();
    if (secondsIntoMinute >= 55) await new Promise((resolve) => setTimeout(resolve, (61 - secondsIntoMinute) * 1000));
    const statuses: number[] = [];
    for (let n = 0; n < REQUESTS_PER_MINUTE; n++) statuses.push((await call('GET', '/api/links', key)).status);
    expect(statuses.every((status) => status === 200)).toBe(true);
    const limited = await call('GET', '/api/links', key);
    expect(limited.status).toBe(429);
    expect(limited.body.error).toEqual({ code: 'too_many_requests', message: expect.stringMatching(/40 requests this minute/) });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect((await call('GET', '/api/links', bob)).status).toBe(200);
    expect((await call('GET', '/api/links', ADMIN_KEY)).status).toBe(200);
  });
});

describe('links routes', () => {
  it("creates links for the key's owner and scopes every route to that owner", async () => {
    const created = await create(alice, { url: 'https://example.com/alice', code: 'alice-one' });
    expect(created.status).toBe(201);
    expect((await findLink(API_TABLES.LINKS_TABLE_NAME, 'alice-one'))?.owner).toBe('alice');

    for (const [method, path, body] of [
      ['GET', '/api/links/alice-one', undefined],
      ['GET', '/api/links/alice-one/stats', undefined],
      ['PATCH', '/api/links/alice-one', { disabled: true }],
      ['DELETE', '/api/links/alice-one', undefined],
    ] as const) {
      const foreign = await call(method, path, bob, { body });
      const unknown = await call(method, path.replace('alice-one', 'nobody-has-it'), bob, { body });
      expect([foreign.status, foreign.body]).toEqual([404, { error: { code: 'not_found', message: 'No link has this code.' } }]);
      expect([unknown.status, unknown.body]).toEqual([foreign.status, foreign.body]);
    }
    // Bob's attempts changed nothing; the admin key reaches any owner's link.
    const seenByAdmin = await call('GET', '/api/links/alice-one', ADMIN_KEY);
    expect(seenByAdmin.status).toBe(200);
    expect(seenByAdmin.body).toMatchObject({ code: 'alice-one', owner: 'alice', disabled: false, url: 'https://example.com/alice' });
    expect((await call('GET', '/api/links', bob)).body.links).toEqual([]);
  });

  it('lists the owner\'s links newest first, a page at a time, with their clicks of the last 7 days', async () => {
    const codes = ['page-a', 'page-b', 'page-c', 'page-d', 'page-e'];
    for (const code of codes) expect((await create(bob, { url: `https://example.com/${code}`, code })).status).toBe(201);
    const recent = new Date(Date.now() - DAY_MS).toISOString();
    const old = new Date(Date.now() - 10 * DAY_MS).toISOString();
    const response = await aggregate({
      shardId: 'shardId-00000001700000000000-0000bbbb',
      Records: streamInserts([
        testClick('page-b', 'bob', { ts: recent }),
        testClick('page-b', 'bob', { ts: recent }),
        testClick('page-b', 'bob', { ts: recent, bot: true, botReason: 'user-agent' }),
        testClick('page-b', 'bob', { ts: old }),
        testClick('page-d', 'bob', { ts: recent }),
      ]),
    });
    expect(response.batchItemFailures).toEqual([]);
    await rollup({});

    const seen: LinkView[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await call('GET', '/api/links', bob, { query: { limit: '2', ...(cursor === undefined ? {} : { cursor }) } });
      expect(page.status).toBe(200);
      seen.push(...(page.body.links as LinkView[]));
      cursor = (page.body.next as string | null) ?? undefined;
      pages += 1;
    } while (cursor !== undefined && pages < 10);
    expect(seen.map((link) => link.code)).toEqual([...codes].reverse());
    expect(Object.fromEntries(seen.map((link) => [link.code, link.clicksLast7Days]))).toEqual({ 'page-a': 0, 'page-b': 2, 'page-c': 0, 'page-d': 1, 'page-e': 0 });
    expect(seen[0]).toEqual({
      code: 'page-e',
      url: 'https://example.com/page-e',
      shortUrl: 'https://short.example/page-e',
      owner: 'bob',
      createdAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      updatedAt: null,
      disabled: false,
      clicksLast7Days: 0,
    });
  });

  it.each([
    [{ limit: '0' }, /limit must be an integer from 1 to 100/],
    [{ limit: '101' }, /limit must be an integer from 1 to 100/],
    [{ limit: 'ten' }, /limit must be an integer from 1 to 100/],
    [{ cursor: 'bm90LWEtY3Vyc29y' }, /cursor must be the "next" value/],
    [{ cursor: '!!!' }, /cursor must be the "next" value/],
  ])('refuses the list query %p with a 400', async (query, message) => {
    const answer = await call('GET', '/api/links', bob, { query });
    expect(answer.status).toBe(400);
    expect(answer.body.error?.message).toMatch(message);
  });

  it('changes the destination, disables and enables a link; the redirect follows each change', async () => {
    expect((await create(alice, { url: 'https://example.com/before', code: 'alice-change' })).status).toBe(201);
    const moved = await call('PATCH', '/api/links/alice-change', alice, { body: { url: 'https://example.org/after' } });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ url: 'https://example.org/after', disabled: false, updatedAt: expect.any(String) });
    expect((await findLink(API_TABLES.LINKS_TABLE_NAME, 'alice-change'))?.url).toBe('https://example.org/after');

    const disabled = await call('PATCH', '/api/links/alice-change', alice, { body: { disabled: true } });
    expect(disabled.body).toMatchObject({ disabled: true, url: 'https://example.org/after' });
    expect(await findLink(API_TABLES.LINKS_TABLE_NAME, 'alice-change')).toBeNull();
    // Still the owner's: listed and readable, marked disabled.
    expect((await call('GET', '/api/links/alice-change', alice)).body).toMatchObject({ disabled: true });

    expect((await call('PATCH', '/api/links/alice-change', alice, { body: { disabled: false } })).status).toBe(200);
    expect((await findLink(API_TABLES.LINKS_TABLE_NAME, 'alice-change'))?.url).toBe('https://example.org/after');
  });

  it.each([
    [{}, /Send "url"/],
    [{ disabled: 'yes' }, /"disabled" must be true or false/],
    [{ url: 'javascript:alert(1)' }, /http/],
    [{ url: 'http://127.0.0.1/admin' }, /not public|private|loopback/i],
    [{ url: 'https://short.example/loop' }, /shortener|back/i],
    [{ owner: 'bob' }, /Unknown field\(s\) "owner"/],
    ['[1]', /JSON object/],
    ['{', /valid JSON/],
  ])('refuses the change %p with a 400 and leaves the link as it was', async (body, message) => {
    const answer = await call('PATCH', '/api/links/alice-change', alice, { body });
    expect(answer.status).toBe(400);
    expect(answer.body.error?.message).toMatch(message);
    expect((await findLink(API_TABLES.LINKS_TABLE_NAME, 'alice-change'))?.url).toBe('https://example.org/after');
  });

  it('deletes a link: 404 everywhere after, the redirect stops, and the code stays taken', async () => {
    expect((await create(alice, { url: 'https://example.com/gone', code: 'alice-gone' })).status).toBe(201);
    const deleted = await call('DELETE', '/api/links/alice-gone', alice);
    expect(deleted.status).toBe(204);
    expect(await findLink(API_TABLES.LINKS_TABLE_NAME, 'alice-gone')).toBeNull();
    expect((await call('GET', '/api/links/alice-gone', alice)).status).toBe(404);
    expect((await call('GET', '/api/links/alice-gone/stats', alice)).status).toBe(404);
    expect((await call('DELETE', '/api/links/alice-gone', alice)).status).toBe(404);
    expect((await call('PATCH', '/api/links/alice-gone', alice, { body: { disabled: false } })).status).toBe(404);
    const listed = (await call('GET', '/api/links', alice, { query: { limit: '100' } })).body.links as LinkView[];
    expect(listed.map((link) => link.code)).not.toContain('alice-gone');
    expect((await create(bob, { url: 'https://example.com/hijack', code: 'alice-gone' })).status).toBe(409);
    const { Item } = await local.dynamo.send(new GetItemCommand({ TableName: API_TABLES.LINKS_TABLE_NAME, Key: { code: { S: 'alice-gone' } } }));
    expect(unmarshall(Item ?? {})).toEqual({ code: 'alice-gone', deletedAt: expect.any(String), deletedOwner: 'alice' });
  });

  it('names every method of a route in a 405', async () => {
    const answer = await call('PUT', '/api/links/alice-change', alice);
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('GET, HEAD, PATCH, DELETE');
    expect((await call('DELETE', '/api/links', alice)).headers.allow).toBe('GET, HEAD, POST');
  });

  it('refuses unknown fields on create', async () => {
    const answer = await create(alice, { url: 'https://example.com/', owner: 'bob' });
    expect(answer.status).toBe(400);
    expect(answer.body.error?.message).toMatch(/Unknown field\(s\) "owner"/);
  });
});
