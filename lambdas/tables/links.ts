/**
 * The links table, keyed by `code`:
 * - a link: `{ code, url, owner, createdAt, updatedAt?, disabled? }`;
 * - a deleted link: `{ code, deletedAt, deletedOwner }`. The code stays taken, so a short link already
 *   printed or shared never starts pointing somewhere its owner did not choose, and its statistics
 *   (kept by code) never mix with a newcomer's.
 * The `byOwner` index (owner, createdAt) lists an owner's links newest first; a deleted link has no
 * owner attribute, so it leaves the index.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue as StreamAttributeValue } from 'aws-lambda';
import { CREATED_AT_PATTERN, decodePageCursor, encodePageCursor } from '../domain/page-cursor';
import { SHORT_CODE_PATTERN } from '../domain/short-code';
import { conditionHeld, dynamoDocumentClient, isConditionalCheckFailed, putIfAbsent } from '../shared/clients/dynamodb';

/** The index an owner's links are listed from; the stack defines it with these names. */
export const LINKS_BY_OWNER_INDEX = { indexName: 'byOwner', partitionKey: 'owner', sortKey: 'createdAt' } as const;

/** The redirect's view of a link. */
export interface Link {
  readonly url: string;
  /**
   * Whose statistics the link's clicks count for. null for an item without one (only written by
   * hand: the API always sets it): the link still redirects, its clicks cannot be attributed.
   */
  readonly owner: string | null;
}

/** The API's view of a link. */
export interface LinkRecord {
  readonly code: string;
  readonly url: string;
  readonly owner: string | null;
  readonly createdAt: string | null;
  readonly updatedAt: string | null;
  /** A disabled link answers 404 instead of redirecting; its statistics stay. */
  readonly disabled: boolean;
}

export interface NewLink {
  readonly code: string;
  readonly url: string;
  readonly owner: string;
}

export interface LinkChanges {
  readonly url?: string;
  readonly disabled?: boolean;
}

/** Where the next page of an owner's links starts: the last link of this page. */
export interface LinkPageKey {
  readonly createdAt: string;
  readonly code: string;
}

const optionalString = (value: unknown): string | null => (typeof value === 'string' ? value : null);

function linkRecord(item: Record<string, unknown> | undefined): LinkRecord | null {
  if (item === undefined || typeof item.code !== 'string' || typeof item.url !== 'string') return null;
  return {
    code: item.code,
    url: item.url,
    owner: optionalString(item.owner),
    createdAt: optionalString(item.createdAt),
    updatedAt: optionalString(item.updatedAt),
    disabled: item.disabled === true,
  };
}

/**
 * The link of a stream record's OldImage or NewImage, disabled ones included; null for a missing image
 * (an insert's old, a removal's new), a tombstone, or an item without a URL.
 */
export function linkFromStreamImage(image: Readonly<Record<string, StreamAttributeValue>> | undefined): LinkRecord | null {
  // aws-lambda's stream AttributeValue and the SDK's describe the same wire shape.
  return image === undefined ? null : linkRecord(unmarshall(image as Record<string, AttributeValue>));
}

/** The code of a stream record's Keys, or null when it has none. */
export function codeFromStreamKeys(keys: Readonly<Record<string, StreamAttributeValue>> | undefined): string | null {
  const code = keys?.code?.S;
  return typeof code === 'string' ? code : null;
}

/**
 * What the redirect follows: null when no link has this code, or it was deleted or disabled.
 * Rejects when the table cannot be read.
 */
export async function findLink(tableName: string, code: string): Promise<Link | null> {
  const { Item } = await dynamoDocumentClient().send(
    new GetCommand({
      TableName: tableName,
      Key: { code },
      ProjectionExpression: '#url, #owner, #disabled',
      ExpressionAttributeNames: { '#url': 'url', '#owner': 'owner', '#disabled': 'disabled' },
    }),
  );
  if (typeof Item?.url !== 'string' || Item.disabled === true) return null;
  return { url: Item.url, owner: typeof Item.owner === 'string' ? Item.owner : null };
}

/** The link as the API shows it, disabled ones included; null when no link has this code or it was deleted. */
export async function getLink(tableName: string, code: string): Promise<LinkRecord | null> {
  const { Item } = await dynamoDocumentClient().send(new GetCommand({ TableName: tableName, Key: { code } }));
  return linkRecord(Item);
}

/**
 * Stores the link, created now, unless its code is taken (by a link, or a deleted one); false when it is.
 * Through the handlers' client unless the caller passes its own (the local stack, whose endpoint
 * variables are not the functions').
 */
export function createLinkIfAbsent(tableName: string, link: NewLink, client: DynamoDBDocumentClient = dynamoDocumentClient()): Promise<boolean> {
  return putIfAbsent(tableName, 'code', { code: link.code, url: link.url, owner: link.owner, createdAt: new Date().toISOString() }, client);
}

/**
 * The condition that the item is still the live link the caller read: with its owner, or with no owner
 * attribute at all when it had none (an item written by hand).
 */
function liveLinkOf(owner: string | null): { condition: string; names: Record<string, string>; values: Record<string, unknown> } {
  const names: Record<string, string> = { '#url': 'url', '#owner': 'owner' };
  if (owner === null) return { condition: 'attribute_exists(#url) AND attribute_not_exists(#owner)', names, values: {} };
  return { condition: 'attribute_exists(#url) AND #owner = :owner', names, values: { ':owner': owner } };
}

/** Applies the changes to the live link of this owner; the link as it now is, or null when there is none to change. */
export async function updateLink(tableName: string, code: string, owner: string | null, changes: LinkChanges): Promise<LinkRecord | null> {
  const live = liveLinkOf(owner);
  const sets = ['#updatedAt = :now'];
  const names: Record<string, string> = { ...live.names, '#updatedAt': 'updatedAt' };
  const values: Record<string, unknown> = { ...live.values, ':now': new Date().toISOString() };
  if (changes.url !== undefined) {
    sets.push('#url = :url');
    values[':url'] = changes.url;
  }
  if (changes.disabled !== undefined) {
    sets.push('#disabled = :disabled');
    names['#disabled'] = 'disabled';
    values[':disabled'] = changes.disabled;
  }
  try {
    const { Attributes } = await dynamoDocumentClient().send(
      new UpdateCommand({
        TableName: tableName,
        Key: { code },
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: live.condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return linkRecord(Attributes);
  } catch (error) {
    if (isConditionalCheckFailed(error)) return null;
    throw error;
  }
}

/** Replaces the live link of this owner by its tombstone; false when there is none to delete. */
export function deleteLink(tableName: string, code: string, owner: string | null): Promise<boolean> {
  const live = liveLinkOf(owner);
  return conditionHeld(
    dynamoDocumentClient().send(
      new PutCommand({
        TableName: tableName,
        Item: { code, deletedAt: new Date().toISOString(), ...(owner === null ? {} : { deletedOwner: owner }) },
        ConditionExpression: live.condition,
        ExpressionAttributeNames: live.names,
        ...(Object.keys(live.values).length === 0 ? {} : { ExpressionAttributeValues: live.values }),
      }),
    ),
  );
}

/** One page of the owner's links, newest first, and where the next starts (null on the last page). */
export async function listOwnerLinks(
  tableName: string,
  owner: string,
  limit: number,
  after: LinkPageKey | null,
): Promise<{ links: LinkRecord[]; next: LinkPageKey | null }> {
  const { Items, LastEvaluatedKey } = await dynamoDocumentClient().send(
    new QueryCommand({
      TableName: tableName,
      IndexName: LINKS_BY_OWNER_INDEX.indexName,
      KeyConditionExpression: '#owner = :owner',
      ExpressionAttributeNames: { '#owner': LINKS_BY_OWNER_INDEX.partitionKey },
      ExpressionAttributeValues: { ':owner': owner },
      ScanIndexForward: false,
      Limit: limit,
      ...(after === null ? {} : { ExclusiveStartKey: { owner, code: after.code, createdAt: after.createdAt } }),
    }),
  );
  const links = (Items ?? []).flatMap((item) => linkRecord(item) ?? []);
  const last = LastEvaluatedKey;
  const next = typeof last?.code === 'string' && typeof last.createdAt === 'string' ? { code: last.code, createdAt: last.createdAt } : null;
  return { links, next };
}

/** The page key as an opaque cursor for clients. */
export function encodeLinkCursor(key: LinkPageKey): string {
  return encodePageCursor([key.createdAt, key.code]);
}

/** The page key of a cursor encodeLinkCursor made, or null for anything else. */
export function decodeLinkCursor(cursor: string): LinkPageKey | null {
  const values = decodePageCursor(cursor, 2, 256);
  if (values === null) return null;
  const [createdAt, code] = values;
  if (typeof createdAt !== 'string' || !CREATED_AT_PATTERN.test(createdAt)) return null;
  if (typeof code !== 'string' || !SHORT_CODE_PATTERN.test(code)) return null;
  return { createdAt, code };
}
