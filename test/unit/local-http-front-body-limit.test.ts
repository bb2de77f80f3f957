/**
 * The local HTTP front refuses a body over API Gateway's 10 MB quota as soon as it knows, the
 * way a server that never means to read it should: a 413 without reading the rest, then the
 * connection closes (the unread body cannot be skipped). Over real sockets on 127.0.0.1.
 */
import type { Socket } from 'node:net';
import { MAX_BODY_BYTES, parseRouteKey, startHttpFront, type HttpFront } from '../../local/http-front';
import type { LocalFunction } from '../../local/types';
import { headerOf, rawExchange, statusLine } from './helpers/raw-http';

const MB = 1024 * 1024;

jest.setTimeout(30_000);

/** Writes `total` bytes of body in 64 KB pieces, each as an HTTP chunk when `chunked`; never ends the body. */
function writeBody(total: number, chunked: boolean): (socket: Socket) => () => number {
  return (socket) => {
    let written = 0;
    const piece = Buffer.alloc(64 * 1024, 'a');
    const pump = (): void => {
      while (written < total && !socket.destroyed) {
        const size = Math.min(piece.length, total - written);
        written += size;
        const data = chunked ? Buffer.concat([Buffer.from(`${size.toString(16)}\r\n`), piece.subarray(0, size), Buffer.from('\r\n')]) : piece.subarray(0, size);
        if (!socket.write(data)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
    return () => written;
  };
}

describe('startHttpFront with a body over the 10 MB limit', () => {
  const received: number[] = [];
  const echo: LocalFunction = {
    name: 'Echo',
    timeoutSeconds: 3,
    invoke: async (event) => {
      const body = (event as { body?: string }).body ?? '';
      received.push(body.length);
      return { statusCode: 200, body: String(body.length) };
    },
  };
  let front: HttpFront;

  beforeEach(() => {
    received.length = 0;
  });
  beforeAll(async () => {
    front = await startHttpFront({ port: 0, trustProxy: false, log: () => undefined });
    front.serve([parseRouteKey('ANY /echo', echo)]);
  });
  afterAll(async () => {
    await front.stop();
  });

  const stillServes = async (): Promise<void> => {
    const reply = await fetch(`http://127.0.0.1:${front.port}/echo`, { method: 'POST', body: 'x'.repeat(1000) });
    expect(reply.status).toBe(200);
    expect(await reply.text()).toBe('1000');
  };

  it('answers 413 on a Content-Length over the limit without reading the body, and closes the connection', async () => {
    const declared = MAX_BODY_BYTES + 1;
    // Only the first few bytes of the body are ever sent: a front that reads to the end never answers.
    const exchange = await rawExchange(
      front.port,
      `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${declared}\r\n\r\n`,
      writeBody(1024, false),
    );
    expect(statusLine(exchange.response)).toBe('HTTP/1.1 413 Payload Too Large');
    expect(headerOf(exchange.response, 'connection')).toBe('close');
    expect(exchange.response).toContain('{"message":"Request Entity Too Large"}');
    expect(received).toEqual([]);
    await stillServes();
  });

  it('answers 413 to Expect: 100-continue with a Content-Length over the limit, never inviting the body', async () => {
    const exchange = await rawExchange(
      front.port,
      `PUT /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: ${20 * MB}\r\n\r\n`,
      () => () => 0,
    );
    expect(statusLine(exchange.response)).toBe('HTTP/1.1 413 Payload Too Large');
    expect(exchange.response).not.toContain('100 Continue');
    expect(headerOf(exchange.response, 'connection')).toBe('close');
    await stillServes();
  });

  it('stops reading a chunked body as soon as it passes the limit, answers 413 and closes the connection', async () => {
    // The client would send 64 MB and never finish the body: the answer must come once 10 MB are passed.
    const exchange = await rawExchange(
      front.port,
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n',
      writeBody(64 * MB, true),
      10_000,
    );
    expect(statusLine(exchange.response)).toBe('HTTP/1.1 413 Payload Too Large');
    expect(headerOf(exchange.response, 'connection')).toBe('close');
    expect(exchange.sentBeforeAnswer).toBeGreaterThan(MAX_BODY_BYTES);
    expect(exchange.sentBeforeAnswer).toBeLessThan(64 * MB);
    expect(received).toEqual([]);
    await stillServes();
  });

  it('still takes a chunked body of exactly the limit', async () => {
    const exchange = await rawExchange(
      front.port,
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n',
      (socket) => {
        const sent = writeBody(MAX_BODY_BYTES, true)(socket);
        const finish = (): void => {
          if (sent() < MAX_BODY_BYTES) {
            setTimeout(finish, 10);
            return;
          }
          socket.write('0\r\n\r\n');
        };
        finish();
        return sent;
      },
      10_000,
    );
    expect(statusLine(exchange.response)).toBe('HTTP/1.1 200 OK');
    // Base64 of 10 MB of binary body.
    expect(received.at(-1)).toBe(Math.ceil(MAX_BODY_BYTES / 3) * 4);
  });
});
