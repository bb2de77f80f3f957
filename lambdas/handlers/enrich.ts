/**
 * SQS click queue consumer: validates each click message, enriches it (bot flag, user agent,
 * country, referrer) and stores it in the raw clicks table, one item per event id, written in
 * batches (shared/click-batch.ts, tables/raw-clicks.ts).
 */
import { EventType } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { InvalidClickMessage, parseClickMessage, type ClickMessage } from '../domain/click';
import { storeClickBatch, type StoreClick } from '../shared/click-batch';
import { METRICS_NAMESPACE } from '../contract';

const logger = new Logger({ serviceName: 'enrich' });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'enrich' });

async function storeClick(record: SQSRecord, store: StoreClick): Promise<void> {
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
  await store(message);
}

export function handler(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
  return storeClickBatch({ event, eventType: EventType.SQS, context, logger, metrics, handleRecord: storeClick });
}
