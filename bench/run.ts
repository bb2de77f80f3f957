/**
 * `npm run bench`: throughput of the click path, each figure beside a baseline measured in
 * the same run on the same machine, so the ratio means something on any laptop or CI box.
 *
 * 1. redirect handler in-process (real DynamoDB Local + fauxqs behind it) vs a handler that
 *    only answers 302;
 * 2. HTTP redirects/s through the local front vs a bare node:http server answering 302,
 *    load generated from a worker thread over keep-alive connections;
 * 2b. redirect latency through the local stack run as `npm start` (a child process): a known
 *    link's p50/p99 vs a 404 and vs a bare 302 server, the same with the click queue unreachable,
 *    and each function's bundle size and init duration (bench/redirect-latency.ts);
 * 3. enrichment events/s on one core vs JSON.parse alone and vs the sum of its parts (bench/enrichment.ts);
 * 4. the visitor sketch: error at 1M visitors, small-set exactness, size, adds/s (bench/uniques.ts);
 * 5. the dashboard's default reads of a link (7 days hourly, 90 days daily, 12 months monthly): p50/p99,
 *    requests and read units beside a single Query; then DynamoDB write units and write requests per
 *    click for a hot link and 1,000 Zipf links (bench/statistics.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID } from '../lambdas/contract';
import * as redirect from '../lambdas/handlers/redirect';
import { DEMO_CODE, startLocalStack } from '../local/stack';
import { runEnrichmentBench } from './enrichment';
import { adoptHandlerEnvironment } from './handler-environment';
import { runRedirectLatencyBench } from './redirect-latency';
import { bareRedirectServer, report, timeOps, type Rate } from './report';
import { runStatisticsBenchWithApiOptions } from './statistics';
import { runUniquesBench } from './uniques';

const HTTP_SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 4);
const HTTP_CONNECTIONS = Number(process.env.BENCH_HTTP_CONNECTIONS ?? 32);
/**
 * Untimed load first: the local stack starts an execution environment (a process) per concurrent
 * request it has none idle for, and HTTP_CONNECTIONS cold starts at once would fill the timed seconds.
 */
const HTTP_WARMUP_SECONDS = Number(process.env.BENCH_HTTP_WARMUP_SECONDS ?? 3);
// Below the publisher's 10,000-click buffer: a tight loop outruns any queue, and past the buffer
// the publisher drops the oldest clicks by design. The bench reports drops, and expects none.
const IN_PROCESS_OPS = Number(process.env.BENCH_REDIRECT_OPS ?? 5_000);

/** Handler log lines seen, by message; they are formatted as in Lambda but not printed. */
const loggedMessages = new Map<string, number>();

/** The SDK's warning for a request slower than its timeout: here, a sign of one overloaded process. */
const SLOW_SDK_REQUEST = '@smithy/node-http-handler - [WARN] a request has exceeded';
let slowSdkRequests = 0;
/** The local stack's one line per invocation (`REPORT <function> ...`), counted by function instead of printed. */
const reportLines = new Map<string, number>();

function chunkText(chunk: unknown): string {
  return typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';
}

/**
 * The terminal would otherwise be the bottleneck: the handlers' JSON log lines are counted by
 * message instead of printed, the local stack's REPORT lines by function, and the SDK's
 * slow-request warnings too.
 */
function captureLogLines(): void {
  const write = process.stdout.write.bind(process.stdout) as (...args: unknown[]) => boolean;
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
    const text = chunkText(chunk);
    if (text.startsWith('REPORT ')) {
      for (const line of text.split('\n').filter(Boolean)) {
        const functionName = line.split(' ')[1] ?? '?';
        reportLines.set(functionName, (reportLines.get(functionName) ?? 0) + 1);
      }
      return true;
    }
    if (!text.startsWith('{')) return write(chunk, ...rest);
    for (const line of text.split('\n').filter(Boolean)) {
      const message = /"message":"([^"]*)"/.exec(line)?.[1] ?? '(metrics)';
      loggedMessages.set(message, (loggedMessages.get(message) ?? 0) + 1);
    }
    return true;
  }) as typeof process.stdout.write;
  const writeError = process.stderr.write.bind(process.stderr) as (...args: unknown[]) => boolean;
  process.stderr.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
    if (!chunkText(chunk).startsWith(SLOW_SDK_REQUEST)) return writeError(chunk, ...rest);
    slowSdkRequests += 1;
    return true;
  }) as typeof process.stderr.write;
}

function redirectEvent(i: number): APIGatewayProxyEventV2 {
  const ip = `198.51.${(i >> 8) & 255}.${i & 255}`;
  const now = new Date();
  return {
    version: '2.0',
    routeKey: 'GET /{code}',
    rawPath: `/${DEMO_CODE}`,
    rawQueryString: '',
    headers: { 'user-agent': `Mozilla/5.0 bench/${i % 50}`, referer: 'https://news.example.org/item?id=1' },
    pathParameters: { code: DEMO_CODE },
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: 'local',
      domainName: '127.0.0.1',
      domainPrefix: '127',
      http: { method: 'GET', path: `/${DEMO_CODE}`, protocol: 'HTTP/1.1', sourceIp: ip, userAgent: 'bench' },
      requestId: `bench-${i}`,
      routeKey: 'GET /{code}',
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
}

/** Load generator in its own thread (the other core), so the server side keeps its core. */
const LOAD_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { url, seconds, connections } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
let done = 0;
const failed = {};
const fail = (why) => { failed[why] = (failed[why] || 0) + 1; };
const until = Date.now() + seconds * 1000;
function one() {
  return new Promise((resolve) => {
    const req = http.get(url, { agent }, (res) => {
      if (res.statusCode === 302) done++; else fail(String(res.statusCode));
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', (error) => { fail(error.code || 'error'); resolve(); });
  });
}
async function loop() { while (Date.now() < until) await one(); }
const started = process.hrtime.bigint();
Promise.all(Array.from({ length: connections }, loop)).then(() => {
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  parentPort.postMessage({ done, failed, elapsed });
});
`;

interface LoadResult extends Rate {
  /** Requests that got no 302, by status code (or socket error code). */
  readonly failed: Readonly<Record<string, number>>;
}

/** Describes the requests of a load test that got no 302, or says there were none. */
function failures(result: LoadResult): string {
  const entries = Object.entries(result.failed);
  if (entries.length === 0) return `${result.label}: every request got its 302`;
  const total = entries.reduce((sum, [, count]) => sum + count, 0);
  return `${result.label}: ${total} requests got no 302 (${entries.map(([why, count]) => `${why}: ${count}`).join(', ')})`;
}

function loadTest(label: string, url: string, seconds = HTTP_SECONDS): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(LOAD_WORKER, {
      eval: true,
      workerData: { url, seconds, connections: HTTP_CONNECTIONS },
    });
    worker.once('message', (result: { done: number; failed: Record<string, number>; elapsed: number }) => {
      resolve({ label, perSecond: result.done / result.elapsed, failed: result.failed });
    });
    worker.once('error', reject);
  });
}

async function main(): Promise<void> {
  captureLogLines();
  console.log(`node ${process.version}, ${process.platform}/${process.arch}\n`);
  for (const line of await runEnrichmentBench()) console.log(line);

  const dataDir = await mkdtemp(path.join(tmpdir(), 'click-bench-'));
  const apiKey = 'bench-key';
  const stack = await startLocalStack({ port: 0, dataDir, apiKey, trustProxy: true, log: () => undefined });
  try {
    // The stack runs its functions in processes of their own; the handlers called here need their variables.
    adoptHandlerEnvironment(stack);
    const answer302 = async (): Promise<{ statusCode: number }> => ({ statusCode: 302 });
    const baseline = await timeOps('baseline: handler that only answers 302', IN_PROCESS_OPS, () => answer302());
    const handler = await timeOps('redirect handler in-process (cached link, click buffered)', IN_PROCESS_OPS, (i) =>
      redirect.handler(redirectEvent(i)),
    );
    report(handler, baseline);
    const flushStart = process.hrtime.bigint();
    await redirect.flushClicks();
    const flushSeconds = Number(process.hrtime.bigint() - flushStart) / 1e9;
    const published = IN_PROCESS_OPS / (IN_PROCESS_OPS / handler.perSecond + flushSeconds);
    console.log(`clicks handed to the queue incl. final flush: ${Math.round(published).toLocaleString('en-US')}/s`);
    console.log(`clicks dropped by the publisher (buffer full): ${loggedMessages.get('click dropped: publisher buffer full') ?? 0}\n`);

    const bare = await bareRedirectServer();
    try {
      const frontUrl = `${stack.baseUrl}/${DEMO_CODE}`;
      await loadTest('warm-up: bare node:http server', bare.url, HTTP_WARMUP_SECONDS);
      const bareRate = await loadTest('baseline: bare node:http server answering 302', bare.url);
      await loadTest('warm-up: local front', frontUrl, HTTP_WARMUP_SECONDS);
      const frontRate = await loadTest('HTTP redirects through the local front', frontUrl);
      report(frontRate, bareRate);
      // Past its concurrency limit the local stack throttles, as Lambda does (the front answers 500).
      console.log(failures(bareRate));
      console.log(failures(frontRate));
      console.log(`SDK requests slower than their 3 s timeout while the local stack was saturated: ${slowSdkRequests}`);
      const invocations = [...reportLines].map(([name, count]) => `${name} ${count.toLocaleString('en-US')}`).join(', ');
      console.log(`invocations in the local stack's execution environments: ${invocations || 'none'}\n`);
    } finally {
      await new Promise<void>((resolve) => bare.server.close(() => resolve()));
    }
  } finally {
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  // Each starts its own local stack or none: after the stack above has stopped.
  for (const line of await runRedirectLatencyBench()) console.log(line);
  for (const line of await runUniquesBench()) console.log(line);
  console.log('');
  for (const line of await runStatisticsBenchWithApiOptions()) console.log(line);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
