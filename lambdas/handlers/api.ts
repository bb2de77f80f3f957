/**
 * ANY /api/{proxy+}: the admin API.
 *   POST /api/links                  create a short link
 *   GET  /api/links/{code}/stats     statistics of a link from the hourly aggregates
 * Every route needs `Authorization: Bearer <admin key>`. Client mistakes are 4xx, never 5xx.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { paginateQuery, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { parseHourlyItem, type HourlyRecord } from '../domain/hourly';
import { generateShortCode, isValidCustomCode, parseShortCode } from '../domain/short-code';
import { buildStats, hourRange, parseStatsQuery } from '../domain/stats';
import { validateTargetUrl } from '../domain/target-url';
import { dynamoDocumentClient, isConditionalCheckFailed, secretsManagerClient } from '../shared/aws-clients';
import { apiConfig, type ApiConfig, type ApiKeySource } from '../shared/config';
import { getOrCreate } from '../shared/get-or-create';
import { json, problem, type HttpResult } from '../shared/http';
import { findLinkUrl } from '../shared/links';

const logger = new Logger({ serviceName: 'api' });

const MAX_BODY_BYTES = 8 * 1024;
const GENERATED_CODE_ATTEMPTS = 5;
/** A rotated key is picked up within this many seconds. */
const API_KEY_CACHE_SECONDS = 300;
const ADMIN_OWNER = 'admin';

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

/** Hashing both sides first gives timingSafeEqual equal lengths and leaks nothing about the key's length. */
function sameKey(provided: string, expected: string): boolean {
  const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(provided), digest(expected));
}

async function isAuthorised(event: APIGatewayProxyEventV2, config: ApiConfig): Promise<boolean> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(event.headers?.authorization ?? '');
  if (match === null) return false;
  return sameKey(match[1], await adminKey(config.apiKey));
}

type Route = { readonly name: 'create-link' } | { readonly name: 'stats'; readonly code: string };

interface RouteMatch {
  readonly allow: string;
  readonly route: Route;
}

function matchRoute(path: string): RouteMatch | null {
  const segments = path.split('/');
  if (segments.length === 1 && segments[0] === 'links') return { allow: 'POST', route: { name: 'create-link' } };
  if (segments.length === 3 && segments[0] === 'links' && segments[2] === 'stats') {
    return { allow: 'GET', route: { name: 'stats', code: segments[1] } };
  }
  return null;
}

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

/** Stores the link unless its code is taken; false when it is. */
async function putLinkIfAbsent(tableName: string, code: string, url: string): Promise<boolean> {
  try {
    await dynamoDocumentClient().send(
      new PutCommand({
        TableName: tableName,
        Item: { code, url, owner: ADMIN_OWNER, createdAt: new Date().toISOString() },
        ConditionExpression: 'attribute_not_exists(#code)',
        ExpressionAttributeNames: { '#code': 'code' },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

async function createLink(event: APIGatewayProxyEventV2, config: ApiConfig): Promise<HttpResult> {
  const parsed = readJsonObject(event);
  if (!parsed.ok) return parsed.result;
  const { url: requestedUrl, code: requestedCode } = parsed.body;

  const publicHost = config.publicBaseUrl === undefined ? undefined : new URL(config.publicBaseUrl).host;
  const shortenerHosts = [publicHost, forwardedHost(event), event.requestContext.domainName, ...config.shortLinkHosts].filter(
    (host): host is string => host !== undefined && host !== '',
  );
  const check = validateTargetUrl(requestedUrl, shortenerHosts);
  if (!check.ok) return problem(400, 'invalid_request', check.error);

  let code: string;
  if (requestedCode !== undefined) {
    if (typeof requestedCode !== 'string' || !isValidCustomCode(requestedCode)) {
      return problem(
        400,
        'invalid_request',
        'The code must be 3 to 64 letters, digits, "-" or "_", and not a reserved word such as "api".',
      );
    }
    if (!(await putLinkIfAbsent(config.linksTableName, requestedCode, check.url))) {
      return problem(409, 'conflict', `The code "${requestedCode}" is already taken.`);
    }
    code = requestedCode;
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
    if (await putLinkIfAbsent(tableName, code, url)) return code;
  }
  return null;
}

async function hourlyRecords(tableName: string, code: string, first: string, last: string): Promise<HourlyRecord[]> {
  const records: HourlyRecord[] = [];
  const pages = paginateQuery(
    { client: dynamoDocumentClient() },
    {
      TableName: tableName,
      KeyConditionExpression: '#code = :code AND #hour BETWEEN :first AND :last',
      ExpressionAttributeNames: { '#code': 'code', '#hour': 'hour' },
      ExpressionAttributeValues: { ':code': code, ':first': first, ':last': last },
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) records.push(parseHourlyItem(item));
  }
  return records;
}

async function linkStats(event: APIGatewayProxyEventV2, config: ApiConfig, rawCode: string): Promise<HttpResult> {
  const code = parseShortCode(rawCode);
  if (code === null) return problem(404, 'not_found', 'No link has this code.');
  const parsed = parseStatsQuery(event.queryStringParameters ?? {}, new Date());
  if (!parsed.ok) return problem(400, 'invalid_request', parsed.error);
  if ((await findLinkUrl(config.linksTableName, code)) === null) return problem(404, 'not_found', 'No link has this code.');

  const { first, last } = hourRange(parsed.query);
  const records = await hourlyRecords(config.hourlyTableName, code, first, last);
  return json(200, buildStats(code, records, parsed.query), { 'cache-control': 'private, no-store' });
}

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
  if (event.requestContext.http.method !== match.allow) {
    return problem(405, 'method_not_allowed', `Use ${match.allow} on this route.`, { allow: match.allow });
  }
  return match.route.name === 'create-link' ? createLink(event, config) : linkStats(event, config, match.route.code);
}

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  try {
    return await route(event);
  } catch (error) {
    logger.error('request failed', error as Error);
    return problem(500, 'internal_error', 'Something went wrong on our side.');
  }
}
