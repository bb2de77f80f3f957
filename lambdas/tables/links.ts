/**
 * The links table, keyed by `code`:
 * - a link: `{ code, url, owner, createdAt, updatedAt?, disabled? }`;
 * - a deleted link: `{ code, deletedAt, deletedOwner }`. The code stays taken, so a short link already
 *   printed or shared never starts pointing somewhere its owner did not choose, and its statistics
 *   (kept by code) never mix with a newcomer's.
 * The `byOwner` index (owner, createdAt) lists an owner's links newest first; a deleted link has no
 * owner attribute, so it leaves the index.
 *
 * In edge mode (docs/edge.md, "When the store is full") a link also has `lastClickDay`, the reporting
 * zone's day of its latest click (written by the rollup), and `edgeStore = "held"` while the edge's
 * KeyValueStore holds it (written by the store sync). The sparse `byEdgeRecency` index (edgeStore,
 * lastClickDay) lists the held links least recently clicked first: the ones a full store lets go.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, paginateQuery, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue as StreamAttributeValue } from 'aws-lambda';
import { CREATED_AT_PATTERN, decodePageCursor, encodePageCursor } from '../domain/page-cursor';
import { SHORT_CODE_PATTERN } from '../domain/short-code';
import { conditionHeld, dynamoDocumentClient, isConditionalCheckFailed, putIfAbsent } from '../shared/clients/dynamodb';

/** The index an owner's links are listed from; the stack defines it with these names. */
export const LINKS_BY_OWNER_INDEX = { indexName: 'byOwner', partitionKey: 'owner', sortKey: 'createdAt' } as const;

/** The index of the links the edge store holds, by recency; the stack defines it in edge mode only. */
export const LINKS_BY_EDGE_RECENCY_INDEX = { indexName: 'byEdgeRecency', partitionKey: 'edgeStore', sortKey: 'lastClickDay' } as const;
/** The one value of `edgeStore`: every held link is in one index partition, sorted by its day. */
const HELD_AT_EDGE = 'held';

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

/** A link as the edge store sync sees it in the links stream: with its recency and whether the store holds it. */
export interface StreamedLinkRecord extends LinkRecord {
  readonly lastClickDay: string | null;
  readonly heldAtEdge: boolean;
}

/**
 * The link of a stream record's OldImage or NewImage, disabled ones included; null for a missing image
 * (an insert's old, a removal's new), a tombstone, or an item without a URL.
 */
export function linkFromStreamImage(image: Readonly<Record<string, StreamAttributeValue>> | undefined): StreamedLinkRecord | null {
  if (image === undefined) return null;
  // aws-lambda's stream AttributeValue and the SDK's describe the same wire shape.
  const item = unmarshall(image as Record<string, AttributeValue>);
  const link = linkRecord(item);
  return link === null ? null : { ...link, lastClickDay: optionalString(item.lastClickDay), heldAtEdge: item.edgeStore === HELD_AT_EDGE };
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

/**
 * Records a click of the link on `day` (the reporting zone's): sets `lastClickDay` unless it already
 * names that day or a later one. False when it did not change (or no live link has the code: nothing is
 * created). A refused condition still costs a write unit, so callers avoid repeating a day.
 */
export function recordLinkClickDay(tableName: string, code: string, day: string): Promise<boolean> {
  return conditionHeld(
    dynamoDocumentClient().send(
      new UpdateCommand({
        TableName: tableName,
        Key: { code },
        UpdateExpression: 'SET #day = :day',
        ConditionExpression: 'attribute_exists(#url) AND (attribute_not_exists(#day) OR #day < :day)',
        ExpressionAttributeNames: { '#day': LINKS_BY_EDGE_RECENCY_INDEX.sortKey, '#url': 'url' },
        ExpressionAttributeValues: { ':day': day },
      }),
    ),
  );
}

/**
 * Marks the link as held by the edge store, after the store took it with this URL; a link that never had
 * a click day gets `recency` (its creation day), so it is in the index. False when the link changed since
 * (another URL, disabled, deleted): the stream brings that change, whose sync sets the store right.
 */
export function markHeldAtEdge(tableName: string, code: string, url: string, recency: string): Promise<boolean> {
  return conditionHeld(
    dynamoDocumentClient().send(
      new UpdateCommand({
        TableName: tableName,
        Key: { code },
        UpdateExpression: 'SET #held = :held, #day = if_not_exists(#day, :recency)',
        ConditionExpression: '#url = :url AND (attribute_not_exists(#disabled) OR #disabled = :false)',
        ExpressionAttributeNames: { '#held': LINKS_BY_EDGE_RECENCY_INDEX.partitionKey, '#day': LINKS_BY_EDGE_RECENCY_INDEX.sortKey, '#url': 'url', '#disabled': 'disabled' },
        ExpressionAttributeValues: { ':held': HELD_AT_EDGE, ':recency': recency, ':url': url, ':false': false },
      }),
    ),
  );
}

function releaseCommand(tableName: string, code: string, seenDay: string | undefined): UpdateCommand {
  const names: Record<string, string> = { '#held': LINKS_BY_EDGE_RECENCY_INDEX.partitionKey };
  const values: Record<string, unknown> = { ':held': HELD_AT_EDGE };
  let condition = '#held = :held';
  if (seenDay !== undefined) {
    names['#day'] = LINKS_BY_EDGE_RECENCY_INDEX.sortKey;
    values[':day'] = seenDay;
    condition += ' AND #day = :day';
  }
  return new UpdateCommand({
    TableName: tableName,
    Key: { code },
    UpdateExpression: 'REMOVE #held',
    ConditionExpression: condition,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  });
}

/**
 * Clears the held mark. With `seenDay`, only if the link still has that click day: the eviction claims
 * the links it lists this way (the index lags the table), so a link clicked since is not evicted. False
 * when there was no mark to clear or the day moved on.
 */
export function releaseFromEdge(tableName: string, code: string, seenDay?: string): Promise<boolean> {
  return conditionHeld(dynamoDocumentClient().send(releaseCommand(tableName, code, seenDay)));
}

/**
 * Clears every held mark, for a store that starts empty while the table keeps its items (the local stack's);
 * the number cleared. Through the caller's client (the local stack's endpoint is not the functions').
 */
export async function releaseAllFromEdge(tableName: string, client: DynamoDBDocumentClient): Promise<number> {
  const { indexName, partitionKey } = LINKS_BY_EDGE_RECENCY_INDEX;
  let cleared = 0;
  const pages = paginateQuery(
    { client },
    {
      TableName: tableName,
      IndexName: indexName,
      KeyConditionExpression: '#held = :held',
      ExpressionAttributeNames: { '#held': partitionKey },
      ExpressionAttributeValues: { ':held': HELD_AT_EDGE },
    },
  );
  for await (const { Items } of pages) {
    for (const item of Items ?? []) {
      if (typeof item.code === 'string' && (await conditionHeld(client.send(releaseCommand(tableName, item.code, undefined))))) cleared += 1;
    }
  }
  return cleared;
}

/** A link the edge store holds, from the index: its code, URL and click day. */
export interface HeldAtEdge {
  readonly code: string;
  readonly url: string;
  readonly lastClickDay: string;
}

/**
 * Up to `limit` links the edge store holds that were last clicked before `day`, least recently clicked
 * first (one page of the sparse index; eventually consistent, as every index read is).
 */
export async function listHeldAtEdgeClickedBefore(tableName: string, day: string, limit: number): Promise<HeldAtEdge[]> {
  const { indexName, partitionKey, sortKey } = LINKS_BY_EDGE_RECENCY_INDEX;
  const { Items } = await dynamoDocumentClient().send(
    new QueryCommand({
      TableName: tableName,
      IndexName: indexName,
      KeyConditionExpression: '#held = :held AND #day < :day',
      ExpressionAttributeNames: { '#held': partitionKey, '#day': sortKey },
      ExpressionAttributeValues: { ':held': HELD_AT_EDGE, ':day': day },
      ScanIndexForward: true,
      Limit: limit,
    }),
  );
  return (Items ?? []).flatMap((item) =>
    typeof item.code === 'string' && typeof item.url === 'string' && typeof item.lastClickDay === 'string'
      ? [{ code: item.code, url: item.url, lastClickDay: item.lastClickDay }]
      : [],
  );
}
