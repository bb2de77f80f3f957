/** The SQS client of the redirect's click publisher and the backfill. */
import { SQSClient } from '@aws-sdk/client-sqs';
import { cachedBy } from './settings';

export const sqsClient = cachedBy((config) => new SQSClient(config), 'AWS_ENDPOINT_URL_SQS');
