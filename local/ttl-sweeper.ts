import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DescribeTableCommand,
  type AttributeValue,
  type DynamoDBClient,
  paginateScan,
} from '@aws-sdk/client-dynamodb';
import type { Stoppable } from './types';

/** DynamoDB Local never expires TTL items: this deletes them the way the TTL process would. */
export interface TtlSweeperOptions {
  readonly dynamo: DynamoDBClient;
  readonly tables: readonly { readonly tableName: string; readonly ttlAttribute: string }[];
  readonly intervalSeconds: number;
  readonly now?: () => Date;
}

export class TtlSweeper implements Stoppable {
  private readonly keyNames = new Map<string, readonly string[]>();
  private readonly now: () => Date;
  private timer?: NodeJS.Timeout;
  private sweep?: Promise<number>;
  private running = false;

  constructor(private readonly options: TtlSweeperOptions) {
    this.now = options.now ?? (() => new Date());
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.scheduleNext();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.sweep?.catch(() => undefined);
  }

  /** Deletes every item whose TTL attribute is a number of epoch seconds before now; returns how many. */
  async sweepOnce(): Promise<number> {
    const nowSeconds = Math.floor(this.now().getTime() / 1000);
    let deleted = 0;
    for (const { tableName, ttlAttribute } of this.options.tables) {
      deleted += await this.sweepTable(tableName, ttlAttribute, nowSeconds);
    }
    return deleted;
  }

  private scheduleNext(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.sweep = this.sweepOnce();
      this.sweep
        .catch((error: unknown) => {
          console.error('[ttl-sweeper] sweep failed, trying again next interval:', error);
          return 0;
        })
        .finally(() => this.scheduleNext());
    }, this.options.intervalSeconds * 1000);
  }

  private async sweepTable(tableName: string, ttlAttribute: string, nowSeconds: number): Promise<number> {
    const keyNames = await this.keyNamesOf(tableName);
    const expired = { ExpressionAttributeNames: { '#ttl': ttlAttribute }, ExpressionAttributeValues: { ':now': { N: String(nowSeconds) } } };
    let deleted = 0;
    const pages = paginateScan(
      { client: this.options.dynamo },
      {
        TableName: tableName,
        FilterExpression: '#ttl < :now',
        ProjectionExpression: keyNames.map((_, index) => `#k${index}`).join(', '),
        ...expired,
        ExpressionAttributeNames: {
          ...expired.ExpressionAttributeNames,
          ...Object.fromEntries(keyNames.map((name, index) => [`#k${index}`, name])),
        },
      },
    );
    for await (const page of pages) {
      for (const key of page.Items ?? []) {
        if (await this.deleteIfStillExpired(tableName, key, expired)) deleted += 1;
      }
    }
    return deleted;
  }

  /** Conditioned on the TTL, so an item updated since the scan (a new TTL) is kept. */
  private async deleteIfStillExpired(
    tableName: string,
    key: Record<string, AttributeValue>,
    expired: { ExpressionAttributeNames: Record<string, string>; ExpressionAttributeValues: Record<string, AttributeValue> },
  ): Promise<boolean> {
    try {
      await this.options.dynamo.send(
        new DeleteItemCommand({ TableName: tableName, Key: key, ConditionExpression: '#ttl < :now', ...expired }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  private async keyNamesOf(tableName: string): Promise<readonly string[]> {
    const known = this.keyNames.get(tableName);
    if (known !== undefined) return known;
    const { Table } = await this.options.dynamo.send(new DescribeTableCommand({ TableName: tableName }));
    const names = (Table?.KeySchema ?? []).flatMap((element) => (element.AttributeName === undefined ? [] : [element.AttributeName]));
    if (names.length === 0) throw new Error(`Table ${tableName} has no key schema`);
    this.keyNames.set(tableName, names);
    return names;
  }
}
