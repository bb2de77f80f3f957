/**
 * The redirect handler in-process on the real emulators (DynamoDB Local, fauxqs). DynamoDB is
 * reached through a proxy (test/fixtures/local/dynamo-proxy.ts) that can hold requests naming the salts table,
 * to show that a slow salts table never holds the redirect. The extension's side of each
 * invocation is played by calling afterResponse.hold as the extension's event loop does.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { parseClickMessage } from '../../lambdas/domain/click';
import { afterResponse, flushClicks, handler, settleClicks } from '../../lambdas/handlers/redirect';
import { DEADLINE_MARGIN_MS, HOLD_AFTER_RESPONSE_MS } from '../../lambdas/shared/after-response-extension';
import { type SqsEmulator, startSqs } from '../../local/emulators/sqs';
import { createTable, type DynamoForHandlers, httpApiEvent, REGION, sqsClient, startDynamoForHandlers, waitFor } from '../fixtures/local/emulators';
import { lambdaContext } from '../fixtures/lambda-context';

jest.setTimeout(60_000);

const CLIENT_IP = '203.0.113.77';
const REFERRER = 'https://www.example.net/private/path?token=s3cr3t#frag';

let local: DynamoForHandlers;
let sqsEmulator: SqsEmulator;
let sqs: SQSClient;
let queueUrl: string;

/** Requests naming the held table wait until release() (the SDK gives up on a request after 3 s). */
const hold = {
  table: '',
  gate: Promise.resolve(),
  held: 0,
  release: (): void => undefined,
  start(table: string): void {
    this.table = table;
    this.held = 0;
    this.gate = new Promise<void>((resolve) => {
      this.release = resolve;
    });
  },
};

beforeAll(async () => {
  [local, sqsEmulator] = await Promise.all([startDynamoForHandlers({ LINKS_TABLE_NAME: 'links', LINK_CACHE_TTL_SECONDS: '0' }), startSqs({ region: REGION })]);
  const { dynamo, proxy } = local;
  sqs = sqsClient(sqsEmulator.endpoint);
  proxy.intercept(async ({ body }) => {
    if (hold.table !== '' && body.TableName === hold.table) {
      hold.held += 1;
      await hold.gate;
    }
    return undefined;
  });
  await createTable(dynamo, 'links', ['code']);
  await createTable(dynamo, 'salts-slow', ['period']);
  await dynamo.send(
    new PutItemCommand({ TableName: 'links', Item: { code: { S: 'demo' }, url: { S: 'https://example.com/' }, owner: { S: 'owner-1' } } }),
  );
  // Written by hand, without the owner the API always sets.
  await dynamo.send(new PutItemCommand({ TableName: 'links', Item: { code: { S: 'ownerless' }, url: { S: 'https://example.org/' } } }));
  queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'clicks' }))).QueueUrl ?? '';
  // Given back by local.stop(), with the rest of the environment.
  Object.assign(process.env, { AWS_ENDPOINT_URL_SQS: sqsEmulator.endpoint, CLICK_QUEUE_URL: queueUrl });
}, 60_000);

afterAll(async () => {
  hold.release();
  await flushClicks();
  sqs?.destroy();
  await Promise.all([local?.stop(), sqsEmulator?.stop()]);
});

function redirectEvent(code: string, method = 'GET'): APIGatewayProxyEventV2 {
  return httpApiEvent({
    method,
    path: `/${code}`,
    routeKey: `${method} /{code}`,
    headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', referer: REFERRER },
    pathParameters: { code },
    sourceIp: CLIENT_IP,
  });
}

async function receiveBodies(): Promise<string[]> {
  const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
  return Messages.map((message) => message.Body ?? '');
}

/** Resolves with the result, or with 'timeout' after ms. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  return Promise.race([promise, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), ms))]);
}

/** One macrotask later (setImmediate callbacks queued before this one have run). */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Lines written to stdout (Powertools logs there) until the returned stop() is called; they are still printed. */
function captureStdout(): { readonly lines: string[]; stop(): void } {
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    lines.push(String(chunk));
    return write(chunk, ...(rest as []));
  });
  return { lines, stop: () => spy.mockRestore() };
}

const clickLines = (lines: readonly string[]): string[] => lines.filter((line) => line.includes('"message":"click"'));

/** A port nothing listens on: connections to it are refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Runs one invocation as Lambda would with the extension: the handler and the extension's hold for its request id. */
async function invoke(code: string, { deadlineInMs = 5_000, holdFirst = true } = {}) {
  const requestId = randomUUID();
  const startedAt = Date.now();
  const hold = (): Promise<number> => afterResponse.hold(requestId, startedAt + deadlineInMs, settleClicks).then(() => Date.now() - startedAt);
  const held = holdFirst ? hold() : undefined;
  const result = await handler(redirectEvent(code), lambdaContext({ functionName: 'redirect', awsRequestId: requestId }));
  const respondedInMs = Date.now() - startedAt;
  const heldForMs = await (held ?? hold());
  return { result, respondedInMs, heldForMs };
}

describe('redirect handler', () => {
  it('answers 302 while the salts table is slow; the click follows once the salt arrives, with no raw IP or referrer path', async () => {
    process.env.SALTS_TABLE_NAME = 'salts-slow';
    const stdout = captureStdout();
    try {
      hold.start('salts-slow');
      const result = await within<APIGatewayProxyStructuredResultV2>(handler(redirectEvent('demo')), 1_500);
      expect(result).toEqual({ statusCode: 302, headers: { location: 'https://example.com/', 'cache-control': 'private, no-store, max-age=0' } });
      // The salt is asked for after the response, and the click waits for it.
      await waitFor(() => hold.held > 0, 5_000);
      expect(clickLines(stdout.lines)).toEqual([]);
      expect(await receiveBodies()).toEqual([]);

      hold.release();
      await flushClicks();
      const bodies = await receiveBodies();
      expect(bodies).toHaveLength(1);
      const click = parseClickMessage(bodies[0]);
      expect(click).toMatchObject({ code: 'demo', owner: 'owner-1', ipPrefix: '203.0.113.0', referrerHost: 'www.example.net', method: 'GET' });
      for (const text of [bodies[0], stdout.lines.join('')]) {
        expect(text).not.toContain(CLIENT_IP);
        expect(text).not.toContain('/private/path');
        expect(text).not.toContain('s3cr3t');
      }
    } finally {
      stdout.stop();
      hold.release();
    }
  });

  it('answers 302 and still queues the click when the salts table cannot be read at all', async () => {
    process.env.SALTS_TABLE_NAME = 'salts-missing';
    const result = await handler(redirectEvent('demo', 'HEAD'));
    expect(result.statusCode).toBe(302);
    await flushClicks();
    const bodies = await receiveBodies();
    expect(bodies).toHaveLength(1);
    expect(parseClickMessage(bodies[0])).toMatchObject({ code: 'demo', method: 'HEAD' });
  });

  it('returns the 302 before any click work: the click is logged and its send started a macrotask later', async () => {
    process.env.SALTS_TABLE_NAME = 'salts-missing';
    // The period's salt is cached from here on, as it is after init on Lambda.
    await handler(redirectEvent('demo'));
    await flushClicks();
    await receiveBodies();

    const stdout = captureStdout();
    try {
      const result = await handler(redirectEvent('demo'));
      expect(result.statusCode).toBe(302);
      expect(clickLines(stdout.lines)).toEqual([]);
      await tick();
      expect(clickLines(stdout.lines)).toHaveLength(1);
    } finally {
      stdout.stop();
    }
    await flushClicks();
    expect(await receiveBodies()).toHaveLength(1);
  });

  it.each([
    ['the extension gets the INVOKE event first', true],
    ['the handler runs before the extension asks', false],
  ])('holds the invocation until its click is in the queue, when %s', async (_name, holdFirst) => {
    process.env.SALTS_TABLE_NAME = 'salts-missing';
    const { result, heldForMs } = await invoke('demo', { holdFirst });
    expect(result.statusCode).toBe(302);
    // Nothing flushed: the hold itself waited for the send.
    expect(await receiveBodies()).toHaveLength(1);
    expect(heldForMs).toBeLessThan(HOLD_AFTER_RESPONSE_MS);
  });

  it('marks 404s and ownerless links done too, so their invocations are not held', async () => {
    process.env.SALTS_TABLE_NAME = 'salts-missing';
    for (const code of ['nope', 'bad code!', 'ownerless']) {
      const { heldForMs } = await invoke(code, { deadlineInMs: 60_000 });
      expect(heldForMs).toBeLessThan(HOLD_AFTER_RESPONSE_MS);
    }
    expect(await receiveBodies()).toEqual([]);
  });

  it(`waits for a slow salt past ${HOLD_AFTER_RESPONSE_MS} ms (the click exists nowhere else yet), but ends ${DEADLINE_MARGIN_MS} ms before the deadline`, async () => {
    process.env.SALTS_TABLE_NAME = 'salts-held';
    hold.start('salts-held');
    try {
      const slow = await invoke('demo', { deadlineInMs: DEADLINE_MARGIN_MS + 1_500 });
      expect(slow.heldForMs).toBeGreaterThanOrEqual(1_500 - 20);
      expect(slow.heldForMs).toBeLessThan(1_500 + 500);

      const short = await invoke('demo', { deadlineInMs: DEADLINE_MARGIN_MS + 300 });
      expect(short.heldForMs).toBeGreaterThanOrEqual(300 - 20);
      expect(short.heldForMs).toBeLessThan(HOLD_AFTER_RESPONSE_MS);
    } finally {
      hold.release();
    }
    // Released, not lost: the clicks follow once their salt arrives.
    await flushClicks();
    expect(await receiveBodies()).toHaveLength(2);
  });

  it('does not hold while the queue is unreachable; the clicks are kept, sent once it is back, and holds resume', async () => {
    process.env.SALTS_TABLE_NAME = 'salts-missing';
    const sqsEndpoint = process.env.AWS_ENDPOINT_URL_SQS;
    process.env.AWS_ENDPOINT_URL_SQS = `http://127.0.0.1:${await closedPort()}`;
    try {
      // The first send fails while this hold waits for it; the hold ends then, not at its budget.
      const first = await invoke('demo');
      expect(first.heldForMs).toBeLessThan(HOLD_AFTER_RESPONSE_MS);
      const second = await invoke('demo');
      expect(second.heldForMs - second.respondedInMs).toBeLessThan(100);
    } finally {
      process.env.AWS_ENDPOINT_URL_SQS = sqsEndpoint;
    }
    const bodies: string[] = [];
    await waitFor(async () => {
      bodies.push(...(await receiveBodies()));
      return bodies.length >= 2;
    }, 10_000);
    expect(bodies).toHaveLength(2);

    const healthy = await invoke('demo');
    expect(healthy.result.statusCode).toBe(302);
    expect(await receiveBodies()).toHaveLength(1);
  });

  it('redirects a link without an owner, and records no click it could not count for anyone', async () => {
    process.env.SALTS_TABLE_NAME = 'salts-missing';
    const result = await handler(redirectEvent('ownerless'));
    expect(result).toMatchObject({ statusCode: 302, headers: { location: 'https://example.org/' } });
    await flushClicks();
    expect(await receiveBodies()).toEqual([]);
  });

  it.each([['nope'], ['api'], ['bad code!'], ['x'.repeat(65)]])('answers 404, never 5xx, for the unknown or malformed code %j', async (code) => {
    process.env.SALTS_TABLE_NAME = 'salts-slow';
    expect((await handler(redirectEvent(code))).statusCode).toBe(404);
    const head = await handler(redirectEvent(code, 'HEAD'));
    expect(head.statusCode).toBe(404);
    expect(head.body).toBeUndefined();
  });
});
