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
 *   GET    /api/links/{code}/export    raw clicks or per-bucket counts of a link, CSV or NDJSON, a page at a time
 *   GET    /api/export                 the same over all the caller's links
 *   GET    /api/openapi.json           the OpenAPI 3.1 document of these routes (api/openapi.ts)
 * HEAD works wherever GET does: the same status and headers, no body.
 * Statistics come from the aggregate level the query needs (docs/statistics.md, Stats API).
 * Every route needs `Authorization: Bearer <key>`: an owner's key (npm run keys) or the admin key; a
 * share token reads its one link and that link's statistics, nothing else (api/shares.ts).
 * Client mistakes are 4xx, never 5xx.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { parseShortCode } from '../domain/short-code';
import { apiConfig } from '../shared/config';
import { bearerToken, problem, withoutBodyFor, type HttpResult } from '../shared/http';
import { observeInvocation } from '../shared/observability';
import { identifyCaller, rateLimited } from './api/caller';
import { exportLink, exportOwner } from './api/export';
import { changeLink, createLink, listLinks, ownedLink, readLink, removeLink, unknownLink, type LinksContext } from './api/links';
import { openApiResponse } from './api/openapi';
import { createShare, listShares, revokeShare, SHARE_READABLE_ROUTES, shareScopeRefusal } from './api/shares';
import { linkStatsRoute, recentClicks, statsRoute } from './api/stats';

const logger = new Logger({ serviceName: 'api' });

/** The routes the document in api/openapi.ts describes, one entry per name. */
export type Route =
  | { readonly name: 'openapi' }
  | { readonly name: 'links' }
  | { readonly name: 'link'; readonly code: string }
  | { readonly name: 'link-stats'; readonly code: string }
  | { readonly name: 'link-shares'; readonly code: string }
  | { readonly name: 'link-share'; readonly code: string; readonly shareId: string }
  | { readonly name: 'owner-stats' }
  | { readonly name: 'link-export'; readonly code: string }
  | { readonly name: 'owner-export' };

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

interface RouteMatch {
  readonly methods: readonly Method[];
  readonly route: Route;
}

export function matchRoute(path: string): RouteMatch | null {
  const segments = path.split('/');
  if (segments.length === 1 && segments[0] === 'openapi.json') return { methods: ['GET'], route: { name: 'openapi' } };
  if (segments.length === 1 && segments[0] === 'links') return { methods: ['GET', 'POST'], route: { name: 'links' } };
  if (segments.length === 1 && segments[0] === 'stats') return { methods: ['GET'], route: { name: 'owner-stats' } };
  if (segments.length === 1 && segments[0] === 'export') return { methods: ['GET'], route: { name: 'owner-export' } };
  if (segments.length === 2 && segments[0] === 'links') {
    return { methods: ['GET', 'PATCH', 'DELETE'], route: { name: 'link', code: segments[1] } };
  }
  if (segments.length === 3 && segments[0] === 'links' && segments[2] === 'stats') {
    return { methods: ['GET'], route: { name: 'link-stats', code: segments[1] } };
  }
  if (segments.length === 3 && segments[0] === 'links' && segments[2] === 'export') {
    return { methods: ['GET'], route: { name: 'link-export', code: segments[1] } };
  }
  if (segments.length === 3 && segments[0] === 'links' && segments[2] === 'shares') {
    return { methods: ['GET', 'POST'], route: { name: 'link-shares', code: segments[1] } };
  }
  if (segments.length === 4 && segments[0] === 'links' && segments[2] === 'shares') {
    return { methods: ['DELETE'], route: { name: 'link-share', code: segments[1], shareId: segments[3] } };
  }
  return null;
}

type ShareReadableRoute = Extract<Route, { readonly name: (typeof SHARE_READABLE_ROUTES)[number] }>;
const isShareReadable = (route: Route): route is ShareReadableRoute => (SHARE_READABLE_ROUTES as readonly string[]).includes(route.name);

/** The code of the link a request reads (GET or HEAD of the link or of its statistics): all a share token may do. */
function linkRead(match: RouteMatch | null, method: string): string | null {
  if (match === null || method !== 'GET' || !isShareReadable(match.route)) return null;
  return match.route.code;
}

/** HEAD is answered by the GET route (the body is dropped in `handler`), so it is allowed wherever GET is. */
const routedMethod = (method: string): string => (method === 'HEAD' ? 'GET' : method);
export const allowedMethods = (methods: readonly Method[]): string => methods.flatMap((method) => (method === 'GET' ? ['GET', 'HEAD'] : [method])).join(', ');

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
  if (route.name === 'openapi') return openApiResponse();
  if (route.name === 'links') return method === 'POST' ? createLink(event, context) : listLinks(event, context);
  if (route.name === 'owner-stats') return statsRoute(event, config, { owner: caller.owner });
  if (route.name === 'owner-export') return exportOwner(event, context);
  const code = parseShortCode(route.code);
  if (code === null) return unknownLink();
  if (route.name === 'link-stats') return linkStatsRoute(event, context, code);
  if (route.name === 'link-export') {
    const link = await ownedLink(context, code);
    return link === null ? unknownLink() : exportLink(event, context, link);
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
