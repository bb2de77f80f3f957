/**
 * EventBridge, every 4 minutes: recomputes the daily and monthly items of every (target, day)
 * the aggregator marked pending, then deletes the marker unless it was marked again meanwhile
 * (docs/statistics.md, Exactly once).
 *
 * Recomputing from the finer level instead of adding deltas makes a run repeatable: a repeated
 * run or two runs at once write the same items, and the `events` guard keeps a slower run from
 * overwriting a newer result with an older one.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DeleteCommand, paginateQuery, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { monthOfDay } from '../domain/buckets';
import { parseQuarterHourItem, slotRange } from '../domain/quarter-hour';
import {
  parseDailyItem,
  parsePendingMarker,
  PENDING_PARTITIONS,
  quarterRangeOfDay,
  rollupDay,
  rollupMonth,
  toDailyAttributes,
  toMonthlyAttributes,
  type PeriodItem,
} from '../domain/rollup';
import { queryTargetRange } from '../shared/aggregate-tables';
import { dynamoDocumentClient, isConditionalCheckFailed, isItemTooLarge } from '../shared/clients/dynamodb';
import { settleWithLimit } from '../shared/concurrency';
import { observeInvocation } from '../shared/observability';
import { rollupConfig, type RollupConfig } from '../shared/config';
import { METRIC, METRICS_NAMESPACE } from '../contract';

const logger = new Logger({ serviceName: 'rollup' });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'rollup' });

const CONCURRENT_ROLLUPS = 8;
/** No marker is started with less time left: one rollup is a few requests, far below this. */
const STOP_BEFORE_TIMEOUT_MS = 15_000;

interface PendingMarkerItem {
  readonly partition: string;
  readonly marker: string;
  /** Bumped by every mark: the marker is deleted only when it is still the version rolled up. */
  readonly version: unknown;
  /** ISO time of the latest mark: a day marked again is rolled up again, so it waits from then. */
  readonly markedAt: unknown;
}

async function pendingMarkers(tableName: string): Promise<PendingMarkerItem[]> {
  const markers: PendingMarkerItem[] = [];
  for (const partition of PENDING_PARTITIONS) {
    const pages = paginateQuery(
      { client: dynamoDocumentClient() },
      {
        TableName: tableName,
        KeyConditionExpression: '#partition = :partition',
        ExpressionAttributeNames: { '#partition': 'partition' },
        ExpressionAttributeValues: { ':partition': partition },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        markers.push({ partition, marker: String(item.marker), version: item.version, markedAt: item.markedAt });
      }
    }
  }
  return markers;
}

/** Writes a daily or monthly item unless the table holds one with more events (aggregates only grow). */
async function putIfNotOlder(tableName: string, attributes: Record<string, unknown>, events: number): Promise<void> {
  try {
    await dynamoDocumentClient().send(
      new PutCommand({
        TableName: tableName,
        Item: attributes,
        ConditionExpression: 'attribute_not_exists(#events) OR #events <= :events',
        ExpressionAttributeNames: { '#events': 'events' },
        ExpressionAttributeValues: { ':events': events },
      }),
    );
  } catch (error) {
    // A concurrent run already wrote a newer result: it stands.
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

async function rollUp(config: RollupConfig, pending: PendingMarkerItem): Promise<void> {
  const { target, day } = parsePendingMarker(pending.marker);
  const tz = config.reportingTimeZone;
  const now = new Date();
  const { firstQuarter, lastQuarter } = quarterRangeOfDay(day, tz);
  const slots = slotRange(firstQuarter, lastQuarter);
  // Consistent reads: the aggregator and this run's daily write happened just before.
  const quarterItems = await queryTargetRange(
    { tableName: config.quarterHourTableName, target, sortKey: 'slot', ...slots, consistentRead: true },
    parseQuarterHourItem,
  );
  const daily = rollupDay(target, day, tz, quarterItems, now);
  await putIfNotOlder(config.dailyTableName, toDailyAttributes(daily), daily.events);

  const month = monthOfDay(day);
  const dailyItems: PeriodItem[] = await queryTargetRange(
    { tableName: config.dailyTableName, target, sortKey: 'day', first: `${month}-01`, last: `${month}-31`, consistentRead: true },
    parseDailyItem,
  );
  const monthly = rollupMonth(target, month, tz, dailyItems, now);
  await putIfNotOlder(config.monthlyTableName, toMonthlyAttributes(monthly), monthly.events);

  try {
    await dynamoDocumentClient().send(
      new DeleteCommand({
        TableName: config.pendingRollupsTableName,
        Key: { partition: pending.partition, marker: pending.marker },
        ConditionExpression: '#version = :seen',
        ExpressionAttributeNames: { '#version': 'version' },
        ExpressionAttributeValues: { ':seen': pending.version },
      }),
    );
  } catch (error) {
    // Marked again while this run read the day: the next run rolls the newer clicks up.
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

/** Seconds the longest-waiting marker has waited since its latest mark; 0 when none is pending or readable. */
function oldestPendingSeconds(markers: readonly PendingMarkerItem[], nowMs: number): number {
  const marks = markers.map(({ markedAt }) => (typeof markedAt === 'string' ? Date.parse(markedAt) : Number.NaN)).filter(Number.isFinite);
  return marks.length === 0 ? 0 : Math.max(0, Math.round((nowMs - Math.min(...marks)) / 1000));
}

type Outcome = 'applied' | 'deferred';

export async function handler(_event: unknown, context?: Context): Promise<void> {
  observeInvocation(context, logger, metrics);
  const config = rollupConfig();
  const markers = await pendingMarkers(config.pendingRollupsTableName);
  metrics.addMetric('PendingRollups', MetricUnit.Count, markers.length);
  metrics.addMetric('OldestPendingRollupSeconds', MetricUnit.Seconds, oldestPendingSeconds(markers, Date.now()));

  const outOfTime = (): boolean => context !== undefined && context.getRemainingTimeInMillis() < STOP_BEFORE_TIMEOUT_MS;
  const outcomes = await settleWithLimit(markers, CONCURRENT_ROLLUPS, async (pending): Promise<Outcome> => {
    // Left for the next run, which starts within 4 minutes.
    if (outOfTime()) return 'deferred';
    await rollUp(config, pending);
    return 'applied';
  });

  let failed = 0;
  let tooLarge = 0;
  outcomes.forEach((outcome, index) => {
    if (outcome.status === 'fulfilled') return;
    failed += 1;
    const refusedForSize = isItemTooLarge(outcome.reason);
    if (refusedForSize) tooLarge += 1;
    logger.error('rollup failed; the marker stays for the next run', {
      marker: markers[index].marker,
      refusedForSize,
      error: (outcome.reason as Error).message,
    });
  });
  const applied = outcomes.filter((outcome) => outcome.status === 'fulfilled' && outcome.value === 'applied').length;
  const deferred = outcomes.length - applied - failed;
  if (deferred > 0) logger.warn('out of time: pending rollups left for the next run', { deferred });
  metrics.addMetric('RollupsApplied', MetricUnit.Count, applied);
  metrics.addMetric('RollupsFailed', MetricUnit.Count, failed);
  metrics.addMetric(METRIC.itemsTooLarge, MetricUnit.Count, tooLarge);
  metrics.publishStoredMetrics();
  // After doing all it could: the errors alarm must see that some day is not rolled up.
  if (failed > 0) throw new Error(`${failed} of ${markers.length} pending rollups failed`);
}
