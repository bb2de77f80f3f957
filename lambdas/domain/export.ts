/**
 * Exports of clicks (README, API): the raw clicks, or one row per non-empty bucket, of one link or of
 * every link of an owner, as CSV or NDJSON. API Gateway buffers a Lambda's whole answer (6 MB), so an
 * export of any size is a series of bounded pages: each stops at a row cap and a byte cap, and names the
 * next in an opaque cursor that resumes exactly after its last row.
 */
import { createHash, createHmac } from 'node:crypto';
import { RAW_RETENTION_DAYS } from './buckets';
import { isClickKey, RAW_WRITE_SHARDS, type RawClick } from './click';
import { csvLine } from './csv';
import { CREATED_AT_PATTERN, decodePageCursor, encodePageCursor } from './page-cursor';
import { SHORT_CODE_PATTERN } from './short-code';
import { parseStatsQuery, planStats, type SeriesEntry, type StatsPlan, type StatsQuery, type StatsSubject } from './stats';
import { canonicalTimeZone, formatWithOffset } from './zoned-time';

export const EXPORT_FORMATS = ['csv', 'ndjson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export const EXPORT_LEVELS = ['raw', 'hour', 'day', 'month'] as const;
export type ExportLevel = (typeof EXPORT_LEVELS)[number];
export const DEFAULT_EXPORT_FORMAT: ExportFormat = 'csv';
export const DEFAULT_EXPORT_LEVEL: ExportLevel = 'raw';

/**
 * Columns of a raw export: what the raw clicks table holds, less its keys (`linkShard`, `clickKey`), its
 * TTL (`expiresAt`) and `owner` (the caller, or the link's owner). The table holds no IP address and no
 * User-Agent, so no export can. `visitor` is re-keyed per owner (ownerVisitor).
 */
export const RAW_COLUMNS = ['ts', 'code', 'eventId', 'bot', 'botReason', 'country', 'referrer', 'device', 'browser', 'os', 'visitor'] as const;
/** Columns of an hour, day or month export: one row per link and non-empty bucket, as the stats route's series has it. */
export const BUCKET_COLUMNS = ['t', 'code', 'clicks', 'uniques', 'botClicks'] as const;

export const columnsOf = (level: ExportLevel): readonly string[] => (level === 'raw' ? RAW_COLUMNS : BUCKET_COLUMNS);

export type Cell = string | number | boolean | null;

/** A row and where it stands in its link: the raw click's `clickKey`, or the bucket's start (ISO UTC). */
export interface ExportRow {
  readonly key: string;
  readonly cells: readonly Cell[];
}

/** Rows per page, at most and by default. */
export const MAX_EXPORT_ROWS = 10_000;

/** What bounds one page, whatever the data. */
export interface PageCaps {
  /** Rows, at most. */
  readonly rows: number;
  /** The body's size inside Lambda's JSON response (escapes included), at most. */
  readonly bytes: number;
  /** Links read, at most: an owner's empty links cost reads too. */
  readonly links: number;
  /** No link is started once the page has taken this long: the function has 10 s. */
  readonly newLinkAfterMs: number;
}

export const PAGE_CAPS: Omit<PageCaps, 'rows'> = {
  // Lambda refuses a response over 6 MB (API Gateway's own limit is 10 MB): a third of it stays free.
  bytes: 4 * 1024 * 1024,
  links: 20,
  newLinkAfterMs: 5_000,
};

/** Where a page ends: after the row `after` of the link, or after the whole link when `after` is null. */
export interface ExportPosition {
  readonly link: string;
  /** The link's creation time: where it stands in its owner's links (null in a one-link export). */
  readonly createdAt: string | null;
  readonly after: string | null;
}

export interface ExportRequest {
  readonly subject: StatsSubject;
  readonly format: ExportFormat;
  readonly level: ExportLevel;
  /** Rows per page. */
  readonly limit: number;
  /** From, to and tz; granularity is the level's (month for raw, where it only bounds the range). */
  readonly query: StatsQuery;
  /** The aggregate level the buckets are read from, as the stats route reads them; null for raw. */
  readonly plan: StatsPlan | null;
  /** Binds cursors to this export: a cursor of another export is refused. */
  readonly fingerprint: string;
  /**
   * When the first page was asked for: every page is planned as of then, so a page is not refused
   * because a retention limit moved past `from` while the client paged.
   */
  readonly asOf: Date;
  /** Where this page starts; null for the first page. */
  readonly resumeFrom: ExportPosition | null;
}

/** What a cursor carries: whose export it is, when it was planned, and where the next page starts. */
export interface ExportCursor {
  readonly fingerprint: string;
  readonly asOfMs: number;
  readonly position: ExportPosition;
}

type Rejection = { ok: false; error: string };

const DAY_MS = 86_400_000;
export const MAX_EXPORT_CURSOR_LENGTH = 512;
const CURSOR_VERSION = 1;
const CLOCK_SKEW_MS = 60_000;
const FINGERPRINT_PATTERN = /^[A-Za-z0-9_-]{16}$/;
const BUCKET_KEY_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const isExportFormat = (value: string): value is ExportFormat => (EXPORT_FORMATS as readonly string[]).includes(value);
const isExportLevel = (value: string): value is ExportLevel => (EXPORT_LEVELS as readonly string[]).includes(value);
const isBucketKey = (text: string): boolean => BUCKET_KEY_PATTERN.test(text) && new Date(text).toISOString() === text;

/** The stats domain names its bucket size `granularity`; the export calls it `level`. */
const inExportTerms = (error: string): string => error.replaceAll('granularity', 'level');

function parseLimit(text: string): number | null {
  const limit = Number(text);
  return /^\d{1,5}$/.test(text) && limit >= 1 && limit <= MAX_EXPORT_ROWS ? limit : null;
}

/** Binds a cursor to the export it was made for (not a secret: every cursor value is checked again on use). */
function exportFingerprint(subject: StatsSubject, format: ExportFormat, level: ExportLevel, query: StatsQuery): string {
  const scope = 'link' in subject ? `link:${subject.link}` : `owner:${subject.owner}`;
  const parts = [scope, format, level, query.from.getTime(), query.to.getTime(), query.tz];
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 16);
}

export function encodeExportCursor(cursor: ExportCursor): string {
  const { fingerprint, asOfMs, position } = cursor;
  return encodePageCursor([CURSOR_VERSION, fingerprint, asOfMs, position.link, position.createdAt, position.after]);
}

/** The cursor encodeExportCursor made, for this level, or null for anything else. */
export function decodeExportCursor(cursor: string, level: ExportLevel): ExportCursor | null {
  const values = decodePageCursor(cursor, 6, MAX_EXPORT_CURSOR_LENGTH);
  if (values === null) return null;
  const [version, fingerprint, asOfMs, link, createdAt, after] = values;
  if (version !== CURSOR_VERSION || typeof fingerprint !== 'string' || !FINGERPRINT_PATTERN.test(fingerprint)) return null;
  if (typeof asOfMs !== 'number' || !Number.isSafeInteger(asOfMs) || asOfMs < 0) return null;
  if (typeof link !== 'string' || !SHORT_CODE_PATTERN.test(link)) return null;
  if (createdAt !== null && (typeof createdAt !== 'string' || !CREATED_AT_PATTERN.test(createdAt))) return null;
  if (after !== null && (typeof after !== 'string' || !(level === 'raw' ? isClickKey(after) : isBucketKey(after)))) return null;
  return { fingerprint, asOfMs, position: { link, createdAt, after } };
}

/** A cursor fits its export's subject: a one-link export's names that link and a row in it; an owner's, a link's place in the list. */
function fitsSubject(position: ExportPosition, subject: StatsSubject): boolean {
  if ('link' in subject) return position.link === subject.link && position.createdAt === null && position.after !== null;
  return position.createdAt !== null;
}

const INVALID_CURSOR = 'cursor must be the X-Next-Cursor value of an earlier page, unchanged.';

/**
 * Validates the export's query string (format, level, limit, from, to, tz, cursor); errors are sentences
 * for a 400. From, to and tz are read as the stats route reads them. Buckets come from the level the
 * stats route would read (planStats); raw clicks only within their 90 days, both as of the first page.
 * Empty parameters count as absent.
 */
export function parseExportRequest(
  params: Readonly<Record<string, string | undefined>>,
  subject: StatsSubject,
  reportingTz: string,
  now: Date,
): { ok: true; request: ExportRequest } | Rejection {
  const param = (name: string): string | undefined => params[name]?.trim() || undefined;
  const format = param('format') ?? DEFAULT_EXPORT_FORMAT;
  if (!isExportFormat(format)) return { ok: false, error: `format must be one of ${EXPORT_FORMATS.join(', ')}.` };
  const level = param('level') ?? DEFAULT_EXPORT_LEVEL;
  if (!isExportLevel(level)) return { ok: false, error: `level must be one of ${EXPORT_LEVELS.join(', ')}.` };
  const limitParam = param('limit');
  const limit = limitParam === undefined ? MAX_EXPORT_ROWS : parseLimit(limitParam);
  if (limit === null) return { ok: false, error: `limit must be a whole number from 1 to ${MAX_EXPORT_ROWS}.` };
  const cursorParam = param('cursor');
  const cursor = cursorParam === undefined ? null : decodeExportCursor(cursorParam, level);
  // Clocks of two execution environments may differ a little; a cursor from later than that is made up.
  if (cursorParam !== undefined && (cursor === null || !fitsSubject(cursor.position, subject) || cursor.asOfMs > now.getTime() + CLOCK_SKEW_MS)) {
    return { ok: false, error: INVALID_CURSOR };
  }
  const asOf = cursor === null ? now : new Date(cursor.asOfMs);

  // Raw rows are not bucketed: the widest granularity only bounds the range, the retention below is raw's own.
  const granularity = level === 'raw' ? 'month' : level;
  const parsed = parseStatsQuery({ from: param('from'), to: param('to'), tz: param('tz'), granularity }, asOf);
  if (!parsed.ok) return { ok: false, error: inExportTerms(parsed.error) };
  const { query } = parsed;
  let plan: StatsPlan | null = null;
  if (level === 'raw') {
    const cutoffMs = asOf.getTime() - RAW_RETENTION_DAYS * DAY_MS;
    if (query.from.getTime() < cutoffMs) {
      return {
        ok: false,
        error: `Raw clicks are kept for ${RAW_RETENTION_DAYS} days (from ${new Date(cutoffMs).toISOString()} on); ask with level=day or level=month for older ranges.`,
      };
    }
  } else {
    const planned = planStats(query, reportingTz, asOf);
    if (!planned.ok) return { ok: false, error: inExportTerms(planned.error) };
    plan = planned.plan;
  }

  const fingerprint = exportFingerprint(subject, format, level, query);
  if (cursor !== null && cursor.fingerprint !== fingerprint) {
    return { ok: false, error: 'cursor belongs to another export (other link, format, level, from, to or tz): follow the Link header of the previous page.' };
  }
  return { ok: true, request: { subject, format, level, limit, query, plan, fingerprint, asOf, resumeFrom: cursor?.position ?? null } };
}

/** The query string of the page after this one: the range pinned to the instants this page read, so a default `to` does not move. */
export function nextPageQuery(request: ExportRequest, cursor: string): string {
  return new URLSearchParams({
    format: request.format,
    level: request.level,
    from: request.query.from.toISOString(),
    to: request.query.to.toISOString(),
    tz: request.query.tz,
    limit: String(request.limit),
    cursor,
  }).toString();
}

/** `<code>-<level>.<format>` for a link, `<owner>-links-<level>.<format>` for an owner: every page alike, so pages append to one file. */
export function exportFileName(request: ExportRequest): string {
  const subject = 'link' in request.subject ? request.subject.link : `${request.subject.owner}-links`;
  return `${subject}-${request.level}.${request.format === 'csv' ? 'csv' : 'ndjson'}`;
}

/**
 * The visitor key an owner's export shows: HMAC-SHA256 of the stored key under the owner's id. Within one
 * owner's exports it tells visitors apart exactly as the stored key does (one salt period), but two owners'
 * exports cannot be joined on it, as every owner's clicks are hashed under the same salt.
 */
export function ownerVisitor(owner: string, visitor: string): string {
  return createHmac('sha256', owner).update(visitor).digest('hex');
}

/** A raw click as a row: its time in the export's zone (as stored, `…Z`, in UTC), its visitor key re-keyed for its owner. */
export function rawClickRow(click: RawClick, tz: string): ExportRow {
  const ts = canonicalTimeZone(tz) === 'UTC' ? click.ts : formatWithOffset(Date.parse(click.ts), tz, { milliseconds: true });
  return {
    key: click.clickKey,
    cells: [ts, click.code, click.eventId, click.bot, click.botReason, click.country, click.referrer, click.device, click.browser, click.os, ownerVisitor(click.owner, click.visitor)],
  };
}

/** The non-empty buckets of a link's series after `after` (a bucket start, ISO UTC), as rows. */
export function bucketRows(code: string, series: readonly SeriesEntry[], after: string | null): ExportRow[] {
  return series.flatMap((entry) => {
    const key = new Date(Date.parse(entry.t)).toISOString();
    if (entry.clicks + entry.botClicks === 0 || (after !== null && key <= after)) return [];
    return [{ key, cells: [entry.t, code, entry.clicks, entry.uniques, entry.botClicks] }];
  });
}

/**
 * Items one raw-click shard Query asks for when a page wants `rows` more: clicks spread evenly over the
 * shards, so each gives about rows / 16; a quarter more keeps a second Query per shard rare.
 */
export function rawShardPageSize(rows: number): number {
  return Math.min(1_000, Math.ceil((rows * 5) / (4 * RAW_WRITE_SHARDS)) + 8);
}

export interface RowEncoder {
  /** The CSV header line; empty for NDJSON. */
  readonly header: string;
  line(cells: readonly Cell[]): string;
}

const cellText = (cell: Cell): string => (cell === null ? '' : String(cell));

/** CSV (RFC 4180, defused, header line) or NDJSON (one JSON object a line, values typed). */
export function rowEncoder(format: ExportFormat, columns: readonly string[]): RowEncoder {
  if (format === 'csv') return { header: csvLine(columns), line: (cells) => csvLine(cells.map(cellText)) };
  return { header: '', line: (cells) => `${JSON.stringify(Object.fromEntries(columns.map((column, index) => [column, cells[index]])))}\n` };
}

/** Bytes a text adds to Lambda's JSON response: UTF-8, with JSON's escapes (a `"` is two bytes there, a control character six). */
export const responseBytes = (text: string): number => Buffer.byteLength(JSON.stringify(text), 'utf8') - 2;

/** One link's rows, read when the page reaches it: `rows` is how many more the page can take. */
export interface LinkRows {
  readonly link: string;
  readonly createdAt: string | null;
  readonly rows: (rows: number) => AsyncIterable<ExportRow>;
}

export interface ExportPage {
  readonly body: string;
  /** Where the next page starts; null when this one ends the export. */
  readonly next: ExportPosition | null;
}

/**
 * A page of the export: the header (first page only), then the rows of each link in turn, until the links
 * run out or a cap is reached. A link whose rows do not all fit ends the page at its last row that did;
 * stopping closes the link's reads. The first row always fits, so every page moves on.
 */
export async function assemblePage(
  links: AsyncIterable<LinkRows> | Iterable<LinkRows>,
  encoder: RowEncoder,
  caps: PageCaps,
  resumeFrom: ExportPosition | null,
  now: () => number,
): Promise<ExportPage> {
  const startedMs = now();
  const parts: string[] = [];
  let bytes = 0;
  let rows = 0;
  if (resumeFrom === null && encoder.header !== '') {
    parts.push(encoder.header);
    bytes += responseBytes(encoder.header);
  }
  const page = (next: ExportPosition | null): ExportPage => ({ body: parts.join(''), next });

  let position = resumeFrom;
  let linksStarted = 0;
  for await (const source of links) {
    const full = rows >= caps.rows || linksStarted === caps.links || (linksStarted > 0 && now() - startedMs >= caps.newLinkAfterMs);
    if (full) return page(position);
    linksStarted += 1;
    for await (const row of source.rows(caps.rows - rows)) {
      const line = encoder.line(row.cells);
      const size = responseBytes(line);
      if (rows > 0 && (rows >= caps.rows || bytes + size > caps.bytes)) return page(position);
      parts.push(line);
      bytes += size;
      rows += 1;
      position = { link: source.link, createdAt: source.createdAt, after: row.key };
    }
    position = { link: source.link, createdAt: source.createdAt, after: null };
  }
  return page(null);
}
