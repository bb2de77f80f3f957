/** The one read the aggregate tables share (docs/statistics.md): every level is keyed by `target` and a sortable period. */
import { type DynamoDBDocumentClient, paginateQuery } from '@aws-sdk/lib-dynamodb';

export interface ReadOptions {
  /** Needed right after a write this caller depends on (the rollup reading what it just wrote). */
  readonly consistentRead?: boolean;
}

export interface TargetRange extends ReadOptions {
  readonly tableName: string;
  readonly target: string;
  /** The table's sort key: `slot`, `day` or `month`. */
  readonly sortKey: string;
  /** Inclusive bounds. */
  readonly first: string;
  readonly last: string;
  /** The attributes to return, when not all: fewer bytes to send and parse (read units stay those of whole items). */
  readonly attributes?: readonly string[];
}

/** Every item of the target within the range, in sort key order (one Query, paged). */
export async function queryTargetRange<T>(
  client: DynamoDBDocumentClient,
  range: TargetRange,
  parse: (item: Readonly<Record<string, unknown>>) => T,
): Promise<T[]> {
  const items: T[] = [];
  const pages = paginateQuery(
    { client },
    {
      TableName: range.tableName,
      KeyConditionExpression: '#target = :target AND #sort BETWEEN :first AND :last',
      ExpressionAttributeNames: { '#target': 'target', '#sort': range.sortKey, ...Object.fromEntries((range.attributes ?? []).map((name, index) => [`#a${index}`, name])) },
      ...(range.attributes === undefined ? {} : { ProjectionExpression: range.attributes.map((_, index) => `#a${index}`).join(', ') }),
      ExpressionAttributeValues: { ':target': range.target, ':first': range.first, ':last': range.last },
      ConsistentRead: range.consistentRead,
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) items.push(parse(item));
  }
  return items;
}
