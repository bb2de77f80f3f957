/**
 * Referrer spam through the local stack (issue 8): thousands of distinct referrer hosts of about
 * 250 characters, which once made aggregate items outgrow DynamoDB's 400 KB and lost clicks.
 *
 * - The burst: 1,200 redirects of one link over real HTTP, each from a browser with its own host
 *   (about 300 KB of hosts, three times an item's bound).
 * - The drip: 700 such hosts in one quarter-hour of another link and 700 in the next, queued with
 *   those times, so each quarter-hour item and then the day must fold its own share.
 *
 * Hourly, daily and monthly totals must equal the clicks for each link and for their owner, every
 * aggregate item must stay within MAX_AGGREGATE_ITEM_BYTES, and the rollup must succeed.
 */
import { randomUUID } from 'node:crypto';
import { paginateScan } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { ADMIN_OWNER } from '../../lambdas/contract';
import { MAX_AGGREGATE_ITEM_BYTES } from '../../lambdas/domain/aggregate-state';
import { QUARTER_MS } from '../../lambdas/domain/buckets';
import { itemBytes } from '../../lambdas/domain/item-size';
import type { StatsResponse } from '../../lambdas/domain/stats';
import { clickMessage } from '../fixtures/clicks';
import {
  CLICK_QUEUE,
  DAY_MS,
  firstOfMonth,
  isoDay,
  resourceNamed,
  StackClient,
  tearDownLocalStack,
  whenQuiet,
  type StatsSubject,
} from '../fixtures/stack-client';
import { USER_AGENTS } from '../fixtures/user-agents';
import { eventually, startLocalStackProcess, type LocalStackProcess } from '../fixtures/local/local-stack-process';

jest.setTimeout(240_000);

const BURST = 1_200;
const DRIP_PER_QUARTER = 700;
const CONCURRENCY = 16;

/** A referrer host of about 250 characters, as a spammer sends them: labels of up to 63, 253 in all at most. */
const spamHost = (prefix: string, index: number): string =>
  `${prefix}${index}-${'a'.repeat(55)}.${'b'.repeat(62)}.${'c'.repeat(62)}.${'d'.repeat(55)}.example`;

/** The aggregate tables, by logical ID prefix. */
const AGGREGATE_TABLES = ['QuarterHourAggregatesTable', 'DailyAggregatesTable', 'MonthlyAggregatesTable'];

let stack: LocalStackProcess;
let client: StackClient;

beforeAll(async () => {
  stack = await startLocalStackProcess({ env: { LOCAL_VERBOSE: '1' } });
  client = new StackClient(stack);
});

afterAll(async () => {
  await tearDownLocalStack(stack, client);
});

/** Yesterday 00:00 UTC to tomorrow 00:00 UTC, covering the burst (now) and the drip (yesterday). */
function rangeOf(granularity: 'hour' | 'day' | 'month'): Record<string, string> {
  const now = Date.now();
  if (granularity === 'month') return { granularity, from: firstOfMonth(now - DAY_MS), to: firstOfMonth(now, 1) };
  return { granularity, from: isoDay(now - DAY_MS), to: isoDay(now + DAY_MS) };
}

/** Human and bot clicks: what has arrived, whichever way it was counted. */
const arrived = (body: StatsResponse): number => body.totals.clicks + body.totals.botClicks;

/** Every breakdown still adds up: listed clicks plus the rest (cut and folded) equal the human clicks. */
function expectBreakdownsAddUp(body: StatsResponse): void {
  for (const [field, entries] of Object.entries(body.breakdowns)) {
    const listed = entries.reduce((sum, entry) => sum + entry.clicks, 0);
    expect({ field, clicks: listed + body.breakdownOthers[field as keyof typeof body.breakdowns].clicks }).toEqual({
      field,
      clicks: body.totals.clicks,
    });
  }
}

/** The largest aggregate item in each aggregate table, in bytes as DynamoDB counts them. */
async function largestItems(): Promise<Record<string, number>> {
  const largest: Record<string, number> = {};
  for (const prefix of AGGREGATE_TABLES) {
    const tableName = resourceNamed(stack.description.tables, prefix);
    largest[prefix] = 0;
    for await (const page of paginateScan({ client: client.dynamo }, { TableName: tableName })) {
      for (const item of page.Items ?? []) largest[prefix] = Math.max(largest[prefix], itemBytes(unmarshall(item)));
    }
  }
  return largest;
}

it('counts every click of a referrer-spam burst and a two-quarter drip, in bounded items, at every level', async () => {
  const burstLink = await client.createLink('https://example.com/burst');
  const dripLink = await client.createLink('https://example.com/drip');

  // The burst, over HTTP as the spammer sends it: a browser, its own address and host each time.
  const burst = client.visitAll(
    Array.from({ length: BURST }, (_, index) => ({
      code: burstLink,
      visit: {
        userAgent: USER_AGENTS.chromeWindows,
        ip: `203.0.${Math.floor(index / 250)}.${(index % 250) + 1}`,
        referrer: `https://${spamHost('s', index)}/`,
        method: 'GET' as const,
        human: true,
      },
    })),
    CONCURRENCY,
  );

  // The drip, yesterday: two consecutive quarter-hours, 700 new hosts in each.
  const firstQuarter = Math.floor((Date.now() - DAY_MS) / QUARTER_MS) * QUARTER_MS;
  const drip = Array.from({ length: 2 * DRIP_PER_QUARTER }, (_, index) =>
    JSON.stringify(
      clickMessage({
        eventId: randomUUID(),
        code: dripLink,
        owner: ADMIN_OWNER,
        ts: new Date(firstQuarter + (index < DRIP_PER_QUARTER ? 0 : QUARTER_MS) + (index % 800) * 1_000).toISOString(),
        visitor: randomUUID().replaceAll('-', '').padEnd(64, '0'),
        userAgent: USER_AGENTS.chromeWindows,
        referrerHost: spamHost('d', index),
      }),
    ),
  );
  // Queued while the burst's requests are still being made: the two are independent.
  await Promise.all([burst, client.sendToQueue(CLICK_QUEUE, drip)]);

  const expected: [StatsSubject, number][] = [
    [{ link: burstLink }, BURST],
    [{ link: dripLink }, 2 * DRIP_PER_QUARTER],
    ['owner', BURST + 2 * DRIP_PER_QUARTER],
  ];
  const readHourly = (): Promise<number[]> => Promise.all(expected.map(([subject]) => client.stats(subject, rangeOf('hour')).then(arrived)));
  const truth = expected.map(([, clicks]) => clicks);
  // Every click arrived, then nothing more for 3 s: a click counted twice would show after the first.
  await eventually(async () => expect(await readHourly()).toEqual(truth), 180_000, 500);
  expect(await whenQuiet(readHourly, 3_000, 60_000)).toEqual(truth);

  // One run rolls up every marked day; it fails (and rollUpEveryDay throws) if any item cannot be written.
  await client.rollUpEveryDay();
  for (const granularity of ['hour', 'day', 'month'] as const) {
    for (const [subject, clicks] of expected) {
      const body = await client.stats(subject, rangeOf(granularity));
      expect({ subject, granularity, clicks: body.totals.clicks, botClicks: body.totals.botClicks }).toEqual({
        subject,
        granularity,
        clicks,
        botClicks: 0,
      });
      expectBreakdownsAddUp(body);
      // The spam did not fit: some hosts were folded, and the long tail says how many.
      expect(body.breakdownOthers.referrers.longTail.keys).toBeGreaterThan(0);
      expect(body.breakdowns.referrers.length + body.breakdownOthers.referrers.keys).toBeGreaterThanOrEqual(clicks);
    }
  }

  const largest = await largestItems();
  for (const bytes of Object.values(largest)) expect(bytes).toBeLessThanOrEqual(MAX_AGGREGATE_ITEM_BYTES);
  // The bound is what limits them: the items are filled close to it.
  expect(largest.QuarterHourAggregatesTable).toBeGreaterThan(MAX_AGGREGATE_ITEM_BYTES * 0.9);
  console.log(`largest aggregate items (bytes, bound ${MAX_AGGREGATE_ITEM_BYTES}): ${JSON.stringify(largest)}`);
  expect(stack.output()).not.toMatch(/Item size (?:to update )?has exceeded/);
});
