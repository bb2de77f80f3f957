/**
 * `npm run cost`: the cost of a click in both redirect modes (issue 11, points 4 and 6), USD per
 * million clicks by component, side by side, each beside its own floor of fees no click avoids.
 *
 * Origin mode, one local stack with the real handlers (the statistics bench's metered stack, bench/statistics.ts):
 * 1. redirects through the local front to the demo link: each function's REPORT lines give invocations
 *    and billed durations (redirect per click, enrich per batch of the queue's event source), a proxy in
 *    front of the click queue counts the redirect's SendMessageBatch requests and their payload bytes,
 *    and the functions' own log lines (LOCAL_VERBOSE) are weighed: the CloudWatch Logs they ingest;
 * 2. a few statistics API calls through the front, for the API function's billed duration;
 * 3. the statistics bench's hot-link and Zipf workloads: DynamoDB write and read units per click
 *    (steady: the rollup amortised), the aggregator's and the rollup's REPORT lines.
 * Edge mode, a second stack (redirectMode=edge): the workloads' links are written to the links table and
 * synced into the KeyValueStore, then the workloads' visits go through the local edge (the CloudFront
 * Function in its sandbox): the click stream's records (how many, their bytes, which the edge answered),
 * the edge consumer's REPORT and log lines, and any origin redirects. DynamoDB units are the origin
 * stack's: both modes store a click through the same code (shared/click-batch.ts) into the same aggregation.
 * What the stacks cannot show (CloudFront's request, API Gateway, the event source's receives, Lambda's
 * own log lines, storage time, how often the dashboard is read, the standard-log backfill) is modelled
 * below, and printed as such.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';
import { DescribeKeyValueStoreCommand } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { GetRecordsCommand, GetShardIteratorCommand, type KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { ownerTarget } from '../../lambdas/domain/aggregate-state';
import { RAW_RETENTION_DAYS } from '../../lambdas/domain/buckets';
import type { ClickMessage } from '../../lambdas/domain/click';
import { EDGE_LOG_FIELDS, edgeClickOf, edgeLogRecordValues, type EdgeLogValues, percentDecode } from '../../lambdas/domain/edge-log';
import { formatStandardLogLine } from '../../lambdas/domain/standard-log';
import { ADMIN_OWNER, ENV, LOCAL_CREDENTIALS, LOCAL_REGION } from '../../lambdas/contract';
import { DEMO_CODE } from '../../local/stack';
import { kinesisClient } from '../../local/emulators/kinesis';
import { keyValueStoreClient } from '../../lambdas/shared/clients/key-value-store';
import { settleWithLimit } from '../../lambdas/shared/concurrency';
import { createLinkIfAbsent } from '../../lambdas/tables/links';
import type { RedirectMode } from '../../lib/stack-props';
import { startDynamoProxy } from '../../test/fixtures/local/dynamo-proxy';
import { USER_AGENTS } from '../../test/fixtures/user-agents';
import { reports, type Report } from '../redirect-latency';
import { table } from '../report';
import {
  CLICKS_PER_SECOND,
  hotLinkWorkload,
  itemSizeBytes,
  measureWrites,
  type StackContext,
  STEADY_SPREAD,
  steadyPerClick,
  type SteadyPerClick,
  withMeteredStack,
  type WriteWorkload,
  zipfWorkload,
} from '../statistics';
import {
  amortisedPerMillionClicks,
  type ComponentCost,
  type CostEstimate,
  type CountsPerClick,
  estimateCost,
  fixedMonthlyCosts,
  FLOOR_DESCRIPTION,
  type FunctionRole,
  GOAL_RATIO_TO_FLOOR,
  kinesisBilledIngestBytes,
  type LambdaUsePerClick,
  NO_COUNTS,
  rateForShareOfFloor,
} from './model';
import { MISSING_PRICES } from './prices';

const REDIRECT_CLICKS = Number(process.env.COST_REDIRECT_CLICKS ?? 2_000);
/** Redirects in flight at once: a few visitors at a time, as the redirect's environments meet them. */
const REDIRECT_CONCURRENCY = 4;
const WORKLOAD_CLICKS = Number(process.env.COST_WORKLOAD_CLICKS ?? 10_000);
/** Visits through the local edge per workload (its first clicks' links, User-Agents and referrers). */
const EDGE_CLICKS = Number(process.env.COST_EDGE_CLICKS ?? 1_000);
const API_CALLS = 20;
const ARRIVAL_TIMEOUT_MS = 120_000;
const SYNC_TIMEOUT_MS = 60_000;
const QUIET_MS = 1_000;
const REPORT_TIMEOUT_MS = 10_000;
const LINK_WRITE_CONCURRENCY = 8;

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
/**
 * The standard-log (v2) backfill of edge mode, modelled until it is measured: log lines per delivered
 * object (an assumption: CloudFront delivers several objects an hour per distribution, more at higher
 * rates), one S3 PUT (the delivery) and one GET (the backfill's read) per object, the delete free; one
 * backfill invocation per object, of this many seconds at 512 MB; and one eventually consistent read
 * (half a read unit) per line to find the raw click the real-time path may already have stored.
 * The lines' bytes are measured: each real-time record's request as the delivery's JSON line.
 */
const STANDARD_LOG_LINES_PER_OBJECT = 1_000;
const BACKFILL_SECONDS_PER_OBJECT = 1;
const BACKFILL_MEMORY_GB = 0.5;
const BACKFILL_READ_UNITS_PER_LINE = 0.5;
/** The rate the fixed monthly charges are spread over, in the table below the per-click one. */
const AMORTISED_AT_CLICKS_PER_SECOND = 100;
/**
 * Raw-click retentions the edge goal turns on (docs/cost.md): the brief's TTL, a month, and the shortest
 * that keeps exactly once, the failure queues' 14-day retention and a day (a message redriven from the
 * click DLQ after its raw item expired would be stored, and counted, again; the click queue keeps 7 days).
 */
const RETENTION_CHOICES_DAYS = [RAW_RETENTION_DAYS, 30, 15] as const;
/** The fixed charges' share of the floor printed as a break-even rate. */
const FIXED_SHARE_OF_FLOOR = 0.01;
const DAYS_PER_MONTH = 365.25 / 12;
const GIGABYTE = 1024 ** 3;
const MILLION = 1_000_000;
const DAY_MS = 86_400_000;

const FUNCTION_NAMES = {
  redirect: 'RedirectFunction',
  enrich: 'EnrichFunction',
  enrichEdge: 'EdgeEnrichFunction',
  aggregate: 'AggregateFunction',
  rollup: 'RollupFunction',
  api: 'ApiFunction',
} as const;
/** The functions on a click's path whose own log lines are weighed. */
const WEIGHED_FUNCTIONS = [FUNCTION_NAMES.redirect, FUNCTION_NAMES.enrich, FUNCTION_NAMES.enrichEdge] as const;

/** The stack's output lines this process keeps: the REPORT lines, and the sizes of the weighed functions' own lines. */
class StackOutput {
  readonly reportLines: string[] = [];
  /** By function (a logical ID without its hash): every JSON line's bytes. */
  readonly logBytes = new Map<string, number[]>(WEIGHED_FUNCTIONS.map((name) => [name, []]));
  /** The bytes of the redirect's click log line (message "click"), one per click. */
  readonly clickLineBytes: number[] = [];

  /** Keeps what it needs of the stack's and the in-process handlers' output, and prints none of it. */
  capture(): void {
    const write = process.stdout.write.bind(process.stdout) as (...args: unknown[]) => boolean;
    // The stack names each function by its logical ID, which ends in a hash: `[RedirectFunction7849A310] <line>`.
    const functionLine = new RegExp(`^\\[(${WEIGHED_FUNCTIONS.join('|')})[0-9A-F]*\\] `);
    process.stdout.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';
      const lines = text.split('\n').filter(Boolean);
      const isStackOrHandlerOutput = (line: string): boolean => line.startsWith('REPORT ') || line.startsWith('[') || line.startsWith('{');
      if (lines.length === 0 || !lines.every(isStackOrHandlerOutput)) return write(chunk, ...rest);
      for (const line of lines) {
        const match = functionLine.exec(line);
        if (line.startsWith('REPORT ')) this.reportLines.push(line);
        else if (match !== null) this.weigh(match[1], line.slice(match[0].length));
      }
      return true;
    }) as typeof process.stdout.write;
  }

  mark(): number {
    return this.reportLines.length;
  }

  /** Log lines seen so far, by function: where a later `logBytesSince` starts. */
  logMark(): Map<string, number> {
    return new Map([...this.logBytes].map(([name, sizes]) => [name, sizes.length]));
  }

  /** Bytes every weighed function logged since `mark`. */
  logBytesSince(mark: ReadonlyMap<string, number>): number {
    return [...this.logBytes].reduce((sum, [name, sizes]) => sum + sizes.slice(mark.get(name) ?? 0).reduce((bytes, size) => bytes + size, 0), 0);
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

  private weigh(functionName: string, line: string): void {
    // The function's JSON lines (its log and metrics); Node's warnings about this machine's version are not the function's.
    if (!line.startsWith('{')) return;
    // The line as the function wrote it, with its newline: what CloudWatch Logs ingests.
    const bytes = Buffer.byteLength(line, 'utf8') + 1;
    this.logBytes.get(functionName)?.push(bytes);
    if (functionName === FUNCTION_NAMES.redirect && line.includes('"message":"click"')) this.clickLineBytes.push(bytes);
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

const scaled = (use: LambdaUsePerClick, factor: number): LambdaUsePerClick => ({
  invocations: use.invocations * factor,
  gbSeconds: use.gbSeconds * factor,
});

const mean = (values: readonly number[]): number => values.reduce((sum, value) => sum + value, 0) / Math.max(values.length, 1);

/** What the redirects of origin mode's part 1 showed, per click. */
interface RedirectPath {
  readonly clicks: number;
  readonly redirect: LambdaUsePerClick;
  /** Mean of the redirect's invocations: until the response, and after it (the click's send), both billed. */
  readonly redirectMs: { readonly response: number; readonly afterResponse: number; readonly coldStarts: number };
  readonly enrich: LambdaUsePerClick;
  readonly enrichBatches: number;
  readonly sendBatches: number;
  /** SQS requests billed for the sends (64 KB chunks) and the event source's receives and deletes, per click. */
  readonly sqsRequests: number;
  readonly clickLineBytes: number;
  /** Every line the redirect and enrich logged, per click. */
  readonly logBytes: number;
}

async function eventsOf(stack: StackContext, owner: string): Promise<number> {
  return stack.inspector.quarterHourEvents(stack.tables.quarterHour, ownerTarget(owner));
}

/** Waits until the owner's quarter-hour items count `expected` events. */
async function awaitCounted(stack: StackContext, owner: string, expected: number): Promise<void> {
  const deadline = Date.now() + ARRIVAL_TIMEOUT_MS;
  let counted = 0;
  while ((counted = await eventsOf(stack, owner)) < expected) {
    if (Date.now() > deadline) throw new Error(`${counted} of ${expected} clicks of ${owner} counted in ${ARRIVAL_TIMEOUT_MS / 1000} s`);
    await sleep(500);
  }
  await stack.meter.waitUntilQuiet(QUIET_MS);
}

/** Mean stored size of the raw click items of `codes`, by DynamoDB's item-size rule. */
async function meanRawItemBytes(rawTable: string, codes: ReadonlySet<string>): Promise<number> {
  const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  if (endpoint === undefined) throw new Error('The local stack did not set AWS_ENDPOINT_URL_DYNAMODB');
  const dynamo = new DynamoDBClient({ region: LOCAL_REGION, endpoint, credentials: LOCAL_CREDENTIALS });
  const sizes: number[] = [];
  try {
    for await (const page of paginateScan({ client: dynamo }, { TableName: rawTable })) {
      for (const item of page.Items ?? []) if (codes.has(item.code?.S ?? '')) sizes.push(itemSizeBytes(item));
    }
  } finally {
    dynamo.destroy();
  }
  if (sizes.length === 0) throw new Error(`No raw click of ${[...codes].slice(0, 3).join(', ')} in ${rawTable}`);
  return mean(sizes);
}

/** One visit through the front; a redirect is all it may answer. */
async function visit(baseUrl: string, code: string, headers: Record<string, string>, method = 'GET'): Promise<void> {
  const response = await fetch(`${baseUrl}/${code}`, { method, redirect: 'manual', headers });
  await response.arrayBuffer();
  if (response.status !== 302) throw new Error(`${method} /${code} answered ${response.status}`);
}

async function visitAll<T>(items: readonly T[], visitOne: (item: T) => Promise<void>): Promise<void> {
  const failure = (await settleWithLimit(items, REDIRECT_CONCURRENCY, visitOne)).find((outcome) => outcome.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
}

/** Browser visits to the demo link through the local front; waits until every click is counted. */
async function measureRedirectPath(stack: StackContext, output: StackOutput, sendRequests: () => readonly object[]): Promise<RedirectPath> {
  const countedBefore = await eventsOf(stack, ADMIN_OWNER);
  const mark = output.mark();
  const logMark = output.logMark();
  const sendsBefore = sendRequests().length;
  const clickLinesBefore = output.clickLineBytes.length;
  const browsers = Object.values(USER_AGENTS).slice(0, 5);
  const visits = Array.from({ length: REDIRECT_CLICKS }, (_, index) => index);
  await visitAll(visits, (index) => visit(stack.baseUrl, DEMO_CODE, { 'user-agent': browsers[index % browsers.length] }));
  await awaitCounted(stack, ADMIN_OWNER, countedBefore + REDIRECT_CLICKS);
  await output.awaitReports(mark, FUNCTION_NAMES.redirect, REDIRECT_CLICKS);

  const redirects = output.since(mark, FUNCTION_NAMES.redirect);
  const enriches = output.since(mark, FUNCTION_NAMES.enrich);
  const sends = sendRequests()
    .slice(sendsBefore)
    .map((body) => (body as { Entries?: readonly { MessageBody?: string }[] }).Entries ?? []);
  const payloadBytes = (entries: readonly { MessageBody?: string }[]): number =>
    entries.reduce((sum, entry) => sum + Buffer.byteLength(entry.MessageBody ?? '', 'utf8'), 0);
  const sendRequestsBilled = sends.reduce((sum, entries) => sum + Math.max(1, Math.ceil(payloadBytes(entries) / SQS_CHUNK_BYTES)), 0);
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
    sqsRequests: (sendRequestsBilled + EVENT_SOURCE_REQUESTS_PER_BATCH * enriches.length) / REDIRECT_CLICKS,
    clickLineBytes: mean(clickLines),
    logBytes: output.logBytesSince(logMark) / REDIRECT_CLICKS,
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

const workloadCodes = (workload: WriteWorkload): string[] => [...new Set(workload.messages.map((message) => message.code))];

/** What a workload's steady aggregation showed, per click: the same in both modes. */
interface WorkloadUse {
  readonly name: string;
  readonly steady: SteadyPerClick;
  readonly aggregate: LambdaUsePerClick;
  readonly rollup: LambdaUsePerClick;
  /** Its raw click items' mean size: the same visits as the edge's, so the two modes' storage compares. */
  readonly rawItemBytes: number;
}

async function measureWorkloads(stack: StackContext, output: StackOutput): Promise<WorkloadUse[]> {
  const uses: WorkloadUse[] = [];
  for (const workload of [hotLinkWorkload(WORKLOAD_CLICKS), zipfWorkload(WORKLOAD_CLICKS)]) {
    const mark = output.mark();
    const measurement = await measureWrites(stack, workload);
    const { rollupDuringDay, rollupAfterDay } = measurement;
    await output.awaitReports(mark, FUNCTION_NAMES.rollup, rollupDuringDay.runs + rollupAfterDay.runs);
    // In order: the runs during the day, then those after it.
    const rollupReports = output.since(mark, FUNCTION_NAMES.rollup);
    const duringDay = lambdaUse(rollupReports.slice(0, rollupDuringDay.runs), STEADY_SPREAD.runClicks);
    const afterDay = lambdaUse(rollupReports.slice(rollupDuringDay.runs), STEADY_SPREAD.dayClicks);
    uses.push({
      name: workload.name,
      steady: steadyPerClick(workload, measurement, stack.tables),
      aggregate: lambdaUse(output.since(mark, FUNCTION_NAMES.aggregate), workload.messages.length),
      // Per (target, day), not per click: in steady state a run during the day covers a rollup period's
      // clicks, and the run after the day's end a day's.
      rollup: { invocations: duringDay.invocations + afterDay.invocations, gbSeconds: duringDay.gbSeconds + afterDay.gbSeconds },
      rawItemBytes: await meanRawItemBytes(stack.tables.raw, new Set(workloadCodes(workload))),
    });
  }
  return uses;
}

// ---------------------------------------------------------------------------------------------
// Edge mode

/** One real-time log record as the stream holds it. */
interface StreamRecord {
  /** Data and partition key: what Kinesis bills as the record's size. */
  readonly bytes: number;
  readonly dataBytes: number;
  readonly answeredAtEdge: boolean;
  /** The standard-log (v2, JSON) line of the same request, with its newline: what the log delivery bills. */
  readonly standardLogLineBytes: number;
}

/**
 * The standard-log line of a real-time record's request (lambdas/domain/standard-log.ts, the local
 * delivery's format), with its newline; 0 for a record that is not one.
 */
function standardLogLineBytes(values: EdgeLogValues | null): number {
  if (values === null) return 0;
  const unwritten = Object.fromEntries(
    EDGE_LOG_FIELDS.map((name) => {
      const value = values[name] === '-' ? '' : values[name];
      // The record holds these two URL-encoded; the line's formatter encodes them itself.
      return [name, name === 'cs-user-agent' || name === 'cs-referer' ? percentDecode(value) : value];
    }),
  ) as EdgeLogValues;
  return Buffer.byteLength(formatStandardLogLine(unwritten), 'utf8') + 1;
}

/** Reads the click stream from its start, each call returning the records put since the last. */
class ClickStreamReader {
  private iterators: (string | undefined)[] | undefined;

  constructor(
    private readonly kinesis: KinesisClient,
    private readonly streamName: string,
  ) {}

  async readNew(): Promise<StreamRecord[]> {
    this.iterators ??= await this.openShards();
    const records: StreamRecord[] = [];
    for (const [index, start] of this.iterators.entries()) {
      let iterator = start;
      for (;;) {
        if (iterator === undefined) break;
        const page = await this.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
        for (const record of page.Records ?? []) {
          const data = Buffer.from(record.Data ?? new Uint8Array());
          const values = edgeLogRecordValues(data.toString('utf8'));
          records.push({
            bytes: data.length + Buffer.byteLength(record.PartitionKey ?? '', 'utf8'),
            dataBytes: data.length,
            answeredAtEdge: values !== null && 'click' in edgeClickOf(values),
            standardLogLineBytes: standardLogLineBytes(values),
          });
        }
        // An open shard always returns a next iterator: the next read goes on from there.
        this.iterators[index] = page.NextShardIterator ?? iterator;
        if ((page.Records ?? []).length === 0 || page.MillisBehindLatest === 0) break;
        iterator = page.NextShardIterator;
      }
    }
    return records;
  }

  private async openShards(): Promise<(string | undefined)[]> {
    const { Shards = [] } = await this.kinesis.send(new ListShardsCommand({ StreamName: this.streamName }));
    return Promise.all(
      Shards.map(
        async ({ ShardId }) =>
          (await this.kinesis.send(new GetShardIteratorCommand({ StreamName: this.streamName, ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator,
      ),
    );
  }
}

/** What the visits of one workload through the local edge showed, per click. */
interface EdgePath {
  readonly name: string;
  readonly clicks: number;
  /** Function runs (one per request on the default behavior, each with its real-time log record). */
  readonly functionRuns: number;
  readonly answeredAtEdge: number;
  /** Share of clicks the function sent on to the origin redirect. */
  readonly toOrigin: number;
  readonly recordBytes: number;
  readonly standardLogLineBytes: number;
  readonly billedIngestBytes: number;
  readonly retrievedBytes: number;
  readonly enrichEdge: LambdaUsePerClick;
  readonly enrichEdgeBatches: number;
  readonly redirect: LambdaUsePerClick;
  /** Every line the edge consumer (and any origin redirect) logged, per click. */
  readonly logBytes: number;
  readonly rawItemBytes: number;
  /** The edge consumer's writes to the raw clicks table, per click: the check that its path writes as origin's does. */
  readonly rawWriteUnits: number;
}

/** The workloads' links, in the links table and then (through the links stream and kvs-sync) in the store. */
async function createEdgeLinks(workloads: readonly WriteWorkload[]): Promise<void> {
  const links = workloads.flatMap((workload) => workloadCodes(workload).map((code) => ({ code, url: `https://example.com/${code}`, owner: workload.owner })));
  const linksTable = process.env[ENV.linksTable];
  const keyValueStoreArn = process.env[ENV.keyValueStoreArn];
  if (linksTable === undefined || keyValueStoreArn === undefined) throw new Error('The edge stack did not name its links table and KeyValueStore');
  const failure = (await settleWithLimit(links, LINK_WRITE_CONCURRENCY, (link) => createLinkIfAbsent(linksTable, link))).find(
    (outcome) => outcome.status === 'rejected',
  );
  if (failure !== undefined) throw failure.reason;
  const deadline = Date.now() + SYNC_TIMEOUT_MS;
  // The demo link too.
  const expected = links.length + 1;
  let held = 0;
  while ((held = (await keyValueStoreClient().send(new DescribeKeyValueStoreCommand({ KvsARN: keyValueStoreArn }))).ItemCount ?? 0) < expected) {
    if (Date.now() > deadline) throw new Error(`The KeyValueStore holds ${held} of ${expected} links after ${SYNC_TIMEOUT_MS / 1000} s`);
    await sleep(250);
  }
}

/** The click's visit as a browser makes it: its link, method, User-Agent and referrer. */
function visitOf(message: ClickMessage): [string, Record<string, string>, string] {
  const headers: Record<string, string> = { 'user-agent': message.userAgent };
  if (message.referrerHost !== null) headers.referer = `https://${message.referrerHost}/`;
  return [message.code, headers, message.method];
}

async function measureEdgePath(stack: StackContext, output: StackOutput, reader: ClickStreamReader, workload: WriteWorkload): Promise<EdgePath> {
  const messages = workload.messages.slice(0, EDGE_CLICKS);
  const countedBefore = await eventsOf(stack, workload.owner);
  const mark = output.mark();
  const logMark = output.logMark();
  stack.meter.take();
  await visitAll(messages, (message) => visit(stack.baseUrl, ...visitOf(message)));
  await awaitCounted(stack, workload.owner, countedBefore + messages.length);
  const rawWrites = stack.meter.take().tables.get(stack.tables.raw);
  const records = await reader.readNew();
  if (records.length !== messages.length) throw new Error(`${records.length} real-time log records for ${messages.length} visits`);
  const enrichEdges = output.since(mark, FUNCTION_NAMES.enrichEdge);
  const redirects = output.since(mark, FUNCTION_NAMES.redirect);
  const answeredAtEdge = records.filter((record) => record.answeredAtEdge).length;
  const clicks = messages.length;
  return {
    name: workload.name,
    clicks,
    functionRuns: records.length / clicks,
    answeredAtEdge: answeredAtEdge / clicks,
    toOrigin: redirects.length / clicks,
    recordBytes: mean(records.map((record) => record.bytes)),
    standardLogLineBytes: mean(records.map((record) => record.standardLogLineBytes)),
    billedIngestBytes: records.reduce((sum, record) => sum + kinesisBilledIngestBytes(record.bytes), 0) / clicks,
    retrievedBytes: records.reduce((sum, record) => sum + record.dataBytes, 0) / clicks,
    enrichEdge: lambdaUse(enrichEdges, clicks),
    enrichEdgeBatches: enrichEdges.length,
    redirect: lambdaUse(redirects, clicks),
    logBytes: output.logBytesSince(logMark) / clicks,
    rawItemBytes: await meanRawItemBytes(stack.tables.raw, new Set(messages.map((message) => message.code))),
    rawWriteUnits: (rawWrites?.writeUnits ?? Number.NaN) / clicks,
  };
}

async function measureEdgeMode(output: StackOutput): Promise<EdgePath[]> {
  const metered = { context: { redirectMode: 'edge' }, verbose: true, meteredFunctions: [FUNCTION_NAMES.enrichEdge] };
  return withMeteredStack(metered, async (stack) => {
    if (stack.clickStream === undefined) throw new Error('The edge-mode stack has no click stream');
    const kinesis = kinesisClient(stack.clickStream.endpoint);
    try {
      const reader = new ClickStreamReader(kinesis, stack.clickStream.streamName);
      const workloads = [hotLinkWorkload(WORKLOAD_CLICKS), zipfWorkload(WORKLOAD_CLICKS)];
      await createEdgeLinks(workloads);
      const paths: EdgePath[] = [];
      for (const workload of workloads) paths.push(await measureEdgePath(stack, output, reader, workload));
      return paths;
    } finally {
      kinesis.destroy();
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Counts per click

/** Storage a raw click takes for its RAW_RETENTION_DAYS (its TTL); the aggregates are per (target, period), not per click. */
const storageGbMonths = (rawItemBytes: number): number => ((rawItemBytes + ITEM_OVERHEAD_BYTES) / GIGABYTE) * (RAW_RETENTION_DAYS / DAYS_PER_MONTH);

/** CloudWatch Logs: the functions' own lines measured, Lambda's lines per invocation modelled. */
const logGigabytes = (lambda: CountsPerClick['lambda'], functionLogBytes: number): number =>
  (functionLogBytes + PLATFORM_LOG_BYTES_PER_INVOCATION * Object.values(lambda).reduce((sum, use) => sum + use.invocations, 0)) / GIGABYTE;

function originCounts(path: RedirectPath, api: LambdaUsePerClick, workload: WorkloadUse): CountsPerClick {
  const lambda = { ...NO_COUNTS.lambda, redirect: path.redirect, enrich: path.enrich, aggregate: workload.aggregate, rollup: workload.rollup, api };
  return {
    ...NO_COUNTS,
    cloudFrontRequests: 1,
    apiGatewayRequests: 1,
    lambda,
    sqsRequests: path.sqsRequests,
    dynamoWriteUnits: workload.steady.units,
    dynamoReadUnits: workload.steady.readUnits,
    logGigabytes: logGigabytes(lambda, path.logBytes),
    storageGbMonths: storageGbMonths(workload.rawItemBytes),
  };
}

/**
 * Edge mode: the edge's counts as measured; what the function sent on to the origin costs what an
 * origin click does (its share of the origin path's counts); the standard-log backfill modelled.
 */
function edgeCounts(edge: EdgePath, origin: RedirectPath, api: LambdaUsePerClick, workload: WorkloadUse): CountsPerClick {
  const objects = 1 / STANDARD_LOG_LINES_PER_OBJECT;
  const backfill = { invocations: objects, gbSeconds: objects * BACKFILL_SECONDS_PER_OBJECT * BACKFILL_MEMORY_GB };
  const lambda: CountsPerClick['lambda'] = {
    ...NO_COUNTS.lambda,
    redirect: edge.redirect,
    enrich: scaled(origin.enrich, edge.toOrigin),
    enrichEdge: edge.enrichEdge,
    backfill,
    aggregate: workload.aggregate,
    rollup: workload.rollup,
    api,
  };
  return {
    ...NO_COUNTS,
    cloudFrontRequests: 1,
    apiGatewayRequests: edge.toOrigin,
    cloudFrontFunctionInvocations: edge.functionRuns,
    // redirect-function.js reads the store once on every run for a short link's path.
    keyValueStoreReads: edge.functionRuns,
    realtimeLogLines: edge.functionRuns,
    kinesisIngestGigabytes: edge.billedIngestBytes / GIGABYTE,
    kinesisRetrievalGigabytes: edge.retrievedBytes / GIGABYTE,
    standardLogGigabytes: edge.standardLogLineBytes / GIGABYTE,
    s3PutRequests: objects,
    s3GetRequests: objects,
    lambda,
    sqsRequests: origin.sqsRequests * edge.toOrigin,
    dynamoWriteUnits: workload.steady.units,
    dynamoReadUnits: workload.steady.readUnits + BACKFILL_READ_UNITS_PER_LINE,
    logGigabytes: logGigabytes(lambda, edge.logBytes + origin.logBytes * edge.toOrigin),
    storageGbMonths: storageGbMonths(edge.rawItemBytes),
  };
}

// ---------------------------------------------------------------------------------------------
// Report

interface Column {
  readonly mode: RedirectMode;
  readonly name: string;
  readonly counts: CountsPerClick;
  readonly cost: CostEstimate;
}

const fixed = (value: number, digits: number): string => value.toFixed(digits);
/** A figure that uses an unverified price carries a star. */
const dollars = (cost: ComponentCost): string => `${fixed(cost.dollarsPerMillionClicks, 4)}${cost.unverified ? ' *' : ''}`;

function countRows(columns: readonly Column[], origin: RedirectPath, edges: readonly EdgePath[]): string[][] {
  const row = (label: string, figure: (counts: CountsPerClick) => string, how: string): string[] => [label, ...columns.map((column) => figure(column.counts)), how];
  const lambdaRows = (role: FunctionRole, how: string): string[][] => [
    row(`Lambda ${role} invocations`, (counts) => fixed(counts.lambda[role].invocations, 6), how),
    row(`Lambda ${role} GB-s`, (counts) => fixed(counts.lambda[role].gbSeconds, 8), how),
  ];
  const edgeBatches = edges.map((edge) => `${edge.enrichEdgeBatches} batches for ${edge.clicks} clicks`).join(', ');
  return [
    ['count per click', ...columns.map((column) => `${column.mode} ${column.name}`), 'measured or modelled'],
    row('CloudFront requests', (counts) => fixed(counts.cloudFrontRequests, 0), 'modelled: one per click'),
    row('API Gateway requests', (counts) => fixed(counts.apiGatewayRequests, 4), 'origin modelled: one per click; edge measured: origin redirects'),
    row('CloudFront Function runs', (counts) => fixed(counts.cloudFrontFunctionInvocations, 4), 'edge measured: real-time log records'),
    row('KeyValueStore reads', (counts) => fixed(counts.keyValueStoreReads, 4), 'edge: one a run on a short-link path'),
    row('Real-time log lines', (counts) => fixed(counts.realtimeLogLines, 4), 'edge measured: records in the stream'),
    row('Kinesis billed ingest B', (counts) => fixed(counts.kinesisIngestGigabytes * GIGABYTE, 0), 'edge measured: records, each rounded up to 1 KB'),
    row('Kinesis retrieval B', (counts) => fixed(counts.kinesisRetrievalGigabytes * GIGABYTE, 0), 'edge measured: record data read by the consumer'),
    row(
      'Standard log v2 B',
      (counts) => fixed(counts.standardLogGigabytes * GIGABYTE, 0),
      'edge measured: each record\'s request as its JSON standard-log line',
    ),
    row(
      'S3 PUT + GET',
      (counts) => fixed(counts.s3PutRequests + counts.s3GetRequests, 4),
      `edge modelled: 1 + 1 per object of ${STANDARD_LOG_LINES_PER_OBJECT.toLocaleString('en-US')} lines`,
    ),
    ...lambdaRows('redirect', 'measured: REPORT lines, billed ms × memory'),
    ...lambdaRows('enrich', `origin measured: ${origin.enrichBatches} batches for ${origin.clicks} clicks; edge: its origin share`),
    ...lambdaRows('enrichEdge', `edge measured: ${edgeBatches}`),
    ...lambdaRows('backfill', `edge modelled: 1 per object, ${BACKFILL_SECONDS_PER_OBJECT} s at ${BACKFILL_MEMORY_GB * 1024} MB`),
    ...lambdaRows('aggregate', 'measured: REPORT lines during the workload (both modes)'),
    ...lambdaRows(
      'rollup',
      `measured runs: during the day over ${STEADY_SPREAD.runClicks.toLocaleString('en-US')} clicks, after it over ` +
        `${STEADY_SPREAD.dayClicks.toLocaleString('en-US')}`,
    ),
    ...lambdaRows('api', `measured call, modelled ${API_CALLS_PER_MILLION_CLICKS.toLocaleString('en-US')} calls per million clicks`),
    row(
      'SQS requests',
      (counts) => fixed(counts.sqsRequests, 4),
      `measured ${origin.sendBatches} SendMessageBatch; modelled ${EVENT_SOURCE_REQUESTS_PER_BATCH} per enrich batch`,
    ),
    row('DynamoDB write units', (counts) => fixed(counts.dynamoWriteUnits, 4), 'measured: statistics meter, steady (same path in both modes)'),
    row(
      'DynamoDB read units',
      (counts) => fixed(counts.dynamoReadUnits, 4),
      `measured: statistics meter, steady; edge + ${BACKFILL_READ_UNITS_PER_LINE} modelled for the backfill's check`,
    ),
    row(
      'CloudWatch Logs B',
      (counts) => fixed(counts.logGigabytes * GIGABYTE, 0),
      `measured functions' lines; modelled ${PLATFORM_LOG_BYTES_PER_INVOCATION} B of Lambda's lines an invocation`,
    ),
    row('DynamoDB storage GB-months', (counts) => counts.storageGbMonths.toExponential(3), `measured raw item; modelled +${ITEM_OVERHEAD_BYTES} B, ${RAW_RETENTION_DAYS} days`),
  ];
}

function costRows(columns: readonly Column[]): string[][] {
  const rows: string[][] = [['USD per million clicks', ...columns.map((column) => `${column.mode} ${column.name}`)]];
  columns[0].cost.components.forEach((component, index) => {
    const cells = columns.map((column) => column.cost.components[index]);
    // A row no column uses is left out.
    if (cells.some((cell) => cell.dollarsPerMillionClicks > 0)) rows.push([component.component, ...cells.map(dollars)]);
  });
  rows.push(['total', ...columns.map((column) => dollars(column.cost.total))]);
  rows.push(['floor (see below)', ...columns.map((column) => dollars(column.cost.floor))]);
  const goal = (cost: CostEstimate): string => `${fixed(cost.ratioToFloor, 3)} (${cost.meetsGoal ? 'met' : 'NOT met'})`;
  rows.push([`total / floor (goal ≤ ${GOAL_RATIO_TO_FLOOR})`, ...columns.map((column) => goal(column.cost))]);
  return rows;
}

/** Each column's total ÷ floor were its raw clicks kept for another number of days, every other count as measured. */
function retentionLines(columns: readonly Column[]): string[] {
  const rows: string[][] = [['total / floor, raw clicks kept', ...columns.map((column) => `${column.mode} ${column.name}`)]];
  for (const days of RETENTION_CHOICES_DAYS) {
    const ratio = (column: Column): string => {
      const counts = { ...column.counts, storageGbMonths: (column.counts.storageGbMonths * days) / RAW_RETENTION_DAYS };
      return fixed(estimateCost(column.mode, counts).ratioToFloor, 3);
    };
    rows.push([`${days} days${days === RAW_RETENTION_DAYS ? " (the brief's TTL)" : ''}`, ...columns.map(ratio)]);
  }
  return [
    `what the raw clicks' retention would do to the goal (≤ ${GOAL_RATIO_TO_FLOOR}), every other count as above; ` +
      `${RETENTION_CHOICES_DAYS.at(-1)} days is the failure queues' 14 days and one more, below which a message redriven from the click DLQ counts again:`,
    ...table(rows),
  ];
}

function fixedCostLines(): string[] {
  const edgeFloor = estimateCost('edge', NO_COUNTS).floor;
  const lines = [
    `fixed monthly charges, not per click (not in the totals above); spread over a steady ${AMORTISED_AT_CLICKS_PER_SECOND} clicks/s ` +
      `and the rate above which they add less than ${FIXED_SHARE_OF_FLOOR * 100} % of the floor:`,
  ];
  for (const mode of ['origin', 'edge'] as const) {
    const costs = fixedMonthlyCosts(mode);
    if (costs.length === 0) lines.push(`  ${mode}: none modelled (the SQS event source's empty receives are not in the model)`);
    for (const cost of costs) {
      lines.push(
        `  ${mode}: ${cost.item}: $${fixed(cost.dollarsPerMonth, 2)}/month${cost.unverified ? ' *' : ''}; ` +
          `$${fixed(amortisedPerMillionClicks(cost.dollarsPerMonth, AMORTISED_AT_CLICKS_PER_SECOND), 4)} per million clicks at ${AMORTISED_AT_CLICKS_PER_SECOND} clicks/s; ` +
          `under ${FIXED_SHARE_OF_FLOOR * 100} % of the edge floor above ${fixed(rateForShareOfFloor(cost.dollarsPerMonth, edgeFloor, FIXED_SHARE_OF_FLOOR), 0)} clicks/s`,
      );
    }
  }
  return lines;
}

function reportLines(origin: RedirectPath, workloads: readonly WorkloadUse[], edges: readonly EdgePath[], api: LambdaUsePerClick, seconds: number): string[] {
  const columns: Column[] = [
    ...workloads.map((workload) => ({ mode: 'origin' as const, name: workload.name, counts: originCounts(origin, api, workload) })),
    ...workloads.map((workload, index) => ({ mode: 'edge' as const, name: workload.name, counts: edgeCounts(edges[index], origin, api, workload) })),
  ].map((column) => ({ ...column, cost: estimateCost(column.mode, column.counts) }));
  const edgeFacts = edges
    .map(
      (edge) =>
        `${edge.name}: ${edge.clicks} visits, ${fixed(edge.answeredAtEdge * 100, 1)} % answered at the edge, ` +
        `${fixed(edge.toOrigin * 100, 1)} % at the origin, record ${fixed(edge.recordBytes, 0)} B, ` +
        `raw item ${fixed(edge.rawItemBytes, 0)} B (${fixed(edge.rawWriteUnits, 3)} write units a click), ` +
        `consumer batches of ${fixed(edge.clicks / Math.max(edge.enrichEdgeBatches, 1), 1)} clicks`,
    )
    .join('; ');
  return [
    `cost model, both modes (issue 11): origin: one local stack with the real handlers, ${origin.clicks.toLocaleString('en-US')} redirects ` +
      `through the front (${REDIRECT_CONCURRENCY} at a time), ${API_CALLS} statistics calls, ` +
      `${WORKLOAD_CLICKS.toLocaleString('en-US')} clicks per workload (the statistics bench's, steady at ${CLICKS_PER_SECOND.toLocaleString('en-US')} clicks/s); ` +
      `edge: a second stack (redirectMode=edge), each workload's first ${EDGE_CLICKS.toLocaleString('en-US')} clicks visited through the local edge`,
    `  origin redirect invocation: ${fixed(origin.redirectMs.response, 2)} ms to the response + ${fixed(origin.redirectMs.afterResponse, 2)} ms ` +
      `after it (the click's send, through the counting proxy, billed as on AWS) on average, ${origin.redirectMs.coldStarts} cold starts; ` +
      "durations are this machine's (2 shared cores, every function and emulator on them), not Lambda's",
    `  origin per click: the click log line ${fixed(origin.clickLineBytes, 0)} B, every function line ${fixed(origin.logBytes, 0)} B; ` +
      `raw click item ${workloads.map((workload) => `${workload.name} ${fixed(workload.rawItemBytes, 0)} B`).join(', ')}; ` +
      `${origin.sendBatches} SendMessageBatch for ${origin.clicks} clicks; ` +
      `enrich batches of ${fixed(origin.clicks / Math.max(origin.enrichBatches, 1), 1)} clicks on average`,
    `  edge: ${edgeFacts}`,
    ...table(countRows(columns, origin, edges)),
    '',
    ...table(costRows(columns)),
    `  floors: origin = ${FLOOR_DESCRIPTION.origin}; edge = ${FLOOR_DESCRIPTION.edge}`,
    '  * uses a price marked unverified in bench/cost/prices.ts: check it on the live AWS page before deciding on it',
    "  list prices, us-east-1, no free tier; not in the model: the event source's empty receives, dashboard reads' DynamoDB units,",
    '  log storage, data transfer (a redirect is a few hundred bytes), link and salt lookups (cached per environment, in both modes)',
    `  prices missing from the table: ${MISSING_PRICES.map((missing) => missing.item).join('; ')}`,
    '',
    ...retentionLines(columns),
    '',
    ...fixedCostLines(),
    `cost run took ${fixed(seconds, 0)} s`,
  ];
}

async function measureOriginMode(output: StackOutput): Promise<{ path: RedirectPath; api: LambdaUsePerClick; workloads: WorkloadUse[] }> {
  // The click queue as the redirect's environments reach it: through a proxy that keeps every request.
  const queueProxy = await startDynamoProxy('http://127.0.0.1:9');
  const sendRequests = (): readonly object[] => queueProxy.requests.filter((request) => request.operation === 'SendMessageBatch').map((request) => request.body);
  try {
    return await withMeteredStack(
      { endpointOverrides: { [FUNCTION_NAMES.redirect]: { AWS_ENDPOINT_URL_SQS: queueProxy.endpoint } }, verbose: true },
      async (stack) => {
        const queueEndpoint = process.env.AWS_ENDPOINT_URL_SQS;
        if (queueEndpoint === undefined) throw new Error('The local stack did not set AWS_ENDPOINT_URL_SQS');
        queueProxy.retarget(queueEndpoint);
        const path = await measureRedirectPath(stack, output, sendRequests);
        const api = scaled(await measureApiCall(stack, output), API_CALLS_PER_MILLION_CLICKS / MILLION);
        return { path, api, workloads: await measureWorkloads(stack, output) };
      },
    );
  } finally {
    await queueProxy.close();
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const output = new StackOutput();
  output.capture();
  const origin = await measureOriginMode(output);
  const edges = await measureEdgeMode(output);
  console.log(reportLines(origin.path, origin.workloads, edges, origin.api, (Date.now() - started) / 1000).join('\n'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
