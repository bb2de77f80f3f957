/**
 * The raw clicks table: one item per click, the RawClick itself (lambdas/domain/click.ts), keyed by
 * `linkShard` and `clickKey`; its stream feeds the aggregator, and the API's raw export reads it back.
 *
 * An enrich invocation writes with BatchWriteItem: 25 items a request instead of one request a
 * click. Puts are unconditional: a redelivered message overwrites its own item with the same
 * content, which DynamoDB does not write to the stream (docs/statistics.md, Exactly once).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, paginateQuery } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue as StreamAttributeValue } from 'aws-lambda';
import { linkShardsOf, parseRawClick, type RawClick } from '../domain/click';
import { mergeOrdered } from '../domain/ordered-merge';
import { dynamoDocumentClient } from '../shared/clients/dynamodb';

/** The click of a stream record's NEW_IMAGE; throws InvalidClickMessage naming what is malformed. */
export function rawClickFromStreamImage(image: Readonly<Record<string, StreamAttributeValue>>): RawClick {
  // aws-lambda's stream AttributeValue and the SDK's describe the same wire shape.
  return parseRawClick(unmarshall(image as Record<string, AttributeValue>));
}

/** BatchWriteItem's limit. */
const MAX_BATCH_WRITE_ITEMS = 25;
/** Attempts at the items DynamoDB leaves unprocessed (throttling), with full-jitter exponential backoff. */
const MAX_ATTEMPTS = 6;
const BASE_BACKOFF_MS = 50;

interface Waiting {
  readonly click: RawClick;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** The table's key: BatchWriteItem rejects a request that puts one key twice. */
const keyOf = (linkShard: unknown, clickKey: unknown): string => `${String(linkShard)}\n${String(clickKey)}`;

/**
 * Collects clicks and writes them a chunk at a time: a chunk leaves when it holds 25 clicks or on
 * the next macrotask, so clicks handed over concurrently (as the BatchProcessor does) share requests.
 * One writer per invocation: its promises settle with the outcome of their own chunk.
 */
export class RawClickWriter {
  /** Every key of this invocation with its outcome: a duplicate shares the first one's write. */
  readonly #outcomes = new Map<string, Promise<void>>();
  #buffer: Waiting[] = [];
  #scheduled: NodeJS.Immediate | undefined;
  #stored = 0;

  constructor(private readonly tableName: string) {}

  /** Distinct clicks written so far. */
  get stored(): number {
    return this.#stored;
  }

  /** Resolves once the click is in the table; rejects when its chunk could not be written. */
  write(click: RawClick): Promise<void> {
    const key = keyOf(click.linkShard, click.clickKey);
    const known = this.#outcomes.get(key);
    if (known !== undefined) return known;
    const outcome = new Promise<void>((resolve, reject) => this.#buffer.push({ click, resolve, reject }));
    this.#outcomes.set(key, outcome);
    if (this.#buffer.length >= MAX_BATCH_WRITE_ITEMS) this.#flush();
    else this.#scheduled ??= setImmediate(() => this.#flush());
    return outcome;
  }

  #flush(): void {
    clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    const chunk = this.#buffer;
    this.#buffer = [];
    void this.#writeChunk(chunk);
  }

  /** Never rejects: each click's promise carries its outcome. */
  async #writeChunk(chunk: readonly Waiting[]): Promise<void> {
    const pending = new Map(chunk.map((waiting) => [keyOf(waiting.click.linkShard, waiting.click.clickKey), waiting]));
    try {
      for (let attempt = 1; ; attempt++) {
        const { UnprocessedItems } = await dynamoDocumentClient().send(
          new BatchWriteCommand({
            RequestItems: { [this.tableName]: [...pending.values()].map(({ click }) => ({ PutRequest: { Item: { ...click } } })) },
          }),
        );
        const unprocessed = new Set(
          (UnprocessedItems?.[this.tableName] ?? []).map(({ PutRequest }) => keyOf(PutRequest?.Item?.linkShard, PutRequest?.Item?.clickKey)),
        );
        for (const [key, waiting] of pending) {
          if (unprocessed.has(key)) continue;
          this.#stored += 1;
          waiting.resolve();
          pending.delete(key);
        }
        if (pending.size === 0) return;
        if (attempt === MAX_ATTEMPTS) {
          throw new Error(`${pending.size} raw clicks were still unprocessed after ${MAX_ATTEMPTS} BatchWriteItem attempts`);
        }
        await sleep(Math.random() * BASE_BACKOFF_MS * 2 ** attempt);
      }
    } catch (error) {
      for (const waiting of pending.values()) waiting.reject(error);
    }
  }
}

/** Clicks of a link in time order: from and to (ISO UTC, as `ts` is stored) bound `ts`; `after` is a clickKey already read. */
export interface ClickRange {
  readonly from: string;
  readonly to: string;
  readonly after: string | null;
}

/**
 * One partition's clicks in the range, in clickKey order, a Query page of `pageSize` items at a time.
 * `${ts}#${eventId}` BETWEEN from AND to holds exactly the ts in [from, to): a key whose ts equals `to`
 * sorts after it. The Query starts at `after` itself, which is dropped: it need not be an item.
 */
async function* shardClicks(tableName: string, linkShard: string, range: ClickRange, pageSize: number): AsyncGenerator<RawClick, void, undefined> {
  const first = range.after !== null && range.after > range.from ? range.after : range.from;
  if (first >= range.to) return;
  const pages = paginateQuery(
    { client: dynamoDocumentClient(), pageSize },
    {
      TableName: tableName,
      KeyConditionExpression: '#shard = :shard AND #key BETWEEN :first AND :last',
      ExpressionAttributeNames: { '#shard': 'linkShard', '#key': 'clickKey' },
      ExpressionAttributeValues: { ':shard': linkShard, ':first': first, ':last': range.to },
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      if (item.clickKey !== range.after) yield parseRawClick(item);
    }
  }
}

/**
 * The link's clicks in the range in clickKey order (time, then event id), merged from its 16 partitions:
 * a Query each to start, then one more for each partition whose page runs out. Read lazily: stopping
 * early stops the Queries.
 */
export function readLinkClicks(tableName: string, code: string, range: ClickRange, pageSize: number): AsyncGenerator<RawClick, void, undefined> {
  return mergeOrdered(
    linkShardsOf(code).map((linkShard) => shardClicks(tableName, linkShard, range, pageSize)),
    (click) => click.clickKey,
  );
}
