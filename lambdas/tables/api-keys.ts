/**
 * The API keys table: `{ keyId, owner, keyHash, createdAt, revokedAt? }`, keyed by `keyId`. The key
 * itself is never stored, only its SHA-256 (lambdas/domain/api-key.ts). A revoked key keeps its item,
 * so `keys list` still shows who had it and when it stopped working.
 */
import { type DynamoDBDocumentClient, GetCommand, paginateScan, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { conditionHeld, dynamoDocumentClient, putIfAbsent } from '../shared/clients/dynamodb';

export interface StoredApiKey {
  readonly keyId: string;
  readonly owner: string;
  readonly keyHash: string;
  readonly createdAt: string;
  /** When it was revoked; absent while it works. */
  readonly revokedAt?: string;
}

export type ApiKeyListing = Omit<StoredApiKey, 'keyHash'>;

function storedApiKey(item: Record<string, unknown> | undefined): StoredApiKey | null {
  if (item === undefined) return null;
  const { keyId, owner, keyHash, createdAt, revokedAt } = item;
  if (typeof keyId !== 'string' || typeof owner !== 'string' || typeof keyHash !== 'string' || typeof createdAt !== 'string') return null;
  return { keyId, owner, keyHash, createdAt, ...(typeof revokedAt === 'string' ? { revokedAt } : {}) };
}

/** Stores a new key unless its id is taken (false then: draw another). */
export function putApiKey(
  tableName: string,
  key: Omit<StoredApiKey, 'createdAt' | 'revokedAt'>,
  client: DynamoDBDocumentClient = dynamoDocumentClient(),
): Promise<boolean> {
  return putIfAbsent(tableName, 'keyId', { keyId: key.keyId, owner: key.owner, keyHash: key.keyHash, createdAt: new Date().toISOString() }, client);
}

/** The key with this id, revoked or not; null when there is none. */
export async function findApiKey(tableName: string, keyId: string, client: DynamoDBDocumentClient = dynamoDocumentClient()): Promise<StoredApiKey | null> {
  // Strongly consistent: a key revoked a moment ago must not pass on a stale replica.
  const { Item } = await client.send(new GetCommand({ TableName: tableName, Key: { keyId }, ConsistentRead: true }));
  return storedApiKey(Item);
}

/** Every key (of one owner when given), without hashes, oldest first. A Scan: the table holds one item per key ever made. */
export async function listApiKeys(tableName: string, client: DynamoDBDocumentClient, owner?: string): Promise<ApiKeyListing[]> {
  const keys: ApiKeyListing[] = [];
  const pages = paginateScan(
    { client },
    {
      TableName: tableName,
      ...(owner === undefined
        ? {}
        : { FilterExpression: '#owner = :owner', ExpressionAttributeNames: { '#owner': 'owner' }, ExpressionAttributeValues: { ':owner': owner } }),
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      const key = storedApiKey(item);
      if (key !== null) keys.push({ keyId: key.keyId, owner: key.owner, createdAt: key.createdAt, ...(key.revokedAt ? { revokedAt: key.revokedAt } : {}) });
    }
  }
  return keys.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.keyId.localeCompare(b.keyId));
}

/** Marks the key revoked: 'revoked', or 'unknown' when no key has this id, or 'already' when it was revoked before. */
export async function revokeApiKey(tableName: string, keyId: string, client: DynamoDBDocumentClient): Promise<'revoked' | 'unknown' | 'already'> {
  const revoked = await conditionHeld(
    client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { keyId },
        UpdateExpression: 'SET #revokedAt = :now',
        ConditionExpression: 'attribute_exists(#keyId) AND attribute_not_exists(#revokedAt)',
        ExpressionAttributeNames: { '#keyId': 'keyId', '#revokedAt': 'revokedAt' },
        ExpressionAttributeValues: { ':now': new Date().toISOString() },
      }),
    ),
  );
  if (revoked) return 'revoked';
  return (await findApiKey(tableName, keyId, client)) === null ? 'unknown' : 'already';
}
