/**
 * The stack's tables and the domain agree: an item the domain builds for a table carries every key
 * attribute of that table, and the table's TTL attribute with the retention of lambdas/domain/buckets.ts
 * (or, where the table keeps items forever, no TTL attribute and no expiry in the item).
 */
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import {
  addDaysEpochSeconds,
  DAILY_RETENTION_DAYS,
  dayBounds,
  localDayOf,
  monthOfDay,
  QUARTER_HOUR_RETENTION_DAYS,
  quarterOf,
  quarterStart,
  RAW_RETENTION_DAYS,
} from '../../lambdas/domain/buckets';
import type { ClickMessage } from '../../lambdas/domain/click';
import { enrichClick } from '../../lambdas/domain/enrich';
import { applyGroup, groupByTargetQuarter } from '../../lambdas/domain/quarter-hour';
import { rollupDay, rollupMonth } from '../../lambdas/domain/rollup';
import { toDailyAttributes, toMonthlyAttributes } from '../../lambdas/tables/period-aggregates';
import { toQuarterHourAttributes } from '../../lambdas/tables/quarter-hour';
import { synthesize } from './synth';

const { stack, template, logicalId } = synthesize();
const { tables } = stack;

interface KeyElement {
  readonly AttributeName: string;
}

function schemaOf(table: Table): { keys: string[]; ttl: string | undefined } {
  const properties = template.toJSON().Resources[logicalId(table)].Properties as {
    KeySchema: KeyElement[];
    TimeToLiveSpecification?: KeyElement;
  };
  return { keys: properties.KeySchema.map((key) => key.AttributeName), ttl: properties.TimeToLiveSpecification?.AttributeName };
}

/** The JavaScript types of an item's key attributes (DynamoDB S keys must be strings). */
const keyTypes = (item: Readonly<Record<string, unknown>>, keys: readonly string[]): string[] => keys.map((key) => typeof item[key]);

// New York, the night DST starts: the local day is 23 hours long and starts at 05:00 UTC.
const tz = 'America/New_York';
const message: ClickMessage = {
  v: 1,
  eventId: '5b0e1c9e-8f4a-4c41-9d55-2f1f3c0a7e21',
  code: 'abc123',
  owner: 'team@example.com',
  ts: '2026-03-08T06:59:30.000Z',
  visitor: 'ab'.repeat(32),
  ipPrefix: null,
  userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
  referrerHost: null,
  method: 'GET',
  purpose: null,
};
const click = enrichClick(message, () => null);
const [group] = groupByTargetQuarter([{ click, sequenceNumber: '4200000000000000000001' }]);
const quarterItem = applyGroup(null, group, 'shardId-00000001700000000000-0a1b2c3d');
if (quarterItem === null) throw new Error('a new quarter-hour item was expected');
const day = localDayOf(Date.parse(message.ts), tz);
const now = new Date('2026-03-08T07:05:00.000Z');
const daily = rollupDay(group.target, day, tz, [quarterItem], now);
const monthly = rollupMonth(group.target, monthOfDay(day), tz, [daily], now);

describe('table attributes written by the domain', () => {
  it('raw clicks: the enriched click has the key attributes and expires RAW_RETENTION_DAYS after the click', () => {
    const { keys, ttl } = schemaOf(tables.rawClicksTable);
    const item: Readonly<Record<string, unknown>> = { ...click };
    expect(keyTypes(item, keys)).toEqual(['string', 'string']);
    expect(ttl).toBeDefined();
    expect(item[ttl ?? '']).toBe(addDaysEpochSeconds(new Date(message.ts), RAW_RETENTION_DAYS));
  });

  it('quarter-hour: the item has the key attributes and expires QUARTER_HOUR_RETENTION_DAYS after its quarter', () => {
    const { keys, ttl } = schemaOf(tables.quarterHourTable);
    const item = toQuarterHourAttributes(quarterItem);
    expect(keyTypes(item, keys)).toEqual(['string', 'string']);
    expect(ttl).toBeDefined();
    expect(item[ttl ?? '']).toBe(addDaysEpochSeconds(quarterStart(quarterOf(message.ts)), QUARTER_HOUR_RETENTION_DAYS));
  });

  it('daily: the item has the key attributes and expires DAILY_RETENTION_DAYS after the local day starts', () => {
    const { keys, ttl } = schemaOf(tables.dailyTable);
    const item = toDailyAttributes(daily);
    expect(keyTypes(item, keys)).toEqual(['string', 'string']);
    expect(item.day).toBe('2026-03-08');
    expect(ttl).toBeDefined();
    expect(item[ttl ?? '']).toBe(addDaysEpochSeconds(new Date(dayBounds(day, tz).startMs), DAILY_RETENTION_DAYS));
  });

  it('monthly: the item has the key attributes, and neither the table nor the item has an expiry (kept forever)', () => {
    const { keys, ttl } = schemaOf(tables.monthlyTable);
    const item = toMonthlyAttributes(monthly);
    expect(keyTypes(item, keys)).toEqual(['string', 'string']);
    expect(ttl).toBeUndefined();
    // Not even the attribute the other tables expire on: a later TTL on the table would delete nothing.
    const expiryAttributes = [tables.rawClicksTable, tables.quarterHourTable, tables.dailyTable].map((table) => schemaOf(table).ttl);
    for (const attribute of expiryAttributes) expect(item).not.toHaveProperty(attribute ?? '');
  });
});
