import { type CountsPerClick, estimateCost, floorPerMillionClicks, FUNCTION_ROLES, GOAL_RATIO_TO_FLOOR } from '../../bench/cost/model';
import { type ListPrice, PRICES, type PriceKey, type PriceTable } from '../../bench/cost/prices';

/** The real table with round figures, all verified but SQS's: the dollars can be worked out by hand. */
function roundPrice(key: PriceKey, value: number, per: number, unverified = false): ListPrice {
  const { service, item, unit, source, checked, note }: ListPrice = PRICES[key];
  return { service, item, unit, source, checked, note, value, per, ...(unverified ? { unverified: true as const } : {}) };
}
const testPrices: PriceTable = {
  ...PRICES,
  cloudFrontHttpsRequests: roundPrice('cloudFrontHttpsRequests', 1, 1_000_000),
  apiGatewayHttpApiRequests: roundPrice('apiGatewayHttpApiRequests', 1, 1_000_000),
  lambdaRequests: roundPrice('lambdaRequests', 0.2, 1_000_000),
  lambdaArmGbSecond: roundPrice('lambdaArmGbSecond', 0.00001, 1),
  sqsStandardRequests: roundPrice('sqsStandardRequests', 0.4, 1_000_000, true),
  dynamoDbWriteRequestUnits: roundPrice('dynamoDbWriteRequestUnits', 0.5, 1_000_000),
  dynamoDbReadRequestUnits: roundPrice('dynamoDbReadRequestUnits', 0.1, 1_000_000),
  cloudWatchLogsIngestion: roundPrice('cloudWatchLogsIngestion', 0.5, 1),
  dynamoDbStorage: roundPrice('dynamoDbStorage', 0.25, 1),
};

const idle = { invocations: 0, gbSeconds: 0 };
/** Only the floor's requests and one write unit. */
const floorOnly: CountsPerClick = {
  cloudFrontRequests: 1,
  apiGatewayRequests: 1,
  lambda: { ...Object.fromEntries(FUNCTION_ROLES.map((role) => [role, idle])), redirect: { invocations: 1, gbSeconds: 0 } } as CountsPerClick['lambda'],
  sqsRequests: 0,
  dynamoWriteUnits: 1,
  dynamoReadUnits: 0,
  logGigabytes: 0,
  storageGbMonths: 0,
};

const dollarsOf = (estimate: ReturnType<typeof estimateCost>, component: string): number =>
  estimate.components.find((each) => each.component === component)?.dollarsPerMillionClicks ?? Number.NaN;

describe('the cost model', () => {
  it('prices the floor: CloudFront, API Gateway and Lambda requests and one write unit', () => {
    const floor = floorPerMillionClicks(testPrices);
    expect(floor.dollarsPerMillionClicks).toBeCloseTo(1 + 1 + 0.2 + 0.5, 10);
    expect(floor.unverified).toBe(false);
  });

  it('gives a ratio of 1 when a click costs only the floor', () => {
    const estimate = estimateCost(floorOnly, testPrices);
    expect(estimate.total.dollarsPerMillionClicks).toBeCloseTo(2.7, 10);
    expect(estimate.ratioToFloor).toBeCloseTo(1, 10);
    expect(estimate.meetsGoal).toBe(true);
    expect(estimate.total.unverified).toBe(false);
  });

  it('multiplies every count by its price, per million clicks, and fails the goal past 1.15', () => {
    const estimate = estimateCost(
      {
        ...floorOnly,
        lambda: { ...floorOnly.lambda, redirect: { invocations: 1, gbSeconds: 0.0025 }, enrich: { invocations: 0.01, gbSeconds: 0.001 } },
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

  it('marks a component and the total that use an unverified price', () => {
    const estimate = estimateCost({ ...floorOnly, sqsRequests: 1 }, testPrices);
    expect(estimate.components.find((each) => each.component === 'SQS requests')?.unverified).toBe(true);
    expect(estimate.components.find((each) => each.component === 'CloudFront requests')?.unverified).toBe(false);
    expect(estimate.total.unverified).toBe(true);
  });

  it('marks the floor unverified with the real table, whose request prices were not read on AWS pages', () => {
    expect(floorPerMillionClicks().unverified).toBe(true);
  });
});
