/**
 * The local Kinesis event source mapping against a real kinesalite: Lambda's event shape, shard
 * order, batching, partial batch failures, bisection, retries, record age, on-failure records,
 * starting positions and checkpoints.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateStreamCommand, DescribeStreamSummaryCommand, type KinesisClient, PutRecordCommand } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { kinesisClient, type KinesisEmulator, startKinesis } from '../../local/emulators/kinesis';
import { KinesisStreamPoller, type KinesisStreamPollerOptions } from '../../local/pollers/kinesis-stream-poller';
import { MAX_INVOKE_PAYLOAD_BYTES } from '../../local/pollers/stream-shard-poller';
import { recordingDestination, recordingFunction, REGION, waitFor } from '../fixtures/local/emulators';

jest.setTimeout(30_000);

/** ExplicitHashKeys at either end of the hash key range: the first and the last shard of a two-shard stream. */
const FIRST_SHARD_KEY = '0';
const SECOND_SHARD_KEY = String(2n ** 128n - 1n);

let emulator: KinesisEmulator;
let kinesis: KinesisClient;
let scratchDir: string;

beforeAll(async () => {
  emulator = await startKinesis({});
  kinesis = kinesisClient(emulator.endpoint);
  scratchDir = mkdtempSync(path.join(tmpdir(), 'local-kinesis-poller-'));
});

afterAll(async () => {
  kinesis?.destroy();
  await emulator?.stop();
  if (scratchDir) rmSync(scratchDir, { recursive: true, force: true });
});

/** Quiets the poller's expected error logs, keeping them inspectable. */
const quietErrors = () => jest.spyOn(console, 'error').mockImplementation(() => undefined);
afterEach(() => jest.restoreAllMocks());

let streamCount = 0;
/** A fresh stream; returns its name and ARN. */
async function createStream(shardCount = 1): Promise<{ streamName: string; streamArn: string }> {
  streamCount += 1;
  const streamName = `clicks-${streamCount}`;
  await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shardCount }));
  const { StreamDescriptionSummary } = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
  return { streamName, streamArn: StreamDescriptionSummary?.StreamARN ?? '' };
}

/** Puts the values one by one (so in this order), to the shard the hash key picks; a value's start is its partition key. */
async function put(streamName: string, values: readonly string[], explicitHashKey = FIRST_SHARD_KEY): Promise<void> {
  for (const value of values) {
    await kinesis.send(new PutRecordCommand({ StreamName: streamName, Data: Buffer.from(value), PartitionKey: `key-${value.slice(0, 16)}`, ExplicitHashKey: explicitHashKey }));
  }
}

function poller(options: Pick<KinesisStreamPollerOptions, 'streamArn' | 'fn'> & Partial<KinesisStreamPollerOptions>): KinesisStreamPoller {
  return new KinesisStreamPoller({
    kinesis,
    batchSize: 10,
    maxBatchingWindowSeconds: 0,
    startingPosition: 'TRIM_HORIZON',
    reportBatchItemFailures: true,
    bisectBatchOnFunctionError: false,
    maximumRetryAttempts: -1,
    checkpointFile: path.join(scratchDir, `checkpoint-${streamCount}-${Math.random()}.json`),
    region: REGION,
    tumblingWindowSeconds: 0,
    ...options,
  });
}

/** Runs the poller until it has processed everything in the stream, then stops it. */
async function runToEnd(streamPoller: KinesisStreamPoller): Promise<void> {
  streamPoller.start();
  try {
    expect(await streamPoller.drain(10_000)).toBe(true);
  } finally {
    await streamPoller.stop();
  }
}

const records = (event: unknown): KinesisStreamRecord[] => (event as KinesisStreamEvent).Records;
const dataOf = (record: KinesisStreamRecord | undefined): string => Buffer.from(record?.kinesis.data ?? '', 'base64').toString();
const valuesOf = (event: unknown): string[] => records(event).map(dataOf);
const shardOf = (record: KinesisStreamRecord): string => record.eventID.split(':')[0] ?? '?';
const failuresFor = (failed: readonly (KinesisStreamRecord | undefined)[]) => ({
  batchItemFailures: failed.map((record) => ({ itemIdentifier: record?.kinesis.sequenceNumber })),
});

it('hands the function Lambda\'s Kinesis event: each shard in order, one batch at a time, shards in parallel', async () => {
  const { streamName, streamArn } = await createStream(2);
  await put(streamName, ['a1', 'a2', 'a3', 'a4', 'a5'], FIRST_SHARD_KEY);
  await put(streamName, ['b1', 'b2', 'b3', 'b4'], SECOND_SHARD_KEY);
  const inFlight = new Map<string, number>();
  const shardsInFlight = (): number => [...inFlight.values()].filter((count) => count > 0).length;
  const shardsSeen = new Set<string>();
  let mostInOneShard = 0;
  let bothShardsAtOnce = false;
  const fn = recordingFunction(async (event) => {
    const shard = shardOf(records(event)[0] as KinesisStreamRecord);
    inFlight.set(shard, (inFlight.get(shard) ?? 0) + 1);
    mostInOneShard = Math.max(mostInOneShard, inFlight.get(shard) ?? 0);
    if (!shardsSeen.has(shard)) {
      shardsSeen.add(shard);
      // Each shard's first batch waits for the other's: they meet only if the shards are read in parallel.
      await waitFor(() => bothShardsAtOnce || shardsInFlight() === 2, 5_000).then(() => (bothShardsAtOnce = true), () => undefined);
    }
    inFlight.set(shard, (inFlight.get(shard) ?? 1) - 1);
  });
  await runToEnd(poller({ streamArn, fn, batchSize: 2, invokeIdentityArn: 'arn:aws:iam::000000000000:role/clicks-consumer' }));

  expect(mostInOneShard).toBe(1);
  expect(bothShardsAtOnce).toBe(true);
  const all = fn.events.flatMap(records);
  expect(fn.events.every((event) => records(event).length <= 2 && new Set(records(event).map(shardOf)).size === 1)).toBe(true);
  const [firstShard, secondShard] = ['shardId-000000000000', 'shardId-000000000001'];
  expect(all.filter((record) => shardOf(record) === firstShard).map(dataOf)).toEqual(['a1', 'a2', 'a3', 'a4', 'a5']);
  expect(all.filter((record) => shardOf(record) === secondShard).map(dataOf)).toEqual(['b1', 'b2', 'b3', 'b4']);
  const first = all.find((record) => dataOf(record) === 'a1');
  expect(first).toEqual({
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: 'key-a1',
      sequenceNumber: expect.stringMatching(/^\d+$/),
      data: Buffer.from('a1').toString('base64'),
      approximateArrivalTimestamp: expect.any(Number),
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${firstShard}:${first?.kinesis.sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::000000000000:role/clicks-consumer',
    awsRegion: REGION,
    eventSourceARN: streamArn,
  });
  // Seconds, with the milliseconds as a fraction.
  const arrival = first?.kinesis.approximateArrivalTimestamp ?? 0;
  expect(Math.abs(arrival - Date.now() / 1000)).toBeLessThan(60);
  // No tumbling window: nothing but the records.
  expect(fn.events.map((event) => Object.keys(event as object))).toEqual(fn.events.map(() => ['Records']));
});

it('cuts batches at BatchSize and waits out the batching window for more records', async () => {
  const sized = await createStream();
  await put(sized.streamName, Array.from({ length: 12 }, (_, index) => `r${index}`));
  const bySize = recordingFunction(async () => undefined);
  await runToEnd(poller({ streamArn: sized.streamArn, fn: bySize, batchSize: 5, maxBatchingWindowSeconds: 1 }));
  expect(bySize.events.map((event) => records(event).length)).toEqual([5, 5, 2]);

  const windowed = await createStream();
  await put(windowed.streamName, ['early']);
  const byWindow = recordingFunction(async () => undefined);
  const windowPoller = poller({ streamArn: windowed.streamArn, fn: byWindow, maxBatchingWindowSeconds: 2 });
  windowPoller.start();
  try {
    // Well inside the 2 s window that the first record opened.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await put(windowed.streamName, ['late']);
    expect(await windowPoller.drain(10_000)).toBe(true);
  } finally {
    await windowPoller.stop();
  }
  expect(byWindow.events.map(valuesOf)).toEqual([['early', 'late']]);
});

/**
 * `count` records of 900 KB (1.2 MB in base64: five fit in 6 MB, six do not) through a poller whose
 * function answers `response`: the batches' record counts, every value in order, the largest event.
 */
async function largeRecordBatches(count: number, response: unknown, settings: Partial<KinesisStreamPollerOptions> = {}): Promise<number[]> {
  const { streamName, streamArn } = await createStream();
  const values = Array.from({ length: count }, (_, index) => `${index}${'x'.repeat(900_000)}`);
  await put(streamName, values);
  const sizes: number[] = [];
  const fn = recordingFunction(async (event) => {
    sizes.push(Buffer.byteLength(JSON.stringify(event)));
    return response;
  });
  const errors = quietErrors();
  await runToEnd(poller({ streamArn, fn, batchSize: 100, maxBatchingWindowSeconds: 1, ...settings }));
  expect(fn.events.flatMap(valuesOf)).toEqual(values);
  expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_INVOKE_PAYLOAD_BYTES);
  expect(errors).not.toHaveBeenCalled();
  return fn.events.map((event) => records(event).length);
}

it('keeps a batch within Lambda\'s 6 MB invocation payload', async () => {
  expect(await largeRecordBatches(8, undefined)).toEqual([5, 3]);
});

it('counts the tumbling window\'s fields and carried state in the 6 MB, cutting the batch before them', async () => {
  // With 900 KB of state carried, four records fill the 6 MB.
  const carrying = { state: { carried: 's'.repeat(900_000) }, batchItemFailures: [] };
  expect(await largeRecordBatches(10, carrying, { tumblingWindowSeconds: 900 })).toEqual([5, 4, 1]);
});

it('resumes from the lowest sequence number reported failed, whatever the order of the report', async () => {
  const { streamName, streamArn } = await createStream();
  await put(streamName, ['a', 'b', 'c', 'd', 'e']);
  const fn = recordingFunction(async (event, call) => {
    const [, b, , d] = records(event);
    return call === 1 ? failuresFor([d, b]) : { batchItemFailures: [] };
  });
  await runToEnd(poller({ streamArn, fn, maxBatchingWindowSeconds: 1 }));

  expect(fn.events.map(valuesOf)).toEqual([
    ['a', 'b', 'c', 'd', 'e'],
    ['b', 'c', 'd', 'e'],
  ]);
});

it('fails the whole batch on a malformed response, as Lambda does, and ignores failures it was not asked for', async () => {
  const { streamName, streamArn } = await createStream();
  await put(streamName, ['a', 'b']);
  const errors = quietErrors();
  const malformed: readonly unknown[] = [
    { batchItemFailures: [{ itemIdentifier: '' }] },
    { batchItemFailures: [{}] },
    { batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] },
    { batchItemFailures: 'all of them' },
    'not an object',
  ];
  const fn = recordingFunction(async (_event, call) => malformed[call - 1] ?? { batchItemFailures: null });
  await runToEnd(poller({ streamArn, fn, maxBatchingWindowSeconds: 1 }));

  expect(fn.events.map(valuesOf)).toEqual(Array.from({ length: malformed.length + 1 }, () => ['a', 'b']));
  expect(errors.mock.calls.filter((call) => String(call[0]).includes('invalid batchItemFailures'))).toHaveLength(malformed.length);

  // Without ReportBatchItemFailures, Lambda reads no failures from the response.
  const ignored = await createStream();
  await put(ignored.streamName, ['x', 'y']);
  const notAsked = recordingFunction(async (event) => failuresFor(records(event)));
  await runToEnd(poller({ streamArn: ignored.streamArn, fn: notAsked, reportBatchItemFailures: false, maxBatchingWindowSeconds: 1 }));
  expect(notAsked.events.map(valuesOf)).toEqual([['x', 'y']]);
});

it('bisects a failing batch to isolate the bad record, then sends it to onFailure', async () => {
  const { streamName, streamArn } = await createStream();
  await put(streamName, ['a', 'b', 'poison', 'd']);
  quietErrors();
  const fn = recordingFunction(async (event) => {
    if (valuesOf(event).includes('poison')) throw new Error('cannot process poison');
  });
  const destination = recordingDestination();
  await runToEnd(poller({ streamArn, fn, maxBatchingWindowSeconds: 1, bisectBatchOnFunctionError: true, maximumRetryAttempts: 1, onFailure: destination.send }));

  expect(fn.events.map(valuesOf)).toEqual([['a', 'b', 'poison', 'd'], ['a', 'b'], ['poison', 'd'], ['poison'], ['poison'], ['d']]);
  const poisonSequenceNumber = records(fn.events[3]).at(0)?.kinesis.sequenceNumber;
  expect(destination.received).toEqual([
    expect.objectContaining({
      requestContext: expect.objectContaining({ condition: 'RetryAttemptsExhausted', approximateInvokeCount: 2 }),
      KinesisBatchInfo: expect.objectContaining({ startSequenceNumber: poisonSequenceNumber, endSequenceNumber: poisonSequenceNumber, batchSize: 1 }),
    }),
  ]);
});

it('sends Lambda\'s Kinesis on-failure record once MaximumRetryAttempts are used up, and moves on', async () => {
  const { streamName, streamArn } = await createStream();
  await put(streamName, ['x', 'y', 'z']);
  quietErrors();
  const fn = recordingFunction(async (event) => {
    if (valuesOf(event).includes('x')) throw new Error('always fails');
  });
  const destination = recordingDestination();
  await runToEnd(poller({ streamArn, fn, batchSize: 2, maximumRetryAttempts: 2, onFailure: destination.send }));

  expect(fn.events.map(valuesOf)).toEqual([['x', 'y'], ['x', 'y'], ['x', 'y'], ['z']]);
  const [x, y] = records(fn.events[0]);
  const iso = (seconds: number | undefined): string => new Date((seconds ?? 0) * 1000).toISOString();
  expect(destination.received).toEqual([
    {
      requestContext: {
        requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        functionArn: `arn:aws:lambda:${REGION}:000000000000:function:${fn.name}`,
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 3,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      KinesisBatchInfo: {
        shardId: 'shardId-000000000000',
        startSequenceNumber: x?.kinesis.sequenceNumber,
        endSequenceNumber: y?.kinesis.sequenceNumber,
        approximateArrivalOfFirstRecord: iso(x?.kinesis.approximateArrivalTimestamp),
        approximateArrivalOfLastRecord: iso(y?.kinesis.approximateArrivalTimestamp),
        batchSize: 2,
        streamArn,
      },
    },
  ]);
});

it('drops records older than MaximumRecordAgeInSeconds before the next retry, with a RecordAgeExceeded on-failure record', async () => {
  const { streamName, streamArn } = await createStream();
  await put(streamName, ['stuck']);
  quietErrors();
  let clockAheadMs = 0;
  const fn = recordingFunction(async (event) => {
    if (valuesOf(event).includes('stuck')) throw new Error('always fails');
  });
  const destination = recordingDestination();
  const streamPoller = poller({
    streamArn,
    fn,
    maximumRecordAgeSeconds: 60,
    now: () => new Date(Date.now() + clockAheadMs),
    onFailure: destination.send,
  });
  streamPoller.start();
  try {
    await waitFor(() => fn.events.length >= 2, 10_000);
    // The record is now 61 s old: the retry under way is the last.
    clockAheadMs = 61_000;
    await waitFor(() => destination.received.length === 1, 10_000);
    clockAheadMs = 0;
    await put(streamName, ['fresh']);
    expect(await streamPoller.drain(10_000)).toBe(true);
  } finally {
    await streamPoller.stop();
  }

  const invocationsOfStuck = fn.events.filter((event) => valuesOf(event).includes('stuck')).length;
  expect(fn.events.slice(invocationsOfStuck).map(valuesOf)).toEqual([['fresh']]);
  expect(destination.received).toEqual([
    expect.objectContaining({
      requestContext: expect.objectContaining({ condition: 'RecordAgeExceeded', approximateInvokeCount: invocationsOfStuck }),
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      KinesisBatchInfo: expect.objectContaining({ startSequenceNumber: records(fn.events[0])[0]?.kinesis.sequenceNumber, batchSize: 1 }),
    }),
  ]);
});

it('refuses settings Lambda refuses', () => {
  const fn = recordingFunction(async () => undefined);
  const streamArn = 'arn:aws:kinesis:us-east-1:000000000000:stream/any';
  expect(() => poller({ streamArn, fn, maximumRecordAgeSeconds: 59 })).toThrow(/MaximumRecordAgeInSeconds 59/);
  expect(() => poller({ streamArn, fn, batchSize: 10_001 })).toThrow(/BatchSize 10001/);
  expect(() => poller({ streamArn, fn, maxBatchingWindowSeconds: 301 })).toThrow(/MaximumBatchingWindowInSeconds 301/);
  expect(() => poller({ streamArn, fn, maximumRetryAttempts: -2 })).toThrow(/MaximumRetryAttempts -2/);
});

it('starts at LATEST or AT_TIMESTAMP when asked', async () => {
  const latest = await createStream();
  await put(latest.streamName, ['before']);
  const fromLatest = recordingFunction(async () => undefined);
  const latestPoller = poller({ streamArn: latest.streamArn, fn: fromLatest, startingPosition: 'LATEST' });
  latestPoller.start();
  try {
    expect(await latestPoller.drain(10_000)).toBe(true);
    await put(latest.streamName, ['after']);
    expect(await latestPoller.drain(10_000)).toBe(true);
  } finally {
    await latestPoller.stop();
  }
  expect(fromLatest.events.flatMap(valuesOf)).toEqual(['after']);

  const timed = await createStream();
  await put(timed.streamName, ['old-1', 'old-2']);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const atTimestamp = new Date();
  await new Promise((resolve) => setTimeout(resolve, 20));
  await put(timed.streamName, ['new-1', 'new-2']);
  const fromTimestamp = recordingFunction(async () => undefined);
  await runToEnd(poller({ streamArn: timed.streamArn, fn: fromTimestamp, startingPosition: { atTimestamp } }));
  expect(fromTimestamp.events.flatMap(valuesOf)).toEqual(['new-1', 'new-2']);
});

it('resumes from its checkpoint after a restart', async () => {
  const { streamName, streamArn } = await createStream();
  const checkpointFile = path.join(scratchDir, 'restart', 'checkpoint.json');
  await put(streamName, ['before-1', 'before-2']);
  const firstRun = recordingFunction(async () => undefined);
  await runToEnd(poller({ streamArn, fn: firstRun, checkpointFile }));
  const lastDone = records(firstRun.events.at(-1)).at(-1)?.kinesis.sequenceNumber;
  expect(JSON.parse(readFileSync(checkpointFile, 'utf8'))).toEqual({ streamArn, shards: { 'shardId-000000000000': { sequenceNumber: lastDone } } });

  await put(streamName, ['after-1', 'after-2']);
  const secondRun = recordingFunction(async () => undefined);
  await runToEnd(poller({ streamArn, fn: secondRun, checkpointFile }));

  expect(firstRun.events.flatMap(valuesOf)).toEqual(['before-1', 'before-2']);
  expect(secondRun.events.flatMap(valuesOf)).toEqual(['after-1', 'after-2']);
});
