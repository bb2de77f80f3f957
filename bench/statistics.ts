/**
 * The statistics bench (issue 3, points 7 and 8), on the embedded local stack with the real handlers:
 *
 * 1. Write cost per click of two steady workloads, a hot link and 1,000 links with Zipf(s=1)
 *    traffic: SQS-shaped batches of 100 click messages handed to the enrich handler as the clicks
 *    happen, at CLICKS_PER_SECOND (each stamped with its time), the aggregator fed by the stack's
 *    stream poller (the template's mapping: batch size, window, tumbling window), the rollup run
 *    through its schedule's target. The aggregation lag is the aggregator's own AggregationLag
 *    metric, read from its log lines: p50 and p99 over its batches. Write units and requests are counted
 *    from the ConsumedCapacity DynamoDB Local returns (ReturnConsumedCapacity=TOTAL is added to
 *    every write; production code does not ask for it): for the handlers called here, by a
 *    middleware on their document client; for the aggregator and the rollup, which the stack runs
 *    in execution environments of their own, by a proxy their DynamoDB endpoint is pointed at.
 * 2. The dashboard's default queries of a link (7 days hourly, 90 days daily, 12 months monthly)
 *    through the API handler in-process, with today not rolled up yet: p50/p99 latency, DynamoDB
 *    requests and read units per query, beside a single Query of the same level's items.
 *
 * `runStatisticsBench()` resolves with the lines to print; `node --import tsx bench/statistics.ts` runs it alone.
 */
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type AttributeValue, type ConsumedCapacity, DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateQuery } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, SQSEvent } from 'aws-lambda';
import { linkTarget, ownerTarget } from '../lambdas/domain/aggregate-state';
import type { ClickMessage } from '../lambdas/domain/click';
import { lastDayOfMonth } from '../lambdas/domain/buckets';
import * as api from '../lambdas/handlers/api';
import * as enrich from '../lambdas/handlers/enrich';
import { dynamoDocumentClient, isConditionalCheckFailed } from '../lambdas/shared/clients/dynamodb';
import { settleWithLimit } from '../lambdas/shared/concurrency';
import { isDayOver, type PendingRollup } from '../lambdas/domain/rollup';
import { parsePendingMarker } from '../lambdas/tables/pending-rollups';
import { putMonthlyItemUnlessNewer, queryMonthlyItems } from '../lambdas/tables/period-aggregates';
import { queryTargetRange } from '../lambdas/tables/target-range';
import { API_V8_OPTIONS } from '../lib/constructs/statistics-api';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../local/stack';
import type { EndpointOverrides } from '../local/lambda/functions';
import { ADMIN_OWNER, LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_REGION, METRIC } from '../lambdas/contract';
import { afterTodayInEveryZone } from '../test/fixtures/stack-client';
import { seededRandom } from '../test/fixtures/synthetic-traffic';
import { startDynamoProxy, type DynamoProxy } from '../test/fixtures/local/dynamo-proxy';
import { adoptHandlerEnvironment } from './handler-environment';
import { percentile, table } from './report';
import { syntheticClickMessages, zipfSampler } from './synthetic-clicks';

/** 0 skips the write-cost part (to measure the reads alone); BENCH_STATS_QUERIES=0 skips the reads. */
const WRITE_CLICKS = Number(process.env.BENCH_STATS_CLICKS ?? 30_000);
const VISITORS = Number(process.env.BENCH_STATS_VISITORS ?? 3_000);
const ZIPF_LINKS = 1_000;
/** The workloads' steady rate: the issue's hot link takes "thousands of clicks per second"; this is the low end. */
export const CLICKS_PER_SECOND = Number(process.env.BENCH_STATS_CLICKS_PER_SECOND ?? 1_000);
const READ_CLICKS = Number(process.env.BENCH_STATS_READ_CLICKS ?? 9_000);
const READ_DAYS = 90;
const READ_QUERIES = Number(process.env.BENCH_STATS_QUERIES ?? 300);
/** The hourly chart's default range. */
const HOURLY_DAYS = 7;
/** Clicks of today left for the rollup's next run. */
const LIVE_CLICKS = 50;
const GOAL_P99_MS = 50;
/** Untimed runs before each timed series. */
const WARMUP_RUNS = 20;
/** The enrich mapping's batch size. */
const ENRICH_BATCH = 100;
const ENRICH_CONCURRENCY = 4;
/** The rollup's schedule, rate(4 minutes). */
export const ROLLUP_PERIOD_SECONDS = 240;
/** The stack's reporting zone (the local stack's default). */
const REPORTING_TZ = 'UTC';
/** Per click, steady; a workload's goals, and the issue that set them. */
interface WriteGoal {
  readonly wcu: number;
  readonly writes: number;
  readonly issue: number;
}
/** The hot link's goal (issue 3). */
const HOT_LINK_GOAL: WriteGoal = { wcu: 1.3, writes: 0.1, issue: 3 };
/** The many-links goal (issue 11, point 5). */
const ZIPF_GOAL: WriteGoal = { wcu: 1.4, writes: 0.2, issue: 11 };
/** Aggregation lag at p99 over the aggregator's batches (issue 11, point 5). */
const GOAL_LAG_P99_MS = 10_000;
const GOAL_REQUESTS_PER_QUERY = 3;
const API_KEY = 'bench-key';
/** Matches the rollup function's logical ID: the control route runs the schedule that targets it. */
const ROLLUP_SCHEDULE_PREFIX = 'RollupFunction';
const MAX_ROLLUP_RUNS = 5;
const AGGREGATION_TIMEOUT_MS = 180_000;
/** The aggregator is done when its owner total is complete and no handler has sent a request for this long. */
const QUIET_MS = 1_000;
const DAY_MS = 86_400_000;
const RAM_DISK = '/dev/shm';

// ---------------------------------------------------------------------------------------------
// Counting what the handlers send

const METER_NAME = 'benchCommandMeter';
const READ_COMMANDS: ReadonlySet<string> = new Set(['GetItemCommand', 'QueryCommand', 'BatchGetItemCommand', 'ScanCommand']);
const WRITE_COMMANDS: ReadonlySet<string> = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'BatchWriteItemCommand',
  'TransactWriteItemsCommand',
]);

interface TableTally {
  writes: number;
  writeUnits: number;
  /** Write responses without ConsumedCapacity: their units are missing from writeUnits. */
  unreported: number;
  /** Conditional writes that lost: DynamoDB charges them but reports no capacity in the error. */
  failedConditions: number;
}

interface MeterSnapshot {
  /** Writes by table name. */
  readonly tables: ReadonlyMap<string, TableTally>;
  /** Requests by command name (PutItemCommand, QueryCommand, ...). */
  readonly commands: ReadonlyMap<string, number>;
  /** Read capacity units DynamoDB Local reported for the reads, all tables together. */
  readonly readUnits: number;
}

/** The tables a request names. */
function tablesOf(input: object): string[] {
  const { TableName, RequestItems } = input as { TableName?: unknown; RequestItems?: unknown };
  if (typeof TableName === 'string') return [TableName];
  return typeof RequestItems === 'object' && RequestItems !== null ? Object.keys(RequestItems) : [];
}

function consumedCapacities(output: object): ConsumedCapacity[] {
  const { ConsumedCapacity: consumed } = output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] };
  return consumed === undefined ? [] : Array.isArray(consumed) ? consumed : [consumed];
}

/** How a metered request ended: its output, or whether it failed a condition. */
type RequestEnd = (outcome: { readonly output?: object; readonly conditionFailed?: boolean }) => void;

/**
 * Every command counted, write capacity asked for and summed per table: from a middleware on the
 * in-process handlers' document client, and from the metering proxy (startMeteringProxy).
 */
class CommandMeter {
  private tables = new Map<string, TableTally>();
  private commands = new Map<string, number>();
  private readUnits = 0;
  private inFlight = 0;
  private lastActivityMs = 0;
  private client: DynamoDBDocumentClient | undefined;

  /** Meters the in-process handlers' client (once process.env names their endpoint: the client is cached by it). */
  attach(client: DynamoDBDocumentClient): void {
    this.client = client;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = context.commandName ?? 'unknown';
        const metered = WRITE_COMMANDS.has(command) || READ_COMMANDS.has(command);
        const end = this.begin(command, tablesOf(args.input));
        try {
          const result = await next(metered ? { ...args, input: { ...args.input, ReturnConsumedCapacity: 'TOTAL' } } : args);
          end({ output: result.output });
          return result;
        } catch (error) {
          end({ conditionFailed: isConditionalCheckFailed(error) });
          throw error;
        }
      },
      { step: 'initialize', name: METER_NAME },
    );
  }

  /** Counts a request (`PutItemCommand`, ...) as it starts; the returned function records how it ended. */
  begin(command: string, tables: readonly string[]): RequestEnd {
    const write = WRITE_COMMANDS.has(command);
    this.commands.set(command, (this.commands.get(command) ?? 0) + 1);
    if (write) for (const table of tables) this.tally(table).writes += 1;
    this.inFlight += 1;
    let ended = false;
    return ({ output, conditionFailed }) => {
      if (ended) return;
      ended = true;
      this.inFlight -= 1;
      this.lastActivityMs = Date.now();
      if (READ_COMMANDS.has(command)) {
        this.readUnits += consumedCapacities(output ?? {}).reduce((sum, consumed) => sum + (consumed.CapacityUnits ?? 0), 0);
      }
      if (!write) return;
      if (output !== undefined) this.recordCapacity(tables, output);
      else if (conditionFailed === true) for (const table of tables) this.tally(table).failedConditions += 1;
    };
  }

  /** What was counted since the last take; starts counting afresh. */
  take(): MeterSnapshot {
    const snapshot = { tables: this.tables, commands: this.commands, readUnits: this.readUnits };
    this.tables = new Map();
    this.commands = new Map();
    this.readUnits = 0;
    return snapshot;
  }

  /** Resolves once no request has been in flight or sent for quietMs. */
  async waitUntilQuiet(quietMs: number): Promise<void> {
    while (this.inFlight > 0 || Date.now() - this.lastActivityMs < quietMs) await sleep(100);
  }

  remove(): void {
    this.client?.middlewareStack.remove(METER_NAME);
    this.client = undefined;
  }

  private tally(table: string): TableTally {
    let tally = this.tables.get(table);
    if (tally === undefined) {
      tally = { writes: 0, writeUnits: 0, unreported: 0, failedConditions: 0 };
      this.tables.set(table, tally);
    }
    return tally;
  }

  private recordCapacity(tables: readonly string[], output: object): void {
    const consumed = consumedCapacities(output);
    if (consumed.length === 0) for (const table of tables) this.tally(table).unreported += 1;
    for (const { TableName, CapacityUnits } of consumed) this.tally(TableName ?? tables[0] ?? 'unknown').writeUnits += CapacityUnits ?? 0;
  }
}

/**
 * A proxy in front of DynamoDB Local for the functions the stack runs in their own processes: each
 * request is counted by the meter, and ReturnConsumedCapacity=TOTAL added to every read and write (DynamoDB
 * Local checks no signature), as the middleware does in this process. Its DynamoDB endpoint is set
 * (retarget) once the stack has started DynamoDB Local.
 */
async function startMeteringProxy(meter: CommandMeter): Promise<DynamoProxy> {
  const proxy = await startDynamoProxy('http://127.0.0.1:9');
  proxy.intercept(({ operation, body }) => {
    const command = `${operation}Command`;
    const end = meter.begin(command, tablesOf(body));
    return {
      body: WRITE_COMMANDS.has(command) || READ_COMMANDS.has(command) ? { ...body, ReturnConsumedCapacity: 'TOTAL' } : undefined,
      answer: (upstream) => {
        const errorType = String(upstream.__type ?? '');
        end(errorType === '' ? { output: upstream } : { conditionFailed: errorType.endsWith('ConditionalCheckFailedException') });
        return upstream;
      },
    };
  });
  return proxy;
}

// ---------------------------------------------------------------------------------------------
// Tables, item sizes, inspection (with a client of the bench's own, so nothing here is counted)

export interface Tables {
  readonly raw: string;
  readonly quarterHour: string;
  readonly pending: string;
  readonly daily: string;
  readonly monthly: string;
  readonly links: string;
}

function requiredEnvironment(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`The local stack did not set ${name}`);
  return value;
}

/** The names the functions were given (adoptHandlerEnvironment puts them in process.env). */
function stackTables(): Tables {
  return {
    raw: requiredEnvironment('RAW_CLICKS_TABLE_NAME'),
    quarterHour: requiredEnvironment('QUARTER_HOUR_TABLE_NAME'),
    pending: requiredEnvironment('PENDING_ROLLUPS_TABLE_NAME'),
    daily: requiredEnvironment('DAILY_TABLE_NAME'),
    monthly: requiredEnvironment('MONTHLY_TABLE_NAME'),
    links: requiredEnvironment('LINKS_TABLE_NAME'),
  };
}

function levelNames(tables: Tables): ReadonlyMap<string, string> {
  return new Map([
    [tables.raw, 'raw clicks'],
    [tables.quarterHour, 'quarter-hour'],
    [tables.pending, 'pending markers'],
    [tables.daily, 'daily'],
    [tables.monthly, 'monthly'],
  ]);
}

const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/** DynamoDB's rule: about one byte per two significant digits, plus one. */
function numberSize(text: string): number {
  const digits = text
    .replace(/^-/, '')
    .replace(/e.*$/i, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}

function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return utf8Bytes(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS !== undefined) return value.SS.reduce((sum, each) => sum + utf8Bytes(each), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, each) => sum + numberSize(each), 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, each) => sum + each.byteLength, 0);
  // A map or list: 3 bytes, and 1 more per element.
  if (value.M !== undefined) return Object.entries(value.M).reduce((sum, [name, each]) => sum + utf8Bytes(name) + valueSize(each) + 1, 3);
  if (value.L !== undefined) return value.L.reduce((sum, each) => sum + valueSize(each) + 1, 3);
  throw new Error(`Unknown attribute value type: ${Object.keys(value).join(', ')}`);
}

/** Stored size of an item by DynamoDB's item-size rules (attribute names count too). */
export function itemSizeBytes(item: Readonly<Record<string, AttributeValue>>): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + utf8Bytes(name) + valueSize(value), 0);
}

interface LargestItem {
  readonly target: string;
  readonly key: string;
  readonly bytes: number;
}

class Inspector {
  private readonly dynamo: DynamoDBClient;
  private readonly documents: DynamoDBDocumentClient;

  constructor(endpoint: string) {
    this.dynamo = new DynamoDBClient({ region: LOCAL_REGION, endpoint, credentials: LOCAL_CREDENTIALS });
    this.documents = DynamoDBDocumentClient.from(this.dynamo);
  }

  /** clicks + botClicks over every quarter-hour item of the target (all writers). */
  async quarterHourEvents(tableName: string, target: string): Promise<number> {
    let events = 0;
    const pages = paginateQuery(
      { client: this.documents },
      {
        TableName: tableName,
        KeyConditionExpression: '#target = :target',
        ProjectionExpression: '#clicks, #botClicks',
        ExpressionAttributeNames: { '#target': 'target', '#clicks': 'clicks', '#botClicks': 'botClicks' },
        ExpressionAttributeValues: { ':target': target },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) events += Number(item.clicks ?? 0) + Number(item.botClicks ?? 0);
    }
    return events;
  }

  /** The largest item whose target the predicate accepts; sortKey names the table's sort key. */
  async largestItem(tableName: string, sortKey: string, isTarget: (target: string) => boolean): Promise<LargestItem | null> {
    let largest: LargestItem | null = null;
    for await (const page of paginateScan({ client: this.dynamo }, { TableName: tableName })) {
      for (const item of page.Items ?? []) {
        const target = item.target?.S;
        if (target === undefined || !isTarget(target)) continue;
        const bytes = itemSizeBytes(item);
        if (largest === null || bytes > largest.bytes) largest = { target, key: item[sortKey]?.S ?? '?', bytes };
      }
    }
    return largest;
  }

  /** Pending markers left whose target the predicate accepts. */
  async pendingMarkers(tableName: string, counts: (pending: PendingRollup) => boolean): Promise<number> {
    let left = 0;
    for await (const page of paginateScan({ client: this.dynamo }, { TableName: tableName })) {
      for (const item of page.Items ?? []) {
        const marker = item.marker?.S;
        if (marker !== undefined && counts(parsePendingMarker(marker))) left += 1;
      }
    }
    return left;
  }

  destroy(): void {
    this.dynamo.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Driving the handlers

/** An SQS event as the enrich mapping delivers it. */
function sqsEvent(messages: readonly ClickMessage[]): SQSEvent {
  const sentAt = String(Date.now());
  return {
    Records: messages.map((message) => {
      const body = JSON.stringify(message);
      return {
        messageId: randomUUID(),
        receiptHandle: randomUUID(),
        body,
        attributes: { ApproximateReceiveCount: '1', SentTimestamp: sentAt, SenderId: 'bench', ApproximateFirstReceiveTimestamp: sentAt },
        messageAttributes: {},
        md5OfBody: createHash('md5').update(body).digest('hex'),
        eventSource: 'aws:sqs',
        eventSourceARN: `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:bench-clicks`,
        awsRegion: LOCAL_REGION,
      };
    }),
  };
}

/**
 * Batches of ENRICH_BATCH, ENRICH_CONCURRENCY invocations at a time (Lambda runs several at once too).
 * With `clicksPerSecond`, the clicks happen now at that rate: each is stamped with its time (as the
 * redirect stamps it) and no batch goes before its last click's time; otherwise they go as fast as they can.
 */
async function enrichInBatches(messages: readonly ClickMessage[], clicksPerSecond?: number): Promise<void> {
  const started = Date.now();
  const clickMs = (index: number): number => (clicksPerSecond === undefined ? 0 : started + (index * 1000) / clicksPerSecond);
  const batches: { messages: ClickMessage[]; dueMs: number }[] = [];
  for (let start = 0; start < messages.length; start += ENRICH_BATCH) {
    const batch = messages.slice(start, start + ENRICH_BATCH);
    batches.push({
      messages: clicksPerSecond === undefined ? batch : batch.map((message, offset) => ({ ...message, ts: new Date(clickMs(start + offset)).toISOString() })),
      dueMs: clickMs(start + batch.length - 1),
    });
  }
  const outcomes = await settleWithLimit(batches, ENRICH_CONCURRENCY, async ({ messages: batch, dueMs }) => {
    await sleep(Math.max(dueMs - Date.now(), 0));
    const { batchItemFailures } = await enrich.handler(sqsEvent(batch));
    if (batchItemFailures.length > 0) throw new Error(`enrich failed ${batchItemFailures.length} click(s) of a batch`);
  });
  const failure = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
}

/** An HTTP API (payload 2.0) event for the API function's `ANY /api/{proxy+}` route. */
function apiEvent(
  method: 'GET' | 'POST',
  rawPath: string,
  query: Readonly<Record<string, string>> = {},
  body?: string,
): APIGatewayProxyEventV2 {
  const now = new Date();
  return {
    version: '2.0',
    routeKey: 'ANY /api/{proxy+}',
    rawPath,
    rawQueryString: new URLSearchParams(query).toString(),
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', host: '127.0.0.1' },
    ...(Object.keys(query).length > 0 ? { queryStringParameters: { ...query } } : {}),
    pathParameters: { proxy: rawPath.replace(/^\/api\//, '') },
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: 'local',
      domainName: '127.0.0.1',
      domainPrefix: '127',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' },
      requestId: randomUUID(),
      routeKey: 'ANY /api/{proxy+}',
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...(body === undefined ? {} : { body }),
    isBase64Encoded: false,
  };
}

function responseJson(response: APIGatewayProxyStructuredResultV2, expectedStatus: number): Record<string, unknown> {
  if (response.statusCode !== expectedStatus) {
    throw new Error(`API answered ${response.statusCode}, expected ${expectedStatus}: ${response.body ?? ''}`);
  }
  return JSON.parse(response.body ?? '{}') as Record<string, unknown>;
}

/**
 * Runs the rollup's schedule now through the stack's control route (its target, Scheduled Event and
 * Lambda context), as the run scheduled at `runTime`.
 */
async function runRollup(baseUrl: string, runTime: Date): Promise<number> {
  const started = process.hrtime.bigint();
  const response = await fetch(`${baseUrl}/_local/schedules/${ROLLUP_SCHEDULE_PREFIX}/run?at=${runTime.toISOString()}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}` },
  });
  const body = (await response.json()) as { runs?: { ok: boolean; error?: string }[] };
  const failed = (body.runs ?? []).find((run) => !run.ok);
  if (!response.ok || failed !== undefined) throw new Error(`The rollup run failed: ${response.status} ${JSON.stringify(body)}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

// ---------------------------------------------------------------------------------------------
// Formatting

const integer = (value: number): string => Math.round(value).toLocaleString('en-US');
const decimal = (value: number, digits: number): string =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const commandLabel = (command: string): string => command.replace(/Command$/, '');



// ---------------------------------------------------------------------------------------------
// 1. Write cost per click

export interface WriteWorkload {
  readonly name: string;
  readonly description: string;
  readonly messages: readonly ClickMessage[];
  readonly owner: string;
  /** The targets (links and owner) of this workload, to tell its items from the others'. */
  readonly isTarget: (target: string) => boolean;
  readonly goal: WriteGoal;
}

/** `clicks` clicks; measureWrites feeds them at CLICKS_PER_SECOND, stamping each with its time then. */
function steadyClicks(clicks: number, codeOf: (index: number) => string, owner: string, seed: number): ClickMessage[] {
  return syntheticClickMessages(clicks, { codeOf, owner, visitors: VISITORS, seed });
}

export function hotLinkWorkload(clicks = WRITE_CLICKS): WriteWorkload {
  const code = 'hot-link';
  const owner = 'bench-hot';
  return {
    name: 'hot link',
    description: `${integer(clicks)} clicks on 1 link from ${integer(VISITORS)} visitors`,
    messages: steadyClicks(clicks, () => code, owner, 11),
    owner,
    isTarget: (target) => target === linkTarget(code) || target === ownerTarget(owner),
    goal: HOT_LINK_GOAL,
  };
}

export function zipfWorkload(clicks = WRITE_CLICKS): WriteWorkload {
  const owner = 'bench-zipf';
  const rank = zipfSampler(ZIPF_LINKS, 1, seededRandom(29));
  return {
    name: 'Zipf',
    description:
      `${integer(clicks)} clicks on ${integer(ZIPF_LINKS)} links of one owner, Zipf(s=1) popularity, ` +
      `from ${integer(VISITORS)} visitors`,
    messages: steadyClicks(clicks, () => `zipf-${rank()}`, owner, 23),
    owner,
    isTarget: (target) => target.startsWith(linkTarget('zipf-')) || target === ownerTarget(owner),
    goal: ZIPF_GOAL,
  };
}

export interface StackContext {
  readonly baseUrl: string;
  /** The key the stack's API and control routes take. */
  readonly apiKey: string;
  readonly tables: Tables;
  readonly meter: CommandMeter;
  readonly inspector: Inspector;
  /** Edge mode only (LocalStack.clickStream). */
  readonly clickStream?: LocalStack['clickStream'];
  /** Every AggregationLag the aggregator has published (its EMF log lines), in order. */
  readonly aggregationLagsMs: readonly number[];
}

/**
 * Hands the clicks to enrich (at `clicksPerSecond` when given) and waits until the aggregator has
 * applied every one and gone quiet; `countedBefore` is what the owner's quarter-hour items held already.
 * Resolves with how long enrich took.
 */
async function ingest(stack: StackContext, messages: readonly ClickMessage[], owner: string, countedBefore = 0, clicksPerSecond?: number): Promise<number> {
  const feeding = Date.now();
  await enrichInBatches(messages, clicksPerSecond);
  const feedSeconds = (Date.now() - feeding) / 1000;
  const deadline = Date.now() + AGGREGATION_TIMEOUT_MS;
  const expected = countedBefore + messages.length;
  let applied = 0;
  while ((applied = await stack.inspector.quarterHourEvents(stack.tables.quarterHour, ownerTarget(owner))) < expected) {
    if (Date.now() > deadline) {
      throw new Error(`The aggregator applied ${applied - countedBefore} of ${messages.length} clicks in ${AGGREGATION_TIMEOUT_MS / 1000} s`);
    }
    await sleep(500);
  }
  if (applied > expected) throw new Error(`The aggregator counted ${applied - countedBefore} clicks for ${messages.length} sent`);
  await stack.meter.waitUntilQuiet(QUIET_MS);
  return feedSeconds;
}

interface RollupRuns {
  readonly runs: number;
  readonly ms: number;
}

/**
 * Runs the rollup as scheduled at `runTime` until no marker of the workload's days over by then is left:
 * one run does them all unless it nears its Lambda timeout (a slow machine), when it leaves the rest to
 * the next run, as in AWS. Days not over stay pending (lambdas/handlers/rollup.ts).
 */
async function rollUpAll(stack: StackContext, isTarget: (target: string) => boolean, runTime = new Date()): Promise<RollupRuns> {
  const due = ({ target, day }: PendingRollup): boolean => isTarget(target) && isDayOver(day, REPORTING_TZ, runTime.getTime());
  let ms = 0;
  for (let runs = 1; runs <= MAX_ROLLUP_RUNS; runs++) {
    ms += await runRollup(stack.baseUrl, runTime);
    if ((await stack.inspector.pendingMarkers(stack.tables.pending, due)) === 0) return { runs, ms };
  }
  throw new Error(`${MAX_ROLLUP_RUNS} rollup runs left pending markers`);
}

interface Totals {
  readonly units: number;
  readonly writes: number;
}

/** Per click, steady: the rollup's writes and the aggregator's marks are made per (target, day) and period, not per click. */
export interface SteadyPerClick extends Totals {
  /** Read units the pipeline's own reads took (the aggregator's marker reads, the rollup's), not the dashboard's. */
  readonly readUnits: number;
}

function writeTotals(snapshot: MeterSnapshot): Totals {
  const tallies = [...snapshot.tables.values()];
  return {
    units: tallies.reduce((sum, tally) => sum + tally.writeUnits, 0),
    writes: tallies.reduce((sum, tally) => sum + tally.writes, 0),
  };
}

export interface WriteMeasurement {
  readonly ingestSeconds: number;
  /** How long enrich took to take the clicks, paced at CLICKS_PER_SECOND. */
  readonly feedSeconds: number;
  /** The AggregationLag of each aggregator batch of the workload, sorted. */
  readonly lagsMs: readonly number[];
  /** What enrich and the aggregator sent. */
  readonly streamed: MeterSnapshot;
  /** What a rollup run sent while the workload's day went on: every 4 minutes, it lists the markers and leaves them. */
  readonly rolledDuringDay: MeterSnapshot;
  readonly rollupDuringDay: RollupRuns;
  /** What the rollup runs after the day's end sent: each of the workload's (target, day) rolled up once. */
  readonly rolledAfterDay: MeterSnapshot;
  readonly rollupAfterDay: RollupRuns;
  readonly largestQuarter: LargestItem | null;
  readonly largestDaily: LargestItem | null;
}

export async function measureWrites(stack: StackContext, workload: WriteWorkload): Promise<WriteMeasurement> {
  const { tables, inspector, meter } = stack;
  meter.take();
  const started = Date.now();
  const lagsBefore = stack.aggregationLagsMs.length;
  // At the steady rate, so the aggregator's batches are cut as the mapping cuts them at that rate.
  const feedSeconds = await ingest(stack, workload.messages, workload.owner, 0, CLICKS_PER_SECOND);
  const ingestSeconds = (Date.now() - started) / 1000;
  const lagsMs = stack.aggregationLagsMs.slice(lagsBefore).sort((a, b) => a - b);
  const streamed = meter.take();
  const rollupDuringDay = await rollUpAll(stack, workload.isTarget);
  const rolledDuringDay = meter.take();
  // As the first run after the day ends in every zone: the clicks' days are over.
  const rollupAfterDay = await rollUpAll(stack, workload.isTarget, afterTodayInEveryZone());
  const rolledAfterDay = meter.take();
  return {
    ingestSeconds,
    feedSeconds,
    lagsMs,
    streamed,
    rolledDuringDay,
    rollupDuringDay,
    rolledAfterDay,
    rollupAfterDay,
    largestQuarter: await inspector.largestItem(tables.quarterHour, 'slot', workload.isTarget),
    largestDaily: await inspector.largestItem(tables.daily, 'day', workload.isTarget),
  };
}

/** Clicks between two rollup runs, and in a day, at the steady rate. */
interface Spread {
  readonly runClicks: number;
  readonly dayClicks: number;
}

/**
 * Per click, with a run during the day spread over `runClicks`, and the run after the day's end and the
 * aggregator's marks over `dayClicks`: the aggregator marks a (target, day) when it has no marker or a
 * rollup has claimed it, and no rollup claims a day before it ends, so it marks a day once.
 */
function perClick(measurement: WriteMeasurement, clicks: number, pendingTable: string, { runClicks, dayClicks }: Spread): SteadyPerClick {
  const stream = writeTotals(measurement.streamed);
  const during = writeTotals(measurement.rolledDuringDay);
  const after = writeTotals(measurement.rolledAfterDay);
  const marks = measurement.streamed.tables.get(pendingTable) ?? { writeUnits: 0, writes: 0 };
  return {
    units: (stream.units - marks.writeUnits) / clicks + during.units / runClicks + (after.units + marks.writeUnits) / dayClicks,
    writes: (stream.writes - marks.writes) / clicks + during.writes / runClicks + (after.writes + marks.writes) / dayClicks,
    readUnits:
      measurement.streamed.readUnits / clicks + measurement.rolledDuringDay.readUnits / runClicks + measurement.rolledAfterDay.readUnits / dayClicks,
  };
}

/** At CLICKS_PER_SECOND: the clicks a rollup run's and a day's work are spread over. */
// A day's clicks: the rollup rolls each (target, day) up once, after the day ends (lambdas/handlers/rollup.ts).
export const STEADY_SPREAD: Spread = { runClicks: CLICKS_PER_SECOND * ROLLUP_PERIOD_SECONDS, dayClicks: (CLICKS_PER_SECOND * DAY_MS) / 1000 };

/** The workload's steady figures per click, its rollup runs amortised at CLICKS_PER_SECOND. */
export function steadyPerClick(workload: WriteWorkload, measurement: WriteMeasurement, tables: Tables): SteadyPerClick {
  return perClick(measurement, workload.messages.length, tables.pending, STEADY_SPREAD);
}

function writeCostLines(workload: WriteWorkload, measurement: WriteMeasurement, tables: Tables): string[] {
  const { ingestSeconds, feedSeconds, lagsMs, streamed, rolledDuringDay, rollupDuringDay, rolledAfterDay, rollupAfterDay, largestQuarter, largestDaily } =
    measurement;
  const { goal } = workload;
  const clicks = workload.messages.length;
  const levels = levelNames(tables);
  const rows: string[][] = [['level (written by)', 'WCU/click', 'writes/click', 'WCU', 'writes']];
  const addRows = (snapshot: MeterSnapshot, writerOf: (tableName: string) => string): void => {
    for (const [tableName, tally] of snapshot.tables) {
      if (tally.writes === 0) continue;
      rows.push([
        `${levels.get(tableName) ?? tableName} (${writerOf(tableName)})`,
        decimal(tally.writeUnits / clicks, 4),
        decimal(tally.writes / clicks, 4),
        integer(tally.writeUnits),
        integer(tally.writes),
      ]);
    }
  };
  addRows(streamed, (tableName) => (tableName === tables.raw ? 'enrich' : 'aggregate'));
  addRows(rolledDuringDay, () => 'rollup, during the day');
  addRows(rolledAfterDay, () => 'rollup, after the day');

  const during = writeTotals(rolledDuringDay);
  const after = writeTotals(rolledAfterDay);
  const marks = streamed.tables.get(tables.pending) ?? { writeUnits: 0, writes: 0 };
  const measured = perClick(measurement, clicks, tables.pending, { runClicks: clicks, dayClicks: clicks });
  const steady = steadyPerClick(workload, measurement, tables);
  const runsMade = (runs: number): string => (runs === 1 ? '1 run' : `${runs} runs`);
  rows.push([`total, measured (with both rollups)`, decimal(measured.units, 4), decimal(measured.writes, 4)]);
  const steadyLabel = `total, steady (rollup and marks amortised at ${integer(CLICKS_PER_SECOND)} clicks/s)`;
  rows.push([steadyLabel, decimal(steady.units, 4), decimal(steady.writes, 4)]);

  const met = (totals: Totals): string => (totals.units <= goal.wcu && totals.writes <= goal.writes ? 'met' : 'NOT met');
  const seconds = (ms: number): string => `${decimal(ms / 1000, 1)} s`;
  const lagP99 = lagsMs.length === 0 ? NaN : percentile(lagsMs, 0.99);
  const rolled = [rolledDuringDay, rolledAfterDay];
  const all = [streamed, ...rolled].flatMap((snapshot) => [...snapshot.tables.values()]);
  const writeResponses = all.reduce((sum, tally) => sum + tally.writes - tally.failedConditions, 0);
  const unreported = all.reduce((sum, tally) => sum + tally.unreported, 0);
  const failedConditions = all.reduce((sum, tally) => sum + tally.failedConditions, 0);
  const reads = new Map<string, number>();
  for (const [command, count] of [streamed, ...rolled].flatMap((snapshot) => [...snapshot.commands])) {
    if (!WRITE_COMMANDS.has(command)) reads.set(command, (reads.get(command) ?? 0) + count);
  }
  const readRequests = [...reads.values()].reduce((sum, count) => sum + count, 0);
  const describeItem = (item: LargestItem | null): string => {
    if (item === null) return 'none';
    // A quarter-hour slot is `${quarter}#${writer}`: the quarter says enough.
    return `${integer(item.bytes)} B (${item.target}, ${item.key.split('#')[0]}): ${Math.ceil(item.bytes / 1024)} WCU a write`;
  };

  return [
    `${workload.name}: ${workload.description}`,
    `  enrich got ${integer(Math.ceil(clicks / ENRICH_BATCH))} batches of ${ENRICH_BATCH} (${ENRICH_CONCURRENCY} at a time) paced at ` +
      `${integer(CLICKS_PER_SECOND)} clicks/s: taken in ${decimal(feedSeconds, 1)} s (${integer(clicks / feedSeconds)} clicks/s); ` +
      `the aggregator got the stream poller's batches; all counted ${decimal(ingestSeconds, 1)} s after the first click`,
    ...table(rows),
    `  goal (issue ${goal.issue}) ≤ ${goal.wcu} WCU and ≤ ${goal.writes} writes per click: steady ${met(steady)}, measured ${met(measured)}`,
    `  aggregator: ${integer(lagsMs.length)} batches, ${integer(clicks / Math.max(lagsMs.length, 1))} clicks a batch on average; ` +
      `aggregation lag (AggregationLag) p50 ${seconds(percentile(lagsMs, 0.5))}, p99 ${seconds(lagP99)}, ` +
      `max ${seconds(lagsMs.at(-1) ?? NaN)}: goal p99 ≤ ${seconds(GOAL_LAG_P99_MS)} ${lagP99 <= GOAL_LAG_P99_MS ? 'met' : 'NOT met'}`,
    `  rollup during the day (every ${ROLLUP_PERIOD_SECONDS / 60} min; the day's markers stay): ${runsMade(rollupDuringDay.runs)}, ` +
      `${integer(rollupDuringDay.ms)} ms, ${integer(during.units)} WCU in ${integer(during.writes)} writes, ` +
      `${decimal(rolledDuringDay.readUnits, 1)} RCU; at ${integer(CLICKS_PER_SECOND)} clicks/s a run covers ${integer(STEADY_SPREAD.runClicks)} clicks`,
    `  rollup after the day ends (each (target, day) once): ${runsMade(rollupAfterDay.runs)}, ${integer(rollupAfterDay.ms)} ms, ` +
      `${integer(after.units)} WCU in ${integer(after.writes)} writes, ${decimal(rolledAfterDay.readUnits, 1)} RCU: ` +
      `${decimal(after.units / clicks, 4)} WCU/click over these ${integer(clicks)} clicks (measured); with the aggregator's marks, ` +
      `${((after.units + marks.writeUnits) / STEADY_SPREAD.dayClicks).toExponential(1)} WCU/click over a day at ${integer(CLICKS_PER_SECOND)} clicks/s (steady)`,
    unreported === 0
      ? `  DynamoDB Local reported ConsumedCapacity on all ${integer(writeResponses)} write responses`
      : `  WARNING: ${integer(unreported)} of ${integer(writeResponses)} write responses carried no ConsumedCapacity: ` +
        'their units are missing above',
    ...(failedConditions > 0
      ? [`  ${integer(failedConditions)} conditional write(s) lost: DynamoDB charges them but reports no capacity, so they are not above`]
      : []),
    `  reads (outside the goal): ${decimal(readRequests / clicks, 4)} requests/click (` +
      `${[...reads].map(([command, count]) => `${commandLabel(command)} ${integer(count)}`).join(', ')})`,
    "  largest stored items (DynamoDB's item-size rule):",
    `    quarter-hour ${describeItem(largestQuarter)}`,
    `    daily ${describeItem(largestDaily)}`,
    '',
  ];
}

// ---------------------------------------------------------------------------------------------
// 2. Dashboard reads

const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const monthOf = (ms: number): string => new Date(ms).toISOString().slice(0, 7);
/** 'YYYY-MM' of the month `months` before the one holding `ms` (UTC). */
const monthsBefore = (ms: number, months: number): string => {
  const at = new Date(ms);
  return monthOf(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() - months, 1));
};

/** Sorted durations of `runs` sequential calls, after WARMUP_RUNS untimed ones. */
async function timeSequentially(runs: number, operation: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < WARMUP_RUNS; i++) await operation();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    await operation();
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return samples.sort((a, b) => a - b);
}

interface StatsAnswer {
  readonly source?: string;
  readonly series?: readonly unknown[];
  readonly totals?: { readonly clicks: number; readonly botClicks: number };
}

/** One of the dashboard's default queries, and the single Query of the items it reads that it is compared with. */
interface DashboardQuery {
  readonly name: string;
  readonly query: Readonly<Record<string, string>>;
  readonly baseline: { readonly tableName: string; readonly sortKey: string; readonly first: string; readonly last: string };
}

interface ReadMeasurement {
  readonly query: DashboardQuery;
  readonly answer: StatsAnswer;
  readonly handlerMs: readonly number[];
  readonly baselineMs: readonly number[];
  readonly requests: number;
  readonly byCommand: string;
  readonly readUnits: number;
  readonly baselineReadUnits: number;
}

/**
 * Monthly items for the months before the clicks (older than the quarter-hour level keeps), copied
 * from a month the rollup wrote: the 12-month query then reads twelve real-sized items.
 */
async function olderMonths(tables: Tables, target: string, templateMonth: string, months: readonly string[]): Promise<void> {
  const [template] = await queryMonthlyItems(tables.monthly, target, templateMonth, templateMonth, { consistentRead: true });
  if (template === undefined) throw new Error(`No monthly item of ${target} for ${templateMonth} to copy`);
  for (const period of months) {
    // A closed month's item: its latest day is its own, and it holds no month without that day.
    const item = { ...template, period, latestDay: lastDayOfMonth(period), withoutLatestDay: undefined, updatedAt: new Date().toISOString() };
    if (!(await putMonthlyItemUnlessNewer(tables.monthly, item))) {
      throw new Error(`The monthly item of ${target} for ${period} was not written`);
    }
  }
}

async function measureRead(stack: StackContext, code: string, dashboardQuery: DashboardQuery): Promise<ReadMeasurement> {
  const { meter } = stack;
  const event = (): APIGatewayProxyEventV2 => apiEvent('GET', `/api/links/${code}/stats`, dashboardQuery.query);
  const answer: StatsAnswer = responseJson(await api.handler(event()), 200);
  meter.take();
  const handlerMs = await timeSequentially(READ_QUERIES, async () => responseJson(await api.handler(event()), 200));
  const handled = meter.take();
  const client = dynamoDocumentClient();
  const range = { ...dashboardQuery.baseline, target: linkTarget(code) };
  const baselineMs = await timeSequentially(READ_QUERIES, () => queryTargetRange(client, range, (item) => item));
  const baseline = meter.take();
  const queries = WARMUP_RUNS + READ_QUERIES;
  const requests = [...handled.commands.values()].reduce((sum, count) => sum + count, 0) / queries;
  return {
    query: dashboardQuery,
    answer,
    handlerMs,
    baselineMs,
    requests,
    byCommand: [...handled.commands].map(([command, count]) => `${commandLabel(command)} ${decimal(count / queries, 2)}`).join(', '),
    readUnits: handled.readUnits / queries,
    baselineReadUnits: baseline.readUnits / queries,
  };
}

async function dashboardReads(stack: StackContext): Promise<string[]> {
  const { tables } = stack;
  const code = 'dashboard-reads';
  const owner = ADMIN_OWNER;
  const created = await api.handler(apiEvent('POST', '/api/links', {}, JSON.stringify({ url: 'https://example.com/stats', code })));
  responseJson(created, 201);

  // READ_CLICKS over the last 90 days (UTC, the reporting zone), today included, rolled up by the real
  // rollup. The last 7 days' clicks are spread over every quarter-hour, as the hourly chart reads them;
  // older days' clicks fall in their first hour, which keeps the preparation short and their daily
  // items the same. Then a few clicks of today that the rollup has not seen: the usual state of a
  // live link, whose day and month queries read today from the quarter-hour level.
  const nowMs = Date.now();
  const todayStart = Math.floor(nowMs / DAY_MS) * DAY_MS;
  const firstMs = todayStart - (READ_DAYS - 1) * DAY_MS;
  const hourlyFromMs = nowMs - HOURLY_DAYS * DAY_MS;
  const spanMs = nowMs - 120_000 - firstMs;
  const clickTime = (index: number): Date => {
    const spread = firstMs + Math.floor((index * spanMs) / READ_CLICKS);
    if (spread >= hourlyFromMs) return new Date(spread);
    const dayStart = Math.floor(spread / DAY_MS) * DAY_MS;
    return new Date(dayStart + Math.floor((spread - dayStart) / 24));
  };
  const messages = syntheticClickMessages(READ_CLICKS, { codeOf: () => code, owner, visitors: VISITORS, tsOf: clickTime, seed: 37 });
  const preparing = Date.now();
  const ownerCountedBefore = await stack.inspector.quarterHourEvents(tables.quarterHour, ownerTarget(owner));
  await ingest(stack, messages, owner, ownerCountedBefore);
  await rollUpAll(stack, (target) => target === linkTarget(code) || target === ownerTarget(owner));
  const olderMonthList = Array.from({ length: 12 }, (_, index) => monthsBefore(nowMs, index + 1)).filter((month) => month < monthOf(firstMs));
  await olderMonths(tables, linkTarget(code), monthsBefore(nowMs, 1), olderMonthList);
  const live = syntheticClickMessages(LIVE_CLICKS, { codeOf: () => code, owner, visitors: VISITORS, tsOf: () => new Date(nowMs - 60_000), seed: 41 });
  await ingest(stack, live, owner, ownerCountedBefore + READ_CLICKS);
  const prepareSeconds = (Date.now() - preparing) / 1000;

  const nowIso = new Date(nowMs).toISOString();
  const week: DashboardQuery = {
    name: '7 days hourly',
    query: { granularity: 'hour', from: new Date(hourlyFromMs).toISOString(), to: nowIso },
    baseline: { tableName: tables.quarterHour, sortKey: 'slot', first: new Date(hourlyFromMs - 3_600_000).toISOString().slice(0, 16), last: `${nowIso.slice(0, 16)}~` },
  };
  const days: DashboardQuery = {
    name: '90 days daily',
    query: { granularity: 'day', from: dayOf(firstMs), to: dayOf(todayStart + DAY_MS) },
    baseline: { tableName: tables.daily, sortKey: 'day', first: dayOf(firstMs), last: dayOf(todayStart) },
  };
  const year: DashboardQuery = {
    name: '12 months monthly',
    query: { granularity: 'month', from: `${monthsBefore(nowMs, 11)}-01`, to: nowIso },
    baseline: { tableName: tables.monthly, sortKey: 'month', first: monthsBefore(nowMs, 12), last: monthOf(nowMs) },
  };
  const measured: ReadMeasurement[] = [];
  for (const query of [week, days, year]) measured.push(await measureRead(stack, code, query));

  const expectedClicks = READ_CLICKS + LIVE_CLICKS;
  const latency = (samples: readonly number[], p: number): string => decimal(percentile(samples, p), 2);
  const rows: string[][] = [
    ['query (source)', 'p50 ms', 'p99 ms', 'one Query p50', 'p99', 'ratio p50', 'p99', 'requests', 'RCU', 'one Query RCU', 'goal'],
  ];
  const notes: string[] = [];
  for (const m of measured) {
    const p99 = percentile(m.handlerMs, 0.99);
    const met = p99 <= GOAL_P99_MS && m.requests <= GOAL_REQUESTS_PER_QUERY;
    rows.push([
      `${m.query.name} (${String(m.answer.source)}, ${m.answer.series?.length ?? 0} buckets)`,
      latency(m.handlerMs, 0.5),
      latency(m.handlerMs, 0.99),
      latency(m.baselineMs, 0.5),
      latency(m.baselineMs, 0.99),
      decimal(percentile(m.handlerMs, 0.5) / percentile(m.baselineMs, 0.5), 2),
      decimal(p99 / percentile(m.baselineMs, 0.99), 2),
      decimal(m.requests, 2),
      decimal(m.readUnits, 1),
      decimal(m.baselineReadUnits, 1),
      met ? 'met' : 'NOT met',
    ]);
    notes.push(
      `  ${m.query.name}: ${m.byCommand}; slowest 4: ${m.handlerMs.slice(-4).map((ms) => decimal(ms, 1)).join(', ')} ms; ` +
        `?${new URLSearchParams(m.query.query).toString()}`,
    );
    // Every click sent is in the 90 days; the hourly week holds fewer, the year adds the copied months.
    const counted = (m.answer.totals?.clicks ?? 0) + (m.answer.totals?.botClicks ?? 0);
    const expected = m.query === days ? counted === expectedClicks : m.query === year ? counted > expectedClicks : counted <= expectedClicks;
    if (!expected) throw new Error(`${m.query.name} counted ${counted} clicks; ${expectedClicks} were sent in the 90 days`);
  }
  return [
    `dashboard reads (issue 10): GET /api/links/${code}/stats through the API handler in-process, admin key, ${READ_QUERIES} sequential queries each after ${WARMUP_RUNS} untimed`,
    `  ${integer(READ_CLICKS)} clicks over ${READ_DAYS} days rolled up (the last ${HOURLY_DAYS} in every quarter-hour), ${LIVE_CLICKS} of today not yet, ` +
      `${olderMonthList.length} older monthly items (prepared in ${decimal(prepareSeconds, 1)} s)`,
    '  one Query = the same items read by a single Query of the level the period mostly comes from, in the same run;',
    '  requests and RCU (read capacity units DynamoDB Local reports) per query; goals: p99 <= 50 ms and <= 3 requests per query',
    ...table(rows),
    ...notes,
    '',
  ];
}

// ---------------------------------------------------------------------------------------------

/** The value of a metric in a function's log line, when the line is an EMF document that holds it. */
function publishedMetric(line: string, name: string): number | undefined {
  if (!line.startsWith('{') || !line.includes('"_aws"')) return undefined;
  const value = (JSON.parse(line) as Record<string, unknown>)[name];
  return typeof value === 'number' ? value : undefined;
}

export interface MeteredStackOptions {
  /** Endpoint variables of further functions the stack runs itself (e.g. a proxy in front of the click queue). */
  readonly endpointOverrides?: EndpointOverrides;
  /** Prints the functions' own log lines too, as LOCAL_VERBOSE=1 does. */
  readonly verbose?: boolean;
  /** CDK context for the stack's synth (e.g. `redirectMode: 'edge'`). */
  readonly context?: LocalStackOptions['context'];
  /** Further functions the stack runs whose DynamoDB requests are metered through the proxy (logical IDs without their hash). */
  readonly meteredFunctions?: readonly string[];
}

/**
 * Starts a local stack whose DynamoDB requests are metered (the in-process handlers' through their
 * client, the aggregator's and the rollup's through a proxy), runs `measure` on it, stops it.
 */
export async function withMeteredStack<T>(options: MeteredStackOptions, measure: (stack: StackContext) => Promise<T>): Promise<T> {
  // DynamoDB Local keeps its tables in SQLite files under the data folder: on a RAM disk the bench
  // measures the handlers and the emulator, not the disk's fsyncs (writes were 4x slower on disk).
  const dataDir = await mkdtemp(path.join(existsSync(RAM_DISK) ? RAM_DISK : tmpdir(), 'click-bench-statistics-'));
  const stackLog: string[] = [];
  const aggregationLagsMs: number[] = [];
  try {
    const meter = new CommandMeter();
    const proxy = await startMeteringProxy(meter);
    const viaProxy = { AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint };
    const metered = ['AggregateFunction', 'RollupFunction', ...(options.meteredFunctions ?? [])];
    const endpointOverrides: EndpointOverrides = {
      ...options.endpointOverrides,
      ...Object.fromEntries(metered.map((functionName) => [functionName, { ...options.endpointOverrides?.[functionName], ...viaProxy }])),
    };
    // The emulated TTL deletion scans every TTL table once a minute, stalling DynamoDB Local for a
    // moment: a read timed then is slowed by the emulator, as no read on AWS is by TTL. Nothing here
    // waits for an expiry, so the sweep is left for after the bench.
    process.env.TTL_SWEEP_INTERVAL_SECONDS ??= String(24 * 3600);
    const localStack = await startLocalStack({
      port: 0,
      dataDir,
      apiKey: API_KEY,
      trustProxy: false,
      log: (line) => stackLog.push(line),
      // The functions the stack invokes itself are metered through the proxy; enrich and the API are called in this process.
      endpointOverrides,
      verbose: options.verbose,
      context: options.context,
      functionOutput: (functionName, line) => {
        const lag = functionName.startsWith('AggregateFunction') ? publishedMetric(line, METRIC.aggregationLag) : undefined;
        if (lag !== undefined) aggregationLagsMs.push(lag);
      },
    }).catch(async (error: unknown) => {
      await proxy.close();
      throw error;
    });
    proxy.retarget(localStack.functionEnvironment.AWS_ENDPOINT_URL_DYNAMODB);
    adoptHandlerEnvironment(localStack);
    meter.attach(dynamoDocumentClient());
    const inspector = new Inspector(requiredEnvironment('AWS_ENDPOINT_URL_DYNAMODB'));
    try {
      return await measure({
        baseUrl: localStack.baseUrl,
        apiKey: API_KEY,
        tables: stackTables(),
        meter,
        inspector,
        clickStream: localStack.clickStream,
        aggregationLagsMs,
      });
    } finally {
      meter.remove();
      inspector.destroy();
      await localStack.stop();
      await proxy.close();
    }
  } catch (error) {
    if (stackLog.length > 0) console.error(`local stack log:\n${stackLog.join('\n')}`);
    throw error;
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Starts a local stack of its own, runs both parts, stops it; resolves with the report's lines. */
export async function runStatisticsBench(): Promise<string[]> {
  const started = Date.now();
  return withMeteredStack({}, async (stack) => {
    // The reads first, while the emulator holds little else: the write workloads leave 40,000 clicks
    // behind, and the stack's background work over them (the scheduled rollup, the TTL sweeper's scans)
    // stalls DynamoDB Local for hundreds of milliseconds at a time, which DynamoDB on AWS would not.
    const lines = READ_QUERIES > 0 ? await dashboardReads(stack) : [];
    lines.push(
      'statistics (issue 3): the local stack with the real handlers; WCU = write capacity units as DynamoDB Local reports them',
      '  (the bench adds ReturnConsumedCapacity=TOTAL to every write), writes = write requests (a BatchWriteItem of 25 is one)',
      '',
    );
    for (const workload of WRITE_CLICKS > 0 ? [hotLinkWorkload(), zipfWorkload()] : []) {
      lines.push(...writeCostLines(workload, await measureWrites(stack, workload), stack.tables));
    }
    lines.push(`statistics bench took ${integer((Date.now() - started) / 1000)} s`, '');
    return lines;
  });
}

/** Run alone, the handlers' JSON log lines and metrics, and the stack's REPORT lines, are dropped so the report stays readable. */
function dropJsonLogLines(): void {
  const write = process.stdout.write.bind(process.stdout) as (...args: unknown[]) => boolean;
  process.stdout.write = ((chunk: unknown, ...rest: unknown[]): boolean =>
    typeof chunk === 'string' && (chunk.startsWith('{') || chunk.startsWith('REPORT ')) ? true : write(chunk, ...rest)) as typeof process.stdout.write;
}

/**
 * The dashboard reads time the API handler in this process, so it runs with the API function's V8
 * options (lib/constructs/statistics-api.ts): without them, in a child process that has them.
 */
export async function runStatisticsBenchWithApiOptions(): Promise<string[]> {
  if (API_V8_OPTIONS.every((option) => process.execArgv.includes(option))) return runStatisticsBench();
  const child = spawn(process.execPath, [...API_V8_OPTIONS, '--import', 'tsx', __filename], { stdio: ['ignore', 'pipe', 'inherit'] });
  const output: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`The statistics bench exited with ${String(code)}`);
  return Buffer.concat(output).toString('utf8').trimEnd().split('\n');
}

if (require.main === module) {
  dropJsonLogLines();
  runStatisticsBenchWithApiOptions().then(
    (lines) => console.log(lines.join('\n')),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
