/**
 * Raw clicks table stream consumer: folds each batch of new clicks into this shard's quarter-hour
 * items, exactly once, and marks the touched (target, reporting day) pairs for the rollup: before
 * the writes where no marker is there yet, after them where a rollup has claimed or deleted the
 * marker meanwhile (docs/statistics.md, Exactly once).
 *
 * Each quarter-hour item has one writer, the stream shard (the tumbling window puts `shardId` in
 * the event), and remembers the highest sequence number it applied (`watermark`): a retried,
 * bisected or re-delivered batch only applies the records above it, and the conditional put
 * makes a read-modify-write that raced another invocation start over.
 *
 * Not Powertools' BatchProcessor: its unit of work is the record, while here it is the
 * (target, quarter) group, known only after the whole batch is parsed; a failed group fails
 * every record in it. The partial batch response is built directly instead.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { BoundedCache } from '../domain/bounded-cache';
import {
  applyGroup,
  compareSequenceNumbers,
  groupByTargetQuarter,
  type QuarterHourGroup,
  type QuarterHourItem,
  type StreamedClick,
} from '../domain/quarter-hour';
import { daysTouched, type PendingRollup } from '../domain/rollup';
import { isItemTooLarge } from '../shared/clients/dynamodb';
import { settleWithLimit } from '../shared/concurrency';
import { observeInvocation } from '../shared/observability';
import { aggregateConfig, ConfigError, type AggregateConfig } from '../shared/config';
import { markPendingDays, pendingMarker, readPendingMarkers, type MarkerState } from '../tables/pending-rollups';
import { putQuarterHourItemOver, quarterHourSlot, readQuarterHourItem } from '../tables/quarter-hour';
import { rawClickFromStreamImage } from '../tables/raw-clicks';
import { METRIC, METRICS_NAMESPACE } from '../contract';

const logger = new Logger({ serviceName: 'aggregate' });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'aggregate' });

/** Groups written at once. */
const CONCURRENT_WRITES = 16;
/** Read-modify-write attempts of one item when its conditional put keeps losing. */
const MAX_PUT_ATTEMPTS = 3;
/**
 * Quarter-hour items kept in memory between invocations: a quarter's items of a shard's busiest
 * targets. Each is at most 100 KB stored, usually a few KB.
 */
const WRITTEN_ITEMS_KEPT = 2_048;

/** A stream event from an event source mapping with a tumbling window. */
export interface TumblingWindowStreamEvent extends DynamoDBStreamEvent {
  /** The stream shard: the writer of every quarter-hour item this invocation touches. */
  readonly shardId?: string;
  /** Carried between the invocations of a window; this function keeps none. */
  readonly state?: Readonly<Record<string, unknown>>;
  readonly window?: { readonly start: string; readonly end: string };
  readonly isFinalInvokeForWindow?: boolean;
}

/** Lambda requires `state` in the response of a tumbling-window function. */
export interface TumblingWindowResponse extends DynamoDBBatchResponse {
  readonly state: Record<string, never>;
}

/** The record's click, or null (logged) when it has no sequence number or its image is missing or malformed. */
function parseRecord(record: DynamoDBRecord): StreamedClick | null {
  const sequenceNumber = record.dynamodb?.SequenceNumber;
  try {
    if (sequenceNumber === undefined) throw new Error('the record has no SequenceNumber');
    const image = record.dynamodb?.NewImage;
    if (image === undefined) throw new Error('the record has no NewImage (is the stream NEW_IMAGE?)');
    return { click: rawClickFromStreamImage(image), sequenceNumber };
  } catch (error) {
    logger.error('malformed raw click in stream', { sequenceNumber, reason: (error as Error).message });
    return null;
  }
}

/**
 * The quarter-hour items this environment last wrote, by target and slot. A shard's items have one
 * writer and its batches usually reach the same environment, so the next batch finds its items here
 * and skips the read. One that is stale (another environment wrote since) costs a read: the
 * conditional put compares with the stored watermark and fails.
 */
const writtenItems = new BoundedCache<QuarterHourItem>(WRITTEN_ITEMS_KEPT);

/**
 * Applies the group to this writer's quarter-hour item; resolves with the sequence numbers the
 * item had already applied (a retried batch), which were left alone.
 */
async function applyToItem(tableName: string, group: QuarterHourGroup, writer: string): Promise<Set<string>> {
  const key = `${group.target}\n${quarterHourSlot(group.quarter, writer)}`;
  let known = writtenItems.peek(key);
  for (let attempt = 1; ; attempt++) {
    const existing = known ?? (await readQuarterHourItem(tableName, group.target, group.quarter, writer));
    const alreadyApplied = new Set(
      existing === null
        ? []
        : group.clicks
            .filter(({ sequenceNumber }) => compareSequenceNumbers(sequenceNumber, existing.watermark) <= 0)
            .map(({ sequenceNumber }) => sequenceNumber),
    );
    const next = applyGroup(existing, group, writer);
    if (next === null) return alreadyApplied;
    // Only over what was read: another invocation that wrote meanwhile makes this one start over.
    const stored = await putQuarterHourItemOver(tableName, next, existing).catch((error: unknown) => {
      // The put may have landed or not.
      writtenItems.delete(key);
      throw error;
    });
    if (stored !== null) {
      // As stored (its breakdowns bounded), so the next batch starts from what a read would give.
      writtenItems.set(key, stored);
      return alreadyApplied;
    }
    writtenItems.delete(key);
    if (known !== undefined) {
      // What this environment wrote last is not the stored item any more: read it, without spending an attempt.
      known = undefined;
      attempt -= 1;
      continue;
    }
    if (attempt === MAX_PUT_ATTEMPTS) throw new Error(`the quarter-hour item changed during each of ${MAX_PUT_ATTEMPTS} attempts`);
    logger.warn('quarter-hour item changed while applying; reading it again', { target: group.target, quarter: group.quarter, writer, attempt });
  }
}

interface GroupOutcomes {
  readonly failed: Set<QuarterHourGroup>;
  /** Of the failed, those DynamoDB refused for size. */
  readonly tooLarge: number;
  /** Sequence numbers some item applied now (the others were in their items already, or failed). */
  readonly newlyApplied: Set<string>;
}

async function applyGroups(config: AggregateConfig, groups: readonly QuarterHourGroup[], writer: string): Promise<GroupOutcomes> {
  const failed = new Set<QuarterHourGroup>();
  const newlyApplied = new Set<string>();
  let tooLarge = 0;
  const outcomes = await settleWithLimit(groups, CONCURRENT_WRITES, (group) => applyToItem(config.quarterHourTableName, group, writer));
  outcomes.forEach((outcome, index) => {
    const group = groups[index];
    if (outcome.status === 'fulfilled') {
      for (const { sequenceNumber } of group.clicks) if (!outcome.value.has(sequenceNumber)) newlyApplied.add(sequenceNumber);
      return;
    }
    // Its records fail, are retried and end in the stream failure queue, from where they can be replayed.
    const refusedForSize = isItemTooLarge(outcome.reason);
    if (refusedForSize) tooLarge += 1;
    logger.error('quarter-hour item update failed', {
      target: group.target,
      quarter: group.quarter,
      refusedForSize,
      error: (outcome.reason as Error).message,
    });
    failed.add(group);
  });
  return { failed, tooLarge, newlyApplied };
}

/** The groups of each touched (target, reporting day), by pending marker. */
function groupsByMarker(config: AggregateConfig, groups: readonly QuarterHourGroup[]): Map<string, { pending: PendingRollup; groups: QuarterHourGroup[] }> {
  const byMarker = new Map<string, { pending: PendingRollup; groups: QuarterHourGroup[] }>();
  for (const group of groups) {
    for (const pending of daysTouched([group], config.reportingTimeZone)) {
      const marker = pendingMarker(pending);
      const entry = byMarker.get(marker) ?? { pending, groups: [] };
      entry.groups.push(group);
      byMarker.set(marker, entry);
    }
  }
  return byMarker;
}

/**
 * Marks the days of the groups whose marker, as a consistent read finds it, `needsMark`; when the
 * read fails, every day (a mark too many is harmless). Resolves with the groups whose day could not be marked.
 */
async function markDaysWhere(
  config: AggregateConfig,
  groups: readonly QuarterHourGroup[],
  needsMark: (state: MarkerState | undefined) => boolean,
): Promise<QuarterHourGroup[]> {
  const byMarker = groupsByMarker(config, groups);
  let states: Map<string, MarkerState> | null;
  try {
    states = await readPendingMarkers(config.pendingRollupsTableName, [...byMarker.values()].map(({ pending }) => pending));
  } catch (error) {
    logger.warn('pending markers could not be read; marking every day', { error: (error as Error).message });
    states = null;
  }
  const toMark = [...byMarker].filter(([marker]) => states === null || needsMark(states.get(marker))).map(([, { pending }]) => pending);
  const failures = await markPendingDays(config.pendingRollupsTableName, toMark, new Date());
  return failures.flatMap(({ pendings, error }) => {
    logger.error('pending rollup marks failed', { days: pendings.length, first: pendings[0], error: (error as Error).message });
    return pendings.flatMap((pending) => byMarker.get(pendingMarker(pending))?.groups ?? []);
  });
}

/**
 * The aggregation lag of a batch (docs/statistics.md, Aggregation lag): from its oldest click that
 * counted (the click's own time, to the millisecond) to `doneMs`, when every write for it was done;
 * null when none counted. Not the stream record's creation time: DynamoDB gives that to the second,
 * and DynamoDB Local only to the minute.
 */
function aggregationLagMs(counted: readonly StreamedClick[], doneMs: number): number | null {
  if (counted.length === 0) return null;
  const oldestMs = counted.reduce((oldest, { click }) => Math.min(oldest, Date.parse(click.ts)), Infinity);
  return Math.max(doneMs - oldestMs, 0);
}

export async function handler(event: TumblingWindowStreamEvent, context?: Context): Promise<TumblingWindowResponse> {
  observeInvocation(context, logger, metrics);
  const config = aggregateConfig();
  const writer = event.shardId;
  if (writer === undefined || writer === '') {
    // Without a shard id two shards would share items and overwrite each other: fail loudly instead.
    throw new ConfigError('The stream event has no shardId: the event source mapping needs a tumbling window.');
  }

  const streamed: StreamedClick[] = [];
  let malformed = 0;
  for (const record of event.Records) {
    // The event source mapping filters on INSERT; anything else is not a new click.
    if (record.eventName !== 'INSERT') continue;
    const click = parseRecord(record);
    // A malformed image never parses on a retry either, and reporting it would make Lambda
    // re-deliver every record after it for nothing: it is logged (in parseRecord), counted and
    // skipped. The raw clicks table still holds the item for whoever investigates.
    if (click !== null) streamed.push(click);
    else malformed += 1;
  }

  const groups = groupByTargetQuarter(streamed);
  // Before the writes, the days without a marker: a day is pending whenever one of its quarter-hour
  // items may hold clicks its daily item lacks (the stats API answers pending days from quarter-hour items).
  const unmarked = new Set(await markDaysWhere(config, groups, (state) => state === undefined));
  const { failed, tooLarge, newlyApplied } = await applyGroups(config, groups.filter((group) => !unmarked.has(group)), writer);
  for (const group of unmarked) failed.add(group);
  // After them, the days whose marker a rollup has claimed (it may have read the day before these
  // writes: the mark makes its delete fail) or deleted. An unclaimed marker needs nothing: its
  // rollup claims it first, then reads the day, after these writes. Also for groups with nothing new:
  // the retry of a batch that crashed before this step must still mark them.
  const notMarkedAgain = await markDaysWhere(config, groups.filter((group) => !failed.has(group)), (state) => state !== 'unclaimed');
  for (const group of notMarkedAgain) failed.add(group);
  const failedSequenceNumbers = new Set([...failed].flatMap((group) => group.clicks.map(({ sequenceNumber }) => sequenceNumber)));
  const succeeded = streamed.filter(({ sequenceNumber }) => !failedSequenceNumbers.has(sequenceNumber));
  // A click counts for two items (link and owner): it is new when either had not applied it yet.
  const aggregated = succeeded.filter(({ sequenceNumber }) => newlyApplied.has(sequenceNumber)).length;
  const lagMs = aggregationLagMs(succeeded, Date.now());

  metrics.addMetric('ClicksAggregated', MetricUnit.Count, aggregated);
  metrics.addMetric('SkippedAlreadyApplied', MetricUnit.Count, succeeded.length - aggregated);
  metrics.addMetric('AggregationFailures', MetricUnit.Count, failedSequenceNumbers.size);
  metrics.addMetric('MalformedStreamRecords', MetricUnit.Count, malformed);
  metrics.addMetric(METRIC.itemsTooLarge, MetricUnit.Count, tooLarge);
  if (lagMs !== null) metrics.addMetric(METRIC.aggregationLag, MetricUnit.Milliseconds, lagMs);
  metrics.publishStoredMetrics();
  return { state: {}, batchItemFailures: [...failedSequenceNumbers].map((itemIdentifier) => ({ itemIdentifier })) };
}
