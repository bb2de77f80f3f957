/**
 * Redirect latency through the local stack run as `npm start` runs it: a child process, every
 * function in execution environments of its own (freeze after the response, extensions, reclaim).
 * Each figure is a ratio to a baseline measured in the same run:
 *
 * 1. a known link's 302, p50 and p99 over sequential keep-alive requests (one socket), against a
 *    404 for an unknown code (same route, same function, no click) and against a bare node:http
 *    server answering 302; the three series interleaved in blocks, so drift hits them alike. Paced
 *    (a gap after each answer, as between visitors: the goal's measure, whether a response waits for
 *    click work) and back to back (each request meets the last one's click work on the same two
 *    cores: how the machine copes with saturation, reported without a goal);
 * 2. paced again with the click queue unreachable: the redirect function reaches SQS through a proxy
 *    (LOCAL_ENDPOINTS) that is taken down; then brought up, and the clicks that arrive in the
 *    statistics counted against those sent (held clicks leave on the next invocation, or when the
 *    environment is reclaimed after LOCAL_IDLE_SECONDS);
 * 3. each function's bundle size and its init durations, from the stack's REPORT lines.
 *
 * `runRedirectLatencyBench()` resolves with the lines to print; `node --import tsx bench/redirect-latency.ts` runs it alone.
 */
import { statSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { FUNCTION_METADATA } from '../lambdas/contract';
import { DEMO_CODE } from '../local/stack';
import { resourcesOfType } from '../local/template';
import { removeDataDir, startLocalStackProcess, type LocalStackProcess } from '../test/fixtures/local/local-stack-process';
import { startSwitchableProxy } from '../test/fixtures/local/switchable-proxy';
import { USER_AGENTS } from '../test/fixtures/user-agents';
import { readSynthesizedTemplate } from './handler-environment';
import { bareRedirectServer, percentile, table } from './report';

const API_KEY = 'bench-latency-key';
const UNKNOWN_CODE = 'nosuchcode1';
/** Sequential requests per block; the series are interleaved block by block. */
const BLOCK = Number(process.env.BENCH_LATENCY_BLOCK ?? 50);
const BLOCKS = Number(process.env.BENCH_LATENCY_BLOCKS ?? 8);
const WARMUP = 50;
/**
 * The paced series' gap after each answer: long enough for the last click to leave (its send takes
 * 2 to 3 ms here), so a request never shares the two cores with the click work of the one before.
 */
const GAP_MS = Number(process.env.BENCH_LATENCY_GAP_MS ?? 10);
/** Short, so that environments holding clicks are reclaimed (and flush them) soon after the traffic stops. */
const IDLE_SECONDS = 3;
const GOAL_KNOWN_VS_404 = 1.2;
const GOAL_DOWN_VS_HEALTHY = 1.1;
/** Extra rounds, each after every environment was reclaimed, for more than one init per function. */
const COLD_ROUNDS = 2;
/** The click count has settled when it has not moved for this long (or equals the clicks sent). */
const SETTLE_QUIET_MS = 5_000;
const SETTLE_TIMEOUT_MS = 30_000;
const DAY_MS = 86_400_000;
/** BENCH_LATENCY_LOG=<file>: the stack's output (REPORT lines and the functions' logs) is written there at the end. */
const STACK_LOG_FILE = process.env.BENCH_LATENCY_LOG;

const BROWSERS = [
  USER_AGENTS.chromeWindows,
  USER_AGENTS.safariIphone,
  USER_AGENTS.firefoxLinux,
  USER_AGENTS.edgeWindows,
  USER_AGENTS.samsungTablet,
];
/** First octets of public unicast ranges, so every client address is a plausible visitor. */
const FIRST_OCTETS = [23, 31, 45, 62, 81, 89, 104, 151, 176, 185, 203, 212];

/** A browser visit from the i-th of many addresses (the front trusts X-Forwarded-For: TRUST_PROXY=1). */
function visitHeaders(i: number): Record<string, string> {
  const address = `${FIRST_OCTETS[i % FIRST_OCTETS.length]}.${(i * 37) % 256}.${(i * 11) % 256}.${1 + (i % 254)}`;
  return {
    'user-agent': BROWSERS[i % BROWSERS.length],
    'x-forwarded-for': address,
    accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'accept-language': 'en-US,en;q=0.9',
  };
}

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** One request over the agent's single keep-alive socket; resolves once the whole response is read. */
function send(agent: Agent, url: string, headers: Record<string, string>, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { agent, method, headers }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () =>
        resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
      incoming.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

/** A series of sequential requests to one URL, each expected to get `status`. */
class Series {
  readonly samples: number[] = [];
  #requests = 0;

  constructor(
    readonly label: string,
    private readonly agent: Agent,
    private readonly url: string,
    private readonly status: number,
    /** Called for each answered request (the known link's counts the clicks sent). */
    private readonly onAnswer: () => void = () => undefined,
  ) {}

  /** `count` requests, `gapMs` apart; timed ones are kept as samples. */
  async run(count: number, timed: boolean, gapMs = 0): Promise<void> {
    for (let i = 0; i < count; i++) {
      const headers = visitHeaders(this.#requests++);
      const started = performance.now();
      const reply = await send(this.agent, this.url, headers);
      const ms = performance.now() - started;
      if (reply.status !== this.status) {
        throw new Error(`${this.label}: GET ${this.url} answered ${reply.status}, expected ${this.status}: ${reply.body.slice(0, 200)}`);
      }
      this.onAnswer();
      if (timed) this.samples.push(ms);
      if (gapMs > 0) await sleep(gapMs);
    }
  }

  percentile(p: number): number {
    return percentile([...this.samples].sort((first, second) => first - second), p);
  }
}

/** Warm-up for each, then BLOCKS rounds of BLOCK requests per series, in turn. */
async function interleaved(series: readonly Series[], gapMs: number): Promise<void> {
  for (const each of series) await each.run(WARMUP, false, gapMs);
  for (let block = 0; block < BLOCKS; block++) {
    for (const each of series) await each.run(BLOCK, true, gapMs);
  }
}

// ---------------------------------------------------------------------------------------------
// The stack's side: statistics, schedules, REPORT lines

const authorization = { authorization: `Bearer ${API_KEY}` };

/** clicks + botClicks of the demo link, today and yesterday (UTC), from the hourly series. */
async function demoClicks(stack: LocalStackProcess): Promise<number> {
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const query = new URLSearchParams({
    from: new Date(today - DAY_MS).toISOString().slice(0, 10),
    to: new Date(today + DAY_MS).toISOString().slice(0, 10),
    granularity: 'hour',
  });
  const response = await fetch(`${stack.baseUrl}/api/links/${DEMO_CODE}/stats?${query.toString()}`, { headers: authorization });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`stats answered ${response.status}: ${text.slice(0, 300)}`);
  const { totals } = JSON.parse(text) as { totals: { clicks: number; botClicks: number } };
  return totals.clicks + totals.botClicks;
}

async function runRollup(stack: LocalStackProcess): Promise<void> {
  const response = await fetch(`${stack.baseUrl}/_local/schedules/RollupSchedule/run?runs=1`, { method: 'POST', headers: authorization });
  const text = await response.text();
  const runs = response.status === 200 ? (JSON.parse(text) as { runs: { ok: boolean }[] }).runs : [];
  if (runs.length === 0 || runs.some((run) => !run.ok)) throw new Error(`the rollup run failed: ${response.status} ${text.slice(0, 300)}`);
}

/** Polls until the count equals `sent`, or has not moved for SETTLE_QUIET_MS, or the time is up. */
async function settledClicks(stack: LocalStackProcess, sent: number): Promise<{ arrived: number; seconds: number }> {
  const started = Date.now();
  let arrived = await demoClicks(stack);
  let changedAt = Date.now();
  while (arrived !== sent && Date.now() - changedAt < SETTLE_QUIET_MS && Date.now() - started < SETTLE_TIMEOUT_MS) {
    await sleep(500);
    const now = await demoClicks(stack);
    if (now !== arrived) changedAt = Date.now();
    arrived = now;
  }
  return { arrived, seconds: (Date.now() - started) / 1000 };
}

/** One invocation, from the local stack's REPORT line (local/lambda/function-pool.ts). */
export interface Report {
  readonly functionName: string;
  /** Until the response was posted. */
  readonly durationMs: number;
  /** Work after the response, until the environment asked for its next event: Lambda bills it too. */
  readonly afterResponseMs: number;
  readonly initMs: number | undefined;
  /** The function's configured memory. */
  readonly memoryMb: number;
}

const REPORT_LINE =
  /^REPORT (\S+) \S+ · duration ([\d.]+) ms(?: · after response ([\d.]+) ms)?(?: · init ([\d.]+) ms)? · max memory \S+\/(\d+) MB/gm;

export function reports(output: string): Report[] {
  return [...output.matchAll(REPORT_LINE)].map((match) => ({
    functionName: match[1],
    durationMs: Number(match[2]),
    afterResponseMs: match[3] === undefined ? 0 : Number(match[3]),
    initMs: match[4] === undefined ? undefined : Number(match[4]),
    memoryMb: Number(match[5]),
  }));
}

/** Clicks an environment logged as unsent when it was shut down (its click log lines are the backfill source). */
function unsentAtShutdown(output: string): number {
  return [...output.matchAll(/"message":"clicks not queued at shutdown[^\n]*?"unsent":(\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0);
}

const coldStartsOf = (output: string, prefix: string): number =>
  reports(output).filter((report) => report.functionName.startsWith(prefix) && report.initMs !== undefined).length;

/**
 * Each of our functions' index.mjs, found through its asset path in the synthesized template. Functions
 * CDK adds itself (the dashboard's BucketDeployment handler) carry no entry metadata and are left out.
 */
function bundleSizes(dataDir: string): Map<string, number> {
  const assemblyDir = path.join(dataDir, 'cdk.out');
  const sizes = new Map<string, number>();
  for (const { logicalId, resource } of resourcesOfType(readSynthesizedTemplate(dataDir), 'AWS::Lambda::Function')) {
    if (resource.Metadata?.[FUNCTION_METADATA.entry] === undefined) continue;
    const assetPath = resource.Metadata?.['aws:asset:path'];
    if (typeof assetPath !== 'string') throw new Error(`${logicalId} has no aws:asset:path metadata`);
    sizes.set(logicalId, statSync(path.join(assemblyDir, assetPath, 'index.mjs')).size);
  }
  return sizes;
}

// ---------------------------------------------------------------------------------------------
// Formatting

const fixed = (value: number, digits: number): string => value.toFixed(digits);
const ms = (value: number): string => fixed(value, 2);

function ratioRow(label: string, subject: Series, baseline: Series, goal?: number): string[] {
  const ratio = (p: number): string => {
    const value = subject.percentile(p) / baseline.percentile(p);
    return `${fixed(value, 2)}${goal === undefined ? '' : value <= goal ? ' (met)' : ' (NOT met)'}`;
  };
  return [label, ratio(0.5), ratio(0.99)];
}

const latencyRow = (series: Series): string[] => [series.label, ms(series.percentile(0.5)), ms(series.percentile(0.99))];

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

// ---------------------------------------------------------------------------------------------

/** Starts a local stack process of its own, measures, stops it; resolves with the report's lines. */
export async function runRedirectLatencyBench(): Promise<string[]> {
  const started = Date.now();
  const proxy = await startSwitchableProxy();
  const bare = await bareRedirectServer();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'click-bench-latency-'));
  const frontAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  const bareAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  let stack: LocalStackProcess | undefined;
  try {
    stack = await startLocalStackProcess({
      dataDir,
      env: {
        CLICKS_API_KEY: API_KEY,
        TRUST_PROXY: '1',
        LOCAL_IDLE_SECONDS: String(IDLE_SECONDS),
        LOCAL_ENDPOINTS: JSON.stringify({ RedirectFunction: { AWS_ENDPOINT_URL_SQS: proxy.endpoint } }),
        // The functions' log lines too: the clicks a reclaimed environment could not send are counted from them.
        LOCAL_VERBOSE: '1',
      },
    });
    // Transparent from here on, until taken down.
    proxy.retarget(stack.description.sqsEndpoint);
    const startSeconds = (Date.now() - started) / 1000;
    const front = stack;
    let sent = 0;
    const countClick = (): void => {
      sent += 1;
    };
    const seriesOf = (suffix: string): [Series, Series, Series] => [
      new Series(`known link, 302 via the local front${suffix}`, frontAgent, `${front.baseUrl}/${DEMO_CODE}`, 302, countClick),
      new Series(`unknown code, 404 via the local front${suffix}`, frontAgent, `${front.baseUrl}/${UNKNOWN_CODE}`, 404),
      new Series(`bare node:http server, 302${suffix}`, bareAgent, bare.url, 302),
    ];

    // 1. Healthy queue: paced (the goal), then back to back.
    const healthy = seriesOf(', paced');
    let mark = front.output().length;
    await interleaved(healthy, GAP_MS);
    const backToBack = seriesOf(', back to back');
    await interleaved(backToBack, 0);
    const healthyColdStarts = coldStartsOf(front.output().slice(mark), 'RedirectFunction');

    // 2. Queue unreachable, paced: warm up while down, so every publisher in use has found it failing.
    proxy.setUp(false);
    const down = seriesOf(', paced, queue down');
    mark = front.output().length;
    try {
      await interleaved(down, GAP_MS);
    } finally {
      proxy.setUp(true);
    }
    const downColdStarts = coldStartsOf(front.output().slice(mark), 'RedirectFunction');
    const sentBeforeSettle = sent;
    const settle = await settledClicks(front, sent);
    const unsentAfterOutage = unsentAtShutdown(front.output());

    // 3. More cold starts: wait out the idle time, then run every function again.
    for (let round = 0; round < COLD_ROUNDS; round++) {
      await sleep((IDLE_SECONDS + 1) * 1000);
      await new Series('cold round', frontAgent, `${front.baseUrl}/${DEMO_CODE}`, 302, countClick).run(1, false);
      await runRollup(front);
      // The stats call cold-starts the API; the click, enrichment and aggregation.
      await settledClicks(front, sent - unsentAtShutdown(front.output()));
    }
    const finalClicks = await demoClicks(front);

    const allReports = reports(front.output());
    const sizes = bundleSizes(dataDir);
    const coldRows: string[][] = [['function', 'bundle KB', 'init ms min', 'init ms median', 'inits seen', 'invocations']];
    for (const [functionName, bytes] of sizes) {
      const mine = allReports.filter((report) => report.functionName === functionName);
      const inits = mine.flatMap((report) => (report.initMs === undefined ? [] : [report.initMs]));
      coldRows.push([
        functionName,
        fixed(bytes / 1024, 1),
        inits.length > 0 ? fixed(Math.min(...inits), 1) : '-',
        inits.length > 0 ? fixed(median(inits), 1) : '-',
        String(inits.length),
        String(mine.length),
      ]);
    }

    const samples = BLOCK * BLOCKS;
    const [known, unknown, bareSeries] = healthy;
    const [knownBackToBack, unknownBackToBack, bareBackToBack] = backToBack;
    const [knownDown, unknownDown, bareDown] = down;
    return [
      `redirect latency: local stack as a child process (npm start), functions in their own execution environments; ` +
        `ready in ${fixed(startSeconds, 1)} s`,
      `  ${samples} timed sequential GETs per series over one keep-alive socket each (after ${WARMUP} untimed), ` +
        `interleaved in blocks of ${BLOCK}; browser User-Agents, varied X-Forwarded-For; ` +
        `paced: ${GAP_MS} ms after each answer, so the last click has left; back to back: none`,
      ...table([
        ['queue healthy', 'p50 ms', 'p99 ms'],
        ...[known, unknown, bareSeries, knownBackToBack, unknownBackToBack, bareBackToBack].map(latencyRow),
      ]),
      ...table([
        ['ratio', 'p50', 'p99'],
        ratioRow(`known / unknown, paced (goal ≤ ${GOAL_KNOWN_VS_404})`, known, unknown, GOAL_KNOWN_VS_404),
        ratioRow('known / bare server, paced', known, bareSeries),
        ratioRow('unknown / bare server, paced', unknown, bareSeries),
        ratioRow('known / unknown, back to back (saturation, no goal)', knownBackToBack, unknownBackToBack),
      ]),
      `  redirect cold starts during the series: ${healthyColdStarts}`,
      '',
      `  click queue unreachable (its proxy resets every connection; ${WARMUP} untimed GETs each first, while down), paced`,
      ...table([['queue down', 'p50 ms', 'p99 ms'], latencyRow(knownDown), latencyRow(unknownDown), latencyRow(bareDown)]),
      ...table([
        ['ratio', 'p50', 'p99'],
        ratioRow(`known, down / healthy (goal ≤ ${GOAL_DOWN_VS_HEALTHY})`, knownDown, known, GOAL_DOWN_VS_HEALTHY),
        ratioRow('known / unknown, both while down', knownDown, unknownDown),
        ratioRow('unknown, down / healthy (drift check)', unknownDown, unknown),
        ratioRow('bare server, down / healthy (drift check)', bareDown, bareSeries),
      ]),
      `  redirect cold starts during the series: ${downColdStarts}`,
      `  clicks after the queue came back: ${settle.arrived} of ${sentBeforeSettle} sent arrived in the statistics ` +
        `(settled in ${fixed(settle.seconds, 1)} s; LOCAL_IDLE_SECONDS=${IDLE_SECONDS} reclaims the environments holding clicks)`,
      `  logged as not queued by environments reclaimed while the queue was still down (backfill source): ${unsentAfterOutage}; ` +
        `at the end: ${finalClicks} of ${sent} sent arrived (after ${COLD_ROUNDS} more rounds, one click each)`,
      '',
      `  cold starts: bundle = index.mjs in cdk.out; init from the stack's REPORT lines (LOCAL_IDLE_SECONDS=${IDLE_SECONDS}, ` +
        `${COLD_ROUNDS} extra rounds after every environment was reclaimed)`,
      ...table(coldRows),
      `redirect latency bench took ${fixed((Date.now() - started) / 1000, 0)} s`,
      '',
    ];
  } catch (error) {
    if (stack !== undefined) console.error(`local stack output (last 3,000 characters):\n${stack.output().slice(-3000)}`);
    throw error;
  } finally {
    frontAgent.destroy();
    bareAgent.destroy();
    await stack?.kill();
    if (STACK_LOG_FILE !== undefined && stack !== undefined) await writeFile(STACK_LOG_FILE, stack.output());
    await proxy.close();
    await new Promise<void>((resolve) => bare.server.close(() => resolve()));
    await removeDataDir(dataDir);
  }
}

if (require.main === module) {
  runRedirectLatencyBench().then(
    (lines) => console.log(lines.join('\n')),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
