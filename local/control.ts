/**
 * The local stack's own routes under /_local/, beside the template's (API Gateway has no such
 * thing): `POST /_local/schedules/{logicalIdPrefix}/run?runs=N&at=ISO` runs a schedule now, N times
 * at once, so tests and developers need not wait for its next tick; `at` is the scheduled time its
 * events carry (default now), so a run can be one that was due later, such as the rollup's first run
 * after today ends. Guarded by the admin key, like the API.
 */
import { OWN_PATH_SEGMENTS } from '../lambdas/domain/short-code';
import { sameSecret } from '../lambdas/domain/api-key';
import { bearerToken, json, problem, type HttpResult } from '../lambdas/shared/http';
import { ScheduleLookupError, type Scheduler } from './scheduler';

export const CONTROL_PATH_PREFIX = `/${OWN_PATH_SEGMENTS.localControl}/`;
const RUN_SCHEDULE_PATH = new RegExp(`^${CONTROL_PATH_PREFIX}schedules/([^/]+)/run/?$`);
export const MAX_RUNS = 10;

export interface ControlRequest {
  readonly method: string;
  /** Path and query string exactly as sent. */
  readonly url: string;
  readonly authorization: string | undefined;
}

/** Answers as the API does (same result and error shapes, same key check), so a client handles both alike. */
export type ControlHandler = (request: ControlRequest) => Promise<HttpResult>;

function isAdmin(authorization: string | undefined, apiKey: string): boolean {
  const token = bearerToken(authorization);
  return token !== null && sameSecret(token, apiKey);
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/** Now when absent; undefined when not an ISO 8601 date and time with a zone (`2026-12-03T00:01:00Z`). */
function parseScheduledAt(raw: string | null): Date | undefined {
  if (raw === null) return new Date();
  const ms = ISO_INSTANT.test(raw) ? Date.parse(raw) : Number.NaN;
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

/** 1 when absent; undefined when not a whole number from 1 to MAX_RUNS. */
function parseRuns(raw: string | null): number | undefined {
  if (raw === null) return 1;
  const runs = /^\d{1,2}$/.test(raw) ? Number(raw) : Number.NaN;
  return runs >= 1 && runs <= MAX_RUNS ? runs : undefined;
}

export function controlHandler(options: { readonly apiKey: string; readonly scheduler: Pick<Scheduler, 'runNow'> }): ControlHandler {
  return async ({ method, url, authorization }) => {
    if (!isAdmin(authorization, options.apiKey)) {
      return problem(401, 'unauthorized', 'A valid API key is required: send "Authorization: Bearer <key>".', { 'www-authenticate': 'Bearer' });
    }
    const parsed = new URL(url, 'http://local');
    const match = RUN_SCHEDULE_PATH.exec(parsed.pathname);
    if (match === null) return problem(404, 'not_found', 'No such local route: use POST /_local/schedules/{logicalIdPrefix}/run?runs=N&at=ISO.');
    if (method.toUpperCase() !== 'POST') return problem(405, 'method_not_allowed', 'Use POST on this route.', { allow: 'POST' });
    let prefix: string;
    try {
      prefix = decodeURIComponent(match[1]);
    } catch {
      return problem(400, 'invalid_request', 'Malformed percent-encoding in the schedule prefix.');
    }
    const runs = parseRuns(parsed.searchParams.get('runs'));
    if (runs === undefined) return problem(400, 'invalid_request', `runs must be a whole number from 1 to ${MAX_RUNS}.`);
    const scheduledAt = parseScheduledAt(parsed.searchParams.get('at'));
    if (scheduledAt === undefined) return problem(400, 'invalid_request', 'at must be an ISO 8601 date and time with a zone, such as 2026-12-03T00:01:00Z.');
    try {
      return json(200, { runs: await options.scheduler.runNow(prefix, runs, scheduledAt) });
    } catch (error) {
      if (!(error instanceof ScheduleLookupError)) throw error;
      return error.found === 'none' ? problem(404, 'not_found', error.message) : problem(400, 'invalid_request', error.message);
    }
  };
}
