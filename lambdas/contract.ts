/**
 * The values the stack (lib/), the functions (lambdas/) and the local stack (local/) must spell the
 * same way: one definition each, imported on every side. Pure TypeScript, so any tier may import it.
 * docs/design.md lists them beside the other contracts.
 */

/** The CloudFormation stack id bin/app.ts deploys and the local stack synthesizes. */
export const STACK_ID = 'ClickAnalytics';

/** Namespace of every function's Powertools metrics and of the stack's alarms on them. */
export const METRICS_NAMESPACE = 'ClickAnalytics';

/** Metric names a function publishes and an alarm watches. */
export const METRIC = {
  /** Aggregate-item writes DynamoDB refused for size, published by the aggregator and the rollup. */
  itemsTooLarge: 'AggregateItemsTooLarge',
  /** Per aggregator batch, milliseconds from its oldest counted click to its writes done (docs/statistics.md). */
  aggregationLag: 'AggregationLag',
  /** Age of the oldest pending rollup marker, published by every rollup run: the rollup-lag alarm. */
  oldestPendingRollupSeconds: 'OldestPendingRollupSeconds',
  /** Link puts the full edge KeyValueStore refused (those links fall back to the origin), published by the KVS sync. */
  edgeStoreFullRefusals: 'EdgeStoreFullRefusals',
} as const;

/** Metadata keys on each AWS::Lambda::Function, read by the local stack, tools and tests. */
export const FUNCTION_METADATA = {
  /** The handler's source file, relative to the project root. */
  entry: 'ClickAnalytics:Entry',
  /** The files copied into the bundle beside index.mjs. */
  assets: 'ClickAnalytics:Assets',
} as const;

/** How often the visitor-hash salt rotates; the stack's `visitorSaltPeriod` option and the redirect's setting. */
export const SALT_PERIODS = ['day', 'week', 'month'] as const;
export type SaltPeriod = (typeof SALT_PERIODS)[number];
export const DEFAULT_SALT_PERIOD: SaltPeriod = 'month';

/** The owner the single admin API key acts as, and that owns links created with it. */
export const ADMIN_OWNER = 'admin';

/** Environment variable names the stack sets and the functions read (docs/design.md, "Configuration"). */
export const ENV = {
  linksTable: 'LINKS_TABLE_NAME',
  saltsTable: 'SALTS_TABLE_NAME',
  rawClicksTable: 'RAW_CLICKS_TABLE_NAME',
  quarterHourTable: 'QUARTER_HOUR_TABLE_NAME',
  dailyTable: 'DAILY_TABLE_NAME',
  monthlyTable: 'MONTHLY_TABLE_NAME',
  pendingRollupsTable: 'PENDING_ROLLUPS_TABLE_NAME',
  apiKeysTable: 'API_KEYS_TABLE_NAME',
  apiRequestCountsTable: 'API_REQUEST_COUNTS_TABLE_NAME',
  /** Requests an owner key may make per minute. */
  apiKeyRequestsPerMinute: 'API_KEY_REQUESTS_PER_MINUTE',
  clickQueueUrl: 'CLICK_QUEUE_URL',
  visitorSaltPeriod: 'VISITOR_SALT_PERIOD',
  linkCacheTtlSeconds: 'LINK_CACHE_TTL_SECONDS',
  clickFlushDelayMs: 'CLICK_FLUSH_DELAY_MS',
  geoipDatabase: 'GEOIP_DATABASE',
  geoipDatabaseType: 'GEOIP_DATABASE_TYPE',
  reportingTimeZone: 'REPORTING_TIME_ZONE',
  apiKeySecretArn: 'API_KEY_SECRET_ARN',
  /** The admin key itself, set only by the local stack (AWS reads it from the secret). */
  apiKey: 'CLICKS_API_KEY',
  shortLinkHosts: 'SHORT_LINK_HOSTS',
  allowPrivateDestinations: 'ALLOW_PRIVATE_DESTINATIONS',
  publicBaseUrl: 'PUBLIC_BASE_URL',
  /** The edge redirect's CloudFront KeyValueStore, kept in step with the links table. */
  keyValueStoreArn: 'KEY_VALUE_STORE_ARN',
  /** Set by the Powertools wiring of the house function construct. */
  metricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
} as const;

/** Region and account the local stack resolves the template's pseudo parameters with. */
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT_ID = '000000000000';
/** Any value will do for the emulators; fixed so a developer's real AWS credentials are never used. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
