/**
 * The links routes: create, list (newest first, paginated, with each link's clicks of the last 7 days),
 * read, change (destination, disabled) and delete. An owner reaches only their own links: another
 * owner's code answers exactly as an unknown one, so codes cannot be enumerated.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { checkCustomCode, generateShortCode } from '../../domain/short-code';
import { validateTargetUrl } from '../../domain/target-url';
import { mapWithLimit } from '../../shared/concurrency';
import type { ApiConfig } from '../../shared/config';
import { json, problem, type HttpResult } from '../../shared/http';
import {
  createLinkIfAbsent,
  decodeLinkCursor,
  deleteLink,
  encodeLinkCursor,
  getLink,
  listOwnerLinks,
  updateLink,
  type LinkChanges,
  type LinkRecord,
} from '../../tables/links';
import type { Caller } from './caller';

const MAX_BODY_BYTES = 8 * 1024;
const GENERATED_CODE_ATTEMPTS = 5;
const DEFAULT_PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 100;
/** Links whose recent clicks are read at once: a page of 100 must not open 100 sockets. */
const RECENT_CLICKS_CONCURRENCY = 8;
export const RECENT_CLICKS_DAYS = 7;

/** What the links routes need besides the tables: the clicks of a link over the last days, from the statistics levels. */
export interface LinksContext {
  readonly config: ApiConfig;
  readonly caller: Caller;
  readonly logger: Logger;
  readonly recentClicks: (code: string) => Promise<number>;
}

/** A link as every route answers it. */
export interface LinkView {
  readonly code: string;
  readonly url: string;
  readonly shortUrl: string;
  readonly owner: string | null;
  readonly createdAt: string | null;
  readonly updatedAt: string | null;
  readonly disabled: boolean;
  /** Human clicks of the last 7 days, up to now. */
  readonly clicksLast7Days: number;
}

export const unknownLink = (): HttpResult => problem(404, 'not_found', 'No link has this code.');

function forwardedHost(event: APIGatewayProxyEventV2): string | undefined {
  return event.headers?.['x-forwarded-host']?.split(',')[0]?.trim() || undefined;
}

export function shortUrlBase(event: APIGatewayProxyEventV2, config: ApiConfig): string {
  return config.publicBaseUrl ?? `https://${forwardedHost(event) ?? event.requestContext.domainName}`;
}

/** Hosts the API takes as its own: a link pointing back at one of them is refused. */
function shortenerHosts(event: APIGatewayProxyEventV2, config: ApiConfig): string[] {
  const publicHost = config.publicBaseUrl === undefined ? undefined : new URL(config.publicBaseUrl).host;
  return [publicHost, forwardedHost(event), event.requestContext.domainName, ...config.shortLinkHosts].filter(
    (host): host is string => host !== undefined && host !== '',
  );
}

type BodyResult = { readonly ok: true; readonly body: Readonly<Record<string, unknown>> } | { readonly ok: false; readonly result: HttpResult };

export function readJsonObject(event: APIGatewayProxyEventV2): BodyResult {
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

export function unexpectedFields(body: Readonly<Record<string, unknown>>, allowed: readonly string[]): HttpResult | null {
  const unexpected = Object.keys(body).filter((field) => !allowed.includes(field));
  if (unexpected.length === 0) return null;
  return problem(400, 'invalid_request', `Unknown field(s) ${unexpected.map((field) => `"${field.slice(0, 64)}"`).join(', ')}: the body may hold ${allowed.join(', ')}.`);
}

async function viewOf(event: APIGatewayProxyEventV2, context: LinksContext, link: LinkRecord): Promise<LinkView> {
  return {
    code: link.code,
    url: link.url,
    shortUrl: `${shortUrlBase(event, context.config)}/${link.code}`,
    owner: link.owner,
    createdAt: link.createdAt,
    updatedAt: link.updatedAt,
    disabled: link.disabled,
    clicksLast7Days: await context.recentClicks(link.code),
  };
}

/** The caller's link with this code, or null: unknown, deleted and another owner's are alike. */
export async function ownedLink(context: LinksContext, code: string): Promise<LinkRecord | null> {
  const link = await getLink(context.config.linksTableName, code);
  if (link === null) return null;
  return context.caller.admin || link.owner === context.caller.owner ? link : null;
}

export async function createLink(event: APIGatewayProxyEventV2, context: LinksContext): Promise<HttpResult> {
  const { config, caller, logger } = context;
  const parsed = readJsonObject(event);
  if (!parsed.ok) return parsed.result;
  const unexpected = unexpectedFields(parsed.body, ['url', 'code']);
  if (unexpected !== null) return unexpected;
  const { url: requestedUrl, code: requestedCode } = parsed.body;

  const check = validateTargetUrl(requestedUrl, shortenerHosts(event, config), { allowPrivateAddresses: config.allowPrivateDestinations });
  if (!check.ok) return problem(400, 'invalid_request', check.error);

  let code: string;
  if (requestedCode !== undefined) {
    const codeCheck = checkCustomCode(requestedCode);
    if (!codeCheck.ok) return problem(400, 'invalid_request', codeCheck.error);
    if (!(await createLinkIfAbsent(config.linksTableName, { code: codeCheck.code, url: check.url, owner: caller.owner }))) {
      return problem(409, 'conflict', `The code "${codeCheck.code}" is already taken.`);
    }
    code = codeCheck.code;
  } else {
    const generated = await createWithGeneratedCode(config.linksTableName, check.url, caller.owner);
    if (generated === null) {
      logger.error('no free generated code', { attempts: GENERATED_CODE_ATTEMPTS });
      return problem(503, 'service_unavailable', 'No free short code was found; try again.');
    }
    code = generated;
  }
  return json(201, { code, url: check.url, shortUrl: `${shortUrlBase(event, config)}/${code}` });
}

async function createWithGeneratedCode(tableName: string, url: string, owner: string): Promise<string | null> {
  for (let attempt = 0; attempt < GENERATED_CODE_ATTEMPTS; attempt++) {
    const code = generateShortCode(randomBytes);
    if (await createLinkIfAbsent(tableName, { code, url, owner })) return code;
  }
  return null;
}

function pageSize(raw: string | undefined): number | null {
  if (raw === undefined) return DEFAULT_PAGE_SIZE;
  if (!/^\d{1,3}$/.test(raw)) return null;
  const size = Number(raw);
  return size >= 1 && size <= MAX_PAGE_SIZE ? size : null;
}

export async function listLinks(event: APIGatewayProxyEventV2, context: LinksContext): Promise<HttpResult> {
  const query = event.queryStringParameters ?? {};
  const limit = pageSize(query.limit);
  if (limit === null) return problem(400, 'invalid_request', `limit must be an integer from 1 to ${MAX_PAGE_SIZE}.`);
  const after = query.cursor === undefined ? null : decodeLinkCursor(query.cursor);
  if (query.cursor !== undefined && after === null) {
    return problem(400, 'invalid_request', 'cursor must be the "next" value of an earlier page, unchanged.');
  }
  const page = await listOwnerLinks(context.config.linksTableName, context.caller.owner, limit, after);
  const links = await mapWithLimit(page.links, RECENT_CLICKS_CONCURRENCY, (link) => viewOf(event, context, link));
  return json(200, { links, next: page.next === null ? null : encodeLinkCursor(page.next) }, { 'cache-control': 'private, no-store' });
}

export async function readLink(event: APIGatewayProxyEventV2, context: LinksContext, code: string): Promise<HttpResult> {
  const link = await ownedLink(context, code);
  if (link === null) return unknownLink();
  return json(200, await viewOf(event, context, link), { 'cache-control': 'private, no-store' });
}

function linkChanges(event: APIGatewayProxyEventV2, config: ApiConfig, body: Readonly<Record<string, unknown>>): LinkChanges | HttpResult {
  const unexpected = unexpectedFields(body, ['url', 'disabled']);
  if (unexpected !== null) return unexpected;
  if (body.url === undefined && body.disabled === undefined) {
    return problem(400, 'invalid_request', 'Send "url" (a new destination), "disabled" (true or false), or both.');
  }
  if (body.disabled !== undefined && typeof body.disabled !== 'boolean') return problem(400, 'invalid_request', '"disabled" must be true or false.');
  if (body.url === undefined) return { disabled: body.disabled as boolean };
  const check = validateTargetUrl(body.url, shortenerHosts(event, config), { allowPrivateAddresses: config.allowPrivateDestinations });
  if (!check.ok) return problem(400, 'invalid_request', check.error);
  return { url: check.url, ...(body.disabled === undefined ? {} : { disabled: body.disabled as boolean }) };
}

export async function changeLink(event: APIGatewayProxyEventV2, context: LinksContext, code: string): Promise<HttpResult> {
  const parsed = readJsonObject(event);
  if (!parsed.ok) return parsed.result;
  const changes = linkChanges(event, context.config, parsed.body);
  if ('statusCode' in changes) return changes;
  const link = await ownedLink(context, code);
  if (link === null) return unknownLink();
  // Conditional on the owner just read: a link deleted or given away meanwhile is not changed.
  const changed = await updateLink(context.config.linksTableName, code, link.owner, changes);
  if (changed === null) return unknownLink();
  return json(200, await viewOf(event, context, changed), { 'cache-control': 'no-store' });
}

export async function removeLink(context: LinksContext, code: string): Promise<HttpResult> {
  const link = await ownedLink(context, code);
  if (link === null || !(await deleteLink(context.config.linksTableName, code, link.owner))) return unknownLink();
  return { statusCode: 204, headers: { 'cache-control': 'no-store' } };
}
