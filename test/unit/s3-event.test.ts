import fc from 'fast-check';
import { MalformedS3Notification, objectCreatedNotification, parseS3Notification } from '../../lambdas/domain/s3-event';

describe('parseS3Notification', () => {
  it('reads back the bucket and key of an ObjectCreated event, keys with spaces, plus signs and any text included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1 }), (key) => {
        const body = objectCreatedNotification({ region: 'us-east-1', bucket: 'logs', key, size: 1, eTag: 'e', at: new Date(0) });
        expect(parseS3Notification(body)).toEqual({ objects: [{ bucket: 'logs', key }] });
      }),
    );
  });

  it("decodes a key as S3 encodes it in an event ('+' is a space)", () => {
    const body = JSON.stringify({ Records: [{ s3: { bucket: { name: 'b' }, object: { key: 'AWSLogs/1/a+b%2Bc%C3%A9.gz' } } }] });
    expect(parseS3Notification(body)).toEqual({ objects: [{ bucket: 'b', key: 'AWSLogs/1/a b+cé.gz' }] });
  });

  it('takes the test event S3 sends when the notification is set up as naming no object', () => {
    expect(parseS3Notification(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'b' }))).toEqual({ test: true });
  });

  it.each(['not json', '[]', '{}', '{"Records": [{}]}', '{"Records": [{"s3": {"bucket": {"name": "b"}, "object": {"key": "%E0%A4%A"}}}]}'])(
    'refuses %s',
    (body) => {
      expect(() => parseS3Notification(body)).toThrow(MalformedS3Notification);
    },
  );
});
