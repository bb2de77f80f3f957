/**
 * The raw clicks table: one item per click, the RawClick itself (lambdas/domain/click.ts), keyed by
 * `linkShard` and `clickKey`; its stream feeds the aggregator, and the API's raw export reads it back.
 *
 * An enrich invocation writes with BatchWriteItem: 25 items a request instead of one request a
 * click. Puts are unconditional: a redelivered message overwrites its own item with the same
 * content, which DynamoDB does not write to the stream (docs/statistics.md, Exactly once). The
 * standard-log backfill writes only what is missing, on condition, and so never changes an item.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, paginateQuery } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue as StreamAttributeValue } from 'aws-lambda';
import { linkShardsOf, parseRawClick, type RawClick } from '../domain/click';
import { mergeOrdered } from '../domain/ordered-merge';
import { dynamoDocumentClient, MAX_BATCH_WRITE_ITEMS, putIfAbsent, untilProcessed } from '../shared/clients/dynamodb';

/** The click of a stream record's NEW_IMAGE; throws InvalidClickMessage naming what is malformed. */
export function rawClickFromStreamImage(image: Readonly<Record<string, StreamAttributeValue>>): RawClick {
  // aws-lambda's stream AttributeValue and the SDK's describe the same wire shape.
  return parseRawClick(unmarshall(image as Record<string, AttributeValue>));
}

/** BatchGetItem's limit. */
const MAX_BATCH_GET_KEYS = 100;

interface Waiting {
  readonly click: RawClick;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** The table's key: BatchWriteItem rejects a request that puts one key twice. */
const keyOf = (linkShard: unknown, clickKey: unknown): string => `${String(linkShard)}\n${String(clickKey)}`;
const waitingKey = ({ click }: Waiting): string => keyOf(click.linkShard, click.clickKey);

/** What a raw-click consumer stores clicks with: one writer per invocation. */
export interface ClickWriter {
  /** Resolves once the click is in the table; rejects when it could not be written. */
  write(click: RawClick): Promise<void>;
  /** Distinct clicks this writer put into the table. */
  readonly stored: number;
}

/**
 * Collects clicks and writes them a chunk at a time: a chunk leaves when it holds `chunkSize` clicks
 * or on the next macrotask, so clicks handed over concurrently (as the BatchProcessor does) share
 * requests. Its promises settle with the outcome of their own chunk; a duplicate key shares the
 * first one's write.
 */
abstract class ChunkedClickWriter implements ClickWriter {
  readonly #outcomes = new Map<string, Promise<void>>();
  #buffer: Waiting[] = [];
  #scheduled: NodeJS.Immediate | undefined;
  protected storedCount = 0;

  protected constructor(
    protected readonly tableName: string,
    private readonly chunkSize: number,
  ) {}

  get stored(): number {
    return this.storedCount;
  }

  write(click: RawClick): Promise<void> {
    const key = keyOf(click.linkShard, click.clickKey);
    const known = this.#outcomes.get(key);
    if (known !== undefined) return known;
    const outcome = new Promise<void>((resolve, reject) => this.#buffer.push({ click, resolve, reject }));
    this.#outcomes.set(key, outcome);
    if (this.#buffer.length >= this.chunkSize) this.#flush();
    else this.#scheduled ??= setImmediate(() => this.#flush());
    return outcome;
  }

  #flush(): void {
    clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    const chunk = this.#buffer;
    this.#buffer = [];
    void this.writeChunk(new Map(chunk.map((waiting) => [waitingKey(waiting), waiting])));
  }

  /** Writes a chunk by key, settling each click's promise; never rejects. */
  protected abstract writeChunk(chunk: ReadonlyMap<string, Waiting>): Promise<void>;
}

/**
 * Writes with BatchWriteItem: 25 items a request instead of one request a click. Puts are
 * unconditional: a redelivered message overwrites its own item with the same content.
 */
export class RawClickWriter extends ChunkedClickWriter {
  constructor(tableName: string) {
    super(tableName, MAX_BATCH_WRITE_ITEMS);
  }

  protected async writeChunk(chunk: ReadonlyMap<string, Waiting>): Promise<void> {
    const pending = new Map(chunk);
    try {
      await untilProcessed(new Set(pending.keys()), async (keys) => {
        const { UnprocessedItems } = await dynamoDocumentClient().send(
          new BatchWriteCommand({
            RequestItems: { [this.tableName]: [...keys].map((key) => ({ PutRequest: { Item: { ...chunk.get(key)?.click } } })) },
          }),
        );
        const unprocessed = new Set(
          (UnprocessedItems?.[this.tableName] ?? []).map(({ PutRequest }) => keyOf(PutRequest?.Item?.linkShard, PutRequest?.Item?.clickKey)),
        );
        for (const key of keys) {
          if (unprocessed.has(key)) continue;
          this.storedCount += 1;
          pending.get(key)?.resolve();
          pending.delete(key);
        }
        return unprocessed;
      });
    } catch (error) {
      for (const waiting of pending.values()) waiting.reject(error);
    }
  }
}

/**
 * Writes only the clicks the table does not hold yet, and never changes one it holds: the standard-log
 * backfill's writer, where nearly every click is already there from the real-time log. A chunk's keys
 * are read first (BatchGetItem, 100 keys a request, eventually consistent: half a read unit a click);
 * each missing click is then put on condition that its key is free, so a click stored meanwhile (a late
 * real-time record) wins and this write makes no change and no stream record.
 */
export class MissingRawClickWriter extends ChunkedClickWriter {
  #present = 0;

  constructor(tableName: string) {
    super(tableName, MAX_BATCH_GET_KEYS);
  }

  /** Distinct clicks found already stored. */
  get present(): number {
    return this.#present;
  }

  protected async writeChunk(chunk: ReadonlyMap<string, Waiting>): Promise<void> {
    let missing: Waiting[];
    try {
      const found = await this.#storedKeys(chunk);
      missing = [...chunk].filter(([key]) => !found.has(key)).map(([, waiting]) => waiting);
      this.#present += chunk.size - missing.length;
      for (const [key, waiting] of chunk) if (found.has(key)) waiting.resolve();
    } catch (error) {
      for (const waiting of chunk.values()) waiting.reject(error);
      return;
    }
    await Promise.all(
      missing.map(async ({ click, resolve, reject }) => {
        try {
          if (await putIfAbsent(this.tableName, 'clickKey', { ...click })) this.storedCount += 1;
          else this.#present += 1;
          resolve();
        } catch (error) {
          reject(error);
        }
      }),
    );
  }

  /** The keys of the chunk the table holds. */
  async #storedKeys(chunk: ReadonlyMap<string, Waiting>): Promise<Set<string>> {
    const found = new Set<string>();
    await untilProcessed(new Set(chunk.keys()), async (keys) => {
      const { Responses, UnprocessedKeys } = await dynamoDocumentClient().send(
        new BatchGetCommand({
          RequestItems: {
            [this.tableName]: {
              Keys: [...keys].map((key) => {
                const { linkShard, clickKey } = chunk.get(key)?.click ?? {};
                return { linkShard, clickKey };
              }),
              ProjectionExpression: '#shard, #key',
              ExpressionAttributeNames: { '#shard': 'linkShard', '#key': 'clickKey' },
            },
          },
        }),
      );
      for (const item of Responses?.[this.tableName] ?? []) found.add(keyOf(item.linkShard, item.clickKey));
      return new Set((UnprocessedKeys?.[this.tableName]?.Keys ?? []).map((key) => keyOf(key.linkShard, key.clickKey)));
    });
    return found;
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
