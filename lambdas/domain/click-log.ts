/**
 * The redirect's click log as a backfill source: one log line in, the click message it carries out.
 *
 * The redirect logs every click as a line of its own, `{"message":"click","click":{...}}`
 * (formatClickLogLine); lines written before that are Powertools lines with the same two fields among
 * the logger's (`{"level":"INFO","message":"click",...,"click":{...}}`), and both are read. The click
 * publisher logs a click it could not queue as message "click not queued" with the same `click` field.
 * Lines come as the redirect wrote them, or as CloudWatch tools hand them out:
 * - the JSON line itself;
 * - a prefix before it: `2026-11-26T05:40:07.123Z <json>` (`aws logs tail`, S3 exports) or the
 *   Lambda runtime's tab-separated `time \t requestId \t LEVEL \t <json>`;
 * - a log event whose `message` is that line as a string (`aws logs filter-log-events`, one event a line);
 * - that line as a JSON string literal (`jq '.events[].message'`).
 *
 * The click is validated by parseClickMessage, so a replayed message is exactly what the queue accepts.
 */
import { QUARTER_HOUR_RETENTION_DAYS } from './buckets';
import { InvalidClickMessage, parseClickMessage, type ClickMessage } from './click';

export type ClickLogLine =
  | { readonly kind: 'click'; readonly click: ClickMessage }
  /** Not a click line: another log line, a blank line, text. */
  | { readonly kind: 'other' }
  /** A click line whose click cannot be replayed; the reason names the field. */
  | { readonly kind: 'invalid'; readonly reason: string };

/** The log messages that carry a `click` field. */
export const CLICK_LOG_MESSAGES: readonly string[] = ['click', 'click not queued'];

/** Where a JSON object may start after a prefix: the first few `{` are tried, so a long text line costs little. */
const MAX_JSON_STARTS = 4;
/** A log event or string literal wrapping a log line wrapping ...: CloudWatch tools add one level, so two is plenty. */
const MAX_NESTING = 2;
/** Text that looks like a click line, raw or inside an escaped `message` string. */
const LOOKS_LIKE_CLICK = /\\*"click\\*"\s*:\s*\{/;

const OTHER: ClickLogLine = { kind: 'other' };

type JsonObject = Readonly<Record<string, unknown>>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The JSON object the text is, or ends with after a prefix; undefined when there is none. */
function jsonObjectIn(text: string): JsonObject | undefined {
  let start = text.indexOf('{');
  for (let tries = 0; start !== -1 && tries < MAX_JSON_STARTS; tries++) {
    try {
      const parsed: unknown = JSON.parse(text.slice(start));
      if (isObject(parsed)) return parsed;
    } catch {
      // Not JSON from here (a brace in the prefix): try the next one.
    }
    start = text.indexOf('{', start + 1);
  }
  return undefined;
}

/** The string a JSON string literal line holds (a log message as `jq '.events[].message'` prints it). */
function jsonStringIn(text: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'string' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function parseLine(text: string, depth: number): ClickLogLine {
  const trimmed = text.trim();
  if (trimmed === '') return OTHER;
  const quoted = depth < MAX_NESTING && trimmed.startsWith('"') ? jsonStringIn(trimmed) : undefined;
  if (quoted !== undefined) return parseLine(quoted, depth + 1);
  const object = jsonObjectIn(trimmed);
  if (object === undefined) {
    // A click line cut short (a truncated export, a line split in two) is worth reporting, not skipping quietly.
    return LOOKS_LIKE_CLICK.test(trimmed) ? { kind: 'invalid', reason: 'a click line that is not valid JSON (cut short?)' } : OTHER;
  }
  const { message } = object;
  if (typeof message === 'string' && CLICK_LOG_MESSAGES.includes(message)) return clickOf(object.click, message);
  // A CloudWatch log event: its message is the log line, as a string.
  if (typeof message === 'string' && depth < MAX_NESTING && message.includes('{')) return parseLine(message, depth + 1);
  return OTHER;
}

function clickOf(click: unknown, message: string): ClickLogLine {
  if (!isObject(click)) return { kind: 'invalid', reason: `a "${message}" line without a click object` };
  try {
    // Re-serialised: the same validation, and the same canonical message, as the queue's consumer applies.
    return { kind: 'click', click: parseClickMessage(JSON.stringify(click)) };
  } catch (error) {
    if (error instanceof InvalidClickMessage) return { kind: 'invalid', reason: `click ${error.message}` };
    throw error;
  }
}

/**
 * The redirect's log line of a click, with its newline: only what a backfill replays. A Powertools line
 * would add the logger's fields and the invocation's context (function ARN and name, request and trace
 * ids), about as many bytes again as the click: CloudWatch Logs bills every byte, and the log event's own
 * timestamp and stream already say when and where it was written.
 */
export function formatClickLogLine(click: ClickMessage): string {
  return `${JSON.stringify({ message: CLICK_LOG_MESSAGES[0], click })}\n`;
}

/** Reads one line of the redirect's log (or of a CloudWatch tool's output of it). Never throws. */
export function parseClickLogLine(line: string): ClickLogLine {
  return parseLine(line, 0);
}

const DAY_MS = 86_400_000;
/** ISO 8601: a date (UTC midnight), or a date and time with a zone (Z or ±hh:mm); a time without a zone is ambiguous. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/;

/** Epoch milliseconds of an ISO 8601 date or zoned date-time; undefined for anything else (or an impossible date). */
export function parseInstant(text: string): number | undefined {
  if (!ISO_INSTANT.test(text)) return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) return undefined;
  // Date.parse rolls 2026-02-30 over into March: the date part must survive the round trip.
  const datePart = text.slice(0, 10);
  const zoned = text.length > 10 ? text.slice(10).match(/([+-])(\d{2}):?(\d{2})$/) : null;
  const offsetMs = zoned ? (zoned[1] === '-' ? -1 : 1) * (Number(zoned[2]) * 60 + Number(zoned[3])) * 60_000 : 0;
  return new Date(ms + offsetMs).toISOString().slice(0, 10) === datePart ? ms : undefined;
}

export interface ReplayWindow {
  /** Clicks at or after this instant (epoch ms); none before it. */
  readonly sinceMs?: number;
  /** Clicks before this instant (epoch ms). */
  readonly untilMs?: number;
}

/**
 * What a backfill does with a click, by its time:
 * - 'outside': not in [since, until);
 * - 'expired': older than the quarter-hour retention (90 days): its raw and quarter-hour items would
 *   be past their TTL on arrival, so it is skipped;
 * - 'edge': within EDGE_MS of that limit: sent, but its day (in any zone, 23 to 25 hours long) may have
 *   started more than 90 days ago, so the day's first quarter-hour items may be gone; the rollup then
 *   recounts fewer events than the daily item holds and keeps the old item (aggregates only grow), so the
 *   quarter-hour figures include the click and the daily and monthly ones may not;
 * - 'replay': sent.
 */
export type ReplayDecision = 'outside' | 'expired' | 'edge' | 'replay';

export const REPLAY_RETENTION_MS = QUARTER_HOUR_RETENTION_DAYS * DAY_MS;
/** A day in the furthest zone from UTC starts at most 14 hours before the UTC day, and lasts at most 25 hours: two days cover it. */
export const EDGE_MS = 2 * DAY_MS;

export function replayDecision(tsMs: number, window: ReplayWindow, nowMs: number): ReplayDecision {
  if (window.sinceMs !== undefined && tsMs < window.sinceMs) return 'outside';
  if (window.untilMs !== undefined && tsMs >= window.untilMs) return 'outside';
  if (tsMs < nowMs - REPLAY_RETENTION_MS) return 'expired';
  if (tsMs < nowMs - REPLAY_RETENTION_MS + EDGE_MS) return 'edge';
  return 'replay';
}
