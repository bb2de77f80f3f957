/**
 * EventBridge, every 4 minutes: for every (target, day) the aggregator marked pending whose day is
 * over, claims the marker, recomputes the day's daily and monthly items, then deletes the marker unless
 * it was marked again meanwhile (docs/statistics.md, Exactly once). A day not over yet keeps its
 * marker: the Stats API answers it from quarter-hour items, and it is rolled up once, after it ends.
 *
 * Recomputing from the finer level instead of adding deltas makes a run repeatable: a repeated
 * run or two runs at once write the same items, and the `events` guard keeps a slower run from
 * overwriting a newer result with an older one.
 *
 * In edge mode it also records each link's latest click day in the links table, which decides which
 * links a full edge store lets go (docs/edge.md): one write per link and day while the environment lives.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { codeOfTarget } from '../domain/aggregate-state';
import { BoundedCache } from '../domain/bounded-cache';
import { monthOfDay } from '../domain/buckets';
import { dueSinceMs, isDayOver, quarterRangeOfDay, rollupDay, rollupMonth } from '../domain/rollup';
import { isItemTooLarge } from '../shared/clients/dynamodb';
import { settleWithLimit } from '../shared/concurrency';
import { observeInvocation } from '../shared/observability';
import { rollupConfig, type RollupConfig } from '../shared/config';
import { putDailyItemUnlessNewer, putMonthlyItemUnlessNewer, queryDailyItemsOfMonth } from '../tables/period-aggregates';
import { claimPendingMarker, deletePendingMarkerIfUnchanged, listPendingMarkers, parsePendingMarker, type PendingMarker } from '../tables/pending-rollups';
import { recordLinkClickDay } from '../tables/links';
import { queryQuarterHourItems } from '../tables/quarter-hour';
import { METRIC, METRICS_NAMESPACE } from '../contract';

const logger = new Logger({ serviceName: 'rollup' });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'rollup' });

const CONCURRENT_ROLLUPS = 8;
/** No marker is started with less time left: one rollup is a few requests, far below this. */
const STOP_BEFORE_TIMEOUT_MS = 15_000;

/**
 * The (code, day) pairs this environment has recorded: a link clicked today is listed by every run, and
 * a refused conditional write costs a unit as a made one does. Bounded: a cold start writes them again.
 */
const recordedClickDays = new BoundedCache<true>(20_000);

/** Edge mode: the link's latest click day, which decides what a full edge store lets go (docs/edge.md). */
async function recordClickDay(config: RollupConfig, target: string, day: string): Promise<void> {
  const code = codeOfTarget(target);
  if (config.linksTableName === undefined || code === null) return;
  const key = `${code}\n${day}`;
  if (recordedClickDays.has(key)) return;
  await recordLinkClickDay(config.linksTableName, code, day);
  recordedClickDays.set(key, true);
}

async function rollUp(config: RollupConfig, pending: PendingMarker, runTime: Date): Promise<Outcome> {
  const { target, day } = parsePendingMarker(pending.marker);
  const tz = config.reportingTimeZone;
  // Whether or not the day is over; before the marker can go, so a failed write leaves the day pending.
  await recordClickDay(config, target, day);
  if (!isDayOver(day, tz, runTime.getTime())) return 'day not over';
  const now = new Date();
  // Before reading the day: an aggregator that writes after this finds the claim and marks the day
  // again. Refused when it was marked again since listed: the next run starts from that mark.
  if (!(await claimPendingMarker(config.pendingRollupsTableName, pending, now))) return 'marked again';
  const { firstQuarter, lastQuarter } = quarterRangeOfDay(day, tz);
  // Consistent reads: the aggregator and this run's daily write happened just before.
  const quarterItems = await queryQuarterHourItems(config.quarterHourTableName, target, firstQuarter, lastQuarter, { consistentRead: true });
  // Not written when a concurrent run already wrote a newer result: it stands.
  await putDailyItemUnlessNewer(config.dailyTableName, rollupDay(target, day, tz, quarterItems, now));

  const month = monthOfDay(day);
  const dailyItems = await queryDailyItemsOfMonth(config.dailyTableName, target, month, { consistentRead: true });
  await putMonthlyItemUnlessNewer(config.monthlyTableName, rollupMonth(target, month, tz, dailyItems, now));
  // Kept when marked again while this run read the day: the next run rolls the newer clicks up.
  await deletePendingMarkerIfUnchanged(config.pendingRollupsTableName, pending);
  return 'applied';
}

/**
 * Seconds the longest-waiting marker of a day that is over has waited since it became due (dueSinceMs);
 * 0 when there is none or none is readable. Days not over are not waiting: they are not rolled up yet.
 */
function oldestDueSeconds(markers: readonly PendingMarker[], tz: string, runTimeMs: number): number {
  const dues = markers.flatMap(({ marker, markedAtMs }) => {
    if (markedAtMs === null) return [];
    let day: string;
    try {
      day = parsePendingMarker(marker).day;
    } catch {
      return [];
    }
    return isDayOver(day, tz, runTimeMs) ? [dueSinceMs(day, tz, markedAtMs)] : [];
  });
  return dues.length === 0 ? 0 : Math.max(0, Math.round((runTimeMs - Math.min(...dues)) / 1000));
}

/**
 * The run's time: the Scheduled Event's `time` (when EventBridge scheduled it; a late delivery only
 * finds fewer days over), else now (an invocation by hand).
 */
function runTimeOf(event: unknown): Date {
  const time = typeof event === 'object' && event !== null ? (event as { readonly time?: unknown }).time : undefined;
  const ms = typeof time === 'string' ? Date.parse(time) : Number.NaN;
  return Number.isFinite(ms) ? new Date(ms) : new Date();
}

/**
 * Deferred: left for the next run, out of time. Marked again: since it was listed, so the next run rolls
 * it up. Day not over: left pending until it is.
 */
type Outcome = 'applied' | 'deferred' | 'marked again' | 'day not over';

export async function handler(event: unknown, context?: Context): Promise<void> {
  observeInvocation(context, logger, metrics);
  const config = rollupConfig();
  const runTime = runTimeOf(event);
  const markers = await listPendingMarkers(config.pendingRollupsTableName);
  metrics.addMetric('PendingRollups', MetricUnit.Count, markers.length);
  metrics.addMetric(METRIC.oldestPendingRollupSeconds, MetricUnit.Seconds, oldestDueSeconds(markers, config.reportingTimeZone, runTime.getTime()));

  const outOfTime = (): boolean => context !== undefined && context.getRemainingTimeInMillis() < STOP_BEFORE_TIMEOUT_MS;
  const outcomes = await settleWithLimit(markers, CONCURRENT_ROLLUPS, async (pending): Promise<Outcome> => {
    // Left for the next run, which starts within 4 minutes.
    if (outOfTime()) return 'deferred';
    return rollUp(config, pending, runTime);
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
  const counted = (value: Outcome): number => outcomes.filter((outcome) => outcome.status === 'fulfilled' && outcome.value === value).length;
  const deferred = counted('deferred');
  if (deferred > 0) logger.warn('out of time: pending rollups left for the next run', { deferred });
  metrics.addMetric('RollupsApplied', MetricUnit.Count, counted('applied'));
  metrics.addMetric('RollupsWaitingForDayEnd', MetricUnit.Count, counted('day not over'));
  metrics.addMetric('RollupsFailed', MetricUnit.Count, failed);
  metrics.addMetric(METRIC.itemsTooLarge, MetricUnit.Count, tooLarge);
  metrics.publishStoredMetrics();
  // After doing all it could: the errors alarm must see that some day is not rolled up.
  if (failed > 0) throw new Error(`${failed} of ${markers.length} pending rollups failed`);
}
