/**
 * AWS list prices for the cost model (issue 11, point 4): us-east-1, on-demand, first tier, USD.
 *
 * One entry a price: `value` USD for every `per` units of `unit` (as AWS quotes it: per 10,000 requests,
 * per million, per GB ...); unitPrice() gives the price of one unit. `source` is the AWS page that lists
 * the price; `checked` is the day it was looked up (or the date the stored page shows).
 *
 * `unverified: true` marks a figure that was NOT read on an AWS-owned page: AWS's pricing pages render
 * their price cells from a script, so the stored copies of most of them show the prose but not the
 * numbers. Such an entry names where the figure was read (`seenAt`, a third party) or says that it is
 * the long-standing list price recalled without a stored copy. Check these against the live pricing
 * pages (or the Price List API) before a number from this table goes into a decision.
 *
 * Prices AWS lists that could not be found at all are in MISSING_PRICES, not here with a guessed value.
 */

export interface ListPrice {
  readonly service: string;
  /** What is billed, in AWS's words where possible. */
  readonly item: string;
  /** USD for `per` units. */
  readonly value: number;
  /** How many units `value` buys (1, 1,000, 10,000, 1,000,000). */
  readonly per: number;
  /** The billed unit, singular: 'request', 'GB', 'GB-second', 'GB-month', 'log line', 'shard-hour' ... */
  readonly unit: string;
  /** The AWS page that lists the price (https, aws.amazon.com or docs.aws.amazon.com). */
  readonly source: string;
  /** ISO date the price was checked, or the date the stored page carries. */
  readonly checked: string;
  readonly note: string;
  /** The figure was not read on an AWS-owned page (see the file comment). */
  readonly unverified?: true;
  /** Where an unverified figure was actually read. */
  readonly seenAt?: string;
}

const CHECKED = '2026-12-02';

const CLOUDFRONT_PRICING = 'https://aws.amazon.com/cloudfront/pricing/';
const LAMBDA_PRICING = 'https://aws.amazon.com/lambda/pricing/';
const DYNAMODB_ON_DEMAND_PRICING = 'https://aws.amazon.com/dynamodb/pricing/on-demand/';
const KINESIS_PRICING = 'https://aws.amazon.com/kinesis/data-streams/pricing/';
const CLOUDWATCH_PRICING = 'https://aws.amazon.com/cloudwatch/pricing/';
const S3_PRICING = 'https://aws.amazon.com/s3/pricing/';

export const PRICES = {
  // --- CloudFront (price class 100: United States, Mexico, Canada, Europe, Israel) ---
  cloudFrontHttpsRequests: {
    service: 'CloudFront',
    item: 'HTTPS requests, United States / Europe (price class 100)',
    value: 0.01,
    per: 10_000,
    unit: 'request',
    source: CLOUDFRONT_PRICING,
    checked: CHECKED,
    note: 'Not readable in any stored copy (the infracost listing at seenAt shows HTTP at $0.0075/10k and cuts off at HTTPS); $0.0100/10k is the long-standing US/Europe HTTPS list price. First 10M HTTP(S) requests a month are free (always-free tier, on the AWS page).',
    unverified: true,
    seenAt: 'https://github.com/vreutova/infracost-idem-support/pull/15',
  },
  cloudFrontDataTransferOut: {
    service: 'CloudFront',
    item: 'Regional data transfer out to the internet, first 10 TB/month, United States (Europe the same)',
    value: 0.085,
    per: 1,
    unit: 'GB',
    source: CLOUDFRONT_PRICING,
    checked: CHECKED,
    note: 'Read on the stored AWS page: $0.085 for US/Mexico/Canada and for Europe/Israel/Türkiye. First 1 TB a month is free (always-free tier). A redirect response is a few hundred bytes.',
  },
  cloudFrontFunctionInvocations: {
    service: 'CloudFront',
    item: 'CloudFront Functions invocations',
    value: 0.1,
    per: 1_000_000,
    unit: 'invocation',
    source: CLOUDFRONT_PRICING,
    checked: CHECKED,
    note: 'Figure read on the third-party billing-code reference at seenAt. The AWS page confirms 2,000,000 free invocations a month (always-free tier).',
    unverified: true,
    seenAt: 'https://cur.vantage.sh/aws/amazoncloudfront/',
  },
  cloudFrontKeyValueStoreReads: {
    service: 'CloudFront',
    item: 'CloudFront KeyValueStore reads (from a function)',
    value: 0.03,
    per: 1_000_000,
    unit: 'read',
    source: CLOUDFRONT_PRICING,
    checked: CHECKED,
    note: 'No stored copy shows the figure; $0.03 per million reads is the price announced with KVS (Nov 2023), recalled, not re-read. The AWS page confirms 2,000,000 free reads a month. KVS API (write) and storage prices: see MISSING_PRICES.',
    unverified: true,
  },
  cloudFrontRealTimeLogLines: {
    service: 'CloudFront',
    item: 'Real-time logs: log lines CloudFront publishes',
    value: 0.01,
    per: 1_000_000,
    unit: 'log line',
    source: 'https://docs.aws.amazon.com/whitepapers/latest/how-aws-pricing-works/cloudfront.html',
    checked: CHECKED,
    note: 'Read on the AWS whitepaper: "$0.01 for every 1,000,000 log lines". The Kinesis stream that receives them is billed separately (kinesis* entries).',
  },

  // --- API Gateway ---
  apiGatewayHttpApiRequests: {
    service: 'API Gateway',
    item: 'HTTP API requests, first 300 million a month',
    value: 1.0,
    per: 1_000_000,
    unit: 'request',
    source: 'https://aws.amazon.com/api-gateway/pricing/',
    checked: CHECKED,
    note: 'Stored AWS page shows the prose but not the rates; figure (and $0.90/M past 300M) read at seenAt. HTTP APIs are metered in 512 KB increments.',
    unverified: true,
    seenAt: 'https://www.learnaws.org/2021/01/10/api-gateway-pricing/',
  },

  // --- Lambda ---
  lambdaRequests: {
    service: 'Lambda',
    item: 'Requests (invocations)',
    value: 0.2,
    per: 1_000_000,
    unit: 'request',
    source: 'https://docs.aws.amazon.com/whitepapers/latest/how-aws-pricing-works/lambda.html',
    checked: CHECKED,
    note: 'Read on the AWS whitepaper: "$0.20 per 1 million requests". 1M requests a month free. Same price for x86 and arm64.',
  },
  lambdaArmGbSecond: {
    service: 'Lambda',
    item: 'Duration, arm64, first 7.5 billion GB-seconds a month',
    value: 0.0000133334,
    per: 1,
    unit: 'GB-second',
    source: LAMBDA_PRICING,
    checked: CHECKED,
    note: 'Stored AWS page does not render the rates; figure read at seenAt (AWS whitepaper gives x86 as $0.00001667). Our functions are arm64 (lib/constructs/house-function.ts). 400,000 GB-s a month free.',
    unverified: true,
    seenAt: 'https://cloudchipr.com/blog/aws-lambda-pricing',
  },

  // --- SQS ---
  sqsStandardRequests: {
    service: 'SQS',
    item: 'Standard queue requests, first 100 billion a month',
    value: 0.4,
    per: 1_000_000,
    unit: 'request',
    source: 'https://aws.amazon.com/sqs/pricing/',
    checked: CHECKED,
    note: 'Each 64 KB chunk of a payload is billed as one request (a 256 KB message = 4 requests); Send, Receive (also empty receives) and Delete each count. 1M requests a month free. Figure and the 64 KB rule read at seenAt.',
    unverified: true,
    seenAt: 'https://unanswered.io/guide/aws-sqs-pricing-and-cost-optimization',
  },

  // --- DynamoDB (on-demand, Standard table class) ---
  dynamoDbWriteRequestUnits: {
    service: 'DynamoDB',
    item: 'On-demand write request units (1 KB each)',
    value: 0.625,
    per: 1_000_000,
    unit: 'write request unit',
    source: DYNAMODB_ON_DEMAND_PRICING,
    checked: CHECKED,
    note: 'After the 1 Nov 2024 cut of 50% (was $1.25/M); AWS updated its on-demand launch post on 31 Jan 2025 to reflect the reduced pricing. Figure read at seenAt. BatchWriteItem bills each item.',
    unverified: true,
    seenAt: 'https://airbyte.com/data-engineering-resources/dynamodb-pricing',
  },
  dynamoDbReadRequestUnits: {
    service: 'DynamoDB',
    item: 'On-demand read request units (4 KB strongly consistent, or two eventually consistent)',
    value: 0.125,
    per: 1_000_000,
    unit: 'read request unit',
    source: DYNAMODB_ON_DEMAND_PRICING,
    checked: CHECKED,
    note: 'After the 1 Nov 2024 50% cut (was $0.25/M). Figure read at seenAt.',
    unverified: true,
    seenAt: 'https://airbyte.com/data-engineering-resources/dynamodb-pricing',
  },
  dynamoDbStorage: {
    service: 'DynamoDB',
    item: 'Data storage, Standard table class, past the first 25 GB',
    value: 0.25,
    per: 1,
    unit: 'GB-month',
    source: DYNAMODB_ON_DEMAND_PRICING,
    checked: CHECKED,
    note: 'Not shown in any stored copy; long-standing us-east-1 list price, recalled. Includes 100 bytes of overhead an item.',
    unverified: true,
  },
  dynamoDbStreamsReadRequestUnits: {
    service: 'DynamoDB',
    item: 'Streams read request units (one GetRecords call, up to 1 MB / 1,000 records)',
    value: 0.02,
    per: 100_000,
    unit: 'streams read request unit',
    source: DYNAMODB_ON_DEMAND_PRICING,
    checked: CHECKED,
    note: 'Only non-Lambda readers pay: GetRecords made by a Lambda trigger are free (FREE_BY_RULE). First 2.5M a month free. Figure not in any stored copy; recalled list price.',
    unverified: true,
  },

  // --- Kinesis Data Streams ---
  kinesisOnDemandDataIn: {
    service: 'Kinesis Data Streams',
    item: 'On-demand: data ingested (each record rounded up to 1 KB)',
    value: 0.08,
    per: 1,
    unit: 'GB',
    source: KINESIS_PRICING,
    checked: CHECKED,
    note: 'Stored AWS page explains the dimensions (1 KB rounding, per-stream hourly charge) but not the rates; figure recalled. AWS has added cheaper on-demand variants since 2025: check the live page.',
    unverified: true,
  },
  kinesisOnDemandDataOut: {
    service: 'Kinesis Data Streams',
    item: 'On-demand: data retrieved (shared-throughput consumers)',
    value: 0.04,
    per: 1,
    unit: 'GB',
    source: KINESIS_PRICING,
    checked: CHECKED,
    note: 'Recalled, not re-read (see kinesisOnDemandDataIn). A Lambda event source mapping is a shared-throughput consumer.',
    unverified: true,
  },
  kinesisOnDemandStreamHour: {
    service: 'Kinesis Data Streams',
    item: 'On-demand: per stream, per hour',
    value: 0.04,
    per: 1,
    unit: 'stream-hour',
    source: KINESIS_PRICING,
    checked: CHECKED,
    note: 'Recalled, not re-read. About $29 a month for one stream regardless of traffic.',
    unverified: true,
  },
  kinesisProvisionedShardHour: {
    service: 'Kinesis Data Streams',
    item: 'Provisioned: shard hour',
    value: 0.015,
    per: 1,
    unit: 'shard-hour',
    source: KINESIS_PRICING,
    checked: CHECKED,
    note: 'A shard takes 1 MB/s or 1,000 records/s in and serves 2 MB/s out (docs/capacity.md). Figure recalled, not re-read.',
    unverified: true,
  },
  kinesisProvisionedPutPayloadUnits: {
    service: 'Kinesis Data Streams',
    item: 'Provisioned: PUT payload units (25 KB chunks of a record)',
    value: 0.014,
    per: 1_000_000,
    unit: 'PUT payload unit',
    source: KINESIS_PRICING,
    checked: CHECKED,
    note: 'The stored AWS page confirms the unit: "A PUT Payload Unit is counted in 25KB payload chunks" (a 5 KB record = 1 unit). The rate itself is recalled, not re-read.',
    unverified: true,
  },
  kinesisProvisionedExtendedRetention: {
    service: 'Kinesis Data Streams',
    item: 'Provisioned: extended retention (24 h to 7 days), per shard hour',
    value: 0.02,
    per: 1,
    unit: 'shard-hour',
    source: KINESIS_PRICING,
    checked: CHECKED,
    note: 'The stored AWS page names the option (24 h included; extended up to 7 days; long-term up to a year) but not the rate; recalled. On-demand extended retention is billed per GB-month instead (MISSING_PRICES).',
    unverified: true,
  },

  // --- CloudWatch Logs ---
  cloudWatchLogsIngestion: {
    service: 'CloudWatch Logs',
    item: 'Logs ingestion (Standard log class, custom logs)',
    value: 0.5,
    per: 1,
    unit: 'GB',
    source: CLOUDWATCH_PRICING,
    checked: CHECKED,
    note: 'Figure read at seenAt. Vended logs (CloudFront standard logs v2, and Lambda logs since AWS moved them to vended-log tiers) start at this rate and fall with volume: check the live page. 5 GB a month free.',
    unverified: true,
    seenAt: 'https://hykell.com/kb/platform-specific-guides/aws-cloudwatch-logs-pricing',
  },
  cloudWatchVendedLogsDeliveryToS3: {
    service: 'CloudWatch Logs',
    item: 'Vended logs delivered to S3 (CloudFront standard logging v2), first 10 TB a month',
    value: 0.25,
    per: 1,
    unit: 'GB',
    source: CLOUDWATCH_PRICING,
    checked: CHECKED,
    note: 'Standard logging v2 delivers through CloudWatch vended logs (AmazonCloudFront/latest/DeveloperGuide/standard-logging.html: "CloudFront uses CloudWatch vended logs to deliver access logs"), so the vended-logs "Delivery to S3" rate applies; the rate itself was not in any stored copy: recalled, with volume tiers below it past 10 TB. Legacy standard logging to S3 had no delivery charge.',
    unverified: true,
  },
  cloudWatchLogsStorage: {
    service: 'CloudWatch Logs',
    item: 'Logs storage (archival), compressed',
    value: 0.03,
    per: 1,
    unit: 'GB-month',
    source: CLOUDWATCH_PRICING,
    checked: CHECKED,
    note: 'Figure read at seenAt. The redirect click log keeps 2 weeks by default (lib/constructs/redirect-edge.ts), other functions 1 month.',
    unverified: true,
    seenAt: 'https://hykell.com/kb/platform-specific-guides/aws-cloudwatch-logs-pricing',
  },

  // --- S3 (Standard) ---
  s3PutRequests: {
    service: 'S3',
    item: 'S3 Standard PUT, COPY, POST, LIST requests',
    value: 0.005,
    per: 1_000,
    unit: 'request',
    source: S3_PRICING,
    checked: CHECKED,
    note: 'Stored AWS page copies show template tokens instead of rates; long-standing list price, recalled.',
    unverified: true,
  },
  s3GetRequests: {
    service: 'S3',
    item: 'S3 Standard GET, SELECT and all other requests',
    value: 0.0004,
    per: 1_000,
    unit: 'request',
    source: S3_PRICING,
    checked: CHECKED,
    note: 'Long-standing list price, recalled (see s3PutRequests).',
    unverified: true,
  },
  s3StandardStorage: {
    service: 'S3',
    item: 'S3 Standard storage, first 50 TB a month',
    value: 0.023,
    per: 1,
    unit: 'GB-month',
    source: S3_PRICING,
    checked: CHECKED,
    note: 'Figure read at seenAt ("around $0.023 per GB-month for the first 50 TB").',
    unverified: true,
    seenAt: 'https://deepeshsoni.com/archives/256',
  },
} as const satisfies Record<string, ListPrice>;

export type PriceKey = keyof typeof PRICES;

/** A price for every key: PRICES, or another table (a test's, a what-if). */
export type PriceTable = { readonly [Key in PriceKey]: ListPrice };

/** USD for one unit of the entry's `unit`. */
export function unitPrice(key: PriceKey, prices: PriceTable = PRICES): number {
  const price: ListPrice = prices[key];
  return price.value / price.per;
}

/** Charges AWS waives by rule: the cost model counts these as zero. */
export const FREE_BY_RULE: readonly { readonly item: string; readonly source: string; readonly note: string }[] = [
  {
    item: 'DynamoDB Streams GetRecords made by a Lambda trigger (our aggregator)',
    source: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CostOptimization_StreamsUsage.html',
    note: '"Read requests made by AWS Lambda-based consumers of DynamoDB Streams are free" (stored copy read on the docs.amazonaws.cn mirror of this page); idle streams cost nothing.',
  },
  {
    item: 'CloudFront origin fetches from AWS origins',
    source: CLOUDFRONT_PRICING,
    note: 'Data transferred from an AWS origin (API Gateway included) to CloudFront is not charged.',
  },
];

/** Prices the cost model needs that no stored page showed: no guessed value is kept for them. */
export const MISSING_PRICES: readonly { readonly item: string; readonly source: string; readonly note: string }[] = [
  {
    item: 'CloudFront KeyValueStore API calls (writes: PutKey/UpdateKeys) and storage',
    source: CLOUDFRONT_PRICING,
    note: 'Not found in any stored copy. Billed per link change (kvs-sync writes one key a change) and per stored byte, never per click: outside the per-click model, and missing from the fixed monthly costs it prints.',
  },
  {
    item: 'Kinesis on-demand extended retention (per GB-month) and long-term retention',
    source: KINESIS_PRICING,
    note: 'Named on the stored AWS page, rate not shown. Not used: the click stream keeps the default 24 hours.',
  },
];
