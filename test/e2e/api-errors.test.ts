/**
 * The admin API over real HTTP through the local stack (`npm start` as a child process): every
 * client mistake gets its 4xx with a JSON error, and none of them a 5xx; HEAD answers as GET does,
 * without the body.
 */
import { type LocalStackProcess, removeDataDir, startLocalStackProcess, TEST_API_KEY } from '../fixtures/local/local-stack-process';

jest.setTimeout(120_000);

let stack: LocalStackProcess;

beforeAll(async () => {
  stack = await startLocalStackProcess();
}, 120_000);

afterAll(async () => {
  if (stack === undefined) return;
  await stack.kill();
  await removeDataDir(stack.dataDir);
});

const AUTH = { authorization: `Bearer ${TEST_API_KEY}` };
const JSON_TYPE = { 'content-type': 'application/json' };

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly errorCode: string | undefined;
}

async function call(method: string, path: string, options: { headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Answer> {
  const response = await fetch(`${stack.baseUrl}${path}`, { method, headers: options.headers, body: options.body });
  const text = await response.text();
  let errorCode: string | undefined;
  try {
    errorCode = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    errorCode = undefined;
  }
  return { status: response.status, headers: response.headers, text, errorCode };
}

const createLink = (body: unknown, headers: Record<string, string> = {}): Promise<Answer> =>
  call('POST', '/api/links', { headers: { ...AUTH, ...JSON_TYPE, ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe('admin API client mistakes', () => {
  it.each([
    ['no Authorization header', {}],
    ['a wrong key', { authorization: 'Bearer not-the-key' }],
    ['another scheme', { authorization: `Basic ${TEST_API_KEY}` }],
    ['a key with trailing garbage', { authorization: `Bearer ${TEST_API_KEY} extra` }],
    ['an empty bearer', { authorization: 'Bearer ' }],
  ])('401 for %s, on every route, known or not', async (_, headers) => {
    for (const [method, path] of [
      ['POST', '/api/links'],
      ['GET', '/api/links/demo/stats'],
      ['GET', '/api/stats'],
      ['GET', '/api/nothing-here'],
    ]) {
      const answer = await call(method, path, { headers });
      expect([method, path, answer.status, answer.errorCode]).toEqual([method, path, 401, 'unauthorized']);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
    }
  });

  it.each([
    ['an unknown route', 'GET', '/api/nothing-here'],
    ['a route one segment too deep', 'GET', '/api/links/demo/stats/more'],
    ['the owner stats route with a trailing segment', 'GET', '/api/stats/more'],
    ['the links route with a trailing segment', 'POST', '/api/links/demo/more'],
    ['an unknown link', 'GET', '/api/links/no-such-link'],
    ['stats of an unknown link', 'GET', '/api/links/no-such-link/stats'],
    ['stats of a malformed code', 'GET', '/api/links/bad%20code!/stats'],
    ['stats of a reserved code', 'GET', '/api/links/api/stats'],
    ['stats of an overlong code', 'GET', `/api/links/${'x'.repeat(65)}/stats`],
  ])('404 for %s', async (_, method, path) => {
    const answer = await call(method, path, { headers: AUTH });
    expect(answer.status).toBe(404);
    expect(answer.errorCode).toBe('not_found');
  });

  it.each([
    ['PUT', '/api/links', 'GET, HEAD, POST'],
    ['DELETE', '/api/links', 'GET, HEAD, POST'],
    ['POST', '/api/links/demo', 'GET, HEAD, PATCH, DELETE'],
    ['POST', '/api/links/demo/stats', 'GET, HEAD'],
    ['DELETE', '/api/links/demo/stats', 'GET, HEAD'],
    ['POST', '/api/stats', 'GET, HEAD'],
    ['OPTIONS', '/api/stats', 'GET, HEAD'],
  ])('405 for %s %s, with Allow: %s', async (method, path, allow) => {
    const answer = await call(method, path, { headers: AUTH });
    expect(answer.status).toBe(405);
    expect(answer.errorCode).toBe('method_not_allowed');
    expect(answer.headers.get('allow')).toBe(allow);
  });

  it.each([
    ['no body', undefined],
    ['malformed JSON', '{"url": "https://example.com/"'],
    ['JSON that is not an object', '["https://example.com/"]'],
    ['JSON null', 'null'],
    ['a JSON string', '"https://example.com/"'],
    ['plain text', 'https://example.com/'],
    ['a missing url', {}],
    ['a url that is not a string', { url: 42 }],
    ['an empty url', { url: '   ' }],
    ['a relative url', { url: '/relative/path' }],
    ['a javascript: url', { url: 'javascript:alert(document.cookie)' }],
    ['a data: url', { url: 'data:text/html,<script>alert(1)</script>' }],
    ['an ftp url', { url: 'ftp://example.com/file' }],
    ['a url with credentials', { url: 'https://user:password@example.com/' }],
    ['a url with a user name only', { url: 'https://user@example.com/' }],
    ['a url longer than 2,048 characters', { url: `https://example.com/${'a'.repeat(2_040)}` }],
    ['a url pointing back at the shortener', { url: '$BASE/demo' }],
    ['a url pointing back at the shortener, upper case and with a trailing dot', { url: '$HOST_UPPER/demo' }],
    ['a custom code that is too short', { url: 'https://example.com/', code: 'ab' }],
    ['a custom code with a slash', { url: 'https://example.com/', code: 'a/b/c' }],
    ['a reserved custom code', { url: 'https://example.com/', code: 'API' }],
    ['a custom code that is not a string', { url: 'https://example.com/', code: 1234 }],
    ['a null custom code', { url: 'https://example.com/', code: null }],
  ])('400 for a link with %s', async (_, rawBody) => {
    const body = rawBody as string | Record<string, unknown> | undefined;
    const host = new URL(stack.baseUrl).host;
    const resolved =
      typeof body === 'object' && typeof body.url === 'string'
        ? { ...body, url: body.url.replace('$BASE', stack.baseUrl).replace('$HOST_UPPER', `http://${host.toUpperCase().replace(':', '.:')}`) }
        : body;
    const answer =
      resolved === undefined ? await call('POST', '/api/links', { headers: { ...AUTH, ...JSON_TYPE } }) : await createLink(resolved);
    expect(answer.status).toBe(400);
    expect(answer.errorCode).toBe('invalid_request');
  });

  it('409 when the custom code is taken, and the first link keeps it', async () => {
    expect((await createLink({ url: 'https://example.com/first', code: 'taken-code' })).status).toBe(201);
    const second = await createLink({ url: 'https://example.com/second', code: 'taken-code' });
    expect(second.status).toBe(409);
    expect(second.errorCode).toBe('conflict');
    const redirect = await fetch(`${stack.baseUrl}/taken-code`, { redirect: 'manual' });
    expect(redirect.headers.get('location')).toBe('https://example.com/first');
  });

  it('413 for a body over 8 KiB, however it is encoded', async () => {
    const url = `https://example.com/${'a'.repeat(9_000)}`;
    const text = await createLink({ url });
    expect(text.status).toBe(413);
    expect(text.errorCode).toBe('payload_too_large');
    const binary = await call('POST', '/api/links', {
      headers: { ...AUTH, 'content-type': 'application/octet-stream' },
      body: Buffer.from(JSON.stringify({ url })),
    });
    expect(binary.status).toBe(413);
  });

  it.each([
    ['a malformed from', 'from=yesterday'],
    ['an impossible date', 'from=2026-02-30'],
    ['an impossible hour', 'from=2026-11-01T24:00'],
    ['a malformed to', 'to=2026-13-01'],
    ['an offset out of range', 'from=2026-11-01T00:00:00%2B24:00'],
    ['from after to', 'from=2026-11-02&to=2026-11-01'],
    ['from equal to to', 'from=2026-11-01&to=2026-11-01'],
    ['an unknown granularity', 'granularity=week'],
    ['an unknown time zone', 'tz=Mars/Olympus_Mons'],
    ['a hostile time zone', 'tz=../../etc/passwd'],
    ['an hourly range over 31 days', 'from=2026-01-01&to=2026-03-01&granularity=hour'],
    ['a daily range over 400 days', 'from=2020-01-01&to=2026-01-01&granularity=day'],
    ['a repeated parameter', 'from=2026-11-01&from=2026-11-02'],
    ['a range in the year 9999', 'from=9999-12-30&to=9999-12-31&granularity=month'],
    ['a range before 1970', 'from=1969-12-30&to=1969-12-31'],
    ['top 0', 'top=0'],
    ['a top that is no number', 'top=all'],
    ['days in another zone older than the quarter-hour level', 'from=2020-01-01&to=2020-01-05&granularity=day&tz=Asia/Kolkata'],
  ])('400 for stats with %s, on both stats routes', async (_, query) => {
    for (const path of ['/api/links/demo/stats', '/api/stats']) {
      const answer = await call('GET', `${path}?${query}`, { headers: AUTH });
      expect([path, answer.status, answer.errorCode]).toEqual([path, 400, 'invalid_request']);
    }
  });

  it.each([
    ['the link stats', '/api/links/demo/stats', AUTH, 200],
    ['the owner stats', '/api/stats?granularity=day', AUTH, 200],
    ['a bad stats query', '/api/stats?granularity=week', AUTH, 400],
    ['an unknown link', '/api/links/no-such-link/stats', AUTH, 404],
    ['an unknown route', '/api/nothing-here', AUTH, 404],
    ['the links list', '/api/links', AUTH, 200],
    ['a route without GET', '/api/links/demo/more', AUTH, 404],
    ['no key', '/api/stats', {}, 401],
  ])('HEAD on %s: the status and headers of GET, and no body (RFC 9110 §9.3.2)', async (_, path, headers, status) => {
    const [get, head] = [await call('GET', path, { headers }), await call('HEAD', path, { headers })];
    expect([get.status, head.status]).toEqual([status, status]);
    for (const name of ['content-type', 'cache-control', 'allow', 'www-authenticate']) {
      expect([name, head.headers.get(name)]).toEqual([name, get.headers.get(name)]);
    }
    expect(get.text).not.toBe('');
    expect(head.text).toBe('');
    // The body was left out before the front saw it: it cannot know GET's length, so it claims none.
    expect(head.headers.get('content-length')).toBeNull();
  });

  it('answers every mistake above without a 5xx, and a well-formed request still works', async () => {
    const created = await createLink({ url: 'https://example.com/ok' });
    expect(created.status).toBe(201);
    // Yesterday: hours in any zone come from the quarter-hour level, which keeps 90 days.
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    for (const path of ['/api/links/demo/stats', '/api/stats']) {
      const stats = await call('GET', `${path}?from=${yesterday}&to=${yesterday}T12:00&granularity=hour&tz=Europe/Paris`, { headers: AUTH });
      expect([path, stats.status]).toEqual([path, 200]);
    }
    expect(stack.output()).not.toMatch(/failed for|HTTP front error|request failed/);
  });
});
