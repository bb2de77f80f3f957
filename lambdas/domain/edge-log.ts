/**
 * CloudFront real-time log records of the edge redirect (docs/edge.md, Clicks from the edge): which
 * fields the log configuration asks for, and which records are clicks the edge function answered.
 * A record is one line of tab-separated values, '-' for an empty one; the User-Agent and Referer
 * are URL-encoded. Everything in a record is treated as hostile: parsing never throws.
 */
import { createHash } from 'node:crypto';
import { MAX_USER_AGENT_LENGTH, type ClickFacts } from './click';
import { networkPrefix } from './client-ip';
import { referrerHost } from './referrer';
import { parseShortCode } from './short-code';

/**
 * The fields the real-time log configuration requests, in the order CloudFront writes them: a
 * record's fields always follow AWS's published field order, whatever order the configuration
 * lists them in, so this list is in that order and the two agree.
 */
export const EDGE_LOG_FIELDS = [
  'timestamp',
  'c-ip',
  'sc-status',
  'cs-method',
  'cs-uri-stem',
  'x-edge-request-id',
  'cs-user-agent',
  'cs-referer',
  'x-edge-detailed-result-type',
] as const;

export type EdgeLogField = (typeof EDGE_LOG_FIELDS)[number];

/** The result type of a response a CloudFront Function generated itself: the request never reached the origin. */
export const FUNCTION_GENERATED_RESPONSE = 'FunctionGeneratedResponse';
/** The status the edge function redirects with (lambdas/edge/redirect-function.js). */
const EDGE_REDIRECT_STATUS = '302';
/**
 * Far above a real record (AWS puts one at about 500 bytes, 1 KB with every field); a longer one is
 * not parsed at all, which bounds the work and every field in it.
 */
export const MAX_EDGE_LOG_RECORD_BYTES = 16_384;
/** The opaque `x-edge-request-id` (56 characters of base64url and '=' today), with room to spare. */
const REQUEST_ID_PATTERN = /^[A-Za-z0-9_=+/.-]{1,128}$/;
/** Epoch seconds with up to millisecond precision, e.g. `1700000000.123`. */
const TIMESTAMP_PATTERN = /^(\d{1,12})(?:\.(\d{1,3}))?$/;
/** Latest time an ISO 8601 string with a four-digit year can hold. */
const LAST_ISO_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
/** What a field holds when CloudFront has no value for it. */
const EMPTY_FIELD = '-';

/**
 * Namespace of edge event ids. Raw clicks are keyed by a UUID event id; an edge click's is the
 * name-based (version 5) UUID of its `x-edge-request-id` in this namespace, so every delivery of a
 * record gets the same id, and no edge id can equal an origin click's random (version 4) one.
 */
export const EDGE_EVENT_ID_NAMESPACE = '1b4e28ba-2fa1-4d3b-a3f5-ef1f6a1c9e27';

export type EdgeLogSkipReason =
  /** Too long, not one line, or not one value per requested field: not a record of this configuration. */
  | 'malformed-record'
  | 'malformed-timestamp'
  | 'malformed-client-ip'
  | 'malformed-request-id'
  /** Reached the origin (or failed at the edge): the origin records what it answers itself. */
  | 'not-answered-at-edge'
  /** Answered at the edge, but not with the redirect: not a click. */
  | 'not-a-redirect'
  | 'not-a-short-link';

/** What an edge click contributes to its click message; the link's owner comes from the links table. */
export type EdgeClick = Omit<ClickFacts, 'owner'> & {
  /** CloudFront's id of the request, which the event id is made from. */
  readonly requestId: string;
};

export type EdgeLogRecord = { readonly click: EdgeClick } | { readonly skip: EdgeLogSkipReason };

/** The name-based, version 5 UUID of `name` in `namespace` (RFC 9562, section 5.5). */
export function nameBasedUuid(namespace: string, name: string): string {
  const bytes = createHash('sha1').update(Buffer.from(namespace.replace(/-/g, ''), 'hex')).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The event id of the edge click with this `x-edge-request-id`. */
export const edgeEventId = (requestId: string): string => nameBasedUuid(EDGE_EVENT_ID_NAMESPACE, requestId);

const HEX_PAIR = /^[0-9A-Fa-f]{2}$/;

/**
 * Percent-decodes a URL-encoded field into UTF-8 text without ever throwing: a '%' not followed by
 * two hex digits stays as it is, and bytes that are not UTF-8 become U+FFFD.
 */
export function percentDecode(encoded: string): string {
  if (!encoded.includes('%')) return encoded;
  const bytes: number[] = [];
  for (let index = 0; index < encoded.length; index++) {
    const pair = encoded.slice(index + 1, index + 3);
    if (encoded[index] === '%' && HEX_PAIR.test(pair)) {
      bytes.push(parseInt(pair, 16));
      index += 2;
      continue;
    }
    // A character outside %XX (CloudFront leaves unreserved ones alone) stands for its own UTF-8 bytes.
    const codePoint = encoded.codePointAt(index) ?? 0;
    const character = String.fromCodePoint(codePoint);
    bytes.push(...Buffer.from(character, 'utf8'));
    index += character.length - 1;
  }
  return Buffer.from(bytes).toString('utf8');
}

const valueOf = (field: string): string => (field === EMPTY_FIELD ? '' : field);

/** The fields CloudFront URL-encodes, as they hold whatever the viewer sent. */
const URL_ENCODED_FIELDS: ReadonlySet<EdgeLogField> = new Set(['cs-user-agent', 'cs-referer']);
/** Left as they are by the encoding: RFC 3986 unreserved characters, sub-delimiters, ':', '@', '/' and '?'. */
const LEFT_UNENCODED = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?]$/;

/** Percent-encodes every UTF-8 byte of what is not left as it is; a lone '-' too, which would read as empty. */
function urlEncodeField(value: string): string {
  if (value === EMPTY_FIELD) return '%2D';
  let encoded = '';
  for (const character of value) {
    encoded += LEFT_UNENCODED.test(character)
      ? character
      : [...Buffer.from(character, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  }
  return encoded;
}

/** A record's values by field, '' for none: what a log line holds, whichever log it comes from. */
export type EdgeLogValues = Readonly<Record<EdgeLogField, string>>;

/**
 * One field's value as CloudFront writes it: the User-Agent and Referer are given as sent and
 * URL-encoded here; any other value must hold no tab or line break, or it would not be one record.
 */
export function formatEdgeLogValue(name: EdgeLogField, value: string): string {
  if (URL_ENCODED_FIELDS.has(name)) return value === '' ? EMPTY_FIELD : urlEncodeField(value);
  if (/[\t\r\n]/.test(value)) throw new Error(`Log field ${name} cannot hold a tab or a line break`);
  return value === '' ? EMPTY_FIELD : value;
}

/**
 * One record as CloudFront writes it, from each field's value ('' for none): the inverse of
 * {@link parseEdgeLogRecord}, for the local stack's edge front.
 */
export function formatEdgeLogRecord(values: EdgeLogValues): string {
  return EDGE_LOG_FIELDS.map((name) => formatEdgeLogValue(name, values[name])).join('\t');
}

/** The time of an epoch-seconds timestamp, or null when it is not one an ISO 8601 UTC string can hold. */
function timeOf(timestamp: string): Date | null {
  const match = TIMESTAMP_PATTERN.exec(timestamp);
  if (match === null) return null;
  // Integer arithmetic: 1700000000.123 * 1000 in floating point is not exactly ...123.
  const ms = Number(match[1]) * 1000 + Number((match[2] ?? '').padEnd(3, '0'));
  return ms <= LAST_ISO_TIME_MS ? new Date(ms) : null;
}

/**
 * A real-time log record (one line, a trailing newline allowed) as an edge click, or why it is
 * none (see {@link edgeClickOf}).
 */
export function parseEdgeLogRecord(line: string): EdgeLogRecord {
  const values = edgeLogRecordValues(line);
  return values === null ? { skip: 'malformed-record' } : edgeClickOf(values);
}

/**
 * A real-time log record's values by field, as CloudFront writes them ('-' for none, the User-Agent and
 * Referer URL-encoded); null for a record over the byte bound or without exactly the configured fields.
 */
export function edgeLogRecordValues(line: string): EdgeLogValues | null {
  if (Buffer.byteLength(line, 'utf8') > MAX_EDGE_LOG_RECORD_BYTES) return null;
  const fields = line.replace(/\r?\n$/, '').split('\t');
  if (fields.length !== EDGE_LOG_FIELDS.length || fields.some((field) => /[\r\n]/.test(field))) return null;
  return Object.fromEntries(EDGE_LOG_FIELDS.map((name, index) => [name, fields[index]])) as Record<EdgeLogField, string>;
}

/**
 * A request's log values, as CloudFront writes them ('-' for none, the User-Agent and Referer
 * URL-encoded, `timestamp` in epoch seconds), as an edge click, or why they are none: the rule both
 * logs are read by (real-time records, standard-log lines). Only a 302 the edge function generated
 * counts: anything else reached the origin, which records its own clicks, or was not a redirect.
 */
export function edgeClickOf(record: EdgeLogValues): EdgeLogRecord {
  // Filter first: most records are the origin's and need no further look.
  if (record['x-edge-detailed-result-type'] !== FUNCTION_GENERATED_RESPONSE) return { skip: 'not-answered-at-edge' };
  const method = record['cs-method'];
  if (record['sc-status'] !== EDGE_REDIRECT_STATUS || (method !== 'GET' && method !== 'HEAD')) return { skip: 'not-a-redirect' };
  // The real-time log's cs-uri-stem carries the query string too; the function reads the path alone.
  const path = record['cs-uri-stem'].split('?', 1)[0];
  const code = path.startsWith('/') ? parseShortCode(path.slice(1)) : null;
  if (code === null) return { skip: 'not-a-short-link' };

  const at = timeOf(record.timestamp);
  if (at === null) return { skip: 'malformed-timestamp' };
  const ip = record['c-ip'];
  if (networkPrefix(ip) === null) return { skip: 'malformed-client-ip' };
  const requestId = valueOf(record['x-edge-request-id']);
  if (!REQUEST_ID_PATTERN.test(requestId)) return { skip: 'malformed-request-id' };
  const referer = valueOf(record['cs-referer']);
  return {
    click: {
      requestId,
      eventId: edgeEventId(requestId),
      code,
      at,
      ip,
      userAgent: percentDecode(valueOf(record['cs-user-agent'])).slice(0, MAX_USER_AGENT_LENGTH),
      // Reduced to its host, as at the origin: at most 253 characters, or null.
      referrerHost: referer === '' ? null : referrerHost(percentDecode(referer)),
      method,
      // Real-time logs carry no Purpose, Sec-Purpose, X-Purpose or X-Moz header: prefetches are not told apart at the edge.
      purpose: null,
    },
  };
}
