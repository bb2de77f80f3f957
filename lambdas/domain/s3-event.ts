/**
 * Amazon S3 event notifications as a queue receives them (docs/edge.md, The backfill from standard logs):
 * a JSON body with `Records`, each naming a bucket and an object key (URL-encoded, a space as '+'); or,
 * once when the notification is configured, a test event naming no object.
 */

export interface S3ObjectRef {
  readonly bucket: string;
  readonly key: string;
}

/** What a notification message asks for: the objects created, or nothing (the test event). */
export type S3Notification = { readonly objects: readonly S3ObjectRef[] } | { readonly test: true };

export class MalformedS3Notification extends Error {
  override readonly name = 'MalformedS3Notification';
}

/** The `s3:TestEvent` S3 sends to a destination when a notification configuration is set. */
const TEST_EVENT = 's3:TestEvent';

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** An object key as S3 puts it in an event: form-encoded, so '+' is a space. Undefined when the escapes are broken. */
function decodedKey(encoded: string): string | undefined {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** The objects a notification names, or the test event; throws MalformedS3Notification for anything else. */
export function parseS3Notification(body: string): S3Notification {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new MalformedS3Notification('The message is not JSON');
  }
  if (!isRecord(parsed)) throw new MalformedS3Notification('The message is not a JSON object');
  if (parsed.Event === TEST_EVENT) return { test: true };
  if (!Array.isArray(parsed.Records)) throw new MalformedS3Notification('The message has no Records list');
  const objects = parsed.Records.map((record: unknown, index): S3ObjectRef => {
    const s3 = isRecord(record) && isRecord(record.s3) ? record.s3 : {};
    const bucket = isRecord(s3.bucket) ? s3.bucket.name : undefined;
    const key = isRecord(s3.object) && typeof s3.object.key === 'string' ? decodedKey(s3.object.key) : undefined;
    if (typeof bucket !== 'string' || bucket === '' || key === undefined || key === '') {
      throw new MalformedS3Notification(`Record ${index} names no bucket and object key`);
    }
    return { bucket, key };
  });
  return { objects };
}

/**
 * The notification S3 sends when an object is created, with the fields a consumer reads (bucket,
 * key, size), for the local stack's log delivery and for tests: the inverse of {@link parseS3Notification}.
 */
export function objectCreatedNotification(options: {
  readonly region: string;
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  readonly eTag: string;
  readonly at: Date;
}): string {
  const encodedKey = encodeURIComponent(options.key).replace(/%2F/g, '/').replace(/%20/g, '+');
  return JSON.stringify({
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: options.region,
        eventTime: options.at.toISOString(),
        eventName: 'ObjectCreated:Put',
        s3: {
          s3SchemaVersion: '1.0',
          bucket: { name: options.bucket, arn: `arn:aws:s3:::${options.bucket}` },
          object: { key: encodedKey, size: options.size, eTag: options.eTag, sequencer: options.at.getTime().toString(16).toUpperCase() },
        },
      },
    ],
  });
}
