/**
 * The API's OpenAPI document through the handler in-process on DynamoDB Local: served at
 * GET /api/openapi.json to any valid key and to no one else; and the check every API test runs on
 * each answer (test/fixtures/openapi.ts) refusing real answers changed out of the document.
 */
import { OPENAPI_DOCUMENT } from '../../lambdas/handlers/api/openapi';
import { type DynamoForHandlers, startDynamoForHandlers } from '../fixtures/local/emulators';
import { expectDocumentedResponse, responseMismatches, type ObservedResponse } from '../fixtures/openapi';
import { type ApiAnswer, requestApi } from './helpers/api-requests';
import { API_TABLES, createApiTables, createOwnerKey } from './helpers/api-tables';
import { createStatisticsTables, STATISTICS_TABLES } from './helpers/statistics-tables';

jest.setTimeout(60_000);

const ADMIN_KEY = 'openapi-test-admin-key';

let local: DynamoForHandlers;
let ownerKey: string;

beforeAll(async () => {
  local = await startDynamoForHandlers({ ...STATISTICS_TABLES, ...API_TABLES, CLICKS_API_KEY: ADMIN_KEY, REPORTING_TIME_ZONE: 'UTC' });
  // The statistics tables: a link's view counts its recent clicks.
  await Promise.all([createApiTables(local.dynamo), createStatisticsTables(local.dynamo)]);
  ownerKey = (await createOwnerKey(local.dynamo, 'erin')).key;
});

afterAll(() => local?.stop());

const errorCode = (answer: ApiAnswer): string => (JSON.parse(answer.body) as { error: { code: string } }).error.code;

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
});

describe('the check of each answer against the document', () => {
  // Real answers of the handler (each checked by requestApi), then changed one way each below.
  let created: ApiAnswer;
  let link: ApiAnswer;
  let linkHead: ApiAnswer;
  let notAllowed: ApiAnswer;
  let unknown: ApiAnswer;
  let deleted: ApiAnswer;

  beforeAll(async () => {
    created = await requestApi('POST', '/api/links', ownerKey, { body: { url: 'https://example.com/checked', code: 'checked' } });
    link = await requestApi('GET', '/api/links/checked', ownerKey);
    linkHead = await requestApi('HEAD', '/api/links/checked', ownerKey);
    notAllowed = await requestApi('PUT', '/api/links/checked', ownerKey);
    unknown = await requestApi('GET', '/api/links/nobody-has-it', ownerKey);
    deleted = await requestApi('DELETE', '/api/links/checked', ownerKey);
  });

  const withBody = (answer: ApiAnswer, change: (body: Record<string, unknown>) => unknown): ObservedResponse => ({
    ...answer,
    body: JSON.stringify(change(JSON.parse(answer.body) as Record<string, unknown>)),
  });

  it('passes the real answers', () => {
    expect([created, link, linkHead, notAllowed, unknown, deleted].map(({ status }) => status)).toEqual([201, 200, 200, 405, 404, 204]);
    expect([created, link, linkHead, notAllowed, unknown, deleted].flatMap(responseMismatches)).toEqual([]);
  });

  it.each<[string, () => ObservedResponse, string]>([
    ['a field the document does not list', () => withBody(link, (body) => ({ ...body, secret: 'x' })), 'body (root) must NOT have additional properties ("secret")'],
    ['a required field missing', () => withBody(link, ({ clicksLast7Days: _dropped, ...rest }) => rest), "body (root) must have required property 'clicksLast7Days'"],
    ['a field of another type', () => withBody(link, (body) => ({ ...body, disabled: 'no' })), 'body /disabled must be boolean'],
    ['an undocumented status', () => ({ ...created, status: 200 }), 'status 200 is not documented for POST /api/links (documented: 201, 400, 401, 409, 413, 429, 500, 503)'],
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
  ])('refuses a real answer changed to have %s, saying so', (_, changed, mismatch) => {
    expect(responseMismatches(changed()).join('\n')).toContain(mismatch);
    expect(() => expectDocumentedResponse(changed())).toThrow(/answered \d+, which the OpenAPI document does not allow:\n {2}- /);
  });
});
