/**
 * What Lambda's event source mappings for DynamoDB Streams and Kinesis share, played locally:
 * shards read in order (children after their parents, one batch in flight per shard, shards in
 * parallel), batching by size, window and payload, partial batch failures, bisection, retries,
 * record age, on-failure records, tumbling windows, and a checkpoint file. Each stream kind
 * supplies a StreamSource: its API calls and its record shape.
 * Retries wait a short backoff (Lambda retries at once); otherwise the semantics are Lambda's.
 */
import { randomUUID } from 'node:crypto';
import { LOCAL_ACCOUNT_ID } from '../../lambdas/contract';
import { backoffMs as retryBackoffMs, describeError, sleep } from '../retry';
import { isRecord, type LocalFunction, type Stoppable } from '../types';
import { failedItemIdentifiers } from './batch-item-failures';
import { CheckpointFile } from './stream-checkpoints';

export type StartingPosition = 'TRIM_HORIZON' | 'LATEST' | { readonly atTimestamp: Date };

/** An event source mapping's settings, as Lambda takes them for both stream kinds. */
export interface StreamPollerSettings {
  readonly streamArn: string;
  readonly fn: LocalFunction;
  /** BatchSize: 1 to 10,000. */
  readonly batchSize: number;
  /** MaximumBatchingWindowInSeconds: 0 to 300. */
  readonly maxBatchingWindowSeconds: number;
  readonly reportBatchItemFailures: boolean;
  readonly bisectBatchOnFunctionError: boolean;
  /** -1 = retry until it succeeds (or the records grow too old); else up to 10,000. */
  readonly maximumRetryAttempts: number;
  /** MaximumRecordAgeInSeconds: -1 (the default) = no limit; else 60 to 604,800. */
  readonly maximumRecordAgeSeconds?: number;
  /** Receives Lambda's on-failure record for records given up on; without it, they are logged. */
  readonly onFailure?: (failure: unknown) => Promise<void>;
  /** Where the position in each shard is kept, so a restart resumes where it stopped. */
  readonly checkpointFile: string;
  readonly region: string;
  /** The mapping's TumblingWindowInSeconds; 0 = no tumbling window. */
  readonly tumblingWindowSeconds: number;
  /** The clock tumbling windows are cut from and record ages are measured on (tests move it). */
  readonly now?: () => Date;
}

/** A record read from a shard, in the shape the function receives. */
export interface StreamEntry<R> {
  readonly record: R;
  readonly sequenceNumber: string;
  /** When the record reached the stream, in milliseconds since the epoch. */
  readonly arrivalMs: number;
  /** False for a record the mapping's filter drops: it is not delivered, but it is checkpointed past. */
  readonly matches: boolean;
}

export interface StreamShard {
  readonly shardId: string;
  readonly parentShardId?: string;
}

export type IteratorPosition = { readonly type: 'TRIM_HORIZON' | 'LATEST' } | { readonly afterSequenceNumber: string };

/** How one kind of stream is read: its API calls and its record shape. */
export interface StreamSource<R> {
  /** Names the poller in log lines. */
  readonly logName: string;
  /** The key of the on-failure record's batch details (DDBStreamBatchInfo, KinesisBatchInfo). */
  readonly batchInfoKey: string;
  listShards(): Promise<StreamShard[]>;
  shardIterator(shardId: string, position: IteratorPosition): Promise<string>;
  /** No next iterator: the shard is closed and read to its end. */
  getRecords(shardId: string, iterator: string): Promise<{ entries: StreamEntry<R>[]; nextIterator: string | undefined }>;
  /** The error saying the records asked for are no longer in the stream (trimmed, or from an older stream). */
  isPositionGone(error: unknown): boolean;
}

/** Lambda's payload limit for a synchronous invocation (6 MB): no batch is larger. */
export const MAX_INVOKE_PAYLOAD_BYTES = 6 * 1024 * 1024;

interface BufferedEntry<R> extends StreamEntry<R> {
  /** The record's size in the event's JSON. */
  readonly sizeBytes: number;
}

type InvokeOutcome = { readonly kind: 'success' } | { readonly kind: 'partial'; readonly firstFailed: number } | { readonly kind: 'error' };

type FailureCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/** The state a shard's last accepted invocation returned, and the window it belongs to. */
interface WindowState {
  readonly windowStart: number;
  readonly state: Readonly<Record<string, unknown>>;
}

/**
 * The fields Lambda adds to a stream event when the mapping has a tumbling window. Lambda ends
 * each window with an extra invocation flagged isFinalInvokeForWindow; that is not emulated (no
 * handler here acts on it): every invocation is an ordinary one, and a new window starts from {}.
 */
interface TumblingWindowFields {
  readonly shardId: string;
  readonly eventSourceARN: string;
  readonly window: { readonly start: string; readonly end: string };
  readonly state: Readonly<Record<string, unknown>>;
  readonly isFinalInvokeForWindow: false;
  readonly isWindowTerminatedEarly: false;
}

const IDLE_POLL_MS = 250;
const DESCRIBE_INTERVAL_MS = 1_000;
const BACKOFF_FIRST_MS = 100;

const backoffMs = (failures: number): number => retryBackoffMs(failures, BACKOFF_FIRST_MS);

/** Lambda refuses a mapping with settings out of these ranges: so does the local stack. */
function assertLambdaRanges(settings: StreamPollerSettings): void {
  const problems: string[] = [];
  const check = (name: string, value: number, valid: boolean): void => {
    if (!Number.isInteger(value) || !valid) problems.push(`${name} ${value}`);
  };
  check('BatchSize', settings.batchSize, settings.batchSize >= 1 && settings.batchSize <= 10_000);
  check('MaximumBatchingWindowInSeconds', settings.maxBatchingWindowSeconds, settings.maxBatchingWindowSeconds >= 0 && settings.maxBatchingWindowSeconds <= 300);
  check('MaximumRetryAttempts', settings.maximumRetryAttempts, settings.maximumRetryAttempts >= -1 && settings.maximumRetryAttempts <= 10_000);
  const age = settings.maximumRecordAgeSeconds ?? -1;
  check('MaximumRecordAgeInSeconds', age, age === -1 || (age >= 60 && age <= 604_800));
  check('TumblingWindowInSeconds', settings.tumblingWindowSeconds, settings.tumblingWindowSeconds >= 0 && settings.tumblingWindowSeconds <= 900);
  if (problems.length > 0) throw new Error(`Stream event source mapping for ${settings.fn.name}: out of Lambda's range: ${problems.join(', ')}`);
}

export class StreamShardPoller<R> implements Stoppable {
  private running = false;
  private stopSignal = new AbortController();
  private discovery?: Promise<void>;
  private readonly workers = new Map<string, Promise<void>>();
  private readonly checkpoints: CheckpointFile;
  /** Shards seen at start: only they begin at the starting position; later ones are read from their start. */
  private initialShardIds?: ReadonlySet<string>;
  /** Per shard, when the last read that found the shard fully processed began. */
  private readonly caughtUpSince = new Map<string, number>();
  private lastDescribedAt = 0;
  private lastShardFinishedAt = 0;
  /** Per shard, with a tumbling window only. */
  private readonly windowStates = new Map<string, WindowState>();

  constructor(
    private readonly settings: StreamPollerSettings & { readonly startingPosition: StartingPosition },
    private readonly source: StreamSource<R>,
  ) {
    assertLambdaRanges(settings);
    this.checkpoints = new CheckpointFile(settings.checkpointFile, settings.streamArn, (message) => this.log(message));
  }

  /** Throws only when the checkpoint file cannot be read at all (a folder in its place, no permission). */
  start(): void {
    if (this.running) return;
    this.checkpoints.load(startingPositionName(this.settings.startingPosition));
    this.running = true;
    this.stopSignal = new AbortController();
    this.discovery = this.discoverShards();
  }

  /** Stops reading; waits for the invocations under way. Unfinished batches are read again on restart. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopSignal.abort();
    await this.discovery;
    await Promise.all(this.workers.values());
    await this.checkpoints.settled();
  }

  /** True once every shard has been read to its current end and processed, and no invocation runs. */
  async drain(timeoutMs: number): Promise<boolean> {
    const since = Date.now();
    const deadline = since + timeoutMs;
    while (Date.now() < deadline) {
      const shardsCaughtUp = [...this.workers.keys()].every((shardId) => (this.caughtUpSince.get(shardId) ?? 0) >= since);
      if (shardsCaughtUp && this.lastDescribedAt >= Math.max(since, this.lastShardFinishedAt)) return true;
      await sleep(50);
    }
    return false;
  }

  private now(): number {
    return (this.settings.now?.() ?? new Date()).getTime();
  }

  private log(message: string, error?: unknown): void {
    console.error(`[${this.source.logName} ${this.settings.fn.name}] ${message}${error === undefined ? '' : ` ${describeError(error)}`}`);
  }

  /** Waits, unless stop() comes first. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.stopSignal.signal;
      if (signal.aborted) return resolve();
      const onStop = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onStop);
        resolve();
      }, ms);
      signal.addEventListener('abort', onStop, { once: true });
    });
  }

  private async discoverShards(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        const shards = await this.source.listShards();
        this.initialShardIds ??= new Set(shards.map((shard) => shard.shardId));
        this.startEligibleWorkers(shards);
        this.lastDescribedAt = Date.now();
        failures = 0;
        await this.pause(DESCRIBE_INTERVAL_MS);
      } catch (error) {
        failures += 1;
        this.log(`describing the stream failed, retrying in ${backoffMs(failures)} ms:`, error);
        await this.pause(backoffMs(failures));
      }
    }
  }

  /** A shard is read once its parent is finished (or gone from the stream), as Lambda does. */
  private startEligibleWorkers(shards: readonly StreamShard[]): void {
    const listed = new Set(shards.map((shard) => shard.shardId));
    for (const { shardId, parentShardId: parentId } of shards) {
      if (this.workers.has(shardId) || this.checkpoints.get(shardId)?.finished === true) continue;
      const parentDone = parentId === undefined || !listed.has(parentId) || this.checkpoints.get(parentId)?.finished === true;
      if (!parentDone) continue;
      const worker = this.readShard(shardId)
        .catch((error: unknown) => this.log(`reading shard ${shardId} stopped on an unexpected error:`, error))
        .finally(() => {
          this.workers.delete(shardId);
          this.caughtUpSince.delete(shardId);
          this.windowStates.delete(shardId);
          this.lastShardFinishedAt = Date.now();
        });
      this.workers.set(shardId, worker);
    }
  }

  private async readShard(shardId: string): Promise<void> {
    // Shards that appear later (after a split or merge) are read from their start, as Lambda does.
    const startingPosition = this.initialShardIds?.has(shardId) === true ? this.settings.startingPosition : 'TRIM_HORIZON';
    const reader = new ShardReader(shardId, this.checkpoints.get(shardId)?.sequenceNumber, startingPosition, this.source, (message) => this.log(message));
    let windowEnd: number | undefined;
    let failures = 0;
    while (this.running) {
      try {
        const batchReady = this.batchFull(shardId, reader.buffer) || (windowEnd !== undefined && Date.now() >= windowEnd);
        if (!batchReady && !reader.ended) {
          const readStartedAt = Date.now();
          const read = await reader.read();
          failures = 0;
          const nowMatching = reader.buffer.some((entry) => entry.matches);
          if (nowMatching) windowEnd ??= Date.now() + this.settings.maxBatchingWindowSeconds * 1000;
          if (read === 0 && !reader.ended) {
            if (!nowMatching) {
              // Nothing to deliver: skipped records are checkpointed and the shard is caught up.
              if (!(await this.processBuffered(shardId, reader))) return;
              this.caughtUpSince.set(shardId, readStartedAt);
            }
            await this.pause(nowMatching ? Math.min(IDLE_POLL_MS, Math.max((windowEnd ?? 0) - Date.now(), 0)) : IDLE_POLL_MS);
          }
          continue;
        }
        if (!(await this.processBuffered(shardId, reader))) return;
        windowEnd = undefined;
        if (reader.ended && reader.buffer.length === 0) {
          await this.checkpoints.save(shardId, { ...this.checkpoints.get(shardId), finished: true });
          return;
        }
      } catch (error) {
        failures += 1;
        // DynamoDB Local answers a new shard's first read with TrimmedDataAccessException once; only a repeat is news.
        if (failures > 1 || !this.source.isPositionGone(error)) this.log(`reading shard ${shardId} failed, retrying in ${backoffMs(failures)} ms:`, error);
        reader.resetIterator();
        await this.pause(backoffMs(failures));
      }
    }
  }

  /** Lambda invokes without waiting out the window once a batch is at its size or at the payload limit. */
  private batchFull(shardId: string, buffer: readonly BufferedEntry<R>[]): boolean {
    const matching = buffer.filter((entry) => entry.matches);
    return matching.length >= this.settings.batchSize || this.batchLength(shardId, matching) < matching.length;
  }

  /** How many of the entries (all matching) make the first batch: up to batchSize, within the payload limit, at least one. */
  private batchLength(shardId: string, matching: readonly BufferedEntry<R>[]): number {
    // The event around the records counts too: with a tumbling window, its fields and the state carried.
    let bytes = Buffer.byteLength(JSON.stringify(this.event(shardId, [])));
    for (let index = 0; index < matching.length && index < this.settings.batchSize; index += 1) {
      // A comma between records.
      bytes += (matching[index]?.sizeBytes ?? 0) + (index > 0 ? 1 : 0);
      if (index > 0 && bytes > MAX_INVOKE_PAYLOAD_BYTES) return index;
    }
    return Math.min(matching.length, this.settings.batchSize);
  }

  /**
   * Hands the first batch of matching records in the buffer to the function, then checkpoints
   * past them and the skipped records around them. False when stopped midway.
   */
  private async processBuffered(shardId: string, reader: ShardReader<R>): Promise<boolean> {
    const matching = reader.buffer.filter((entry) => entry.matches);
    const batch = matching.slice(0, this.batchLength(shardId, matching));
    // When the batch leaves matching records behind, the skipped records after its last one wait with them.
    const last = batch.at(-1);
    const consumed = last === undefined || batch.length === matching.length ? reader.buffer.length : reader.buffer.indexOf(last) + 1;
    if (batch.length > 0 && !(await this.deliver(shardId, batch))) return false;
    const entries = reader.buffer.splice(0, consumed);
    const lastConsumed = entries.at(-1);
    if (lastConsumed !== undefined) await this.checkpoints.save(shardId, { sequenceNumber: lastConsumed.sequenceNumber });
    return true;
  }

  /** How many records at the front are older than MaximumRecordAgeInSeconds (records are in arrival order). */
  private expiredCount(records: readonly BufferedEntry<R>[]): number {
    const maximumAge = this.settings.maximumRecordAgeSeconds ?? -1;
    if (maximumAge === -1) return 0;
    const oldestAllowed = this.now() - maximumAge * 1000;
    const firstFresh = records.findIndex((entry) => entry.arrivalMs >= oldestAllowed);
    return firstFresh === -1 ? records.length : firstFresh;
  }

  /**
   * Invokes until the records are processed or given up on: records past MaximumRecordAgeInSeconds
   * are dropped before each invocation, a reported failure retries from the first failed record, a
   * function error bisects the batch (when enabled; that costs no retry), and past
   * maximumRetryAttempts the on-failure record is sent. False when stopped midway.
   */
  private async deliver(shardId: string, records: readonly BufferedEntry<R>[]): Promise<boolean> {
    let pending = records;
    let invocations = 0;
    let lastOutcome: InvokeOutcome | undefined;
    for (;;) {
      if (!this.running) return false;
      const expired = this.expiredCount(pending);
      if (expired > 0) {
        const functionError = lastOutcome?.kind === 'error';
        if (!(await this.giveUp(shardId, pending.slice(0, expired), invocations, 'RecordAgeExceeded', functionError))) return false;
        await this.checkpoints.save(shardId, { sequenceNumber: pending[expired - 1]?.sequenceNumber });
        pending = pending.slice(expired);
        if (pending.length === 0) return true;
      }
      const outcome = await this.invoke(shardId, pending);
      invocations += 1;
      lastOutcome = outcome;
      if (outcome.kind === 'success') return true;
      if (outcome.kind === 'error' && this.settings.bisectBatchOnFunctionError && pending.length > 1) {
        const half = Math.ceil(pending.length / 2);
        return (await this.deliver(shardId, pending.slice(0, half))) && (await this.deliver(shardId, pending.slice(half)));
      }
      if (outcome.kind === 'partial' && outcome.firstFailed > 0) {
        await this.checkpoints.save(shardId, { sequenceNumber: pending[outcome.firstFailed - 1]?.sequenceNumber });
        pending = pending.slice(outcome.firstFailed);
      }
      // Every invocation after the first is a retry.
      if (this.settings.maximumRetryAttempts !== -1 && invocations > this.settings.maximumRetryAttempts) {
        return this.giveUp(shardId, pending, invocations, 'RetryAttemptsExhausted', outcome.kind === 'error');
      }
      await this.pause(backoffMs(invocations));
    }
  }

  /** The event of the records, with the tumbling window's fields when the mapping has one. */
  private event(shardId: string, records: readonly BufferedEntry<R>[], windowStart = this.windowStartNow()): object {
    const streamEvent = { Records: records.map((entry) => entry.record) };
    return windowStart === undefined ? streamEvent : { ...streamEvent, ...this.windowFields(shardId, windowStart) };
  }

  private windowStartNow(): number | undefined {
    return this.settings.tumblingWindowSeconds > 0 ? this.currentWindowStart() : undefined;
  }

  private async invoke(shardId: string, records: readonly BufferedEntry<R>[]): Promise<InvokeOutcome> {
    const windowStart = this.windowStartNow();
    const event = this.event(shardId, records, windowStart);
    const eventBytes = Buffer.byteLength(JSON.stringify(event));
    if (eventBytes > MAX_INVOKE_PAYLOAD_BYTES) {
      this.log(`an event of ${eventBytes} bytes is over Lambda's ${MAX_INVOKE_PAYLOAD_BYTES}-byte payload limit: the invocation fails, as on Lambda`);
      return { kind: 'error' };
    }
    let result: unknown;
    try {
      result = await this.settings.fn.invoke(event);
    } catch (error) {
      this.log(`invocation with ${records.length} record(s) failed:`, error);
      return { kind: 'error' };
    }
    const state = isRecord(result) ? result.state : undefined;
    if (windowStart !== undefined && !isRecord(state)) {
      this.log(`no state object in ${JSON.stringify(result)}: with a tumbling window the whole batch fails, as on Lambda`);
      return { kind: 'error' };
    }
    const failed = this.settings.reportBatchItemFailures
      ? failedItemIdentifiers(result, new Set(records.map((entry) => entry.sequenceNumber)))
      : new Set<string>();
    if (failed === null) {
      this.log(`invalid batchItemFailures in ${JSON.stringify(result)}: the whole batch fails, as on Lambda`);
      return { kind: 'error' };
    }
    // Only an accepted response's state carries on: a failed invocation's retry starts from the state it was given.
    if (windowStart !== undefined && isRecord(state)) this.windowStates.set(shardId, { windowStart, state });
    if (failed.size === 0) return { kind: 'success' };
    // Records are in sequence order: the first failed one in the batch has the lowest number.
    return { kind: 'partial', firstFailed: records.findIndex((entry) => failed.has(entry.sequenceNumber)) };
  }

  /** Start of the aligned tumbling window holding the current time. */
  private currentWindowStart(): number {
    const sizeMs = this.settings.tumblingWindowSeconds * 1000;
    return Math.floor(this.now() / sizeMs) * sizeMs;
  }

  /** The window starting at `start`, and the state the shard's previous invocation left in it (else {}). */
  private windowFields(shardId: string, start: number): TumblingWindowFields {
    const sizeMs = this.settings.tumblingWindowSeconds * 1000;
    const previous = this.windowStates.get(shardId);
    // Lambda writes window bounds to the second.
    const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
    return {
      shardId,
      eventSourceARN: this.settings.streamArn,
      window: { start: iso(start), end: iso(start + sizeMs) },
      state: previous?.windowStart === start ? previous.state : {},
      isFinalInvokeForWindow: false,
      isWindowTerminatedEarly: false,
    };
  }

  /** Sends Lambda's on-failure record for records given up on (retrying the destination until it takes it). False when stopped midway. */
  private async giveUp(
    shardId: string,
    records: readonly BufferedEntry<R>[],
    invocations: number,
    condition: FailureCondition,
    functionError: boolean,
  ): Promise<boolean> {
    const first = records[0];
    const last = records.at(-1);
    const arrival = (entry: BufferedEntry<R> | undefined): string | undefined => (entry === undefined ? undefined : new Date(entry.arrivalMs).toISOString());
    const failure = {
      requestContext: {
        requestId: randomUUID(),
        functionArn: `arn:aws:lambda:${this.settings.region}:${LOCAL_ACCOUNT_ID}:function:${this.settings.fn.name}`,
        condition,
        approximateInvokeCount: invocations,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', ...(functionError ? { functionError: 'Unhandled' } : {}) },
      version: '1.0',
      timestamp: new Date(this.now()).toISOString(),
      [this.source.batchInfoKey]: {
        shardId,
        startSequenceNumber: first?.sequenceNumber,
        endSequenceNumber: last?.sequenceNumber,
        approximateArrivalOfFirstRecord: arrival(first),
        approximateArrivalOfLastRecord: arrival(last),
        batchSize: records.length,
        streamArn: this.settings.streamArn,
      },
    };
    const onFailure = this.settings.onFailure;
    if (onFailure === undefined) {
      this.log(`giving up on ${records.length} record(s) (${condition}) after ${invocations} invocation(s): ${JSON.stringify(failure)}`);
      return true;
    }
    for (let failures = 1; this.running; failures += 1) {
      try {
        await onFailure(failure);
        return true;
      } catch (error) {
        this.log(`sending the on-failure record failed, retrying in ${backoffMs(failures)} ms:`, error);
        await this.pause(backoffMs(failures));
      }
    }
    return false;
  }
}

function startingPositionName(position: StartingPosition): string {
  return typeof position === 'string' ? position : `AT_TIMESTAMP ${position.atTimestamp.toISOString()}`;
}

/** Reads one shard page by page, keeping an iterator positioned after the last record read. */
class ShardReader<R> {
  readonly buffer: BufferedEntry<R>[] = [];
  ended = false;
  private iterator?: string;
  /** AT_TIMESTAMP: records before the timestamp are skipped until the first one at or after it. */
  private skipBefore?: number;

  constructor(
    private readonly shardId: string,
    /** After this record (from the checkpoint, then the last one read); else startingPosition. */
    private lastReadSequenceNumber: string | undefined,
    private readonly startingPosition: StartingPosition,
    private readonly source: StreamSource<R>,
    private readonly log: (message: string) => void,
  ) {
    if (lastReadSequenceNumber === undefined && typeof startingPosition !== 'string') this.skipBefore = startingPosition.atTimestamp.getTime();
  }

  /** Appends the next page to the buffer; returns how many records it had. */
  async read(): Promise<number> {
    this.iterator ??= await this.newIterator();
    const { entries, nextIterator } = await this.source.getRecords(this.shardId, this.iterator);
    for (const entry of entries) {
      if (this.skipBefore !== undefined && entry.arrivalMs < this.skipBefore) {
        this.buffer.push({ ...entry, matches: false, sizeBytes: 0 });
        continue;
      }
      this.skipBefore = undefined;
      this.buffer.push({ ...entry, sizeBytes: Buffer.byteLength(JSON.stringify(entry.record)) });
    }
    this.lastReadSequenceNumber = entries.at(-1)?.sequenceNumber ?? this.lastReadSequenceNumber;
    this.iterator = nextIterator;
    if (nextIterator === undefined) this.ended = true;
    return entries.length;
  }

  /** After an error (an expired iterator, say) a new iterator is taken from the last record read. */
  resetIterator(): void {
    if (!this.ended) this.iterator = undefined;
  }

  /**
   * AT_TIMESTAMP reads from TRIM_HORIZON and skips the records before the timestamp: kinesalite
   * never answers an AT_TIMESTAMP GetShardIterator when no record is at or after the timestamp.
   */
  private newIterator(): Promise<string> {
    if (this.lastReadSequenceNumber === undefined) {
      return this.source.shardIterator(this.shardId, { type: typeof this.startingPosition === 'string' ? this.startingPosition : 'TRIM_HORIZON' });
    }
    return this.source.shardIterator(this.shardId, { afterSequenceNumber: this.lastReadSequenceNumber }).catch((error: unknown) => {
      if (!this.source.isPositionGone(error)) throw error;
      // The checkpoint is older than the stream's retention, or from a stream since recreated: continue from the oldest record left.
      this.log(`shard ${this.shardId}: records after ${this.lastReadSequenceNumber ?? '?'} are gone from the stream, reading from TRIM_HORIZON`);
      this.lastReadSequenceNumber = undefined;
      return this.source.shardIterator(this.shardId, { type: 'TRIM_HORIZON' });
    });
  }
}
