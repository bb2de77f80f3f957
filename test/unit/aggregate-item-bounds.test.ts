/** Every aggregate table's item, with the longest keys it can have and a breakdown no item can hold whole, stays within the bound. */
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import {
  emptyState,
  ITEM_ENVELOPE_BYTES,
  MAX_AGGREGATE_ITEM_BYTES,
  MAX_BREAKDOWN_KEY_BYTES,
  ownerTarget,
  stateToAttributes,
  type AggregateState,
} from '../../lambdas/domain/aggregate-state';
import { DYNAMODB_MAX_ITEM_BYTES, itemBytes } from '../../lambdas/domain/item-size';
import type { QuarterHourItem } from '../../lambdas/domain/quarter-hour';
import type { PeriodItem } from '../../lambdas/domain/rollup';
import { parseDailyItem, parseMonthlyItem, toDailyAttributes, toMonthlyAttributes } from '../../lambdas/tables/period-aggregates';
import { parseQuarterHourItem, toQuarterHourAttributes } from '../../lambdas/tables/quarter-hour';
import { numberedVisitor } from '../fixtures/clicks';

/** The longest target: an owner id is at most 128 characters. */
const LONGEST_TARGET = ownerTarget('o'.repeat(128));
/** Longer than any DynamoDB stream shard id. */
const LONG_WRITER = `shardId-${'0'.repeat(92)}`;
const LONGEST_ZONE = 'America/Argentina/ComodRivadavia';

/** 20,000 referrer hosts of the longest kind, 3,000 visitors, every other dimension filled too. */
function overfullState(): AggregateState {
  const state = emptyState();
  for (let index = 0; index < 20_000; index++) {
    const host = `${index}-`.padEnd(MAX_BREAKDOWN_KEY_BYTES, 'x');
    state.breakdowns.referrer[host] = 1 + (index % 13);
  }
  for (let index = 0; index < 250; index++) state.breakdowns.country[`C${index}`] = 3;
  for (let index = 0; index < 3_000; index++) state.visitors.add(numberedVisitor(index));
  state.clicks = Object.values(state.breakdowns.referrer).reduce((sum, count) => sum + count, 0);
  state.botClicks = 123_456;
  return state;
}

const quarterItem = (state: AggregateState): QuarterHourItem => ({
  target: LONGEST_TARGET,
  quarter: '2026-11-26T05:00',
  writer: LONG_WRITER,
  watermark: '9'.repeat(40),
  state,
  expiresAt: 1_800_000_000,
});

const periodItem = (state: AggregateState, period: string, expiresAt?: number): PeriodItem => ({
  target: LONGEST_TARGET,
  period,
  tz: LONGEST_ZONE,
  state,
  events: state.clicks + state.botClicks,
  updatedAt: '2026-12-01T10:00:00.000Z',
  ...(expiresAt === undefined ? {} : { expiresAt }),
});

const TABLES: [string, (state: AggregateState) => Record<string, unknown>, (item: Record<string, unknown>) => unknown][] = [
  ['quarter-hour', (state) => toQuarterHourAttributes(quarterItem(state)), parseQuarterHourItem],
  ['daily', (state) => toDailyAttributes(periodItem(state, '2026-11-26', 1_800_000_000)), parseDailyItem],
  ['monthly', (state) => toMonthlyAttributes(periodItem(state, '2026-11')), parseMonthlyItem],
  // Two states in one item: each gets half the bound.
  [
    'monthly, with the month without its latest day',
    (state) => toMonthlyAttributes({ ...periodItem(state, '2026-11'), latestDay: '2026-11-30', withoutLatestDay: state }),
    parseMonthlyItem,
  ],
];

describe.each(TABLES)('%s items', (_table, attributesOf, parse) => {
  it(`keep what they add around the state within ITEM_ENVELOPE_BYTES (${ITEM_ENVELOPE_BYTES})`, () => {
    const state = emptyState();
    const envelope = itemBytes(attributesOf(state)) - itemBytes(stateToAttributes(state));
    expect(envelope).toBeLessThanOrEqual(ITEM_ENVELOPE_BYTES / 2);
  });

  it(`stay within MAX_AGGREGATE_ITEM_BYTES (${MAX_AGGREGATE_ITEM_BYTES}), far below DynamoDB's ${DYNAMODB_MAX_ITEM_BYTES}, and read back`, () => {
    const attributes = attributesOf(overfullState());
    expect(itemBytes(attributes)).toBeLessThanOrEqual(MAX_AGGREGATE_ITEM_BYTES);
    // The bound is used, not just respected: the referrers fill most of it.
    expect(itemBytes(attributes)).toBeGreaterThan(MAX_AGGREGATE_ITEM_BYTES * 0.9);
    expect(() => parse(unmarshall(marshall(attributes)))).not.toThrow();
  });
});
