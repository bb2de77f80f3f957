/**
 * The whole pipeline through the local stack, over real HTTP and the real emulators:
 * redirect -> queue -> enrichment -> raw clicks -> stream -> hourly aggregates -> stats API.
 */
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { ClickMessage } from '../../lambdas/domain/click';
import type { StatsResponse } from '../../lambdas/domain/stats';
import { clickMessage } from '../fixtures/clicks';
import { USER_AGENTS } from '../fixtures/user-agents';
import { syntheticVisits, type SyntheticVisit } from '../fixtures/synthetic-traffic';
import { eventually, removeDataDir, startLocalStackProcess, TEST_API_KEY, type LocalStackProcess } from './helpers/local-stack-process';

const CLICKS = 1_000;
const CONCURRENCY = 16;
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

let stack: LocalStackProcess;
let sqs: SQSClient;
let dynamo: DynamoDBClient;

function resourceNamed(resources: Readonly<Record<string, string>>, prefix: string): string {
  const match = Object.entries(resources).find(([logicalId]) => logicalId.startsWith(prefix));
  if (!match) throw new Error(`No local resource whose logical ID starts with ${prefix}: ${Object.keys(resources).join(', ')}`);
  return match[1];
}

async function api(pathAndQuery: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${stack.baseUrl}${pathAndQuery}`, {
    ...init,
    headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json', ...init.headers },
  });
}

async function createLink(url: string): Promise<string> {
  const response = await api('/api/links', { method: 'POST', body: JSON.stringify({ url }) });
  expect(response.status).toBe(201);
  const { code } = (await response.json()) as { code: string };
  return code;
}

async function stats(code: string): Promise<StatsResponse> {
  const to = new Date(Date.now() + 3_600_000).toISOString();
  const from = new Date(Date.now() - 3 * 3_600_000).toISOString();
  const response = await api(`/api/links/${code}/stats?from=${from}&to=${to}&granularity=hour`);
  expect(response.status).toBe(200);
  return (await response.json()) as StatsResponse;
}

function seriesTotals(body: StatsResponse): { clicks: number; botClicks: number } {
  return body.series.reduce(
    (sum, point) => ({ clicks: sum.clicks + point.clicks, botClicks: sum.botClicks + point.botClicks }),
    { clicks: 0, botClicks: 0 },
  );
}

async function visit(code: string, one: SyntheticVisit): Promise<void> {
  const headers: Record<string, string> = { 'user-agent': one.userAgent, 'x-forwarded-for': `${one.ip}, 10.0.0.1` };
  if (one.referrer) headers.referer = one.referrer;
  const response = await fetch(`${stack.baseUrl}/${code}`, { method: one.method, headers, redirect: 'manual' });
  expect(response.status).toBe(302);
  await response.arrayBuffer();
}

/** A click as the redirect would queue it, new each time (a fresh event id, now). */
function queuedClick(code: string, changes: Partial<ClickMessage> = {}): ClickMessage {
  return clickMessage({ eventId: randomUUID(), code, ts: new Date().toISOString(), ...changes });
}

async function expectSettled(code: string, expected: { clicks: number; botClicks: number }): Promise<void> {
  await eventually(async () => expect(seriesTotals(await stats(code))).toEqual(expected), 60_000, 250);
  // Nothing arrives late to push it over: exact, not at least.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  expect(seriesTotals(await stats(code))).toEqual(expected);
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

beforeAll(async () => {
  stack = await startLocalStackProcess();
  const { region, sqsEndpoint, dynamodbEndpoint } = stack.description;
  sqs = new SQSClient({ region, endpoint: sqsEndpoint, credentials });
  dynamo = new DynamoDBClient({ region, endpoint: dynamodbEndpoint, credentials });
}, 90_000);

afterAll(async () => {
  sqs?.destroy();
  dynamo?.destroy();
  if (stack) {
    await stack.kill();
    await removeDataDir(stack.dataDir);
  }
});

describe('click pipeline through the local stack', () => {
  const visits = syntheticVisits(CLICKS, 7);
  let trafficCode: string;

  test('1,000 varied clicks give exactly 1,000 clicks in the hourly series, bots counted apart', async () => {
    trafficCode = await createLink('https://example.com/landing?campaign=e2e');
    for (let next = 0; next < visits.length; next += CONCURRENCY) {
      await Promise.all(visits.slice(next, next + CONCURRENCY).map((one) => visit(trafficCode, one)));
    }
    const humans = visits.filter((one) => one.human).length;
    expect(humans).toBeGreaterThan(100);
    expect(CLICKS - humans).toBeGreaterThan(100);

    await expectSettled(trafficCode, { clicks: humans, botClicks: CLICKS - humans });
    const body = await stats(trafficCode);
    expect(body.totals).toMatchObject({ clicks: humans, botClicks: CLICKS - humans });
    const byKey = (rows: { key: string; clicks: number }[]): Record<string, number> =>
      Object.fromEntries(rows.map((row) => [row.key, row.clicks]));
    // Referrers reduced to normalised hosts: t.co counts as twitter.com, www. is dropped, paths are gone.
    const referrers = byKey(body.breakdowns.referrers);
    expect(Object.keys(referrers).sort()).toEqual(
      expect.arrayContaining(['(direct)', 'facebook.com', 'google.com', 'mail.example.org', 'news.ycombinator.com', 'twitter.com']),
    );
    expect(Object.values(referrers).reduce((a, b) => a + b, 0)).toBe(humans);
    expect(Object.keys(byKey(body.breakdowns.devices))).toEqual(expect.arrayContaining(['desktop', 'mobile', 'tablet']));
    expect(Object.keys(byKey(body.breakdowns.browsers))).toEqual(expect.arrayContaining(['Chrome', 'Firefox', 'Edge']));
  }, 180_000);

  test('a redelivered queue message does not count twice', async () => {
    const code = await createLink('https://example.com/redelivery');
    const body = JSON.stringify(queuedClick(code));
    const queueUrl = resourceNamed(stack.description.queues, 'ClickQueue');
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    await expectSettled(code, { clicks: 1, botClicks: 0 });
  }, 90_000);

  test('a malformed queue message lands in the DLQ while the rest of its batch counts', async () => {
    const code = await createLink('https://example.com/batch');
    const garbage = `{"not":"a click", "marker":"${randomUUID()}"`;
    const missingField = JSON.stringify({ ...queuedClick(code), visitor: undefined });
    const entries = [
      queuedClick(code),
      garbage,
      queuedClick(code, { method: 'HEAD' }),
      missingField,
      queuedClick(code),
    ].map((message, index) => ({
      Id: `m${index}`,
      MessageBody: typeof message === 'string' ? message : JSON.stringify(message),
    }));
    const sent = await sqs.send(
      new SendMessageBatchCommand({ QueueUrl: resourceNamed(stack.description.queues, 'ClickQueue'), Entries: entries }),
    );
    expect(sent.Failed ?? []).toEqual([]);

    await expectSettled(code, { clicks: 2, botClicks: 1 });
    const dlqUrl = resourceNamed(stack.description.queues, 'ClickDeadLetterQueue');
    const deadBodies: string[] = [];
    await eventually(
      async () => {
        const received = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60 }),
        );
        deadBodies.push(...(received.Messages ?? []).map((message) => message.Body ?? ''));
        expect(deadBodies.sort()).toEqual([garbage, missingField].sort());
      },
      30_000,
      100,
    );
  }, 90_000);

  test('no raw IP or referrer path under DATA_DIR or in the output, no raw User-Agent in any table', async () => {
    expect(trafficCode).toBeDefined();
    const secrets = [
      ...new Set(visits.map((one) => one.ip)),
      'secret+token+123',
      'private-thread-77',
      'AT0tok',
      'Ab12Cd34',
      'item?id=4242',
    ];
    const files = await filesUnder(stack.dataDir);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const content = (await readFile(file)).toString('latin1');
      const found = secrets.filter((secret) => content.includes(secret));
      expect({ file: path.relative(stack.dataDir, file), found }).toEqual({ file: path.relative(stack.dataDir, file), found: [] });
    }
    const output = stack.output();
    expect(output).toContain('"click"');
    expect(secrets.filter((secret) => output.includes(secret))).toEqual([]);

    const agents = Object.values(USER_AGENTS).filter((agent) => agent.length > 0);
    let items = 0;
    for (const tableName of Object.values(stack.description.tables)) {
      for await (const page of paginateScan({ client: dynamo }, { TableName: tableName })) {
        for (const item of page.Items ?? []) {
          items++;
          const text = JSON.stringify(item);
          expect(agents.filter((agent) => text.includes(agent))).toEqual([]);
          expect(secrets.filter((secret) => text.includes(secret))).toEqual([]);
        }
      }
    }
    expect(items).toBeGreaterThan(CLICKS);
  }, 90_000);
});
