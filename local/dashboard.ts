/**
 * The dashboard page on the local front, as CloudFront serves it from S3 on AWS: `/dashboard` and
 * `/dashboard/` are the index page, `/dashboard/<file>` a file of the site (lib/dashboard-files.ts),
 * with its content type and the same security headers. Only GET and HEAD. A path is looked up among
 * the site's files as it stands, never joined onto a folder, so no path can reach another file.
 */
import { readFile } from 'node:fs/promises';
import { DASHBOARD_INDEX, DASHBOARD_PATH, DASHBOARD_SECURITY_HEADERS, dashboardFiles } from '../lib/dashboard-files';
import { problem, type HttpResult } from '../lambdas/shared/http';

const SITE_PREFIX = `${DASHBOARD_PATH}/`;

/** Whether the front serves this path (without its query) from the dashboard's files rather than the HTTP API. */
export const isDashboardPath = (rawPath: string): boolean => rawPath === DASHBOARD_PATH || rawPath.startsWith(SITE_PREFIX);

const withSecurityHeaders = (result: HttpResult): HttpResult => ({ ...result, headers: { ...result.headers, ...DASHBOARD_SECURITY_HEADERS } });

/** The answer to a request for a dashboard path (see isDashboardPath), shaped as a function's, like the control routes'. */
export async function serveDashboard(method: string, rawPath: string): Promise<HttpResult> {
  if (method !== 'GET' && method !== 'HEAD') {
    return withSecurityHeaders(problem(405, 'method_not_allowed', 'Use GET or HEAD on the dashboard.', { allow: 'GET, HEAD' }));
  }
  let key: string;
  try {
    key = rawPath === DASHBOARD_PATH || rawPath === SITE_PREFIX ? DASHBOARD_INDEX : decodeURIComponent(rawPath.slice(SITE_PREFIX.length));
  } catch {
    return withSecurityHeaders(problem(400, 'invalid_request', 'Malformed percent-encoding in the path.'));
  }
  const file = dashboardFiles().get(key);
  if (file === undefined) return withSecurityHeaders(problem(404, 'not_found', 'The dashboard has no such file.'));
  return withSecurityHeaders({
    statusCode: 200,
    // Files change while a developer works on them: the browser asks again each time.
    headers: { 'content-type': file.contentType, 'cache-control': 'no-cache' },
    body: (await readFile(file.source)).toString('base64'),
    isBase64Encoded: true,
  });
}
