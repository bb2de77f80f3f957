/** The handlers' DynamoDB document client, the two errors they tell apart, and what a conditional write's outcome was. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { cachedBy } from './settings';

export const dynamoDocumentClient = cachedBy(
  (config) => DynamoDBDocumentClient.from(new DynamoDBClient(config), { marshallOptions: { removeUndefinedValues: true } }),
  'AWS_ENDPOINT_URL_DYNAMODB',
);

/** A conditional write lost: the item already exists (or no longer matches). */
export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** The outcome of a conditional write: true when it was made, false when its condition failed; other errors reject. */
export async function conditionHeld(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/** Puts the item unless one with the same key exists: true when written, false when the key was taken. */
export function putIfAbsent(
  tableName: string,
  keyAttribute: string,
  item: Readonly<Record<string, unknown>>,
  client: DynamoDBDocumentClient = dynamoDocumentClient(),
): Promise<boolean> {
  return conditionHeld(
    client.send(
      new PutCommand({
        TableName: tableName,
        Item: { ...item },
        ConditionExpression: 'attribute_not_exists(#key)',
        ExpressionAttributeNames: { '#key': keyAttribute },
      }),
    ),
  );
}

/**
 * DynamoDB's refusal of an item over 400 KB ("Item size has exceeded…", "Item size to update has
 * exceeded…"): no retry of the same write succeeds, so it is counted apart and alarmed on.
 */
export function isItemTooLarge(error: unknown): boolean {
  return error instanceof Error && error.name === 'ValidationException' && /item size/i.test(error.message);
}
