/**
 * Quarter-hour aggregate items: one per (target, quarter, writer), where the writer is the stream
 * shard the clicks came from. Each item remembers the highest stream sequence number it has
 * applied (its watermark), so a retried, bisected or redelivered batch never counts a click twice.
 * Their table form is lambdas/tables/quarter-hour.ts.
 */
import { addClick, emptyState, mergeInto, targetsOf, type AggregateState } from './aggregate-state';
import { addDaysEpochSeconds, QUARTER_HOUR_RETENTION_DAYS, quarterOf, quarterStart } from './buckets';
import type { RawClick } from './click';

export interface StreamedClick {
  readonly click: RawClick;
  readonly sequenceNumber: string;
}

export interface QuarterHourGroup {
  readonly target: string;
  readonly quarter: string;
  readonly clicks: readonly StreamedClick[];
}

export interface QuarterHourItem {
  target: string;
  quarter: string;
  writer: string;
  /** Highest sequence number applied, 40-digit zero-padded. */
  watermark: string;
  state: AggregateState;
  expiresAt: number;
}

/** What statistics read of a quarter-hour item: its quarter and state. */
export type QuarterHourState = Pick<QuarterHourItem, 'quarter' | 'state'>;

/** DynamoDB stream sequence numbers are decimal strings of up to 40 digits. */
const SEQUENCE_NUMBER_DIGITS = 40;
const SEQUENCE_NUMBER_PATTERN = /^\d{1,40}$/;

function significantDigits(sequenceNumber: string): string {
  if (!SEQUENCE_NUMBER_PATTERN.test(sequenceNumber)) {
    throw new RangeError(`Not a stream sequence number (1 to ${SEQUENCE_NUMBER_DIGITS} decimal digits): ${sequenceNumber}`);
  }
  return sequenceNumber.replace(/^0+/, '');
}

/** Numeric comparison of stream sequence numbers (decimal strings up to 40 digits). Throws RangeError on a non-decimal string. */
export function compareSequenceNumbers(a: string, b: string): number {
  const [x, y] = [significantDigits(a), significantDigits(b)];
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Zero-padded to 40 digits, so watermarks of every length compare as strings too. */
export const paddedSequenceNumber = (sequenceNumber: string): string =>
  significantDigits(sequenceNumber).padStart(SEQUENCE_NUMBER_DIGITS, '0');

/** Groups by (target, quarter) over both targets of every click, in order of first appearance. */
export function groupByTargetQuarter(clicks: readonly StreamedClick[]): QuarterHourGroup[] {
  const groups = new Map<string, { target: string; quarter: string; clicks: StreamedClick[] }>();
  for (const streamed of clicks) {
    const quarter = quarterOf(streamed.click.ts);
    for (const target of targetsOf(streamed.click)) {
      const key = `${target}\n${quarter}`;
      let group = groups.get(key);
      if (group === undefined) {
        group = { target, quarter, clicks: [] };
        groups.set(key, group);
      }
      group.clicks.push(streamed);
    }
  }
  return [...groups.values()];
}

/**
 * Applies the group's clicks whose sequence number is above existing.watermark; null when none is.
 * A new item when existing is null. The existing item is left unchanged.
 */
export function applyGroup(existing: QuarterHourItem | null, group: QuarterHourGroup, writer: string): QuarterHourItem | null {
  if (existing !== null && (existing.target !== group.target || existing.quarter !== group.quarter || existing.writer !== writer)) {
    throw new Error(
      `Quarter-hour item ${existing.target} ${existing.quarter} of writer ${existing.writer} read for ${group.target} ${group.quarter} of writer ${writer}`,
    );
  }
  // Ascending order with a running watermark also skips a record that appears twice in one group.
  const ordered = [...group.clicks].sort((a, b) => compareSequenceNumbers(a.sequenceNumber, b.sequenceNumber));
  const state = emptyState();
  if (existing !== null) mergeInto(state, existing.state);
  const initial = existing?.watermark ?? null;
  let watermark = initial;
  for (const { click, sequenceNumber } of ordered) {
    if (watermark !== null && compareSequenceNumbers(sequenceNumber, watermark) <= 0) continue;
    addClick(state, click);
    watermark = sequenceNumber;
  }
  if (watermark === null || watermark === initial) return null;
  return {
    target: group.target,
    quarter: group.quarter,
    writer,
    watermark: paddedSequenceNumber(watermark),
    state,
    expiresAt: addDaysEpochSeconds(quarterStart(group.quarter), QUARTER_HOUR_RETENTION_DAYS),
  };
}
