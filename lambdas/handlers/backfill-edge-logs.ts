/**
 * The backfill of edge clicks from CloudFront standard logs (docs/edge.md, The backfill from standard
 * logs): real-time log records are best effort, so each standard-log object the delivery writes is read
 * as a second source. Its S3 event notifications arrive on a queue; for each object named: GetObject,
 * gunzip and read it a line at a time (bounded memory), turn each redirect the edge function answered
 * into its click message (shared/edge-clicks.ts, as enrich-edge does), enrich it and store it only if the
 * raw clicks table lacks it (MissingRawClickWriter: a click the real-time path stored changes nothing,
 * so it is not counted twice), then DeleteObject once every click in it is stored. A failure fails only
 * its message, which SQS delivers again; an object already deleted was done by an earlier delivery.
 * Skipped lines are counted, never failed; the client IP leaves this handler only inside the visitor key
 * and as its network prefix, and no line's content is logged.
 */
import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { EventType } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DeleteObjectCommand, GetObjectCommand, NoSuchKey } from '@aws-sdk/client-s3';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { boundedLines, TOO_LONG } from '../domain/bounded-lines';
import { MAX_EDGE_LOG_RECORD_BYTES } from '../domain/edge-log';
import { parseS3Notification, type S3ObjectRef } from '../domain/s3-event';
import { parseStandardLogLine } from '../domain/standard-log';
import { storeClickBatch, type StoreClick } from '../shared/click-batch';
import { s3Client } from '../shared/clients/s3';
import { edgeEnrichConfig, type EdgeEnrichConfig } from '../shared/config';
import { edgeClickMessage, EdgeSkips } from '../shared/edge-clicks';
import { MissingRawClickWriter } from '../tables/raw-clicks';
import { METRICS_NAMESPACE } from '../contract';

const logger = new Logger({ serviceName: 'backfill-edge-logs' });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'backfill-edge-logs' });

/** Clicks handed to the writer before the reading waits for them: bounds the lines held in memory. */
const CLICKS_IN_FLIGHT = 100;

/** What an invocation counts besides the skipped lines. */
interface Tally {
  readonly skips: EdgeSkips;
  objectsRead: number;
  /** Named by a notification but gone: an earlier delivery of it read and deleted the object. */
  objectsAlreadyDone: number;
  /** Not gzip (or cut short): no retry can read them; left for the bucket's expiry. */
  objectsUnreadable: number;
}

/** zlib's errors for input that is not (whole) gzip data, as opposed to a failed download. */
const isUnreadableGzip = (error: unknown): boolean => /^Z_/.test(String((error as NodeJS.ErrnoException | undefined)?.code ?? ''));

/** Waits for every click of a batch, then fails with the first failure: nothing of the batch still runs after. */
async function allStored(clicks: readonly Promise<void>[]): Promise<void> {
  const failed = (await Promise.allSettled(clicks)).find((outcome) => outcome.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

async function storeClicksOf(lines: AsyncIterable<string | typeof TOO_LONG>, config: EdgeEnrichConfig, store: StoreClick, skips: EdgeSkips): Promise<void> {
  const inFlight: Promise<void>[] = [];
  const storeLine = async (line: string | typeof TOO_LONG): Promise<void> => {
    const parsed = line === TOO_LONG ? ({ skip: 'malformed-record' } as const) : parseStandardLogLine(line);
    if ('skip' in parsed) return skips.add(parsed.skip);
    const message = await edgeClickMessage(parsed.click, config, logger);
    if ('skip' in message) return skips.add(message.skip);
    await store(message);
  };
  try {
    for await (const line of lines) {
      if (line !== TOO_LONG && line.trim() === '') continue;
      inFlight.push(storeLine(line));
      if (inFlight.length >= CLICKS_IN_FLIGHT) await allStored(inFlight.splice(0));
    }
  } finally {
    // Settled before the record's outcome is decided, also when the reading failed.
    await allStored(inFlight.splice(0));
  }
}

async function backfillObject(object: S3ObjectRef, config: EdgeEnrichConfig, store: StoreClick, tally: Tally): Promise<void> {
  let body: Readable;
  try {
    body = (await s3Client().send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key }))).Body as Readable;
  } catch (error) {
    if (!(error instanceof NoSuchKey)) throw error;
    tally.objectsAlreadyDone += 1;
    return;
  }
  try {
    // pipeline, not pipe: a failed download must fail the reading, not leave it waiting.
    const gunzip = pipeline(body, createGunzip(), () => undefined);
    await storeClicksOf(boundedLines(gunzip, MAX_EDGE_LOG_RECORD_BYTES), config, store, tally.skips);
  } catch (error) {
    if (!isUnreadableGzip(error)) throw error;
    body.destroy();
    tally.objectsUnreadable += 1;
    // The key names the distribution and the hour, nothing of a viewer.
    logger.warn('standard-log object is not readable gzip; left for the bucket expiry', { bucket: object.bucket, key: object.key });
    return;
  }
  tally.objectsRead += 1;
  // Only now: every click of the object is in the table, and the viewer addresses in it are needed no more.
  await s3Client().send(new DeleteObjectCommand({ Bucket: object.bucket, Key: object.key }));
}

async function backfillMessage(record: SQSRecord, config: EdgeEnrichConfig, store: StoreClick, tally: Tally): Promise<void> {
  const notification = parseS3Notification(record.body);
  if ('test' in notification) return;
  for (const object of notification.objects) await backfillObject(object, config, store, tally);
}

export function handler(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
  const config = edgeEnrichConfig();
  const tally: Tally = { skips: new EdgeSkips(), objectsRead: 0, objectsAlreadyDone: 0, objectsUnreadable: 0 };
  let writer: MissingRawClickWriter | undefined;
  return storeClickBatch({
    event,
    eventType: EventType.SQS,
    context,
    logger,
    metrics,
    createWriter: (tableName) => (writer = new MissingRawClickWriter(tableName)),
    handleRecord: (record: SQSRecord, store) => backfillMessage(record, config, store, tally),
    beforePublish: () => {
      tally.skips.publish(metrics, logger, 'StandardLogLinesSkipped');
      metrics.addMetric('EdgeClicksBackfilled', MetricUnit.Count, writer?.stored ?? 0);
      metrics.addMetric('EdgeClicksAlreadyStored', MetricUnit.Count, writer?.present ?? 0);
      metrics.addMetric('StandardLogObjectsRead', MetricUnit.Count, tally.objectsRead);
      metrics.addMetric('StandardLogObjectsAlreadyDone', MetricUnit.Count, tally.objectsAlreadyDone);
      metrics.addMetric('StandardLogObjectsUnreadable', MetricUnit.Count, tally.objectsUnreadable);
    },
  });
}
