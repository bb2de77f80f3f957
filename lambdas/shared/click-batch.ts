/**
 * What every raw-click consumer does with a batch (the click queue's, enrich.ts; the edge log
 * stream's, enrich-edge.ts; the standard-log backfill's, backfill-edge-logs.ts): each record handed to the record handler with a way to store its click
 * message, enriched (bot flag, user agent, country, referrer) and written in batches to the raw
 * clicks table, one item per event id (tables/raw-clicks.ts), failing only the records whose
 * handler throws.
 */
import { BatchProcessor, type EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { BaseRecord, PartialItemFailureResponse } from '@aws-lambda-powertools/batch/types';
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { ClickMessage } from '../domain/click';
import { Enricher } from '../domain/enrich';
import { enrichConfig, type EnrichConfig } from './config';
import { openCountryLookup, resolveGeoDatabasePath } from './geo';
import { getOrCreate } from './get-or-create';
import { observeInvocation } from './observability';
import { type ClickWriter, RawClickWriter } from '../tables/raw-clicks';

const enrichers = new Map<string, Enricher>();

/**
 * The GeoIP database is read once per process (and per configured file), not per invocation; its
 * Enricher's caches of User-Agents and networks last as long.
 */
function enricher(config: EnrichConfig): Enricher {
  const path = resolveGeoDatabasePath(config.geoDatabase);
  return getOrCreate(enrichers, `${config.geoDatabaseType}|${path}`, () => new Enricher(openCountryLookup(path, config.geoDatabaseType)));
}

/** Resolves once the click is in the raw clicks table. */
export type StoreClick = (message: ClickMessage) => Promise<void>;

export interface ClickBatch<R extends BaseRecord> {
  readonly event: { readonly Records: R[] };
  readonly eventType: (typeof EventType)[keyof typeof EventType];
  readonly context: Context | undefined;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Throws to fail the record alone. */
  readonly handleRecord: (record: R, storeClick: StoreClick) => Promise<void>;
  /** Adds the caller's own metrics of the batch, just before they are published. */
  readonly beforePublish?: () => void;
  /**
   * The invocation's writer into the raw clicks table.
   * @default a RawClickWriter (unconditional puts)
   */
  readonly createWriter?: (rawClicksTableName: string) => ClickWriter;
}

export async function storeClickBatch<R extends BaseRecord>(batch: ClickBatch<R>): Promise<PartialItemFailureResponse> {
  const { metrics } = batch;
  observeInvocation(batch.context, batch.logger, metrics);
  const config = enrichConfig();
  const clicks = enricher(config);
  // Per invocation, like the processor: both hold this batch's state, and the local stack may run invocations concurrently.
  const writer = (batch.createWriter ?? ((tableName: string) => new RawClickWriter(tableName)))(config.rawClicksTableName);
  const processor = new BatchProcessor(batch.eventType);
  const storeClick: StoreClick = (message) => writer.write(clicks.enrich(message));
  try {
    return await processPartialResponse(batch.event, (record: R) => batch.handleRecord(record, storeClick), processor, { context: batch.context });
  } finally {
    metrics.addMetric('ClicksStored', MetricUnit.Count, writer.stored);
    batch.beforePublish?.();
    metrics.publishStoredMetrics();
  }
}
