/**
 * ANY /api/{proxy+}: the API.
 *   POST   /api/links                  create a short link
 *   GET    /api/links                  the caller's links, newest first (?limit, ?cursor)
 *   GET    /api/links/{code}           one link
 *   PATCH  /api/links/{code}           change its destination, or disable it
 *   DELETE /api/links/{code}           delete it (the code stays taken)
 *   GET    /api/links/{code}/stats     statistics of a link
 *   POST   /api/links/{code}/shares    make a read-only share link of its dashboard (the token is shown once)
 *   GET    /api/links/{code}/shares    its share links, newest first
 *   DELETE /api/links/{code}/shares/{id}  revoke one
 *   GET    /api/stats                  statistics of the caller's owner (all their links)
 * HEAD works wherever GET does: the same status and headers, no body.
 * Statistics come from the aggregate level the query needs (docs/statistics.md, Stats API).
 * Every route needs `Authorization: Bearer <key>`: an owner's key (npm run keys) or the admin key; a
 * share token reads its one link and that link's statistics, nothing else (api/shares.ts).
 * Client mistakes are 4xx, never 5xx.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { linkTarget, ownerTarget } from '../domain/aggregate-state';
import { dayBounds, localDayOf } from '../domain/buckets';
import { parseShortCode } from '../domain/short-code';
import { buildStats, parseStatsQuery, planStats, type StatsQuery, type StatsSubject } from '../domain/stats';
import { apiConfig, type ApiConfig } from '../shared/config';
import { bearerToken, json, problem, withoutBodyFor, type HttpResult } from '../shared/http';
import { observeInvocation } from '../shared/observability';
import { readStats } from '../tables/stats-reads';
import { identifyCaller, rateLimited } from './api/caller';
import { changeLink, createLink, listLinks, ownedLink, readLink, RECENT_CLICKS_DAYS, removeLink, unknownLink, type LinksContext } from './api/links';
import { createShare, listShares, revokeShare, shareScopeRefusal } from './api/shares';

const logger = new Logger({ serviceName: 'api' });

type Route =
  | { readonly name: 'links' }
  | { readonly name: 'link'; readonly code: string }
  | { readonly name: 'link-stats'; readonly code: string }
  | { readonly name: 'link-shares'; readonly code: string }
  | { readonly name: 'link-share'; readonly code: string; readonly shareId: string }
  | { readonly name: 'owner-stats' };

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

interface RouteMatch {
  readonly methods: readonly Method[];
  readonly route: Route;
}

function matchRoute(path: string): RouteMatch | null {
  const segments = path.split('/');
  if (segments.length === 1 && segments[0] === 'links') return { methods: ['GET', 'POST'], route: { name: 'links' } };
  if (segments.length === 1 && segments[0] === 'stats') return { methods: ['GET'], route: { name: 'owner-stats' } };
  if (segments.length === 2 && segments[0] === 'links') {
    return { methods: ['GET', 'PATCH', 'DELETE'], route: { name: 'link', code: segments[1] } };
  }
  if (segments.length === 3 && segments[0] === 'links' && segments[2] === 'stats') {
    return { methods: ['GET'], route: { name: 'link-stats', code: segments[1] } };
  }
  if (segments.length === 3 && segments[0] === 'links' && segments[2] === 'shares') {
    return { methods: ['GET', 'POST'], route: { name: 'link-shares', code: segments[1] } };
  }
  if (segments.length === 4 && segments[0] === 'links' && segments[2] === 'shares') {
    return { methods: ['DELETE'], route: { name: 'link-share', code: segments[1], shareId: segments[3] } };
  }
  return null;
}

/** The code of the link a request reads (GET or HEAD of the link or of its statistics): all a share token may do. */
function linkRead(match: RouteMatch | null, method: string): string | null {
  if (match === null || method !== 'GET') return null;
  return match.route.name === 'link' || match.route.name === 'link-stats' ? match.route.code : null;
}

/** HEAD is answered by the GET route (the body is dropped in `handler`), so it is allowed wherever GET is. */
const routedMethod = (method: string): string => (method === 'HEAD' ? 'GET' : method);
const allowedMethods = (methods: readonly Method[]): string => methods.flatMap((method) => (method === 'GET' ? ['GET', 'HEAD'] : [method])).join(', ');

async function stats(event: APIGatewayProxyEventV2, config: ApiConfig, subject: StatsSubject): Promise<HttpResult> {
  const now = new Date();
  const parsed = parseStatsQuery(event.queryStringParameters ?? {}, now);
  if (!parsed.ok) return problem(400, 'invalid_request', parsed.error);
  const planned = planStats(parsed.query, config.reportingTimeZone, now);
  if (!planned.ok) return problem(400, 'invalid_request', planned.error);

  const target = 'link' in subject ? linkTarget(subject.link) : ownerTarget(subject.owner);
  const { sources, items } = await readStats(config, target, planned.plan, config.reportingTimeZone, now);
  return json(200, buildStats(subject, parsed.query, sources, items), { 'cache-control': 'private, no-store' });
}

/**
 * Human clicks of the link over the last RECENT_CLICKS_DAYS days (today and the days before it in the
 * reporting zone), as the stats route counts them: closed days read a daily item each, not 96 quarters.
 */
async function recentClicks(config: ApiConfig, code: string, now: Date): Promise<number> {
  const today = localDayOf(now.getTime(), config.reportingTimeZone);
  const firstDay = new Date(Date.parse(`${today}T00:00:00Z`) - (RECENT_CLICKS_DAYS - 1) * 86_400_000).toISOString().slice(0, 10);
  const from = new Date(dayBounds(firstDay, config.reportingTimeZone).startMs);
  const query: StatsQuery = { from, to: now, granularity: 'day', tz: config.reportingTimeZone, top: null, includeBots: false, compare: null };
  const planned = planStats(query, config.reportingTimeZone, now);
  if (!planned.ok) throw new Error(`the recent-clicks query was refused: ${planned.error}`);
  const { sources, items } = await readStats(config, linkTarget(code), planned.plan, config.reportingTimeZone, now);
  return buildStats({ link: code }, query, sources, items).totals.clicks;
}

const unauthorized = (): HttpResult =>
  problem(401, 'unauthorized', 'A valid API key is required: send "Authorization: Bearer <key>".', { 'www-authenticate': 'Bearer' });

async function route(event: APIGatewayProxyEventV2): Promise<HttpResult> {
  const config = apiConfig();
  const token = bearerToken(event.headers?.authorization);
  // No key is looked up for a request that sends none.
  const caller = token === null ? null : await identifyCaller(token, config);
  if (caller === null) return unauthorized();
  const retryAfter = await rateLimited(caller, config, Date.now());
  if (retryAfter !== null) {
    return problem(429, 'too_many_requests', `This key made ${config.requestsPerMinutePerKey} requests this minute; try again in ${retryAfter} s.`, {
      'retry-after': String(retryAfter),
    });
  }

  const path = event.pathParameters?.proxy ?? event.rawPath.replace(/^\/api\/?/, '');
  const match = matchRoute(path);
  const method = routedMethod(event.requestContext.http.method);
  const scopeRefusal = shareScopeRefusal(caller, linkRead(match, method));
  if (scopeRefusal !== null) return scopeRefusal;
  if (match === null) return problem(404, 'not_found', 'No such API route.');
  if (!match.methods.some((allowed) => allowed === method)) {
    const allow = allowedMethods(match.methods);
    return problem(405, 'method_not_allowed', `Use ${allow} on this route.`, { allow });
  }
  const now = new Date();
  const context: LinksContext = { config, caller, logger, recentClicks: (code) => recentClicks(config, code, now) };
  return dispatch(event, context, match.route, method);
}

async function dispatch(event: APIGatewayProxyEventV2, context: LinksContext, route: Route, method: string): Promise<HttpResult> {
  const { config, caller } = context;
  if (route.name === 'links') return method === 'POST' ? createLink(event, context) : listLinks(event, context);
  if (route.name === 'owner-stats') return stats(event, config, { owner: caller.owner });
  const code = parseShortCode(route.code);
  if (code === null) return unknownLink();
  if (route.name === 'link-stats') {
    return (await ownedLink(context, code)) === null ? unknownLink() : stats(event, config, { link: code });
  }
  if (route.name === 'link-shares') return method === 'POST' ? createShare(event, context, code) : listShares(context, code);
  if (route.name === 'link-share') return revokeShare(context, code, route.shareId);
  switch (method) {
    case 'PATCH':
      return changeLink(event, context, code);
    case 'DELETE':
      return removeLink(context, code);
    default:
      return readLink(event, context, code);
  }
}

async function answer(event: APIGatewayProxyEventV2): Promise<HttpResult> {
  try {
    return await route(event);
  } catch (error) {
    logger.error('request failed', error as Error);
    return problem(500, 'internal_error', 'Something went wrong on our side.');
  }
}

export async function handler(event: APIGatewayProxyEventV2, context?: Context): Promise<APIGatewayProxyStructuredResultV2> {
  observeInvocation(context, logger);
  // Every answer, errors included: on AWS HEAD reaches this function through the ANY route.
  return withoutBodyFor(event.requestContext.http.method, await answer(event));
}
