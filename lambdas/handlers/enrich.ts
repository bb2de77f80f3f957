/**
 * SQS click queue consumer: validates each click message, enriches it (bot flag, user agent,
 * country, referrer) and stores it in the raw clicks table, once per event id.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { InvalidClickMessage, parseClickMessage, type ClickMessage } from '../domain/click';
import { enrichClick, type CountryLookup } from '../domain/enrich';
import { dynamoDocumentClient, isConditionalCheckFailed } from '../shared/aws-clients';
import { enrichConfig, type EnrichConfig } from '../shared/config';
import { openCountryLookup, resolveGeoDatabasePath } from '../shared/geo';
import { getOrCreate } from '../shared/get-or-create';

const logger = new Logger({ serviceName: 'enrich' });
const metrics = new Metrics({ namespace: 'ClickAnalytics', serviceName: 'enrich' });

const countryLookups = new Map<string, CountryLookup>();

/** The GeoIP database is read once per process (and per configured file), not per invocation. */
function countryLookup(config: EnrichConfig): CountryLookup {
  const path = resolveGeoDatabasePath(config.geoDatabase);
  return getOrCreate(countryLookups, `${config.geoDatabaseType}|${path}`, () =>
    openCountryLookup(path, config.geoDatabaseType),
  );
}

type Outcome = 'stored' | 'duplicate';

async function storeClick(record: SQSRecord, tableName: string, countryOf: CountryLookup): Promise<Outcome> {
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
  const click = enrichClick(message, countryOf);
  try {
    await dynamoDocumentClient().send(
      new PutCommand({
        TableName: tableName,
        Item: { ...click },
        // A redelivered message maps to the same clickKey: stored once, the stream sees one INSERT.
        ConditionExpression: 'attribute_not_exists(clickKey)',
      }),
    );
    return 'stored';
  } catch (error) {
    if (isConditionalCheckFailed(error)) return 'duplicate';
    throw error;
  }
}

export async function handler(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
  const config = enrichConfig();
  const countryOf = countryLookup(config);
  const outcomes: Outcome[] = [];
  // A processor per invocation: it holds the batch's state, and the local stack may run invocations concurrently.
  const processor = new BatchProcessor(EventType.SQS);
  try {
    return await processPartialResponse(
      event,
      async (record: SQSRecord) => outcomes.push(await storeClick(record, config.rawClicksTableName, countryOf)),
      processor,
      { context },
    );
  } finally {
    const count = (outcome: Outcome): number => outcomes.filter((each) => each === outcome).length;
    metrics.addMetric('ClicksStored', MetricUnit.Count, count('stored'));
    metrics.addMetric('DuplicateClick', MetricUnit.Count, count('duplicate'));
    metrics.publishStoredMetrics();
  }
}
