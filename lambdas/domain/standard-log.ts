/**
 * CloudFront standard logs (v2) of the edge redirect, the backfill's source (docs/edge.md, The backfill
 * from standard logs): which fields the log delivery writes, where its objects land, and which lines are
 * clicks the edge function answered. The delivery's output format is JSON: one object per line, keyed by
 * the standard log's field names. A line carries the same values as the request's real-time record,
 * under other names and with the time in epoch milliseconds, and is read by the same rule
 * ({@link edgeClickOf}): so a request both logs hold gives the same click, with the same event id.
 * Everything in a line is treated as hostile: parsing never throws.
 */
import { edgeClickOf, formatEdgeLogValue, MAX_EDGE_LOG_RECORD_BYTES, type EdgeLogField, type EdgeLogRecord, type EdgeLogValues } from './edge-log';

/**
 * The standard-log field of each real-time one the click rule reads. Only `timestamp(ms)` differs in
 * meaning: epoch milliseconds, where the real-time `timestamp` is epoch seconds with a fraction.
 */
const STANDARD_FIELD_OF: Readonly<Record<EdgeLogField, string>> = {
  timestamp: 'timestamp(ms)',
  'c-ip': 'c-ip',
  'sc-status': 'sc-status',
  'cs-method': 'cs-method',
  'cs-uri-stem': 'cs-uri-stem',
  'x-edge-request-id': 'x-edge-request-id',
  'cs-user-agent': 'cs(User-Agent)',
  'cs-referer': 'cs(Referer)',
  'x-edge-detailed-result-type': 'x-edge-detailed-result-type',
};

const EDGE_FIELDS = Object.keys(STANDARD_FIELD_OF) as EdgeLogField[];

/** The record fields the log delivery writes (AWS::Logs::Delivery RecordFields): these and nothing else. */
export const STANDARD_LOG_FIELDS: readonly string[] = EDGE_FIELDS.map((name) => STANDARD_FIELD_OF[name]);

/** The delivery's output format (AWS::Logs::DeliveryDestination OutputFormat): a JSON object per line. */
export const STANDARD_LOG_OUTPUT_FORMAT = 'json';

/** Where the delivery puts a distribution's objects under its key prefix, by the hour they cover. */
export const STANDARD_LOG_SUFFIX_PATH = '{DistributionId}/{yyyy}/{MM}/{dd}/{HH}';

/** The key prefix vended-log deliveries put in front of the suffix path, for the account's CloudFront logs. */
export const standardLogKeyPrefix = (accountId: string): string => `AWSLogs/${accountId}/CloudFront/`;

/** Delivered objects are gzip files. */
export const STANDARD_LOG_OBJECT_SUFFIX = '.gz';

const two = (value: number): string => String(value).padStart(2, '0');

/**
 * The key of a delivered object: the prefix, the suffix path for the hour it covers, then a file name of
 * the distribution, that hour and a unique part (the file name is this stack's own choice for the local
 * delivery; the backfill reads whatever key a notification names).
 */
export function standardLogObjectKey(accountId: string, distributionId: string, hour: Date, unique: string): string {
  const [yyyy, MM, dd, HH] = [String(hour.getUTCFullYear()), two(hour.getUTCMonth() + 1), two(hour.getUTCDate()), two(hour.getUTCHours())];
  const path = STANDARD_LOG_SUFFIX_PATH.replace('{DistributionId}', distributionId)
    .replace('{yyyy}', yyyy)
    .replace('{MM}', MM)
    .replace('{dd}', dd)
    .replace('{HH}', HH);
  return `${standardLogKeyPrefix(accountId)}${path}/${distributionId}.${yyyy}-${MM}-${dd}-${HH}.${unique}${STANDARD_LOG_OBJECT_SUFFIX}`;
}

const EPOCH_MS = /^\d{4,15}$/;
const EPOCH_SECONDS = /^(\d{1,12})(?:\.(\d{1,3}))?$/;

/** `timestamp(ms)` as the real-time `timestamp` (1700000000123 → 1700000000.123); '' when it is no epoch-ms value. */
function secondsOf(milliseconds: string): string {
  return EPOCH_MS.test(milliseconds) ? `${milliseconds.slice(0, -3)}.${milliseconds.slice(-3)}` : '';
}

/** The real-time `timestamp` as `timestamp(ms)` (1700000000.1 → 1700000000100). */
function millisecondsOf(seconds: string): string {
  const match = EPOCH_SECONDS.exec(seconds);
  if (match === null) throw new Error(`Not an epoch-seconds timestamp: ${JSON.stringify(seconds)}`);
  return `${match[1]}${(match[2] ?? '').padEnd(3, '0')}`.replace(/^0+(?=\d{4})/, '');
}

/** A JSON value as a log value: strings as they are, whole numbers in decimal, null as CloudFront's '-'. */
function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  return value === null ? '-' : undefined;
}

/**
 * One line of a delivered object (a trailing newline allowed) as an edge click, or why it is none:
 * not one JSON object holding each field as a string (or a whole number, or null for none) is a
 * malformed record; other fields are ignored. Blank lines are the caller's to skip.
 */
export function parseStandardLogLine(line: string): EdgeLogRecord {
  if (Buffer.byteLength(line, 'utf8') > MAX_EDGE_LOG_RECORD_BYTES) return { skip: 'malformed-record' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return { skip: 'malformed-record' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { skip: 'malformed-record' };
  const fields = parsed as Record<string, unknown>;
  const values: Partial<Record<EdgeLogField, string>> = {};
  for (const name of EDGE_FIELDS) {
    const standardName = STANDARD_FIELD_OF[name];
    const text = Object.hasOwn(fields, standardName) ? textOf(fields[standardName]) : undefined;
    if (text === undefined || /[\r\n]/.test(text)) return { skip: 'malformed-record' };
    values[name] = text;
  }
  return edgeClickOf({ ...(values as EdgeLogValues), timestamp: secondsOf(values.timestamp ?? '') });
}

/**
 * One line as the delivery writes it, from each field's value ('' for none, `timestamp` in epoch
 * seconds as the real-time record has it): the inverse of {@link parseStandardLogLine}, for the local
 * stack's log delivery. Values are written as CloudFront writes them ({@link formatEdgeLogValue}).
 */
export function formatStandardLogLine(values: EdgeLogValues): string {
  return JSON.stringify(
    Object.fromEntries(
      EDGE_FIELDS.map((name) => [STANDARD_FIELD_OF[name], name === 'timestamp' ? millisecondsOf(values.timestamp) : formatEdgeLogValue(name, values[name])]),
    ),
  );
}
