/**
 * One HTTP call to the Lambda Runtime API or Extensions API at `AWS_LAMBDA_RUNTIME_API`
 * (`host:port`, plain HTTP on the environment's loopback). Used by the click-publisher extension
 * and by the local runtime's client, each with a keep-alive agent of its own.
 */
import { type Agent, request } from 'node:http';

export interface RuntimeApiResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

export function callRuntimeApi(
  runtimeApi: string,
  agent: Agent,
  method: 'GET' | 'POST',
  path: string,
  headers: Readonly<Record<string, string>> = {},
  body?: string,
): Promise<RuntimeApiResponse> {
  return new Promise((resolve, reject) => {
    const send = (isRetry: boolean): void => {
      const outgoing = request(
        new URL(`http://${runtimeApi}${path}`),
        {
          agent,
          method,
          headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
        },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body: Buffer.concat(chunks).toString('utf8') }));
          incoming.on('error', reject);
        },
      );
      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        // A kept-alive socket the server closed while it sat idle (the environment frozen between
        // invocations) fails on reuse before the request reached it: Node's documented case for one
        // retry on a fresh socket (http.ClientRequest#reusedSocket).
        if (!isRetry && outgoing.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) send(true);
        else reject(error);
      });
      outgoing.end(body);
    };
    send(false);
  });
}

/** A response header's value (the first, when repeated); '' when absent. */
export function headerOf(response: RuntimeApiResponse, name: string): string {
  const value = response.headers[name];
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}
