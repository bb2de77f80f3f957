/**
 * The local HTTP front against what API Gateway (HTTP API, payload 2.0) really does with odd
 * clients and odd handler results: over real sockets on 127.0.0.1.
 */
import { connect } from 'node:net';
import { request } from 'node:http';
import { parseRouteKey, startHttpFront, toFrontResponse, type HttpFront } from '../../local/http-front';
import type { LocalFunction } from '../../local/types';

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
