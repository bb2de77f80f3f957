import { ArnFormat, Aws, Duration, Lazy, Names, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  STANDARD_LOG_FIELDS,
  STANDARD_LOG_OBJECT_SUFFIX,
  STANDARD_LOG_OUTPUT_FORMAT,
  STANDARD_LOG_SUFFIX_PATH,
  standardLogKeyPrefix,
} from '../../lambdas/domain/standard-log';
import { edgeClickConsumerFunction, type EdgeClickConsumerProps } from './edge-click-enrichment';
import { addQueueConsumer, consumedQueue, FailureQueue } from './failure-queue';
import type { HouseFunction } from './house-function';
import { PipelinePart } from './pipeline-part';

/**
 * The region a CloudFront distribution's log delivery source is created in, as AWS's examples and
 * published templates create it (docs/edge.md lists this among the facts not confirmed on AWS): the
 * stack is deployed there in edge mode, rather than fail half-way through a deploy elsewhere.
 */
export const CLOUDFRONT_LOG_DELIVERY_REGION = 'us-east-1';

/** The service that writes vended logs, standard logs v2 among them, into a delivery destination. */
const LOG_DELIVERY_SERVICE = 'delivery.logs.amazonaws.com';
/** Delivery source and destination names: 1 to 60 characters. */
const MAX_DELIVERY_NAME_LENGTH = 60;
const BACKFILL_TIMEOUT = Duration.minutes(5);
/** Standard logs usually arrive within an hour of the requests: a backlog older than that means the backfill is stuck. */
const NOTIFICATION_AGE_ALARM = Duration.hours(1);
/** The construct id of CDK's singleton that configures bucket notifications (aws-s3 BucketNotificationsHandler). */
const BUCKET_NOTIFICATIONS_HANDLER_ID = 'BucketNotificationsHandler050a0587b7544547bf325f094a3db834';

/** Backfilled clicks are read first from the raw clicks table (BatchGetItem), then put on condition (PutItem). */
export interface EdgeLogBackfillProps extends EdgeClickConsumerProps {
  /** The distribution whose standard logs are delivered (the edge redirect's). */
  readonly distribution: cloudfront.IDistribution;
  /**
   * How long a log object may stay in the bucket if the backfill has not deleted it (it holds viewer IP
   * addresses): the time an operator has to fix a failing backfill and redrive its dead-letter queue.
   * @default Duration.days(3)
   */
  readonly logObjectExpiration?: Duration;
  /**
   * Deliveries of a notification before it moves to the dead-letter queue.
   * @default 5
   */
  readonly maxReceiveCount?: number;
}

/**
 * Stage 2b at the edge (redirectMode=edge): the backfill from CloudFront standard logs (v2), which catches
 * the rare real-time log record that never arrives. A vended-log delivery writes the distribution's access
 * logs (the fields the click rule reads, JSON lines, gzip) into {@link logBucket}; each new object's S3
 * notification goes to {@link notificationQueue}, and {@link backfillFunction} stores the clicks the raw
 * clicks table lacks, then deletes the object. Alarms on the queue's oldest notification and on its DLQ.
 */
export class EdgeLogBackfill extends PipelinePart {
  /** Encrypted (SSE-S3), private, TLS only; objects expire as a backstop to the backfill's deletes. */
  readonly logBucket: s3.Bucket;
  readonly deliverySource: logs.CfnDeliverySource;
  readonly deliveryDestination: logs.CfnDeliveryDestination;
  readonly delivery: logs.CfnDelivery;
  readonly notificationQueue: sqs.Queue;
  readonly notificationDeadLetterQueue: sqs.Queue;
  readonly backfillFunction: HouseFunction;

  constructor(scope: Construct, id: string, props: EdgeLogBackfillProps) {
    super(scope, id);
    const stack = Stack.of(this);
    if (!Token.isUnresolved(stack.region) && stack.region !== CLOUDFRONT_LOG_DELIVERY_REGION) {
      throw new Error(
        `redirectMode=edge: the stack must be deployed in ${CLOUDFRONT_LOG_DELIVERY_REGION}, not ${stack.region}: ` +
          "CloudFront's standard-log delivery source, which the edge clicks' backfill needs, exists only there (docs/edge.md)",
      );
    }
    const logPrefix = standardLogKeyPrefix(Aws.ACCOUNT_ID);

    this.logBucket = new s3.Bucket(this, 'AccessLogBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      lifecycleRules: [
        {
          // Whole days only, counted from each object's creation; the backfill deletes an object once read.
          expiration: props.logObjectExpiration ?? Duration.days(3),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
    // What the CloudWatch Logs user guide gives for a same-account delivery to S3: the delivery service may put
    // objects under the account's AWSLogs/ prefix, for delivery sources of this account only.
    this.logBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AWSLogDeliveryWrite',
        principals: [new iam.ServicePrincipal(LOG_DELIVERY_SERVICE)],
        actions: ['s3:PutObject'],
        resources: [this.logBucket.arnForObjects(`AWSLogs/${Aws.ACCOUNT_ID}/*`)],
        conditions: {
          StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'logs', resource: 'delivery-source', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
        },
      }),
    );
    Validations.of(this.logBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        "Only the log delivery service writes the bucket and only the backfill reads and deletes its objects, within hours; server access logs would need a bucket of their own and would keep each object's key (distribution and hour) longer than the object itself. CloudTrail data events can audit it if needed.",
    });

    const name = (construct: Construct): string => Names.uniqueResourceName(construct, { maxLength: MAX_DELIVERY_NAME_LENGTH });
    this.deliverySource = new logs.CfnDeliverySource(this, 'AccessLogDeliverySource', {
      name: Lazy.string({ produce: () => name(this.deliverySource) }),
      logType: 'ACCESS_LOGS',
      resourceArn: stack.formatArn({ service: 'cloudfront', region: '', resource: 'distribution', resourceName: props.distribution.distributionId }),
    });
    this.deliveryDestination = new logs.CfnDeliveryDestination(this, 'AccessLogDeliveryDestination', {
      name: Lazy.string({ produce: () => name(this.deliveryDestination) }),
      destinationResourceArn: this.logBucket.bucketArn,
      outputFormat: STANDARD_LOG_OUTPUT_FORMAT,
    });
    if (this.logBucket.policy !== undefined) this.deliveryDestination.node.addDependency(this.logBucket.policy);
    this.delivery = new logs.CfnDelivery(this, 'AccessLogDelivery', {
      deliverySourceName: this.deliverySource.deliverySourceRef.deliverySourceName,
      deliveryDestinationArn: this.deliveryDestination.attrArn,
      recordFields: [...STANDARD_LOG_FIELDS],
      s3SuffixPath: STANDARD_LOG_SUFFIX_PATH,
      s3EnableHiveCompatiblePath: false,
    });
    this.delivery.addResourceDependency(this.deliverySource);
    this.delivery.addResourceDependency(this.deliveryDestination);

    this.notificationDeadLetterQueue = new FailureQueue(this, 'AccessLogNotificationDeadLetterQueue', {
      holds: 'standard-log object notifications the backfill could not process',
    });
    this.notificationQueue = consumedQueue(this, 'AccessLogNotificationQueue', {
      consumerTimeout: BACKFILL_TIMEOUT,
      deadLetterQueue: this.notificationDeadLetterQueue,
      maxReceiveCountOption: 'backfillMaxReceiveCount',
      maxReceiveCount: props.maxReceiveCount,
    });
    this.logBucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(this.notificationQueue), {
      prefix: logPrefix,
      suffix: STANDARD_LOG_OBJECT_SUFFIX,
    });
    // CDK sets bucket notifications through its own singleton function (so the bucket and the queue policy need no cycle).
    const notificationsHandler = stack.node.tryFindChild(BUCKET_NOTIFICATIONS_HANDLER_ID);
    if (notificationsHandler !== undefined) {
      Validations.of(notificationsHandler).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason:
          "CDK's bucket-notifications handler, run by CloudFormation only while deploying, writes its own log lines with the AWS-managed basic execution policy; CDK gives no way to replace its role's policy.",
      });
    }

    this.backfillFunction = edgeClickConsumerFunction(this, 'BackfillFunction', props, {
      entry: 'lambdas/handlers/backfill-edge-logs.ts',
      serviceName: 'backfill-edge-logs',
      description: 'Edge redirect standard logs to raw clicks table: the edge clicks the real-time log missed',
      timeout: BACKFILL_TIMEOUT,
      rawClicksActions: ['dynamodb:BatchGetItem', 'dynamodb:PutItem'],
    });
    const logObjects = this.logBucket.arnForObjects(`${logPrefix}*`);
    this.backfillFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:DeleteObject'], resources: [logObjects] }));
    Validations.of(this.backfillFunction.role ?? this.backfillFunction).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(this.logBucket.node.defaultChild as s3.CfnBucket)}.Arn>/AWSLogs/<AWS::AccountId>/CloudFront/*]`,
      reason: "The delivered log objects, named by distribution and hour at delivery: only the account's CloudFront logs in this bucket, to read each once and delete it.",
    });

    // A few objects at a time.
    addQueueConsumer(this.backfillFunction, 'AccessLogNotificationSource', this.notificationQueue, { batchSize: 5, maxConcurrency: 2 }, 'failed notifications go to their DLQ');

    const maxPerMinute = { period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM };
    props.alarmTopic.alarm(this, 'AccessLogNotificationAgeAlarm', {
      description: `A standard-log object has waited over ${NOTIFICATION_AGE_ALARM.toHours()} hour for the backfill: edge statistics are not completing.`,
      metric: this.notificationQueue.metricApproximateAgeOfOldestMessage(maxPerMinute),
      threshold: NOTIFICATION_AGE_ALARM.toSeconds(),
    });
    props.alarmTopic.alarm(this, 'AccessLogNotificationDeadLetterQueueAlarm', {
      description: `Standard-log objects failed the backfill repeatedly; redrive before they expire from the log bucket.`,
      metric: this.notificationDeadLetterQueue.metricApproximateNumberOfMessagesVisible(maxPerMinute),
      threshold: 1,
    });
  }
}
