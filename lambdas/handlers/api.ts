/**
 * ANY /api/{proxy+}: the admin API.
 *   POST /api/links                  create a short link
 *   GET  /api/links/{code}/stats     statistics of a link
 *   GET  /api/stats                  statistics of the caller's owner (all their links)
 * HEAD works wherever GET does: the same status and headers, no body.
 * Statistics come from the aggregate level the query needs (docs/statistics.md, Stats API).
 * Every route needs `Authorization: Bearer <admin key>`. Client mistakes are 4xx, never 5xx.
 */
import { randomBytes } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { linkTarget, ownerTarget } from '../domain/aggregate-state';
import { checkCustomCode, generateShortCode, parseShortCode } from '../domain/short-code';
import { buildStats, parseStatsQuery, planStats, type StatsSubject } from '../domain/stats';
import { validateTargetUrl } from '../domain/target-url';
import { secretsManagerClient } from '../shared/clients/secrets-manager';
import { apiConfig, type ApiConfig, type ApiKeySource } from '../shared/config';
import { getOrCreate } from '../shared/get-or-create';
import { bearerToken, json, problem, sameSecret, withoutBodyFor, type HttpResult } from '../shared/http';
import { observeInvocation } from '../shared/observability';
import { createLinkIfAbsent, findLink } from '../tables/links';
import { readStats } from '../tables/stats-reads';
import { ADMIN_OWNER } from '../contract';

const logger = new Logger({ serviceName: 'api' });

const MAX_BODY_BYTES = 8 * 1024;
const GENERATED_CODE_ATTEMPTS = 5;
/** A rotated key is picked up within this many seconds. */
const API_KEY_CACHE_SECONDS = 300;

const secretsProviders = new Map<SecretsManagerClient, SecretsProvider>();

async function adminKey(source: ApiKeySource): Promise<string> {
  if (source.kind === 'value') return source.value;
  const client = secretsManagerClient();
  const provider = getOrCreate(secretsProviders, client, () => new SecretsProvider({ awsSdkV3Client: client }));
  const secret = await provider.get(source.secretArn, { maxAge: API_KEY_CACHE_SECONDS });
  // The secret's value is the key itself, as plain text.
  if (typeof secret !== 'string' || secret.trim() === '') {
    throw new Error('the API key secret has no string value');
  }
  return secret.trim();
}

async function isAuthorised(event: APIGatewayProxyEventV2, config: ApiConfig): Promise<boolean> {
  const token = bearerToken(event.headers?.authorization);
  // No key is fetched for a request that sends none.
  if (token === null) return false;
  return sameSecret(token, await adminKey(config.apiKey));
}

type Route =
  | { readonly name: 'create-link' }
  | { readonly name: 'link-stats'; readonly code: string }
  | { readonly name: 'owner-stats' };

interface RouteMatch {
  readonly method: 'GET' | 'POST';
  readonly route: Route;
}

function matchRoute(path: string): RouteMatch | null {
  const segments = path.split('/');
  if (segments.length === 1 && segments[0] === 'links') return { method: 'POST', route: { name: 'create-link' } };
  if (segments.length === 1 && segments[0] === 'stats') return { method: 'GET', route: { name: 'owner-stats' } };
  if (segments.length === 3 && segments[0] === 'links' && segments[2] === 'stats') {
    return { method: 'GET', route: { name: 'link-stats', code: segments[1] } };
  }
  return null;
}

/** HEAD is answered by the GET route (the body is dropped in `handler`), so it is allowed wherever GET is. */
const routedMethod = (method: string): string => (method === 'HEAD' ? 'GET' : method);
const allowedMethods = (method: RouteMatch['method']): string => (method === 'GET' ? 'GET, HEAD' : method);

function forwardedHost(event: APIGatewayProxyEventV2): string | undefined {
  return event.headers?.['x-forwarded-host']?.split(',')[0]?.trim() || undefined;
}

type BodyResult = { readonly ok: true; readonly body: Readonly<Record<string, unknown>> } | { readonly ok: false; readonly result: HttpResult };

function readJsonObject(event: APIGatewayProxyEventV2): BodyResult {
  const raw = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
  if (raw.length > MAX_BODY_BYTES) {
    return { ok: false, result: problem(413, 'payload_too_large', `The request body must be at most ${MAX_BODY_BYTES} bytes.`) };
  }
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return { ok: false, result: problem(400, 'invalid_request', 'The request body must be valid JSON.') };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, result: problem(400, 'invalid_request', 'The request body must be a JSON object.') };
  }
  return { ok: true, body: body as Record<string, unknown> };
}

async function createLink(event: APIGatewayProxyEventV2, config: ApiConfig): Promise<HttpResult> {
  const parsed = readJsonObject(event);
  if (!parsed.ok) return parsed.result;
  const { url: requestedUrl, code: requestedCode } = parsed.body;

  const publicHost = config.publicBaseUrl === undefined ? undefined : new URL(config.publicBaseUrl).host;
  const shortenerHosts = [publicHost, forwardedHost(event), event.requestContext.domainName, ...config.shortLinkHosts].filter(
    (host): host is string => host !== undefined && host !== '',
  );
  const check = validateTargetUrl(requestedUrl, shortenerHosts, { allowPrivateAddresses: config.allowPrivateDestinations });
  if (!check.ok) return problem(400, 'invalid_request', check.error);

  let code: string;
  if (requestedCode !== undefined) {
    const codeCheck = checkCustomCode(requestedCode);
    if (!codeCheck.ok) return problem(400, 'invalid_request', codeCheck.error);
    if (!(await createLinkIfAbsent(config.linksTableName, { code: codeCheck.code, url: check.url, owner: ADMIN_OWNER }))) {
      return problem(409, 'conflict', `The code "${codeCheck.code}" is already taken.`);
    }
    code = codeCheck.code;
  } else {
    const generated = await createWithGeneratedCode(config.linksTableName, check.url);
    if (generated === null) {
      logger.error('no free generated code', { attempts: GENERATED_CODE_ATTEMPTS });
      return problem(503, 'service_unavailable', 'No free short code was found; try again.');
    }
    code = generated;
  }

  const base = config.publicBaseUrl ?? `https://${forwardedHost(event) ?? event.requestContext.domainName}`;
  return json(201, { code, url: check.url, shortUrl: `${base}/${code}` });
}

async function createWithGeneratedCode(tableName: string, url: string): Promise<string | null> {
  for (let attempt = 0; attempt < GENERATED_CODE_ATTEMPTS; attempt++) {
    const code = generateShortCode(randomBytes);
    if (await createLinkIfAbsent(tableName, { code, url, owner: ADMIN_OWNER })) return code;
  }
  return null;
}

async function stats(event: APIGatewayProxyEventV2, config: ApiConfig, subject: StatsSubject): Promise<HttpResult> {
  const now = new Date();
  const parsed = parseStatsQuery(event.queryStringParameters ?? {}, now);
  if (!parsed.ok) return problem(400, 'invalid_request', parsed.error);
  const planned = planStats(parsed.query, config.reportingTimeZone, now);
  if (!planned.ok) return problem(400, 'invalid_request', planned.error);
  if ('link' in subject && (await findLink(config.linksTableName, subject.link)) === null) return unknownLink();

  const target = 'link' in subject ? linkTarget(subject.link) : ownerTarget(subject.owner);
  const { sources, items } = await readStats(config, target, planned.plan, config.reportingTimeZone, now);
  return json(200, buildStats(subject, parsed.query, sources, items), { 'cache-control': 'private, no-store' });
}

const unknownLink = (): HttpResult => problem(404, 'not_found', 'No link has this code.');

async function route(event: APIGatewayProxyEventV2): Promise<HttpResult> {
  const config = apiConfig();
  if (!(await isAuthorised(event, config))) {
    return problem(401, 'unauthorized', 'A valid API key is required: send "Authorization: Bearer <key>".', {
      'www-authenticate': 'Bearer',
    });
  }
  const path = event.pathParameters?.proxy ?? event.rawPath.replace(/^\/api\/?/, '');
  const match = matchRoute(path);
  if (match === null) return problem(404, 'not_found', 'No such API route.');
  if (routedMethod(event.requestContext.http.method) !== match.method) {
    const allow = allowedMethods(match.method);
    return problem(405, 'method_not_allowed', `Use ${allow} on this route.`, { allow });
  }
  switch (match.route.name) {
    case 'create-link':
      return createLink(event, config);
    case 'link-stats': {
      const code = parseShortCode(match.route.code);
      return code === null ? unknownLink() : stats(event, config, { link: code });
    }
    case 'owner-stats':
      return stats(event, config, { owner: ADMIN_OWNER });
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
