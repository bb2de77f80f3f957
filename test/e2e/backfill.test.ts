/**
 * The backfill tool (`npm run backfill`, bin/backfill-clicks.ts) as an operator runs it, against the
 * local stack: redirects over real HTTP, the click log lines the stack printed, the tool as a child
 * process sending to the stack's click queue, the statistics through the API.
 * - Replaying clicks that were already counted changes nothing.
 * - Clicks that never reached the queue, in every log line shape, count exactly once each, in the
 *   hour of their own time, and after the rollup the daily figures agree with the hourly ones.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ADMIN_OWNER } from '../../lambdas/contract';
import type { ClickMessage } from '../../lambdas/domain/click';
import { parseClickLogLine } from '../../lambdas/domain/click-log';
import type { StatsResponse } from '../../lambdas/domain/stats';
import { clickMessage, numberedVisitor } from '../fixtures/clicks';
import { runTool, type ToolRun } from '../fixtures/cli';
import { LOCAL_AWS_ENV } from '../fixtures/local/emulators';
import {
  CLICK_DEAD_LETTER_QUEUE,
  CLICK_QUEUE,
  countsOf,
  DAY_MS,
  HOUR_MS,
  isoDay,
  resourceNamed,
  StackClient,
  tearDownLocalStack,
  whenQuiet,
  type StatsSubject,
} from '../fixtures/stack-client';
import { syntheticVisits, tally, visitorOf } from '../fixtures/synthetic-traffic';
import { USER_AGENTS } from '../fixtures/user-agents';
import { eventually, startLocalStackProcess, type LocalStackProcess } from '../fixtures/local/local-stack-process';

const REDIRECTS = 200;
const NEW_CLICKS = 50;

let stack: LocalStackProcess;
let client: StackClient;
let workDir: string;
let code: string;

interface BackfillRun extends ToolRun {
  /** The summary's counts by label ('sent', 'clicks found', …). */
  readonly summary: Readonly<Record<string, number>>;
}

/** `npm run backfill -- ARGS` as a child process, with the local stack's SQS endpoint and local credentials. */
async function backfill(args: readonly string[], stdin = ''): Promise<BackfillRun> {
  const run = await runTool('bin/backfill-clicks.ts', args, { ...LOCAL_AWS_ENV, AWS_ENDPOINT_URL_SQS: stack.description.sqsEndpoint }, stdin);
  const summary: Record<string, number> = {};
  for (const match of run.stdout.matchAll(/^ {2}(\S.*?) {2,}(\d+)/gm)) summary[match[1].trim()] = Number(match[2]);
  return { ...run, summary };
}

const queueUrl = (): string => resourceNamed(stack.description.queues, CLICK_QUEUE);

/** Whole UTC days from the one 6 hours ago to the end of today: every click of this test, in hours and in days alike. */
function statsRange(granularity: 'hour' | 'day', nowMs: number): Record<string, string> {
  return { granularity, from: `${isoDay(nowMs - 6 * HOUR_MS)}T00:00:00Z`, to: `${isoDay(nowMs + DAY_MS)}T00:00:00Z` };
}

/** Waits until the pipeline is idle: the queue empty, nothing dead-lettered, and the statistics unchanged for 3 s. */
async function settled(subjects: readonly StatsSubject[], params: Record<string, string>): Promise<StatsResponse[]> {
  await eventually(async () => expect(await client.queueDepth(CLICK_QUEUE)).toBe(0), 30_000, 200);
  expect(await client.queueDepth(CLICK_DEAD_LETTER_QUEUE)).toBe(0);
  return whenQuiet(() => Promise.all(subjects.map((subject) => client.stats(subject, params))), 3_000, 30_000, 300);
}

beforeAll(async () => {
  stack = await startLocalStackProcess({ env: { LOCAL_VERBOSE: '1' } });
  client = new StackClient(stack);
  workDir = await mkdtemp(path.join(tmpdir(), 'click-analytics-backfill-'));
  code = await client.createLink('https://example.com/backfill');
}, 90_000);

afterAll(async () => {
  await tearDownLocalStack(stack, client);
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('npm run backfill', () => {
  it('answers bad arguments with exit status 2, the reason and the usage', async () => {
    const run = await backfill(['--queue-url', queueUrl(), '--since', 'yesterday']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('--since must be an ISO 8601 date');
    expect(run.stderr).toContain('Usage: npm run backfill -- --queue-url URL');
    expect(run.stdout).toBe('');
  }, 30_000);

  it(`replays the click log of ${REDIRECTS} redirects: clicks already counted stay counted once`, async () => {
    const visits = syntheticVisits(REDIRECTS, 23);
    await client.visitAll(visits.map((visit) => ({ code, visit })), 16);
    const truth = tally(visits.map((visit) => ({ human: visit.human, visitor: visitorOf(visit) })));
    const params = statsRange('hour', Date.now());
    // Every click counted for the link and for its owner (each of a subject's figures sits in the same items as its
    // counts). No quiet period here: a late change would still break "after equals before", which waits for one.
    const subjects: StatsSubject[] = [{ link: code }, 'owner'];
    const before = await eventually(async () => {
      const bodies = await Promise.all(subjects.map((subject) => client.stats(subject, params)));
      expect(bodies.map(countsOf)).toEqual([truth, truth]);
      return bodies;
    }, 60_000, 250);

    // The stack's whole output, as a log export would hold it: click lines among everything else.
    const output = stack.output();
    const logged = output
      .split('\n')
      .map(parseClickLogLine)
      .flatMap((line) => (line.kind === 'click' && line.click.code === code ? [line.click.eventId] : []));
    expect(new Set(logged).size).toBe(REDIRECTS);
    const file = path.join(workDir, 'redirect.log');
    await writeFile(file, output);

    const run = await backfill(['--queue-url', queueUrl(), file]);
    expect(run.stderr).not.toMatch(/^(warning|error|backfill):/m);
    expect(run.exitCode).toBe(0);
    expect(run.summary).toMatchObject({
      'clicks found': REDIRECTS,
      'invalid lines': 0,
      'outside --since/--until': 0,
      repeats: 0,
      sent: REDIRECTS,
      failed: 0,
    });

    const after = await settled(subjects, params);
    expect(after).toEqual(before);
  }, 60_000);

  it(`backfills ${NEW_CLICKS} clicks the queue never got, from every log line shape, into their own hours; the rollup agrees`, async () => {
    const nowMs = Date.now();
    const hourParams = statsRange('hour', nowMs);
    const subjects: StatsSubject[] = [{ link: code }, 'owner'];
    // The replay test ended on a settled pipeline, and nothing has run since.
    const [linkBefore, ownerBefore] = await Promise.all(subjects.map((subject) => client.stats(subject, hourParams)));

    // 35 people and 15 bots (HEAD with an emoji in the User-Agent, which only an escaped body gets
    // through the queue; Googlebot; prefetches), now and up to five hours ago.
    const clicks = Array.from({ length: NEW_CLICKS }, (_, index): { click: ClickMessage; human: boolean } => {
      const kind = index % 10;
      const hoursAgo = [0, 1, 2, 3, 5][index % 5];
      const click = clickMessage({
        eventId: randomUUID(),
        code,
        owner: ADMIN_OWNER,
        ts: new Date(nowMs - hoursAgo * HOUR_MS - index * 1_000).toISOString(),
        visitor: numberedVisitor(1_000_000 + index),
        userAgent: kind === 9 ? 'Mozilla/5.0 (X11; Linux x86_64) \u{1F680} Rocket/1.0' : kind === 4 ? USER_AGENTS.googlebot : index % 2 === 0 ? USER_AGENTS.chromeWindows : USER_AGENTS.firefoxLinux,
        method: kind === 9 ? 'HEAD' : 'GET',
        purpose: kind === 7 ? 'prefetch' : null,
        referrerHost: index % 3 === 0 ? null : 'news.ycombinator.com',
      });
      return { click, human: kind !== 9 && kind !== 4 && kind !== 7 };
    });
    expect(clicks.filter(({ human }) => human)).toHaveLength(35);

    const powertools = (click: ClickMessage, message = 'click'): string =>
      JSON.stringify({ level: message === 'click' ? 'INFO' : 'ERROR', message, timestamp: new Date(nowMs).toISOString(), service: 'redirect', sampling_rate: 0, click });
    const shapes = [
      (click: ClickMessage) => powertools(click),
      (click: ClickMessage) => `${click.ts} ${powertools(click)}`,
      (click: ClickMessage) => `${click.ts}\t${randomUUID()}\tINFO\t${powertools(click)}`,
      (click: ClickMessage) => JSON.stringify({ logStreamName: '2026/11/26/[$LATEST]abc', timestamp: Date.parse(click.ts), message: `${powertools(click)}\n` }),
      (click: ClickMessage) => powertools(click, 'click not queued'),
    ];
    const expired = clickMessage({ eventId: randomUUID(), code, owner: ADMIN_OWNER, ts: new Date(nowMs - 91 * DAY_MS).toISOString() });
    const future = clickMessage({ eventId: randomUUID(), code, owner: ADMIN_OWNER, ts: new Date(nowMs + 2 * HOUR_MS).toISOString() });
    const lines = [
      'START RequestId: 5f0c8a6e-0d4b-4b1e-9f3c-2f3b1c9d7e21 Version: $LATEST',
      ...clicks.map(({ click }, index) => shapes[index % shapes.length](click)),
      // The publisher's failure line for clicks already logged once: repeats.
      ...clicks.slice(0, 5).map(({ click }) => powertools(click, 'click not queued')),
      powertools({ ...clicks[0].click, eventId: randomUUID(), ipPrefix: '203.0.113.77' }),
      powertools(expired),
      powertools(future),
      JSON.stringify({ level: 'INFO', message: 'link cache miss', service: 'redirect' }),
    ];
    const log = `${lines.join('\n')}\n`;
    const args = ['--queue-url', queueUrl(), '--until', new Date(nowMs + HOUR_MS).toISOString()];
    const counts = {
      'lines read': lines.length,
      'clicks found': NEW_CLICKS + 5 + 2,
      'other lines': 2,
      'invalid lines': 1,
      'outside --since/--until': 1,
      'older than 90 days': 1,
      repeats: 5,
    };

    // The dry run sends nothing, so the two runs go side by side.
    const [dryRun, run] = await Promise.all([backfill([...args, '--dry-run'], log), backfill(args, log)]);
    expect(dryRun.exitCode).toBe(0);
    expect(dryRun.summary).toEqual({ ...counts, 'would send': NEW_CLICKS });
    expect(dryRun.stdout).toContain('stdin:57: click ipPrefix must be null or an IPv4 /24 or IPv6 /48 network address');

    expect(run.exitCode).toBe(0);
    expect(run.summary).toEqual({ ...counts, sent: NEW_CLICKS, failed: 0 });
    expect(run.stderr).toContain(`click ${expired.eventId} at ${expired.ts} is older than 90 days: skipped`);

    const humans = clicks.filter(({ human }) => human).length;
    const grown = (before: StatsResponse) => ({
      clicks: before.totals.clicks + humans,
      botClicks: before.totals.botClicks + NEW_CLICKS - humans,
      // Visitor sets are exact up to 2,048 visitors: each new human visitor adds one.
      uniques: (before.totals.uniques ?? 0) + humans,
    });
    await eventually(async () => expect(countsOf(await client.stats({ link: code }, hourParams))).toEqual(grown(linkBefore)), 30_000, 250);
    const [linkAfter, ownerAfter] = await settled(subjects, hourParams);
    expect(countsOf(linkAfter)).toEqual(grown(linkBefore));
    expect(countsOf(ownerAfter)).toEqual(grown(ownerBefore));

    // Each click in the hour of its own time, nothing anywhere else.
    const expectedGrowth = new Map<number, { clicks: number; botClicks: number }>();
    for (const { click, human } of clicks) {
      const hour = Math.floor(Date.parse(click.ts) / HOUR_MS) * HOUR_MS;
      const growth = expectedGrowth.get(hour) ?? { clicks: 0, botClicks: 0 };
      if (human) growth.clicks += 1;
      else growth.botClicks += 1;
      expectedGrowth.set(hour, growth);
    }
    expect(expectedGrowth.size).toBeGreaterThanOrEqual(5);
    for (const [before, after] of [[linkBefore, linkAfter], [ownerBefore, ownerAfter]]) {
      expect(after.series.map((entry) => entry.t)).toEqual(before.series.map((entry) => entry.t));
      const growth = after.series.map((entry, index) => ({
        t: entry.t,
        clicks: entry.clicks - before.series[index].clicks,
        botClicks: entry.botClicks - before.series[index].botClicks,
      }));
      expect(growth).toEqual(after.series.map((entry) => ({ t: entry.t, ...(expectedGrowth.get(Date.parse(entry.t)) ?? { clicks: 0, botClicks: 0 }) })));
    }

    // The rollup folds the late clicks into the daily level: days agree with hours, bucket by bucket.
    const dayParams = statsRange('day', nowMs);
    await eventually(
      async () => {
        await client.rollUpEveryDay();
        for (const [subject, hourly] of [[subjects[0], linkAfter], [subjects[1], ownerAfter]] as const) {
          const daily = await client.stats(subject, dayParams);
          expect(daily.source).toBe('daily');
          expect(countsOf(daily)).toEqual(countsOf(hourly));
          const hoursByDay = new Map<string, { clicks: number; botClicks: number }>();
          for (const entry of hourly.series) {
            const day = isoDay(Date.parse(entry.t));
            const sum = hoursByDay.get(day) ?? { clicks: 0, botClicks: 0 };
            hoursByDay.set(day, { clicks: sum.clicks + entry.clicks, botClicks: sum.botClicks + entry.botClicks });
          }
          expect(daily.series.map((entry) => ({ day: isoDay(Date.parse(entry.t)), clicks: entry.clicks, botClicks: entry.botClicks }))).toEqual(
            [...hoursByDay].map(([day, sum]) => ({ day, ...sum })),
          );
        }
      },
      20_000,
      500,
    );
  }, 90_000);
});
