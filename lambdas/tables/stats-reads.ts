/**
 * The reads of one stats query (docs/statistics.md, Stats API): the target's pending days first (one
 * Query, for daily and monthly plans within the quarter-hour retention), then one Query per level
 * that answers some day, concurrently. At most 3 Queries for a day series, 1 for anything served from
 * the quarter-hour level, and 3 for a month series unless a month holds two unfinished days or its
 * item cannot leave its unfinished day out: then a 4th reads that month's daily items.
 * compare=previous adds none (the plan spans both periods).
 */
import type { PeriodItem } from '../domain/rollup';
import type { StatsItems, StatsPlan } from '../domain/stats';
import { pendingDaysToRead, readsOf, settleTrimmedMonths, sourcesOf, type DayRange, type StatsSources } from '../domain/stats-sources';
import { queryDailyItems, queryMonthlyItems } from './period-aggregates';
import { queryPendingDays } from './pending-rollups';
import { queryQuarterHourStates } from './quarter-hour';

export interface StatsTableNames {
  readonly quarterHourTableName: string;
  readonly dailyTableName: string;
  readonly monthlyTableName: string;
  readonly pendingRollupsTableName: string;
}

/** The level of each day of the plan and the items of those levels, for the target. */
export async function readStats(
  tables: StatsTableNames,
  target: string,
  plan: StatsPlan,
  reportingTz: string,
  now: Date,
): Promise<{ sources: StatsSources; items: StatsItems }> {
  const window = pendingDaysToRead(plan, reportingTz, now);
  // Before the levels, never beside them: the rollup deletes a marker only after writing the day's
  // daily and monthly items, so a day found finished here has them in place for the reads below.
  const pendingDays = window === null ? [] : await queryPendingDays(tables.pendingRollupsTableName, target, window.firstDay, window.lastDay);
  const sources = sourcesOf(plan, pendingDays, reportingTz, now);
  const { quarterHour, daily, monthly } = readsOf(sources);
  const readDaily = (range: DayRange): Promise<PeriodItem[]> => queryDailyItems(tables.dailyTableName, target, range.firstDay, range.lastDay);
  const [quarterHourItems, dailyItems, monthlyItems] = await Promise.all([
    quarterHour === null ? [] : queryQuarterHourStates(tables.quarterHourTableName, target, quarterHour.firstQuarter, quarterHour.lastQuarter),
    daily === null ? [] : readDaily(daily),
    monthly === null ? [] : queryMonthlyItems(tables.monthlyTableName, target, monthly.firstMonth, monthly.lastMonth),
  ]);
  const settled = settleTrimmedMonths(sources, monthlyItems);
  // Months whose items could not leave their unfinished day out: their daily items, not read above.
  const lateDaily = daily === null ? readsOf(settled.sources).daily : null;
  return {
    sources: settled.sources,
    items: { quarterHour: quarterHourItems, daily: lateDaily === null ? dailyItems : await readDaily(lateDaily), monthly: settled.monthly },
  };
}
