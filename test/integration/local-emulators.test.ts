import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  ListTablesCommand,
  PutItemCommand,
  ScanCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateStreamCommand, DescribeStreamSummaryCommand, GetRecordsCommand, GetShardIteratorCommand, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { marshall } from '@aws-sdk/util-dynamodb';
import { DYNAMODB_MAX_ITEM_BYTES, itemBytes, mapEntryBytes } from '../../lambdas/domain/item-size';
import { isItemTooLarge } from '../../lambdas/shared/clients/dynamodb';
import { startDynamoDbLocal } from '../../local/emulators/dynamodb-local';
import { kinesisClient, startKinesis } from '../../local/emulators/kinesis';
import { startSqs } from '../../local/emulators/sqs';
import { TtlSweeper } from '../../local/ttl-sweeper';
import { dynamoClient, sqsClient, stringKeys } from '../fixtures/local/emulators';

jest.setTimeout(60_000);

const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const canConnect = (host: string, port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/** True when nothing answers on the port at any of this machine's external IPv4 addresses. */
async function unreachableFromOutside(port: number): Promise<boolean> {
  const externalAddresses = Object.values(networkInterfaces())
    .flat()
    .filter((address) => address !== undefined && !address.internal && address.family === 'IPv4');
  for (const address of externalAddresses) {
    if (await canConnect(address?.address ?? '', port)) return false;
  }
  return true;
}

const createClicksTable = (tableName: string) =>
  new CreateTableCommand({
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    ...stringKeys('code', 'clickKey'),
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
  });

describe('DynamoDB Local', () => {
  it('starts in memory, creates a table with a stream and a TTL, and leaves no java process after stop()', async () => {
    const dynamo = await startDynamoDbLocal({});
    const client = dynamoClient(dynamo.endpoint);
    try {
      expect(dynamo.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const { TableDescription } = await client.send(createClicksTable('raw-clicks'));
      expect(TableDescription?.LatestStreamArn).toMatch(/^arn:aws:dynamodb:.+:table\/raw-clicks\/stream\//);
      expect(TableDescription?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_IMAGE' });
      await client.send(new UpdateTimeToLiveCommand({ TableName: 'raw-clicks', TimeToLiveSpecification: { Enabled: true, AttributeName: 'expiresAt' } }));
      const { TimeToLiveDescription } = await client.send(new DescribeTimeToLiveCommand({ TableName: 'raw-clicks' }));
      expect(TimeToLiveDescription).toEqual({ TimeToLiveStatus: 'ENABLED', AttributeName: 'expiresAt' });
    } finally {
      client.destroy();
      await dynamo.stop();
    }
    expect(isRunning(dynamo.pid)).toBe(false);
  });

  it('takes items our size count puts at 400 KB, refuses one byte more with the error isItemTooLarge knows', async () => {
    const dynamo = await startDynamoDbLocal({});
    const client = dynamoClient(dynamo.endpoint);
    try {
      await client.send(createClicksTable('sizes'));
      const put = (item: Record<string, unknown>): Promise<unknown> => client.send(new PutItemCommand({ TableName: 'sizes', Item: marshall(item) }));
      // A map of many small counts, the shape of a breakdown, filled to the limit as item-size.ts counts it.
      const counts: Record<string, number> = {};
      const item = { code: 'c', clickKey: 'k', breakdowns: { referrer: counts } };
      for (let index = 0, bytes = itemBytes(item); bytes < DYNAMODB_MAX_ITEM_BYTES - 40; index++) {
        counts[`host-${index}.example`] = index;
        bytes += mapEntryBytes(`host-${index}.example`, index);
      }
      expect(itemBytes(item)).toBeLessThanOrEqual(DYNAMODB_MAX_ITEM_BYTES);
      await put(item);
      // Exactly at the limit, and one byte over.
      const withPayload = (bytes: number): Record<string, unknown> => ({ code: 'c', clickKey: 'p', payload: 'x'.repeat(bytes - 21) });
      expect(itemBytes(withPayload(DYNAMODB_MAX_ITEM_BYTES))).toBe(DYNAMODB_MAX_ITEM_BYTES);
      await put(withPayload(DYNAMODB_MAX_ITEM_BYTES));
      const refused = await put(withPayload(DYNAMODB_MAX_ITEM_BYTES + 1)).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(Error);
      expect(isItemTooLarge(refused)).toBe(true);
    } finally {
      client.destroy();
      await dynamo.stop();
    }
  });

  it('has its expired items deleted by the TTL sweeper, which DynamoDB Local never does itself', async () => {
    const dynamo = await startDynamoDbLocal({});
    const client = dynamoClient(dynamo.endpoint);
    try {
      await client.send(createClicksTable('expiring'));
      const now = new Date('2026-03-10T12:00:00Z');
      const nowSeconds = now.getTime() / 1000;
      const items = [
        { clickKey: 'expired', expiresAt: nowSeconds - 1 },
        { clickKey: 'expiring-now', expiresAt: nowSeconds },
        { clickKey: 'alive', expiresAt: nowSeconds + 3600 },
      ];
      for (const { clickKey, expiresAt } of items) {
        await client.send(new PutItemCommand({ TableName: 'expiring', Item: { code: { S: 'abc' }, clickKey: { S: clickKey }, expiresAt: { N: String(expiresAt) } } }));
      }
      await client.send(new PutItemCommand({ TableName: 'expiring', Item: { code: { S: 'abc' }, clickKey: { S: 'no-ttl' } } }));
      const sweeper = new TtlSweeper({ dynamo: client, tables: [{ tableName: 'expiring', ttlAttribute: 'expiresAt' }], intervalSeconds: 60, now: () => now });

      expect(await sweeper.sweepOnce()).toBe(1);
      const { Items = [] } = await client.send(new ScanCommand({ TableName: 'expiring' }));
      expect(Items.map((item) => item.clickKey?.S).sort()).toEqual(['alive', 'expiring-now', 'no-ttl']);
      expect(await sweeper.sweepOnce()).toBe(0);
      await sweeper.stop();
    } finally {
      client.destroy();
      await dynamo.stop();
    }
  });

  it('keeps tables under a data folder across a restart', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'dynamodb-local-'));
    try {
      const first = await startDynamoDbLocal({ dataDir });
      const firstClient = dynamoClient(first.endpoint);
      await firstClient.send(createClicksTable('survivor'));
      firstClient.destroy();
      await first.stop();

      const second = await startDynamoDbLocal({ dataDir });
      const secondClient = dynamoClient(second.endpoint);
      try {
        const { TableNames } = await secondClient.send(new ListTablesCommand({}));
        expect(TableNames).toEqual(['survivor']);
        const { Table } = await secondClient.send(new DescribeTableCommand({ TableName: 'survivor' }));
        expect(Table?.StreamSpecification?.StreamViewType).toBe('NEW_IMAGE');
      } finally {
        secondClient.destroy();
        await second.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('fails with a clear error on a port already taken', async () => {
    const holder = await startDynamoDbLocal({});
    const port = Number(new URL(holder.endpoint).port);
    try {
      await expect(startDynamoDbLocal({ port })).rejects.toThrow(`Port ${port} is not free for DynamoDB Local`);
    } finally {
      await holder.stop();
    }
  });
});

describe('fauxqs', () => {
  it('serves SQS on 127.0.0.1 only, with queue URLs that need an explicit endpoint', async () => {
    const sqs = await startSqs({ region: 'eu-west-1' });
    const client = sqsClient(sqs.endpoint);
    try {
      const port = Number(new URL(sqs.endpoint).port);
      expect(new URL(sqs.endpoint).hostname).toBe('127.0.0.1');
      expect(await canConnect('127.0.0.1', port)).toBe(true);
      expect(await unreachableFromOutside(port)).toBe(true);

      const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: 'clicks' }));
      expect(QueueUrl).toMatch(/^http:\/\/sqs\.us-east-1\.localhost:\d+\/000000000000\/clicks$/);
      await client.send(new SendMessageCommand({ QueueUrl, MessageBody: '{"v":1}' }));
      const { Messages } = await client.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
      expect(Messages?.map((message) => message.Body)).toEqual(['{"v":1}']);
    } finally {
      client.destroy();
      await sqs.stop();
    }
    expect(await canConnect('127.0.0.1', Number(new URL(sqs.endpoint).port))).toBe(false);
  });
});

describe('kinesalite', () => {
  it('serves Kinesis on 127.0.0.1 only, streams active at once, to a client given its endpoint; stop() frees the port', async () => {
    const kinesis = await startKinesis({});
    const client = kinesisClient(kinesis.endpoint);
    const port = Number(new URL(kinesis.endpoint).port);
    try {
      expect(new URL(kinesis.endpoint).hostname).toBe('127.0.0.1');
      expect(await canConnect('127.0.0.1', port)).toBe(true);
      expect(await unreachableFromOutside(port)).toBe(true);

      await client.send(new CreateStreamCommand({ StreamName: 'clicks', ShardCount: 1 }));
      const { StreamDescriptionSummary } = await client.send(new DescribeStreamSummaryCommand({ StreamName: 'clicks' }));
      expect(StreamDescriptionSummary?.StreamStatus).toBe('ACTIVE');
      expect(StreamDescriptionSummary?.StreamARN).toMatch(/^arn:aws:kinesis:[a-z0-9-]+:000000000000:stream\/clicks$/);
      await client.send(new PutRecordCommand({ StreamName: 'clicks', PartitionKey: 'demo', Data: Buffer.from('{"v":1}') }));
      const { ShardIterator } = await client.send(
        new GetShardIteratorCommand({ StreamName: 'clicks', ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }),
      );
      const { Records = [] } = await client.send(new GetRecordsCommand({ ShardIterator }));
      expect(Records.map((record) => Buffer.from(record.Data ?? []).toString())).toEqual(['{"v":1}']);
    } finally {
      // The client is left open on purpose: its keep-alive connection must not hold the emulator up.
      await kinesis.stop();
      client.destroy();
    }
    expect(await canConnect('127.0.0.1', port)).toBe(false);
  });
});
