/** The links table: `{ code, url, owner, createdAt }`, keyed by `code`. */
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { conditionHeld, dynamoDocumentClient } from '../shared/clients/dynamodb';

export interface Link {
  readonly url: string;
  /**
   * Whose statistics the link's clicks count for. null for an item without one (only written by
   * hand: the API always sets it): the link still redirects, its clicks cannot be attributed.
   */
  readonly owner: string | null;
}

export interface NewLink {
  readonly code: string;
  readonly url: string;
  readonly owner: string;
}

/** The link, or null when no link has this code. Rejects when the table cannot be read. */
export async function findLink(tableName: string, code: string): Promise<Link | null> {
  const { Item } = await dynamoDocumentClient().send(
    new GetCommand({
      TableName: tableName,
      Key: { code },
      ProjectionExpression: '#url, #owner',
      ExpressionAttributeNames: { '#url': 'url', '#owner': 'owner' },
    }),
  );
  if (typeof Item?.url !== 'string') return null;
  return { url: Item.url, owner: typeof Item.owner === 'string' ? Item.owner : null };
}

/**
 * Stores the link, created now, unless its code is taken; false when it is. Through the handlers'
 * client unless the caller passes its own (the local stack, whose endpoint variables are not the functions').
 */
export function createLinkIfAbsent(tableName: string, link: NewLink, client: DynamoDBDocumentClient = dynamoDocumentClient()): Promise<boolean> {
  return conditionHeld(
    client.send(
      new PutCommand({
        TableName: tableName,
        Item: { code: link.code, url: link.url, owner: link.owner, createdAt: new Date().toISOString() },
        ConditionExpression: 'attribute_not_exists(#code)',
        ExpressionAttributeNames: { '#code': 'code' },
      }),
    ),
  );
}
