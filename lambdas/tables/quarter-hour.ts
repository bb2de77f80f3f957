/**
 * The quarter-hour aggregates table: one item per (target, quarter, writer), keyed by `target` and
 * `slot` = `${quarter}#${writer}`, { quarter, writer, watermark, expiresAt, ...state }. A write only
 * lands over the item it was computed from: the watermark it read (docs/statistics.md, Exactly once).
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { asCount, asNonEmptyString, readAttribute, STATE_ATTRIBUTES, stateFromAttributes, stateToAttributes } from '../domain/aggregate-state';
import { quarterStart } from '../domain/buckets';
import { paddedSequenceNumber, type QuarterHourItem, type QuarterHourState } from '../domain/quarter-hour';
import { conditionHeld, dynamoDocumentClient } from '../shared/clients/dynamodb';
import { queryTargetRange, type ReadOptions } from './target-range';

const WATERMARK_PATTERN = /^\d{40}$/;

/** Sort key of a quarter-hour item: `${quarter}#${writer}`. */
export function quarterHourSlot(quarter: string, writer: string): string {
  return `${quarter}#${writer}`;
}

/**
 * Inclusive sort-key bounds of every writer's items for quarters first..last. Quarters have a fixed
 * length and '$' follows '#', so `${last}$` is above every `${last}#writer` and below the next quarter.
 * Throws RangeError on a malformed quarter or when last is before first.
 */
export function slotRange(firstQuarter: string, lastQuarter: string): { first: string; last: string } {
  if (quarterStart(lastQuarter) < quarterStart(firstQuarter)) throw new RangeError(`Quarter ${lastQuarter} is before ${firstQuarter}`);
  return { first: `${firstQuarter}#`, last: `${lastQuarter}$` };
}

/** Item for a DocumentClient Put: { target, slot, quarter, writer, watermark (40-digit zero-padded), expiresAt, ...stateToAttributes }. */
export function toQuarterHourAttributes(item: QuarterHourItem): Record<string, unknown> {
  return {
    target: item.target,
    slot: quarterHourSlot(item.quarter, item.writer),
    quarter: item.quarter,
    writer: item.writer,
    watermark: paddedSequenceNumber(item.watermark),
    expiresAt: item.expiresAt,
    ...stateToAttributes(item.state),
  };
}

const asQuarter = (value: unknown): string => {
  const quarter = asNonEmptyString(value);
  quarterStart(quarter);
  return quarter;
};

const asWatermark = (value: unknown): string => {
  if (typeof value !== 'string' || !WATERMARK_PATTERN.test(value)) throw new TypeError('must be 40 decimal digits');
  return value;
};

/** Inverse of toQuarterHourAttributes; throws TypeError naming the bad attribute. */
export function parseQuarterHourItem(item: Readonly<Record<string, unknown>>): QuarterHourItem {
  const quarter = readAttribute(item, 'quarter', asQuarter);
  const writer = readAttribute(item, 'writer', asNonEmptyString);
  if (item.slot !== quarterHourSlot(quarter, writer)) throw new TypeError('slot: must be `${quarter}#${writer}`');
  return {
    target: readAttribute(item, 'target', asNonEmptyString),
    quarter,
    writer,
    // Kept exactly as stored: the conditional write compares it with what it read.
    watermark: readAttribute(item, 'watermark', asWatermark),
    state: stateFromAttributes(item),
    expiresAt: readAttribute(item, 'expiresAt', asCount),
  };
}

/** The writer's item of the target's quarter, or null; a consistent read, as the write after it compares against it. */
export async function readQuarterHourItem(tableName: string, target: string, quarter: string, writer: string): Promise<QuarterHourItem | null> {
  const { Item } = await dynamoDocumentClient().send(
    new GetCommand({ TableName: tableName, Key: { target, slot: quarterHourSlot(quarter, writer) }, ConsistentRead: true }),
  );
  return Item === undefined ? null : parseQuarterHourItem(Item);
}

/**
 * Writes the item over `read`, what readQuarterHourItem gave before the item was computed (null: no
 * item), and resolves with the item as stored, as a read would now give it (its breakdowns bounded).
 * Null, with nothing written, when the stored item is no longer that one: another invocation wrote
 * meanwhile, and the caller must read it again.
 */
export async function putQuarterHourItemOver(tableName: string, item: QuarterHourItem, read: QuarterHourItem | null): Promise<QuarterHourItem | null> {
  const attributes = toQuarterHourAttributes(item);
  const written = await conditionHeld(
    dynamoDocumentClient().send(
      new PutCommand({
        TableName: tableName,
        Item: attributes,
        ...(read === null
          ? { ConditionExpression: 'attribute_not_exists(#target)', ExpressionAttributeNames: { '#target': 'target' } }
          : {
              ConditionExpression: 'attribute_not_exists(#target) OR #watermark = :read',
              ExpressionAttributeNames: { '#target': 'target', '#watermark': 'watermark' },
              ExpressionAttributeValues: { ':read': read.watermark },
            }),
      }),
    ),
  );
  return written ? parseQuarterHourItem(attributes) : null;
}

/** Every writer's items of the target for quarters first..last, inclusive. */
export function queryQuarterHourItems(
  tableName: string,
  target: string,
  firstQuarter: string,
  lastQuarter: string,
  options: ReadOptions = {},
): Promise<QuarterHourItem[]> {
  return queryTargetRange(
    dynamoDocumentClient(),
    { tableName, target, sortKey: 'slot', ...slotRange(firstQuarter, lastQuarter), ...options },
    parseQuarterHourItem,
  );
}

/**
 * Every writer's quarters and states of the target for quarters first..last, inclusive: only the
 * attributes statistics use (an hourly week is 672 items, and the SDK parses every attribute sent).
 */
export function queryQuarterHourStates(tableName: string, target: string, firstQuarter: string, lastQuarter: string): Promise<QuarterHourState[]> {
  return queryTargetRange(
    dynamoDocumentClient(),
    { tableName, target, sortKey: 'slot', ...slotRange(firstQuarter, lastQuarter), attributes: ['quarter', ...STATE_ATTRIBUTES] },
    (item) => ({ quarter: readAttribute(item, 'quarter', asQuarter), state: stateFromAttributes(item) }),
  );
}
