/** What every aggregate item (quarter-hour, daily, monthly) counts, how states add up, and their attribute form. */
import type { RawClick } from './click';
import { VisitorSketch } from './visitor-sketch';

/** The raw-click fields broken down in statistics, over human clicks only. */
export const BREAKDOWN_DIMENSIONS = ['referrer', 'country', 'device', 'browser', 'os'] as const;
export type BreakdownDimension = (typeof BREAKDOWN_DIMENSIONS)[number];
export type Breakdowns = Record<BreakdownDimension, Record<string, number>>;

export interface AggregateState {
  /** Human clicks. */
  clicks: number;
  botClicks: number;
  /** Human visitor keys; merged (never summed) across buckets. */
  visitors: VisitorSketch;
  breakdowns: Breakdowns;
}

type Item = Readonly<Record<string, unknown>>;

/**
 * Breakdown keys are values from the click (a referrer host can be `__proto__` or `constructor`):
 * maps without a prototype count them like any other key.
 */
const counts = (): Record<string, number> => Object.create(null) as Record<string, number>;

const breakdownsOf = (record: (dimension: BreakdownDimension) => Record<string, number>): Breakdowns => ({
  referrer: record('referrer'),
  country: record('country'),
  device: record('device'),
  browser: record('browser'),
  os: record('os'),
});

const emptyBreakdowns = (): Breakdowns => breakdownsOf(counts);

export function emptyState(): AggregateState {
  return { clicks: 0, botClicks: 0, visitors: VisitorSketch.empty(), breakdowns: emptyBreakdowns() };
}

function addCount(record: Record<string, number>, key: string, amount: number): void {
  record[key] = (record[key] ?? 0) + amount;
}

/** Human click: clicks+1, its visitor into the sketch, +1 per breakdown dimension. Bot click: botClicks+1 only. */
export function addClick(state: AggregateState, click: RawClick): void {
  if (click.bot) {
    state.botClicks += 1;
    return;
  }
  state.clicks += 1;
  state.visitors.add(click.visitor);
  for (const dimension of BREAKDOWN_DIMENSIONS) addCount(state.breakdowns[dimension], click[dimension], 1);
}

/** Adds source into target (counts summed, sketches merged). */
export function mergeInto(target: AggregateState, source: AggregateState): void {
  target.clicks += source.clicks;
  target.botClicks += source.botClicks;
  target.visitors.merge(source.visitors);
  for (const dimension of BREAKDOWN_DIMENSIONS) {
    for (const [key, amount] of Object.entries(source.breakdowns[dimension])) addCount(target.breakdowns[dimension], key, amount);
  }
}

export const linkTarget = (code: string): string => `link#${code}`;
export const ownerTarget = (owner: string): string => `owner#${owner}`;

/** Every click counts for its link and for the link's owner. */
export function targetsOf(click: RawClick): readonly [string, string] {
  return [linkTarget(click.code), ownerTarget(click.owner)];
}

/**
 * The DocumentClient's marshalling takes a map key `constructor` for the map's class (and fails) and
 * `__proto__` for its prototype (and drops it). Such keys are stored with ESCAPE in front, as is any
 * key that already starts with it, so every key round-trips.
 */
const ESCAPE = '!';
const MARSHALLING_RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor']);

/**
 * Keys kept per breakdown in a stored item: a viral link's month can see tens of thousands of
 * referrer hosts, and an item must stay below DynamoDB's 400 KB or it could never be written again.
 * The smallest keys beyond this are counted together under LONG_TAIL_KEY, so every click still counts.
 */
export const MAX_STORED_BREAKDOWN_KEYS = 2_000;
/** The key of clicks whose own keys were folded away; never a click value, which is never empty. */
export const LONG_TAIL_KEY = '';
/** LONG_TAIL_KEY's stored form: the bare escape, which storedKey never writes for a real key. */
const STORED_LONG_TAIL_KEY = ESCAPE;

const storedKey = (key: string): string =>
  key === LONG_TAIL_KEY ? STORED_LONG_TAIL_KEY : MARSHALLING_RESERVED_KEYS.has(key) || key.startsWith(ESCAPE) ? ESCAPE + key : key;

/** The counts to store: at most MAX_STORED_BREAKDOWN_KEYS keys, the smallest folded into LONG_TAIL_KEY. */
function boundedCounts(record: Readonly<Record<string, number>>): [string, number][] {
  const entries = Object.entries(record);
  if (entries.length <= MAX_STORED_BREAKDOWN_KEYS) return entries;
  const named = entries
    .filter(([key]) => key !== LONG_TAIL_KEY)
    .sort(([keyA, a], [keyB, b]) => b - a || (keyA < keyB ? -1 : keyA > keyB ? 1 : 0));
  const kept = named.slice(0, MAX_STORED_BREAKDOWN_KEYS - 1);
  const folded = named.slice(kept.length).reduce((sum, [, amount]) => sum + amount, record[LONG_TAIL_KEY] ?? 0);
  return [...kept, [LONG_TAIL_KEY, folded]];
}

const storedBreakdowns = (breakdowns: Breakdowns): Breakdowns =>
  breakdownsOf((dimension) => Object.fromEntries(boundedCounts(breakdowns[dimension]).map(([key, amount]) => [storedKey(key), amount])));

/** Attribute map fragment shared by every aggregate item: { clicks, botClicks, uniques, visitors (Uint8Array), breakdowns }. */
export function stateToAttributes(state: AggregateState): Record<string, unknown> {
  return {
    clicks: state.clicks,
    botClicks: state.botClicks,
    // Stored for readers that show one bucket and need not decode the sketch.
    uniques: state.visitors.estimate(),
    visitors: state.visitors.toBytes(),
    breakdowns: storedBreakdowns(state.breakdowns),
  };
}

/** `item[name]` through `read`; any failure becomes a TypeError that names the attribute. */
export function readAttribute<T>(item: Item, name: string, read: (value: unknown) => T): T {
  try {
    return read(item[name]);
  } catch (error) {
    throw new TypeError(`${name}: ${(error as Error).message}`);
  }
}

export function asCount(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new TypeError('must be a non-negative safe integer');
  return value;
}

export function asNonEmptyString(value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new TypeError('must be a non-empty string');
  return value;
}

/** A DynamoDB map as unmarshalled: a plain object (lists, sets and binaries are other classes). */
function asPlainObject(value: unknown): Item {
  const prototype: unknown = typeof value === 'object' && value !== null ? Object.getPrototypeOf(value) : undefined;
  if (prototype !== Object.prototype && prototype !== null) throw new TypeError('must be a map');
  return value as Item;
}

const isDimension = (name: string): name is BreakdownDimension => (BREAKDOWN_DIMENSIONS as readonly string[]).includes(name);

function asCounts(value: unknown): Record<string, number> {
  const record = asPlainObject(value);
  const result = counts();
  for (const stored of Object.keys(record)) {
    const key = stored === STORED_LONG_TAIL_KEY ? LONG_TAIL_KEY : stored.startsWith(ESCAPE) ? stored.slice(ESCAPE.length) : stored;
    if (storedKey(key) !== stored) throw new TypeError(`${stored} is not a key stateToAttributes writes`);
    result[key] = readAttribute(record, stored, asCount);
  }
  return result;
}

function asBreakdowns(value: unknown): Breakdowns {
  const dimensions = asPlainObject(value);
  const breakdowns = emptyBreakdowns();
  for (const name of Object.keys(dimensions)) {
    // An unknown dimension would be dropped on the next rewrite of the item: refuse it instead.
    if (!isDimension(name)) throw new TypeError(`${name} is not one of ${BREAKDOWN_DIMENSIONS.join(', ')}`);
    breakdowns[name] = readAttribute(dimensions, name, asCounts);
  }
  return breakdowns;
}

function asSketch(value: unknown): VisitorSketch {
  if (!(value instanceof Uint8Array)) throw new TypeError('must be binary');
  return VisitorSketch.fromBytes(value);
}

/** Inverse of stateToAttributes; throws TypeError naming the bad attribute. Missing breakdown dimensions read as empty maps. */
export function stateFromAttributes(item: Item): AggregateState {
  // uniques is derived from visitors; it is checked, not trusted.
  readAttribute(item, 'uniques', asCount);
  return {
    clicks: readAttribute(item, 'clicks', asCount),
    botClicks: readAttribute(item, 'botClicks', asCount),
    visitors: readAttribute(item, 'visitors', asSketch),
    breakdowns: readAttribute(item, 'breakdowns', asBreakdowns),
  };
}
