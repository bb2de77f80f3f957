import { createHash } from 'node:crypto';
import { networkPrefix } from './client-ip';
import { MAX_REFERRER_HOST_LENGTH } from './referrer';
import { SHORT_CODE_PATTERN } from './short-code';
import { visitorHash } from './visitor';

/** The click as it leaves the redirect: nothing in it identifies a person on its own. */
export interface ClickMessage {
  readonly v: 1;
  readonly eventId: string;
  readonly code: string;
  /** The link's owner: every click also counts for the owner's statistics. */
  readonly owner: string;
  /** ISO 8601 UTC with milliseconds, server time at the redirect. */
  readonly ts: string;
  /** Hex HMAC-SHA256 of client IP and User-Agent under the current period's secret salt. */
  readonly visitor: string;
  /** Network address of the client's /24 (IPv4) or /48 (IPv6), for GeoIP only. */
  readonly ipPrefix: string | null;
  readonly userAgent: string;
  readonly referrerHost: string | null;
  readonly method: 'GET' | 'HEAD';
  /** From `Purpose`/`Sec-Purpose`/`X-Purpose`/`X-Moz` headers: prefetches and previews are not human clicks. */
  readonly purpose: string | null;
}

export type BotReason = 'head-request' | 'prefetch' | 'link-preview' | 'user-agent' | 'empty-user-agent';

/** The click as stored in the raw clicks table. */
export interface RawClick {
  /** Partition key: `${code}#${n}` (linkShardOf), so a hot link spreads over RAW_WRITE_SHARDS partitions. */
  readonly linkShard: string;
  readonly code: string;
  readonly owner: string;
  /** Sort key: `${ts}#${eventId}`, so a redelivered message maps to the same item. */
  readonly clickKey: string;
  readonly eventId: string;
  readonly ts: string;
  readonly visitor: string;
  readonly country: string;
  readonly referrer: string;
  readonly device: string;
  readonly browser: string;
  readonly os: string;
  readonly bot: boolean;
  readonly botReason: BotReason | null;
  /** Epoch seconds: click time + 90 days (DynamoDB TTL). */
  readonly expiresAt: number;
}

/** Thrown for a click message or raw-click item that fails validation; the message names the field. */
export class InvalidClickMessage extends Error {
  override readonly name = 'InvalidClickMessage';
}

export const MAX_USER_AGENT_LENGTH = 512;
/** Byte limit of a serialised click message: far above a real one, far below SQS's limit. */
export const MAX_CLICK_MESSAGE_BYTES = 4096;
export const MAX_PURPOSE_LENGTH = 32;
/** Partitions one link's raw clicks are spread over: 16 × 1,000 write units a second for a hot link. */
export const RAW_WRITE_SHARDS = 16;

const linkShard = (code: string, shard: number): string => `${code}#${shard}`;

/** The raw-click partition of a click: the same for every delivery of the same event. */
export function linkShardOf(code: string, eventId: string): string {
  return linkShard(code, createHash('sha256').update(eventId).digest()[0] % RAW_WRITE_SHARDS);
}

/** Every raw-click partition of a link: its clicks are in these and nowhere else. */
export function linkShardsOf(code: string): string[] {
  return Array.from({ length: RAW_WRITE_SHARDS }, (_, shard) => linkShard(code, shard));
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const VISITOR_PATTERN = /^[0-9a-f]{64}$/;
/** Owners: what a click counts for besides its link, and what an API key acts as. */
export const OWNER_PATTERN = /^[A-Za-z0-9._@+-]{1,128}$/;
const ISO_UTC_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/;
/** A host as `referrerHost` produces it: no whitespace, path, query, fragment or credentials. */
const HOST_PATTERN = /^[^\s/?#@\\]+$/;
export const BOT_REASONS: readonly BotReason[] = ['head-request', 'prefetch', 'link-preview', 'user-agent', 'empty-user-agent'];
const PURPOSE_HEADERS = ['sec-purpose', 'purpose', 'x-purpose', 'x-moz'] as const;

type Item = Readonly<Record<string, unknown>>;
type Check<T> = (value: unknown) => value is T;

const isString: Check<string> = (value): value is string => typeof value === 'string';
const stringMatching =
  (pattern: RegExp): Check<string> =>
  (value): value is string =>
    isString(value) && pattern.test(value);
const stringUpTo =
  (maxLength: number, minLength = 0): Check<string> =>
  (value): value is string =>
    isString(value) && value.length >= minLength && value.length <= maxLength;
const nullOr =
  <T>(check: Check<T>): Check<T | null> =>
  (value): value is T | null =>
    value === null || check(value);
const oneOf =
  <T extends string>(values: readonly T[]): Check<T> =>
  (value): value is T =>
    isString(value) && (values as readonly string[]).includes(value);
const isIsoUtc: Check<string> = (value): value is string =>
  stringMatching(ISO_UTC_PATTERN)(value) && isCalendarTime(value);
const isNonNegativeInteger: Check<number> = (value): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
const isBoolean: Check<boolean> = (value): value is boolean => typeof value === 'boolean';
const isNonEmptyString: Check<string> = (value): value is string => isString(value) && value !== '';

/** Whether text has the form of a raw click's sort key, `${ts}#${eventId}` (no item needs to exist). */
export function isClickKey(text: string): boolean {
  const separator = text.indexOf('#');
  return separator > 0 && isIsoUtc(text.slice(0, separator)) && UUID_PATTERN.test(text.slice(separator + 1));
}

/** Date rolls 2026-02-30 over into March: comparing the date part back rejects such times. */
function isCalendarTime(iso: string): boolean {
  const time = new Date(iso);
  return !Number.isNaN(time.getTime()) && time.toISOString().slice(0, 19) === iso.slice(0, 19);
}

function field<T>(item: Item, name: string, check: Check<T>, expectation: string): T {
  const value = item[name];
  if (!check(value)) throw new InvalidClickMessage(`${name} ${expectation}`);
  return value;
}

/** Accepts what networkPrefix produces: a canonical /24 or /48 network address. */
const isNetworkPrefix: Check<string> = (value): value is string => isString(value) && networkPrefix(value) === value;

// Fields shared by the click message and the raw-click item.
const eventIdOf = (item: Item): string => field(item, 'eventId', stringMatching(UUID_PATTERN), 'must be a lower-case UUID');
const codeOf = (item: Item): string => field(item, 'code', stringMatching(SHORT_CODE_PATTERN), 'must be a short code');
const ownerOf = (item: Item): string =>
  field(item, 'owner', stringMatching(OWNER_PATTERN), 'must be 1 to 128 characters of letters, digits and ._@+-');
const tsOf = (item: Item): string => field(item, 'ts', isIsoUtc, 'must be an ISO 8601 UTC time');
const visitorOf = (item: Item): string =>
  field(item, 'visitor', stringMatching(VISITOR_PATTERN), 'must be 64 lower-case hex characters');

/**
 * Characters SQS refuses in a message body: it takes #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD |
 * #x10000-#x10FFFF (fauxqs, the local emulator, refuses the last range too). Matched per UTF-16 unit.
 */
const SQS_UNSAFE_UNITS = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD]/g;

/**
 * The SQS body of a click message: its JSON, with every character SQS could refuse written as a
 * \uXXXX escape. A User-Agent holding U+FFFF (or, locally, an emoji) would otherwise get the click
 * refused; parseClickMessage reads the same message back. Such characters only occur inside JSON
 * strings, where the escape is valid.
 */
export function clickMessageBody(click: ClickMessage): string {
  return JSON.stringify(click).replace(SQS_UNSAFE_UNITS, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Validates an SQS click message body; only the known fields are kept. */
export function parseClickMessage(body: string): ClickMessage {
  if (Buffer.byteLength(body, 'utf8') > MAX_CLICK_MESSAGE_BYTES) {
    throw new InvalidClickMessage(`body is larger than ${MAX_CLICK_MESSAGE_BYTES} bytes`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new InvalidClickMessage('body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidClickMessage('body is not a JSON object');
  }
  const item = parsed as Item;
  if (item.v !== 1) throw new InvalidClickMessage('v must be 1');
  return {
    v: 1,
    eventId: eventIdOf(item),
    code: codeOf(item),
    owner: ownerOf(item),
    // One canonical form, so the clickKey of a message is the same however its time was written.
    ts: new Date(tsOf(item)).toISOString(),
    visitor: visitorOf(item),
    ipPrefix: field(item, 'ipPrefix', nullOr(isNetworkPrefix), 'must be null or an IPv4 /24 or IPv6 /48 network address'),
    userAgent: field(item, 'userAgent', stringUpTo(MAX_USER_AGENT_LENGTH), `must be a string of at most ${MAX_USER_AGENT_LENGTH} characters`),
    referrerHost: field(
      item,
      'referrerHost',
      nullOr((value): value is string => stringUpTo(MAX_REFERRER_HOST_LENGTH, 1)(value) && HOST_PATTERN.test(value)),
      `must be null or a host name of at most ${MAX_REFERRER_HOST_LENGTH} characters`,
    ),
    method: field(item, 'method', oneOf(['GET', 'HEAD'] as const), 'must be GET or HEAD'),
    purpose: field(item, 'purpose', nullOr(stringUpTo(MAX_PURPOSE_LENGTH)), `must be null or a string of at most ${MAX_PURPOSE_LENGTH} characters`),
  };
}

/** What a click message is made of, as the origin redirect or an edge log record saw the request. */
export interface ClickFacts {
  readonly eventId: string;
  readonly code: string;
  readonly owner: string;
  readonly at: Date;
  /** The client's full address: it goes into the keyed hash and its network prefix, nowhere else. */
  readonly ip: string;
  /** As the client sent it; bounded here. */
  readonly userAgent: string;
  /** The host of the Referer header (referrerHost): paths and queries carry tokens and PII. */
  readonly referrerHost: string | null;
  readonly method: 'GET' | 'HEAD';
  readonly purpose: string | null;
}

/**
 * The click message of a request, the same wherever it was answered: one place decides how the
 * visitor key, the network prefix and the bounded User-Agent are made, so the origin and the edge
 * count a visitor alike.
 */
export function clickMessageOf(facts: ClickFacts, salt: Uint8Array): ClickMessage {
  const userAgent = facts.userAgent.slice(0, MAX_USER_AGENT_LENGTH);
  return {
    v: 1,
    eventId: facts.eventId,
    code: facts.code,
    owner: facts.owner,
    ts: facts.at.toISOString(),
    visitor: visitorHash(salt, facts.ip, userAgent),
    ipPrefix: networkPrefix(facts.ip),
    userAgent,
    referrerHost: facts.referrerHost,
    method: facts.method,
    purpose: facts.purpose,
  };
}

/**
 * Why the browser sent the request, from the headers browsers use to mark speculative loads
 * (`Sec-Purpose: prefetch;prerender`, `Purpose: prefetch`, `X-Purpose: preview`, `X-Moz: prefetch`).
 * Header names are lower-case. Prefetches and prerenders are 'prefetch', previews 'preview'.
 */
export function purposeFrom(headers: Readonly<Record<string, string | undefined>>): string | null {
  for (const name of PURPOSE_HEADERS) {
    const tokens = (headers[name] ?? '').toLowerCase().split(/[\s;,]+/).filter((token) => token !== '');
    if (tokens.length === 0) continue;
    if (tokens.includes('prefetch') || tokens.includes('prerender')) return 'prefetch';
    if (tokens.includes('preview')) return 'preview';
    return tokens.join(';').slice(0, MAX_PURPOSE_LENGTH);
  }
  return null;
}

/** Validates an unmarshalled raw-click item (e.g. from the table's stream). */
export function parseRawClick(item: Readonly<Record<string, unknown>>): RawClick {
  const eventId = eventIdOf(item);
  const code = codeOf(item);
  const linkShard = field(item, 'linkShard', isString, 'must be a string');
  if (linkShard !== linkShardOf(code, eventId)) throw new InvalidClickMessage('linkShard must be linkShardOf(code, eventId)');
  const ts = tsOf(item);
  const clickKey = field(item, 'clickKey', isString, 'must be a string');
  if (clickKey !== `${ts}#${eventId}`) throw new InvalidClickMessage('clickKey must be `${ts}#${eventId}`');
  const bot = field(item, 'bot', isBoolean, 'must be a boolean');
  const botReason = field(item, 'botReason', nullOr(oneOf(BOT_REASONS)), `must be null or one of ${BOT_REASONS.join(', ')}`);
  if (bot !== (botReason !== null)) throw new InvalidClickMessage('botReason must be set exactly when bot is true');
  const label = (name: string): string => field(item, name, isNonEmptyString, 'must be a non-empty string');
  return {
    linkShard,
    code,
    owner: ownerOf(item),
    clickKey,
    eventId,
    ts,
    visitor: visitorOf(item),
    country: label('country'),
    referrer: label('referrer'),
    device: label('device'),
    browser: label('browser'),
    os: label('os'),
    bot,
    botReason,
    expiresAt: field(item, 'expiresAt', isNonNegativeInteger, 'must be a non-negative integer (epoch seconds)'),
  };
}
