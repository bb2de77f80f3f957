/**
 * The stats route end to end in the domain, over aggregate levels built as the aggregator and the
 * rollup build them: clicks into quarter-hour items, rolled-up days into daily and monthly items,
 * pending days with the stale daily item a rollup left before the day's last click. The reads are
 * what lambdas/tables/stats-reads.ts asks the tables for: the pending days in the window, then each
 * level's range.
 */
import { createHash } from 'node:crypto';
import { linkTarget, ownerTarget } from '../../../lambdas/domain/aggregate-state';
import { localDayOf, monthOfDay } from '../../../lambdas/domain/buckets';
import { linkShardOf, type RawClick } from '../../../lambdas/domain/click';
import { applyGroup, groupByTargetQuarter, type QuarterHourItem } from '../../../lambdas/domain/quarter-hour';
import { rollupDay, rollupMonth, type PeriodItem } from '../../../lambdas/domain/rollup';
import {
  buildStats,
  parseStatsQuery,
  planStats,
  type StatsItems,
  type StatsPlan,
  type StatsQuery,
  type StatsResponse,
  type StatsSubject,
} from '../../../lambdas/domain/stats';
import { pendingDaysToRead, readsOf, settleTrimmedMonths, sourcesOf, type DayRange, type StatsSources } from '../../../lambdas/domain/stats-sources';

export const NOW = new Date('2026-11-26T05:40:07.123Z');
export const CODE = 'abc123';
export const OWNER = 'alice';

export type Params = Record<string, string | undefined>;

export function parsed(params: Params, now = NOW): StatsQuery {
  const result = parseStatsQuery(params, now);
  if (!result.ok) throw new Error(`expected a valid query, got: ${result.error}`);
  return result.query;
}

export function planOf(params: Params, reportingTz: string, now = NOW): StatsPlan {
  const result = planStats(parsed(params, now), reportingTz, now);
  if (!result.ok) throw new Error(`expected a plan, got: ${result.error}`);
  return result.plan;
}

export interface ClickSpec {
  at: string;
  /** Name of the person; every click without one is a different person. */
  visitor?: string;
  bot?: boolean;
  referrer?: string;
  country?: string;
}

const hex = (text: string): string => createHash('sha256').update(text).digest('hex');

function rawClick(spec: ClickSpec, index: number): RawClick {
  const digest = hex(`${index} ${spec.at}`);
  const eventId = `${digest.slice(0, 8)}-${digest.slice(8, 12)}-${digest.slice(12, 16)}-${digest.slice(16, 20)}-${digest.slice(20, 32)}`;
  const ts = new Date(spec.at).toISOString();
  return {
    linkShard: linkShardOf(CODE, eventId),
    code: CODE,
    owner: OWNER,
    clickKey: `${ts}#${eventId}`,
    eventId,
    ts,
    visitor: hex(spec.visitor ?? `visitor ${index}`),
    country: spec.country ?? 'SE',
    referrer: spec.referrer ?? '(direct)',
    device: 'desktop',
    browser: 'Firefox',
    os: 'Linux',
    bot: spec.bot ?? false,
    botReason: spec.bot === true ? 'user-agent' : null,
    expiresAt: 0,
  };
}

/**
 * The quarter-hour items the aggregator writes for these clicks, as one stream shard (writer), of one
 * target; `applied` leaves out the clicks it refuses (by their index, which also names them).
 */
export function quarterItems(
  clicks: readonly ClickSpec[],
  target: string,
  writer = 'shard-1',
  applied: (index: number) => boolean = () => true,
): QuarterHourItem[] {
  const streamed = clicks.flatMap((spec, index) => (applied(index) ? [{ click: rawClick(spec, index), sequenceNumber: String(index + 1) }] : []));
  return groupByTargetQuarter(streamed)
    .filter((group) => group.target === target)
    .map((group) => {
      const item = applyGroup(null, group, writer);
      if (item === null) throw new Error(`no item for ${group.quarter}`);
      return item;
    });
}

/** Every item of every level of one target. */
export interface Levels {
  readonly quarterHour: QuarterHourItem[];
  readonly daily: PeriodItem[];
  readonly monthly: PeriodItem[];
}

/**
 * The levels after the aggregator applied every click and the rollup ran (at `rolledUpAt`), except
 * that each pending day was rolled up before its last click arrived: its daily item, and its month's
 * monthly item, miss that click (or do not exist when it was the day's only one).
 */
export function levelsOf(
  clicks: readonly ClickSpec[],
  target: string,
  reportingTz: string,
  pendingDays: readonly string[] = [],
  rolledUpAt = NOW,
): Levels {
  const dayOf = (spec: ClickSpec): string => localDayOf(Date.parse(spec.at), reportingTz);
  const lastOfPendingDay = new Set(pendingDays.map((day) => clicks.map(dayOf).lastIndexOf(day)));
  const rolledUpQuarters = quarterItems(clicks, target, 'shard-1', (index) => !lastOfPendingDay.has(index));
  const days = [...new Set(clicks.map(dayOf))].sort();
  const daily = days.map((day) => rollupDay(target, day, reportingTz, rolledUpQuarters, rolledUpAt)).filter((item) => item.events > 0);
  const months = [...new Set(days.map(monthOfDay))];
  const monthly = months.map((month) => rollupMonth(target, month, reportingTz, daily, rolledUpAt)).filter((item) => item.events > 0);
  return { quarterHour: quarterItems(clicks, target), daily, monthly };
}

/** What the table reads of one stats query return from the levels (lambdas/tables/stats-reads.ts). */
export function readLevels(
  levels: Levels,
  plan: StatsPlan,
  pendingDays: readonly string[],
  reportingTz: string,
  now: Date,
): { sources: StatsSources; items: StatsItems } {
  const window = pendingDaysToRead(plan, reportingTz, now);
  const markersRead = window === null ? [] : pendingDays.filter((day) => day >= window.firstDay && day <= window.lastDay);
  const sources = sourcesOf(plan, markersRead, reportingTz, now);
  const { quarterHour, daily, monthly } = readsOf(sources);
  const within = (value: string, first: string, last: string): boolean => value >= first && value <= last;
  const dailyOf = (range: DayRange | null): PeriodItem[] =>
    range === null ? [] : levels.daily.filter((item) => within(item.period, range.firstDay, range.lastDay));
  const monthlyItems = monthly === null ? [] : levels.monthly.filter((item) => within(item.period, monthly.firstMonth, monthly.lastMonth));
  const settled = settleTrimmedMonths(sources, monthlyItems);
  return {
    sources: settled.sources,
    items: {
      quarterHour: quarterHour === null ? [] : levels.quarterHour.filter((item) => within(item.quarter, quarterHour.firstQuarter, quarterHour.lastQuarter)),
      daily: dailyOf(daily ?? readsOf(settled.sources).daily),
      monthly: settled.monthly,
    },
  };
}

export interface StatsOptions {
  reportingTz?: string;
  now?: Date;
  subject?: StatsSubject;
  /** Reporting days the rollup has not finished (see levelsOf). */
  pendingDays?: readonly string[];
  /** When the rollup last ran: monthly items hold the month without its latest day while that day is this one's. */
  rolledUpAt?: Date;
}

/** The stats route end to end in the domain: query, plan, reads of the levels, response. */
export function statsOf(params: Params, clicks: readonly ClickSpec[], options: StatsOptions = {}): StatsResponse {
  const { reportingTz = 'UTC', now = NOW, subject = { link: CODE }, pendingDays = [], rolledUpAt = NOW } = options;
  const query = parsed(params, now);
  const planned = planStats(query, reportingTz, now);
  if (!planned.ok) throw new Error(`expected a plan, got: ${planned.error}`);
  const target = 'link' in subject ? linkTarget(subject.link) : ownerTarget(subject.owner);
  const { sources, items } = readLevels(levelsOf(clicks, target, reportingTz, pendingDays, rolledUpAt), planned.plan, pendingDays, reportingTz, now);
  return buildStats(subject, query, sources, items);
}

export const clicksAt = (...times: string[]): ClickSpec[] => times.map((at) => ({ at }));
