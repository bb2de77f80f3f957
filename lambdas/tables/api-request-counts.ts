/**
 * The API request counts table: `{ window: `${keyId}#${windowStart}`, requests, expiresAt }`, one item
 * per owner key and minute, so every execution environment of the API counts against the same limit.
 * TTL removes an item once its minute is well past.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { conditionHeld, dynamoDocumentClient } from '../shared/clients/dynamodb';

/** Items outlive their window by this much, then TTL may delete them (it may take days: nothing reads old windows). */
const KEPT_AFTER_WINDOW_SECONDS = 3_600;

/**
 * Counts one request of the key in the window starting at windowStartSeconds; false, counting
 * nothing, when the window already holds `limit` requests.
 */
export function countRequest(tableName: string, keyId: string, windowStartSeconds: number, windowSeconds: number, limit: number): Promise<boolean> {
  return conditionHeld(
    dynamoDocumentClient().send(
      new UpdateCommand({
        TableName: tableName,
        Key: { window: `${keyId}#${windowStartSeconds}` },
        UpdateExpression: 'ADD #requests :one SET #expiresAt = if_not_exists(#expiresAt, :expiresAt)',
        ConditionExpression: 'attribute_not_exists(#requests) OR #requests < :limit',
        ExpressionAttributeNames: { '#requests': 'requests', '#expiresAt': 'expiresAt' },
        ExpressionAttributeValues: { ':one': 1, ':limit': limit, ':expiresAt': windowStartSeconds + windowSeconds + KEPT_AFTER_WINDOW_SECONDS },
      }),
    ),
  );
}
