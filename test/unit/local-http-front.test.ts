import { request } from 'node:http';
import {
  apiGatewayTime,
  BadRequestError,
  buildHttpApiEvent,
  httpRoutesFromTemplate,
  matchRoute,
  parseRouteKey,
  startHttpFront,
  toFrontResponse,
  type FrontRequest,
  type HttpFront,
  type HttpRoute,
} from '../../local/http-front';
import type { LocalFunction } from '../../local/types';

/** A real function that records what it was given and answers what the test says. */
function recordingFunction(name: string, answer: (event: unknown) => unknown = () => ({ statusCode: 204 })) {
  const events: unknown[] = [];
  const fn: LocalFunction = {
    name,
    timeoutSeconds: 3,
    invoke: async (event) => {
      events.push(event);
      return answer(event);
    },
  };
  return { fn, events };
}

const redirect = recordingFunction('Redirect').fn;
const redirectHead = recordingFunction('RedirectHead').fn;
const api = recordingFunction('Api').fn;
const stats = recordingFunction('Stats').fn;
const routes: HttpRoute[] = [
  parseRouteKey('GET /{code}', redirect),
  parseRouteKey('HEAD /{code}', redirectHead),
  parseRouteKey('ANY /api/{proxy+}', api),
  parseRouteKey('GET /api/links/{code}/stats', stats),
];

describe('matchRoute', () => {
  it('prefers literal segments, then parameters, then greedy paths', () => {
    expect(matchRoute(routes, 'GET', '/abc')?.route.fn).toBe(redirect);
    expect(matchRoute(routes, 'HEAD', '/abc')?.route.fn).toBe(redirectHead);
    expect(matchRoute(routes, 'GET', '/api/links/abc/stats')?.route.fn).toBe(stats);
    const proxied = matchRoute(routes, 'POST', '/api/links');
    expect(proxied?.route.fn).toBe(api);
    expect(proxied?.rawPathParameters).toEqual({ proxy: 'links' });
    expect(matchRoute(routes, 'DELETE', '/api/links/abc/stats')?.route.fn).toBe(api);
  });

  it('prefers a literal path over a parameter', () => {
    const dashboard = parseRouteKey('GET /dashboard', api);
    expect(matchRoute([...routes, dashboard], 'GET', '/dashboard')?.route.fn).toBe(api);
    expect(matchRoute([dashboard, ...routes], 'GET', '/dashboards')?.route.fn).toBe(redirect);
  });

  it('prefers a route with the method over ANY on the same path', () => {
    const anyCode = parseRouteKey('ANY /{code}', api);
    expect(matchRoute([anyCode, ...routes], 'GET', '/abc')?.route.fn).toBe(redirect);
    expect(matchRoute([anyCode, ...routes], 'POST', '/abc')?.route.fn).toBe(api);
  });

  it('finds nothing for paths no route covers', () => {
    expect(matchRoute(routes, 'GET', '/')).toBeUndefined();
    expect(matchRoute(routes, 'POST', '/abc')).toBeUndefined();
    expect(matchRoute(routes, 'GET', '/a/b')).toBeUndefined();
  });

  it('needs at least one segment for a greedy parameter', () => {
    expect(matchRoute(routes, 'GET', '/api')?.route.fn).toBe(redirect);
    expect(matchRoute(routes, 'POST', '/api')).toBeUndefined();
  });
});

function frontRequest(overrides: Partial<FrontRequest>): FrontRequest {
  return {
    method: 'GET',
    url: '/abc',
    rawHeaders: ['Host', '127.0.0.1:3000', 'User-Agent', 'curl/8'],
    body: Buffer.alloc(0),
    sourceIp: '203.0.113.9',
    httpVersion: '1.1',
    receivedAt: new Date('2026-11-26T05:40:07.123Z'),
    ...overrides,
  };
}

describe('buildHttpApiEvent', () => {
  it('builds the payload 2.0 event API Gateway sends', () => {
    const match = matchRoute(routes, 'GET', '/caf%C3%A9');
    if (!match) throw new Error('no match');
    const event = buildHttpApiEvent(
      match,
      frontRequest({
        url: '/caf%C3%A9?a=1&b=x%20y&a=2',
        rawHeaders: ['Host', '127.0.0.1:3000', 'X-Thing', 'one', 'x-thing', 'two', 'Cookie', 'a=1; b=2', 'User-Agent', 'curl/8'],
      }),
    );
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'GET /{code}',
      rawPath: '/caf%C3%A9',
      rawQueryString: 'a=1&b=x%20y&a=2',
      cookies: ['a=1', 'b=2'],
      headers: { host: '127.0.0.1:3000', 'x-thing': 'one,two', 'user-agent': 'curl/8' },
      queryStringParameters: { a: '1,2', b: 'x y' },
      pathParameters: { code: 'café' },
      isBase64Encoded: false,
      requestContext: {
        stage: '$default',
        routeKey: 'GET /{code}',
        time: '26/Nov/2026:05:40:07 +0000',
        timeEpoch: Date.parse('2026-11-26T05:40:07.123Z'),
        http: { method: 'GET', path: '/caf%C3%A9', protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'curl/8' },
      },
    });
    expect(event.headers.cookie).toBeUndefined();
    expect(event.body).toBeUndefined();
  });

  it('keeps text bodies as text and base64-encodes binary ones', () => {
    const match = matchRoute(routes, 'POST', '/api/links');
    if (!match) throw new Error('no match');
    const json = buildHttpApiEvent(
      match,
      frontRequest({ method: 'POST', url: '/api/links', rawHeaders: ['Content-Type', 'application/json'], body: Buffer.from('{"a":1}') }),
    );
    expect(json).toMatchObject({ body: '{"a":1}', isBase64Encoded: false });
    const binary = buildHttpApiEvent(
      match,
      frontRequest({ method: 'POST', url: '/api/links', rawHeaders: ['Content-Type', 'image/png'], body: Buffer.from([0, 255]) }),
    );
    expect(binary).toMatchObject({ body: 'AP8=', isBase64Encoded: true });
  });

  it('rejects a malformed percent-escape in a path parameter as a bad request', () => {
    const match = matchRoute(routes, 'GET', '/%E0%A4%A');
    if (!match) throw new Error('no match');
    expect(() => buildHttpApiEvent(match, frontRequest({ url: '/%E0%A4%A' }))).toThrow(BadRequestError);
  });

  it('formats requestContext.time like API Gateway', () => {
    expect(apiGatewayTime(new Date('2020-03-02T09:03:58Z'))).toBe('02/Mar/2020:09:03:58 +0000');
  });
});

describe('toFrontResponse', () => {
  it('maps a structured result, cookies becoming Set-Cookie headers', () => {
    const response = toFrontResponse({
      statusCode: 302,
      headers: { Location: 'https://example.com/', 'Cache-Control': 'no-store' },
      cookies: ['a=1', 'b=2'],
      body: '',
    });
    expect(response.statusCode).toBe(302);
    expect(response.headers).toEqual([
      ['Location', 'https://example.com/'],
      ['Cache-Control', 'no-store'],
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
    ]);
  });

  it('decodes base64 bodies', () => {
    expect(toFrontResponse({ statusCode: 200, body: 'AP8=', isBase64Encoded: true }).body).toEqual(Buffer.from([0, 255]));
  });

  it('answers 200 JSON for a result without statusCode', () => {
    const response = toFrontResponse({ hello: 'world' });
    expect(response.statusCode).toBe(200);
    expect(response.headers).toEqual([['content-type', 'application/json']]);
    expect(response.body.toString()).toBe('{"hello":"world"}');
  });

  it('refuses a nonsensical status code', () => {
    expect(() => toFrontResponse({ statusCode: 42 })).toThrow(/statusCode 42/);
  });
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: '127.0.0.1', port, method, path, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString() }),
      );
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

describe('startHttpFront over real HTTP', () => {
  const echo = recordingFunction('Echo', (event) => ({
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    cookies: ['session=1'],
    body: JSON.stringify(event),
  }));
  const failing = recordingFunction('Failing', () => {
    throw new Error('boom');
  });
  let front: HttpFront;
  const logged: string[] = [];

  beforeAll(async () => {
    front = await startHttpFront({ port: 0, trustProxy: true, log: (line) => logged.push(line) });
  });
  afterAll(async () => {
    await front.stop();
  });

  it('answers 503 until it is given routes', async () => {
    expect((await send(front.port, 'GET', '/abc')).status).toBe(503);
    front.serve([parseRouteKey('ANY /echo/{proxy+}', echo.fn), parseRouteKey('GET /fail', failing.fn)]);
  });

  it('delivers the event and the result, taking the client IP from X-Forwarded-For when trusted', async () => {
    const reply = await send(front.port, 'POST', '/echo/x?y=1', {
      'content-type': 'text/plain',
      'x-forwarded-for': '198.51.100.7, 10.0.0.1',
    }, Buffer.from('hi'));
    expect(reply.status).toBe(200);
    expect(reply.headers['set-cookie']).toEqual(['session=1']);
    const event = JSON.parse(reply.body) as { body: string; requestContext: { http: { sourceIp: string } } };
    expect(event.body).toBe('hi');
    expect(event.requestContext.http.sourceIp).toBe('198.51.100.7');
  });

  it('answers like API Gateway when no function can', async () => {
    expect(await send(front.port, 'GET', '/nothing-here')).toMatchObject({ status: 404, body: '{"message":"Not Found"}' });
    expect(await send(front.port, 'GET', '/fail')).toMatchObject({
      status: 500,
      body: '{"message":"Internal Server Error"}',
    });
    expect(logged.join('\n')).toContain('boom');
    const head = await send(front.port, 'HEAD', '/echo/x');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('refuses bodies over 10 MB with 413', async () => {
    const reply = await send(front.port, 'POST', '/echo/big', { 'content-type': 'application/octet-stream' }, Buffer.alloc(10 * 1024 * 1024 + 1));
    expect(reply.status).toBe(413);
  });
});

describe('API Gateway throttling from the template', () => {
  /** A stage throttled at 1/s with a burst of 3 for every route, and the API route at 1/s with a burst of 2. */
  const template = {
    Resources: {
      Redirect: { Type: 'AWS::Lambda::Function' },
      Api: { Type: 'AWS::Lambda::Function' },
      RedirectIntegration: { Type: 'AWS::ApiGatewayV2::Integration', Properties: { IntegrationUri: { 'Fn::GetAtt': ['Redirect', 'Arn'] }, PayloadFormatVersion: '2.0' } },
      ApiIntegration: { Type: 'AWS::ApiGatewayV2::Integration', Properties: { IntegrationUri: { 'Fn::GetAtt': ['Api', 'Arn'] }, PayloadFormatVersion: '2.0' } },
      RedirectRoute: { Type: 'AWS::ApiGatewayV2::Route', Properties: { RouteKey: 'GET /{code}', Target: { 'Fn::Join': ['', ['integrations/', { Ref: 'RedirectIntegration' }]] } } },
      HeadRoute: { Type: 'AWS::ApiGatewayV2::Route', Properties: { RouteKey: 'HEAD /{code}', Target: { 'Fn::Join': ['', ['integrations/', { Ref: 'RedirectIntegration' }]] } } },
      ApiRoute: { Type: 'AWS::ApiGatewayV2::Route', Properties: { RouteKey: 'ANY /api/{proxy+}', Target: { 'Fn::Join': ['', ['integrations/', { Ref: 'ApiIntegration' }]] } } },
      Stage: {
        Type: 'AWS::ApiGatewayV2::Stage',
        Properties: {
          DefaultRouteSettings: { ThrottlingRateLimit: 1, ThrottlingBurstLimit: 3 },
          RouteSettings: { 'ANY /api/{proxy+}': { ThrottlingRateLimit: 1, ThrottlingBurstLimit: 2 } },
        },
      },
    },
  };
  let front: HttpFront;

  beforeAll(async () => {
    front = await startHttpFront({ port: 0, trustProxy: false, log: () => undefined });
    const functions = new Map([
      ['Redirect', recordingFunction('Redirect').fn],
      ['Api', recordingFunction('Api').fn],
    ]);
    front.serve(httpRoutesFromTemplate(template, functions));
  });
  afterAll(() => front.stop());

  it("answers 429 past a route's own limit, and past the stage default shared by the other routes", async () => {
    const statuses = async (method: string, path: string, n: number): Promise<number[]> => {
      const answers: number[] = [];
      for (let i = 0; i < n; i++) answers.push((await send(front.port, method, path)).status);
      return answers;
    };
    expect(await statuses('GET', '/api/links', 3)).toEqual([204, 204, 429]);
    // GET and HEAD /{code} have no settings of their own: they share the default's burst of 3.
    expect([...(await statuses('GET', '/abc', 2)), ...(await statuses('HEAD', '/abc', 2))]).toEqual([204, 204, 204, 429]);
    const throttled = await send(front.port, 'GET', '/api/links');
    expect(throttled).toMatchObject({ status: 429, body: '{"message":"Too Many Requests"}' });
  });
});
