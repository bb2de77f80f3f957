import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { VIEWER_REQUEST_CODE } from '../../lib/constructs/redirect-edge';
import { edgeRedirectEntry, KEY_VALUE_STORE_LIMITS } from '../../lambdas/domain/edge-redirect';
import { parseShortCode, RESERVED_CODES } from '../../lambdas/domain/short-code';
import { CloudFrontFunctionSandbox, MAX_FUNCTION_BYTES, type FunctionOutcome } from '../../local/edge/cloudfront-function-sandbox';
import { EdgeKeyValueStore, type KeyValueReader } from '../../local/edge/key-value-store';
import { viewerRequestEvent } from './helpers/cloudfront-events';

/** The file CloudFront would run, read as it is deployed. */
const FUNCTION_SOURCE = readFileSync(join(__dirname, '../../lambdas/edge/redirect-function.js'), 'utf8');
const DESTINATION = 'https://example.com/landing?campaign=spring';
/** What lambdas/handlers/redirect.ts sends with its 302. */
const ORIGIN_CACHE_CONTROL = 'private, no-store, max-age=0';

function edgeFunction(store: KeyValueReader): CloudFrontFunctionSandbox {
  return new CloudFrontFunctionSandbox(FUNCTION_SOURCE, { keyValueStore: store, filename: 'redirect-function.js' });
}

function storeWith(entries: Readonly<Record<string, string>>): EdgeKeyValueStore {
  const store = new EdgeKeyValueStore();
  for (const [code, url] of Object.entries(entries)) expect(store.put(code, url)).toMatchObject({ stored: true });
  return store;
}

/** Today's plain viewer function, the behaviour the fall-through path must keep. */
const viewerFunction = new CloudFrontFunctionSandbox(VIEWER_REQUEST_CODE, { filename: 'viewer-request.js' });

function expectRedirect(outcome: FunctionOutcome, location: string): void {
  expect(outcome).toMatchObject({
    kind: 'response',
    response: { statusCode: 302, headers: { location: { value: location }, 'cache-control': { value: ORIGIN_CACHE_CONTROL } } },
  });
}

describe('the edge redirect function', () => {
  it('is small next to the 10 KB CloudFront allows', async () => {
    expect(Buffer.byteLength(FUNCTION_SOURCE, 'utf8')).toBeLessThan(MAX_FUNCTION_BYTES / 2);
  });

  it.each(['GET', 'HEAD'])('answers %s /<code> with the origin redirect 302 when the store holds the code', async (method) => {
    const outcome = await edgeFunction(storeWith({ spring: DESTINATION })).run(viewerRequestEvent({ uri: '/spring', method }));
    expectRedirect(outcome, DESTINATION);
    expect(outcome.kind === 'response' && Object.keys(outcome.response.headers ?? {}).sort()).toEqual(['cache-control', 'location']);
  });

  it.each(['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'])('leaves %s /<code> to the origin', async (method) => {
    const outcome = await edgeFunction(storeWith({ spring: DESTINATION })).run(viewerRequestEvent({ uri: '/spring', method }));
    expect(outcome).toMatchObject({ kind: 'request', request: { method, uri: '/spring' } });
  });

  it('leaves a code the store does not hold to the origin', async () => {
    expect(await edgeFunction(storeWith({})).run(viewerRequestEvent({ uri: '/missing' }))).toMatchObject({ kind: 'request' });
  });

  it.each([
    ['a nested path', '/spring/more'],
    ['a trailing slash', '/spring/'],
    ['the root', '/'],
    ['a percent-encoded code', '/%73pring'],
    ['an encoded slash', '/spr%2Fing'],
    ['a 65-character code', `/${'a'.repeat(65)}`],
    ['a dot', '/spr.ing'],
    ['unicode', '/sprïng'],
  ])('leaves %s to the origin even when the store holds a matching key', async (_case, uri) => {
    const key = uri.slice(1);
    const store = new EdgeKeyValueStore();
    store.put(key, DESTINATION);
    store.put('spring', DESTINATION);
    expect(await edgeFunction(store).run(viewerRequestEvent({ uri }))).toMatchObject({ kind: 'request', request: { uri } });
  });

  it("leaves the shortener's own paths to the origin, in any case, even when the store holds them", async () => {
    const reserved = [...RESERVED_CODES].flatMap((code) => [code, code.toUpperCase()]);
    const store = storeWith(Object.fromEntries(reserved.map((code) => [code, DESTINATION])));
    for (const code of reserved) {
      expect(await edgeFunction(store).run(viewerRequestEvent({ uri: `/${code}` }))).toMatchObject({ kind: 'request' });
    }
  });

  it('leaves the request to the origin when the store cannot be read', async () => {
    const failingStore: KeyValueReader = {
      get: () => {
        throw new Error('edge location lost its copy');
      },
    };
    expect(await edgeFunction(failingStore).run(viewerRequestEvent({ uri: '/spring' }))).toMatchObject({ kind: 'request' });
  });

  it.each([
    ['a script URL', 'javascript:alert(1)'],
    ['a header break', 'https://example.com/\r\nset-cookie: session=stolen'],
    ['a non-ASCII host', 'https://bücher.example/'],
    ['a space', 'https://example.com/a b'],
    ['a relative URL', '/elsewhere'],
    ['an empty value', ''],
  ])('leaves a stored value with %s to the origin rather than send it', async (_case, value) => {
    const store = new EdgeKeyValueStore();
    store.put('spring', value);
    expect(await edgeFunction(store).run(viewerRequestEvent({ uri: '/spring' }))).toMatchObject({ kind: 'request' });
  });

  it('prepares the origin request as the plain viewer function does: spoofed headers dropped, host and viewer IP passed on', async () => {
    const event = viewerRequestEvent({
      uri: '/missing',
      viewerIp: '198.51.100.9',
      headers: {
        host: { value: 'sho.rt' },
        'x-forwarded-host': { value: 'evil.example' },
        'true-client-ip': { value: '10.0.0.1' },
        'cloudfront-viewer-address': { value: '10.0.0.1:443' },
        'user-agent': { value: 'curl/8' },
      },
    });
    const outcome = await edgeFunction(storeWith({})).run(event);
    expect(outcome).toMatchObject({
      kind: 'request',
      request: {
        headers: {
          host: { value: 'sho.rt' },
          'x-forwarded-host': { value: 'sho.rt' },
          'true-client-ip': { value: '198.51.100.9' },
          'user-agent': { value: 'curl/8' },
        },
      },
    });
    expect(outcome.kind === 'request' && outcome.request.headers['cloudfront-viewer-address']).toBeUndefined();
  });

  const headerValue = fc.record({ value: fc.string({ maxLength: 40 }).filter((text) => !/[\r\n\0]/.test(text)) });
  const headers = fc.dictionary(
    fc.constantFrom('host', 'x-forwarded-host', 'true-client-ip', 'cloudfront-viewer-address', 'accept', 'referer'),
    headerValue,
  );

  it('falls through exactly as the plain viewer function, whatever the headers and viewer', async () => {
    const store = storeWith({ spring: DESTINATION });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/missing', '/api', '/spring/', '/'),
        fc.constantFrom('GET', 'HEAD', 'POST'),
        headers,
        fc.constantFrom('203.0.113.7', '2001:db8::1', ''),
        async (uri, method, requestHeaders, viewerIp) => {
          const event = viewerRequestEvent({ uri, method, headers: requestHeaders, viewerIp });
          const today = await viewerFunction.run(event);
          expect(today.kind).toBe('request');
          expect(await edgeFunction(store).run(event)).toEqual({ ...today, durationMs: expect.any(Number) });
        },
      ),
      { numRuns: 150 },
    );
  });

  // CloudFront's request.uri always starts with "/"; what follows it is anything a viewer can send.
  const anyUri = fc.oneof(
    fc.string({ maxLength: 80 }).map((path) => `/${path}`),
    fc.string({ unit: 'binary', maxLength: 80 }).map((path) => `/${path}`),
    fc.webPath().map((path) => (path.startsWith('/') ? path : `/${path}`)),
    fc.stringMatching(/^\/[A-Za-z0-9_-]{1,70}$/),
    fc.constantFrom('//spring', '/spring?x=1', '/spring#x', '/%00', '/spring\n', '/\u202espring', '/..%2f..%2fetc'),
    fc.nat({ max: 9000 }).map((length) => `/${'a'.repeat(length)}`),
  );

  it('answers 302 exactly for GET/HEAD of a valid code the store holds, and never fails, for any URI', async () => {
    const store = storeWith({ spring: DESTINATION, a: 'https://a.example/', [`${'a'.repeat(64)}`]: 'https://long.example/' });
    const edge = edgeFunction(store);
    await fc.assert(
      fc.asyncProperty(anyUri, fc.constantFrom('GET', 'HEAD', 'POST'), async (uri, method) => {
        const outcome = await edge.run(viewerRequestEvent({ uri, method }));
        const code = uri.startsWith('/') ? parseShortCode(uri.slice(1)) : null;
        const answerable = (method === 'GET' || method === 'HEAD') && code !== null && store.has(code);
        if (answerable) {
          expectRedirect(outcome, store.get(code) ?? '');
        } else {
          expect(outcome).toMatchObject({ kind: 'request', request: { uri, method } });
        }
      }),
      { numRuns: 400 },
    );
  });

  it('answers from every entry edgeRedirectEntry writes, with the URL as its location', async () => {
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[A-Za-z0-9_-]{3,64}$/), fc.webUrl({ withQueryParameters: true, withFragments: true }), async (code, url) => {
        const entry = edgeRedirectEntry(code, url);
        fc.pre(entry !== null);
        const store = new EdgeKeyValueStore();
        store.put(entry.key, entry.value);
        expectRedirect(await edgeFunction(store).run(viewerRequestEvent({ uri: `/${code}` })), url);
      }),
      { numRuns: 100 },
    );
  });

  it('leaves a link the full store refused to the origin', async () => {
    const entryBytes = 'code1'.length + 'https://example.com/1'.length;
    const store = new EdgeKeyValueStore({ ...KEY_VALUE_STORE_LIMITS, maxStoreBytes: 3 * entryBytes });
    for (const n of [1, 2, 3]) store.put(`code${n}`, `https://example.com/${n}`);
    expect(store.put('code4', 'https://example.com/4')).toEqual({ stored: false, reason: 'store-full' });
    expectRedirect(await edgeFunction(store).run(viewerRequestEvent({ uri: '/code1' })), 'https://example.com/1');
    expect(await edgeFunction(store).run(viewerRequestEvent({ uri: '/code4' }))).toMatchObject({ kind: 'request' });
  });
});

describe('edgeRedirectEntry', () => {
  it('keys a link by its code, with the destination URL as the value', async () => {
    expect(edgeRedirectEntry('spring', DESTINATION)).toEqual({ key: 'spring', value: DESTINATION });
  });

  it('leaves out codes the redirect would not serve', async () => {
    expect(edgeRedirectEntry('api', DESTINATION)).toBeNull();
    expect(edgeRedirectEntry('has space', DESTINATION)).toBeNull();
    expect(edgeRedirectEntry('', DESTINATION)).toBeNull();
  });

  it('leaves out URLs over the value limit, counted in bytes', async () => {
    const prefix = 'https://example.com/';
    const fits = prefix + 'a'.repeat(KEY_VALUE_STORE_LIMITS.maxValueBytes - prefix.length);
    expect(edgeRedirectEntry('spring', fits)).not.toBeNull();
    expect(edgeRedirectEntry('spring', `${fits}a`)).toBeNull();
  });

  it('leaves out URLs the edge would not send: not http(s), or not printable ASCII', async () => {
    expect(edgeRedirectEntry('spring', 'ftp://example.com/')).toBeNull();
    expect(edgeRedirectEntry('spring', 'https://bücher.example/')).toBeNull();
    expect(edgeRedirectEntry('spring', 'https://example.com/\r\nx: y')).toBeNull();
  });
});
