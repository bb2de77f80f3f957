/**
 * Consumer of the edge redirect's CloudFront real-time logs (Kinesis Data Streams): each record is
 * one log line; the redirects the edge function answered become the same click message the origin
 * redirect sends (domain/click.ts, clickMessageOf), and are enriched and stored as enrich.ts stores
 * the queue's (shared/click-batch.ts). Everything else is skipped and counted, never failed: what
 * reached the origin is recorded there. A links-table, salts-table or raw-clicks-table failure fails
 * only its records, and Lambda retries them; raw clicks are keyed by the event id made from
 * x-edge-request-id, so a record delivered again overwrites its own item. No client IP is logged
 * or stored: it leaves this handler only inside the visitor key and as its network prefix.
 */
import { EventType } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { clickMessageOf } from '../domain/click';
import { parseEdgeLogRecord, type EdgeLogSkipReason } from '../domain/edge-log';
import { storeClickBatch, type StoreClick } from '../shared/click-batch';
import { edgeEnrichConfig, type EdgeEnrichConfig } from '../shared/config';
import { getOrCreate } from '../shared/get-or-create';
import { followedLinks } from '../shared/link-lookup';
import { SaltStore } from '../shared/salt-store';
import { METRICS_NAMESPACE } from '../contract';

const logger = new Logger({ serviceName: 'enrich-edge' });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'enrich-edge' });

const saltStores = new Map<string, SaltStore>();

/** Why a record gave no click: the log record's own reasons, and the link's. */
export type EdgeRecordSkipReason =
  | EdgeLogSkipReason
  /** No live link has the code: unknown, deleted or disabled since the store was last written. */
  | 'unknown-link'
  /** The link has no owner to count its clicks for (an item written by hand); the origin does not record these either. */
  | 'link-without-owner';

// Failing rather than using a process-local salt: the record is retried, and a local salt would key the visitor apart from every other instance.
const saltStore = (config: EdgeEnrichConfig): SaltStore =>
  getOrCreate(saltStores, config.saltsTableName, () => new SaltStore(config.saltsTableName, logger, 'reject'));

async function storeEdgeClick(
  record: KinesisStreamRecord,
  config: EdgeEnrichConfig,
  store: StoreClick,
  skip: (reason: EdgeRecordSkipReason) => void,
): Promise<void> {
  const parsed = parseEdgeLogRecord(Buffer.from(record.kinesis.data, 'base64').toString('utf8'));
  if ('skip' in parsed) return skip(parsed.skip);
  const { click } = parsed;
  const link = await followedLinks(config).get(click.code);
  if (link === null) return skip('unknown-link');
  if (link.owner === null) return skip('link-without-owner');
  // The salt of the period the click happened in, which the origin would have used then.
  const salt = await saltStore(config).current(click.at, config.saltPeriod);
  await store(clickMessageOf({ ...click, owner: link.owner }, salt));
}

export function handler(event: KinesisStreamEvent, context?: Context): Promise<KinesisStreamBatchResponse> {
  const config = edgeEnrichConfig();
  const skipped = new Map<EdgeRecordSkipReason, number>();
  const skip = (reason: EdgeRecordSkipReason): void => {
    skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
  };
  return storeClickBatch({
    event,
    eventType: EventType.KinesisDataStreams,
    context,
    logger,
    metrics,
    handleRecord: (record: KinesisStreamRecord, store) => storeEdgeClick(record, config, store, skip),
    beforePublish: () => {
      const total = [...skipped.values()].reduce((sum, count) => sum + count, 0);
      metrics.addMetric('EdgeRecordsSkipped', MetricUnit.Count, total);
      metrics.addMetric('EdgeClicksOfUnknownLinks', MetricUnit.Count, skipped.get('unknown-link') ?? 0);
      // Counts only: a record's content holds the client's address.
      if (total > 0) logger.info('edge log records skipped', { skipped: Object.fromEntries(skipped) });
    },
  });
}
