/**
 * The local HTTP front against what API Gateway (HTTP API, payload 2.0) really does with odd
 * clients and odd handler results: over real sockets on 127.0.0.1.
 */
import { connect } from 'node:net';
import { METHODS, request } from 'node:http';
import fc from 'fast-check';
import { parseRouteKey, ROUTABLE_METHODS, startHttpFront, toFrontResponse, type HttpFront } from '../../local/http-front';
import type { LocalFunction } from '../../local/types';
import { bodyOf, headerOf, rawExchange, statusLine } from './helpers/raw-http';

function fnAnswering(name: string, answer: (event: unknown) => unknown): LocalFunction & { events: unknown[] } {
  const events: unknown[] = [];
  return {
    name,
    timeoutSeconds: 3,
    events,
    invoke: async (event) => {
      events.push(event);
      return answer(event);
    },
  };
}

interface Reply {
  status: number;
  body: string;
}

function send(port: number, method: string, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: '127.0.0.1', port, method, path, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

describe('toFrontResponse, payload 2.0', () => {
  it('sends a string result as the body itself, not JSON-encoded again', () => {
    const response = toFrontResponse('Hello from Lambda!');
    expect(response.statusCode).toBe(200);
    expect(response.headers).toEqual([['content-type', 'application/json']]);
    expect(response.body.toString()).toBe('Hello from Lambda!');
  });

  it('ignores multiValueHeaders, a payload 1.0 field API Gateway drops in 2.0', () => {
    const response = toFrontResponse({ statusCode: 200, headers: { a: '1' }, multiValueHeaders: { b: ['2', '3'] }, body: '' });
    expect(response.headers).toEqual([['a', '1']]);
  });

  it('treats a header it cannot send as a malformed response (a 500), not a dropped connection', () => {
    expect(() => toFrontResponse({ statusCode: 302, headers: { location: 'https://example.com/\r\nx: y' } })).toThrow(
      /Malformed Lambda proxy response/,
    );
    expect(() => toFrontResponse({ statusCode: 200, headers: { 'bad name': 'x' } })).toThrow(/Malformed Lambda proxy response/);
  });
});

describe('startHttpFront with odd clients', () => {
  const echo = fnAnswering('Echo', (event) => ({ statusCode: 200, body: JSON.stringify(event) }));
  const badHeader = fnAnswering('BadHeader', () => ({ statusCode: 302, headers: { location: 'https://example.com/\nx' }, body: '' }));
  let front: HttpFront;
  const logged: string[] = [];

  beforeAll(async () => {
    front = await startHttpFront({ port: 0, trustProxy: true, log: (line) => logged.push(line) });
    front.serve([parseRouteKey('ANY /echo/{proxy+}', echo), parseRouteKey('GET /bad', badHeader)]);
  });
  afterAll(async () => {
    await front.stop();
  });

  const sourceIpFor = async (forwardedFor: string): Promise<string> => {
    const reply = await send(front.port, 'GET', '/echo/ip', { 'x-forwarded-for': forwardedFor });
    expect(reply.status).toBe(200);
    return (JSON.parse(reply.body) as { requestContext: { http: { sourceIp: string } } }).requestContext.http.sourceIp;
  };

  it('never puts anything but an IP address in sourceIp, whatever X-Forwarded-For says', async () => {
    expect(await sourceIpFor('2001:db8::7, 10.0.0.1')).toBe('2001:db8::7');
    for (const garbage of ['garbage', 'unknown', '<script>', '999.1.1.1', 'example.com', '1.2.3.4:8080']) {
      expect({ garbage, sourceIp: await sourceIpFor(garbage) }).toEqual({ garbage, sourceIp: '127.0.0.1' });
    }
  });

  it('answers 500 when the function returns a header that cannot be sent', async () => {
    expect(await send(front.port, 'GET', '/bad')).toEqual({ status: 500, body: '{"message":"Internal Server Error"}' });
  });

  it('shrugs off a client that hangs up mid-body, and keeps serving', async () => {
    logged.length = 0;
    await new Promise<void>((resolve, reject) => {
      const socket = connect(front.port, '127.0.0.1', () => {
        socket.write('POST /echo/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"url":');
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 100);
      });
      socket.on('error', reject);
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await send(front.port, 'GET', '/echo/after')).status).toBe(200);
    expect(logged.filter((line) => line.includes('HTTP front error'))).toEqual([]);
  });
});

/** Status code of a raw response, 0 when the connection closed without one (a dropped socket). */
const statusOf = (response: string): number => Number(/^HTTP\/1\.1 (\d{3}) /.exec(response)?.[1] ?? 0);

/** RFC 9110 §5.6.2 tchar: every character a method token may have. */
const TCHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Node's known methods, API Gateway's in upper and lower case, and any tokens of up to 12 tchars. */
const methodToken: fc.Arbitrary<string> = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom(...METHODS) },
  { weight: 10, arbitrary: fc.constantFrom(...ROUTABLE_METHODS) },
  { weight: 10, arbitrary: fc.constantFrom(...ROUTABLE_METHODS).map((method) => method.toLowerCase()) },
  { weight: 50, arbitrary: fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 12 }) },
);

describe('startHttpFront with other protocol cases', () => {
  const echo = fnAnswering('Echo', (event) => ({ statusCode: 200, body: JSON.stringify(event) }));
  const headless = fnAnswering('Headless', (event) => {
    // Like the API function: HEAD gets GET's status and headers and no body.
    const method = (event as { requestContext: { http: { method: string } } }).requestContext.http.method;
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, ...(method === 'HEAD' ? {} : { body: '{"ok":true}' }) };
  });
  const controlCalls: (string | undefined)[] = [];
  let front: HttpFront;

  beforeAll(async () => {
    front = await startHttpFront({ port: 0, trustProxy: false, log: () => undefined });
    front.serve([parseRouteKey('ANY /echo/{proxy+}', echo), parseRouteKey('ANY /headless', headless)], async ({ authorization }) => {
      controlCalls.push(authorization);
      return { statusCode: 200, body: '{}' };
    });
  });
  afterAll(async () => {
    await front.stop();
  });
  beforeEach(() => {
    echo.events.length = 0;
    controlCalls.length = 0;
  });

  const exchange = (head: string): Promise<string> => rawExchange(front.port, head).then(({ response }) => response);
  const stillServes = async (): Promise<void> => {
    expect((await send(front.port, 'GET', '/echo/after')).status).toBe(200);
  };

  it('answers CONNECT with 405, an Allow header and a JSON body, then closes, instead of dropping the socket', async () => {
    // Tunnel bytes right after the head (a TLS hello would come there) change nothing.
    const response = await exchange('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03\x01\x00\x05hello');
    expect(statusLine(response)).toBe('HTTP/1.1 405 Method Not Allowed');
    expect(headerOf(response, 'allow')).toBe('DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT');
    expect(headerOf(response, 'content-type')).toBe('application/json');
    expect(headerOf(response, 'connection')).toBe('close');
    expect(bodyOf(response)).toBe('{"message":"Method Not Allowed"}');
    await stillServes();
  });

  it('answers 405 with Allow to a method Node knows but API Gateway routes nowhere, without invoking a function', async () => {
    for (const method of ['TRACE', 'PROPFIND', 'PURGE']) {
      const response = await exchange(`${method} /echo/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      expect({ method, status: statusLine(response) }).toEqual({ method, status: 'HTTP/1.1 405 Method Not Allowed' });
      expect(headerOf(response, 'allow')).toBe(ROUTABLE_METHODS.join(', '));
      expect(bodyOf(response)).toBe('{"message":"Method Not Allowed"}');
    }
    expect(echo.events).toEqual([]);
  });

  it('answers a method Node cannot parse with a JSON 400, then closes', async () => {
    const response = await exchange('BREW /echo/x HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(statusLine(response)).toBe('HTTP/1.1 400 Bad Request');
    expect(headerOf(response, 'connection')).toBe('close');
    expect(bodyOf(response)).toBe('{"message":"Bad Request"}');
    await stillServes();
  });

  it('serves a request asking to upgrade to WebSocket as a plain request, as an HTTP API does, then closes the connection', async () => {
    const upgrade =
      'GET /echo/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
    // Node loses what is pipelined behind such a request: the close tells the client to send it again.
    const response = await exchange(`${upgrade}GET /echo/next HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(statusLine(response)).toBe('HTTP/1.1 200 OK');
    expect(headerOf(response, 'connection')).toBe('close');
    expect(response).not.toContain(' 101 ');
    expect(echo.events.map((event) => (event as { rawPath: string }).rawPath)).toEqual(['/echo/ws']);
    await stillServes();
  });

  it.each([
    ['two Host headers', 'Host: a.example\r\nHost: b.example\r\n'],
    ['the same Host twice', 'Host: a.example\r\nhost: a.example\r\n'],
    ['no Host in HTTP/1.1', ''],
    ['an empty Host', 'Host: \r\n'],
    ['a Host with a path', 'Host: a.example/evil\r\n'],
    ['a Host with a space', 'Host: a.example b.example\r\n'],
    ['a Host with user info', 'Host: user@a.example\r\n'],
    ['a Host with a bad port', 'Host: a.example:80x\r\n'],
  ])('answers 400 to %s (RFC 9112 §3.2), never redirecting or invoking a function', async (_, hostLines) => {
    const response = await exchange(`GET /echo/x HTTP/1.1\r\n${hostLines}Connection: close\r\n\r\n`);
    expect(statusLine(response)).toBe('HTTP/1.1 400 Bad Request');
    expect(bodyOf(response)).toBe('{"message":"Bad Request"}');
    expect(echo.events).toEqual([]);
  });

  it.each([
    ['a name and port', 'a.example:3000'],
    ['an IPv4 address', '127.0.0.1:3000'],
    ['an IPv6 literal', '[::1]:3000'],
    ['a name without port', 'A.Example.'],
  ])('takes a single valid Host: %s', async (_, host) => {
    const response = await exchange(`GET /echo/x HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    expect(statusLine(response)).toBe('HTTP/1.1 200 OK');
    expect((echo.events[0] as { requestContext: { domainName: string } }).requestContext.domainName).toBe(host);
  });

  it('takes an HTTP/1.0 request without Host, which HTTP/1.0 allows', async () => {
    // Node answers every version with an HTTP/1.1 status line.
    expect(statusLine(await exchange('GET /echo/x HTTP/1.0\r\n\r\n'))).toBe('HTTP/1.1 200 OK');
  });

  it('answers 400 to a duplicate Host with Expect: 100-continue, without inviting the body', async () => {
    const response = await exchange('POST /echo/x HTTP/1.1\r\nHost: a\r\nHost: b\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
    expect(statusLine(response)).toBe('HTTP/1.1 400 Bad Request');
    expect(response).not.toContain('100 Continue');
    expect(echo.events).toEqual([]);
  });

  it.each([
    ['two Content-Length headers', 'Content-Length: 2\r\nContent-Length: 2\r\n'],
    ['Content-Length beside Transfer-Encoding', 'Content-Length: 2\r\nTransfer-Encoding: chunked\r\n'],
  ])('answers a JSON 400 to %s, which would leave the body length ambiguous', async (_, lengthLines) => {
    const response = await exchange(`POST /echo/x HTTP/1.1\r\nHost: x\r\n${lengthLines}\r\nhi`);
    expect(statusLine(response)).toBe('HTTP/1.1 400 Bad Request');
    expect(bodyOf(response)).toBe('{"message":"Bad Request"}');
    expect(echo.events).toEqual([]);
  });

  it('answers 400 to two Authorization headers on the routes whose key the front checks itself', async () => {
    const twice = await exchange('POST /_local/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\nConnection: close\r\n\r\n');
    expect(statusLine(twice)).toBe('HTTP/1.1 400 Bad Request');
    expect(controlCalls).toEqual([]);
    const once = await exchange('POST /_local/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\nConnection: close\r\n\r\n');
    expect(statusLine(once)).toBe('HTTP/1.1 200 OK');
    expect(controlCalls).toEqual(['Bearer a']);
  });

  it("answers HEAD with GET's headers and no body, never announcing a length GET would not have (RFC 9110 §8.6)", async () => {
    const get = await exchange('GET /headless HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const head = await exchange('HEAD /headless HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(statusLine(head)).toBe(statusLine(get));
    expect(headerOf(head, 'content-type')).toBe(headerOf(get, 'content-type'));
    expect(headerOf(get, 'content-length')).toBe('11');
    // The function left the body out: the front cannot know GET's length, so it announces none.
    expect(headerOf(head, 'content-length')).toBeUndefined();
    expect(bodyOf(head)).toBe('');
    // A function that answers HEAD with GET's body: that body's length, and no body.
    const echoed = await exchange('HEAD /echo/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(Number(headerOf(echoed, 'content-length'))).toBeGreaterThan(0);
    expect(bodyOf(echoed)).toBe('');
  });

  it('never answers 5xx nor drops the socket, whatever the method token (150 generated tokens)', async () => {
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(methodToken, async (method) => {
        const head = `${method} /echo/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;
        // A front that never answers fails here, well within the test's timeout, naming the token.
        const { response } = await rawExchange(front.port, head, undefined, 2_000);
        const status = statusOf(response);
        const routable = ROUTABLE_METHODS.includes(method);
        const expected = routable ? [200] : [400, 405];
        expect({ method, ok: expected.includes(status) }).toEqual({ method, ok: true });
        if (!routable) expect({ method, body: JSON.parse(bodyOf(response)) as unknown }).toEqual({ method, body: { message: expect.any(String) } });
        statuses.add(status);
      }),
      // Real sockets: a bounded number of runs, and no shrinking (each step would be another exchange).
      { numRuns: 150, endOnFailure: true },
    );
    // The tokens reach every answer: routed, unknown to Node (400), and known to Node but not routable (405).
    expect([...statuses].sort((a, b) => a - b)).toEqual([200, 400, 405]);
    await stillServes();
  }, 15_000);
});
