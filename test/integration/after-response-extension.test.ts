/**
 * The internal extension's Extensions API client over real HTTP, against a stand-in for Lambda's
 * Runtime API on 127.0.0.1 that answers as the AWS documentation describes (register, then
 * event/next long polls). A real Lambda runtime with freezes is the end-to-end tests' business.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Logger } from '@aws-lambda-powertools/logger';
import { type InvokeEvent, startInternalExtension } from '../../lambdas/shared/after-response-extension';

jest.setTimeout(20_000);

const IDENTIFIER = '4e6e0e5c-6a1c-4b7e-9f1e-0a4f0a3c1d2e';

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** The Runtime API's extension endpoints: records each request; event/next waits until the test delivers an event. */
class StandInRuntimeApi {
  readonly requests: Recorded[] = [];
  registerStatus = 200;
  readonly #server: Server;
  #pendingNext: ServerResponse | undefined;
  #nextArrived: (() => void) | undefined;
  #closed: Promise<void> | undefined;

  constructor() {
    this.#server = createServer((request, response) => void this.#route(request, response));
  }

  async start(): Promise<string> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    return `127.0.0.1:${(this.#server.address() as { port: number }).port}`;
  }

  /** Resolves once an event/next request waits (at once if one does). */
  nextWaiting(): Promise<void> {
    if (this.#pendingNext !== undefined) return Promise.resolve();
    return new Promise((resolve) => {
      this.#nextArrived = resolve;
    });
  }

  get waiting(): boolean {
    return this.#pendingNext !== undefined;
  }

  deliver(status: number, body: unknown): void {
    const response = this.#pendingNext;
    if (response === undefined) throw new Error('no event/next request waits');
    this.#pendingNext = undefined;
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  /** Closes every connection, a waiting event/next too; safe to call again. */
  stop(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#closed;
  }

  async #route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    this.requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
    if (request.method === 'POST' && request.url === '/2020-01-01/extension/register') {
      if (this.registerStatus !== 200) {
        response.writeHead(this.registerStatus, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ errorType: 'Extension.InvalidEventType', errorMessage: 'SHUTDOWN: ShutdownEventNotSupportedForInternalExtension' }));
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json', 'lambda-extension-identifier': IDENTIFIER });
      response.end(JSON.stringify({ functionName: 'RedirectFunction', functionVersion: '$LATEST', handler: 'index.handler' }));
      return;
    }
    if (request.method === 'GET' && request.url === '/2020-01-01/extension/event/next') {
      this.#pendingNext = response;
      this.#nextArrived?.();
      this.#nextArrived = undefined;
      return;
    }
    response.writeHead(404).end();
  }
}

function quietLogger() {
  const logger = new Logger({ serviceName: 'extension-test' });
  const errors = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
  return { logger, errors };
}

const invokeEvent = (requestId: string): InvokeEvent & Record<string, unknown> => ({
  eventType: 'INVOKE',
  deadlineMs: Date.now() + 5_000,
  requestId,
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:RedirectFunction',
  tracing: { type: 'X-Amzn-Trace-Id', value: 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1' },
});

let api: StandInRuntimeApi;
let runtimeApi: string;

beforeEach(async () => {
  api = new StandInRuntimeApi();
  runtimeApi = await api.start();
});

afterEach(async () => {
  await api.stop();
  jest.restoreAllMocks();
});

describe('startInternalExtension', () => {
  it('starts nothing outside Lambda (no Runtime API)', async () => {
    const { logger } = quietLogger();
    await expect(startInternalExtension({ name: 'click-publisher', runtimeApi: undefined, logger, onInvoke: async () => undefined })).resolves.toBeUndefined();
    expect(api.requests).toEqual([]);
  });

  it('registers for INVOKE only, and calls next again only once the hold for each event has ended', async () => {
    const { logger, errors } = quietLogger();
    const holds: { event: InvokeEvent; release: () => void }[] = [];
    const extension = await startInternalExtension({
      name: 'click-publisher',
      runtimeApi,
      logger,
      onInvoke: (event) => new Promise<void>((release) => holds.push({ event, release })),
    });
    expect(extension?.id).toBe(IDENTIFIER);
    expect(api.requests[0]).toMatchObject({ method: 'POST', url: '/2020-01-01/extension/register', headers: { 'lambda-extension-name': 'click-publisher' } });
    expect(JSON.parse(api.requests[0].body)).toEqual({ events: ['INVOKE'] });

    await api.nextWaiting();
    expect(api.requests[1]).toMatchObject({ method: 'GET', url: '/2020-01-01/extension/event/next', headers: { 'lambda-extension-identifier': IDENTIFIER } });

    api.deliver(200, invokeEvent('request-1'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(holds.map(({ event }) => event.requestId)).toEqual(['request-1']);
    // Held: the environment could not freeze yet.
    expect(api.waiting).toBe(false);
    holds[0].release();
    await api.nextWaiting();
    expect(api.requests).toHaveLength(3);
    expect(errors).not.toHaveBeenCalled();
    await api.stop();
    await extension?.stopped;
  });

  it('runs without the extension, and says why, when registration is refused', async () => {
    const { logger, errors } = quietLogger();
    api.registerStatus = 403;
    await expect(startInternalExtension({ name: 'click-publisher', runtimeApi, logger, onInvoke: async () => undefined })).resolves.toBeUndefined();
    expect(errors.mock.calls[0][0]).toBe('extension not registered');
    expect(api.requests).toHaveLength(1);
  });

  it.each([
    ['answers next with an error', (): void => api.deliver(500, { errorType: 'Extension.Unknown', errorMessage: 'boom' })],
    ['goes away', (): void => void api.stop()],
  ])('stops its loop, without throwing, when the Runtime API %s', async (_name, fail) => {
    const { logger, errors } = quietLogger();
    const extension = await startInternalExtension({ name: 'click-publisher', runtimeApi, logger, onInvoke: async () => undefined });
    await api.nextWaiting();
    fail();
    await expect(extension?.stopped).resolves.toBeUndefined();
    expect(errors.mock.calls.map(([message]) => message)).toEqual(['extension stopped']);
  });
});
