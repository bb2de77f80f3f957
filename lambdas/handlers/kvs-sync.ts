/**
 * Links table stream consumer (NEW_AND_OLD_IMAGES): keeps the edge redirect's CloudFront KeyValueStore in
 * step with the links (docs/edge.md). Each record becomes at most one store change (a put for a live link
 * whose entry fits, a delete for one that left); within the batch the last change of a code wins, and the
 * changes go out as UpdateKeys requests of up to 50 keys.
 *
 * The requests are sent first and Powertools' BatchProcessor then reports the records of the requests that
 * failed: the work is the request, not the record. After a failed request the later ones are not sent and
 * fail too; Lambda retries the shard from the first failed record, and replaying a put or delete is harmless.
 * A put refused because the store is full is not a failure: that link is answered by the origin.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { edgeStoreChange, lastChangePerKey, updateRequests, type EdgeStoreChange } from '../domain/edge-store-sync';
import { kvsSyncConfig } from '../shared/config';
import { EdgeStoreWriter } from '../shared/edge-store';
import { observeInvocation } from '../shared/observability';
import { codeFromStreamKeys, linkFromStreamImage } from '../tables/links';
import { METRIC, METRICS_NAMESPACE } from '../contract';

const logger = new Logger({ serviceName: 'kvs-sync' });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'kvs-sync' });

function changeOf(record: DynamoDBRecord): EdgeStoreChange | null {
  const code = codeFromStreamKeys(record.dynamodb?.Keys);
  if (code === null) throw new Error('the record has no code in its Keys');
  return edgeStoreChange(code, linkFromStreamImage(record.dynamodb?.OldImage), linkFromStreamImage(record.dynamodb?.NewImage));
}

/** Applies the batch's changes; the failed records, each with its error. */
async function applyRecords(records: readonly DynamoDBRecord[], writer: EdgeStoreWriter): Promise<Map<DynamoDBRecord, Error>> {
  const failures = new Map<DynamoDBRecord, Error>();
  const changed: { record: DynamoDBRecord; change: EdgeStoreChange }[] = [];
  for (const record of records) {
    try {
      const change = changeOf(record);
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
  const writer = new EdgeStoreWriter(kvsSyncConfig().keyValueStoreArn);
  try {
    const failures = await applyRecords(event.Records, writer);
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
    if (writer.refusedForSpace.length > 0) {
      logger.warn('KeyValueStore full: these links fall back to the origin', { codes: writer.refusedForSpace });
    }
    metrics.addMetric('EdgeKeysPut', MetricUnit.Count, writer.keysPut);
    metrics.addMetric('EdgeKeysDeleted', MetricUnit.Count, writer.keysDeleted);
    metrics.addMetric(METRIC.edgeStoreFullRefusals, MetricUnit.Count, writer.refusedForSpace.length);
    metrics.addMetric('EdgeStoreStaleETags', MetricUnit.Count, writer.staleETags);
    metrics.publishStoredMetrics();
  }
}
