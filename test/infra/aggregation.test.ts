import { expectQueueAlarm, houseEnvironment, synthesize } from './synth';

const synthesized = synthesize();
const { stack, template, logicalId, actionsOn, environmentOf } = synthesized;
const { aggregation, tables } = stack;

describe('Aggregation', () => {
  it('wires the aggregate environment: quarter-hour and pending tables, reporting zone', () => {
    expect(environmentOf(aggregation.aggregateFunction)).toEqual({
      QUARTER_HOUR_TABLE_NAME: { Ref: logicalId(tables.quarterHourTable) },
      PENDING_ROLLUPS_TABLE_NAME: { Ref: logicalId(tables.pendingRollupsTable) },
      REPORTING_TIME_ZONE: 'UTC',
      ...houseEnvironment('aggregate'),
    });
  });

  it('feeds aggregation from the raw clicks stream: INSERT only, bisect, bounded retries, failures to the stream failure queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(tables.rawClicksTable), 'StreamArn'] },
      FunctionName: { Ref: logicalId(aggregation.aggregateFunction) },
      StartingPosition: 'TRIM_HORIZON',
      // Up to 6 MB of records (about 5,000 raw clicks) a batch, gathered for up to 5 s (docs/capacity.md).
      BatchSize: 10_000,
      MaximumBatchingWindowInSeconds: 5,
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ eventName: ['INSERT'] }) }] },
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(aggregation.streamFailureQueue), 'Arn'] } } },
    });
  });

  it('gives aggregation a 15-minute tumbling window (the event then names its shard) and one invocation per shard', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(tables.rawClicksTable), 'StreamArn'] },
      TumblingWindowInSeconds: 900,
      // Each shard the single writer of its quarter-hour items (docs/statistics.md).
      ParallelizationFactor: 1,
    });
    const factors = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).map(
      (mapping) => (mapping as { Properties: { ParallelizationFactor?: number } }).Properties.ParallelizationFactor ?? 1,
    );
    expect(factors.filter((factor) => factor > 1)).toEqual([]);
  });

  it('lets aggregation read and put quarter-hour items, mark pending days, read the stream and report failures', () => {
    const fn = aggregation.aggregateFunction;
    expect(actionsOn(fn, logicalId(tables.quarterHourTable))).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
    expect(actionsOn(fn, logicalId(tables.pendingRollupsTable))).toEqual(['dynamodb:BatchGetItem', 'dynamodb:UpdateItem']);
    expect(actionsOn(fn, logicalId(tables.rawClicksTable))).toEqual(
      ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
    );
    // Lambda only sends the failure record to the on-failure destination.
    expect(actionsOn(fn, logicalId(aggregation.streamFailureQueue))).toEqual(['sqs:SendMessage']);
  });

  it('alarms when raw clicks wait in the table stream beyond the 5-minute budget (the second half of the lag)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'IteratorAge',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(aggregation.aggregateFunction) } }],
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 5 * 60 * 1000,
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: logicalId(stack.alarms.topic) }],
      OKActions: [{ Ref: logicalId(stack.alarms.topic) }],
    });
  });

  it('alarms on any batch in the stream failure queue', () => {
    expectQueueAlarm(synthesized, aggregation.streamFailureQueue, 'ApproximateNumberOfMessagesVisible', 1);
  });
});
