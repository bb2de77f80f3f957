/**
 * Exactly once, proved through the local stack with faults injected at the poller/handler
 * boundary (LOCAL_FAULTS): redelivered invocations, enrichment and aggregator crashes after part
 * of a batch, lost responses, duplicate SQS deliveries, the rollup run twice and twice at once.
 * Every level must still count each distinct click event exactly once.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { paginateScan } from '@aws-sdk/client-dynamodb';
import {
  CLICK_DEAD_LETTER_QUEUE,
  CLICK_QUEUE,
  countsOf,
  DAY_MS,
  firstOfMonth,
  HOUR_MS,
  isoDay,
  resourceNamed,
  STREAM_FAILURE_QUEUE,
  StackClient,
  tearDownLocalStack,
  whenQuiet,
  type StatsSubject,
} from '../fixtures/stack-client';
import { ADMIN_OWNER } from '../../lambdas/contract';
import { BACKOFF_MAX_MS } from '../../local/retry';
import { syntheticClickMessage, syntheticVisits, tally, visitorOf, type Tally } from '../fixtures/synthetic-traffic';
import { eventually, startLocalStackProcess, type LocalStackProcess } from '../fixtures/local/local-stack-process';

const LINKS = 5;
const REDIRECTS = 1_500;
const QUEUED = 100;
const CONCURRENCY = 16;

/**
 * Each mode fires several times over ~1,500 clicks. The aggregator's are capped: a failed stream batch
 * is bisected, so with most invocations failing the batches would shrink to one record for the whole run.
 */
const FAULTS = {
  EnrichFunction: [
    { mode: 'duplicate', every: 2 },
    { mode: 'crash-after-partial', every: 3 },
  ],
  AggregateFunction: [
    { mode: 'crash-after-partial', every: 2, times: 6 },
    { mode: 'lose-response', every: 3, times: 4 },
    { mode: 'duplicate', every: 5, times: 3 },
  ],
  RollupFunction: [{ mode: 'duplicate', every: 1 }],
} as const;

/** One distinct click event and the truth about it. */
interface SentClick {
  readonly code: string;
  readonly human: boolean;
  readonly visitor: string;
}

let stack: LocalStackProcess;
let client: StackClient;

beforeAll(async () => {
  stack = await startLocalStackProcess({ env: { LOCAL_FAULTS: JSON.stringify(FAULTS) } });
  client = new StackClient(stack);
}, 90_000);

afterAll(() => tearDownLocalStack(stack, client));

describe('exactly once under injected faults', () => {
  const started = Date.now();
  const sent: SentClick[] = [];
  const codes: string[] = [];
  /** Reporting zone UTC (the default): day and month in UTC come from the daily and monthly tables. */
  const ranges = () => {
    const now = Date.now();
    return {
      hour: {
        from: new Date(started - HOUR_MS).toISOString(),
        to: new Date(now + HOUR_MS).toISOString(),
        granularity: 'hour',
        tz: 'UTC',
      },
      day: { from: isoDay(started - DAY_MS), to: isoDay(now + DAY_MS), granularity: 'day', tz: 'UTC' },
      month: { from: firstOfMonth(started), to: firstOfMonth(now, 1), granularity: 'month', tz: 'UTC' },
    };
  };
  const subjects = (): { subject: StatsSubject; truth: Tally }[] => [
    ...codes.map((code) => ({ subject: { link: code }, truth: tally(sent.filter((click) => click.code === code)) })),
    { subject: 'owner' as const, truth: tally(sent) },
  ];

  test('redirects and duplicate deliveries settle to the distinct events in the hour series', async () => {
    for (let index = 0; index < LINKS; index++) codes.push(await client.createLink(`https://example.com/exactly-once/${index}`));

    // Returning people, so uniques are fewer than clicks and merge across quarters and links.
    const visits = syntheticVisits(REDIRECTS, 11, { people: 400 }).map((visit, index) => ({ code: codes[index % LINKS], visit }));
    await client.visitAll(visits, CONCURRENCY);
    // Visitor keys of redirects are HMACs of (IP, User-Agent) under the stack's salt: the pair stands for the key.
    sent.push(...visits.map(({ code, visit }) => ({ code, human: visit.human, visitor: `redirect ${visitorOf(visit)}` })));

    // Duplicate SQS deliveries: every message goes into the queue twice, the second copies after all the first.
    const salt = new Uint8Array(32).fill(7);
    const messages = syntheticVisits(QUEUED, 12, { people: 30 }).map((visit, index) => {
      const message = syntheticClickMessage(
        visit,
        { eventId: randomUUID(), code: codes[index % LINKS], owner: ADMIN_OWNER, ts: new Date().toISOString() },
        salt,
      );
      sent.push({ code: message.code, human: visit.human, visitor: message.visitor });
      return JSON.stringify(message);
    });
    await client.sendToQueue(CLICK_QUEUE, messages);
    await client.sendToQueue(CLICK_QUEUE, messages);

    const total = tally(sent);
    expect(total.clicks).toBeGreaterThan(200);
    expect(total.botClicks).toBeGreaterThan(200);
    expect(total.uniques).toBeLessThan(total.clicks);

    // Faults make progress bursty: first the queue empty and the owner's figures at the truth, then no
    // late redelivery moving them: quiet for longer than a poller's longest retry backoff.
    const read = async () => ({ queued: await client.queueDepth(CLICK_QUEUE), owner: countsOf(await client.stats('owner', ranges().hour)) });
    await eventually(async () => expect(await read()).toEqual({ queued: 0, owner: total }), 240_000, 500);
    const settled = await whenQuiet(read, BACKOFF_MAX_MS + 1_000, 60_000);
    expect(settled.queued).toBe(0);
    // A message or stream batch given up on would be short here rather than counted: say so plainly.
    const givenUp = {
      deadLetters: await client.queueDepth(CLICK_DEAD_LETTER_QUEUE),
      streamFailures: await client.queueDepth(STREAM_FAILURE_QUEUE),
    };
    expect(givenUp).toEqual({ deadLetters: 0, streamFailures: 0 });

    for (const { subject, truth } of subjects()) {
      const body = await client.stats(subject, ranges().hour);
      expect({ subject, source: body.source, ...countsOf(body) }).toEqual({ subject, source: 'quarter-hour', ...truth });
    }
  }, 360_000);

  test('the rollup, run twice at once and then again, gives the exact day and month totals each time', async () => {
    expect(codes).toHaveLength(LINKS);
    const expectRolledUp = async (): Promise<void> => {
      for (const level of ['day', 'month'] as const) {
        const read = await Promise.all(
          subjects().map(async ({ subject, truth }) => ({ subject, truth, body: await client.stats(subject, ranges()[level]) })),
        );
        for (const { subject, truth, body } of read) {
          const source = level === 'day' ? 'daily' : 'monthly';
          expect({ subject, level, source: body.source, ...countsOf(body) }).toEqual({ subject, level, source, ...truth });
        }
        // The owner's items are aggregates of their own, not a sum at read time: they must still add up.
        const links = read.filter(({ subject }) => subject !== 'owner').map(({ body }) => body.totals);
        const owner = read.find(({ subject }) => subject === 'owner')?.body.totals;
        expect({ clicks: owner?.clicks, botClicks: owner?.botClicks }).toEqual({
          clicks: links.reduce((sum, totals) => sum + totals.clicks, 0),
          botClicks: links.reduce((sum, totals) => sum + totals.botClicks, 0),
        });
      }
    };
    // Two runs at once, then one more; RollupFunction's duplicate fault delivers each of them twice.
    await client.rollUpEveryDay(2);
    await expectRolledUp();
    await client.rollUpEveryDay(1);
    await expectRolledUp();

    // Nothing left for the next run: every marker was done and deleted.
    let pending = 0;
    const TableName = resourceNamed(stack.description.tables, 'PendingRollupsTable');
    for await (const page of paginateScan({ client: client.dynamo }, { TableName })) pending += page.Items?.length ?? 0;
    expect(pending).toBe(0);
  }, 120_000);

  test('every configured fault really happened', async () => {
    const countsFile = path.join(stack.dataDir, 'local-faults.json');
    const fired = JSON.parse(await readFile(countsFile, 'utf8')) as Record<string, Record<string, number>>;
    for (const [fn, faults] of Object.entries(FAULTS)) {
      const counts = Object.entries(fired).find(([name]) => name.startsWith(fn))?.[1] ?? {};
      for (const { mode } of faults) expect({ fn, mode, fired: (counts[mode] ?? 0) > 0 }).toEqual({ fn, mode, fired: true });
    }
    expect(stack.output()).toMatch(/\[fault\] \S*AggregateFunction\S* crash-after-partial invocation \d+/);
  });
});
