/**
 * The handlers' DynamoDB document client, the two errors they tell apart, what a conditional write's
 * outcome was, and the retry of what a batch request leaves unprocessed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
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

/** BatchWriteItem's limit. */
export const MAX_BATCH_WRITE_ITEMS = 25;
/** Attempts at the keys a batch request leaves unprocessed (throttling), with full-jitter exponential backoff. */
const MAX_BATCH_ATTEMPTS = 6;
const BASE_BACKOFF_MS = 50;

/**
 * Sends `request` with the keys still pending until DynamoDB has processed them all; `request` answers
 * the keys it left unprocessed. Throws once MAX_BATCH_ATTEMPTS requests left some.
 */
export async function untilProcessed(pending: ReadonlySet<string>, request: (keys: ReadonlySet<string>) => Promise<ReadonlySet<string>>): Promise<void> {
  let keys = pending;
  for (let attempt = 1; ; attempt++) {
    keys = await request(keys);
    if (keys.size === 0) return;
    if (attempt === MAX_BATCH_ATTEMPTS) throw new Error(`${keys.size} items were still unprocessed after ${MAX_BATCH_ATTEMPTS} attempts`);
    await sleep(Math.random() * BASE_BACKOFF_MS * 2 ** attempt);
  }
}
