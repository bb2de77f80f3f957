/**
 * `npm run cost`: the cost of a click in origin mode (issue 11, points 4 and 6), USD per million
 * clicks by component, beside the floor of fees no click avoids.
 *
 * One local stack with the real handlers (the statistics bench's metered stack, bench/statistics.ts):
 * 1. redirects through the local front to the demo link: each function's REPORT lines give invocations
 *    and billed durations (redirect per click, enrich per batch of the queue's event source), a proxy in
 *    front of the click queue counts the redirect's SendMessageBatch requests and their payload bytes,
 *    and the redirect's own log lines (LOCAL_VERBOSE) are weighed: the CloudWatch Logs it ingests;
 * 2. a few statistics API calls through the front, for the API function's billed duration;
 * 3. the statistics bench's hot-link and Zipf workloads: DynamoDB write and read units per click
 *    (steady: the rollup amortised), the aggregator's and the rollup's REPORT lines.
 * What the stack cannot show (CloudFront, API Gateway, the event source's receives, Lambda's own log
 * lines, storage time, how often the dashboard is read) is modelled below, and printed as such.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';
import { ownerTarget } from '../../lambdas/domain/aggregate-state';
import { RAW_RETENTION_DAYS } from '../../lambdas/domain/buckets';
import { ADMIN_OWNER, LOCAL_CREDENTIALS, LOCAL_REGION } from '../../lambdas/contract';
import { DEMO_CODE } from '../../local/stack';
import { settleWithLimit } from '../../lambdas/shared/concurrency';
import { startDynamoProxy } from '../../test/fixtures/local/dynamo-proxy';
import { USER_AGENTS } from '../../test/fixtures/user-agents';
import { reports, type Report } from '../redirect-latency';
import { table } from '../report';
import {
  CLICKS_PER_SECOND,
  hotLinkWorkload,
  itemSizeBytes,
  measureWrites,
  ROLLUP_PERIOD_SECONDS,
  type StackContext,
  steadyPerClick,
  type SteadyPerClick,
  withMeteredStack,
  zipfWorkload,
} from '../statistics';
import { type ComponentCost, type CountsPerClick, estimateCost, type LambdaUsePerClick, GOAL_RATIO_TO_FLOOR } from './model';
import { MISSING_PRICES } from './prices';

const REDIRECT_CLICKS = Number(process.env.COST_REDIRECT_CLICKS ?? 2_000);
/** Redirects in flight at once: a few visitors at a time, as the redirect's environments meet them. */
const REDIRECT_CONCURRENCY = 4;
const WORKLOAD_CLICKS = Number(process.env.COST_WORKLOAD_CLICKS ?? 10_000);
const API_CALLS = 20;
const ARRIVAL_TIMEOUT_MS = 120_000;
const QUIET_MS = 1_000;
const REPORT_TIMEOUT_MS = 10_000;

// Modelled: what the local stack cannot show.
/** Statistics API calls per million clicks (a dashboard view makes about three): an assumption. */
const API_CALLS_PER_MILLION_CLICKS = 1_000;
/** SQS bills each 64 KB chunk of a request's payload as a request. */
const SQS_CHUNK_BYTES = 64 * 1024;
/** The event source's requests per batch it delivers: the ReceiveMessage that returned it and one DeleteMessageBatch. */
const EVENT_SOURCE_REQUESTS_PER_BATCH = 2;
/** Lambda's own START, END and REPORT lines per invocation (text log format), about this many bytes. */
const PLATFORM_LOG_BYTES_PER_INVOCATION = 260;
/** DynamoDB adds this much to each item's stored size. */
const ITEM_OVERHEAD_BYTES = 100;
const DAYS_PER_MONTH = 365.25 / 12;
const GIGABYTE = 1024 ** 3;
const MILLION = 1_000_000;
const DAY_MS = 86_400_000;

const FUNCTION_NAMES = {
  redirect: 'RedirectFunction',
  enrich: 'EnrichFunction',
  aggregate: 'AggregateFunction',
  rollup: 'RollupFunction',
  api: 'ApiFunction',
} as const;

/** The stack's output lines this process keeps: the REPORT lines, and the redirect's own log lines' sizes. */
class StackOutput {
  readonly reportLines: string[] = [];
  readonly redirectLogBytes: number[] = [];
  /** The bytes of the redirect's click log line (message "click"), one per click. */
  readonly clickLineBytes: number[] = [];

  /** Keeps what it needs of the stack's and the in-process handlers' output, and prints none of it. */
  capture(): void {
    const write = process.stdout.write.bind(process.stdout) as (...args: unknown[]) => boolean;
    // The stack names each function by its logical ID, which ends in a hash: `[RedirectFunction7849A310] <line>`.
    const redirectLine = new RegExp(`^\\[${FUNCTION_NAMES.redirect}[0-9A-F]*\\] `);
    process.stdout.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';
      const lines = text.split('\n').filter(Boolean);
      const isStackOrHandlerOutput = (line: string): boolean => line.startsWith('REPORT ') || line.startsWith('[') || line.startsWith('{');
      if (lines.length === 0 || !lines.every(isStackOrHandlerOutput)) return write(chunk, ...rest);
      for (const line of lines) {
        if (line.startsWith('REPORT ')) this.reportLines.push(line);
        else if (redirectLine.test(line)) this.weighRedirectLine(line.replace(redirectLine, ''));
      }
      return true;
    }) as typeof process.stdout.write;
  }

  mark(): number {
    return this.reportLines.length;
  }

  /**
   * Waits until `count` invocations of `functionName` are reported since `mark`: an environment reports
   * once it asks for its next event, after the caller may have its answer.
   */
  async awaitReports(mark: number, functionName: string, count: number): Promise<void> {
    const deadline = Date.now() + REPORT_TIMEOUT_MS;
    while (this.since(mark, functionName).length < count) {
      if (Date.now() > deadline) throw new Error(`${count} REPORT lines of ${functionName} expected, ${this.since(mark, functionName).length} seen`);
      await sleep(100);
    }
  }

  /** The invocations of `functionName` (a logical ID without its hash) reported since `mark`. */
  since(mark: number, functionName: string): Report[] {
    return reports(this.reportLines.slice(mark).join('\n')).filter((report) => report.functionName.startsWith(functionName));
  }

  private weighRedirectLine(line: string): void {
    // The function's JSON lines (its log and metrics); Node's warnings about this machine's version are not the function's.
    if (!line.startsWith('{')) return;
    // The line as the function wrote it, with its newline: what CloudWatch Logs ingests.
    const bytes = Buffer.byteLength(line, 'utf8') + 1;
    this.redirectLogBytes.push(bytes);
    if (line.includes('"message":"click"')) this.clickLineBytes.push(bytes);
  }
}

/** Lambda bills from the event's delivery until the function asks for the next, rounded up to the millisecond. */
function billedGbSeconds(report: Report): number {
  return (Math.ceil(report.durationMs + report.afterResponseMs) / 1000) * (report.memoryMb / 1024);
}

/** The invocations and GB-seconds of `invocations`, spread over `clicks`. */
function lambdaUse(invocations: readonly Report[], clicks: number): LambdaUsePerClick {
  return {
    invocations: invocations.length / clicks,
    gbSeconds: invocations.reduce((sum, report) => sum + billedGbSeconds(report), 0) / clicks,
  };
}

const mean = (values: readonly number[]): number => values.reduce((sum, value) => sum + value, 0) / Math.max(values.length, 1);

/** What the redirects of part 1 showed, per click. */
interface RedirectPath {
  readonly clicks: number;
  readonly redirect: LambdaUsePerClick;
  /** Mean of the redirect's invocations: until the response, and after it (the click's send), both billed. */
  readonly redirectMs: { readonly response: number; readonly afterResponse: number; readonly coldStarts: number };
  readonly enrich: LambdaUsePerClick;
  readonly enrichBatches: number;
  readonly sendBatches: number;
  /** SQS requests billed for the sends (64 KB chunks). */
  readonly sendRequestsBilled: number;
  readonly clickLineBytes: number;
  /** Every line the redirect logged, per click. */
  readonly redirectLogBytes: number;
  readonly rawItemBytes: number;
}

async function clicksOf(stack: StackContext): Promise<number> {
  return stack.inspector.quarterHourEvents(stack.tables.quarterHour, ownerTarget(ADMIN_OWNER));
}

/** Mean stored size of the demo link's raw click items, by DynamoDB's item-size rule. */
async function meanRawItemBytes(rawTable: string): Promise<number> {
  const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  if (endpoint === undefined) throw new Error('The local stack did not set AWS_ENDPOINT_URL_DYNAMODB');
  const dynamo = new DynamoDBClient({ region: LOCAL_REGION, endpoint, credentials: LOCAL_CREDENTIALS });
  const sizes: number[] = [];
  try {
    for await (const page of paginateScan({ client: dynamo }, { TableName: rawTable })) {
      for (const item of page.Items ?? []) if (item.linkShard?.S?.startsWith(`${DEMO_CODE}#`)) sizes.push(itemSizeBytes(item));
    }
  } finally {
    dynamo.destroy();
  }
  if (sizes.length === 0) throw new Error(`No raw click of ${DEMO_CODE} in ${rawTable}`);
  return mean(sizes);
}

/** Browser visits to the demo link through the local front; waits until every click is counted. */
async function measureRedirectPath(stack: StackContext, output: StackOutput, sendRequests: () => readonly object[]): Promise<RedirectPath> {
  const countedBefore = await clicksOf(stack);
  const mark = output.mark();
  const sendsBefore = sendRequests().length;
  const logLinesBefore = output.redirectLogBytes.length;
  const clickLinesBefore = output.clickLineBytes.length;
  const browsers = Object.values(USER_AGENTS).slice(0, 5);
  const visits = Array.from({ length: REDIRECT_CLICKS }, (_, index) => index);
  const outcomes = await settleWithLimit(visits, REDIRECT_CONCURRENCY, async (index) => {
    const response = await fetch(`${stack.baseUrl}/${DEMO_CODE}`, { redirect: 'manual', headers: { 'user-agent': browsers[index % browsers.length] } });
    await response.arrayBuffer();
    if (response.status !== 302) throw new Error(`GET /${DEMO_CODE} answered ${response.status}`);
  });
  const failure = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
  const deadline = Date.now() + ARRIVAL_TIMEOUT_MS;
  while ((await clicksOf(stack)) < countedBefore + REDIRECT_CLICKS) {
    if (Date.now() > deadline) throw new Error(`Not every click of ${REDIRECT_CLICKS} arrived in ${ARRIVAL_TIMEOUT_MS / 1000} s`);
    await sleep(500);
  }
  await stack.meter.waitUntilQuiet(QUIET_MS);
  await output.awaitReports(mark, FUNCTION_NAMES.redirect, REDIRECT_CLICKS);

  const redirects = output.since(mark, FUNCTION_NAMES.redirect);
  const enriches = output.since(mark, FUNCTION_NAMES.enrich);
  const sends = sendRequests()
    .slice(sendsBefore)
    .map((body) => (body as { Entries?: readonly { MessageBody?: string }[] }).Entries ?? []);
  const payloadBytes = (entries: readonly { MessageBody?: string }[]): number =>
    entries.reduce((sum, entry) => sum + Buffer.byteLength(entry.MessageBody ?? '', 'utf8'), 0);
  const clickLines = output.clickLineBytes.slice(clickLinesBefore);
  if (clickLines.length !== REDIRECT_CLICKS) throw new Error(`${clickLines.length} click log lines for ${REDIRECT_CLICKS} redirects`);
  return {
    clicks: REDIRECT_CLICKS,
    redirect: lambdaUse(redirects, REDIRECT_CLICKS),
    redirectMs: {
      response: mean(redirects.map((report) => report.durationMs)),
      afterResponse: mean(redirects.map((report) => report.afterResponseMs)),
      coldStarts: redirects.filter((report) => report.initMs !== undefined).length,
    },
    enrich: lambdaUse(enriches, REDIRECT_CLICKS),
    enrichBatches: enriches.length,
    sendBatches: sends.length,
    sendRequestsBilled: sends.reduce((sum, entries) => sum + Math.max(1, Math.ceil(payloadBytes(entries) / SQS_CHUNK_BYTES)), 0),
    clickLineBytes: mean(clickLines),
    redirectLogBytes: output.redirectLogBytes.slice(logLinesBefore).reduce((sum, bytes) => sum + bytes, 0) / REDIRECT_CLICKS,
    rawItemBytes: await meanRawItemBytes(stack.tables.raw),
  };
}

/** The API function's use per call, from statistics calls through the front. */
async function measureApiCall(stack: StackContext, output: StackOutput): Promise<LambdaUsePerClick> {
  const mark = output.mark();
  // The dashboard's first chart: the last 7 days, hourly.
  const now = Date.now();
  const query = new URLSearchParams({ from: new Date(now - 7 * DAY_MS).toISOString(), to: new Date(now).toISOString(), granularity: 'hour' });
  for (let call = 0; call < API_CALLS; call++) {
    const response = await fetch(`${stack.baseUrl}/api/links/${DEMO_CODE}/stats?${query.toString()}`, {
      headers: { authorization: `Bearer ${stack.apiKey}` },
    });
    const body = await response.text();
    if (response.status !== 200) throw new Error(`stats answered ${response.status}: ${body.slice(0, 300)}`);
  }
  await output.awaitReports(mark, FUNCTION_NAMES.api, API_CALLS);
  return lambdaUse(output.since(mark, FUNCTION_NAMES.api), API_CALLS);
}

interface WorkloadCost {
  readonly name: string;
  readonly steady: SteadyPerClick;
  readonly aggregate: LambdaUsePerClick;
  readonly rollup: LambdaUsePerClick;
  readonly counts: CountsPerClick;
}

const scaled = (use: LambdaUsePerClick, factor: number): LambdaUsePerClick => ({
  invocations: use.invocations * factor,
  gbSeconds: use.gbSeconds * factor,
});

function countsPerClick(path: RedirectPath, api: LambdaUsePerClick, workload: Omit<WorkloadCost, 'counts' | 'name'>): CountsPerClick {
  const lambda = { redirect: path.redirect, enrich: path.enrich, aggregate: workload.aggregate, rollup: workload.rollup, api };
  const invocations = Object.values(lambda).reduce((sum, use) => sum + use.invocations, 0);
  return {
    cloudFrontRequests: 1,
    apiGatewayRequests: 1,
    lambda,
    sqsRequests: (path.sendRequestsBilled + EVENT_SOURCE_REQUESTS_PER_BATCH * path.enrichBatches) / path.clicks,
    dynamoWriteUnits: workload.steady.units,
    dynamoReadUnits: workload.steady.readUnits,
    logGigabytes: (path.redirectLogBytes + PLATFORM_LOG_BYTES_PER_INVOCATION * invocations) / GIGABYTE,
    // A raw click is kept RAW_RETENTION_DAYS (its TTL); the aggregates it adds to are per (target, period), not per click.
    storageGbMonths: ((path.rawItemBytes + ITEM_OVERHEAD_BYTES) / GIGABYTE) * (RAW_RETENTION_DAYS / DAYS_PER_MONTH),
  };
}

async function measureWorkloads(stack: StackContext, output: StackOutput, path: RedirectPath, api: LambdaUsePerClick): Promise<WorkloadCost[]> {
  const costs: WorkloadCost[] = [];
  const clicksPerRollupRun = CLICKS_PER_SECOND * ROLLUP_PERIOD_SECONDS;
  for (const workload of [hotLinkWorkload(WORKLOAD_CLICKS), zipfWorkload(WORKLOAD_CLICKS)]) {
    const mark = output.mark();
    const measurement = await measureWrites(stack, workload);
    await output.awaitReports(mark, FUNCTION_NAMES.rollup, measurement.rollup.runs);
    const measured = {
      steady: steadyPerClick(workload, measurement, stack.tables),
      aggregate: lambdaUse(output.since(mark, FUNCTION_NAMES.aggregate), workload.messages.length),
      // A run's work is per (target, day), not per click: in steady state one run covers a rollup period's clicks.
      rollup: lambdaUse(output.since(mark, FUNCTION_NAMES.rollup), clicksPerRollupRun),
    };
    costs.push({ name: workload.name, ...measured, counts: countsPerClick(path, api, measured) });
  }
  return costs;
}

// ---------------------------------------------------------------------------------------------
// Report

const fixed = (value: number, digits: number): string => value.toFixed(digits);
/** A figure that uses an unverified price carries a star. */
const dollars = (cost: ComponentCost): string => `${fixed(cost.dollarsPerMillionClicks, 4)}${cost.unverified ? ' *' : ''}`;

function countRows(path: RedirectPath, workloads: readonly WorkloadCost[]): string[][] {
  const [hot, zipf] = workloads;
  const both = (figure: (workload: WorkloadCost) => string): [string, string] => [figure(hot), figure(zipf)];
  const lambdaRows = (role: keyof CountsPerClick['lambda'], how: string): string[][] => [
    [`Lambda ${role} invocations`, ...both((w) => fixed(w.counts.lambda[role].invocations, 6)), how],
    [`Lambda ${role} GB-s`, ...both((w) => fixed(w.counts.lambda[role].gbSeconds, 8)), how],
  ];
  return [
    ['count per click', hot.name, zipf.name, 'measured or modelled'],
    ['CloudFront requests', '1', '1', 'modelled: one per click'],
    ['API Gateway requests', '1', '1', 'modelled: one per click'],
    ...lambdaRows('redirect', 'measured: REPORT lines, billed ms × memory'),
    ...lambdaRows('enrich', `measured: ${path.enrichBatches} batches for ${path.clicks} clicks`),
    ...lambdaRows('aggregate', 'measured: REPORT lines during the workload'),
    ...lambdaRows('rollup', `measured runs, amortised over ${(CLICKS_PER_SECOND * ROLLUP_PERIOD_SECONDS).toLocaleString('en-US')} clicks`),
    ...lambdaRows('api', `measured call, modelled ${API_CALLS_PER_MILLION_CLICKS.toLocaleString('en-US')} calls per million clicks`),
    [
      'SQS requests',
      ...both((w) => fixed(w.counts.sqsRequests, 4)),
      `measured ${path.sendBatches} SendMessageBatch; modelled ${EVENT_SOURCE_REQUESTS_PER_BATCH} per enrich batch`,
    ],
    ['DynamoDB write units', ...both((w) => fixed(w.counts.dynamoWriteUnits, 4)), 'measured: statistics meter, steady'],
    ['DynamoDB read units', ...both((w) => fixed(w.counts.dynamoReadUnits, 4)), 'measured: statistics meter, steady'],
    [
      'CloudWatch Logs bytes',
      ...both((w) => fixed(w.counts.logGigabytes * GIGABYTE, 0)),
      `measured redirect lines; modelled ${PLATFORM_LOG_BYTES_PER_INVOCATION} B of Lambda's lines an invocation`,
    ],
    [
      'DynamoDB storage GB-months',
      ...both((w) => w.counts.storageGbMonths.toExponential(3)),
      `measured raw item; modelled +${ITEM_OVERHEAD_BYTES} B, ${RAW_RETENTION_DAYS} days`,
    ],
  ];
}

function costLines(path: RedirectPath, workloads: readonly WorkloadCost[], seconds: number): string[] {
  const [hot, zipf] = workloads;
  const hotCost = estimateCost(hot.counts);
  const zipfCost = estimateCost(zipf.counts);
  const rows: string[][] = [['USD per million clicks', hot.name, zipf.name]];
  hotCost.components.forEach((component, index) => rows.push([component.component, dollars(component), dollars(zipfCost.components[index])]));
  rows.push(['total', dollars(hotCost.total), dollars(zipfCost.total)]);
  rows.push(['floor (CloudFront, API Gateway, Lambda request, 1 write unit)', dollars(hotCost.floor), dollars(zipfCost.floor)]);
  const goal = (ratio: number, met: boolean): string => `${fixed(ratio, 3)} (${met ? 'met' : 'NOT met'})`;
  rows.push([`total / floor (goal ≤ ${GOAL_RATIO_TO_FLOOR})`, goal(hotCost.ratioToFloor, hotCost.meetsGoal), goal(zipfCost.ratioToFloor, zipfCost.meetsGoal)]);
  return [
    `cost model, origin mode (issue 11): one local stack with the real handlers; ${path.clicks.toLocaleString('en-US')} redirects ` +
      `through the front (${REDIRECT_CONCURRENCY} at a time), ${API_CALLS} statistics calls, ` +
      `${WORKLOAD_CLICKS.toLocaleString('en-US')} clicks per workload (the statistics bench's, steady at ${CLICKS_PER_SECOND.toLocaleString('en-US')} clicks/s)`,
    `  redirect invocation: ${fixed(path.redirectMs.response, 2)} ms to the response + ${fixed(path.redirectMs.afterResponse, 2)} ms ` +
      `after it (the click's send, through the counting proxy) on average, ${path.redirectMs.coldStarts} cold starts; ` +
      'durations are this machine\'s (2 shared cores, every function and emulator on them), not Lambda\'s',
    `  redirect log per click: the click line ${fixed(path.clickLineBytes, 0)} B, every line ${fixed(path.redirectLogBytes, 0)} B; ` +
      `raw click item ${fixed(path.rawItemBytes, 0)} B; ${path.sendBatches} SendMessageBatch for ${path.clicks} clicks; ` +
      `enrich batches of ${fixed(path.clicks / Math.max(path.enrichBatches, 1), 1)} clicks on average`,
    ...table(countRows(path, workloads)),
    '',
    ...table(rows),
    '  * uses a price marked unverified in bench/cost/prices.ts: check it on the live AWS page before deciding on it',
    '  list prices, us-east-1, no free tier; not in the model: edge mode, the event source\'s empty receives (a fixed cost an',
    '  hour, not per click), dashboard reads\' DynamoDB units, log storage, data transfer (a redirect is a few hundred bytes)',
    `  prices missing from the table: ${MISSING_PRICES.map((missing) => missing.item).join('; ')}`,
    `cost run took ${fixed(seconds, 0)} s`,
  ];
}

async function main(): Promise<void> {
  const started = Date.now();
  const output = new StackOutput();
  output.capture();
  // The click queue as the redirect's environments reach it: through a proxy that keeps every request.
  const queueProxy = await startDynamoProxy('http://127.0.0.1:9');
  const sendRequests = (): readonly object[] => queueProxy.requests.filter((request) => request.operation === 'SendMessageBatch').map((request) => request.body);
  try {
    const lines = await withMeteredStack(
      { endpointOverrides: { [FUNCTION_NAMES.redirect]: { AWS_ENDPOINT_URL_SQS: queueProxy.endpoint } }, verbose: true },
      async (stack) => {
        const queueEndpoint = process.env.AWS_ENDPOINT_URL_SQS;
        if (queueEndpoint === undefined) throw new Error('The local stack did not set AWS_ENDPOINT_URL_SQS');
        queueProxy.retarget(queueEndpoint);
        const path = await measureRedirectPath(stack, output, sendRequests);
        const apiPerCall = await measureApiCall(stack, output);
        const api = scaled(apiPerCall, API_CALLS_PER_MILLION_CLICKS / MILLION);
        const workloads = await measureWorkloads(stack, output, path, api);
        return costLines(path, workloads, (Date.now() - started) / 1000);
      },
    );
    console.log(lines.join('\n'));
  } finally {
    await queueProxy.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
