/**
 * Share links through the API handler in-process on DynamoDB Local: an owner (or the admin key) makes,
 * lists and revokes the read-only share links of a link; a share token reads that link and its
 * statistics and nothing else; a revoked token, or the token of a deleted link, stops at once; another
 * owner reaches no share of a link not theirs. Every answer is checked against the OpenAPI document.
 */
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { randomBytes } from 'node:crypto';
import { apiKeyHash, generateApiKey } from '../../lambdas/domain/api-key';
import { MAX_SHARES_PER_LINK } from '../../lambdas/domain/share-link';
import { handler as aggregate } from '../../lambdas/handlers/aggregate';
import type { CreatedShare, ShareView } from '../../lambdas/handlers/api/shares';
import { putLinkShare } from '../../lambdas/tables/api-keys';
import type { DynamoForHandlers } from '../fixtures/local/emulators';
import { type ApiAnswer, callApi, ownerKeys, startApiOnDynamo } from './helpers/api-handler';
import { API_TABLES } from './helpers/api-tables';
import { streamInserts, testClick } from './helpers/statistics-tables';

jest.setTimeout(60_000);

const ADMIN_KEY = 'shares-test-admin-key';
/** High enough for every test but the one that lowers it for a moment. */
const REQUESTS_PER_MINUTE = 1000;
const TOKEN_SHAPE = /^cs_[a-z0-9]{12}_[A-Za-z0-9]{40}$/;
const UNKNOWN_LINK = { error: { code: 'not_found', message: 'No link has this code.' } };
const FORBIDDEN = { error: { code: 'forbidden', message: 'A share link is read-only and shows one link.' } };
const UNKNOWN_SHARE = { error: { code: 'not_found', message: 'This link has no share link with this id.' } };

let local: DynamoForHandlers;
let alice: string;
let bob: string;

async function createLink(key: string, code: string): Promise<void> {
  expect((await callApi('POST', '/api/links', key, { body: { url: `https://example.com/${code}`, code } })).status).toBe(201);
}

async function createShare(key: string, code: string, body: unknown = {}): Promise<CreatedShare> {
  const answer = await callApi('POST', `/api/links/${code}/shares`, key, { body });
  expect(answer.status).toBe(201);
  return answer.body as unknown as CreatedShare;
}

async function sharesOf(key: string, code: string): Promise<ShareView[]> {
  const answer = await callApi('GET', `/api/links/${code}/shares`, key);
  expect(answer.status).toBe(200);
  return (answer.body as unknown as { shares: ShareView[] }).shares;
}

const statusAndBody = (answer: ApiAnswer): [number, unknown] => [answer.status, answer.body];

beforeAll(async () => {
  local = await startApiOnDynamo(ADMIN_KEY, REQUESTS_PER_MINUTE);
  [alice, bob] = await ownerKeys(local, ['alice', 'bob']);
  await createLink(alice, 'shared-a');
  await createLink(alice, 'alice-other');
  await createLink(bob, 'bob-link');
  const response = await aggregate({
    shardId: 'shardId-00000001700000000000-0000cccc',
    Records: streamInserts([
      testClick('shared-a', 'alice', { ts: new Date(Date.now() - 3_600_000).toISOString() }),
      testClick('shared-a', 'alice', { ts: new Date(Date.now() - 7_200_000).toISOString(), referrer: 'news.ycombinator.com' }),
    ]),
  });
  expect(response.batchItemFailures).toEqual([]);
});

afterAll(() => local?.stop());

describe('making, listing and revoking share links', () => {
  it('makes a share whose token is shown once and stored only as its hash, with the dashboard URL carrying it in the fragment', async () => {
    const answer = await callApi('POST', '/api/links/shared-a/shares', alice, { body: {} });
    expect(answer.status).toBe(201);
    expect(answer.headers['cache-control']).toBe('no-store');
    const share = answer.body as unknown as CreatedShare;
    expect(share).toEqual({ id: expect.stringMatching(/^[a-z0-9]{12}$/), token: expect.stringMatching(TOKEN_SHAPE), label: null, createdAt: expect.any(String), url: expect.any(String) });
    expect(share.token.slice(3, 15)).toBe(share.id);
    expect(share.url).toBe(`https://short.example/dashboard#share=${share.token}&link=shared-a`);

    const { Item } = await local.dynamo.send(new GetItemCommand({ TableName: API_TABLES.API_KEYS_TABLE_NAME, Key: { keyId: { S: share.id } }, ConsistentRead: true }));
    expect(unmarshall(Item ?? {})).toEqual({ keyId: share.id, owner: 'alice', keyHash: apiKeyHash(share.token), createdAt: share.createdAt, share: 'shared-a' });

    const labelled = await createShare(alice, 'shared-a', { label: '  Team view  ' });
    expect(labelled.label).toBe('Team view');
    const listed = await sharesOf(alice, 'shared-a');
    expect(listed.slice(0, 2)).toEqual([
      { id: labelled.id, label: 'Team view', createdAt: labelled.createdAt, revokedAt: null },
      { id: share.id, label: null, createdAt: share.createdAt, revokedAt: null },
    ]);
    expect(JSON.stringify(listed)).not.toContain(share.token.slice(16));
  });

  it('revokes a share: listed with revokedAt, its token refused at its next request; revoking again changes nothing', async () => {
    const share = await createShare(alice, 'shared-a', { label: 'to revoke' });
    expect((await callApi('GET', '/api/links/shared-a', share.token)).status).toBe(200);
    const revoked = await callApi('DELETE', `/api/links/shared-a/shares/${share.id}`, alice);
    expect([revoked.status, revoked.body]).toEqual([204, {}]);
    const refused = await callApi('GET', '/api/links/shared-a/stats', share.token);
    expect([refused.status, refused.headers['www-authenticate']]).toEqual([401, 'Bearer']);

    const [listed] = (await sharesOf(alice, 'shared-a')).filter(({ id }) => id === share.id);
    expect(listed).toEqual({ id: share.id, label: 'to revoke', createdAt: share.createdAt, revokedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/) });
    expect((await callApi('DELETE', `/api/links/shared-a/shares/${share.id}`, alice)).status).toBe(204);
    expect((await sharesOf(alice, 'shared-a')).find(({ id }) => id === share.id)?.revokedAt).toBe(listed.revokedAt);
  });

  it('answers 404 for an unknown or malformed share id, and for a share of another link', async () => {
    const other = await createShare(alice, 'alice-other');
    for (const id of ['zzzzzzzzzzzz', 'NOT-AN-ID', 'x'.repeat(300), other.id]) {
      expect(statusAndBody(await callApi('DELETE', `/api/links/shared-a/shares/${id}`, alice))).toEqual([404, UNKNOWN_SHARE]);
    }
    expect((await callApi('GET', '/api/links/alice-other', other.token)).status).toBe(200);
  });

  it.each([
    [{ label: 'x'.repeat(65) }, /at most 64 characters/],
    [{ label: 42 }, /must be a string/],
    [{ label: 'two\nlines' }, /control/],
    [{ label: 'ok', owner: 'bob' }, /Unknown field\(s\) "owner"/],
    [{ share: 'bob-link' }, /Unknown field\(s\) "share"/],
    ['[]', /JSON object/],
    ['', /valid JSON/],
  ])('refuses the body %p with a 400 and makes no share', async (body, message) => {
    const before = await sharesOf(alice, 'shared-a');
    const answer = await callApi('POST', '/api/links/shared-a/shares', alice, { body });
    expect([answer.status, answer.body.error?.code]).toEqual([400, 'invalid_request']);
    expect(answer.body.error?.message).toMatch(message);
    expect(await sharesOf(alice, 'shared-a')).toEqual(before);
  });

  it('names the methods of the share routes in a 405', async () => {
    expect((await callApi('PUT', '/api/links/shared-a/shares', alice)).headers.allow).toBe('GET, HEAD, POST');
    expect((await callApi('GET', '/api/links/shared-a/shares/zzzzzzzzzzzz', alice)).headers.allow).toBe('DELETE');
  });
});

describe('what a share token may do', () => {
  let token: string;

  beforeAll(async () => {
    token = (await createShare(alice, 'shared-a', { label: 'reader' })).token;
  });

  it('reads its link and its statistics, with any statistics parameters, as the owner reads them', async () => {
    const link = await callApi('GET', '/api/links/shared-a', token);
    expect(link.status).toBe(200);
    expect(link.body).toMatchObject({ code: 'shared-a', owner: 'alice', url: 'https://example.com/shared-a' });
    expect((await callApi('HEAD', '/api/links/shared-a/stats', token)).status).toBe(200);
    const queries: Record<string, string>[] = [{}, { granularity: 'day', compare: 'previous', includeBots: 'true', top: '1' }];
    for (const query of queries) {
      const [shared, owners] = [await callApi('GET', '/api/links/shared-a/stats', token, { query }), await callApi('GET', '/api/links/shared-a/stats', alice, { query })];
      expect(shared.status).toBe(200);
      expect((shared.body as { totals?: { clicks: number } }).totals?.clicks).toBe(2);
      // The same figures; `to` is "now" at each request, so only the range may differ.
      expect({ ...shared.body, from: null, to: null, series: null, previous: null }).toEqual({ ...owners.body, from: null, to: null, series: null, previous: null });
    }
    const refused = await callApi('GET', '/api/links/shared-a/stats', token, { query: { granularity: 'week' } });
    expect(refused.status).toBe(400);
  });

  it('answers for any other code exactly as for an unknown one', async () => {
    for (const path of ['/api/links/alice-other', '/api/links/alice-other/stats', '/api/links/bob-link', '/api/links/bob-link/stats', '/api/links/nobody-has-it']) {
      expect(statusAndBody(await callApi('GET', path, token))).toEqual([404, UNKNOWN_LINK]);
    }
  });

  it('is forbidden every other route and method, and changes nothing', async () => {
    const shareId = (await sharesOf(alice, 'shared-a'))[0].id;
    for (const [method, path, body] of [
      ['PATCH', '/api/links/shared-a', { disabled: true }],
      ['DELETE', '/api/links/shared-a', undefined],
      ['POST', '/api/links', { url: 'https://example.com/new' }],
      ['GET', '/api/links', undefined],
      ['GET', '/api/stats', undefined],
      ['GET', '/api/links/shared-a/shares', undefined],
      ['POST', '/api/links/shared-a/shares', {}],
      ['DELETE', `/api/links/shared-a/shares/${shareId}`, undefined],
      ['PATCH', '/api/links/bob-link', { disabled: true }],
      ['GET', '/api/no-such-route', undefined],
    ] as const) {
      expect([method, path, ...statusAndBody(await callApi(method, path, token, { body }))]).toEqual([method, path, 403, FORBIDDEN]);
    }
    expect((await callApi('GET', '/api/links/shared-a', alice)).body).toMatchObject({ disabled: false });
    expect((await sharesOf(alice, 'shared-a')).find(({ id }) => id === shareId)?.revokedAt).toBeNull();
  });

  it('is refused with the other kind of prefix: an owner key with its id and secret is another key', async () => {
    expect((await callApi('GET', '/api/links/shared-a', token.replace(/^cs_/, 'ck_'))).status).toBe(401);
  });

  it('counts against the per-key limit under its own id: another share of the same link goes on', async () => {
    const [limited, other] = [(await createShare(alice, 'shared-a', { label: 'busy' })).token, (await createShare(alice, 'shared-a', { label: 'quiet' })).token];
    const secondsIntoMinute = new Date().getUTCSeconds();
    if (secondsIntoMinute >= 57) await new Promise((resolve) => setTimeout(resolve, (61 - secondsIntoMinute) * 1000));
    process.env.API_KEY_REQUESTS_PER_MINUTE = '3';
    try {
      const statuses: number[] = [];
      for (let n = 0; n < 4; n++) statuses.push((await callApi('GET', '/api/links/shared-a', limited)).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      expect((await callApi('GET', '/api/links/shared-a', other)).status).toBe(200);
    } finally {
      process.env.API_KEY_REQUESTS_PER_MINUTE = String(REQUESTS_PER_MINUTE);
    }
  });

  it("stops working when its link is deleted: the link is gone for the token as for everyone", async () => {
    await createLink(alice, 'soon-deleted');
    const share = await createShare(alice, 'soon-deleted');
    expect((await callApi('GET', '/api/links/soon-deleted/stats', share.token)).status).toBe(200);
    expect((await callApi('DELETE', '/api/links/soon-deleted', alice)).status).toBe(204);
    for (const path of ['/api/links/soon-deleted', '/api/links/soon-deleted/stats']) {
      expect(statusAndBody(await callApi('GET', path, share.token))).toEqual([404, UNKNOWN_LINK]);
    }
    expect(statusAndBody(await callApi('GET', '/api/links/soon-deleted/shares', alice))).toEqual([404, UNKNOWN_LINK]);
  });
});

describe('who may manage the shares of a link', () => {
  it("keeps another owner out of a link's shares exactly as out of an unknown code", async () => {
    const share = await createShare(alice, 'shared-a', { label: 'alice only' });
    const before = await sharesOf(alice, 'shared-a');
    for (const [method, route, body] of [
      ['POST', 'shares', {}],
      ['GET', 'shares', undefined],
      ['DELETE', `shares/${share.id}`, undefined],
    ] as const) {
      const foreign = await callApi(method, `/api/links/shared-a/${route}`, bob, { body });
      expect(statusAndBody(foreign)).toEqual([404, UNKNOWN_LINK]);
      expect(statusAndBody(await callApi(method, `/api/links/nobody-has-it/${route}`, bob, { body }))).toEqual(statusAndBody(foreign));
    }
    // Nor through a link of his own.
    expect(statusAndBody(await callApi('DELETE', `/api/links/bob-link/shares/${share.id}`, bob))).toEqual([404, UNKNOWN_SHARE]);
    expect(await sharesOf(alice, 'shared-a')).toEqual(before);
    expect((await callApi('GET', '/api/links/shared-a', share.token)).status).toBe(200);
  });

  it("lets the admin key share any owner's link: the share reads it as its owner", async () => {
    const share = await createShare(ADMIN_KEY, 'bob-link', { label: 'by the operators' });
    expect((await sharesOf(bob, 'bob-link')).map(({ id }) => id)).toEqual([share.id]);
    expect((await callApi('GET', '/api/links/bob-link/stats', share.token)).status).toBe(200);
  });

  it('refuses to share a link with no owner (an item written by hand), which a share could not read', async () => {
    await local.dynamo.send(new PutItemCommand({ TableName: API_TABLES.LINKS_TABLE_NAME, Item: marshall({ code: 'ownerless', url: 'https://example.com/' }) }));
    const answer = await callApi('POST', '/api/links/ownerless/shares', ADMIN_KEY, { body: {} });
    expect([answer.status, answer.body.error?.code]).toEqual([409, 'conflict']);
  });

  it(`refuses a share past the ${MAX_SHARES_PER_LINK} a link may have, revoked ones included`, async () => {
    await createLink(alice, 'many-shares');
    const made = await Promise.all(
      Array.from({ length: MAX_SHARES_PER_LINK }, async () => {
        const { keyId, keyHash } = generateApiKey('share', randomBytes);
        return putLinkShare(API_TABLES.API_KEYS_TABLE_NAME, { keyId, owner: 'alice', keyHash, share: 'many-shares' });
      }),
    );
    expect(made.every((stored) => typeof stored === 'object')).toBe(true);
    const listed = await sharesOf(alice, 'many-shares');
    expect(listed).toHaveLength(MAX_SHARES_PER_LINK);
    expect((await callApi('DELETE', `/api/links/many-shares/shares/${listed[0].id}`, alice)).status).toBe(204);
    const refused = await callApi('POST', '/api/links/many-shares/shares', alice, { body: {} });
    expect([refused.status, refused.body.error?.code]).toEqual([409, 'conflict']);
    expect(refused.body.error?.message).toMatch(/100 share links/);
  });
});
