import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENV } from '../../lambdas/contract';
import type { AlarmTopic } from './alarm-topic';
import { clickFactsEnvironment, grantClickFacts, type ClickFacts } from './click-facts';
import { geoipAsset } from './click-enrichment';
import { FailureQueue, streamConsumerMapping } from './failure-queue';
import { HouseFunction } from './house-function';
import { PipelinePart } from './pipeline-part';

/**
 * What a consumer of the edge's logs needs (the real-time stream's, the standard-log backfill's): the click
 * facts are the origin redirect's, so a visitor keys the same at the edge and at the origin.
 */
export interface EdgeClickConsumerProps extends ClickFacts {
  /** Where the clicks go. */
  readonly rawClicksTable: dynamodb.ITable;
  /**
   * The operator's GeoIP database (MaxMind format), relative to the project root.
   * @default the bundled DB-IP Lite country database
   */
  readonly geoipDatabasePath?: string;
  readonly alarmTopic: AlarmTopic;
}

/** The function of an edge log consumer: its handler, 512 MB, the GeoIP database, the click facts, and `rawClicksActions` on the raw clicks table. */
export function edgeClickConsumerFunction(
  scope: Construct,
  id: string,
  props: EdgeClickConsumerProps,
  handler: { readonly entry: string; readonly serviceName: string; readonly description: string; readonly timeout: Duration; readonly rawClicksActions: readonly string[] },
): HouseFunction {
  const geoip = geoipAsset(props.geoipDatabasePath);
  const fn = new HouseFunction(scope, id, {
    entry: handler.entry,
    serviceName: handler.serviceName,
    description: handler.description,
    memorySize: 512,
    timeout: handler.timeout,
    environment: {
      [ENV.rawClicksTable]: props.rawClicksTable.tableName,
      [ENV.geoipDatabase]: geoip.asset.to,
      [ENV.geoipDatabaseType]: geoip.type,
      ...clickFactsEnvironment(props),
    },
    assets: [geoip.asset],
  });
  props.rawClicksTable.grant(fn, ...handler.rawClicksActions);
  grantClickFacts(fn, props);
  return fn;
}

export interface EdgeClickEnrichmentProps extends EdgeClickConsumerProps {
  /** The edge redirect's real-time log stream (EdgeRedirects.clickStream): one record per viewer request. */
  readonly clickStream: kinesis.IStream;
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
    // Where the clicks go (BatchWriteItem), as the queue's enrichment writes them.
    this.edgeEnrichFunction = edgeClickConsumerFunction(this, 'EdgeEnrichFunction', props, {
      entry: 'lambdas/handlers/enrich-edge.ts',
      serviceName: 'enrich-edge',
      description: 'Edge redirect real-time logs to raw clicks table: the redirects the edge function answered',
      timeout: EDGE_ENRICH_TIMEOUT,
      rawClicksActions: ['dynamodb:BatchWriteItem'],
    });

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
