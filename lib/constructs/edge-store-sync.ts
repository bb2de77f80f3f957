import { Duration, Validations } from 'aws-cdk-lib';
import type * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENV } from '../../lambdas/contract';
import { LINKS_BY_EDGE_RECENCY_INDEX } from '../../lambdas/tables/links';
import type { AlarmTopic } from './alarm-topic';
import { FailureQueue, streamConsumerMapping } from './failure-queue';
import { HouseFunction } from './house-function';
import { PipelinePart } from './pipeline-part';

export interface EdgeStoreSyncProps {
  /**
   * The links table, with a NEW_AND_OLD_IMAGES stream (every creation, change and deletion of a link) and
   * the byEdgeRecency index (the links the store holds, least recently clicked first).
   */
  readonly linksTable: dynamodb.ITable;
  /** The edge function's store (EdgeRedirects.keyValueStore), which follows the links. */
  readonly keyValueStore: cloudfront.IKeyValueStore;
  /** IANA zone of the rollup's click days (already checked): a link's creation day is cut in it too. */
  readonly reportingTimeZone: string;
  readonly alarmTopic: AlarmTopic;
}

/**
 * Keeps the edge function's KeyValueStore in line with the links table (redirectMode=edge): the links
 * stream, in order per shard (one invocation at a time), batches of 100, bisect on error, 5 retries,
 * partial batch failures, failed batches to its failure queue, which alarms. When the store is full the
 * least recently clicked links leave it for the origin to make room for more recently clicked ones; a link
 * the store cannot take (no older link to evict, or a URL too long for a value) stays with the origin
 * redirect (docs/edge.md).
 */
export class EdgeStoreSync extends PipelinePart {
  readonly storeSyncFunction: HouseFunction;
  readonly streamFailureQueue: sqs.Queue;
  readonly streamMapping: lambda.EventSourceMapping;

  constructor(scope: Construct, id: string, props: EdgeStoreSyncProps) {
    super(scope, id);
    const streamArn = props.linksTable.tableStreamArn;
    if (streamArn === undefined) throw new Error(`${this.node.path}: the links table has no stream`);
    this.streamFailureQueue = new FailureQueue(this, 'StoreSyncFailureQueue', { holds: 'link changes the edge store could not take' });
    this.storeSyncFunction = new HouseFunction(this, 'StoreSyncFunction', {
      entry: 'lambdas/handlers/kvs-sync.ts',
      serviceName: 'kvs-sync',
      description: 'Links stream to the edge redirect KeyValueStore: puts and deletes of short codes',
      timeout: Duration.seconds(30),
      environment: {
        [ENV.keyValueStoreArn]: props.keyValueStore.keyValueStoreArn,
        [ENV.linksTable]: props.linksTable.tableName,
        [ENV.reportingTimeZone]: props.reportingTimeZone,
      },
    });
    // The data-plane actions the sync uses, on this store only.
    this.storeSyncFunction.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['cloudfront-keyvaluestore:DescribeKeyValueStore', 'cloudfront-keyvaluestore:UpdateKeys'],
        resources: [props.keyValueStore.keyValueStoreArn],
      }),
    );
    this.streamMapping = this.storeSyncFunction.addEventSourceMapping(
      'LinksStreamSource',
      // A code's changes must reach the store in order.
      streamConsumerMapping(streamArn, this.streamFailureQueue, { parallelizationFactor: 1 }),
    );
    props.linksTable.grantStreamRead(this.storeSyncFunction);
    // The held marks on the table (UpdateItem), and the held links by recency (Query on that index alone;
    // Table.grant would cover every index, index/*).
    iam.Grant.addToPrincipal({ grantee: this.storeSyncFunction, actions: ['dynamodb:UpdateItem'], resourceArns: [props.linksTable.tableArn] });
    iam.Grant.addToPrincipal({
      grantee: this.storeSyncFunction,
      actions: ['dynamodb:Query'],
      resourceArns: [`${props.linksTable.tableArn}/index/${LINKS_BY_EDGE_RECENCY_INDEX.indexName}`],
    });
    Validations.of(this.storeSyncFunction.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'dynamodb:ListStreams, which Lambda\'s stream poller calls, has no resource-level permissions.',
    });

    props.alarmTopic.alarm(this, 'StoreSyncFailureQueueAlarm', {
      description: 'Link changes failed to reach the edge store and are in its failure queue: those links may redirect to an old URL at the edge.',
      metric: this.streamFailureQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 1,
    });
  }
}
