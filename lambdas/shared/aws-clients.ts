/**
 * Every AWS SDK client the handlers use, configured in this one place: region, endpoint
 * (set by the local stack, unset in AWS), retries and timeouts.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { getOrCreate } from './get-or-create';

interface ClientSettings {
  readonly region: string | undefined;
  readonly endpoint: string | undefined;
  readonly maxAttempts: number;
  readonly requestHandler: NodeHttpHandler;
}

// A redirect waits on DynamoDB: fail fast rather than hang, and let the SDK retry.
const CONNECTION_TIMEOUT_MS = 1_000;
const REQUEST_TIMEOUT_MS = 3_000;
const MAX_ATTEMPTS = 3;

function settings(endpointVariable: string): ClientSettings {
  return {
    region: process.env.AWS_REGION,
    // Passed explicitly: fauxqs queue URLs name a host that does not resolve.
    endpoint: process.env[endpointVariable] || undefined,
    maxAttempts: MAX_ATTEMPTS,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      httpAgent: new HttpAgent({ keepAlive: true }),
      httpsAgent: new HttpsAgent({ keepAlive: true }),
    }),
  };
}

/** One client per region and endpoint (see getOrCreate), created on first use. */
function cachedBy<T>(create: (config: ClientSettings) => T, endpointVariable: string): () => T {
  const clients = new Map<string, T>();
  return () =>
    getOrCreate(clients, `${process.env.AWS_REGION ?? ''}|${process.env[endpointVariable] ?? ''}`, () =>
      create(settings(endpointVariable)),
    );
}

export const dynamoDocumentClient = cachedBy(
  (config) =>
    DynamoDBDocumentClient.from(new DynamoDBClient(config), {
      marshallOptions: { removeUndefinedValues: true },
    }),
  'AWS_ENDPOINT_URL_DYNAMODB',
);

export const sqsClient = cachedBy((config) => new SQSClient(config), 'AWS_ENDPOINT_URL_SQS');

export const secretsManagerClient = cachedBy(
  (config) => new SecretsManagerClient(config),
  'AWS_ENDPOINT_URL_SECRETS_MANAGER',
);

/** A conditional write lost: the item already exists (or no longer matches). */
export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/**
 * DynamoDB's refusal of an item over 400 KB ("Item size has exceeded…", "Item size to update has
 * exceeded…"): no retry of the same write succeeds, so it is counted apart and alarmed on.
 */
export function isItemTooLarge(error: unknown): boolean {
  return error instanceof Error && error.name === 'ValidationException' && /item size/i.test(error.message);
}
