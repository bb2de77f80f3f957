/**
 * The API keys table, keyed by `keyId`, holds two kinds of item:
 * - a key: `{ keyId, owner, keyHash, createdAt, share?, label?, revokedAt? }`. An owner key has no
 *   `share`; a share token's `share` is the code of the one link it reads, and `label` what its creator
 *   called it. The key itself is never stored, only its SHA-256 (lambdas/domain/api-key.ts). A revoked
 *   key keeps its item, so `keys list` and the link's share list still show who had it and when it
 *   stopped working.
 * - a link's share list: `{ keyId: "shares#<code>", shareIds }` (a string set), the ids of every share
 *   token made for the link, so its shares are found with two strongly consistent reads and no index
 *   (docs/design.md). A key id never holds `#`: no token can name this item, and it is no key.
 */
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  paginateScan,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_SHARES_PER_LINK } from '../domain/share-link';
import { conditionHeld, dynamoDocumentClient, putIfAbsent } from '../shared/clients/dynamodb';

export interface StoredApiKey {
  readonly keyId: string;
  readonly owner: string;
  readonly keyHash: string;
  readonly createdAt: string;
  /** The code of the one link a share token reads; absent on an owner key. */
  readonly share?: string;
  /** What the share's creator called it; absent when they gave no label. */
  readonly label?: string;
  /** When it was revoked; absent while it works. */
  readonly revokedAt?: string;
}

export type NewStoredKey = Omit<StoredApiKey, 'createdAt' | 'revokedAt'>;
export type ApiKeyListing = Omit<StoredApiKey, 'keyHash'>;
export type Revocation = 'revoked' | 'unknown' | 'already';

/** Reads of a share list's shares while DynamoDB leaves some unprocessed (throttling), with full-jitter exponential backoff. */
const MAX_BATCH_GET_ATTEMPTS = 4;
const BASE_BACKOFF_MS = 50;

/** `{ [name]: value }` when the value is a string, else nothing: absent attributes stay absent. */
function optionalString<Name extends string>(name: Name, value: unknown): Partial<Record<Name, string>> {
  const field: Partial<Record<Name, string>> = {};
  if (typeof value === 'string') field[name] = value;
  return field;
}

function storedApiKey(item: Record<string, unknown> | undefined): StoredApiKey | null {
  if (item === undefined) return null;
  const { keyId, owner, keyHash, createdAt } = item;
  if (typeof keyId !== 'string' || typeof owner !== 'string' || typeof keyHash !== 'string' || typeof createdAt !== 'string') return null;
  return { keyId, owner, keyHash, createdAt, ...optionalString('share', item.share), ...optionalString('label', item.label), ...optionalString('revokedAt', item.revokedAt) };
}

function listing({ keyHash: _keyHash, ...rest }: StoredApiKey): ApiKeyListing {
  return rest;
}

const linkSharesKey = (code: string): { keyId: string } => ({ keyId: `shares#${code}` });

/** Stores a new key, created now, unless its id is taken: the key as stored, or null then (draw another id). */
export async function putApiKey(tableName: string, key: NewStoredKey, client: DynamoDBDocumentClient = dynamoDocumentClient()): Promise<StoredApiKey | null> {
  const stored: StoredApiKey = {
    keyId: key.keyId,
    owner: key.owner,
    keyHash: key.keyHash,
    createdAt: new Date().toISOString(),
    ...optionalString('share', key.share),
    ...optionalString('label', key.label),
  };
  return (await putIfAbsent(tableName, 'keyId', { ...stored }, client)) ? stored : null;
}

/**
 * Stores a new share token of its link unless the link's share list already holds MAX_SHARES_PER_LINK
 * ids ('list-full') or the id is taken ('id-taken': draw another). The id joins the list first, so every
 * share that exists is listed; a failure between the two writes leaves an id with no share of the
 * link behind it, which the list skips.
 */
export async function putLinkShare(tableName: string, share: NewStoredKey & { readonly share: string }): Promise<StoredApiKey | 'list-full' | 'id-taken'> {
  const listed = await conditionHeld(
    dynamoDocumentClient().send(
      new UpdateCommand({
        TableName: tableName,
        Key: linkSharesKey(share.share),
        UpdateExpression: 'ADD #shareIds :id',
        ConditionExpression: 'attribute_not_exists(#shareIds) OR size(#shareIds) < :max',
        ExpressionAttributeNames: { '#shareIds': 'shareIds' },
        ExpressionAttributeValues: { ':id': new Set([share.keyId]), ':max': MAX_SHARES_PER_LINK },
      }),
    ),
  );
  if (!listed) return 'list-full';
  return (await putApiKey(tableName, share)) ?? 'id-taken';
}

/** The key with this id, revoked or not; null when there is none. */
export async function findApiKey(tableName: string, keyId: string, client: DynamoDBDocumentClient = dynamoDocumentClient()): Promise<StoredApiKey | null> {
  // Strongly consistent: a key revoked a moment ago must not pass on a stale replica.
  const { Item } = await client.send(new GetCommand({ TableName: tableName, Key: { keyId }, ConsistentRead: true }));
  return storedApiKey(Item);
}

/**
 * The link's share tokens, revoked ones included, without hashes, newest first: its share list, then
 * the shares themselves, both read strongly consistent, so a share made or revoked a moment ago shows
 * as it now is. The list holds at most MAX_SHARES_PER_LINK ids, which one BatchGetItem takes.
 */
export async function listLinkShares(tableName: string, code: string): Promise<ApiKeyListing[]> {
  const client = dynamoDocumentClient();
  const { Item } = await client.send(new GetCommand({ TableName: tableName, Key: linkSharesKey(code), ConsistentRead: true }));
  const shareIds = Item?.shareIds instanceof Set ? [...(Item.shareIds as Set<unknown>)].filter((id): id is string => typeof id === 'string') : [];
  if (shareIds.length === 0) return [];
  const items: Record<string, unknown>[] = [];
  let keys: Record<string, unknown>[] = shareIds.map((keyId) => ({ keyId }));
  for (let attempt = 1; ; attempt++) {
    const { Responses, UnprocessedKeys } = await client.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: keys, ConsistentRead: true } } }));
    items.push(...(Responses?.[tableName] ?? []));
    keys = UnprocessedKeys?.[tableName]?.Keys ?? [];
    if (keys.length === 0) break;
    if (attempt === MAX_BATCH_GET_ATTEMPTS) throw new Error(`${keys.length} shares of ${code} were still unprocessed after ${attempt} BatchGetItem attempts`);
    await sleep(Math.random() * BASE_BACKOFF_MS * 2 ** attempt);
  }
  return items
    .flatMap((item) => storedApiKey(item) ?? [])
    .filter((key) => key.share === code)
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.keyId.localeCompare(a.keyId))
    .map(listing);
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
    // Share lists are no keys: storedApiKey leaves them out.
    for (const item of page.Items ?? []) {
      const key = storedApiKey(item);
      if (key !== null) keys.push(listing(key));
    }
  }
  return keys.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.keyId.localeCompare(b.keyId));
}

async function revoke(tableName: string, keyId: string, shareOf: string | null, client: DynamoDBDocumentClient): Promise<Revocation> {
  const names: Record<string, string> = { '#keyId': 'keyId', '#revokedAt': 'revokedAt' };
  const values: Record<string, unknown> = { ':now': new Date().toISOString() };
  let condition = 'attribute_exists(#keyId) AND attribute_not_exists(#revokedAt)';
  if (shareOf !== null) {
    condition += ' AND #share = :share';
    names['#share'] = 'share';
    values[':share'] = shareOf;
  }
  const revoked = await conditionHeld(
    client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { keyId },
        UpdateExpression: 'SET #revokedAt = :now',
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    ),
  );
  if (revoked) return 'revoked';
  const key = await findApiKey(tableName, keyId, client);
  return key === null || (shareOf !== null && key.share !== shareOf) ? 'unknown' : 'already';
}

/** Marks the key (an owner key or a share token) revoked: 'revoked', or 'unknown' when no key has this id, or 'already' when it was revoked before. */
export function revokeApiKey(tableName: string, keyId: string, client: DynamoDBDocumentClient): Promise<Revocation> {
  return revoke(tableName, keyId, null, client);
}

/** Like revokeApiKey, for a share token of this link only: another key, or a share of another link, is 'unknown'. */
export function revokeLinkShare(tableName: string, code: string, keyId: string): Promise<Revocation> {
  return revoke(tableName, keyId, code, dynamoDocumentClient());
}
