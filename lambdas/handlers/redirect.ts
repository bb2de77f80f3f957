/**
 * GET and HEAD /{code}: a 302 to the link's URL. The click is recorded after the response is out:
 * logged as one JSON line and handed to a buffered publisher, so no analytics work, failure or
 * delay ever changes or slows the response. On Lambda, the entry (redirect-function.mts) starts an
 * internal extension that keeps the environment from freezing until the click is sent.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { clickMessageOf, purposeFrom } from '../domain/click';
import { formatClickLogLine } from '../domain/click-log';
import { clientIp } from '../domain/client-ip';
import { referrerHost } from '../domain/referrer';
import { parseShortCode } from '../domain/short-code';
import { AfterResponseWork, type RunningExtension, startInternalExtension } from '../shared/after-response-extension';
import { ClickPublisher } from '../shared/click-publisher';
import { redirectConfig, type RedirectConfig } from '../shared/config';
import { getOrCreate } from '../shared/get-or-create';
import { observeInvocation } from '../shared/observability';
import { problem, withoutBodyFor } from '../shared/http';
import { followedLinks } from '../shared/link-lookup';
import { SaltStore } from '../shared/salt-store';
import type { Link } from '../tables/links';
import { SqsClickTransport } from '../transport/sqs';
import { METRICS_NAMESPACE } from '../contract';

const logger = new Logger({ serviceName: 'redirect' });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'redirect' });

const saltStores = new Map<string, SaltStore>();
const publishers = new Map<string, ClickPublisher>();
/** Clicks scheduled or waiting for their period's salt; flushClicks waits for them before flushing the publishers. */
const pendingClicks = new Set<Promise<void>>();
/** Where each invocation's after-response work meets the extension's hold. */
export const afterResponse = new AfterResponseWork();

/** The internal extension's `Lambda-Extension-Name`. */
const EXTENSION_NAME = 'click-publisher';

const saltStore = (config: RedirectConfig): SaltStore =>
  getOrCreate(saltStores, config.saltsTableName, () => new SaltStore(config.saltsTableName, logger));

const publisher = (config: RedirectConfig): ClickPublisher =>
  getOrCreate(
    publishers,
    `${config.clickQueueUrl}|${config.clickFlushDelayMs}`,
    () =>
      new ClickPublisher({
        transport: new SqsClickTransport(config.clickQueueUrl),
        flushDelayMs: config.clickFlushDelayMs,
        logger,
        metrics,
      }),
  );

/**
 * Registers the click-publisher extension (only on Lambda: AWS_LAMBDA_RUNTIME_API set). The Lambda
 * entry awaits it during init, before the runtime's first `next`. Each invocation is held until its
 * click is logged and handed over and the publishers have settled, within the hold's bounds.
 */
export function startClickPublisherExtension(): Promise<RunningExtension | undefined> {
  return startInternalExtension({
    name: EXTENSION_NAME,
    runtimeApi: process.env.AWS_LAMBDA_RUNTIME_API,
    logger,
    onInvoke: ({ requestId, deadlineMs }) => afterResponse.hold(requestId, deadlineMs, settleClicks),
  });
}

/** Resolves once every publisher has sent what it holds, `budgetMs` has passed, or its queue is failing. */
export async function settleClicks(budgetMs: number): Promise<void> {
  await Promise.all([...publishers.values()].map((clickPublisher) => clickPublisher.settled(budgetMs)));
}

/** Sends every buffered click; the local stack calls it on shutdown, Lambda on SIGTERM. */
export async function flushClicks(): Promise<void> {
  await Promise.all(pendingClicks);
  await Promise.all([...publishers.values()].map((clickPublisher) => clickPublisher.flush()));
}

// With an extension registered, Lambda sends SIGTERM (and 500 ms later SIGKILL) before it reclaims an environment.
process.on('SIGTERM', () => {
  void flushClicks().finally(() => {
    const unsent = [...publishers.values()].reduce((sum, clickPublisher) => sum + clickPublisher.buffered, 0);
    // Their click log lines are what a backfill replays.
    if (unsent > 0) logger.error('clicks not queued at shutdown: the queue is unreachable', { unsent });
    // Alone, this listener would keep the process alive; otherwise whoever else listens decides when to exit.
    if (process.listenerCount('SIGTERM') === 1) process.exit(0);
  });
});

// Cold start: the first click's salt loads during init rather than after that click's response.
preloadSalt();

function preloadSalt(): void {
  let config: RedirectConfig;
  try {
    config = redirectConfig();
  } catch {
    // Every invocation reads the configuration again and reports what is wrong with it.
    return;
  }
  void saltStore(config).current(new Date(), config.saltPeriod);
}

const NO_STORE = 'private, no-store, max-age=0';
const RETRY_AFTER_SECONDS = '5';

/**
 * `context` is Lambda's; in-process callers (bench) may leave it out, and then nothing waits on the
 * request's after-response work.
 */
export async function handler(
  event: APIGatewayProxyEventV2,
  context?: Context,
): Promise<APIGatewayProxyStructuredResultV2> {
  observeInvocation(context, logger, metrics);
  let click: ClickToRecord | undefined;
  try {
    const answer = await respond(event);
    click = answer.click;
    return answer.result;
  } finally {
    // Also for a 404 or an error: the extension waits for every request to be marked done.
    afterTheResponse(click, context?.awsRequestId);
  }
}

interface ClickToRecord {
  readonly event: APIGatewayProxyEventV2;
  readonly config: RedirectConfig;
  readonly code: string;
  readonly owner: string | null;
  readonly method: 'GET' | 'HEAD';
  readonly now: Date;
}

interface Answer {
  readonly result: APIGatewayProxyStructuredResultV2;
  /** Present when the answer is a redirect. */
  readonly click?: ClickToRecord;
}

async function respond(event: APIGatewayProxyEventV2): Promise<Answer> {
  const config = redirectConfig();
  const method = event.requestContext.http.method === 'HEAD' ? 'HEAD' : 'GET';
  const code = parseShortCode(event.pathParameters?.code);
  if (code === null) return { result: withoutBodyFor(method, notFound()) };

  const now = new Date();
  let link: Link | null;
  try {
    link = await followedLinks(config).get(code);
  } catch (error) {
    logger.error('link lookup failed', { code, error: (error as Error).message });
    return {
      result: withoutBodyFor(
        method,
        problem(503, 'service_unavailable', 'The link cannot be resolved right now; try again shortly.', {
          'retry-after': RETRY_AFTER_SECONDS,
        }),
      ),
    };
  }
  if (link === null) return { result: withoutBodyFor(method, notFound()) };
  return {
    result: { statusCode: 302, headers: { location: link.url, 'cache-control': NO_STORE } },
    click: { event, config, code, owner: link.owner, method, now },
  };
}

/**
 * Runs the click work a macrotask later: by then the runtime, which posts the response as soon as
 * the handler's promise settles, has sent it. Marks the request done for the extension, however it ended.
 */
function afterTheResponse(click: ClickToRecord | undefined, requestId: string | undefined): void {
  const work = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
    try {
      if (click !== undefined) await recordClick(click);
    } finally {
      if (requestId !== undefined) afterResponse.done(requestId);
    }
  });
  pendingClicks.add(work);
  void work.finally(() => pendingClicks.delete(work));
}

/** Never throws: a click that cannot be recorded must not change the redirect. */
async function recordClick(facts: ClickToRecord): Promise<void> {
  try {
    if (facts.owner === null) throw new Error('the link has no owner to count its clicks for');
    const { event, config } = facts;
    // Cached per period, and loading since init; it never rejects.
    const salt = saltStore(config).current(facts.now, config.saltPeriod);
    const headers = event.headers ?? {};
    const click = clickMessageOf(
      {
        eventId: randomUUID(),
        code: facts.code,
        owner: facts.owner,
        at: facts.now,
        ip: clientIp(headers, event.requestContext.http.sourceIp),
        userAgent: headers['user-agent'] ?? '',
        referrerHost: referrerHost(headers.referer),
        method: facts.method,
        purpose: purposeFrom(headers),
      },
      await salt,
    );
    // The backfill source for clicks the queue never got: always written (a data record, not a diagnostic
    // the log level may drop), and without the logger's fields, which doubled its bytes (formatClickLogLine).
    process.stdout.write(formatClickLogLine(click));
    publisher(config).enqueue(click);
  } catch (error) {
    logger.error('click not recorded', { code: facts.code, error: (error as Error).message });
    metrics.singleMetric().addMetric('ClicksNotRecorded', MetricUnit.Count, 1);
  }
}

function notFound(): APIGatewayProxyStructuredResultV2 {
  return problem(404, 'not_found', 'No link has this code.');
}
