/**
 * SQS click queue consumer: validates each click message, enriches it (bot flag, user agent,
 * country, referrer) and stores it in the raw clicks table, one item per event id, written in
 * batches (tables/raw-clicks.ts).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { InvalidClickMessage, parseClickMessage, type ClickMessage } from '../domain/click';
import { Enricher } from '../domain/enrich';
import { enrichConfig, type EnrichConfig } from '../shared/config';
import { openCountryLookup, resolveGeoDatabasePath } from '../shared/geo';
import { getOrCreate } from '../shared/get-or-create';
import { observeInvocation } from '../shared/observability';
import { RawClickWriter } from '../tables/raw-clicks';
import { METRICS_NAMESPACE } from '../contract';

const logger = new Logger({ serviceName: 'enrich' });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'enrich' });

const enrichers = new Map<string, Enricher>();

/**
 * The GeoIP database is read once per process (and per configured file), not per invocation; its
 * Enricher's caches of User-Agents and networks last as long.
 */
function enricher(config: EnrichConfig): Enricher {
  const path = resolveGeoDatabasePath(config.geoDatabase);
  return getOrCreate(enrichers, `${config.geoDatabaseType}|${path}`, () => new Enricher(openCountryLookup(path, config.geoDatabaseType)));
}

async function storeClick(record: SQSRecord, writer: RawClickWriter, clicks: Enricher): Promise<void> {
  let message: ClickMessage;
  try {
    message = parseClickMessage(record.body);
  } catch (error) {
    if (error instanceof InvalidClickMessage) {
      // Fails alone; after the queue's maxReceiveCount it lands in the DLQ for a person to look at.
      logger.error('invalid click message', { messageId: record.messageId, reason: error.message });
    }
    throw error;
  }
  await writer.write(clicks.enrich(message));
}

export async function handler(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
  observeInvocation(context, logger, metrics);
  const config = enrichConfig();
  const clicks = enricher(config);
  // Per invocation, like the processor: both hold this batch's state, and the local stack may run invocations concurrently.
  const writer = new RawClickWriter(config.rawClicksTableName);
  const processor = new BatchProcessor(EventType.SQS);
  try {
    return await processPartialResponse(event, (record: SQSRecord) => storeClick(record, writer, clicks), processor, {
      context,
    });
  } finally {
    metrics.addMetric('ClicksStored', MetricUnit.Count, writer.stored);
    metrics.publishStoredMetrics();
  }
}
