/**
 * The raw clicks table as a consumer's integration test sees it: what is stored, the BatchWriteItem
 * requests sent, and throttling as DynamoDB answers it (items left unprocessed), through the proxy
 * the handlers reach DynamoDB Local by.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import type { DynamoProxy, JsonObject } from '../../fixtures/local/dynamo-proxy';

type PutRequests = { PutRequest: { Item: JsonObject } }[];

export interface RawClicksTable {
  /** The items of a code, in clickKey order. */
  storedItems(code: string): Promise<Record<string, unknown>[]>;
  /** `${linkShard} ${clickKey}` of a code's items, sorted. */
  storedKeys(code: string): Promise<string[]>;
  /** The put requests of the BatchWriteItem requests sent since `from` (an index into the proxy's requests). */
  batchWrites(from: number): PutRequests[];
  /** Leaves the puts of event ids `throttled` says yes to (asked once per put) unprocessed, as DynamoDB does when it throttles. */
  leaveUnprocessed(throttled: (eventId: string) => boolean): void;
}

export const eventIdOfPut = ({ PutRequest }: PutRequests[number]): string => (PutRequest.Item.eventId as { S: string }).S;

export function rawClicksTable(dynamo: DynamoDBClient, proxy: DynamoProxy, tableName: string): RawClicksTable {
  const storedItems = async (code: string): Promise<Record<string, unknown>[]> => {
    const items: Record<string, unknown>[] = [];
    for await (const page of paginateScan({ client: DynamoDBDocumentClient.from(dynamo) }, { TableName: tableName, ConsistentRead: true })) {
      items.push(...(page.Items ?? []).filter((item) => item.code === code));
    }
    return items.sort((a, b) => String(a.clickKey).localeCompare(String(b.clickKey)));
  };
  return {
    storedItems,
    storedKeys: async (code) => (await storedItems(code)).map((item) => `${String(item.linkShard)} ${String(item.clickKey)}`).sort(),
    batchWrites: (from) =>
      proxy.requests
        .slice(from)
        .filter(({ operation }) => operation === 'BatchWriteItem')
        .map(({ body }) => (body.RequestItems as Record<string, PutRequests>)[tableName]),
    leaveUnprocessed: (throttled) =>
      proxy.intercept(({ operation, body }) => {
        if (operation !== 'BatchWriteItem') return undefined;
        const [left, sent]: PutRequests[] = [[], []];
        for (const put of (body.RequestItems as Record<string, PutRequests>)[tableName]) (throttled(eventIdOfPut(put)) ? left : sent).push(put);
        if (left.length === 0) return undefined;
        return {
          // DynamoDB rejects an empty request; an item of another code stands in for "nothing".
          body: { ...body, RequestItems: { [tableName]: sent.length > 0 ? sent : [{ PutRequest: { Item: { linkShard: { S: 'x#0' }, clickKey: { S: 'x' } } } }] } },
          answer: (upstream) => ({ ...upstream, UnprocessedItems: { [tableName]: left } }),
        };
      }),
  };
}
