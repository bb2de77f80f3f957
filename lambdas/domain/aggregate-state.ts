/** What every aggregate item (quarter-hour, daily, monthly) counts, how states add up, and their attribute form. */
import type { RawClick } from './click';
import { itemBytes, mapEntryBytes, truncateUtf8 } from './item-size';
import { VisitorSketch } from './visitor-sketch';

/** The raw-click fields broken down in statistics, over human clicks only. */
export const BREAKDOWN_DIMENSIONS = ['referrer', 'country', 'device', 'browser', 'os'] as const;
export type BreakdownDimension = (typeof BREAKDOWN_DIMENSIONS)[number];
export type Breakdowns = Record<BreakdownDimension, Record<string, number>>;
export type FoldedKeys = Record<BreakdownDimension, number>;

export interface AggregateState {
  /** Human clicks. */
  clicks: number;
  botClicks: number;
  /** Human visitor keys; merged (never summed) across buckets. */
  visitors: VisitorSketch;
  /** Per dimension, clicks by key; the clicks of keys folded away in storage are under LONG_TAIL_KEY. */
  breakdowns: Breakdowns;
  /**
   * Per dimension, how many keys were folded into LONG_TAIL_KEY: summed across merged items, so a key
   * folded in several of them counts once in each, and the number is an upper bound on distinct keys.
   */
  foldedKeys: FoldedKeys;
}

type Item = Readonly<Record<string, unknown>>;

/**
 * Breakdown keys are values from the click (a referrer host can be `__proto__` or `constructor`):
 * maps without a prototype count them like any other key.
 */
const counts = (): Record<string, number> => Object.create(null) as Record<string, number>;

const byDimension = <T>(value: (dimension: BreakdownDimension) => T): Record<BreakdownDimension, T> => ({
  referrer: value('referrer'),
  country: value('country'),
  device: value('device'),
  browser: value('browser'),
  os: value('os'),
});

const emptyBreakdowns = (): Breakdowns => byDimension(counts);
const noFoldedKeys = (): FoldedKeys => byDimension(() => 0);

export function emptyState(): AggregateState {
  return { clicks: 0, botClicks: 0, visitors: VisitorSketch.empty(), breakdowns: emptyBreakdowns(), foldedKeys: noFoldedKeys() };
}

/**
 * Longest breakdown key stored, in UTF-8 bytes: a DNS name's limit. Keys come from what clients send
 * (a referrer host, names parsed out of a User-Agent); a longer one is cut to this, on a character boundary.
 */
export const MAX_BREAKDOWN_KEY_BYTES = 253;

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
  for (const dimension of BREAKDOWN_DIMENSIONS) addCount(state.breakdowns[dimension], truncateUtf8(click[dimension], MAX_BREAKDOWN_KEY_BYTES), 1);
}

/** Adds source into target (counts summed, sketches merged). */
export function mergeInto(target: AggregateState, source: AggregateState): void {
  target.clicks += source.clicks;
  target.botClicks += source.botClicks;
  target.visitors.merge(source.visitors);
  for (const dimension of BREAKDOWN_DIMENSIONS) {
    for (const [key, amount] of Object.entries(source.breakdowns[dimension])) addCount(target.breakdowns[dimension], key, amount);
    target.foldedKeys[dimension] += source.foldedKeys[dimension];
  }
}

export const linkTarget = (code: string): string => `link#${code}`;
export const ownerTarget = (owner: string): string => `owner#${owner}`;
const LINK_TARGET_PREFIX = linkTarget('');

/** The code of a link's target; null for an owner's. */
export const codeOfTarget = (target: string): string | null => (target.startsWith(LINK_TARGET_PREFIX) ? target.slice(LINK_TARGET_PREFIX.length) : null);

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
 * Bytes an aggregate item may take, as DynamoDB counts them (item-size.ts). DynamoDB refuses items
 * over 400 KB; a quarter of that leaves room for any error in the count, and keeps each rewrite of a
 * quarter-hour item, once per stream batch, at 100 write units or less. Keys, not clicks, fill an item:
 * a viral link's month sees tens of thousands of referrer hosts, and a spammer can send any number.
 */
export const MAX_AGGREGATE_ITEM_BYTES = 100 * 1024;
/**
 * Kept for the attributes the table modules add around the state (keys, watermark, zone, times), under
 * 1 KB with the longest code, owner and shard id (checked by the table modules' tests).
 */
export const ITEM_ENVELOPE_BYTES = 2 * 1024;
/** What stateToAttributes may produce. */
export const MAX_STATE_BYTES = MAX_AGGREGATE_ITEM_BYTES - ITEM_ENVELOPE_BYTES;
/** The key of clicks whose own keys were folded away; never a click value, which is never empty. */
export const LONG_TAIL_KEY = '';
/** LONG_TAIL_KEY's stored form: the bare escape, which storedKey never writes for a real key. */
const STORED_LONG_TAIL_KEY = ESCAPE;

const storedKey = (key: string): string =>
  key === LONG_TAIL_KEY ? STORED_LONG_TAIL_KEY : MARSHALLING_RESERVED_KEYS.has(key) || key.startsWith(ESCAPE) ? ESCAPE + key : key;

interface StoredBreakdown {
  readonly counts: Record<string, number>;
  /** Keys folded into the tail, counting those folded before. */
  readonly foldedKeys: number;
}

/** One dimension's named keys with what each costs in the stored map, and its long tail. */
class BreakdownEntries {
  readonly named: { readonly key: string; readonly amount: number; readonly bytes: number }[];
  readonly tail: number;
  readonly total: number;
  readonly wholeBytes: number;

  constructor(
    record: Readonly<Record<string, number>>,
    readonly foldedBefore: number,
  ) {
    this.named = Object.entries(record)
      .filter(([key]) => key !== LONG_TAIL_KEY)
      .map(([key, amount]) => ({ key: storedKey(key), amount, bytes: mapEntryBytes(storedKey(key), amount) }));
    this.tail = record[LONG_TAIL_KEY] ?? 0;
    this.total = this.named.reduce((sum, entry) => sum + entry.amount, this.tail);
    this.wholeBytes = this.named.reduce((sum, entry) => sum + entry.bytes, this.tail > 0 ? mapEntryBytes(STORED_LONG_TAIL_KEY, this.tail) : 0);
  }

  whole(): StoredBreakdown {
    const stored = Object.fromEntries(this.named.map(({ key, amount }) => [key, amount]));
    if (this.tail > 0) stored[STORED_LONG_TAIL_KEY] = this.tail;
    return { counts: stored, foldedKeys: this.foldedBefore };
  }

  /** The largest keys that fit in `budget` bytes beside the tail; the smallest fold into it (ties: the later key). */
  folded(budget: number): StoredBreakdown {
    const ranked = [...this.named].sort((a, b) => b.amount - a.amount || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    // The tail can hold every click of the dimension: its entry never costs more than this.
    let used = mapEntryBytes(STORED_LONG_TAIL_KEY, this.total);
    let kept = 0;
    while (kept < ranked.length && used + ranked[kept].bytes <= budget) used += ranked[kept++].bytes;
    const stored = Object.fromEntries(ranked.slice(0, kept).map(({ key, amount }) => [key, amount]));
    stored[STORED_LONG_TAIL_KEY] = ranked.slice(kept).reduce((sum, { amount }) => sum + amount, this.tail);
    return { counts: stored, foldedKeys: this.foldedBefore + ranked.length - kept };
  }
}

/**
 * The breakdowns to store within `available` bytes. Dimensions are served smallest first, each given
 * an equal share of what is left: one that needs less keeps all its keys and leaves the rest to the
 * others (so countries and devices stay whole while referrer spam folds).
 */
function boundedBreakdowns(state: AggregateState, available: number): Record<BreakdownDimension, StoredBreakdown> {
  const entries = byDimension((dimension) => new BreakdownEntries(state.breakdowns[dimension], state.foldedKeys[dimension]));
  const order = [...BREAKDOWN_DIMENSIONS].sort((a, b) => entries[a].wholeBytes - entries[b].wholeBytes);
  const stored: Partial<Record<BreakdownDimension, StoredBreakdown>> = {};
  let remaining = available;
  order.forEach((dimension, index) => {
    const share = Math.floor(remaining / (order.length - index));
    const breakdown = entries[dimension];
    stored[dimension] = breakdown.wholeBytes <= share ? breakdown.whole() : breakdown.folded(share);
    remaining -= breakdown.wholeBytes <= share ? breakdown.wholeBytes : share;
  });
  return byDimension((dimension) => stored[dimension] as StoredBreakdown);
}

/** The attributes stateToAttributes writes (foldedKeys only when some key was folded). */
export const STATE_ATTRIBUTES = ['clicks', 'botClicks', 'uniques', 'visitors', 'breakdowns', 'foldedKeys'] as const;

/**
 * Attribute map fragment shared by every aggregate item: { clicks, botClicks, uniques, visitors
 * (Uint8Array), breakdowns, foldedKeys (only when some key was folded) }, at most `maxBytes`
 * (MAX_STATE_BYTES unless the item holds two states).
 */
export function stateToAttributes(state: AggregateState, maxBytes = MAX_STATE_BYTES): Record<string, unknown> {
  const fixed = {
    clicks: state.clicks,
    botClicks: state.botClicks,
    // Stored for readers that show one bucket and need not decode the sketch.
    uniques: state.visitors.estimate(),
    visitors: state.visitors.toBytes(),
  };
  // Counted as if every key were folded, the most foldedKeys can take; the breakdowns map's own overhead too.
  const mostFolded = byDimension((dimension) => state.foldedKeys[dimension] + Object.keys(state.breakdowns[dimension]).length);
  const overhead = itemBytes({ ...fixed, foldedKeys: mostFolded, breakdowns: byDimension(counts) });
  const breakdowns = boundedBreakdowns(state, maxBytes - overhead);
  const foldedKeys = Object.fromEntries(
    BREAKDOWN_DIMENSIONS.filter((dimension) => breakdowns[dimension].foldedKeys > 0).map((dimension) => [dimension, breakdowns[dimension].foldedKeys]),
  );
  return {
    ...fixed,
    breakdowns: byDimension((dimension) => breakdowns[dimension].counts),
    ...(Object.keys(foldedKeys).length > 0 ? { foldedKeys } : {}),
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
export function asPlainObject(value: unknown): Item {
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

function asFoldedKeys(value: unknown): FoldedKeys {
  const folded = noFoldedKeys();
  if (value === undefined) return folded;
  const dimensions = asPlainObject(value);
  for (const name of Object.keys(dimensions)) {
    if (!isDimension(name)) throw new TypeError(`${name} is not one of ${BREAKDOWN_DIMENSIONS.join(', ')}`);
    folded[name] = readAttribute(dimensions, name, asCount);
  }
  return folded;
}

/**
 * Inverse of stateToAttributes; throws TypeError naming the bad attribute. Missing breakdown dimensions
 * read as empty maps, a missing foldedKeys as none folded (items written before it existed).
 */
export function stateFromAttributes(item: Item): AggregateState {
  // uniques is derived from visitors; it is checked, not trusted.
  readAttribute(item, 'uniques', asCount);
  return {
    clicks: readAttribute(item, 'clicks', asCount),
    botClicks: readAttribute(item, 'botClicks', asCount),
    visitors: readAttribute(item, 'visitors', asSketch),
    breakdowns: readAttribute(item, 'breakdowns', asBreakdowns),
    foldedKeys: readAttribute(item, 'foldedKeys', asFoldedKeys),
  };
}
