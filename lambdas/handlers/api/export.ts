/**
 * The export routes: `GET /api/links/{code}/export` (one link) and `GET /api/export` (every link of the
 * caller, newest link first), raw clicks or per-bucket counts as CSV or NDJSON, one bounded page a request
 * (lambdas/domain/export.ts). The next page's URL is in the `Link` header, its cursor in `X-Next-Cursor`.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import {
  assemblePage,
  bucketRows,
  columnsOf,
  encodeExportCursor,
  exportFileName,
  nextPageQuery,
  PAGE_CAPS,
  parseExportRequest,
  rawClickRow,
  rawShardPageSize,
  rowEncoder,
  type ExportFormat,
  type ExportRequest,
  type ExportRow,
  type LinkRows,
} from '../../domain/export';
import { OWN_PATH_SEGMENTS } from '../../domain/short-code';
import type { StatsPlan, StatsSubject } from '../../domain/stats';
import type { ApiConfig } from '../../shared/config';
import { problem, type HttpResult } from '../../shared/http';
import { getLink, listOwnerLinks, type LinkRecord } from '../../tables/links';
import { readLinkClicks } from '../../tables/raw-clicks';
import type { LinksContext } from './links';
import { statsOf } from './stats';

/** The Content-Type of each format's pages. */
export const EXPORT_CONTENT_TYPES: Readonly<Record<ExportFormat, string>> = { csv: 'text/csv; charset=utf-8', ndjson: 'application/x-ndjson' };

async function* rawRows(config: ApiConfig, request: ExportRequest, code: string, after: string | null, wanted: number): AsyncGenerator<ExportRow, void, undefined> {
  const range = { from: request.query.from.toISOString(), to: request.query.to.toISOString(), after };
  for await (const click of readLinkClicks(config.rawClicksTableName, code, range, rawShardPageSize(wanted))) {
    yield rawClickRow(click, request.query.tz);
  }
}

/** The link's buckets as the stats route answers them: its reads (the levels of each day, as of now) and its series. */
async function* bucketRowsOf(config: ApiConfig, request: ExportRequest, plan: StatsPlan, code: string, after: string | null): AsyncGenerator<ExportRow, void, undefined> {
  yield* bucketRows(code, (await statsOf(config, { link: code }, request.query, plan, new Date())).series, after);
}

function linkRows(config: ApiConfig, request: ExportRequest, link: { code: string; createdAt: string | null }, after: string | null): LinkRows {
  const { plan } = request;
  return {
    link: link.code,
    createdAt: link.createdAt,
    rows: (wanted) => (plan === null ? rawRows(config, request, link.code, after, wanted) : bucketRowsOf(config, request, plan, link.code, after)),
  };
}

/**
 * The caller's links from where the cursor stands: the link it stopped in (if still the caller's: one
 * deleted since, or a code the cursor was made up with, is skipped), then the links listed after it.
 */
async function* ownerLinks(context: LinksContext, request: ExportRequest): AsyncGenerator<LinkRows, void, undefined> {
  const { config, caller } = context;
  const resume = request.resumeFrom;
  if (resume !== null && resume.after !== null) {
    const link = await getLink(config.linksTableName, resume.link);
    if (link !== null && link.owner === caller.owner && link.createdAt === resume.createdAt) {
      yield linkRows(config, request, link, resume.after);
    }
  }
  // parseExportRequest refuses an owner's cursor without createdAt.
  let after = resume === null || resume.createdAt === null ? null : { createdAt: resume.createdAt, code: resume.link };
  do {
    const listed = await listOwnerLinks(config.linksTableName, caller.owner, PAGE_CAPS.links, after);
    for (const link of listed.links) yield linkRows(config, request, link, null);
    after = listed.next;
  } while (after !== null);
}

async function exportPage(request: ExportRequest, path: string, links: AsyncIterable<LinkRows> | Iterable<LinkRows>): Promise<HttpResult> {
  const encoder = rowEncoder(request.format, columnsOf(request.level));
  const page = await assemblePage(links, encoder, { ...PAGE_CAPS, rows: request.limit }, request.resumeFrom, Date.now);
  const headers: Record<string, string> = {
    'content-type': EXPORT_CONTENT_TYPES[request.format],
    'content-disposition': `attachment; filename="${exportFileName(request)}"`,
    'cache-control': 'private, no-store',
  };
  if (page.next !== null) {
    const cursor = encodeExportCursor({ fingerprint: request.fingerprint, asOfMs: request.asOf.getTime(), position: page.next });
    headers.link = `<${path}?${nextPageQuery(request, cursor)}>; rel="next"`;
    headers['x-next-cursor'] = cursor;
  }
  return { statusCode: 200, headers, body: page.body };
}

function parsedRequest(event: APIGatewayProxyEventV2, config: ApiConfig, subject: StatsSubject): ExportRequest | HttpResult {
  const parsed = parseExportRequest(event.queryStringParameters ?? {}, subject, config.reportingTimeZone, new Date());
  return parsed.ok ? parsed.request : problem(400, 'invalid_request', parsed.error);
}

/** GET /api/links/{code}/export, for a link the caller may read (ownedLink). */
export async function exportLink(event: APIGatewayProxyEventV2, context: LinksContext, link: LinkRecord): Promise<HttpResult> {
  const request = parsedRequest(event, context.config, { link: link.code });
  if ('statusCode' in request) return request;
  const source = linkRows(context.config, request, { code: link.code, createdAt: null }, request.resumeFrom?.after ?? null);
  return exportPage(request, `/${OWN_PATH_SEGMENTS.api}/links/${link.code}/export`, [source]);
}

/** GET /api/export: every link of the caller's owner, newest first, each link's rows in time order. */
export async function exportOwner(event: APIGatewayProxyEventV2, context: LinksContext): Promise<HttpResult> {
  const request = parsedRequest(event, context.config, { owner: context.caller.owner });
  if ('statusCode' in request) return request;
  return exportPage(request, `/${OWN_PATH_SEGMENTS.api}/export`, ownerLinks(context, request));
}
