/**
 * Environment variables of each function (names per docs/design.md), read and validated.
 * Read on every invocation (cheap): the local stack runs every handler in one process and
 * may change them between runs, so nothing here is frozen at module load.
 */
import { ENV, type SaltPeriod } from '../contract';
import { parseSaltPeriod } from '../domain/visitor';
import { canonicalTimeZone } from '../domain/zoned-time';
import type { GeoDatabaseType } from './geo';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function required(name: string): string {
  const value = process.env[name]?.trim();
  if (!value) throw new ConfigError(`Environment variable ${name} is not set.`);
  return value;
}

function optional(name: string): string | undefined {
  return process.env[name]?.trim() || undefined;
}

function nonNegativeNumber(name: string, fallback: number): number {
  const raw = optional(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new ConfigError(`Environment variable ${name} must be a non-negative number, got "${raw}".`);
  }
  return value;
}

function positiveInteger(name: string, fallback: number): number {
  const value = nonNegativeNumber(name, fallback);
  if (!Number.isInteger(value) || value < 1) throw new ConfigError(`Environment variable ${name} must be a positive integer, got "${value}".`);
  return value;
}

function booleanFlag(name: string, fallback: boolean): boolean {
  const raw = optional(name);
  if (raw === undefined) return fallback;
  if (/^(true|false)$/i.test(raw)) return raw.toLowerCase() === 'true';
  throw new ConfigError(`Environment variable ${name} must be "true" or "false", got "${raw}".`);
}

export interface RedirectConfig extends ClickFactsConfig {
  readonly clickQueueUrl: string;
  readonly clickFlushDelayMs: number;
}

function saltPeriod(): SaltPeriod {
  try {
    return parseSaltPeriod(optional(ENV.visitorSaltPeriod));
  } catch (error) {
    throw new ConfigError(`Environment variable ${ENV.visitorSaltPeriod} is invalid: ${(error as Error).message}`);
  }
}

/** What turns a request into a click message, wherever it was answered: the link's owner and the visitor salt. */
export interface ClickFactsConfig {
  readonly linksTableName: string;
  readonly saltsTableName: string;
  readonly saltPeriod: SaltPeriod;
  /** 0 disables the link cache. */
  readonly linkCacheTtlSeconds: number;
}

function clickFactsConfig(): ClickFactsConfig {
  return {
    linksTableName: required(ENV.linksTable),
    saltsTableName: required(ENV.saltsTable),
    saltPeriod: saltPeriod(),
    linkCacheTtlSeconds: nonNegativeNumber(ENV.linkCacheTtlSeconds, 60),
  };
}

export function redirectConfig(): RedirectConfig {
  return {
    ...clickFactsConfig(),
    clickQueueUrl: required(ENV.clickQueueUrl),
    clickFlushDelayMs: nonNegativeNumber(ENV.clickFlushDelayMs, 0),
  };
}

export interface EnrichConfig {
  readonly rawClicksTableName: string;
  /** As configured: relative paths are resolved by the GeoIP adapter. */
  readonly geoDatabase: string;
  readonly geoDatabaseType: GeoDatabaseType;
}

export function enrichConfig(): EnrichConfig {
  const geoDatabaseType = required(ENV.geoipDatabaseType);
  if (geoDatabaseType !== 'dbip-country' && geoDatabaseType !== 'maxmind') {
    throw new ConfigError(
      `Environment variable ${ENV.geoipDatabaseType} must be "dbip-country" or "maxmind", got "${geoDatabaseType}".`,
    );
  }
  return {
    rawClicksTableName: required(ENV.rawClicksTable),
    geoDatabase: required(ENV.geoipDatabase),
    geoDatabaseType,
  };
}

/** The consumer of edge real-time logs: it enriches and stores as enrich does, and makes the click message as the redirect does. */
export interface EdgeEnrichConfig extends EnrichConfig, ClickFactsConfig {}

export function edgeEnrichConfig(): EdgeEnrichConfig {
  return { ...enrichConfig(), ...clickFactsConfig() };
}

/** The zone daily and monthly items are cut in (docs/statistics.md); canonical IANA name, default UTC. */
function reportingTimeZone(): string {
  const raw = optional(ENV.reportingTimeZone) ?? 'UTC';
  const zone = canonicalTimeZone(raw);
  if (zone === null) throw new ConfigError(`Environment variable ${ENV.reportingTimeZone} is not an IANA time zone: "${raw}".`);
  return zone;
}

export interface AggregateConfig {
  readonly quarterHourTableName: string;
  readonly pendingRollupsTableName: string;
  readonly reportingTimeZone: string;
}

export function aggregateConfig(): AggregateConfig {
  return {
    quarterHourTableName: required(ENV.quarterHourTable),
    pendingRollupsTableName: required(ENV.pendingRollupsTable),
    reportingTimeZone: reportingTimeZone(),
  };
}

export interface KvsSyncConfig {
  readonly keyValueStoreArn: string;
  /** The held marks and click days the full store's evictions go by. */
  readonly linksTableName: string;
  /** The zone of the rollup's click days: a link's creation day is cut in it too. */
  readonly reportingTimeZone: string;
}

export function kvsSyncConfig(): KvsSyncConfig {
  return { keyValueStoreArn: required(ENV.keyValueStoreArn), linksTableName: required(ENV.linksTable), reportingTimeZone: reportingTimeZone() };
}

export interface RollupConfig {
  readonly quarterHourTableName: string;
  readonly dailyTableName: string;
  readonly monthlyTableName: string;
  readonly pendingRollupsTableName: string;
  readonly reportingTimeZone: string;
  /** Edge mode: the links table, whose links get the day of their latest click. Unset in origin mode. */
  readonly linksTableName: string | undefined;
}

export function rollupConfig(): RollupConfig {
  return {
    quarterHourTableName: required(ENV.quarterHourTable),
    dailyTableName: required(ENV.dailyTable),
    monthlyTableName: required(ENV.monthlyTable),
    pendingRollupsTableName: required(ENV.pendingRollupsTable),
    reportingTimeZone: reportingTimeZone(),
    linksTableName: optional(ENV.linksTable),
  };
}

/** A dashboard makes a dozen requests per view: 300 a minute lets a person click around freely and stops a runaway script. */
export const DEFAULT_REQUESTS_PER_MINUTE_PER_KEY = 300;

/** Where the admin API key comes from: a plain value locally, a Secrets Manager secret in AWS. */
export type ApiKeySource = { readonly kind: 'value'; readonly value: string } | { readonly kind: 'secret'; readonly secretArn: string };

export interface ApiConfig {
  readonly linksTableName: string;
  readonly apiKeysTableName: string;
  readonly apiRequestCountsTableName: string;
  /** Requests one owner key may make per minute. */
  readonly requestsPerMinutePerKey: number;
  readonly quarterHourTableName: string;
  readonly dailyTableName: string;
  readonly monthlyTableName: string;
  /** Read for the days the rollup has not finished, which stats answer from quarter-hour items. */
  readonly pendingRollupsTableName: string;
  /** Read by the raw export only (Query). */
  readonly rawClicksTableName: string;
  readonly reportingTimeZone: string;
  readonly apiKey: ApiKeySource;
  /** Origin short links are served from, without a trailing slash. */
  readonly publicBaseUrl: string | undefined;
  /** Extra host names of the shortener: links may not point back at them. */
  readonly shortLinkHosts: readonly string[];
  /** Links may point at private and other non-public hosts (intranet deployments); default false. */
  readonly allowPrivateDestinations: boolean;
}

function apiKeySource(): ApiKeySource {
  const value = optional(ENV.apiKey);
  if (value !== undefined) return { kind: 'value', value };
  const secretArn = optional(ENV.apiKeySecretArn);
  if (secretArn !== undefined) return { kind: 'secret', secretArn };
  throw new ConfigError(`Neither ${ENV.apiKey} nor ${ENV.apiKeySecretArn} is set.`);
}

function publicBaseUrl(): string | undefined {
  const raw = optional(ENV.publicBaseUrl);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`Environment variable ${ENV.publicBaseUrl} is not a URL: "${raw}".`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`Environment variable ${ENV.publicBaseUrl} must be http or https, got "${raw}".`);
  }
  return url.href.replace(/\/+$/, '');
}

export function apiConfig(): ApiConfig {
  return {
    linksTableName: required(ENV.linksTable),
    apiKeysTableName: required(ENV.apiKeysTable),
    apiRequestCountsTableName: required(ENV.apiRequestCountsTable),
    requestsPerMinutePerKey: positiveInteger(ENV.apiKeyRequestsPerMinute, DEFAULT_REQUESTS_PER_MINUTE_PER_KEY),
    quarterHourTableName: required(ENV.quarterHourTable),
    dailyTableName: required(ENV.dailyTable),
    monthlyTableName: required(ENV.monthlyTable),
    pendingRollupsTableName: required(ENV.pendingRollupsTable),
    rawClicksTableName: required(ENV.rawClicksTable),
    reportingTimeZone: reportingTimeZone(),
    apiKey: apiKeySource(),
    publicBaseUrl: publicBaseUrl(),
    shortLinkHosts: (optional(ENV.shortLinkHosts) ?? '')
      .split(',')
      .map((host) => host.trim())
      .filter((host) => host.length > 0),
    allowPrivateDestinations: booleanFlag(ENV.allowPrivateDestinations, false),
  };
}
