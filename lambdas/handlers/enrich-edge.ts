/**
 * Consumer of the edge redirect's CloudFront real-time logs (Kinesis Data Streams): each record is
 * one log line; the redirects the edge function answered become the same click message the origin
 * redirect sends (shared/edge-clicks.ts), and are enriched and stored as enrich.ts stores the
 * queue's (shared/click-batch.ts). Everything else is skipped and counted, never failed: what
 * reached the origin is recorded there. A links-table, salts-table or raw-clicks-table failure fails
 * only its records, and Lambda retries them; raw clicks are keyed by the event id made from
 * x-edge-request-id, so a record delivered again overwrites its own item. No client IP is logged
 * or stored: it leaves this handler only inside the visitor key and as its network prefix.
 */
import { EventType } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { parseEdgeLogRecord } from '../domain/edge-log';
import { storeClickBatch, type StoreClick } from '../shared/click-batch';
import { edgeEnrichConfig, type EdgeEnrichConfig } from '../shared/config';
import { edgeClickMessage, EdgeSkips } from '../shared/edge-clicks';
import { METRICS_NAMESPACE } from '../contract';

const logger = new Logger({ serviceName: 'enrich-edge' });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'enrich-edge' });

async function storeEdgeClick(record: KinesisStreamRecord, config: EdgeEnrichConfig, store: StoreClick, skips: EdgeSkips): Promise<void> {
  const parsed = parseEdgeLogRecord(Buffer.from(record.kinesis.data, 'base64').toString('utf8'));
  if ('skip' in parsed) return skips.add(parsed.skip);
  const message = await edgeClickMessage(parsed.click, config, logger);
  if ('skip' in message) return skips.add(message.skip);
  await store(message);
}

export function handler(event: KinesisStreamEvent, context?: Context): Promise<KinesisStreamBatchResponse> {
  const config = edgeEnrichConfig();
  const skips = new EdgeSkips();
  return storeClickBatch({
    event,
    eventType: EventType.KinesisDataStreams,
    context,
    logger,
    metrics,
    handleRecord: (record: KinesisStreamRecord, store) => storeEdgeClick(record, config, store, skips),
    beforePublish: () => skips.publish(metrics, logger, 'EdgeRecordsSkipped'),
  });
}
