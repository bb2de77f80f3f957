/**
 * The cost model of origin mode (issue 11, point 4): counts per click × list prices → USD per million
 * clicks, by component; the floor a click cannot go below; the total's ratio to it. Pure: the counts
 * come from bench/cost/run.ts (measured on the local stack, or modelled where it cannot measure).
 */
import { PRICES, type PriceKey, type PriceTable, unitPrice } from './prices';

/** Lambda billing of one function, per click. */
export interface LambdaUsePerClick {
  readonly invocations: number;
  /** Billed duration × configured memory. */
  readonly gbSeconds: number;
}

/** The functions of origin mode's click path, and the two whose cost is amortised over clicks. */
export const FUNCTION_ROLES = ['redirect', 'enrich', 'aggregate', 'rollup', 'api'] as const;
export type FunctionRole = (typeof FUNCTION_ROLES)[number];

/** What one click makes AWS bill, in each price's unit. */
export interface CountsPerClick {
  readonly cloudFrontRequests: number;
  readonly apiGatewayRequests: number;
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

export interface ComponentCost {
  readonly component: string;
  readonly dollarsPerMillionClicks: number;
  /** Some price it uses (with a non-zero count) was not read on an AWS page (prices.ts). */
  readonly unverified: boolean;
}

export interface CostEstimate {
  readonly components: readonly ComponentCost[];
  readonly total: ComponentCost;
  readonly floor: ComponentCost;
  readonly ratioToFloor: number;
  readonly meetsGoal: boolean;
}

/** Issue 11: origin mode's total may be at most 15 % above the per-request fees it cannot avoid. */
export const GOAL_RATIO_TO_FLOOR = 1.15;

const MILLION = 1_000_000;

/** The cost of `usage`, each amount in its price's unit, per million clicks. */
function component(name: string, usage: readonly (readonly [PriceKey, number])[], prices: PriceTable): ComponentCost {
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

/**
 * The floor: the per-request fees no origin-mode click avoids (a CloudFront request, an API Gateway
 * request, a Lambda request) and one write unit for its raw item.
 */
export function floorPerMillionClicks(prices: PriceTable = PRICES): ComponentCost {
  return component(
    'floor',
    [
      ['cloudFrontHttpsRequests', 1],
      ['apiGatewayHttpApiRequests', 1],
      ['lambdaRequests', 1],
      ['dynamoDbWriteRequestUnits', 1],
    ],
    prices,
  );
}

export function estimateCost(counts: CountsPerClick, prices: PriceTable = PRICES): CostEstimate {
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
    ...lambdaRows,
    component('SQS requests', [['sqsStandardRequests', counts.sqsRequests]], prices),
    component('DynamoDB writes', [['dynamoDbWriteRequestUnits', counts.dynamoWriteUnits]], prices),
    component('DynamoDB reads', [['dynamoDbReadRequestUnits', counts.dynamoReadUnits]], prices),
    component('CloudWatch Logs ingestion', [['cloudWatchLogsIngestion', counts.logGigabytes]], prices),
    component('DynamoDB storage', [['dynamoDbStorage', counts.storageGbMonths]], prices),
  ];
  const total = sum('total', components);
  const floor = floorPerMillionClicks(prices);
  const ratioToFloor = total.dollarsPerMillionClicks / floor.dollarsPerMillionClicks;
  return { components, total, floor, ratioToFloor, meetsGoal: ratioToFloor <= GOAL_RATIO_TO_FLOOR };
}
