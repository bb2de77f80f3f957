import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  type AttributeValue,
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record,
  type Shard,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import type { AttributeValue as LambdaAttributeValue, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID } from '../../lambdas/contract';
import { matchesFilters } from '../event-filter';
import { isRecord, type LocalFunction, type Stoppable } from '../types';
import { failedItemIdentifiers } from './batch-item-failures';
import { backoffMs as retryBackoffMs, describeError, sleep } from '../retry';

export interface DynamoDbStreamPollerOptions {
  readonly streams: DynamoDBStreamsClient;
  readonly streamArn: string;
  readonly fn: LocalFunction;
  readonly batchSize: number;
  readonly maxBatchingWindowSeconds: number;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
  /** FilterCriteria patterns (JSON strings); records that match none are skipped. */
  readonly filterPatterns: readonly string[];
  readonly reportBatchItemFailures: boolean;
  readonly bisectBatchOnFunctionError: boolean;
  /** -1 = retry until it succeeds. */
  readonly maximumRetryAttempts: number;
  /** Receives Lambda's on-failure record for records given up on; without it, they are logged. */
  readonly onFailure?: (failure: unknown) => Promise<void>;
  /** Where the position in each shard is kept, so a restart resumes where it stopped. */
  readonly checkpointFile: string;
  readonly region: string;
  /** The mapping's TumblingWindowInSeconds; 0 = no tumbling window. */
  readonly tumblingWindowSeconds: number;
  /** The clock tumbling windows are cut from (tests move it). */
  readonly now?: () => Date;
}

interface ShardCheckpoint {
  /** Everything up to and including this record is done. */
  readonly sequenceNumber?: string;
  /** Closed shard read to its end. */
  readonly finished?: boolean;
}

interface CheckpointFileContent {
  readonly streamArn: string;
  readonly shards: Readonly<Record<string, ShardCheckpoint>>;
}

/** A record read from the shard, in the shape the function receives, with its filter verdict. */
interface BufferedRecord {
  readonly record: DynamoDBRecord;
  readonly sequenceNumber: string;
  readonly matches: boolean;
}

type InvokeOutcome = { readonly kind: 'success' } | { readonly kind: 'partial'; readonly firstFailed: number } | { readonly kind: 'error' };

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
const GET_RECORDS_LIMIT = 1_000;
const BACKOFF_FIRST_MS = 100;

const backoffMs = (failures: number): number => retryBackoffMs(failures, BACKOFF_FIRST_MS);

/**
 * Lambda's DynamoDB Streams event source mapping, played locally: reads every shard in order
 * (children after their parents), filters, batches, invokes (with a tumbling window's fields
 * when the mapping has one), and checkpoints to a file.
 * Retries wait a short backoff (Lambda retries at once); otherwise the semantics are Lambda's.
 */
export class DynamoDbStreamPoller implements Stoppable {
  private running = false;
  private stopSignal = new AbortController();
  private discovery?: Promise<void>;
  private readonly workers = new Map<string, Promise<void>>();
  private checkpoints: Record<string, ShardCheckpoint> = {};
  private checkpointWrites: Promise<void> = Promise.resolve();
  /** Shards seen at start: only they begin at startingPosition; later ones are read from their start. */
  private initialShardIds?: ReadonlySet<string>;
  /** Per shard, when the last read that found the shard fully processed began. */
  private readonly caughtUpSince = new Map<string, number>();
  private lastDescribedAt = 0;
  private lastShardFinishedAt = 0;
  /** Per shard, with a tumbling window only. */
  private readonly windowStates = new Map<string, WindowState>();

  constructor(private readonly options: DynamoDbStreamPollerOptions) {}

  /** Throws only when the checkpoint file cannot be read at all (a folder in its place, no permission). */
  start(): void {
    if (this.running) return;
    this.checkpoints = { ...this.loadCheckpoints() };
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
    // A failed write was already reported to the worker that made it.
    await this.checkpointWrites.catch(() => undefined);
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

  private log(message: string, error?: unknown): void {
    console.error(`[stream-poller ${this.options.fn.name}] ${message}${error === undefined ? '' : ` ${describeError(error)}`}`);
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
        const shards = await this.describeShards();
        this.initialShardIds ??= new Set(shards.flatMap((shard) => (shard.ShardId === undefined ? [] : [shard.ShardId])));
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

  private async describeShards(): Promise<Shard[]> {
    const shards: Shard[] = [];
    let exclusiveStartShardId: string | undefined;
    do {
      const { StreamDescription } = await this.options.streams.send(
        new DescribeStreamCommand({ StreamArn: this.options.streamArn, ExclusiveStartShardId: exclusiveStartShardId }),
      );
      shards.push(...(StreamDescription?.Shards ?? []));
      exclusiveStartShardId = StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId !== undefined);
    return shards;
  }

  /** A shard is read once its parent is finished (or gone from the stream), as Lambda does. */
  private startEligibleWorkers(shards: readonly Shard[]): void {
    const listed = new Set(shards.map((shard) => shard.ShardId));
    for (const { ShardId: shardId, ParentShardId: parentId } of shards) {
      if (shardId === undefined || this.workers.has(shardId) || this.checkpoints[shardId]?.finished === true) continue;
      const parentDone = parentId === undefined || !listed.has(parentId) || this.checkpoints[parentId]?.finished === true;
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
    const reader = new ShardReader(shardId, this.checkpoints[shardId]?.sequenceNumber, this.startingPositionFor(shardId), this.options, (record) =>
      this.toBufferedRecord(record),
    );
    let windowEnd: number | undefined;
    let failures = 0;
    while (this.running) {
      try {
        const matching = reader.buffer.filter((entry) => entry.matches).length;
        const batchReady = matching >= this.options.batchSize || (windowEnd !== undefined && Date.now() >= windowEnd);
        if (!batchReady && !reader.ended) {
          const readStartedAt = Date.now();
          const read = await reader.read();
          failures = 0;
          const nowMatching = reader.buffer.some((entry) => entry.matches);
          if (nowMatching) windowEnd ??= Date.now() + this.options.maxBatchingWindowSeconds * 1000;
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
          await this.saveCheckpoint(shardId, { ...this.checkpoints[shardId], finished: true });
          return;
        }
      } catch (error) {
        failures += 1;
        // DynamoDB Local answers a new shard's first read with this once; only a repeat is news.
        const expectedOnNewShard = failures === 1 && error instanceof TrimmedDataAccessException;
        if (!expectedOnNewShard) this.log(`reading shard ${shardId} failed, retrying in ${backoffMs(failures)} ms:`, error);
        reader.resetIterator();
        await this.pause(backoffMs(failures));
      }
    }
  }

  private startingPositionFor(shardId: string): 'TRIM_HORIZON' | 'LATEST' {
    return this.initialShardIds?.has(shardId) === true ? this.options.startingPosition : 'TRIM_HORIZON';
  }

  /**
   * Hands up to batchSize matching records from the front of the buffer to the function, then
   * checkpoints past them and the skipped records around them. False when stopped midway.
   */
  private async processBuffered(shardId: string, reader: ShardReader): Promise<boolean> {
    let consumed = reader.buffer.length;
    let taken = 0;
    for (let index = 0; index < reader.buffer.length; index += 1) {
      if (reader.buffer[index]?.matches === true && ++taken === this.options.batchSize) {
        consumed = index + 1;
        break;
      }
    }
    const entries = reader.buffer.slice(0, consumed);
    const batch = entries.filter((entry) => entry.matches);
    if (batch.length > 0 && !(await this.deliver(shardId, batch))) return false;
    reader.buffer.splice(0, consumed);
    const last = entries.at(-1);
    if (last !== undefined) await this.saveCheckpoint(shardId, { sequenceNumber: last.sequenceNumber });
    return true;
  }

  /**
   * Invokes until the records are processed or given up on: a reported failure retries from the
   * first failed record, a function error bisects the batch (when enabled; that costs no retry),
   * and past maximumRetryAttempts the on-failure record is sent. False when stopped midway.
   */
  private async deliver(shardId: string, records: readonly BufferedRecord[]): Promise<boolean> {
    let pending = records;
    let retries = 0;
    for (;;) {
      if (!this.running) return false;
      const outcome = await this.invoke(shardId, pending);
      if (outcome.kind === 'success') return true;
      if (outcome.kind === 'error' && this.options.bisectBatchOnFunctionError && pending.length > 1) {
        const half = Math.ceil(pending.length / 2);
        return (await this.deliver(shardId, pending.slice(0, half))) && (await this.deliver(shardId, pending.slice(half)));
      }
      if (outcome.kind === 'partial' && outcome.firstFailed > 0) {
        await this.saveCheckpoint(shardId, { sequenceNumber: pending[outcome.firstFailed - 1]?.sequenceNumber });
        pending = pending.slice(outcome.firstFailed);
      }
      retries += 1;
      if (this.options.maximumRetryAttempts !== -1 && retries > this.options.maximumRetryAttempts) {
        return this.giveUp(shardId, pending, retries, outcome.kind === 'error');
      }
      await this.pause(backoffMs(retries));
    }
  }

  private async invoke(shardId: string, records: readonly BufferedRecord[]): Promise<InvokeOutcome> {
    const streamEvent: DynamoDBStreamEvent = { Records: records.map((entry) => entry.record) };
    const windowStart = this.options.tumblingWindowSeconds > 0 ? this.currentWindowStart() : undefined;
    const window = windowStart === undefined ? undefined : this.windowFields(shardId, windowStart);
    const event = window === undefined ? streamEvent : { ...streamEvent, ...window };
    let result: unknown;
    try {
      result = await this.options.fn.invoke(event);
    } catch (error) {
      this.log(`invocation with ${records.length} record(s) failed:`, error);
      return { kind: 'error' };
    }
    const state = isRecord(result) ? result.state : undefined;
    if (windowStart !== undefined && !isRecord(state)) {
      this.log(`no state object in ${JSON.stringify(result)}: with a tumbling window the whole batch fails, as on Lambda`);
      return { kind: 'error' };
    }
    const failed = this.options.reportBatchItemFailures
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
    const sizeMs = this.options.tumblingWindowSeconds * 1000;
    return Math.floor((this.options.now?.() ?? new Date()).getTime() / sizeMs) * sizeMs;
  }

  /** The window starting at `start`, and the state the shard's previous invocation left in it (else {}). */
  private windowFields(shardId: string, start: number): TumblingWindowFields {
    const sizeMs = this.options.tumblingWindowSeconds * 1000;
    const previous = this.windowStates.get(shardId);
    // Lambda writes window bounds to the second.
    const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
    return {
      shardId,
      eventSourceARN: this.options.streamArn,
      window: { start: iso(start), end: iso(start + sizeMs) },
      state: previous?.windowStart === start ? previous.state : {},
      isFinalInvokeForWindow: false,
      isWindowTerminatedEarly: false,
    };
  }

  private async giveUp(shardId: string, records: readonly BufferedRecord[], invocations: number, functionError: boolean): Promise<boolean> {
    const first = records[0]?.record.dynamodb;
    const last = records.at(-1)?.record.dynamodb;
    const arrival = (seconds: number | undefined): string | undefined => (seconds === undefined ? undefined : new Date(seconds * 1000).toISOString());
    const failure = {
      requestContext: {
        requestId: randomUUID(),
        functionArn: `arn:aws:lambda:${this.options.region}:${LOCAL_ACCOUNT_ID}:function:${this.options.fn.name}`,
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: invocations,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', ...(functionError ? { functionError: 'Unhandled' } : {}) },
      version: '1.0',
      timestamp: new Date().toISOString(),
      DDBStreamBatchInfo: {
        shardId,
        startSequenceNumber: first?.SequenceNumber,
        endSequenceNumber: last?.SequenceNumber,
        approximateArrivalOfFirstRecord: arrival(first?.ApproximateCreationDateTime),
        approximateArrivalOfLastRecord: arrival(last?.ApproximateCreationDateTime),
        batchSize: records.length,
        streamArn: this.options.streamArn,
      },
    };
    const onFailure = this.options.onFailure;
    if (onFailure === undefined) {
      this.log(`giving up on ${records.length} record(s) after ${invocations} invocation(s):`, failure);
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

  private toBufferedRecord(record: _Record): BufferedRecord {
    const stream = record.dynamodb;
    const sequenceNumber = stream?.SequenceNumber;
    if (sequenceNumber === undefined) throw new Error(`Stream record ${record.eventID ?? '?'} has no sequence number`);
    const lambdaRecord: DynamoDBRecord = {
      eventID: record.eventID,
      eventName: record.eventName,
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: this.options.region,
      dynamodb: {
        ApproximateCreationDateTime: stream?.ApproximateCreationDateTime === undefined ? undefined : Math.floor(stream.ApproximateCreationDateTime.getTime() / 1000),
        Keys: toLambdaImage(stream?.Keys),
        NewImage: toLambdaImage(stream?.NewImage),
        OldImage: toLambdaImage(stream?.OldImage),
        SequenceNumber: sequenceNumber,
        SizeBytes: stream?.SizeBytes,
        StreamViewType: stream?.StreamViewType,
      },
      eventSourceARN: this.options.streamArn,
      ...(record.userIdentity === undefined ? {} : { userIdentity: record.userIdentity }),
    };
    // Round-trip through JSON: drops undefined fields, so the function sees what Lambda would send.
    const event = JSON.parse(JSON.stringify(lambdaRecord)) as DynamoDBRecord;
    return { record: event, sequenceNumber, matches: matchesFilters(this.options.filterPatterns, event) };
  }

  /**
   * The positions saved by the last run. A file that is not a checkpoint file (a crash mid-write
   * outside this code, a hand edit) is moved aside as `<file>.corrupt-<time>` and the mapping
   * starts over from its starting position, as a new event source mapping would.
   */
  private loadCheckpoints(): Readonly<Record<string, ShardCheckpoint>> {
    const file = this.options.checkpointFile;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw error;
    }
    let content: unknown;
    try {
      content = JSON.parse(text);
    } catch {
      content = undefined;
    }
    if (!isCheckpointFileContent(content)) {
      const aside = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      renameSync(file, aside);
      this.log(
        `checkpoint file ${file} is not a valid checkpoint file: moved it to ${aside} and reading the stream from ` +
          `${this.options.startingPosition} (records already processed there are delivered again)`,
      );
      return {};
    }
    // A recreated table has a new stream: positions in the old one mean nothing there.
    return content.streamArn === this.options.streamArn ? content.shards : {};
  }

  /** Writes are chained (never two at once) and atomic (temporary file, then rename). */
  private saveCheckpoint(shardId: string, checkpoint: ShardCheckpoint): Promise<void> {
    this.checkpoints[shardId] = checkpoint;
    const content: CheckpointFileContent = { streamArn: this.options.streamArn, shards: { ...this.checkpoints } };
    const file = this.options.checkpointFile;
    const write = async (): Promise<void> => {
      mkdirSync(path.dirname(file), { recursive: true });
      const temporary = `${file}.${process.pid}.tmp`;
      await writeFile(temporary, JSON.stringify(content, null, 2));
      await rename(temporary, file);
    };
    this.checkpointWrites = this.checkpointWrites.then(write, write);
    return this.checkpointWrites;
  }
}

/** Reads one shard page by page, keeping an iterator positioned after the last record read. */
class ShardReader {
  readonly buffer: BufferedRecord[] = [];
  ended = false;
  private iterator?: string;

  constructor(
    private readonly shardId: string,
    /** After this record (from the checkpoint, then the last one read); else startingPosition. */
    private lastReadSequenceNumber: string | undefined,
    private readonly startingPosition: 'TRIM_HORIZON' | 'LATEST',
    private readonly options: Pick<DynamoDbStreamPollerOptions, 'streams' | 'streamArn'>,
    private readonly convert: (record: _Record) => BufferedRecord,
  ) {}

  /** Appends the next page to the buffer; returns how many records it had. */
  async read(): Promise<number> {
    this.iterator ??= await this.newIterator();
    const { Records = [], NextShardIterator } = await this.options.streams.send(
      new GetRecordsCommand({ ShardIterator: this.iterator, Limit: GET_RECORDS_LIMIT }),
    );
    const converted = Records.map(this.convert);
    this.buffer.push(...converted);
    this.lastReadSequenceNumber = converted.at(-1)?.sequenceNumber ?? this.lastReadSequenceNumber;
    this.iterator = NextShardIterator;
    // No next iterator: the shard is closed and read to its end.
    if (NextShardIterator === undefined) this.ended = true;
    return Records.length;
  }

  /** After an error (an expired iterator, say) a new iterator is taken from the last record read. */
  resetIterator(): void {
    if (!this.ended) this.iterator = undefined;
  }

  private async newIterator(): Promise<string> {
    const base = { StreamArn: this.options.streamArn, ShardId: this.shardId };
    const request =
      this.lastReadSequenceNumber === undefined
        ? { ...base, ShardIteratorType: this.startingPosition }
        : { ...base, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER' as const, SequenceNumber: this.lastReadSequenceNumber };
    try {
      const { ShardIterator } = await this.options.streams.send(new GetShardIteratorCommand(request));
      if (ShardIterator === undefined) throw new Error(`No iterator for shard ${this.shardId}`);
      return ShardIterator;
    } catch (error) {
      if (!(error instanceof TrimmedDataAccessException) || this.lastReadSequenceNumber === undefined) throw error;
      // The checkpoint is older than the stream's 24 h retention: continue from the oldest record left.
      console.error(`[stream-poller] shard ${this.shardId}: records after ${this.lastReadSequenceNumber} were trimmed, reading from TRIM_HORIZON`);
      this.lastReadSequenceNumber = undefined;
      const { ShardIterator } = await this.options.streams.send(new GetShardIteratorCommand({ ...base, ShardIteratorType: 'TRIM_HORIZON' }));
      if (ShardIterator === undefined) throw new Error(`No iterator for shard ${this.shardId}`);
      return ShardIterator;
    }
  }
}

function isShardCheckpoint(value: unknown): value is ShardCheckpoint {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { sequenceNumber, finished } = value as Record<string, unknown>;
  return (sequenceNumber === undefined || typeof sequenceNumber === 'string') && (finished === undefined || typeof finished === 'boolean');
}

function isCheckpointFileContent(value: unknown): value is CheckpointFileContent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { streamArn, shards } = value as Record<string, unknown>;
  return (
    typeof streamArn === 'string' &&
    typeof shards === 'object' &&
    shards !== null &&
    !Array.isArray(shards) &&
    Object.values(shards).every(isShardCheckpoint)
  );
}

function toLambdaImage(image: Record<string, AttributeValue> | undefined): Record<string, LambdaAttributeValue> | undefined {
  return image === undefined ? undefined : Object.fromEntries(Object.entries(image).map(([name, value]) => [name, toLambdaAttributeValue(value)]));
}

/** The SDK gives binary values as bytes; Lambda's event carries them base64-encoded. */
function toLambdaAttributeValue(value: AttributeValue): LambdaAttributeValue {
  const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.BS !== undefined) return { BS: value.BS.map(base64) };
  if (value.M !== undefined) return { M: toLambdaImage(value.M) ?? {} };
  if (value.L !== undefined) return { L: value.L.map(toLambdaAttributeValue) };
  // S, N, SS, NS, BOOL and NULL have the same JSON in both.
  return value as LambdaAttributeValue;
}
