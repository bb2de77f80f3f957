/**
 * The statistics routes, `GET /api/links/{code}/stats` and `GET /api/stats`, and the one way statistics
 * are answered (the levels each day needs, then the response), which the links list's recent clicks
 * and the exports' bucket rows use too, so all three count alike.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { linkTarget, ownerTarget } from '../../domain/aggregate-state';
import { dayBounds, localDayOf } from '../../domain/buckets';
import { buildStats, parseStatsQuery, planStats, type StatsPlan, type StatsQuery, type StatsResponse, type StatsSubject } from '../../domain/stats';
import type { ApiConfig } from '../../shared/config';
import { getOrCreate } from '../../shared/get-or-create';
import { json, problem, type HttpResult } from '../../shared/http';
import { CachedLinkLookup } from '../../shared/link-cache';
import { getLink, type LinkRecord } from '../../tables/links';
import { readStats } from '../../tables/stats-reads';
import { ownedLink, RECENT_CLICKS_DAYS, unknownLink, type LinksContext } from './links';

/**
 * A link's owner never changes, so the statistics routes check it through a cache: a dashboard's
 * queries then cost no GetItem each. A link deleted meanwhile shows its statistics to its own owner
 * (never to a share token) for at most this long.
 */
const STATS_LINK_CACHE_SECONDS = 60;
const statsLinkLookups = new Map<string, CachedLinkLookup<LinkRecord>>();
const statsLinkLookup = (config: ApiConfig): CachedLinkLookup<LinkRecord> =>
  getOrCreate(statsLinkLookups, config.linksTableName, () => new CachedLinkLookup((code) => getLink(config.linksTableName, code), STATS_LINK_CACHE_SECONDS));

/** The statistics of the subject for a planned query: its reads (the level of each day, as of now), then the response. */
export async function statsOf(config: ApiConfig, subject: StatsSubject, query: StatsQuery, plan: StatsPlan, now: Date): Promise<StatsResponse> {
  const target = 'link' in subject ? linkTarget(subject.link) : ownerTarget(subject.owner);
  const { sources, items } = await readStats(config, target, plan, config.reportingTimeZone, now);
  return buildStats(subject, query, sources, items);
}

/** GET /api/stats, or GET /api/links/{code}/stats once the link is known to be the caller's. */
export async function statsRoute(event: APIGatewayProxyEventV2, config: ApiConfig, subject: StatsSubject): Promise<HttpResult> {
  const now = new Date();
  const parsed = parseStatsQuery(event.queryStringParameters ?? {}, now);
  if (!parsed.ok) return problem(400, 'invalid_request', parsed.error);
  const planned = planStats(parsed.query, config.reportingTimeZone, now);
  if (!planned.ok) return problem(400, 'invalid_request', planned.error);
  return json(200, await statsOf(config, subject, parsed.query, planned.plan, now), { 'cache-control': 'private, no-store' });
}

/** GET /api/links/{code}/stats: another owner's code answers as an unknown one. */
export async function linkStatsRoute(event: APIGatewayProxyEventV2, context: LinksContext, code: string): Promise<HttpResult> {
  const { config, caller } = context;
  // A share token reads the table itself: deleting a link must cut its viewers off at once.
  const owned = caller.sharedLink === null ? await ownedLink(context, code, (wanted) => statsLinkLookup(config).get(wanted)) : await ownedLink(context, code);
  return owned === null ? unknownLink() : statsRoute(event, config, { link: code });
}

/**
 * Human clicks of the link over the last RECENT_CLICKS_DAYS days (today and the days before it in the
 * reporting zone), as the stats route counts them: closed days read a daily item each, not 96 quarters.
 */
export async function recentClicks(config: ApiConfig, code: string, now: Date): Promise<number> {
  const today = localDayOf(now.getTime(), config.reportingTimeZone);
  const firstDay = new Date(Date.parse(`${today}T00:00:00Z`) - (RECENT_CLICKS_DAYS - 1) * 86_400_000).toISOString().slice(0, 10);
  const from = new Date(dayBounds(firstDay, config.reportingTimeZone).startMs);
  const query: StatsQuery = { from, to: now, granularity: 'day', tz: config.reportingTimeZone, top: null, includeBots: false, compare: null };
  const planned = planStats(query, config.reportingTimeZone, now);
  if (!planned.ok) throw new Error(`the recent-clicks query was refused: ${planned.error}`);
  return (await statsOf(config, { link: code }, query, planned.plan, now)).totals.clicks;
}
