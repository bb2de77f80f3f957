import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENV } from '../../lambdas/contract';
import type { AlarmTopic } from './alarm-topic';
import { integerInRange } from './checks';
import { FailureQueue, streamConsumerMapping } from './failure-queue';
import { HouseFunction } from './house-function';
import { PipelinePart, uniqueIdOutsideParts } from './pipeline-part';

/**
 * The mapping's tumbling window. Only its side effect is used: a windowed event names its shard, the
 * writer of docs/statistics.md. Lambda's maximum, so the extra end-of-window invocations are rare.
 */
const TUMBLING_WINDOW = Duration.minutes(15);

export interface AggregationProps {
  /** The raw clicks table, with a NEW_IMAGE stream: the stage reads its INSERT records. */
  readonly rawClicksTable: dynamodb.ITable;
  /** Where quarter-hour aggregates are read and written (GetItem, PutItem). */
  readonly quarterHourTable: dynamodb.ITable;
  /** Where the days to roll up are marked (UpdateItem). */
  readonly pendingRollupsTable: dynamodb.ITable;
  /** IANA zone days are cut in (already checked). */
  readonly reportingTimeZone: string;
  /** Where this stage's alarms go. */
  readonly alarmTopic: AlarmTopic;
  /** How long the oldest raw click may wait in the stream before the iterator-age alarm: the second half of the aggregation-lag budget. */
  readonly lagBudget: Duration;
  /**
   * How long the event source gathers stream records before invoking (0 to 5 min). Each quarter-hour item a
   * batch touches is one write, so larger batches cost fewer writes per click and add to the aggregation lag:
   * at 1,000 clicks/s a shard, 5 s is about the 6 MB a batch can hold (docs/capacity.md).
   * @default Duration.seconds(5)
   */
  readonly batchWindow?: Duration;
  /**
   * Most stream records in one invocation (1 to 10,000); Lambda also stops a batch at 6 MB.
   * @default 10000
   */
  readonly batchSize?: number;
}

/**
 * Stage 3: the aggregate function reads the raw clicks stream (INSERT only, batches of up to 10,000 records
 * or 6 MB gathered for up to 5 s, bisect on error, 5 retries, failed batches to the stream failure queue, one invocation per shard) into one
 * quarter-hour item per target, quarter and shard, and marks the days the rollup must redo. Alarms on the
 * stream's iterator age and on any batch in the failure queue.
 */
export class Aggregation extends PipelinePart {
  readonly streamFailureQueue: sqs.Queue;
  readonly aggregateFunction: HouseFunction;
  readonly streamMapping: lambda.EventSourceMapping;

  constructor(scope: Construct, id: string, props: AggregationProps) {
    super(scope, id);
    const streamArn = props.rawClicksTable.tableStreamArn;
    if (streamArn === undefined) throw new Error(`${this.node.path}: the raw clicks table has no stream`);
    this.streamFailureQueue = new FailureQueue(this, 'StreamFailureQueue', {
      holds: 'raw click stream batches aggregation could not process',
    });

    this.aggregateFunction = new HouseFunction(this, 'AggregateFunction', {
      entry: 'lambdas/handlers/aggregate.ts',
      serviceName: 'aggregate',
      description: 'Raw clicks stream (INSERT) to quarter-hour aggregates, and the days to roll up',
      timeout: Duration.seconds(30),
      environment: {
        [ENV.quarterHourTable]: props.quarterHourTable.tableName,
        [ENV.pendingRollupsTable]: props.pendingRollupsTable.tableName,
        [ENV.reportingTimeZone]: props.reportingTimeZone,
      },
    });
    // Read-check-write of its own items (watermark condition); which days are marked, and ADD to pending markers.
    props.quarterHourTable.grant(this.aggregateFunction, 'dynamodb:GetItem', 'dynamodb:PutItem');
    props.pendingRollupsTable.grant(this.aggregateFunction, 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem');

    // What DynamoEventSource does, with the id it gave when the table sat directly in the stack: a new logical
    // ID would replace the mapping, which starts again at TRIM_HORIZON while the old one still reads each shard.
    this.streamMapping = this.aggregateFunction.addEventSourceMapping(
      `DynamoDBEventSource:${uniqueIdOutsideParts(props.rawClicksTable)}`,
      streamConsumerMapping(streamArn, this.streamFailureQueue, {
        batchSize: integerInRange('aggregationBatchSize', props.batchSize ?? 10_000, 1, 10_000),
        maxBatchingWindow: props.batchWindow ?? Duration.seconds(5),
        filters: [lambda.FilterCriteria.filter({ eventName: lambda.FilterRule.isEqual('INSERT') })],
        tumblingWindow: TUMBLING_WINDOW,
        // One invocation at a time per shard makes each quarter-hour item single-writer (docs/statistics.md):
        // explicit, because raising it would break exactly-once counting.
        parallelizationFactor: 1,
      }),
    );
    props.rawClicksTable.grantStreamRead(this.aggregateFunction);
    Validations.of(this.aggregateFunction.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'dynamodb:ListStreams, which Lambda\'s stream poller calls, has no resource-level permissions.',
    });

    const maxPerMinute = { period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM };
    props.alarmTopic.alarm(this, 'AggregationIteratorAgeAlarm', {
      description: `The oldest raw click in the table stream has waited longer than the ${props.lagBudget.toMinutes()}-minute aggregation-lag budget: aggregation is behind or failing.`,
      metric: this.aggregateFunction.metric('IteratorAge', maxPerMinute),
      threshold: props.lagBudget.toMilliseconds(),
    });
    props.alarmTopic.alarm(this, 'StreamFailureQueueAlarm', {
      description: 'Raw click stream batches failed aggregation and are in the stream failure queue.',
      metric: this.streamFailureQueue.metricApproximateNumberOfMessagesVisible(maxPerMinute),
      threshold: 1,
    });
  }
}
