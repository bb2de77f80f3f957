/**
 * Links table stream consumer (NEW_AND_OLD_IMAGES): keeps the edge redirect's CloudFront KeyValueStore in
 * step with the links (docs/edge.md). Each record becomes at most one store change (a put for a live link
 * whose entry fits, a delete for one that left); within the batch the last change of a code wins, and the
 * changes go out as UpdateKeys requests of up to 50 keys.
 *
 * The requests are sent first and Powertools' BatchProcessor then reports the records of the requests that
 * failed: the work is the request, not the record. After a failed request the later ones are not sent and
 * fail too; Lambda retries the shard from the first failed record, and replaying a put or delete is harmless.
 * When the store is full, a put makes room by evicting links clicked on an earlier day, least recently
 * clicked first; a put that still does not fit is not a failure: that link is answered by the origin.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { edgeStoreChange, lastChangePerKey, linkRecency, updateRequests, type EdgeStoreChange, type StreamedLink } from '../domain/edge-store-sync';
import { kvsSyncConfig, type KvsSyncConfig } from '../shared/config';
import { EdgeStoreWriter, type HeldLinks } from '../shared/edge-store';
import { observeInvocation } from '../shared/observability';
import {
  codeFromStreamKeys,
  linkFromStreamImage,
  listHeldAtEdgeClickedBefore,
  markHeldAtEdge,
  releaseFromEdge,
  type StreamedLinkRecord,
} from '../tables/links';
import { METRIC, METRICS_NAMESPACE } from '../contract';

const logger = new Logger({ serviceName: 'kvs-sync' });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'kvs-sync' });

function streamedLink(link: StreamedLinkRecord | null, tz: string): StreamedLink | null {
  if (link === null) return null;
  return { url: link.url, disabled: link.disabled, held: link.heldAtEdge, recency: linkRecency(link.lastClickDay, link.createdAt, tz) };
}

function changeOf(record: DynamoDBRecord, tz: string): EdgeStoreChange | null {
  const code = codeFromStreamKeys(record.dynamodb?.Keys);
  if (code === null) throw new Error('the record has no code in its Keys');
  const image = (which: 'OldImage' | 'NewImage'): StreamedLink | null => streamedLink(linkFromStreamImage(record.dynamodb?.[which]), tz);
  return edgeStoreChange(code, image('OldImage'), image('NewImage'));
}

/** The links table's side of the store: the held links by recency, and their marks. */
function heldLinksOf(tableName: string): HeldLinks {
  return {
    clickedBefore: async (day, limit) =>
      (await listHeldAtEdgeClickedBefore(tableName, day, limit)).map(({ code, url, lastClickDay }) => ({ key: code, value: url, recency: lastClickDay })),
    claim: ({ key, recency }) => releaseFromEdge(tableName, key, recency),
    hold: async ({ key, value, recency }) => {
      await markHeldAtEdge(tableName, key, value, recency);
    },
    release: async (key) => {
      await releaseFromEdge(tableName, key);
    },
  };
}

/** Applies the batch's changes; the failed records, each with its error. */
async function applyRecords(records: readonly DynamoDBRecord[], writer: EdgeStoreWriter, config: KvsSyncConfig): Promise<Map<DynamoDBRecord, Error>> {
  const failures = new Map<DynamoDBRecord, Error>();
  const changed: { record: DynamoDBRecord; change: EdgeStoreChange }[] = [];
  for (const record of records) {
    try {
      const change = changeOf(record, config.reportingTimeZone);
      if (change !== null) changed.push({ record, change });
    } catch (error) {
      logger.error('malformed links stream record', { sequenceNumber: record.dynamodb?.SequenceNumber, reason: (error as Error).message });
      failures.set(record, error as Error);
    }
  }

  const failedKeys = new Map<string, Error>();
  let firstFailure: Error | null = null;
  for (const request of updateRequests(lastChangePerKey(changed.map(({ change }) => change)))) {
    if (firstFailure === null) {
      try {
        await writer.apply(request);
      } catch (error) {
        firstFailure = error as Error;
        logger.error('KeyValueStore update failed', { keys: request.length, error: firstFailure });
      }
    }
    if (firstFailure !== null) for (const { key } of request) failedKeys.set(key, firstFailure);
  }
  for (const { record, change } of changed) {
    const failure = failedKeys.get(change.key);
    if (failure !== undefined) failures.set(record, failure);
  }
  return failures;
}

export async function handler(event: DynamoDBStreamEvent, context?: Context): Promise<DynamoDBBatchResponse> {
  observeInvocation(context, logger, metrics);
  const config = kvsSyncConfig();
  const writer = new EdgeStoreWriter(config.keyValueStoreArn, heldLinksOf(config.linksTableName));
  try {
    const failures = await applyRecords(event.Records, writer, config);
    const processor = new BatchProcessor(EventType.DynamoDBStreams);
    return await processPartialResponse(
      event,
      (record: DynamoDBRecord) => {
        const failure = failures.get(record);
        if (failure !== undefined) throw failure;
      },
      processor,
      { context },
    );
  } finally {
    if (writer.evicted.length > 0) {
      logger.info('KeyValueStore full: these less recently clicked links leave it for the origin', { codes: writer.evicted });
    }
    if (writer.refusedForSpace.length > 0) {
      logger.warn('KeyValueStore full: these links fall back to the origin', { codes: writer.refusedForSpace });
    }
    metrics.addMetric('EdgeKeysPut', MetricUnit.Count, writer.keysPut);
    metrics.addMetric('EdgeKeysDeleted', MetricUnit.Count, writer.keysDeleted);
    metrics.addMetric('EdgeKeysEvicted', MetricUnit.Count, writer.evicted.length);
    metrics.addMetric(METRIC.edgeStoreFullRefusals, MetricUnit.Count, writer.refusedForSpace.length);
    metrics.addMetric('EdgeStoreStaleETags', MetricUnit.Count, writer.staleETags);
    metrics.publishStoredMetrics();
  }
}
