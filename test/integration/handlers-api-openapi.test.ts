/**
 * The API's OpenAPI document through the handler in-process on DynamoDB Local: served at
 * GET /api/openapi.json to any owner or admin key and to no one else; and the check every API test runs
 * on each answer (test/fixtures/openapi.ts) refusing real answers, JSON, CSV and NDJSON, changed out of
 * the document.
 */
import { OPENAPI_DOCUMENT } from '../../lambdas/handlers/api/openapi';
import type { DynamoForHandlers } from '../fixtures/local/emulators';
import { expectDocumentedResponse, responseMismatches, type ObservedResponse } from '../fixtures/openapi';
import { type ApiTextAnswer, ownerKeys, requestApi, startApiOnDynamo } from './helpers/api-handler';

jest.setTimeout(60_000);

const ADMIN_KEY = 'openapi-test-admin-key';
const REQUESTS_PER_MINUTE = 1000;

let local: DynamoForHandlers;
let ownerKey: string;

beforeAll(async () => {
  local = await startApiOnDynamo(ADMIN_KEY, REQUESTS_PER_MINUTE);
  [ownerKey] = await ownerKeys(local, ['erin']);
});

afterAll(() => local?.stop());

const errorCode = (answer: ApiTextAnswer): string => (JSON.parse(answer.body) as { error: { code: string } }).error.code;

describe('GET /api/openapi.json', () => {
  it('answers the document as JSON to an owner key and to the admin key, and HEAD its headers alone', async () => {
    for (const key of [ownerKey, ADMIN_KEY]) {
      const get = await requestApi('GET', '/api/openapi.json', key);
      expect(get.status).toBe(200);
      expect(get.headers['content-type']).toMatch(/^application\/json(;|$)/);
      expect(JSON.parse(get.body)).toEqual(JSON.parse(JSON.stringify(OPENAPI_DOCUMENT)));
      const head = await requestApi('HEAD', '/api/openapi.json', key);
      expect([head.status, head.headers, head.body]).toEqual([200, get.headers, '']);
    }
  });

  it.each([
    ['no key', null],
    ['a wrong key', 'not-a-key'],
    ['an unknown owner key', `ck_${'a'.repeat(12)}_${'B'.repeat(40)}`],
  ])('answers 401 to %s', async (_, key) => {
    const answer = await requestApi('GET', '/api/openapi.json', key);
    expect([answer.status, answer.headers['www-authenticate'], errorCode(answer)]).toEqual([401, 'Bearer', 'unauthorized']);
  });

  it('answers 403 to a share token, which reads its link alone', async () => {
    expect((await requestApi('POST', '/api/links', ownerKey, { body: { url: 'https://example.com/shared', code: 'shared' } })).status).toBe(201);
    const share = await requestApi('POST', '/api/links/shared/shares', ownerKey, { body: {} });
    const { token } = JSON.parse(share.body) as { token: string };
    const answer = await requestApi('GET', '/api/openapi.json', token);
    expect([answer.status, errorCode(answer)]).toEqual([403, 'forbidden']);
  });
});

describe('the check of each answer against the document', () => {
  // Real answers of the handler (each checked by requestApi), then changed one way each below.
  let created: ApiTextAnswer;
  let link: ApiTextAnswer;
  let linkHead: ApiTextAnswer;
  let notAllowed: ApiTextAnswer;
  let unknown: ApiTextAnswer;
  let deleted: ApiTextAnswer;
  let csvPage: ApiTextAnswer;
  let ndjsonPage: ApiTextAnswer;

  beforeAll(async () => {
    created = await requestApi('POST', '/api/links', ownerKey, { body: { url: 'https://example.com/checked', code: 'checked' } });
    link = await requestApi('GET', '/api/links/checked', ownerKey);
    linkHead = await requestApi('HEAD', '/api/links/checked', ownerKey);
    notAllowed = await requestApi('PUT', '/api/links/checked', ownerKey);
    unknown = await requestApi('GET', '/api/links/nobody-has-it', ownerKey);
    csvPage = await requestApi('GET', '/api/links/checked/export', ownerKey);
    ndjsonPage = await requestApi('GET', '/api/links/checked/export', ownerKey, { query: { format: 'ndjson', level: 'day' } });
    deleted = await requestApi('DELETE', '/api/links/checked', ownerKey);
  });

  const withBody = (answer: ApiTextAnswer, change: (body: Record<string, unknown>) => unknown): ObservedResponse => ({
    ...answer,
    body: JSON.stringify(change(JSON.parse(answer.body) as Record<string, unknown>)),
  });

  it('passes the real answers', () => {
    const answers = [created, link, linkHead, notAllowed, unknown, csvPage, ndjsonPage, deleted];
    expect(answers.map(({ status }) => status)).toEqual([201, 200, 200, 405, 404, 200, 200, 204]);
    expect(answers.flatMap(responseMismatches)).toEqual([]);
  });

  it.each<[string, () => ObservedResponse, string]>([
    ['a field the document does not list', () => withBody(link, (body) => ({ ...body, secret: 'x' })), 'body (root) must NOT have additional properties ("secret")'],
    ['a required field missing', () => withBody(link, ({ clicksLast7Days: _dropped, ...rest }) => rest), "body (root) must have required property 'clicksLast7Days'"],
    ['a field of another type', () => withBody(link, (body) => ({ ...body, disabled: 'no' })), 'body /disabled must be boolean'],
    ['an undocumented status', () => ({ ...created, status: 200 }), 'status 200 is not documented for POST /api/links (documented: 201, 400, 401, 403, 409, 413, 429, 500, 503)'],
    [
      'a problem code its status does not carry',
      () => withBody(unknown, () => ({ error: { code: 'conflict', message: 'No link has this code.' } })),
      'body /error/code must be equal to constant',
    ],
    ['a 405 without Allow', () => ({ ...notAllowed, headers: { 'content-type': 'application/json' } }), 'header Allow is missing'],
    [
      "a 405 whose Allow is not the route's methods",
      () => ({ ...notAllowed, headers: { ...notAllowed.headers, allow: 'GET, HEAD' } }),
      'Allow is "GET, HEAD", not the route\'s methods "GET, HEAD, PATCH, DELETE"',
    ],
    ['a 204 with a body', () => ({ ...deleted, body: '{}' }), 'a body where DELETE /api/links/{code} 204 has none'],
    ['a body for HEAD', () => ({ ...linkHead, body: link.body }), 'a body where HEAD /api/links/{code} 200 has none'],
    ['a body that is no JSON', () => ({ ...link, body: 'code: checked' }), 'the body is not JSON'],
    ['another content type', () => ({ ...link, headers: { ...link.headers, 'content-type': 'text/plain' } }), 'content-type text/plain is not documented'],
    [
      'a 403 where a share token may read',
      () => withBody({ ...unknown, status: 403 }, () => ({ error: { code: 'forbidden', message: 'A share link is read-only and shows one link.' } })),
      'status 403 is not documented for GET /api/links/{code}',
    ],
    [
      'a CSV page without the charset the document gives',
      () => ({ ...csvPage, headers: { ...csvPage.headers, 'content-type': 'text/csv' } }),
      'content-type text/csv is not documented (documented: text/csv; charset=utf-8, application/x-ndjson)',
    ],
    [
      'an export page that is not a download',
      () => ({ ...csvPage, headers: { ...csvPage.headers, 'content-disposition': 'inline' } }),
      'header Content-Disposition "inline": (root) must match pattern',
    ],
    ['an NDJSON line the row schema refuses', () => ({ ...ndjsonPage, body: '{"t":"2026-11-01T00:00:00Z","code":"checked","clicks":-1,"uniques":0,"botClicks":0}\n' }), 'line 1 /clicks must be >= 0'],
    ['an NDJSON line that is no JSON', () => ({ ...ndjsonPage, body: 't,code\n' }), 'line 1 is not JSON'],
    ['an NDJSON body cut inside a line', () => ({ ...ndjsonPage, body: '{"t":' }), 'the body does not end in a line feed'],
  ])('refuses a real answer changed to have %s, saying so', (_, changed, mismatch) => {
    expect(responseMismatches(changed()).join('\n')).toContain(mismatch);
    expect(() => expectDocumentedResponse(changed())).toThrow(/answered \d+, which the OpenAPI document does not allow:\n {2}- /);
  });
});
