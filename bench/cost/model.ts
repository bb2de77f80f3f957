/**
 * The cost model of both redirect modes (issue 11, points 4 and 6): counts per click × list prices →
 * USD per million clicks, by component; each mode's floor, the fees a click cannot go below in that
 * mode; the total's ratio to it; and the fixed monthly charges, which no click count scales. Pure: the
 * counts come from bench/cost/run.ts (measured on the local stack, or modelled where it cannot measure).
 */
import type { RedirectMode } from '../../lib/stack-props';
import { PRICES, type PriceKey, type PriceTable, unitPrice } from './prices';

/** Lambda billing of one function, per click. */
export interface LambdaUsePerClick {
  readonly invocations: number;
  /** Billed duration × configured memory. */
  readonly gbSeconds: number;
}

/**
 * The functions a click (or the statistics it feeds) runs: origin mode's path, edge mode's consumer
 * of the click stream and the standard-log backfill, and the two amortised over clicks (rollup, api).
 */
export const FUNCTION_ROLES = ['redirect', 'enrich', 'enrichEdge', 'backfill', 'aggregate', 'rollup', 'api'] as const;
export type FunctionRole = (typeof FUNCTION_ROLES)[number];

/** What one click makes AWS bill, in each price's unit; a mode leaves the other mode's counts at 0. */
export interface CountsPerClick {
  readonly cloudFrontRequests: number;
  readonly apiGatewayRequests: number;
  readonly cloudFrontFunctionInvocations: number;
  readonly keyValueStoreReads: number;
  readonly realtimeLogLines: number;
  /** Kinesis on-demand ingest as billed: each record rounded up to 1 KB. */
  readonly kinesisIngestGigabytes: number;
  /** Kinesis on-demand retrieval (the consumer's reads). */
  readonly kinesisRetrievalGigabytes: number;
  /** CloudFront standard logs (v2) delivered to S3 through CloudWatch vended logs. */
  readonly standardLogGigabytes: number;
  /** S3 PUTs (the log objects' delivery) and GETs (the backfill's reads). Deletes are free. */
  readonly s3PutRequests: number;
  readonly s3GetRequests: number;
  readonly lambda: { readonly [Role in FunctionRole]: LambdaUsePerClick };
  /** Billed SQS requests: every 64 KB chunk of a request's payload counts as one. */
  readonly sqsRequests: number;
  readonly dynamoWriteUnits: number;
  readonly dynamoReadUnits: number;
  /** CloudWatch Logs ingested. */
  readonly logGigabytes: number;
  /** DynamoDB storage a click occupies over its life (bytes × months kept). */
  readonly storageGbMonths: number;
}

/** No use at all: the base a mode's counts start from. */
const NO_LAMBDA_USE: LambdaUsePerClick = { invocations: 0, gbSeconds: 0 };
export const NO_COUNTS: CountsPerClick = {
  cloudFrontRequests: 0,
  apiGatewayRequests: 0,
  cloudFrontFunctionInvocations: 0,
  keyValueStoreReads: 0,
  realtimeLogLines: 0,
  kinesisIngestGigabytes: 0,
  kinesisRetrievalGigabytes: 0,
  standardLogGigabytes: 0,
  s3PutRequests: 0,
  s3GetRequests: 0,
  lambda: Object.fromEntries(FUNCTION_ROLES.map((role) => [role, NO_LAMBDA_USE])) as CountsPerClick['lambda'],
  sqsRequests: 0,
  dynamoWriteUnits: 0,
  dynamoReadUnits: 0,
  logGigabytes: 0,
  storageGbMonths: 0,
};

export interface ComponentCost {
  readonly component: string;
  readonly dollarsPerMillionClicks: number;
  /** Some price it uses (with a non-zero count) was not read on an AWS page (prices.ts). */
  readonly unverified: boolean;
}

export interface CostEstimate {
  readonly mode: RedirectMode;
  /** The same rows, in the same order, for either mode: a row a mode does not use is 0. */
  readonly components: readonly ComponentCost[];
  readonly total: ComponentCost;
  readonly floor: ComponentCost;
  readonly ratioToFloor: number;
  readonly meetsGoal: boolean;
}

/** Issue 11: each mode's total may be at most 15 % above the per-request fees it cannot avoid. */
export const GOAL_RATIO_TO_FLOOR = 1.15;

const MILLION = 1_000_000;
const GIGABYTE = 1024 ** 3;
/** Kinesis on-demand bills each record's ingest rounded up to this (prices.ts, kinesisOnDemandDataIn). */
export const KINESIS_BILLING_CHUNK_BYTES = 1024;
/** A month as AWS bills hourly charges: 730 hours. */
export const HOURS_PER_MONTH = 730;

/** Ingest as Kinesis on-demand bills it: each record rounded up to whole kilobytes. */
export function kinesisBilledIngestBytes(recordBytes: number): number {
  return Math.max(1, Math.ceil(recordBytes / KINESIS_BILLING_CHUNK_BYTES)) * KINESIS_BILLING_CHUNK_BYTES;
}

type Usage = readonly (readonly [PriceKey, number])[];

/** The cost of `usage`, each amount in its price's unit, per million clicks. */
function component(name: string, usage: Usage, prices: PriceTable): ComponentCost {
  return {
    component: name,
    dollarsPerMillionClicks: usage.reduce((sum, [key, amount]) => sum + amount * unitPrice(key, prices) * MILLION, 0),
    // A price the click does not use cannot make its figure doubtful.
    unverified: usage.some(([key, amount]) => amount > 0 && prices[key].unverified === true),
  };
}

function sum(name: string, parts: readonly ComponentCost[]): ComponentCost {
  return {
    component: name,
    dollarsPerMillionClicks: parts.reduce((total, part) => total + part.dollarsPerMillionClicks, 0),
    unverified: parts.some((part) => part.unverified),
  };
}

/** What no click of a mode avoids: its per-request fees, and one write unit for its raw item. */
const FLOOR_USAGE: { readonly [Mode in RedirectMode]: Usage } = {
  origin: [
    ['cloudFrontHttpsRequests', 1],
    ['apiGatewayHttpApiRequests', 1],
    ['lambdaRequests', 1],
    ['dynamoDbWriteRequestUnits', 1],
  ],
  // The request, the function, its store read, the real-time log line and its record's ingest (one billed KB).
  edge: [
    ['cloudFrontHttpsRequests', 1],
    ['cloudFrontFunctionInvocations', 1],
    ['cloudFrontKeyValueStoreReads', 1],
    ['cloudFrontRealTimeLogLines', 1],
    ['kinesisOnDemandDataIn', KINESIS_BILLING_CHUNK_BYTES / GIGABYTE],
    ['dynamoDbWriteRequestUnits', 1],
  ],
};

export const FLOOR_DESCRIPTION: { readonly [Mode in RedirectMode]: string } = {
  origin: 'CloudFront, API Gateway, Lambda request, 1 write unit',
  edge: 'CloudFront, function, KVS read, log line, 1 KB ingest, 1 write unit',
};

export function floorPerMillionClicks(mode: RedirectMode, prices: PriceTable = PRICES): ComponentCost {
  return component('floor', FLOOR_USAGE[mode], prices);
}

export function estimateCost(mode: RedirectMode, counts: CountsPerClick, prices: PriceTable = PRICES): CostEstimate {
  const lambdaRows = FUNCTION_ROLES.map((role) =>
    component(
      `Lambda ${role}`,
      [
        ['lambdaRequests', counts.lambda[role].invocations],
        ['lambdaArmGbSecond', counts.lambda[role].gbSeconds],
      ],
      prices,
    ),
  );
  const components = [
    component('CloudFront requests', [['cloudFrontHttpsRequests', counts.cloudFrontRequests]], prices),
    component('API Gateway requests', [['apiGatewayHttpApiRequests', counts.apiGatewayRequests]], prices),
    component('CloudFront Functions', [['cloudFrontFunctionInvocations', counts.cloudFrontFunctionInvocations]], prices),
    component('KeyValueStore reads', [['cloudFrontKeyValueStoreReads', counts.keyValueStoreReads]], prices),
    component('Real-time log lines', [['cloudFrontRealTimeLogLines', counts.realtimeLogLines]], prices),
    component(
      'Kinesis ingest and retrieval',
      [
        ['kinesisOnDemandDataIn', counts.kinesisIngestGigabytes],
        ['kinesisOnDemandDataOut', counts.kinesisRetrievalGigabytes],
      ],
      prices,
    ),
    component(
      'Standard logs v2 to S3',
      [
        ['cloudWatchVendedLogsDeliveryToS3', counts.standardLogGigabytes],
        ['s3PutRequests', counts.s3PutRequests],
        ['s3GetRequests', counts.s3GetRequests],
      ],
      prices,
    ),
    ...lambdaRows,
    component('SQS requests', [['sqsStandardRequests', counts.sqsRequests]], prices),
    component('DynamoDB writes', [['dynamoDbWriteRequestUnits', counts.dynamoWriteUnits]], prices),
    component('DynamoDB reads', [['dynamoDbReadRequestUnits', counts.dynamoReadUnits]], prices),
    component('CloudWatch Logs ingestion', [['cloudWatchLogsIngestion', counts.logGigabytes]], prices),
    component('DynamoDB storage', [['dynamoDbStorage', counts.storageGbMonths]], prices),
  ];
  const total = sum('total', components);
  const floor = floorPerMillionClicks(mode, prices);
  const ratioToFloor = total.dollarsPerMillionClicks / floor.dollarsPerMillionClicks;
  return { mode, components, total, floor, ratioToFloor, meetsGoal: ratioToFloor <= GOAL_RATIO_TO_FLOOR };
}

/** A charge by the hour or month that no click count changes. */
export interface FixedCost {
  readonly item: string;
  readonly dollarsPerMonth: number;
  readonly unverified: boolean;
}

/** Clicks a month at a steady rate. */
export const clicksPerMonth = (clicksPerSecond: number): number => clicksPerSecond * HOURS_PER_MONTH * 3600;

/** A monthly charge spread over the clicks of a steady rate, per million clicks. */
export function amortisedPerMillionClicks(dollarsPerMonth: number, clicksPerSecond: number): number {
  return (dollarsPerMonth / clicksPerMonth(clicksPerSecond)) * MILLION;
}

/** The steady rate above which a monthly charge adds less than `share` of `floor` to each click. */
export function rateForShareOfFloor(dollarsPerMonth: number, floor: ComponentCost, share: number): number {
  return (dollarsPerMonth * MILLION) / (share * floor.dollarsPerMillionClicks * HOURS_PER_MONTH * 3600);
}

/** The fixed monthly charges of a mode (one stack, one Region), at list prices. */
export function fixedMonthlyCosts(mode: RedirectMode, prices: PriceTable = PRICES): FixedCost[] {
  if (mode === 'origin') return [];
  return [
    {
      item: 'Kinesis on-demand click stream (stream-hours; 24 h retention, no extended retention)',
      dollarsPerMonth: HOURS_PER_MONTH * unitPrice('kinesisOnDemandStreamHour', prices),
      unverified: prices.kinesisOnDemandStreamHour.unverified === true,
    },
  ];
}
