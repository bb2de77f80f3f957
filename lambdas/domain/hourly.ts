/** Hourly aggregates: what one batch of raw clicks adds to each link-hour, and how a stored hour reads back. */
import type { RawClick } from './click';
import { hourBucket, hourStart } from './time-buckets';

/** The raw-click fields broken down in statistics; counters are named `${dimension}:${value}`. */
export const BREAKDOWN_DIMENSIONS = ['referrer', 'country', 'device', 'browser', 'os'] as const;
export type BreakdownDimension = (typeof BREAKDOWN_DIMENSIONS)[number];

export interface HourlyDelta {
  code: string;
  hour: string;
  /** Human clicks. */
  clicks: number;
  botClicks: number;
  /** `${dimension}:${value}` over human clicks only. */
  counters: Record<string, number>;
}

export interface HourlyRecord {
  hour: string;
  clicks: number;
  botClicks: number;
  counters: Record<string, number>;
}

export const counterName = (dimension: BreakdownDimension, value: string): string => `${dimension}:${value}`;

/** One delta per code and hour, in order of first appearance. */
export function aggregateHourly(clicks: readonly RawClick[]): HourlyDelta[] {
  const deltas = new Map<string, HourlyDelta>();
  for (const click of clicks) {
    const hour = hourBucket(click.ts);
    const key = `${click.code}\n${hour}`;
    let delta = deltas.get(key);
    if (delta === undefined) {
      delta = { code: click.code, hour, clicks: 0, botClicks: 0, counters: {} };
      deltas.set(key, delta);
    }
    if (click.bot) {
      delta.botClicks += 1;
      continue;
    }
    delta.clicks += 1;
    for (const dimension of BREAKDOWN_DIMENSIONS) {
      const name = counterName(dimension, click[dimension]);
      delta.counters[name] = (delta.counters[name] ?? 0) + 1;
    }
  }
  return [...deltas.values()];
}

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/** Reads an unmarshalled hourly item; counts the aggregator never added to are 0. */
export function parseHourlyItem(item: Readonly<Record<string, unknown>>): HourlyRecord {
  const { hour } = item;
  if (typeof hour !== 'string') throw new TypeError('Hourly item has no hour');
  hourStart(hour);
  const count = (name: string): number => {
    const value = item[name] ?? 0;
    if (!isCount(value)) throw new TypeError(`Hourly item ${hour}: ${name} is not a count`);
    return value;
  };
  const counters: Record<string, number> = {};
  for (const name of Object.keys(item)) {
    if (name.includes(':')) counters[name] = count(name);
  }
  return { hour, clicks: count('clicks'), botClicks: count('botClicks'), counters };
}
