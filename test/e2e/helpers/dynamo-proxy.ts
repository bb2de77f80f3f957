/**
 * An HTTP proxy in front of DynamoDB Local that sees every request a handler sends, by operation,
 * and can act or answer differently at that boundary: faults are injected here, not by test
 * branches in production code. DynamoDB Local does not check request signatures, so a request
 * body may be changed on the way.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type JsonObject = Record<string, unknown>;

export interface DynamoRequest {
  /** e.g. 'BatchWriteItem', from the X-Amz-Target header. */
  readonly operation: string;
  readonly body: JsonObject;
}

export interface Interception {
  /** Sent upstream instead of the request's body. */
  readonly body?: JsonObject;
  /** Turns DynamoDB's JSON answer into the one the handler gets. */
  readonly answer?: (upstream: JsonObject) => JsonObject;
}

/** Runs before the request goes upstream (and may wait, or act on DynamoDB itself first). */
export type Interceptor = (request: DynamoRequest) => Promise<Interception | undefined> | Interception | undefined;

export interface DynamoProxy {
  readonly endpoint: string;
  /** Every request seen, in arrival order. */
  readonly requests: DynamoRequest[];
  intercept(interceptor: Interceptor | undefined): void;
  /** Sends requests to another DynamoDB endpoint from now on (one known only once a local stack is up). */
  retarget(dynamoEndpoint: string): void;
  close(): Promise<void>;
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

interface Upstream {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

function forward(target: URL, request: IncomingMessage, body: Buffer): Promise<Upstream> {
  return new Promise((resolve, reject) => {
    const upstream = httpRequest(
      {
        hostname: target.hostname,
        port: target.port,
        method: request.method,
        path: request.url,
        headers: { ...request.headers, 'content-length': String(body.length) },
      },
      (reply) => {
        void readBody(reply).then((replyBody) => resolve({ status: reply.statusCode ?? 502, headers: reply.headers, body: replyBody }), reject);
      },
    );
    upstream.on('error', reject);
    upstream.end(body);
  });
}

export async function startDynamoProxy(dynamoEndpoint: string): Promise<DynamoProxy> {
  let target = new URL(dynamoEndpoint);
  const requests: DynamoRequest[] = [];
  let interceptor: Interceptor | undefined;

  const server: Server = createServer((request, response) => {
    void (async () => {
      try {
        const raw = await readBody(request);
        const operation = String(request.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
        const body = JSON.parse(raw.toString('utf8') || '{}') as JsonObject;
        requests.push({ operation, body });
        const interception = await interceptor?.({ operation, body });
        const upstream = await forward(target, request, interception?.body === undefined ? raw : Buffer.from(JSON.stringify(interception.body)));
        if (interception?.answer === undefined) {
          response.writeHead(upstream.status, upstream.headers);
          response.end(upstream.body);
          return;
        }
        const answer = Buffer.from(JSON.stringify(interception.answer(JSON.parse(upstream.body.toString('utf8')) as JsonObject)));
        // The checksum and length describe DynamoDB's answer, not this one.
        const { 'x-amz-crc32': _crc, 'content-length': _length, ...headers } = upstream.headers;
        response.writeHead(upstream.status, { ...headers, 'content-length': String(answer.length) });
        response.end(answer);
      } catch {
        response.destroy();
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    intercept: (next) => {
      interceptor = next;
    },
    retarget: (next) => {
      target = new URL(next);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // The SDK keeps connections alive; close() alone would wait for them.
        server.closeAllConnections();
      }),
  };
}
