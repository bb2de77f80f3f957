/** The DynamoDB document client of the handlers, and the two errors they tell apart. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { cachedBy } from './settings';

export const dynamoDocumentClient = cachedBy(
  (config) => DynamoDBDocumentClient.from(new DynamoDBClient(config), { marshallOptions: { removeUndefinedValues: true } }),
  'AWS_ENDPOINT_URL_DYNAMODB',
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
