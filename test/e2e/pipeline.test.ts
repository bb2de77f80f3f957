/**
 * The whole pipeline through the local stack, over real HTTP and the real emulators:
 * redirect -> queue -> enrichment -> raw clicks -> stream -> quarter-hour aggregates -> stats API,
 * then the rollup -> daily and monthly aggregates -> stats API.
 */
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { paginateScan } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { ADMIN_OWNER } from '../../lambdas/contract';
import type { ClickMessage } from '../../lambdas/domain/click';
import { getOrCreate } from '../../lambdas/shared/get-or-create';
import { clickMessage } from '../fixtures/clicks';
import {
  COUNTING_CLICKS,
  countingVisits,
  expectSettled as expectSettledIn,
  expectVisitsCountedExactly,
  hourRange,
} from '../fixtures/counting-scenario';
import {
  CLICK_DEAD_LETTER_QUEUE,
  CLICK_QUEUE,
  countsOf,
  DAY_MS,
  firstOfMonth,
  isoDay,
  resourceNamed,
  ROLLUP_SCHEDULE,
  StackClient,
  tearDownLocalStack,
  type StatsSubject,
} from '../fixtures/stack-client';
import { USER_AGENTS } from '../fixtures/user-agents';
import { eventually, startLocalStackProcess, type LocalStackProcess } from '../fixtures/local/local-stack-process';

let stack: LocalStackProcess;
let client: StackClient;

/** The same clicks three ways (reporting zone UTC): hours from quarter-hour items, days and months from the rollup. */
function range(granularity: 'hour' | 'day' | 'month'): Record<string, string> {
  const now = Date.now();
  switch (granularity) {
    case 'hour':
      return hourRange(now);
    case 'day':
      return { granularity, from: isoDay(now - DAY_MS), to: isoDay(now + DAY_MS) };
    case 'month':
      return { granularity, from: firstOfMonth(now - DAY_MS), to: firstOfMonth(now, 1) };
  }
}

/** A click as the redirect would queue it, new each time (a fresh event id, now). */
function queuedClick(code: string, changes: Partial<ClickMessage> = {}): ClickMessage {
  return clickMessage({ eventId: randomUUID(), code, owner: ADMIN_OWNER, ts: new Date().toISOString(), ...changes });
}

const expectSettled = (code: string, expected: { clicks: number; botClicks: number }): Promise<void> =>
  expectSettledIn(client, code, expected);

/**
 * A finder of the secrets a text holds, in one pass over it: each position is looked up by its first two
 * characters, where a scan per secret (a thousand IPs over megabytes of DynamoDB Local's files) took seconds.
 */
function secretFinder(secrets: readonly string[]): (content: string) => string[] {
  const byFirstTwo = new Map<number, string[]>();
  for (const secret of secrets) {
    if (secret.length < 2) throw new Error(`secret too short to look up: ${JSON.stringify(secret)}`);
    getOrCreate(byFirstTwo, secret.charCodeAt(0) * 65_536 + secret.charCodeAt(1), () => []).push(secret);
  }
  return (content) => {
    const found = new Set<string>();
    for (let index = 0; index + 1 < content.length; index++) {
      const candidates = byFirstTwo.get(content.charCodeAt(index) * 65_536 + content.charCodeAt(index + 1));
      for (const secret of candidates ?? []) if (content.startsWith(secret, index)) found.add(secret);
    }
    return [...found];
  };
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

beforeAll(async () => {
  // The deployed aggregation window (AGGREGATION_BATCH_WINDOW_SECONDS unset: 5 s), which the other suites shorten.
  stack = await startLocalStackProcess({ env: { LOCAL_VERBOSE: '1', AGGREGATION_BATCH_WINDOW_SECONDS: '' } });
  client = new StackClient(stack);
}, 90_000);

afterAll(() => tearDownLocalStack(stack, client));

describe('click pipeline through the local stack', () => {
  const visits = countingVisits();
  let trafficCode: string;
  let redeliveryCode: string;
  let batchCode: string;
  const garbage = `{"not":"a click", "marker":"${randomUUID()}"`;
  let missingField: string;
  /** Every link a test sent clicks to, for the rollup's check. */
  const codes: string[] = [];

  // The redelivery and the malformed batch are queued before the traffic: they travel the pipeline (and wait
  // out its 5 s aggregation window) while the 1,000 visits are made and counted, not after.
  beforeAll(async () => {
    redeliveryCode = await client.createLink('https://example.com/redelivery');
    batchCode = await client.createLink('https://example.com/batch');
    codes.push(redeliveryCode, batchCode);
    const body = JSON.stringify(queuedClick(redeliveryCode));
    await client.sendToQueue(CLICK_QUEUE, [body]);
    await client.sendToQueue(CLICK_QUEUE, [body]);
    missingField = JSON.stringify({ ...queuedClick(batchCode), visitor: undefined });
    const entries = [
      queuedClick(batchCode),
      garbage,
      queuedClick(batchCode, { method: 'HEAD' }),
      missingField,
      queuedClick(batchCode),
    ].map((message) => (typeof message === 'string' ? message : JSON.stringify(message)));
    // One SendMessageBatch: the five land in one enrichment batch.
    await client.sendToQueue(CLICK_QUEUE, entries);
  });

  test('1,000 varied clicks give exactly 1,000 clicks in the hourly series, bots counted apart', async () => {
    trafficCode = await client.createLink('https://example.com/landing?campaign=e2e');
    codes.push(trafficCode);
    await expectVisitsCountedExactly(client, trafficCode, visits);
  }, 180_000);

  test('a redelivered queue message does not count twice', async () => {
    await expectSettled(redeliveryCode, { clicks: 1, botClicks: 0 });
  }, 90_000);

  test('a malformed queue message lands in the DLQ while the rest of its batch counts', async () => {
    await expectSettled(batchCode, { clicks: 2, botClicks: 1 });
    const dlqUrl = resourceNamed(stack.description.queues, CLICK_DEAD_LETTER_QUEUE);
    const deadBodies: string[] = [];
    await eventually(
      async () => {
        const received = await client.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60 }),
        );
        deadBodies.push(...(received.Messages ?? []).map((message) => message.Body ?? ''));
        expect(deadBodies.sort()).toEqual([garbage, missingField].sort());
      },
      30_000,
      100,
    );
  }, 90_000);

  test('days and months equal the hours while today is pending and after the rollup has made them, per link and for the owner', async () => {
    expect(codes).toHaveLength(3);
    const subjects: StatsSubject[] = [...codes.map((code) => ({ link: code })), 'owner'];
    const hourly = await Promise.all(subjects.map(async (subject) => countsOf(await client.stats(subject, range('hour')))));
    expect(hourly.at(-1)?.clicks).toBe(hourly.slice(0, -1).reduce((sum, counts) => sum + counts.clicks, 0));
    const expectDaysAndMonths = async (source: (granularity: 'day' | 'month') => string | RegExp): Promise<void> => {
      for (const [index, subject] of subjects.entries()) {
        for (const granularity of ['day', 'month'] as const) {
          const body = await client.stats(subject, range(granularity));
          const expected = source(granularity);
          expect({ subject, granularity, source: body.source, ...countsOf(body) }).toEqual({
            subject,
            granularity,
            source: typeof expected === 'string' ? expected : expect.stringMatching(expected),
            ...hourly[index],
          });
        }
      }
    };

    // A run before today ends leaves today pending (answered from its quarter-hour items)...
    await client.runSchedule(ROLLUP_SCHEDULE);
    await expectDaysAndMonths(() => /quarter-hour$/);
    // ...and the first run after it ends makes its daily and monthly items.
    await client.rollUpEveryDay();
    await expectDaysAndMonths((granularity) => (granularity === 'day' ? 'daily' : 'monthly'));
  }, 60_000);

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
    const secretsIn = secretFinder(secrets);
    const files = await filesUnder(stack.dataDir);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const content = (await readFile(file)).toString('latin1');
      const found = secretsIn(content);
      expect({ file: path.relative(stack.dataDir, file), found }).toEqual({ file: path.relative(stack.dataDir, file), found: [] });
    }
    const output = stack.output();
    expect(output).toContain('"click"');
    expect(secretsIn(output)).toEqual([]);

    const agents = Object.values(USER_AGENTS).filter((agent) => agent.length > 0);
    let items = 0;
    for (const tableName of Object.values(stack.description.tables)) {
      for await (const page of paginateScan({ client: client.dynamo }, { TableName: tableName })) {
        for (const item of page.Items ?? []) {
          items++;
          const text = JSON.stringify(item);
          expect(agents.filter((agent) => text.includes(agent))).toEqual([]);
          expect(secretsIn(text)).toEqual([]);
        }
      }
    }
    expect(items).toBeGreaterThan(COUNTING_CLICKS);
  }, 90_000);

  test("click lines are compact, logger lines carry the invocation's Lambda context, and each function reports its cold starts", () => {
    const output = stack.output();
    const linesOf = (functionPrefix: string): Record<string, unknown>[] =>
      [...output.matchAll(new RegExp(`^\\[${functionPrefix}\\w*\\] (\\{.*\\})$`, 'gm'))].map((match) => JSON.parse(match[1]) as Record<string, unknown>);
    // The click line is the backfill's source, kept small (lambdas/domain/click-log.ts): the click alone, once per click.
    const clickLines = linesOf('RedirectFunction').filter((line) => line.message === 'click');
    expect(clickLines.length).toBeGreaterThanOrEqual(COUNTING_CLICKS);
    for (const line of clickLines) expect(Object.keys(line).sort()).toEqual(['click', 'message']);
    const eventIds = clickLines.map((line) => (line.click as { eventId: string }).eventId);
    expect(new Set(eventIds).size).toBe(clickLines.length);
    // The logger's lines (here enrich's two rejected messages) name the invocation they came from: one of its REPORT lines.
    const reported = new Set([...output.matchAll(/^REPORT EnrichFunction\w* ([0-9a-f-]{36}) /gm)].map((match) => match[1]));
    const rejections = linesOf('EnrichFunction').filter((line) => line.message === 'invalid click message');
    expect(rejections.length).toBeGreaterThanOrEqual(2);
    for (const line of rejections) {
      expect(line).toMatchObject({ function_request_id: expect.stringMatching(/^[0-9a-f-]{36}$/), cold_start: expect.any(Boolean) });
      expect(reported.has(line.function_request_id as string)).toBe(true);
    }
    // Powertools emits ColdStart=1 once per execution environment, under the function's service.
    for (const [prefix, service] of [['RedirectFunction', 'redirect'], ['EnrichFunction', 'enrich'], ['AggregateFunction', 'aggregate']]) {
      const coldStarts = linesOf(prefix).filter((line) => line.ColdStart === 1);
      expect({ prefix, coldStarts: coldStarts.length > 0, service: coldStarts[0]?.service }).toEqual({ prefix, coldStarts: true, service });
    }
  });
});
