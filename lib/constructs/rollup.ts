import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENV, METRIC } from '../../lambdas/contract';
import type { AlarmTopic } from './alarm-topic';
import { FailureQueue } from './failure-queue';
import { HouseFunction } from './house-function';
import { PipelinePart } from './pipeline-part';

/**
 * A day that is over (or that a late click marked again) gets its daily and monthly items within one
 * period plus a run (seconds): 4 minutes keeps that within 5. A day not over stays pending, answered
 * from its quarter-hour items, and is rolled up once it ends (lambdas/handlers/rollup.ts).
 */
const ROLLUP_PERIOD = Duration.minutes(4);
/**
 * Well inside the period, so scheduled runs do not overlap (overlap is safe, only wasted work). The handler
 * starts no marker in its last seconds; the ones it had no time for wait for the next run.
 */
const ROLLUP_TIMEOUT = Duration.minutes(2);
/** Consecutive failed runs before the errors alarm: one failure is repaired by the next run. */
const FAILED_RUNS_ALARM = 3;
/** A day over for three periods and more survived at least two runs: the rollup is behind or failing. */
const LAG_BUDGET = Duration.minutes(15);
/**
 * Every run publishes its lag, so a window of two periods always holds a datapoint (whatever the
 * schedule's jitter) unless the rollup stopped running.
 */
const LAG_ALARM_PERIOD = Duration.minutes(2 * ROLLUP_PERIOD.toMinutes());

export interface RollupProps {
  /** Quarter-hour aggregates the days are recomputed from (Query). */
  readonly quarterHourTable: dynamodb.ITable;
  /** Daily aggregates (Query, PutItem: a month is recomputed from its days). */
  readonly dailyTable: dynamodb.ITable;
  /** Monthly aggregates (PutItem). */
  readonly monthlyTable: dynamodb.ITable;
  /** The days to roll up (Query, DeleteItem). */
  readonly pendingRollupsTable: dynamodb.ITable;
  /** IANA zone days and months are cut in (already checked). */
  readonly reportingTimeZone: string;
  /** Where this stage's alarms go. */
  readonly alarmTopic: AlarmTopic;
  /**
   * The aggregation stage's function, the other writer of aggregate items: one alarm watches both for
   * items DynamoDB refused for their size.
   */
  readonly aggregateFunction: HouseFunction;
  /**
   * Edge mode: the links table, whose links get the day of their latest click (UpdateItem on the table
   * only), which the edge store's evictions go by.
   * @default - no click days are recorded (origin mode)
   */
  readonly linksTable?: dynamodb.ITable;
}

/**
 * Stage 4: every 4 minutes an EventBridge rule runs the rollup, which recomputes the daily items of the
 * pending days that are over and their months' monthly items from the level below (no Lambda retry;
 * EventBridge retries delivery within a period, then the schedule's DLQ). Alarms on three failed runs in a
 * row, on a day over and still pending for more than 15 minutes (or no run reporting), on any event in
 * the schedule's DLQ, and on any aggregate item refused for its size, from this stage or the aggregation.
 */
export class Rollup extends PipelinePart {
  readonly scheduleDeadLetterQueue: sqs.Queue;
  readonly rollupFunction: HouseFunction;
  readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: RollupProps) {
    super(scope, id);
    this.scheduleDeadLetterQueue = new FailureQueue(this, 'RollupScheduleDeadLetterQueue', {
      holds: 'scheduled rollup runs EventBridge could not deliver to the rollup function',
    });
    this.rollupFunction = new HouseFunction(this, 'RollupFunction', {
      entry: 'lambdas/handlers/rollup.ts',
      serviceName: 'rollup',
      description: 'Every 4 minutes: pending days to daily and monthly aggregates',
      // Merging the sketches of a whole day is CPU work, and more memory buys CPU.
      memorySize: 512,
      timeout: ROLLUP_TIMEOUT,
      schedulePeriod: ROLLUP_PERIOD,
      environment: {
        [ENV.quarterHourTable]: props.quarterHourTable.tableName,
        [ENV.dailyTable]: props.dailyTable.tableName,
        [ENV.monthlyTable]: props.monthlyTable.tableName,
        [ENV.pendingRollupsTable]: props.pendingRollupsTable.tableName,
        [ENV.reportingTimeZone]: props.reportingTimeZone,
        ...(props.linksTable === undefined ? {} : { [ENV.linksTable]: props.linksTable.tableName }),
      },
    });
    props.quarterHourTable.grant(this.rollupFunction, 'dynamodb:Query');
    props.dailyTable.grant(this.rollupFunction, 'dynamodb:Query', 'dynamodb:PutItem');
    props.monthlyTable.grant(this.rollupFunction, 'dynamodb:PutItem');
    props.pendingRollupsTable.grant(this.rollupFunction, 'dynamodb:Query', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem');
    if (props.linksTable !== undefined) {
      // The table alone: Table.grant would add its indexes (index/*), which an UpdateItem never names.
      iam.Grant.addToPrincipal({ grantee: this.rollupFunction, actions: ['dynamodb:UpdateItem'], resourceArns: [props.linksTable.tableArn] });
    }
    this.schedule = new events.Rule(this, 'RollupSchedule', {
      description: 'Runs the rollup of pending days into daily and monthly aggregates',
      schedule: events.Schedule.rate(ROLLUP_PERIOD),
      targets: [
        new targets.LambdaFunction(this.rollupFunction, {
          // An event older than a period is superseded by the next one.
          maxEventAge: ROLLUP_PERIOD,
          retryAttempts: 2,
          deadLetterQueue: this.scheduleDeadLetterQueue,
        }),
      ],
    });

    const alarms = props.alarmTopic;
    alarms.alarm(this, 'RollupErrorsAlarm', {
      description: `The rollup failed ${FAILED_RUNS_ALARM} scheduled runs in a row: daily and monthly figures are going stale.`,
      metric: this.rollupFunction.metricErrors({ period: ROLLUP_PERIOD, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      evaluationPeriods: FAILED_RUNS_ALARM,
      datapointsToAlarm: FAILED_RUNS_ALARM,
    });
    // Missing data breaches: no datapoint means no run got as far as reading the markers, which leaves
    // daily and monthly figures as stale as a failing rollup does (and the errors alarm sees no run).
    alarms.alarm(this, 'RollupLagAlarm', {
      description: `A day that is over has waited more than ${LAG_BUDGET.toMinutes()} minutes for its rollup, or the rollup stopped reporting: daily and monthly figures are behind.`,
      metric: this.rollupFunction.metricPublished(METRIC.oldestPendingRollupSeconds, {
        period: LAG_ALARM_PERIOD,
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: LAG_BUDGET.toSeconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    // Aggregate items are bounded well below 400 KB, so this should never fire: if it does, clicks are waiting
    // (in the stream failure queue, or as pending rollups) and the bound needs a look.
    const tooLarge = (fn: HouseFunction): cloudwatch.IMetric =>
      fn.metricPublished(METRIC.itemsTooLarge, { period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM });
    alarms.alarm(this, 'AggregateItemTooLargeAlarm', {
      description:
        'DynamoDB refused an aggregate item for its size (over 400 KB): those clicks wait in the stream failure queue or as pending rollups.',
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(aggregate, 0) + FILL(rollup, 0)',
        usingMetrics: { aggregate: tooLarge(props.aggregateFunction), rollup: tooLarge(this.rollupFunction) },
        period: Duration.minutes(5),
        label: 'Aggregate items refused for size',
      }),
      threshold: 1,
    });
    alarms.alarm(this, 'RollupScheduleDeadLetterQueueAlarm', {
      description: 'EventBridge could not invoke the rollup function: scheduled runs are in the rollup schedule DLQ.',
      metric: this.scheduleDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 1,
    });
  }
}
