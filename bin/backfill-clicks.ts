/**
 * `npm run backfill -- --queue-url URL [--since ISO] [--until ISO] [--dry-run] [FILE ...]`
 *
 * Replays the clicks in the redirect's click log (lambdas/domain/click-log.ts reads the lines) into the
 * click queue, as the redirect's publisher would have sent them. Safe to repeat: raw clicks are one
 * item per event id and a repeated put makes no stream record, so a click already counted stays
 * counted once. Exit 0 when every click to replay was sent, 1 otherwise, 2 on bad arguments.
 */
import { createReadStream } from 'node:fs';
import { access, constants, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { createGunzip } from 'node:zlib';
import { QUARTER_HOUR_RETENTION_DAYS } from '../lambdas/domain/buckets';
import type { ClickMessage } from '../lambdas/domain/click';
import { EDGE_MS, parseClickLogLine, parseInstant, replayDecision, type ReplayWindow } from '../lambdas/domain/click-log';
import { errorText } from '../lambdas/shared/error-text';
import type { ClickTransport, SendPolicy } from '../lambdas/transport/click-transport';
import { SqsClickTransport } from '../lambdas/transport/sqs';

const USAGE = `Usage: npm run backfill -- --queue-url URL [--since ISO] [--until ISO] [--dry-run] [FILE ...]

Replays the clicks in the redirect's click log into the click queue, as the redirect would have
sent them. Reads each FILE (".gz" unzipped, "-" stdin), or stdin when none is given, a line at a
time. A click line is one of the redirect's JSON lines ("click", or "click not queued"; older
Powertools click lines too),
with or without a prefix ("aws logs tail", an S3 export, the Lambda runtime's tab-separated one),
an "aws logs filter-log-events" event on one line, or the line as a JSON string; other lines are
counted and skipped. A click seen twice (same event id) is sent once. Replaying a click that was
already counted changes nothing, so overlapping logs and a second run are harmless.

  --queue-url URL   the click queue (the stack's ClickQueue); optional with --dry-run
  --since ISO       only clicks at or after this time (2026-11-26 or 2026-11-26T05:00:00Z)
  --until ISO       only clicks before this time (a time needs Z or an offset)
  --dry-run         read and count, send nothing
  -h, --help        this text

Clicks older than ${QUARTER_HOUR_RETENTION_DAYS} days are skipped: their buckets have expired. Clicks within
${EDGE_MS / 86_400_000} days of that are sent, but the daily and monthly figures may miss them.
Environment: AWS_REGION (else the queue URL's region), AWS_ENDPOINT_URL_SQS (an SQS endpoint other
than AWS's, e.g. the local stack's), AWS credentials as the AWS SDK finds them.
Exit status: 0 every click to replay was sent, 1 some were not, 2 bad arguments.`;

const MAX_BATCHES_IN_FLIGHT = 8;
/** Tries per click, on top of the SDK's own retries of a whole request. */
const MAX_SEND_ATTEMPTS = 6;
const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 5_000;
/** Batches in a row that could not be sent at all before the run stops (the queue is unreachable). */
const MAX_FAILED_BATCHES_IN_A_ROW = 3;
/** How many invalid lines, failures and warnings are shown one by one. */
const SHOWN = 5;
const PROGRESS_EVERY_LINES = 100_000;

class UsageError extends Error {}

interface Options {
  readonly queueUrl: string | undefined;
  readonly window: ReplayWindow;
  readonly dryRun: boolean;
  /** Paths; '-' is stdin. */
  readonly sources: readonly string[];
}

function instantOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseInstant(value);
  if (ms === undefined) {
    throw new UsageError(`--${name} must be an ISO 8601 date (2026-11-26) or date and time with Z or an offset (2026-11-26T05:00:00Z), got "${value}"`);
  }
  return ms;
}

function parseOptions(argv: readonly string[]): Options | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        'queue-url': { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  const queueUrl = values['queue-url'];
  const dryRun = values['dry-run'] === true;
  if (queueUrl === undefined && !dryRun) throw new UsageError('--queue-url is required (or --dry-run)');
  if (queueUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(queueUrl);
    } catch {
      throw new UsageError(`--queue-url must be the queue's URL, got "${queueUrl}"`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`--queue-url must be an http(s) URL, got "${queueUrl}"`);
  }
  const sinceMs = instantOption('since', values.since);
  const untilMs = instantOption('until', values.until);
  if (sinceMs !== undefined && untilMs !== undefined && sinceMs >= untilMs) throw new UsageError('--since must be before --until');
  return { queueUrl, window: { sinceMs, untilMs }, dryRun, sources: positionals.length === 0 ? ['-'] : positionals };
}

/** sqs.<region>.amazonaws.com/…, <region>.queue.amazonaws.com/… and the local stack's sqs.<region>.localhost:port/…. */
function regionOfQueueUrl(queueUrl: string): string | undefined {
  const host = new URL(queueUrl).hostname;
  return /^sqs[.-]([a-z]{2}(?:-[a-z]+)+-\d+)\./.exec(host)?.[1] ?? /^([a-z]{2}(?:-[a-z]+)+-\d+)\.queue\./.exec(host)?.[1];
}

interface Tally {
  linesRead: number;
  clicksFound: number;
  otherLines: number;
  invalidLines: number;
  invalidReasons: string[];
  outside: number;
  expired: number;
  nearLimit: number;
  repeats: number;
  toSend: number;
}

/** Waits 250 ms, 500 ms, … up to 5 s before the next try, the second half at random. */
function backoffMs(attempt: number): number {
  const backoff = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (attempt - 2));
  return backoff / 2 + Math.random() * (backoff / 2);
}

/** Sends clicks through the transport, a batch at a time, a few batches at once; never rejects: what cannot be sent is counted. */
class QueueSender {
  sent = 0;
  failed = 0;
  /** Why clicks were not sent: the first few reasons, each with how many clicks and one event id. */
  readonly failureReasons = new Map<string, { clicks: number; example: string }>();
  /** Set when sending cannot succeed: the run stops reading. */
  stopReason: string | undefined;
  #batch: ClickMessage[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  #failedBatchesInARow = 0;
  /** Aborted with stopReason: the sends in flight stop retrying. */
  readonly #stopped = new AbortController();
  readonly #policy: SendPolicy = { attempts: MAX_SEND_ATTEMPTS, retryUnanswered: true, backoffMs, signal: this.#stopped.signal };

  constructor(private readonly transport: ClickTransport) {}

  async add(click: ClickMessage): Promise<void> {
    this.#batch.push(click);
    if (this.#batch.length >= this.transport.maxBatch) await this.#startBatch();
  }

  async finish(): Promise<void> {
    if (this.#batch.length > 0) await this.#startBatch();
    await Promise.all(this.#inFlight);
  }

  async #startBatch(): Promise<void> {
    const batch = this.#batch.splice(0, this.transport.maxBatch);
    while (this.#inFlight.size >= MAX_BATCHES_IN_FLIGHT) await Promise.race(this.#inFlight);
    const sending: Promise<void> = this.#send(batch).finally(() => this.#inFlight.delete(sending));
    this.#inFlight.add(sending);
  }

  #stop(reason: string): void {
    this.stopReason ??= reason;
    this.#stopped.abort();
  }

  #fail(click: ClickMessage, reason: string): void {
    this.failed += 1;
    const known = this.failureReasons.get(reason);
    if (known !== undefined) known.clicks += 1;
    else if (this.failureReasons.size < SHOWN) this.failureReasons.set(reason, { clicks: 1, example: click.eventId });
  }

  async #send(batch: readonly ClickMessage[]): Promise<void> {
    const notSent = await this.transport.send(batch, this.#policy);
    const sentNow = batch.length - notSent.length;
    this.sent += sentNow;
    for (const { click, reason } of notSent) this.#fail(click, reason);
    const refused = notSent.find(({ kind }) => kind === 'refused');
    if (refused !== undefined) this.#stop(`the queue refused the request: ${refused.reason}`);
    // A click refused for what it is says nothing of the queue.
    const unsent = notSent.filter(({ kind }) => kind !== 'rejected');
    if (unsent.length === 0 || sentNow > 0) this.#failedBatchesInARow = 0;
    else if (++this.#failedBatchesInARow >= MAX_FAILED_BATCHES_IN_A_ROW) {
      this.#stop(`${MAX_FAILED_BATCHES_IN_A_ROW} batches in a row could not be sent: ${unsent[unsent.length - 1].reason}`);
    }
  }
}

/** The source's text, unzipped for '.gz', and how to let go of it. */
function openSource(source: string): { readonly text: Readable; close(): void } {
  const input: Readable = source === '-' ? process.stdin : createReadStream(source);
  const close = (): void => {
    if (input !== process.stdin) input.destroy();
  };
  if (!source.endsWith('.gz')) return { text: input, close };
  const gunzip = createGunzip();
  // pipe() does not pass a read error on: without this, the reader would wait for ever.
  input.on('error', (error) => gunzip.destroy(error));
  return {
    text: input.pipe(gunzip),
    close: () => {
      gunzip.destroy();
      close();
    },
  };
}

const label = (source: string): string => (source === '-' ? 'stdin' : source);

function printSummary(tally: Tally, sender: QueueSender | undefined, options: Options, stoppedAt: string | undefined): void {
  const row = (name: string, value: number | string, note = ''): string => `  ${name.padEnd(28)}${String(value)}${note ? `  ${note}` : ''}`;
  const lines = [
    `backfill summary${options.dryRun ? ' (dry run: nothing sent)' : ''}`,
    row('lines read', tally.linesRead),
    row('clicks found', tally.clicksFound),
    row('other lines', tally.otherLines),
    row('invalid lines', tally.invalidLines),
    ...tally.invalidReasons.map((reason) => `    ${reason}`),
    ...(tally.invalidLines > tally.invalidReasons.length ? [`    … and ${tally.invalidLines - tally.invalidReasons.length} more`] : []),
    row('outside --since/--until', tally.outside),
    row(`older than ${QUARTER_HOUR_RETENTION_DAYS} days`, tally.expired, tally.expired > 0 ? 'skipped: their buckets have expired' : ''),
    row('repeats', tally.repeats, tally.repeats > 0 ? 'same event id seen before in this run' : ''),
  ];
  if (tally.nearLimit > 0) {
    lines.push(row(`near the ${QUARTER_HOUR_RETENTION_DAYS}-day limit`, tally.nearLimit, 'replayed; daily and monthly figures may miss them'));
  }
  if (options.dryRun) {
    lines.push(row('would send', tally.toSend));
  } else {
    lines.push(row('sent', sender?.sent ?? 0), row('failed', sender?.failed ?? 0));
    for (const [reason, { clicks, example }] of sender?.failureReasons ?? []) {
      lines.push(`    ${clicks} click(s), e.g. event ${example}: ${reason}`);
    }
  }
  if (stoppedAt !== undefined) lines.push(`stopped reading after ${stoppedAt}: ${sender?.stopReason ?? 'read error (above)'}`);
  else if (sender?.stopReason !== undefined) lines.push(`sending stopped: ${sender.stopReason}`);
  if (!options.dryRun && ((sender?.failed ?? 0) > 0 || stoppedAt !== undefined)) {
    lines.push('Running the backfill again over the same lines is safe: clicks already counted stay counted once.');
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function run(options: Options): Promise<number> {
  for (const source of options.sources) {
    if (source === '-') continue;
    let isDirectory: boolean;
    try {
      await access(source, constants.R_OK);
      isDirectory = (await stat(source)).isDirectory();
    } catch {
      throw new UsageError(`cannot read ${source}`);
    }
    if (isDirectory) throw new UsageError(`${source} is a directory; give the log files in it`);
  }
  if (options.queueUrl !== undefined && !process.env.AWS_REGION) {
    const region = regionOfQueueUrl(options.queueUrl);
    // Read by the shared SQS client factory (lambdas/shared/clients/settings.ts).
    if (region !== undefined) process.env.AWS_REGION = region;
  }
  const sender = options.dryRun || options.queueUrl === undefined ? undefined : new QueueSender(new SqsClickTransport(options.queueUrl));
  const tally: Tally = {
    linesRead: 0,
    clicksFound: 0,
    otherLines: 0,
    invalidLines: 0,
    invalidReasons: [],
    outside: 0,
    expired: 0,
    nearLimit: 0,
    repeats: 0,
    toSend: 0,
  };
  const seen = new Set<string>();
  const nowMs = Date.now();
  const progress = process.stderr.isTTY === true;
  let warnings = 0;
  let stoppedAt: string | undefined;
  if (options.sources.includes('-') && process.stdin.isTTY) process.stderr.write('reading log lines from stdin (Ctrl-D ends)\n');

  reading: for (const source of options.sources) {
    let lineNumber = 0;
    const input = openSource(source);
    const lines = createInterface({ input: input.text, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        lineNumber += 1;
        tally.linesRead += 1;
        if (progress && tally.linesRead % PROGRESS_EVERY_LINES === 0) {
          process.stderr.write(`\r${tally.linesRead} lines, ${tally.clicksFound} clicks`);
        }
        const parsed = parseClickLogLine(line);
        if (parsed.kind === 'other') {
          tally.otherLines += 1;
          continue;
        }
        if (parsed.kind === 'invalid') {
          tally.invalidLines += 1;
          if (tally.invalidReasons.length < SHOWN) tally.invalidReasons.push(`${label(source)}:${lineNumber}: ${parsed.reason}`);
          continue;
        }
        const { click } = parsed;
        tally.clicksFound += 1;
        const decision = replayDecision(Date.parse(click.ts), options.window, nowMs);
        if (decision === 'outside') {
          tally.outside += 1;
          continue;
        }
        if (decision === 'expired') {
          tally.expired += 1;
          if (warnings++ < SHOWN) {
            process.stderr.write(
              `warning: ${label(source)}:${lineNumber}: click ${click.eventId} at ${click.ts} is older than ${QUARTER_HOUR_RETENTION_DAYS} days: skipped (its buckets have expired)\n`,
            );
          }
          continue;
        }
        if (seen.has(click.eventId)) {
          tally.repeats += 1;
          continue;
        }
        seen.add(click.eventId);
        if (decision === 'edge') tally.nearLimit += 1;
        tally.toSend += 1;
        if (sender !== undefined) {
          await sender.add(click);
          if (sender.stopReason !== undefined) {
            stoppedAt = `${label(source)}:${lineNumber}`;
            break reading;
          }
        }
      }
    } catch (error) {
      process.stderr.write(`error reading ${label(source)} at line ${lineNumber + 1}: ${errorText(error)}\n`);
      stoppedAt = `${label(source)}:${lineNumber}`;
      break;
    } finally {
      lines.close();
      input.close();
    }
  }
  if (progress && tally.linesRead >= PROGRESS_EVERY_LINES) process.stderr.write('\n');
  await sender?.finish();
  printSummary(tally, sender, options, stoppedAt);
  return (sender?.failed ?? 0) > 0 || stoppedAt !== undefined || sender?.stopReason !== undefined ? 1 : 0;
}

async function main(argv: readonly string[]): Promise<number> {
  try {
    const options = parseOptions(argv);
    if (options === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    return await run(options);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`backfill: ${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    process.stderr.write(`backfill: ${errorText(error)}\n`);
    return 1;
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
