/** Metric names both a function and the stack's alarms use: one spelling for the two sides. */

/** Aggregate-item writes DynamoDB refused for size, published by the aggregator and the rollup. */
export const ITEMS_TOO_LARGE_METRIC = 'AggregateItemsTooLarge';
