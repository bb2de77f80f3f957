import {
  amortisedPerMillionClicks,
  clicksPerMonth,
  type CountsPerClick,
  estimateCost,
  fixedMonthlyCosts,
  floorPerMillionClicks,
  GOAL_RATIO_TO_FLOOR,
  kinesisBilledIngestBytes,
  NO_COUNTS,
  rateForShareOfFloor,
} from '../../bench/cost/model';
import { type ListPrice, PRICES, type PriceKey, type PriceTable } from '../../bench/cost/prices';

/** The real table with round figures, all verified but SQS's: the dollars can be worked out by hand. */
function roundPrice(key: PriceKey, value: number, per: number, unverified = false): ListPrice {
  const { service, item, unit, source, checked, note }: ListPrice = PRICES[key];
  return { service, item, unit, source, checked, note, value, per, ...(unverified ? { unverified: true as const } : {}) };
}
const GIGABYTE = 1024 ** 3;
const testPrices: PriceTable = {
  ...PRICES,
  cloudFrontHttpsRequests: roundPrice('cloudFrontHttpsRequests', 1, 1_000_000),
  apiGatewayHttpApiRequests: roundPrice('apiGatewayHttpApiRequests', 1, 1_000_000),
  cloudFrontFunctionInvocations: roundPrice('cloudFrontFunctionInvocations', 0.1, 1_000_000),
  cloudFrontKeyValueStoreReads: roundPrice('cloudFrontKeyValueStoreReads', 0.03, 1_000_000),
  cloudFrontRealTimeLogLines: roundPrice('cloudFrontRealTimeLogLines', 0.01, 1_000_000),
  // $1 a KB-sized record per million: 1 KB × 1,048,576 per GB.
  kinesisOnDemandDataIn: roundPrice('kinesisOnDemandDataIn', 1.048576, 1),
  kinesisOnDemandDataOut: roundPrice('kinesisOnDemandDataOut', 0.04, 1),
  kinesisOnDemandStreamHour: roundPrice('kinesisOnDemandStreamHour', 0.04, 1),
  cloudWatchVendedLogsDeliveryToS3: roundPrice('cloudWatchVendedLogsDeliveryToS3', 0.25, 1),
  s3PutRequests: roundPrice('s3PutRequests', 0.005, 1_000),
  s3GetRequests: roundPrice('s3GetRequests', 0.0004, 1_000),
  lambdaRequests: roundPrice('lambdaRequests', 0.2, 1_000_000),
  lambdaArmGbSecond: roundPrice('lambdaArmGbSecond', 0.00001, 1),
  sqsStandardRequests: roundPrice('sqsStandardRequests', 0.4, 1_000_000, true),
  dynamoDbWriteRequestUnits: roundPrice('dynamoDbWriteRequestUnits', 0.5, 1_000_000),
  dynamoDbReadRequestUnits: roundPrice('dynamoDbReadRequestUnits', 0.1, 1_000_000),
  cloudWatchLogsIngestion: roundPrice('cloudWatchLogsIngestion', 0.5, 1),
  dynamoDbStorage: roundPrice('dynamoDbStorage', 0.25, 1),
};

/** Origin mode: only the floor's requests and one write unit. */
const originFloorOnly: CountsPerClick = {
  ...NO_COUNTS,
  cloudFrontRequests: 1,
  apiGatewayRequests: 1,
  lambda: { ...NO_COUNTS.lambda, redirect: { invocations: 1, gbSeconds: 0 } },
  dynamoWriteUnits: 1,
};

/** Edge mode: the request, the function, its read, the log line, one KB ingested, one write unit. */
const edgeFloorOnly: CountsPerClick = {
  ...NO_COUNTS,
  cloudFrontRequests: 1,
  cloudFrontFunctionInvocations: 1,
  keyValueStoreReads: 1,
  realtimeLogLines: 1,
  kinesisIngestGigabytes: 1024 / GIGABYTE,
  dynamoWriteUnits: 1,
};

const dollarsOf = (estimate: ReturnType<typeof estimateCost>, component: string): number =>
  estimate.components.find((each) => each.component === component)?.dollarsPerMillionClicks ?? Number.NaN;

describe('the cost model', () => {
  it("prices origin mode's floor: CloudFront, API Gateway and Lambda requests and one write unit", () => {
    const floor = floorPerMillionClicks('origin', testPrices);
    expect(floor.dollarsPerMillionClicks).toBeCloseTo(1 + 1 + 0.2 + 0.5, 10);
    expect(floor.unverified).toBe(false);
  });

  it("prices edge mode's floor: CloudFront request, function, KVS read, log line, one billed KB ingested and one write unit", () => {
    const floor = floorPerMillionClicks('edge', testPrices);
    expect(floor.dollarsPerMillionClicks).toBeCloseTo(1 + 0.1 + 0.03 + 0.01 + 1 + 0.5, 10);
    expect(floor.unverified).toBe(false);
  });

  it('puts the edge floor below the origin floor at list prices, near the issue\'s $1.9 and $2.9', () => {
    const edge = floorPerMillionClicks('edge').dollarsPerMillionClicks;
    const origin = floorPerMillionClicks('origin').dollarsPerMillionClicks;
    expect(edge).toBeLessThan(origin);
    expect(edge).toBeGreaterThan(1.7);
    expect(edge).toBeLessThan(2.0);
    expect(origin).toBeGreaterThan(2.7);
    expect(origin).toBeLessThan(3.0);
  });

  it.each([
    ['origin', originFloorOnly, 2.7],
    ['edge', edgeFloorOnly, 2.64],
  ] as const)('gives a ratio of 1 when a %s click costs only its floor', (mode, counts, total) => {
    const estimate = estimateCost(mode, counts, testPrices);
    expect(estimate.mode).toBe(mode);
    expect(estimate.total.dollarsPerMillionClicks).toBeCloseTo(total, 10);
    expect(estimate.ratioToFloor).toBeCloseTo(1, 10);
    expect(estimate.meetsGoal).toBe(true);
    expect(estimate.total.unverified).toBe(false);
  });

  it('judges each mode against its own floor: at list prices an origin click is far over the edge floor', () => {
    expect(estimateCost('edge', originFloorOnly).ratioToFloor).toBeGreaterThan(1.4);
    expect(estimateCost('edge', originFloorOnly).meetsGoal).toBe(false);
    expect(estimateCost('origin', edgeFloorOnly, testPrices).ratioToFloor).toBeCloseTo(2.64 / 2.7, 10);
  });

  it('multiplies every count by its price, per million clicks, and fails the goal past 1.15', () => {
    const estimate = estimateCost(
      'origin',
      {
        ...originFloorOnly,
        lambda: { ...originFloorOnly.lambda, redirect: { invocations: 1, gbSeconds: 0.0025 }, enrich: { invocations: 0.01, gbSeconds: 0.001 } },
        sqsRequests: 1.02,
        dynamoWriteUnits: 1.1,
        dynamoReadUnits: 0.5,
        logGigabytes: 1e-6,
        storageGbMonths: 2e-6,
      },
      testPrices,
    );
    expect(dollarsOf(estimate, 'Lambda redirect')).toBeCloseTo(0.2 + 0.025, 10);
    expect(dollarsOf(estimate, 'Lambda enrich')).toBeCloseTo(0.002 + 0.01, 10);
    expect(dollarsOf(estimate, 'SQS requests')).toBeCloseTo(0.408, 10);
    expect(dollarsOf(estimate, 'DynamoDB writes')).toBeCloseTo(0.55, 10);
    expect(dollarsOf(estimate, 'DynamoDB reads')).toBeCloseTo(0.05, 10);
    expect(dollarsOf(estimate, 'CloudWatch Logs ingestion')).toBeCloseTo(0.5, 10);
    expect(dollarsOf(estimate, 'DynamoDB storage')).toBeCloseTo(0.5, 10);
    const total = 1 + 1 + 0.225 + 0.012 + 0.408 + 0.55 + 0.05 + 0.5 + 0.5;
    expect(estimate.total.dollarsPerMillionClicks).toBeCloseTo(total, 10);
    expect(estimate.ratioToFloor).toBeCloseTo(total / 2.7, 10);
    expect(estimate.ratioToFloor).toBeGreaterThan(GOAL_RATIO_TO_FLOOR);
    expect(estimate.meetsGoal).toBe(false);
  });

  it("prices edge mode's own components: the stream's retrieval, the standard logs, their S3 requests, the consumer", () => {
    const estimate = estimateCost(
      'edge',
      {
        ...edgeFloorOnly,
        kinesisRetrievalGigabytes: 500 / GIGABYTE,
        standardLogGigabytes: 500 / GIGABYTE,
        s3PutRequests: 0.001,
        s3GetRequests: 0.001,
        lambda: { ...NO_COUNTS.lambda, enrichEdge: { invocations: 0.01, gbSeconds: 0.002 } },
      },
      testPrices,
    );
    expect(dollarsOf(estimate, 'CloudFront Functions')).toBeCloseTo(0.1, 10);
    expect(dollarsOf(estimate, 'KeyValueStore reads')).toBeCloseTo(0.03, 10);
    expect(dollarsOf(estimate, 'Real-time log lines')).toBeCloseTo(0.01, 10);
    expect(dollarsOf(estimate, 'Kinesis ingest and retrieval')).toBeCloseTo(1 + (0.04 * 500 * 1e6) / GIGABYTE, 10);
    expect(dollarsOf(estimate, 'Standard logs v2 to S3')).toBeCloseTo((0.25 * 500 * 1e6) / GIGABYTE + 0.005 + 0.0004, 10);
    expect(dollarsOf(estimate, 'Lambda enrichEdge')).toBeCloseTo(0.002 + 0.02, 10);
    expect(dollarsOf(estimate, 'API Gateway requests')).toBe(0);
  });

  it('bills each Kinesis record in whole kilobytes, at least one', () => {
    expect(kinesisBilledIngestBytes(0)).toBe(1024);
    expect(kinesisBilledIngestBytes(1)).toBe(1024);
    expect(kinesisBilledIngestBytes(1024)).toBe(1024);
    expect(kinesisBilledIngestBytes(1025)).toBe(2048);
  });

  it('marks a component and the total that use an unverified price', () => {
    const estimate = estimateCost('origin', { ...originFloorOnly, sqsRequests: 1 }, testPrices);
    expect(estimate.components.find((each) => each.component === 'SQS requests')?.unverified).toBe(true);
    expect(estimate.components.find((each) => each.component === 'CloudFront requests')?.unverified).toBe(false);
    expect(estimate.total.unverified).toBe(true);
  });

  it('gives both modes the same rows in the same order, for a side-by-side table', () => {
    const names = (mode: 'origin' | 'edge'): string[] => estimateCost(mode, NO_COUNTS).components.map((each) => each.component);
    expect(names('edge')).toEqual(names('origin'));
  });

  it('marks the floors unverified with the real table, whose request prices were not read on AWS pages', () => {
    expect(floorPerMillionClicks('origin').unverified).toBe(true);
    expect(floorPerMillionClicks('edge').unverified).toBe(true);
  });
});

describe('fixed monthly charges', () => {
  it("has the edge click stream's stream-hours, 730 a month, and nothing for origin mode", () => {
    expect(fixedMonthlyCosts('origin', testPrices)).toEqual([]);
    const [stream, ...rest] = fixedMonthlyCosts('edge', testPrices);
    expect(rest).toEqual([]);
    expect(stream.dollarsPerMonth).toBeCloseTo(730 * 0.04, 10);
  });

  it('spreads a monthly charge over a steady rate, and finds the rate at which it is a given share of a floor', () => {
    expect(clicksPerMonth(100)).toBe(100 * 730 * 3600);
    expect(amortisedPerMillionClicks(29.2, 100)).toBeCloseTo((29.2 / (100 * 730 * 3600)) * 1e6, 12);
    const floor = floorPerMillionClicks('edge', testPrices);
    const rate = rateForShareOfFloor(29.2, floor, 0.01);
    expect(amortisedPerMillionClicks(29.2, rate)).toBeCloseTo(0.01 * floor.dollarsPerMillionClicks, 10);
  });
});
