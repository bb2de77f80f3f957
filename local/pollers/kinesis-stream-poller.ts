import { GetRecordsCommand, GetShardIteratorCommand, type KinesisClient, ListShardsCommand, type _Record } from '@aws-sdk/client-kinesis';
import type { KinesisStreamRecord } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID } from '../../lambdas/contract';
import {
  type IteratorPosition,
  type StartingPosition,
  type StreamEntry,
  type StreamPollerSettings,
  type StreamShard,
  StreamShardPoller,
  type StreamSource,
} from './stream-shard-poller';

export interface KinesisStreamPollerOptions extends StreamPollerSettings {
  readonly kinesis: KinesisClient;
  /** TRIM_HORIZON, LATEST, or AT_TIMESTAMP with the mapping's StartingPositionTimestamp. */
  readonly startingPosition: StartingPosition;
  /** The function's execution role, named in every record; default: a role named after the function in the local account. */
  readonly invokeIdentityArn?: string;
}

/** GetRecords returns at most 10,000 records a call. */
const GET_RECORDS_LIMIT = 10_000;

/**
 * Lambda's Kinesis Data Streams event source mapping (shared-throughput, standard iterator),
 * played locally: the shared stream semantics (stream-shard-poller.ts) over the Kinesis API.
 */
export class KinesisStreamPoller extends StreamShardPoller<KinesisStreamRecord> {
  constructor(options: KinesisStreamPollerOptions) {
    super(options, new KinesisStreamSource(options));
  }
}

class KinesisStreamSource implements StreamSource<KinesisStreamRecord> {
  readonly logName = 'kinesis-poller';
  readonly batchInfoKey = 'KinesisBatchInfo';
  /** kinesalite takes streams by name only (no StreamARN parameter); AWS takes both. */
  private readonly streamName: string;
  private readonly invokeIdentityArn: string;

  constructor(private readonly options: KinesisStreamPollerOptions) {
    const name = /^arn:[^:]+:kinesis:[^:]*:\d*:stream\/(.+)$/.exec(options.streamArn)?.[1];
    if (name === undefined) throw new Error(`${options.streamArn} is not a Kinesis stream ARN`);
    this.streamName = name;
    this.invokeIdentityArn = options.invokeIdentityArn ?? `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${options.fn.name}`;
  }

  async listShards(): Promise<StreamShard[]> {
    const shards: StreamShard[] = [];
    let nextToken: string | undefined;
    do {
      // With a NextToken, ListShards refuses the stream name.
      const { Shards = [], NextToken } = await this.options.kinesis.send(
        new ListShardsCommand(nextToken === undefined ? { StreamName: this.streamName } : { NextToken: nextToken }),
      );
      for (const { ShardId: shardId, ParentShardId: parentShardId } of Shards) {
        if (shardId !== undefined) shards.push({ shardId, parentShardId });
      }
      nextToken = NextToken;
    } while (nextToken !== undefined);
    return shards;
  }

  async shardIterator(shardId: string, position: IteratorPosition): Promise<string> {
    const base = { StreamName: this.streamName, ShardId: shardId };
    const request =
      'type' in position
        ? { ...base, ShardIteratorType: position.type }
        : { ...base, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER' as const, StartingSequenceNumber: position.afterSequenceNumber };
    const { ShardIterator } = await this.options.kinesis.send(new GetShardIteratorCommand(request));
    if (ShardIterator === undefined) throw new Error(`No iterator for shard ${shardId}`);
    return ShardIterator;
  }

  async getRecords(shardId: string, iterator: string): Promise<{ entries: StreamEntry<KinesisStreamRecord>[]; nextIterator: string | undefined }> {
    const { Records = [], NextShardIterator } = await this.options.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: GET_RECORDS_LIMIT }));
    return { entries: Records.map((record) => this.toEntry(shardId, record)), nextIterator: NextShardIterator ?? undefined };
  }

  /** A sequence number the stream does not know: trimmed, or from a stream of the same name since recreated. */
  isPositionGone(error: unknown): boolean {
    return error instanceof Error && error.name === 'InvalidArgumentException';
  }

  private toEntry(shardId: string, { SequenceNumber, PartitionKey, Data, ApproximateArrivalTimestamp }: _Record): StreamEntry<KinesisStreamRecord> {
    if (SequenceNumber === undefined || PartitionKey === undefined || Data === undefined || ApproximateArrivalTimestamp === undefined) {
      throw new Error(`Kinesis record ${SequenceNumber ?? '?'} in ${shardId} lacks a field every record has`);
    }
    const record: KinesisStreamRecord = {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: PartitionKey,
        sequenceNumber: SequenceNumber,
        data: Buffer.from(Data).toString('base64'),
        // Lambda gives seconds, with the milliseconds as a fraction.
        approximateArrivalTimestamp: ApproximateArrivalTimestamp.getTime() / 1000,
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${shardId}:${SequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: this.invokeIdentityArn,
      awsRegion: this.options.region,
      eventSourceARN: this.options.streamArn,
    };
    return { record, sequenceNumber: SequenceNumber, arrivalMs: ApproximateArrivalTimestamp.getTime(), matches: true };
  }
}
