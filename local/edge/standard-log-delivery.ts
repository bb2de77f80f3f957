/**
 * The standard-log delivery of the edge (redirectMode=edge), emulated: what CloudFront and the CloudWatch
 * Logs delivery service do with the distribution's access logs on AWS. The edge front hands over each
 * request's standard-log line; after a delay, the lines are written as gzip objects into the template's
 * log bucket (fauxqs S3, the same key layout as the delivery's), and each object's S3 event notification
 * is sent to the queue the bucket notifies, where the backfill function's poller finds it (docs/edge.md).
 */
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { objectCreatedNotification } from '../../lambdas/domain/s3-event';
import { getOrCreate } from '../../lambdas/shared/get-or-create';
import {
  STANDARD_LOG_FIELDS,
  STANDARD_LOG_OUTPUT_FORMAT,
  STANDARD_LOG_SUFFIX_PATH,
  standardLogObjectKey,
} from '../../lambdas/domain/standard-log';
import { referencedLogicalId, resourcesOfType } from '../template';
import { asRecord, type CfnTemplate, type Stoppable } from '../types';

const gzipped = promisify(gzip);
const HOUR_MS = 3_600_000;

/** The delivery's destination bucket and the queue its object notifications go to, by logical ID. */
export interface StandardLogDeliveryTarget {
  readonly bucketId: string;
  readonly queueId: string;
}

/**
 * The template's standard-log delivery, when it has one (edge mode); undefined otherwise. Throws on what
 * is not emulated: another output format, field list or suffix path than the backfill reads, a
 * destination that is not a bucket of the stack, or a bucket that notifies no queue of new objects.
 */
export function standardLogDeliveryFromTemplate(template: CfnTemplate): StandardLogDeliveryTarget | undefined {
  const deliveries = resourcesOfType(template, 'AWS::Logs::Delivery');
  if (deliveries.length === 0) return undefined;
  if (deliveries.length > 1) throw new Error('Only one log delivery is emulated locally');
  const { logicalId, resource } = deliveries[0];
  const delivery = asRecord(resource.Properties);
  const fail = (why: string): never => {
    throw new Error(`Log delivery ${logicalId}: ${why}`);
  };
  if (JSON.stringify(delivery.RecordFields) !== JSON.stringify(STANDARD_LOG_FIELDS)) fail(`only the fields ${STANDARD_LOG_FIELDS.join(', ')} are emulated locally`);
  if (delivery.S3SuffixPath !== STANDARD_LOG_SUFFIX_PATH) fail(`only the suffix path ${STANDARD_LOG_SUFFIX_PATH} is emulated locally`);
  const destinationId = referencedLogicalId(delivery.DeliveryDestinationArn);
  const destination = asRecord(destinationId === undefined ? undefined : template.Resources[destinationId]?.Properties);
  if (destination.OutputFormat !== STANDARD_LOG_OUTPUT_FORMAT) fail(`only the ${STANDARD_LOG_OUTPUT_FORMAT} output format is emulated locally`);
  const bucketId = referencedLogicalId(destination.DestinationResourceArn);
  if (bucketId === undefined || template.Resources[bucketId]?.Type !== 'AWS::S3::Bucket') return fail('its destination is not an S3 bucket of the stack');
  const queueId = resourcesOfType(template, 'Custom::S3BucketNotifications')
    .map(({ resource: notifications }) => asRecord(notifications.Properties))
    .filter((notifications) => referencedLogicalId(notifications.BucketName) === bucketId)
    .flatMap((notifications) => {
      const queues = asRecord(notifications.NotificationConfiguration).QueueConfigurations;
      return Array.isArray(queues) ? queues.map((queue) => referencedLogicalId(asRecord(queue).QueueArn)) : [];
    })[0];
  if (queueId === undefined) return fail(`its bucket ${bucketId} notifies no queue of new objects`);
  return { bucketId, queueId };
}

export interface StandardLogDeliveryOptions {
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  /** The local bucket's name (created here) and the notification queue's URL. */
  readonly bucketName: string;
  readonly queueUrl: string;
  readonly region: string;
  readonly accountId: string;
  readonly distributionId: string;
  /** How long a line waits before its object is written: CloudFront's delivery takes up to an hour, usually. */
  readonly delaySeconds: number;
  readonly log: (line: string) => void;
}

export interface StandardLogDelivery extends Stoppable {
  /** Keeps a request's standard-log line, for the object of the hour the request was in. */
  add(line: string, at: Date): void;
}

export async function startStandardLogDelivery(options: StandardLogDeliveryOptions): Promise<StandardLogDelivery> {
  await options.s3.send(new CreateBucketCommand({ Bucket: options.bucketName }));
  /** Lines waiting for the next delivery, by the start of their hour. */
  let waiting = new Map<number, string[]>();
  let delivering: Promise<void> = Promise.resolve();

  const deliverHour = async (hour: number, lines: readonly string[]): Promise<void> => {
    const key = standardLogObjectKey(options.accountId, options.distributionId, new Date(hour), randomBytes(4).toString('hex'));
    const body = await gzipped(`${lines.join('\n')}\n`);
    const { ETag } = await options.s3.send(new PutObjectCommand({ Bucket: options.bucketName, Key: key, Body: body }));
    const notification = objectCreatedNotification({
      region: options.region,
      bucket: options.bucketName,
      key,
      size: body.length,
      eTag: (ETag ?? '').replace(/"/g, ''),
      at: new Date(),
    });
    await options.sqs.send(new SendMessageCommand({ QueueUrl: options.queueUrl, MessageBody: notification }));
  };

  const deliver = (): Promise<void> => {
    const batch = waiting;
    waiting = new Map();
    const run = async (): Promise<void> => {
      for (const [hour, lines] of batch) {
        // The lines hold viewer addresses: a failure names the object's hour and size alone.
        await deliverHour(hour, lines).catch((error: unknown) =>
          options.log(`Standard-log object of ${new Date(hour).toISOString()} (${lines.length} lines) not delivered: ${error instanceof Error ? error.message : String(error)}`),
        );
      }
    };
    delivering = delivering.then(run);
    return delivering;
  };
  const timer = setInterval(() => void deliver(), options.delaySeconds * 1000);

  return {
    add: (line, at) => {
      getOrCreate(waiting, Math.floor(at.getTime() / HOUR_MS) * HOUR_MS, () => []).push(line);
    },
    // A clean stop delivers what is waiting, before the pollers drain.
    stop: async () => {
      clearInterval(timer);
      await deliver();
    },
  };
}
