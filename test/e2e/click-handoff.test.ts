/**
 * Every click leaves the redirect before its environment freezes or is reclaimed (issue 7), proven
 * through the local Lambda runtime (separate processes, SIGSTOP freezes, reclaim after
 * LOCAL_IDLE_SECONDS) and the real emulators. The redirect reaches the queue through a proxy the
 * test can take down, and DynamoDB through one that can slow the salts table.
 */
import { USER_AGENTS } from '../fixtures/user-agents';
import { startSwitchableProxy, type SwitchableProxy } from '../fixtures/local/switchable-proxy';
import { countsOf, StackClient, tearDownLocalStack } from '../fixtures/stack-client';
import { syntheticVisits } from '../fixtures/synthetic-traffic';
import { startDynamoProxy, type DynamoProxy } from '../fixtures/local/dynamo-proxy';
import { lambdaEnvironmentProcesses, startLocalStackProcess, type LocalStackProcess } from '../fixtures/local/local-stack-process';

/**
 * Longer than the quiet-link test's 5 s, so its environment is still there (frozen) when the click
 * is counted, and than the queue outage, so no environment holding clicks is reclaimed while the queue
 * is down (on AWS, idle environments live for minutes; one reclaimed during an outage logs its
 * unsent clicks for the backfill). Kept with seconds to spare: a slower machine must not turn the
 * quiet link's frozen environment into a reclaimed one.
 */
const IDLE_SECONDS = 8;
const SALT_DELAY_MS = 2_000;
/**
 * Shorter than IDLE_SECONDS, with room to spare under load; long enough for over 15 clicks and
 * several of the publisher's backoff retries (250 ms, doubling) while the queue is down.
 */
const QUEUE_OUTAGE_MS = 5_000;
/** The template's SQS event source maximum concurrency for enrichment (context option default). */
const ENRICH_MAX_CONCURRENCY = 10;

let stack: LocalStackProcess;
let client: StackClient;
let sqsProxy: SwitchableProxy;
let dynamoProxy: DynamoProxy;

beforeAll(async () => {
  sqsProxy = await startSwitchableProxy();
  // Retargeted at DynamoDB Local once the stack has started it.
  dynamoProxy = await startDynamoProxy('http://127.0.0.1:9');
  stack = await startLocalStackProcess({
    env: {
      LOCAL_IDLE_SECONDS: String(IDLE_SECONDS),
      LOCAL_VERBOSE: '1',
      LOCAL_ENDPOINTS: JSON.stringify({
        RedirectFunction: { AWS_ENDPOINT_URL_SQS: sqsProxy.endpoint, AWS_ENDPOINT_URL_DYNAMODB: dynamoProxy.endpoint },
      }),
    },
  });
  sqsProxy.retarget(stack.description.sqsEndpoint);
  dynamoProxy.retarget(stack.description.dynamodbEndpoint);
  client = new StackClient(stack);
}, 90_000);

afterAll(async () => {
  await tearDownLocalStack(stack, client);
  await Promise.all([sqsProxy?.close(), dynamoProxy?.close()]);
});

/** The execution environments of one function of this stack, as the operating system sees them. */
const environmentsOf = (functionPrefix: string): Array<{ pid: number; state: string }> =>
  lambdaEnvironmentProcesses(stack.dataDir, functionPrefix).map(({ pid, state }) => ({ pid, state }));

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(intervalMs);
  }
}

/** Every click of the link so far (human and bot), from the hourly series. */
async function clicksOf(code: string): Promise<number> {
  const now = Date.now();
  const body = await client.stats({ link: code }, {
    from: new Date(now - 2 * 3_600_000).toISOString(),
    to: new Date(now + 3_600_000).toISOString(),
    granularity: 'hour',
  });
  const { clicks, botClicks } = countsOf(body);
  return clicks + botClicks;
}

/** One human click, timed from request to 302. */
async function humanClick(code: string, index: number): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${stack.baseUrl}/${code}`, {
    redirect: 'manual',
    headers: { 'user-agent': USER_AGENTS.chromeWindows, 'x-forwarded-for': `203.0.113.${1 + (index % 250)}` },
  });
  await response.arrayBuffer();
  if (response.status !== 302) throw new Error(`GET /${code} answered ${response.status}`);
  return performance.now() - started;
}

/** Waits until the function has no environment left: all were reclaimed. */
async function allReclaimed(functionPrefix: string): Promise<void> {
  expect(await until(() => environmentsOf(functionPrefix).length === 0, (IDLE_SECONDS + 10) * 1000)).toBe(true);
}

describe('clicks handed off by the redirect, under the local Lambda lifecycle', () => {
  it('quiet link: after a cold start, one click reaches the hourly statistics while the environment stays frozen; reclaim loses nothing', async () => {
    const code = await client.createLink('https://example.com/quiet');
    await allReclaimed('RedirectFunction');
    await humanClick(code, 1);
    const clickedAt = Date.now();
    const [environment] = environmentsOf('RedirectFunction');
    expect(environment).toBeDefined();
    // Frozen within moments of the response (once the extension has handed the click off) ...
    expect(await until(() => environmentsOf('RedirectFunction')[0]?.state === 'T', 1_000, 10)).toBe(true);
    // ... and frozen, with no traffic, for as long as it takes the click to reach the statistics.
    const seen = new Set<string>();
    const counted = await until(async () => {
      for (const process of environmentsOf('RedirectFunction')) seen.add(`${process.pid}:${process.state}`);
      return (await clicksOf(code)) === 1;
    }, 5_000 - (Date.now() - clickedAt));
    expect(counted).toBe(true);
    expect([...seen]).toEqual([`${environment.pid}:T`]);
    await allReclaimed('RedirectFunction');
    expect(await clicksOf(code)).toBe(1);
  }, 60_000);

  it('slow salts table: the 302 does not wait for it, and the click still counts', async () => {
    const code = await client.createLink('https://example.com/slow-salt');
    await allReclaimed('RedirectFunction');
    dynamoProxy.intercept(async ({ operation, body }) => {
      if (operation === 'GetItem' && String(body.TableName).includes('Salts')) await sleep(SALT_DELAY_MS);
      return undefined;
    });
    try {
      const latencies: number[] = [];
      for (let index = 0; index < 5; index += 1) {
        latencies.push(await humanClick(code, index));
        await sleep(300);
      }
      // The cold start's own init is in the first; none waited for the 2 s salt read.
      expect(Math.max(...latencies)).toBeLessThan(SALT_DELAY_MS / 2);
      expect(await until(async () => (await clicksOf(code)) === 5, 15_000, 250)).toBe(true);
    } finally {
      dynamoProxy.intercept(undefined);
    }
  }, 90_000);

  it(`queue unreachable for ${QUEUE_OUTAGE_MS / 1000} s: redirects go on, clicks wait in the publisher, and all arrive after recovery`, async () => {
    const code = await client.createLink('https://example.com/queue-down');
    sqsProxy.setUp(false);
    const sent: number[] = [];
    try {
      const downUntil = Date.now() + QUEUE_OUTAGE_MS;
      while (Date.now() < downUntil) {
        sent.push(await humanClick(code, sent.length));
        await sleep(100);
      }
    } finally {
      sqsProxy.setUp(true);
    }
    expect(sent.length).toBeGreaterThan(15);
    // Clicks held in frozen environments leave on their next invocation or, at the latest, on reclaim (SIGTERM).
    expect(await until(async () => (await clicksOf(code)) === sent.length, (IDLE_SECONDS + 30) * 1000, 500)).toBe(true);
    expect(stack.output()).not.toMatch(/ClicksDropped|click dropped|clicks not queued/);
  }, 120_000);

  it('load across environments: 2,000 clicks over concurrent environments, reclaimed between two bursts, counted exactly; enrichment stays within its maximum concurrency', async () => {
    const code = await client.createLink('https://example.com/load');
    const visits = syntheticVisits(2_000, 7);
    let enrichPeak = 0;
    let redirectPeak = 0;
    const sampler = setInterval(() => {
      enrichPeak = Math.max(enrichPeak, environmentsOf('EnrichFunction').length);
      redirectPeak = Math.max(redirectPeak, environmentsOf('RedirectFunction').length);
    }, 50);
    const coldStartsBefore = (stack.output().match(/^REPORT RedirectFunction.* init /gm) ?? []).length;
    try {
      for (const [burst, gap] of [[0, true], [1, false]] as const) {
        await client.visitAll(
          visits.slice(burst * 1_000, (burst + 1) * 1_000).map((visit) => ({ code, visit })),
          8,
        );
        // Every environment of the first burst reclaimed before the next.
        if (gap) await allReclaimed('RedirectFunction');
      }
      expect(await until(async () => (await clicksOf(code)) === 2_000, 60_000, 500)).toBe(true);
      await sleep(2_000);
      expect(await clicksOf(code)).toBe(2_000);
    } finally {
      clearInterval(sampler);
    }
    const coldStarts = (stack.output().match(/^REPORT RedirectFunction.* init /gm) ?? []).length - coldStartsBefore;
    expect(redirectPeak).toBeGreaterThan(1);
    // More cold starts than environments at once: some were reclaimed during the run and replaced.
    expect(coldStarts).toBeGreaterThan(redirectPeak);
    expect(enrichPeak).toBeGreaterThanOrEqual(1);
    expect(enrichPeak).toBeLessThanOrEqual(ENRICH_MAX_CONCURRENCY);
  }, 180_000);
});
