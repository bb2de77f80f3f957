/**
 * The redirect handler in-process on the real emulators (DynamoDB Local, fauxqs). DynamoDB is
 * reached through a proxy (helpers/dynamo-proxy) that can hold requests naming the salts table,
 * to show that a slow salts table never holds the redirect.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { parseClickMessage } from '../../lambdas/domain/click';
import { flushClicks, handler } from '../../lambdas/handlers/redirect';
import { type SqsEmulator, startSqs } from '../../local/emulators/sqs';
import { createTable, type DynamoForHandlers, httpApiEvent, REGION, sqsClient, startDynamoForHandlers } from '../fixtures/local/emulators';

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

describe('redirect handler', () => {
  it('answers 302 while the salts table is slow; the click follows once the salt arrives, with no raw IP or referrer path', async () => {
    process.env.SALTS_TABLE_NAME = 'salts-slow';
    const written: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
      written.push(String(chunk));
      return write(chunk, ...(rest as []));
    });
    try {
      hold.start('salts-slow');
      const result = await within<APIGatewayProxyStructuredResultV2>(handler(redirectEvent('demo')), 1_500);
      expect(hold.held).toBeGreaterThan(0);
      expect(result).toEqual({ statusCode: 302, headers: { location: 'https://example.com/', 'cache-control': 'private, no-store, max-age=0' } });
      expect(await receiveBodies()).toEqual([]);

      hold.release();
      await flushClicks();
      const bodies = await receiveBodies();
      expect(bodies).toHaveLength(1);
      const click = parseClickMessage(bodies[0]);
      expect(click).toMatchObject({ code: 'demo', owner: 'owner-1', ipPrefix: '203.0.113.0', referrerHost: 'www.example.net', method: 'GET' });
      for (const text of [bodies[0], written.join('')]) {
        expect(text).not.toContain(CLIENT_IP);
        expect(text).not.toContain('/private/path');
        expect(text).not.toContain('s3cr3t');
      }
    } finally {
      spy.mockRestore();
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
