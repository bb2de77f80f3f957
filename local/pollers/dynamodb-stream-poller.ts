import {
  type AttributeValue,
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import type { AttributeValue as LambdaAttributeValue, DynamoDBRecord } from 'aws-lambda';
import { matchesFilters } from '../event-filter';
import { type IteratorPosition, type StreamEntry, type StreamPollerSettings, type StreamShard, StreamShardPoller, type StreamSource } from './stream-shard-poller';

export interface DynamoDbStreamPollerOptions extends StreamPollerSettings {
  readonly streams: DynamoDBStreamsClient;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
  /** FilterCriteria patterns (JSON strings); records that match none are skipped. */
  readonly filterPatterns: readonly string[];
}

const GET_RECORDS_LIMIT = 1_000;

/**
 * Lambda's DynamoDB Streams event source mapping, played locally: the shared stream semantics
 * (stream-shard-poller.ts) over the DynamoDB Streams API, with FilterCriteria.
 */
export class DynamoDbStreamPoller extends StreamShardPoller<DynamoDBRecord> {
  constructor(options: DynamoDbStreamPollerOptions) {
    super(options, new DynamoDbStreamSource(options));
  }
}

class DynamoDbStreamSource implements StreamSource<DynamoDBRecord> {
  readonly logName = 'stream-poller';
  readonly batchInfoKey = 'DDBStreamBatchInfo';

  constructor(private readonly options: DynamoDbStreamPollerOptions) {}

  async listShards(): Promise<StreamShard[]> {
    const shards: StreamShard[] = [];
    let exclusiveStartShardId: string | undefined;
    do {
      const { StreamDescription } = await this.options.streams.send(
        new DescribeStreamCommand({ StreamArn: this.options.streamArn, ExclusiveStartShardId: exclusiveStartShardId }),
      );
      for (const { ShardId: shardId, ParentShardId: parentShardId } of StreamDescription?.Shards ?? []) {
        if (shardId !== undefined) shards.push({ shardId, parentShardId });
      }
      exclusiveStartShardId = StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId !== undefined);
    return shards;
  }

  async shardIterator(shardId: string, position: IteratorPosition): Promise<string> {
    const base = { StreamArn: this.options.streamArn, ShardId: shardId };
    const request =
      'type' in position
        ? { ...base, ShardIteratorType: position.type }
        : { ...base, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER' as const, SequenceNumber: position.afterSequenceNumber };
    const { ShardIterator } = await this.options.streams.send(new GetShardIteratorCommand(request));
    if (ShardIterator === undefined) throw new Error(`No iterator for shard ${shardId}`);
    return ShardIterator;
  }

  async getRecords(_shardId: string, iterator: string): Promise<{ entries: StreamEntry<DynamoDBRecord>[]; nextIterator: string | undefined }> {
    const { Records = [], NextShardIterator } = await this.options.streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: GET_RECORDS_LIMIT }));
    return { entries: Records.map((record) => this.toEntry(record)), nextIterator: NextShardIterator };
  }

  isPositionGone(error: unknown): boolean {
    return error instanceof TrimmedDataAccessException;
  }

  private toEntry(record: _Record): StreamEntry<DynamoDBRecord> {
    const stream = record.dynamodb;
    const sequenceNumber = stream?.SequenceNumber;
    if (sequenceNumber === undefined) throw new Error(`Stream record ${record.eventID ?? '?'} has no sequence number`);
    // Lambda's record gives the creation time in whole seconds.
    const createdSeconds = stream?.ApproximateCreationDateTime === undefined ? undefined : Math.floor(stream.ApproximateCreationDateTime.getTime() / 1000);
    const lambdaRecord: DynamoDBRecord = {
      eventID: record.eventID,
      eventName: record.eventName,
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: this.options.region,
      dynamodb: {
        ApproximateCreationDateTime: createdSeconds,
        Keys: toLambdaImage(stream?.Keys),
        NewImage: toLambdaImage(stream?.NewImage),
        OldImage: toLambdaImage(stream?.OldImage),
        SequenceNumber: sequenceNumber,
        SizeBytes: stream?.SizeBytes,
        StreamViewType: stream?.StreamViewType,
      },
      eventSourceARN: this.options.streamArn,
      ...(record.userIdentity === undefined ? {} : { userIdentity: record.userIdentity }),
    };
    // Round-trip through JSON: drops undefined fields, so the function sees what Lambda would send.
    const event = JSON.parse(JSON.stringify(lambdaRecord)) as DynamoDBRecord;
    return {
      record: event,
      sequenceNumber,
      // DynamoDB always sets the creation time; without one, the record counts as just arrived.
      arrivalMs: createdSeconds === undefined ? Date.now() : createdSeconds * 1000,
      matches: matchesFilters(this.options.filterPatterns, event),
    };
  }
}

function toLambdaImage(image: Record<string, AttributeValue> | undefined): Record<string, LambdaAttributeValue> | undefined {
  return image === undefined ? undefined : Object.fromEntries(Object.entries(image).map(([name, value]) => [name, toLambdaAttributeValue(value)]));
}

/** The SDK gives binary values as bytes; Lambda's event carries them base64-encoded. */
function toLambdaAttributeValue(value: AttributeValue): LambdaAttributeValue {
  const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.BS !== undefined) return { BS: value.BS.map(base64) };
  if (value.M !== undefined) return { M: toLambdaImage(value.M) ?? {} };
  if (value.L !== undefined) return { L: value.L.map(toLambdaAttributeValue) };
  // S, N, SS, NS, BOOL and NULL have the same JSON in both.
  return value as LambdaAttributeValue;
}
