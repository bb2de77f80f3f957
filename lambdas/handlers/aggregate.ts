/**
 * Raw clicks table stream consumer: folds each batch of new clicks into the hourly aggregates
 * table with one UpdateItem (ADD) per link-hour.
 *
 * Not Powertools' BatchProcessor: its unit of work is the record, while here it is the
 * link-hour, known only after the whole batch is parsed; a failed update fails every record
 * that fed it. The partial batch response is built directly instead.
 *
 * At-least-once: Lambda retries a stream batch from its lowest failed sequence number, so
 * records after it (and already applied counter chunks) are counted again. Exactly-once
 * counting under retries is the statistics issue's job.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { parseRawClick, type RawClick } from '../domain/click';
import { aggregateHourly, type HourlyDelta } from '../domain/hourly';
import { addDaysEpochSeconds, hourBucket, hourStart, HOURLY_RETENTION_DAYS } from '../domain/time-buckets';
import { dynamoDocumentClient } from '../shared/aws-clients';
import { aggregateConfig } from '../shared/config';

const logger = new Logger({ serviceName: 'aggregate' });
const metrics = new Metrics({ namespace: 'ClickAnalytics', serviceName: 'aggregate' });

/** Keeps every update expression far below DynamoDB's 4 KB expression limit. */
const MAX_COUNTERS_PER_UPDATE = 40;

interface StreamedClick {
  readonly click: RawClick;
  readonly sequenceNumber: string | undefined;
}

const linkHourOf = (code: string, hour: string): string => `${code}\n${hour}`;

/** The record's click, or null (logged) when its image is missing or malformed. */
function parseRecord(record: DynamoDBRecord): RawClick | null {
  try {
    const image = record.dynamodb?.NewImage;
    if (image === undefined) throw new Error('the record has no NewImage (is the stream NEW_IMAGE?)');
    // aws-lambda's stream AttributeValue and the SDK's describe the same wire shape.
    return parseRawClick(unmarshall(image as Record<string, AttributeValue>));
  } catch (error) {
    logger.error('malformed raw click in stream', {
      sequenceNumber: record.dynamodb?.SequenceNumber,
      reason: (error as Error).message,
    });
    return null;
  }
}

async function applyDelta(tableName: string, delta: HourlyDelta): Promise<void> {
  const expiresAt = addDaysEpochSeconds(hourStart(delta.hour), HOURLY_RETENTION_DAYS);
  const counters = Object.entries(delta.counters);
  const chunks: [string, number][][] = [];
  for (let start = 0; start < counters.length; start += MAX_COUNTERS_PER_UPDATE) {
    chunks.push(counters.slice(start, start + MAX_COUNTERS_PER_UPDATE));
  }
  // The first update also carries the totals, so an hour with only bot clicks still gets one.
  const [firstChunk = [], ...otherChunks] = chunks;
  const totals: [string, number][] = [
    ['clicks', delta.clicks],
    ['botClicks', delta.botClicks],
  ];
  for (const additions of [[...totals, ...firstChunk], ...otherChunks]) {
    const names: Record<string, string> = { '#expiresAt': 'expiresAt' };
    const values: Record<string, number> = { ':expiresAt': expiresAt };
    additions.forEach(([name, value], index) => {
      names[`#a${index}`] = name;
      values[`:a${index}`] = value;
    });
    await dynamoDocumentClient().send(
      new UpdateCommand({
        TableName: tableName,
        Key: { code: delta.code, hour: delta.hour },
        UpdateExpression: `ADD ${additions.map((_, index) => `#a${index} :a${index}`).join(', ')} SET #expiresAt = :expiresAt`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }
}

export async function handler(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
  const { hourlyTableName } = aggregateConfig();
  const failedSequenceNumbers = new Set<string>();
  const streamed: StreamedClick[] = [];
  let malformed = 0;

  for (const record of event.Records) {
    // The event source mapping filters on INSERT; anything else is not a new click.
    if (record.eventName !== 'INSERT') continue;
    const sequenceNumber = record.dynamodb?.SequenceNumber;
    const click = parseRecord(record);
    // A malformed image never parses on a retry either, and reporting it would make Lambda
    // re-apply every valid record after it: it is logged (in parseRecord), counted and skipped.
    // The raw clicks table still holds the item for whoever investigates.
    if (click !== null) streamed.push({ click, sequenceNumber });
    else malformed += 1;
  }

  const deltas = aggregateHourly(streamed.map(({ click }) => click));
  const outcomes = await Promise.allSettled(deltas.map((delta) => applyDelta(hourlyTableName, delta)));

  const failedLinkHours = new Set<string>();
  outcomes.forEach((outcome, index) => {
    if (outcome.status === 'fulfilled') return;
    const { code, hour } = deltas[index];
    logger.error('hourly update failed', { code, hour, error: (outcome.reason as Error).message });
    failedLinkHours.add(linkHourOf(code, hour));
  });
  let aggregated = 0;
  for (const { click, sequenceNumber } of streamed) {
    if (failedLinkHours.has(linkHourOf(click.code, hourBucket(click.ts)))) {
      if (sequenceNumber !== undefined) failedSequenceNumbers.add(sequenceNumber);
    } else {
      aggregated += 1;
    }
  }

  metrics.addMetric('ClicksAggregated', MetricUnit.Count, aggregated);
  metrics.addMetric('AggregationFailures', MetricUnit.Count, failedSequenceNumbers.size);
  metrics.addMetric('MalformedStreamRecords', MetricUnit.Count, malformed);
  metrics.publishStoredMetrics();
  return { batchItemFailures: [...failedSequenceNumbers].map((itemIdentifier) => ({ itemIdentifier })) };
}
