import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DeleteItemCommand, type DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, type DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord, DynamoDBStreamEvent, SQSEvent } from 'aws-lambda';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/emulators/dynamodb-local';
import { type SqsEmulator, startSqs } from '../../local/emulators/sqs';
import { DynamoDbStreamPoller, type DynamoDbStreamPollerOptions } from '../../local/pollers/dynamodb-stream-poller';
import { SqsPoller, type SqsPollerOptions } from '../../local/pollers/sqs-poller';
import { createStreamTable, dynamoClient, recordingDestination, recordingFunction, REGION, sqsClient, streamsClient, testStreamPoller } from '../fixtures/local/emulators';

jest.setTimeout(30_000);

let dynamoLocal: DynamoDbLocal;
let sqsEmulator: SqsEmulator;
let dynamo: DynamoDBClient;
let streams: DynamoDBStreamsClient;
let sqs: SQSClient;
let scratchDir: string;

beforeAll(async () => {
  [dynamoLocal, sqsEmulator] = await Promise.all([startDynamoDbLocal({}), startSqs({ region: REGION })]);
  dynamo = dynamoClient(dynamoLocal.endpoint);
  streams = streamsClient(dynamoLocal.endpoint);
  sqs = sqsClient(sqsEmulator.endpoint);
  scratchDir = mkdtempSync(path.join(tmpdir(), 'local-pollers-'));
}, 60_000);

afterAll(async () => {
  for (const client of [dynamo, streams, sqs]) client?.destroy();
  await Promise.all([dynamoLocal?.stop(), sqsEmulator?.stop()]);
  rmSync(scratchDir, { recursive: true, force: true });
});

/** Quiets the pollers' expected error logs, keeping them inspectable. */
const quietErrors = () => jest.spyOn(console, 'error').mockImplementation(() => undefined);
afterEach(() => jest.restoreAllMocks());

describe('SqsPoller', () => {
  let queueCount = 0;
  async function createQueue(attributes: Record<string, string> = {}): Promise<{ queueUrl: string; queueArn: string }> {
    queueCount += 1;
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `queue-${queueCount}`, Attributes: { VisibilityTimeout: '30', ...attributes } }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    return { queueUrl: QueueUrl ?? '', queueArn: Attributes?.QueueArn ?? '' };
  }

  async function send(queueUrl: string, bodies: readonly string[]): Promise<void> {
    for (let start = 0; start < bodies.length; start += 10) {
      const entries = bodies.slice(start, start + 10).map((body, index) => ({ Id: String(index), MessageBody: body }));
      await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    }
  }

  function poller(options: Pick<SqsPollerOptions, 'queueUrl' | 'queueArn' | 'fn'> & Partial<SqsPollerOptions>): SqsPoller {
    return new SqsPoller({
      sqs,
      batchSize: 10,
      maxBatchingWindowSeconds: 1,
      reportBatchItemFailures: true,
      maxConcurrency: 2,
      retryDelaySeconds: 1,
      region: REGION,
      ...options,
    });
  }

  const bodiesOf = (event: unknown): string[] => (event as SQSEvent).Records.map((record) => record.body);

  it('delivers every message once, in Lambda SQS events of at most batchSize records', async () => {
    const queue = await createQueue();
    const bodies = Array.from({ length: 7 }, (_, index) => `message-${index}`);
    await send(queue.queueUrl, bodies);
    const fn = recordingFunction(async () => undefined);
    const sqsPoller = poller({ ...queue, fn, batchSize: 3 });
    sqsPoller.start();
    expect(await sqsPoller.drain(10_000)).toBe(true);
    await sqsPoller.stop();

    const batches = fn.events.map(bodiesOf);
    expect(batches.flat().sort()).toEqual(bodies);
    expect(Math.max(...batches.map((batch) => batch.length))).toBe(3);
    const [first] = (fn.events[0] as SQSEvent).Records;
    expect(first).toEqual({
      messageId: expect.any(String),
      receiptHandle: expect.any(String),
      body: expect.stringMatching(/^message-\d$/),
      attributes: expect.objectContaining({
        ApproximateReceiveCount: '1',
        SentTimestamp: expect.stringMatching(/^\d+$/),
        SenderId: expect.any(String),
        ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d+$/),
      }),
      messageAttributes: {},
      md5OfBody: expect.stringMatching(/^[0-9a-f]{32}$/),
      eventSource: 'aws:sqs',
      eventSourceARN: queue.queueArn,
      awsRegion: REGION,
    });
  });

  it('deletes only the successes of a partial batch failure; the failure is retried, then lands in the DLQ', async () => {
    const deadLetters = await createQueue();
    const queue = await createQueue({ RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetters.queueArn, maxReceiveCount: 2 }) });
    await send(queue.queueUrl, ['ok-1', 'bad', 'ok-2']);
    const fn = recordingFunction(async (event) => ({
      batchItemFailures: (event as SQSEvent).Records.filter((record) => record.body === 'bad').map((record) => ({ itemIdentifier: record.messageId })),
    }));
    const sqsPoller = poller({ ...queue, fn });
    sqsPoller.start();
    expect(await sqsPoller.drain(15_000)).toBe(true);
    await sqsPoller.stop();

    const deliveries = fn.events.flatMap((event) => (event as SQSEvent).Records.map((record) => `${record.body}#${record.attributes.ApproximateReceiveCount}`));
    expect(deliveries.sort()).toEqual(['bad#1', 'bad#2', 'ok-1#1', 'ok-2#1']);
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: deadLetters.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    expect(Messages.map((message) => message.Body)).toEqual(['bad']);
  });

  it('retries the whole batch when the handler throws, or reports an unknown item', async () => {
    const queue = await createQueue();
    await send(queue.queueUrl, ['first', 'second']);
    const errors = quietErrors();
    const fn = recordingFunction(async (_event, call) => {
      if (call === 1) throw new Error('handler failed');
      if (call === 2) return { batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] };
      return { batchItemFailures: [] };
    });
    const sqsPoller = poller({ ...queue, fn });
    sqsPoller.start();
    expect(await sqsPoller.drain(15_000)).toBe(true);
    await sqsPoller.stop();

    expect(fn.events.map((event) => bodiesOf(event).sort())).toEqual([
      ['first', 'second'],
      ['first', 'second'],
      ['first', 'second'],
    ]);
    expect((fn.events[2] as SQSEvent).Records.map((record) => record.attributes.ApproximateReceiveCount)).toEqual(['3', '3']);
    expect(errors).toHaveBeenCalledWith(expect.stringContaining('invalid batchItemFailures'));
  });
});

describe('DynamoDbStreamPoller', () => {
  let tableCount = 0;
  /** A fresh table with a NEW_IMAGE stream; returns its name and stream ARN. */
  async function createTable(): Promise<{ tableName: string; streamArn: string }> {
    tableCount += 1;
    const tableName = `clicks-${tableCount}`;
    return { tableName, streamArn: await createStreamTable(dynamo, tableName) };
  }

  async function put(tableName: string, ids: readonly string[]): Promise<void> {
    for (const id of ids) await dynamo.send(new PutItemCommand({ TableName: tableName, Item: { id: { S: id }, n: { N: '1' } } }));
  }

  function poller(options: Pick<DynamoDbStreamPollerOptions, 'streamArn' | 'fn'> & Partial<DynamoDbStreamPollerOptions>): DynamoDbStreamPoller {
    return testStreamPoller({
      streams,
      checkpointFile: path.join(scratchDir, `checkpoint-${tableCount}-${Math.random()}.json`),
      ...options,
    });
  }

  const records = (event: unknown): DynamoDBRecord[] => (event as DynamoDBStreamEvent).Records;
  const idsOf = (event: unknown): string[] => records(event).map((record) => record.dynamodb?.Keys?.id?.S ?? '?');

  it('delivers only INSERTs through the filter, in order, in the Lambda record shape', async () => {
    const { tableName, streamArn } = await createTable();
    await put(tableName, ['a', 'b', 'c', 'd', 'e']);
    await dynamo.send(new UpdateItemCommand({ TableName: tableName, Key: { id: { S: 'b' } }, UpdateExpression: 'SET n = :two', ExpressionAttributeValues: { ':two': { N: '2' } } }));
    await dynamo.send(new DeleteItemCommand({ TableName: tableName, Key: { id: { S: 'c' } } }));
    await put(tableName, ['f']);
    const fn = recordingFunction(async () => undefined);
    const streamPoller = poller({ streamArn, fn, batchSize: 2, filterPatterns: ['{"eventName":["INSERT"]}'] });
    streamPoller.start();
    expect(await streamPoller.drain(10_000)).toBe(true);
    await streamPoller.stop();

    expect(fn.events.flatMap(idsOf)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(fn.events.every((event) => records(event).length <= 2)).toBe(true);
    // No tumbling window: nothing but the records, as Lambda sends.
    expect(fn.events.map((event) => Object.keys(event as object))).toEqual(fn.events.map(() => ['Records']));
    const all = fn.events.flatMap(records);
    expect(all.every((record) => record.eventName === 'INSERT')).toBe(true);
    const sequenceNumbers = all.map((record) => BigInt(record.dynamodb?.SequenceNumber ?? '0'));
    expect(sequenceNumbers).toEqual([...sequenceNumbers].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
    expect(all[0]).toEqual({
      eventID: expect.any(String),
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: REGION,
      dynamodb: {
        ApproximateCreationDateTime: expect.any(Number),
        Keys: { id: { S: 'a' } },
        NewImage: { id: { S: 'a' }, n: { N: '1' } },
        SequenceNumber: expect.stringMatching(/^\d+$/),
        SizeBytes: expect.any(Number),
        StreamViewType: 'NEW_IMAGE',
      },
      eventSourceARN: streamArn,
    });
  });

  it('retries from the first failed sequence number reported', async () => {
    const { tableName, streamArn } = await createTable();
    await put(tableName, ['a', 'b', 'c', 'd']);
    const fn = recordingFunction(async (event, call) => {
      const failed = call === 1 ? records(event).filter((record) => record.dynamodb?.Keys?.id?.S === 'c') : [];
      return { batchItemFailures: failed.map((record) => ({ itemIdentifier: record.dynamodb?.SequenceNumber })) };
    });
    const streamPoller = poller({ streamArn, fn, maxBatchingWindowSeconds: 1 });
    streamPoller.start();
    expect(await streamPoller.drain(10_000)).toBe(true);
    await streamPoller.stop();

    expect(fn.events.map(idsOf)).toEqual([
      ['a', 'b', 'c', 'd'],
      ['c', 'd'],
    ]);
  });

  it('bisects a failing batch to isolate the bad record, then sends it to onFailure', async () => {
    const { tableName, streamArn } = await createTable();
    await put(tableName, ['a', 'b', 'poison', 'd']);
    quietErrors();
    const fn = recordingFunction(async (event) => {
      if (idsOf(event).includes('poison')) throw new Error('cannot process poison');
    });
    const destination = recordingDestination();
    const streamPoller = poller({
      streamArn,
      fn,
      maxBatchingWindowSeconds: 1,
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 1,
      onFailure: destination.send,
    });
    streamPoller.start();
    expect(await streamPoller.drain(10_000)).toBe(true);
    await streamPoller.stop();

    expect(fn.events.map(idsOf)).toEqual([['a', 'b', 'poison', 'd'], ['a', 'b'], ['poison', 'd'], ['poison'], ['poison'], ['d']]);
    expect(destination.received).toHaveLength(1);
    const poisonSequenceNumber = records(fn.events[3]).at(0)?.dynamodb?.SequenceNumber;
    expect(destination.received[0]).toMatchObject({
      DDBStreamBatchInfo: { shardId: expect.any(String), startSequenceNumber: poisonSequenceNumber, endSequenceNumber: poisonSequenceNumber, batchSize: 1, streamArn },
    });
  });

  it('sends the Lambda on-failure record after maximumRetryAttempts and moves on', async () => {
    const { tableName, streamArn } = await createTable();
    await put(tableName, ['x', 'y']);
    quietErrors();
    const fn = recordingFunction(async (event) => {
      if (idsOf(event).includes('x')) throw new Error('always fails');
    });
    const destination = recordingDestination();
    const streamPoller = poller({
      streamArn,
      fn,
      maxBatchingWindowSeconds: 1,
      maximumRetryAttempts: 2,
      onFailure: destination.send,
    });
    streamPoller.start();
    expect(await streamPoller.drain(10_000)).toBe(true);
    await put(tableName, ['z']);
    expect(await streamPoller.drain(10_000)).toBe(true);
    await streamPoller.stop();

    expect(fn.events.map(idsOf)).toEqual([['x', 'y'], ['x', 'y'], ['x', 'y'], ['z']]);
    const [x, y] = records(fn.events[0]);
    expect(destination.received).toEqual([
      {
        requestContext: {
          requestId: expect.any(String),
          functionArn: `arn:aws:lambda:${REGION}:000000000000:function:${fn.name}`,
          condition: 'RetryAttemptsExhausted',
          approximateInvokeCount: 3,
        },
        responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
        version: '1.0',
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        DDBStreamBatchInfo: {
          shardId: expect.any(String),
          startSequenceNumber: x?.dynamodb?.SequenceNumber,
          endSequenceNumber: y?.dynamodb?.SequenceNumber,
          approximateArrivalOfFirstRecord: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          approximateArrivalOfLastRecord: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          batchSize: 2,
          streamArn,
        },
      },
    ]);
  });

  describe('with a tumbling window', () => {
    const WINDOW_SECONDS = 900;
    type WindowEvent = DynamoDBStreamEvent & {
      shardId: string;
      eventSourceARN: string;
      window: { start: string; end: string };
      state: Record<string, unknown>;
      isFinalInvokeForWindow: boolean;
      isWindowTerminatedEarly: boolean;
    };
    const windowEvent = (event: unknown): WindowEvent => event as WindowEvent;
    const onlyShardOf = async (streamArn: string): Promise<string | undefined> => {
      const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
      expect(StreamDescription?.Shards).toHaveLength(1);
      return StreamDescription?.Shards?.[0]?.ShardId;
    };

    it('adds the shard, the aligned window and the state the previous invocation of the shard returned in it', async () => {
      const { tableName, streamArn } = await createTable();
      await put(tableName, ['a', 'b', 'c', 'd']);
      let clock = Date.parse('2026-03-08T06:52:13.456Z');
      // Each invocation appends its ids to the state it was given.
      const fn = recordingFunction(async (event) => {
        const seen = windowEvent(event).state.seen;
        return { state: { seen: [...(Array.isArray(seen) ? seen : []), ...idsOf(event)] }, batchItemFailures: [] };
      });
      const streamPoller = poller({ streamArn, fn, batchSize: 2, tumblingWindowSeconds: WINDOW_SECONDS, now: () => new Date(clock) });
      streamPoller.start();
      expect(await streamPoller.drain(10_000)).toBe(true);
      // The next window starts with a fresh state.
      clock = Date.parse('2026-03-08T07:00:00.000Z');
      await put(tableName, ['e']);
      expect(await streamPoller.drain(10_000)).toBe(true);
      await streamPoller.stop();

      const shardId = await onlyShardOf(streamArn);
      const firstWindow = { start: '2026-03-08T06:45:00Z', end: '2026-03-08T07:00:00Z' };
      const common = { shardId, eventSourceARN: streamArn, isFinalInvokeForWindow: false, isWindowTerminatedEarly: false };
      expect(fn.events.map((event) => ({ ...windowEvent(event), Records: idsOf(event) }))).toEqual([
        { ...common, Records: ['a', 'b'], window: firstWindow, state: {} },
        { ...common, Records: ['c', 'd'], window: firstWindow, state: { seen: ['a', 'b'] } },
        { ...common, Records: ['e'], window: { start: '2026-03-08T07:00:00Z', end: '2026-03-08T07:15:00Z' }, state: {} },
      ]);
    });

    it('cuts windows from the real clock by default', async () => {
      const { tableName, streamArn } = await createTable();
      await put(tableName, ['a']);
      const invokedAt: number[] = [];
      const fn = recordingFunction(async () => {
        invokedAt.push(Date.now());
        return { state: {} };
      });
      const streamPoller = poller({ streamArn, fn, tumblingWindowSeconds: WINDOW_SECONDS });
      streamPoller.start();
      expect(await streamPoller.drain(10_000)).toBe(true);
      await streamPoller.stop();

      const { window } = windowEvent(fn.events[0]);
      const [start, end] = [Date.parse(window.start), Date.parse(window.end)];
      expect(start % (WINDOW_SECONDS * 1000)).toBe(0);
      expect(end - start).toBe(WINDOW_SECONDS * 1000);
      // Window bounds are whole seconds; the invocation time is in milliseconds.
      expect(Math.floor((invokedAt[0] ?? 0) / 1000) * 1000).toBeGreaterThanOrEqual(start);
      expect(invokedAt[0]).toBeLessThan(end);
    });

    it('fails a batch whose response has no state, or is otherwise invalid, and drops that invocation\'s state', async () => {
      const { tableName, streamArn } = await createTable();
      await put(tableName, ['a', 'b']);
      const errors = quietErrors();
      const fn = recordingFunction(async (event, call) => {
        if (call === 1) return { batchItemFailures: [] };
        if (call === 2) return { state: { from: 'call 2' }, batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] };
        if (call === 3) {
          const second = records(event)[1]?.dynamodb?.SequenceNumber;
          return { state: { from: 'call 3' }, batchItemFailures: [{ itemIdentifier: second }] };
        }
        return { state: { from: `call ${call}` } };
      });
      const streamPoller = poller({ streamArn, fn, maxBatchingWindowSeconds: 1, tumblingWindowSeconds: WINDOW_SECONDS });
      streamPoller.start();
      expect(await streamPoller.drain(10_000)).toBe(true);
      await streamPoller.stop();

      // A partial failure is an accepted response: its state goes to the retry of the failed record.
      expect(fn.events.map((event) => ({ ids: idsOf(event), state: windowEvent(event).state }))).toEqual([
        { ids: ['a', 'b'], state: {} },
        { ids: ['a', 'b'], state: {} },
        { ids: ['a', 'b'], state: {} },
        { ids: ['b'], state: { from: 'call 3' } },
      ]);
      expect(errors).toHaveBeenCalledWith(expect.stringContaining('no state object'));
      expect(errors).toHaveBeenCalledWith(expect.stringContaining('invalid batchItemFailures'));
    });
  });

  it('resumes from its checkpoint after a restart', async () => {
    const { tableName, streamArn } = await createTable();
    const checkpointFile = path.join(scratchDir, 'restart', 'checkpoint.json');
    await put(tableName, ['before-1', 'before-2']);
    const firstRun = recordingFunction(async () => undefined);
    const first = poller({ streamArn, fn: firstRun, checkpointFile });
    first.start();
    expect(await first.drain(10_000)).toBe(true);
    await first.stop();

    await put(tableName, ['after-1', 'after-2']);
    const secondRun = recordingFunction(async () => undefined);
    const second = poller({ streamArn, fn: secondRun, checkpointFile });
    second.start();
    expect(await second.drain(10_000)).toBe(true);
    await second.stop();

    expect(firstRun.events.flatMap(idsOf)).toEqual(['before-1', 'before-2']);
    expect(secondRun.events.flatMap(idsOf)).toEqual(['after-1', 'after-2']);
  });
});
