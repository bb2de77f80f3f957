/**
 * GET and HEAD /{code}: a 302 to the link's URL. The click is logged as one JSON line and
 * handed to a buffered publisher; no analytics failure or delay ever changes the response.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { MAX_USER_AGENT_LENGTH, purposeFrom, type ClickMessage } from '../domain/click';
import { clientIp, networkPrefix } from '../domain/client-ip';
import { referrerHost } from '../domain/referrer';
import { parseShortCode } from '../domain/short-code';
import { visitorHash } from '../domain/visitor';
import { ClickPublisher } from '../shared/click-publisher';
import { redirectConfig, type RedirectConfig } from '../shared/config';
import { getOrCreate } from '../shared/get-or-create';
import { problem } from '../shared/http';
import { CachedLinkLookup, type Link } from '../shared/links';
import { SaltStore } from '../shared/salt-store';

const logger = new Logger({ serviceName: 'redirect' });
const metrics = new Metrics({ namespace: 'ClickAnalytics', serviceName: 'redirect' });

const linkLookups = new Map<string, CachedLinkLookup>();
const saltStores = new Map<string, SaltStore>();
const publishers = new Map<string, ClickPublisher>();
/** Clicks still waiting for their period's salt; flushClicks waits for them before flushing the publishers. */
const pendingClicks = new Set<Promise<void>>();

const linkLookup = (config: RedirectConfig): CachedLinkLookup =>
  getOrCreate(
    linkLookups,
    `${config.linksTableName}|${config.linkCacheTtlSeconds}`,
    () => new CachedLinkLookup(config.linksTableName, config.linkCacheTtlSeconds),
  );

const saltStore = (config: RedirectConfig): SaltStore =>
  getOrCreate(saltStores, config.saltsTableName, () => new SaltStore(config.saltsTableName, logger));

const publisher = (config: RedirectConfig): ClickPublisher =>
  getOrCreate(
    publishers,
    `${config.clickQueueUrl}|${config.clickFlushDelayMs}`,
    () => new ClickPublisher({ queueUrl: config.clickQueueUrl, flushDelayMs: config.clickFlushDelayMs, logger, metrics }),
  );

/** Sends every buffered click; the local stack calls it on shutdown, Lambda on SIGTERM. */
export async function flushClicks(): Promise<void> {
  await Promise.all(pendingClicks);
  await Promise.all([...publishers.values()].map((clickPublisher) => clickPublisher.flush()));
}

process.on('SIGTERM', () => {
  void flushClicks().finally(() => {
    // Alone, this listener would keep the process alive; otherwise whoever else listens decides when to exit.
    if (process.listenerCount('SIGTERM') === 1) process.exit(0);
  });
});

const NO_STORE = 'private, no-store, max-age=0';
const RETRY_AFTER_SECONDS = '5';

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const config = redirectConfig();
  const method = event.requestContext.http.method === 'HEAD' ? 'HEAD' : 'GET';
  const code = parseShortCode(event.pathParameters?.code);
  if (code === null) return withoutBodyFor(method, notFound());

  const now = new Date();
  // Started now so it runs alongside the link lookup; cached per period, and it never rejects.
  const salt = saltStore(config).current(now, config.saltPeriod);

  let link: Link | null;
  try {
    link = await linkLookup(config).find(code);
  } catch (error) {
    logger.error('link lookup failed', { code, error: (error as Error).message });
    return withoutBodyFor(
      method,
      problem(503, 'service_unavailable', 'The link cannot be resolved right now; try again shortly.', {
        'retry-after': RETRY_AFTER_SECONDS,
      }),
    );
  }
  if (link === null) return withoutBodyFor(method, notFound());

  // Not awaited: a slow or failing salts table must not hold the redirect. With the salt cached (the
  // usual case) the click is logged and enqueued before this function's promise settles anyway.
  const recording = recordClick(event, { code, owner: link.owner, method, now, salt }, config).finally(() =>
    pendingClicks.delete(recording),
  );
  pendingClicks.add(recording);
  return { statusCode: 302, headers: { location: link.url, 'cache-control': NO_STORE } };
}

interface ClickFacts {
  readonly code: string;
  readonly owner: string | null;
  readonly method: 'GET' | 'HEAD';
  readonly now: Date;
  readonly salt: Promise<Uint8Array>;
}

/** Never throws: a click that cannot be recorded must not change the redirect. */
async function recordClick(event: APIGatewayProxyEventV2, facts: ClickFacts, config: RedirectConfig): Promise<void> {
  try {
    if (facts.owner === null) throw new Error('the link has no owner to count its clicks for');
    const headers = event.headers ?? {};
    const ip = clientIp(headers, event.requestContext.http.sourceIp);
    const userAgent = (headers['user-agent'] ?? '').slice(0, MAX_USER_AGENT_LENGTH);
    const click: ClickMessage = {
      v: 1,
      eventId: randomUUID(),
      code: facts.code,
      owner: facts.owner,
      ts: facts.now.toISOString(),
      // The full IP goes into the keyed hash only; just its network prefix leaves this function.
      visitor: visitorHash(await facts.salt, ip, userAgent),
      ipPrefix: networkPrefix(ip),
      userAgent,
      referrerHost: referrerHost(headers.referer),
      method: facts.method,
      purpose: purposeFrom(headers),
    };
    // The backfill source for clicks the queue never got.
    logger.info('click', { click });
    publisher(config).enqueue(click);
  } catch (error) {
    logger.error('click not recorded', { code: facts.code, error: (error as Error).message });
    metrics.singleMetric().addMetric('ClicksNotRecorded', MetricUnit.Count, 1);
  }
}

function notFound(): APIGatewayProxyStructuredResultV2 {
  return problem(404, 'not_found', 'No link has this code.');
}

/** A response to HEAD carries the headers a GET would, without the body. */
function withoutBodyFor(method: 'GET' | 'HEAD', result: APIGatewayProxyStructuredResultV2): APIGatewayProxyStructuredResultV2 {
  if (method === 'GET') return result;
  const { body: _body, ...rest } = result;
  return rest;
}
