import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { CLICK_LOG_FIELDS, EDGE_REDIRECT_FUNCTION_FILE, EdgeRedirects } from '../../lib/constructs/edge-redirects';
import { actionsOf, type PolicyStatement, synthesize } from './synth';

/** The resource types edge mode adds to the stack, and the one it takes away (the plain viewer function). */
const EDGE_ONLY_TYPES = ['AWS::CloudFront::KeyValueStore', 'AWS::CloudFront::RealtimeLogConfig', 'AWS::Kinesis::Stream'];

const origin = synthesize();
const edgeMode = synthesize({ redirectMode: 'edge' });
const { stack, template, logicalId } = edgeMode;

function edgeParts(): EdgeRedirects {
  if (stack.edgeRedirects === undefined) throw new Error('redirectMode=edge built no EdgeRedirects');
  return stack.edgeRedirects;
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;
const resourcesOf = (synthesized: typeof origin): Resources => synthesized.template.toJSON().Resources as Resources;

describe('EdgeRedirects (redirectMode=edge)', () => {
  const parts = edgeParts();

  it('runs the function file as it is, on runtime 2.0, with the key value store associated', () => {
    template.hasResourceProperties('AWS::CloudFront::Function', {
      FunctionCode: readFileSync(EDGE_REDIRECT_FUNCTION_FILE, 'utf8'),
      FunctionConfig: {
        Runtime: 'cloudfront-js-2.0',
        KeyValueStoreAssociations: [{ KeyValueStoreARN: { 'Fn::GetAtt': [logicalId(parts.keyValueStore), 'Arn'] } }],
      },
      AutoPublish: true,
    });
    template.resourceCountIs('AWS::CloudFront::KeyValueStore', 1);
  });

  it("puts the edge function, alone, on the default behavior's viewer requests, with the click log", () => {
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultCacheBehavior: Match.objectLike({
          FunctionAssociations: [
            { EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [logicalId(parts.redirectFunction), 'FunctionARN'] } },
          ],
          RealtimeLogConfigArn: { Ref: logicalId(parts.clickLogConfig) },
        }),
      }),
    });
    // It prepares origin requests itself, so the plain viewer function is not built (see 'changes nothing else').
    expect(stack.edge.viewerRequestFunction).toBe(parts.redirectFunction);
  });

  it('keeps clicks a day in an encrypted, on-demand stream', () => {
    template.hasResource('AWS::Kinesis::Stream', {
      Properties: {
        RetentionPeriodHours: 24,
        StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
        StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      },
      DeletionPolicy: 'Delete',
    });
  });

  it('logs every request with the click fields to the stream, through the click log role', () => {
    template.hasResource('AWS::CloudFront::RealtimeLogConfig', {
      Properties: {
        SamplingRate: 100,
        Fields: [...CLICK_LOG_FIELDS],
        EndPoints: [
          {
            StreamType: 'Kinesis',
            KinesisStreamConfig: {
              RoleArn: { 'Fn::GetAtt': [logicalId(parts.clickLogRole), 'Arn'] },
              StreamArn: { 'Fn::GetAtt': [logicalId(parts.clickStream), 'Arn'] },
            },
          },
        ],
      },
      // CloudFront checks the role when the config is created.
      DependsOn: Match.arrayWith([logicalId(parts.clickLogRole)]),
    });
  });

  it('lets only CloudFront assume the click log role, to describe and put records into the click stream alone', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'cloudfront.amazonaws.com' } }],
      },
    });
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: logicalId(parts.clickLogRole) }] } });
    const statements = Object.values(policies).flatMap(
      (policy) => (policy as { Properties: { PolicyDocument: { Statement: PolicyStatement[] } } }).Properties.PolicyDocument.Statement,
    );
    expect(statements).toHaveLength(1);
    expect(statements[0].Effect).toBe('Allow');
    expect(statements[0].Resource).toEqual({ 'Fn::GetAtt': [logicalId(parts.clickStream), 'Arn'] });
    expect([...actionsOf(statements[0])].sort()).toEqual(
      ['kinesis:DescribeStream', 'kinesis:DescribeStreamSummary', 'kinesis:PutRecord', 'kinesis:PutRecords'],
    );
    // No managed policies: nothing beyond the statement above.
    template.hasResourceProperties('AWS::IAM::Role', {
      Description: Match.stringLikeRegexp('click stream'),
      ManagedPolicyArns: Match.absent(),
    });
  });

  it('changes nothing else: the origin template plus the edge stages, the distribution re-pointed, the links table streamed and indexed, the rollup given it', () => {
    // The standard-log backfill: a consumer stage with a DLQ (and its TLS policy) and an age alarm; its delivery into
    // a bucket with its policy, notified through CDK's notification handler (a function, its role and policy).
    const backfill = [
      'AWS::Logs::DeliverySource',
      'AWS::Logs::DeliveryDestination',
      'AWS::Logs::Delivery',
      'AWS::S3::Bucket',
      'AWS::S3::BucketPolicy',
      'Custom::S3BucketNotifications',
      'AWS::Lambda::Function',
      'AWS::IAM::Role',
      'AWS::IAM::Policy',
      'AWS::SQS::Queue',
      'AWS::SQS::QueuePolicy',
      'AWS::CloudWatch::Alarm',
    ];
    const before = resourcesOf(origin);
    const after = resourcesOf(edgeMode);
    const removed = Object.keys(before).filter((id) => !(id in after));
    expect(removed.map((id) => before[id].Type)).toEqual(['AWS::CloudFront::Function']);
    const added = Object.keys(after).filter((id) => !(id in before));
    // The edge redirect's function, log role and policy; per consumer stage (store sync, click enrichment) a
    // function, its role, policy and log group, its mapping, failure queue and queue policy, and alarms.
    const perConsumer = ['AWS::Lambda::Function', 'AWS::IAM::Role', 'AWS::IAM::Policy', 'AWS::Logs::LogGroup', 'AWS::Lambda::EventSourceMapping', 'AWS::SQS::Queue', 'AWS::SQS::QueuePolicy'];
    expect(added.map((id) => after[id].Type).sort()).toEqual(
      [
        ...EDGE_ONLY_TYPES,
        'AWS::CloudFront::Function',
        'AWS::IAM::Policy',
        'AWS::IAM::Role',
        ...perConsumer,
        ...perConsumer,
        ...Array<string>(3).fill('AWS::CloudWatch::Alarm'),
        ...perConsumer,
        ...backfill,
        'AWS::CloudWatch::Alarm',
      ].sort(),
    );
    const changed = Object.keys(before).filter((id) => id in after && JSON.stringify(before[id]) !== JSON.stringify(after[id]));
    // The rollup records each link's latest click day (its variable, and UpdateItem in its role's policy).
    const rollup = origin.stack.rollup.rollupFunction;
    const rollupPolicy = origin.logicalId(rollup.role?.node.tryFindChild('DefaultPolicy') as IConstruct);
    expect(changed.sort()).toEqual(
      [origin.logicalId(origin.stack.edge.distribution), origin.logicalId(origin.stack.tables.linksTable), origin.logicalId(rollup), rollupPolicy].sort(),
    );
    expect(after[logicalId(stack.tables.linksTable)].Properties?.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(before[origin.logicalId(origin.stack.tables.linksTable)].Properties?.StreamSpecification).toBeUndefined();
  });

  it('takes other real-time log fields, and refuses an empty list', () => {
    const otherStack = new Stack(new App(), 'OtherFields');
    new EdgeRedirects(otherStack, 'EdgeRedirects', { logFields: ['timestamp', 'cs-uri-stem'] });
    Template.fromStack(otherStack).hasResourceProperties('AWS::CloudFront::RealtimeLogConfig', { Fields: ['timestamp', 'cs-uri-stem'] });
    expect(() => new EdgeRedirects(new Stack(new App(), 'NoFields'), 'EdgeRedirects', { logFields: [] })).toThrow(
      /logFields must name at least one real-time log field/,
    );
  });
});

describe('origin mode (the default)', () => {
  it('is the default: redirectMode=origin synthesizes the same template', () => {
    expect(synthesize({ redirectMode: 'origin' }).template.toJSON()).toEqual(origin.template.toJSON());
  });

  it('builds none of the edge resources and keeps the plain viewer function, without real-time logs', () => {
    expect(origin.stack.edgeRedirects).toBeUndefined();
    const types = new Set(Object.values(resourcesOf(origin)).map((resource) => resource.Type));
    for (const type of EDGE_ONLY_TYPES) expect(types.has(type)).toBe(false);
    origin.template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultCacheBehavior: Match.objectLike({
          FunctionAssociations: [
            { EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [origin.logicalId(origin.stack.edge.viewerRequestFunction), 'FunctionARN'] } },
          ],
          RealtimeLogConfigArn: Match.absent(),
        }),
      }),
    });
  });
});
