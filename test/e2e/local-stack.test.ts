/**
 * `npm start` end to end, over real HTTP: the local stack agrees with the deployed
 * template, serves redirects and the API, carries a click to the statistics, keeps data
 * across restarts and stops cleanly.
 */
import { DescribeTableCommand, DescribeTimeToLiveCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { referencedLogicalId, resourcesOfType, synthesizeTemplate } from '../../local/template';
import { asRecord } from '../../local/types';
import type { CfnTemplate } from '../../local/types';
import {
  eventually,
  lambdaEnvironmentProcesses,
  processIsAlive,
  removeDataDir,
  startLocalStackProcess,
  TEST_API_KEY,
  type LocalStackProcess,
} from '../fixtures/local/local-stack-process';

jest.setTimeout(90_000);

const BROWSER_USER_AGENT =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

describe('local stack (npm start)', () => {
  let stack: LocalStackProcess;
  let template: CfnTemplate;
  let dataDir: string;
  let createdCode: string;
  let dynamo: DynamoDBClient;
  let sqs: SQSClient;

  beforeAll(async () => {
    [stack, template] = await Promise.all([startLocalStackProcess(), Promise.resolve().then(() => synthesizeTemplate())]);
    dataDir = stack.dataDir;
    const common = { region: stack.description.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
    dynamo = new DynamoDBClient({ ...common, endpoint: stack.description.dynamodbEndpoint });
    sqs = new SQSClient({ ...common, endpoint: stack.description.sqsEndpoint });
  });

  afterAll(async () => {
    dynamo?.destroy();
    sqs?.destroy();
    await stack?.kill();
    if (dataDir) await removeDataDir(dataDir);
  });

  const get = (path: string, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${stack.baseUrl}${path}`, { redirect: 'manual', headers: { 'user-agent': BROWSER_USER_AGENT, ...headers } });
  const authorised = { authorization: `Bearer ${TEST_API_KEY}` };

  it('creates every table as the template defines it', async () => {
    const tables = resourcesOfType(template, 'AWS::DynamoDB::Table');
    expect(tables.length).toBeGreaterThan(0);
    expect(Object.keys(stack.description.tables).sort()).toEqual(tables.map((table) => table.logicalId).sort());
    for (const { logicalId, resource } of tables) {
      const properties = asRecord(resource.Properties);
      const TableName = stack.description.tables[logicalId];
      const { Table } = await dynamo.send(new DescribeTableCommand({ TableName }));
      expect({ table: logicalId, keys: Table?.KeySchema }).toEqual({ table: logicalId, keys: properties.KeySchema });
      expect(Table?.AttributeDefinitions).toEqual(expect.arrayContaining(properties.AttributeDefinitions as unknown[]));
      const indexes = (Table?.GlobalSecondaryIndexes ?? []).map(({ IndexName, KeySchema, Projection }) => ({ IndexName, KeySchema, Projection }));
      expect({ table: logicalId, indexes }).toEqual({ table: logicalId, indexes: (properties.GlobalSecondaryIndexes as unknown[] | undefined) ?? [] });
      const stream = asRecord(properties.StreamSpecification).StreamViewType;
      expect({ table: logicalId, stream: Table?.StreamSpecification?.StreamViewType }).toEqual({ table: logicalId, stream });
      const ttl = asRecord(properties.TimeToLiveSpecification);
      const { TimeToLiveDescription } = await dynamo.send(new DescribeTimeToLiveCommand({ TableName }));
      expect({ table: logicalId, ttl: TimeToLiveDescription?.TimeToLiveStatus === 'ENABLED' ? TimeToLiveDescription.AttributeName : undefined }).toEqual({
        table: logicalId,
        ttl: ttl.Enabled === true ? ttl.AttributeName : undefined,
      });
    }
  });

  it('creates every queue as the template defines it', async () => {
    const queues = resourcesOfType(template, 'AWS::SQS::Queue');
    expect(Object.keys(stack.description.queues).sort()).toEqual(queues.map((queue) => queue.logicalId).sort());
    const arnOf = async (logicalId: string): Promise<string | undefined> =>
      (
        await sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: stack.description.queues[logicalId], AttributeNames: ['QueueArn'] }),
        )
      ).Attributes?.QueueArn;
    for (const { logicalId, resource } of queues) {
      const properties = asRecord(resource.Properties);
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: stack.description.queues[logicalId], AttributeNames: ['All'] }),
      );
      expect({ queue: logicalId, retention: Attributes?.MessageRetentionPeriod }).toEqual({
        queue: logicalId,
        retention: String(properties.MessageRetentionPeriod ?? 345600),
      });
      expect({ queue: logicalId, visibility: Attributes?.VisibilityTimeout }).toEqual({
        queue: logicalId,
        visibility: String(properties.VisibilityTimeout ?? 30),
      });
      const redrive = asRecord(properties.RedrivePolicy);
      if (Object.keys(redrive).length === 0) {
        expect(Attributes?.RedrivePolicy).toBeUndefined();
      } else {
        expect(JSON.parse(Attributes?.RedrivePolicy ?? '{}')).toEqual({
          deadLetterTargetArn: await arnOf(referencedLogicalId(redrive.deadLetterTargetArn) ?? 'missing'),
          maxReceiveCount: redrive.maxReceiveCount,
        });
      }
    }
  });

  it('redirects the demo link with a 302 nobody caches', async () => {
    const response = await get('/demo');
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('https://example.com/');
    expect(response.headers.get('cache-control')).toContain('no-store');
  });

  it('answers 404, never 5xx, for unknown and malformed codes', async () => {
    for (const path of ['/no-such-code', '/a%20b', '/dot.ted', `/${'x'.repeat(300)}`, '/%F0%9F%98%80']) {
      const response = await get(path);
      expect({ path, status: response.status }).toEqual({ path, status: 404 });
    }
    // A broken %-escape never reaches the function: API Gateway itself answers 400.
    expect((await get('/%E0%A4%A')).status).toBe(400);
  });

  it('refuses the API without the key', async () => {
    expect((await get('/api/links/demo/stats')).status).toBe(401);
    expect((await get('/api/links/demo/stats', { authorization: 'Bearer wrong' })).status).toBe(401);
  });

  it('creates a link, follows it and counts the click within seconds', async () => {
    const created = await fetch(`${stack.baseUrl}/api/links`, {
      method: 'POST',
      headers: { ...authorised, 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'https://example.org/landing?x=1' }),
    });
    expect(created.status).toBe(201);
    const link = (await created.json()) as { code: string; url: string; shortUrl: string };
    expect(link.shortUrl).toBe(`${stack.baseUrl}/${link.code}`);
    createdCode = link.code;

    const followed = await get(`/${link.code}`, { 'x-forwarded-for': '198.51.100.23', referer: 'https://news.ycombinator.com/item?id=1' });
    expect(followed.status).toBe(302);
    expect(followed.headers.get('location')).toBe('https://example.org/landing?x=1');

    const stats = await eventually(async () => {
      const response = await get(`/api/links/${link.code}/stats`, authorised);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { totals: { clicks: number; botClicks: number } };
      expect(body.totals.clicks).toBe(1);
      return body;
    }, 5_000, 200);
    expect(stats.totals.botClicks).toBe(0);
  });

  it("exits 0 on a terminal's Ctrl-C (SIGINT to the whole process group), after the clicks it accepted, and takes DynamoDB Local and every Lambda environment with it", async () => {
    const javaPid = stack.description.dynamodbPid;
    expect(processIsAlive(javaPid)).toBe(true);
    expect((await get(`/${createdCode}`, { 'x-forwarded-for': '198.51.100.24' })).status).toBe(302);
    const environments = lambdaEnvironmentProcesses(dataDir);
    expect(environments.length).toBeGreaterThanOrEqual(3);
    await expect(stack.stop('SIGINT', 'group')).resolves.toBe(0);
    // DynamoDB Local outlived the signal until the queue was drained into it.
    expect(stack.output()).not.toMatch(/drain timed out|ECONNREFUSED/);
    expect(processIsAlive(javaPid)).toBe(false);
    expect(environments.filter(({ pid }) => processIsAlive(pid))).toEqual([]);
  });

  it('keeps links and statistics across a restart with the same data folder', async () => {
    stack = await startLocalStackProcess({ dataDir });
    const response = await get(`/${createdCode}`);
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('https://example.org/landing?x=1');
    // The click accepted just before the stop was drained into the tables, and nothing was counted twice.
    const stats = await eventually(async () => {
      const body = (await (await get(`/api/links/${createdCode}/stats`, authorised)).json()) as { totals: { clicks: number } };
      expect(body.totals.clicks).toBe(3);
      return body;
    });
    expect(stats.totals.clicks).toBe(3);
    // Left running: the next test kills this stack outright (one start fewer; it ends with a clean stop).
  });

  it('clears the frozen environments a stack killed outright left behind, at the next start on its data folder', async () => {
    expect((await get(`/${createdCode}`)).status).toBe(302);
    const left = await eventually(async () => {
      const frozen = lambdaEnvironmentProcesses(dataDir).filter(({ state }) => state === 'T');
      expect(frozen.length).toBeGreaterThan(0);
      return frozen;
    });
    // No clean stop: nothing runs the stack's exit hooks, and a frozen process cannot notice its parent is gone.
    process.kill(stack.description.dynamodbPid, 'SIGKILL');
    await stack.stop('SIGKILL');
    expect(left.filter(({ pid }) => processIsAlive(pid))).toHaveLength(left.length);

    stack = await startLocalStackProcess({ dataDir });
    expect(left.filter(({ pid }) => processIsAlive(pid))).toEqual([]);
    await expect(stack.stop('SIGTERM')).resolves.toBe(0);
  });
});
