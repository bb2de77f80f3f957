import { Match } from 'aws-cdk-lib/assertions';
import type { HouseFunction } from '../../lib/constructs/house-function';
import { expectQueueAlarm, houseEnvironment, synthesize } from './synth';

const synthesized = synthesize();
const { stack, template, logicalId, actionsOn, environmentOf } = synthesized;
const { rollup, tables } = stack;

describe('Rollup', () => {
  it('wires the rollup environment: every statistics table, reporting zone', () => {
    expect(environmentOf(rollup.rollupFunction)).toEqual({
      QUARTER_HOUR_TABLE_NAME: { Ref: logicalId(tables.quarterHourTable) },
      DAILY_TABLE_NAME: { Ref: logicalId(tables.dailyTable) },
      MONTHLY_TABLE_NAME: { Ref: logicalId(tables.monthlyTable) },
      PENDING_ROLLUPS_TABLE_NAME: { Ref: logicalId(tables.pendingRollupsTable) },
      REPORTING_TIME_ZONE: 'UTC',
      ...houseEnvironment('rollup'),
    });
  });

  it('does not retry a failed rollup run and drops one older than its 4-minute period: the next run is the retry', () => {
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId(rollup.rollupFunction) },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 240,
    });
  });

  it('runs the rollup every 4 minutes (daily and monthly at most 5 minutes behind), retrying delivery within one period, undeliverable runs to its DLQ', () => {
    template.resourceCountIs('AWS::Events::Rule', 1);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(4 minutes)',
      State: 'ENABLED',
      Targets: [
        {
          Id: Match.anyValue(),
          Arn: { 'Fn::GetAtt': [logicalId(rollup.rollupFunction), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 240 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(rollup.scheduleDeadLetterQueue), 'Arn'] } },
        },
      ],
    });
  });

  it('lets only this rule invoke the rollup and write to its DLQ', () => {
    const rule = logicalId(rollup.schedule);
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [logicalId(rollup.rollupFunction), 'Arn'] },
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [rule, 'Arn'] },
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: logicalId(rollup.scheduleDeadLetterQueue) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sqs:SendMessage',
            Principal: { Service: 'events.amazonaws.com' },
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [rule, 'Arn'] } } },
          }),
        ]),
      },
    });
  });

  it('lets the rollup query quarter-hour and daily items, put daily and monthly ones, and take pending days', () => {
    const fn = rollup.rollupFunction;
    expect(actionsOn(fn, logicalId(tables.quarterHourTable))).toEqual(['dynamodb:Query']);
    expect(actionsOn(fn, logicalId(tables.dailyTable))).toEqual(['dynamodb:PutItem', 'dynamodb:Query']);
    expect(actionsOn(fn, logicalId(tables.monthlyTable))).toEqual(['dynamodb:PutItem']);
    expect(actionsOn(fn, logicalId(tables.pendingRollupsTable))).toEqual(['dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
  });

  it('alarms when the rollup fails three scheduled runs in a row (one failure is repaired by the next run)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(rollup.rollupFunction) } }],
      Statistic: 'Sum',
      Period: 240,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: logicalId(stack.alarms.topic) }],
      OKActions: [{ Ref: logicalId(stack.alarms.topic) }],
    });
  });

  it('alarms when a day that is over has waited more than 15 minutes for its rollup, or no run reported, on the metric the rollup publishes', () => {
    // Powertools Metrics publishes under its namespace with one default dimension, service = POWERTOOLS_SERVICE_NAME.
    const rollupEnvironment = environmentOf(rollup.rollupFunction);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: rollupEnvironment.POWERTOOLS_METRICS_NAMESPACE,
      MetricName: 'OldestPendingRollupSeconds',
      Dimensions: [{ Name: 'service', Value: rollupEnvironment.POWERTOOLS_SERVICE_NAME }],
      Statistic: 'Maximum',
      // Two schedule periods: every run reports, so only a stopped rollup leaves a window empty.
      Period: 480,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 900,
      EvaluationPeriods: 1,
      TreatMissingData: 'breaching',
      AlarmActions: [{ Ref: logicalId(stack.alarms.topic) }],
      OKActions: [{ Ref: logicalId(stack.alarms.topic) }],
    });
  });

  it('alarms on any aggregate item DynamoDB refused for size, from the aggregator or the rollup', () => {
    const published = (fn: HouseFunction, id: string): object => {
      const environment = environmentOf(fn);
      return {
        Id: id,
        MetricStat: {
          Metric: {
            Namespace: environment.POWERTOOLS_METRICS_NAMESPACE,
            MetricName: 'AggregateItemsTooLarge',
            Dimensions: [{ Name: 'service', Value: environment.POWERTOOLS_SERVICE_NAME }],
          },
          Period: 300,
          Stat: 'Sum',
        },
        ReturnData: false,
      };
    };
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'FILL(aggregate, 0) + FILL(rollup, 0)' }),
        Match.objectLike(published(stack.aggregation.aggregateFunction, 'aggregate')),
        Match.objectLike(published(rollup.rollupFunction, 'rollup')),
      ]),
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: logicalId(stack.alarms.topic) }],
    });
  });

  it('alarms on any event in the rollup schedule DLQ', () => {
    expectQueueAlarm(synthesized, rollup.scheduleDeadLetterQueue, 'ApproximateNumberOfMessagesVisible', 1);
  });
});
