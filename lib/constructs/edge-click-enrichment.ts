import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { DEFAULT_SALT_PERIOD, ENV, type SaltPeriod } from '../../lambdas/contract';
import type { AlarmTopic } from './alarm-topic';
import { integerInRange } from './checks';
import { geoipAsset } from './click-enrichment';
import { FailureQueue, streamConsumerMapping } from './failure-queue';
import { HouseFunction } from './house-function';
import { PipelinePart } from './pipeline-part';

export interface EdgeClickEnrichmentProps {
  /** The edge redirect's real-time log stream (EdgeRedirects.clickStream): one record per viewer request. */
  readonly clickStream: kinesis.IStream;
  /** Where the clicks go (BatchWriteItem), as the queue's enrichment writes them. */
  readonly rawClicksTable: dynamodb.ITable;
  /** Links, for each click's owner (GetItem on the table only). */
  readonly linksTable: dynamodb.ITable;
  /** Visitor-hash salts, read and created as the origin redirect does (GetItem, PutItem). */
  readonly saltsTable: dynamodb.ITable;
  /**
   * The salt rotation period: the origin redirect's, so a visitor keys the same at the edge and at the origin.
   * @default 'month'
   */
  readonly visitorSaltPeriod?: SaltPeriod;
  /**
   * How long a link's owner is cached, in seconds (0 to 86,400).
   * @default 60
   */
  readonly linkCacheTtlSeconds?: number;
  /**
   * The operator's GeoIP database (MaxMind format), relative to the project root.
   * @default the bundled DB-IP Lite country database
   */
  readonly geoipDatabasePath?: string;
  readonly alarmTopic: AlarmTopic;
  /** How long the oldest record may wait in the stream before the iterator-age alarm. */
  readonly lagBudget: Duration;
}

const EDGE_ENRICH_TIMEOUT = Duration.seconds(30);

/**
 * Stage 2 at the edge (redirectMode=edge): the click stream's consumer turns the redirects the edge function
 * answered into raw clicks, as the queue's enrichment does (batches of 100, bisect on error, 5 retries,
 * partial batch failures, failed batches to its failure queue). Alarms on the stream's iterator age and on
 * any batch in the failure queue.
 */
export class EdgeClickEnrichment extends PipelinePart {
  readonly edgeEnrichFunction: HouseFunction;
  readonly streamFailureQueue: sqs.Queue;
  readonly streamMapping: lambda.EventSourceMapping;

  constructor(scope: Construct, id: string, props: EdgeClickEnrichmentProps) {
    super(scope, id);
    this.streamFailureQueue = new FailureQueue(this, 'EdgeClickFailureQueue', { holds: 'edge click log batches enrichment could not process' });
    const geoip = geoipAsset(props.geoipDatabasePath);
    this.edgeEnrichFunction = new HouseFunction(this, 'EdgeEnrichFunction', {
      entry: 'lambdas/handlers/enrich-edge.ts',
      serviceName: 'enrich-edge',
      description: 'Edge redirect real-time logs to raw clicks table: the redirects the edge function answered',
      memorySize: 512,
      timeout: EDGE_ENRICH_TIMEOUT,
      environment: {
        [ENV.rawClicksTable]: props.rawClicksTable.tableName,
        [ENV.geoipDatabase]: geoip.asset.to,
        [ENV.geoipDatabaseType]: geoip.type,
        [ENV.linksTable]: props.linksTable.tableName,
        [ENV.saltsTable]: props.saltsTable.tableName,
        [ENV.visitorSaltPeriod]: props.visitorSaltPeriod ?? DEFAULT_SALT_PERIOD,
        [ENV.linkCacheTtlSeconds]: String(integerInRange('linkCacheTtlSeconds', props.linkCacheTtlSeconds ?? 60, 0, 86_400)),
      },
      assets: [geoip.asset],
    });
    props.rawClicksTable.grant(this.edgeEnrichFunction, 'dynamodb:BatchWriteItem');
    // The table alone: Table.grant would add its indexes (index/*), which the owner lookup never reads.
    iam.Grant.addToPrincipal({ grantee: this.edgeEnrichFunction, actions: ['dynamodb:GetItem'], resourceArns: [props.linksTable.tableArn] });
    props.saltsTable.grant(this.edgeEnrichFunction, 'dynamodb:GetItem', 'dynamodb:PutItem');

    this.streamMapping = this.edgeEnrichFunction.addEventSourceMapping(
      'EdgeClickStreamSource',
      streamConsumerMapping(props.clickStream.streamArn, this.streamFailureQueue),
    );
    props.clickStream.grantRead(this.edgeEnrichFunction);

    const maxPerMinute = { period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM };
    props.alarmTopic.alarm(this, 'EdgeClickIteratorAgeAlarm', {
      description: `The oldest edge click log record has waited longer than the ${props.lagBudget.toMinutes()}-minute aggregation-lag budget.`,
      metric: this.edgeEnrichFunction.metric('IteratorAge', maxPerMinute),
      threshold: props.lagBudget.toMilliseconds(),
    });
    props.alarmTopic.alarm(this, 'EdgeClickFailureQueueAlarm', {
      description: 'Edge click log batches failed enrichment and are in their failure queue.',
      metric: this.streamFailureQueue.metricApproximateNumberOfMessagesVisible(maxPerMinute),
      threshold: 1,
    });
  }
}
