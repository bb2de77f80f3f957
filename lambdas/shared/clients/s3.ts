/** The S3 client of the standard-log backfill. */
import { S3Client } from '@aws-sdk/client-s3';
import { cachedBy } from './settings';

// Path-style against a local endpoint (http://127.0.0.1:port/bucket/key): a bucket-named host would not resolve there.
export const s3Client = cachedBy((config) => new S3Client({ ...config, forcePathStyle: config.endpoint !== undefined }), 'AWS_ENDPOINT_URL_S3');
