import { App, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { ClickAnalyticsStack } from '../../lib/click-analytics-stack';
import { STANDARD_LOG_FIELDS } from '../../lambdas/domain/standard-log';
import { expectQueueAlarm, expectTlsOnly, SKIP_BUNDLING, synthesize } from './synth';

const edgeMode = synthesize({ redirectMode: 'edge' });
const { stack, template, logicalId, actionsOn, roleStatements } = edgeMode;

function backfillStage() {
  if (stack.edgeLogBackfill === undefined) throw new Error('redirectMode=edge built no standard-log backfill');
  return stack.edgeLogBackfill;
}

describe('edge standard-log backfill (redirectMode=edge)', () => {
  const backfill = backfillStage();
  const bucket = logicalId(backfill.logBucket);
  const fn = backfill.backfillFunction;

  it("delivers the distribution's access logs (v2) as JSON lines with only the click fields, by distribution and hour", () => {
    template.hasResourceProperties('AWS::Logs::DeliverySource', {
      LogType: 'ACCESS_LOGS',
      ResourceArn: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([':cloudfront::', ':distribution/', { Ref: logicalId(stack.edge.distribution) }])] }),
    });
    template.hasResourceProperties('AWS::Logs::DeliveryDestination', {
      DestinationResourceArn: { 'Fn::GetAtt': [bucket, 'Arn'] },
      OutputFormat: 'json',
    });
    template.hasResourceProperties('AWS::Logs::Delivery', {
      DeliverySourceName: { Ref: stack.getLogicalId(backfill.deliverySource) },
      DeliveryDestinationArn: { 'Fn::GetAtt': [stack.getLogicalId(backfill.deliveryDestination), 'Arn'] },
      RecordFields: [...STANDARD_LOG_FIELDS],
      S3SuffixPath: '{DistributionId}/{yyyy}/{MM}/{dd}/{HH}',
      S3EnableHiveCompatiblePath: false,
    });
  });

  it('keeps the logs in a private, encrypted, TLS-only bucket that expires them after 3 days', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 3, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' })] },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucket },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'delivery.logs.amazonaws.com' },
            Action: 's3:PutObject',
            Condition: Match.objectLike({ StringEquals: Match.objectLike({ 's3:x-amz-acl': 'bucket-owner-full-control' }), ArnLike: Match.anyValue() }),
          }),
        ]),
      },
    });
  });

  it("notifies the backfill's queue of each new .gz object under the account's CloudFront log prefix", () => {
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: bucket },
      NotificationConfiguration: {
        QueueConfigurations: [
          {
            Events: ['s3:ObjectCreated:*'],
            QueueArn: { 'Fn::GetAtt': [logicalId(backfill.notificationQueue), 'Arn'] },
            Filter: {
              Key: {
                FilterRules: [
                  { Name: 'suffix', Value: '.gz' },
                  { Name: 'prefix', Value: { 'Fn::Join': ['', ['AWSLogs/', { Ref: 'AWS::AccountId' }, '/CloudFront/']] } },
                ],
              },
            },
          },
        ],
      },
    });
  });

  it('queues notifications encrypted, TLS only, with a DLQ after 5 receives and a visibility of 6 function timeouts', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 1800,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(backfill.notificationDeadLetterQueue), 'Arn'] }, maxReceiveCount: 5 },
    });
    expectTlsOnly(template, logicalId(backfill.notificationQueue));
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(fn) },
      EventSourceArn: { 'Fn::GetAtt': [logicalId(backfill.notificationQueue), 'Arn'] },
      BatchSize: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    template.hasResourceProperties('AWS::Lambda::Function', { FunctionName: Match.absent(), Timeout: 300, Handler: Match.anyValue(), Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'backfill-edge-logs' }) } });
  });

  it('grants the backfill only what it uses: read and delete the log objects, read then put raw clicks, the click facts, the queue', () => {
    expect(actionsOn(fn, logicalId(stack.tables.rawClicksTable))).toEqual(['dynamodb:BatchGetItem', 'dynamodb:PutItem']);
    expect(actionsOn(fn, logicalId(stack.tables.linksTable))).toEqual(['dynamodb:GetItem']);
    expect(actionsOn(fn, logicalId(stack.tables.saltsTable))).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
    expect(actionsOn(fn, logicalId(backfill.notificationQueue))).toEqual(['sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage']);
    const onBucket = roleStatements(fn).filter((statement) => JSON.stringify(statement.Resource).includes(`"${bucket}"`));
    expect(onBucket).toEqual([
      expect.objectContaining({
        Action: ['s3:GetObject', 's3:DeleteObject'],
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, '/AWSLogs/', { Ref: 'AWS::AccountId' }, '/CloudFront/*']] },
      }),
    ]);
  });

  it('alarms on a notification waiting over an hour and on any notification in its DLQ', () => {
    expectQueueAlarm(edgeMode, backfill.notificationQueue, 'ApproximateAgeOfOldestMessage', 3600);
    expectQueueAlarm(edgeMode, backfill.notificationDeadLetterQueue, 'ApproximateNumberOfMessagesVisible', 1);
  });

  it('is built in edge mode only', () => {
    expect(synthesize().stack.edgeLogBackfill).toBeUndefined();
    expect(synthesize().template.findResources('AWS::Logs::Delivery')).toEqual({});
  });

  it('refuses a region other than us-east-1, where the delivery source cannot be created', () => {
    expect(() => new ClickAnalyticsStack(new App({ context: SKIP_BUNDLING }), 'EdgeEu', { redirectMode: 'edge', env: { region: 'eu-west-1' } })).toThrow(
      /must be deployed in us-east-1, not eu-west-1/,
    );
    expect(Stack.of(new ClickAnalyticsStack(new App({ context: SKIP_BUNDLING }), 'EdgeUs', { redirectMode: 'edge', env: { region: 'us-east-1' } })).region).toBe('us-east-1');
  });
});
