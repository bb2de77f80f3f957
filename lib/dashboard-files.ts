/**
 * What the dashboard site is, defined once for the two places that serve it: CloudFront from S3
 * (lib/constructs/dashboard-site.ts) and the local front (local/dashboard.ts). Its path, its files
 * (the `dashboard/` folder and uPlot from node_modules, without a build step) and the security
 * headers every answer carries.
 */
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { OWN_PATH_SEGMENTS } from '../lambdas/domain/short-code';
import { PROJECT_ROOT } from './constructs/house-function';

/** `/dashboard`: the page itself; its files are under `/dashboard/`. */
export const DASHBOARD_PATH = `/${OWN_PATH_SEGMENTS.dashboard}`;
export const DASHBOARD_INDEX = 'index.html';

const DASHBOARD_FOLDER = path.join(PROJECT_ROOT, 'dashboard');

/** Served under `/dashboard/vendor/`, straight from the installed package. */
const VENDOR_FILES: Readonly<Record<string, string>> = {
  'vendor/uPlot.esm.js': 'node_modules/uplot/dist/uPlot.esm.js',
  'vendor/uPlot.min.css': 'node_modules/uplot/dist/uPlot.min.css',
};

/** The file types the site serves. Anything else in the folder (tsconfig.json, type declarations) is not part of it. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface SiteFile {
  /** The file on disk. */
  readonly source: string;
  readonly contentType: string;
}

function siteFile(source: string): SiteFile | undefined {
  const contentType = CONTENT_TYPES[path.extname(source)];
  return contentType === undefined ? undefined : { source, contentType };
}

/**
 * Every file of the site by its path below `/dashboard/` (POSIX separators). Read from the folder
 * each time, so the local front serves a file added while it runs.
 */
export function dashboardFiles(): ReadonlyMap<string, SiteFile> {
  const files = new Map<string, SiteFile>();
  const add = (key: string, source: string): void => {
    const file = siteFile(source);
    if (file !== undefined) files.set(key, file);
  };
  for (const entry of readdirSync(DASHBOARD_FOLDER, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const source = path.join(entry.parentPath, entry.name);
    add(path.relative(DASHBOARD_FOLDER, source).split(path.sep).join('/'), source);
  }
  for (const [key, source] of Object.entries(VENDOR_FILES)) add(key, path.join(PROJECT_ROOT, source));
  return files;
}

/**
 * Scripts, styles, images and API calls from the site's own origin only: no inline script or style,
 * no framing, no form posting anywhere, no `<base>`. uPlot sets styles through the CSSOM, which
 * `style-src` does not govern.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The headers every dashboard answer carries, locally and from CloudFront (where a response headers
 * policy adds them, with HSTS, which means nothing over the local front's plain HTTP). No referrer
 * leaves the page: whoever a dashboard links to learns nothing of who was looking.
 */
export const DASHBOARD_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};
