import { queuesInCreationOrder, tableDefinition } from '../../local/provision';
import type { CfnTemplate } from '../../local/types';
import { stringKeys } from '../fixtures/local/emulators';

describe('queuesInCreationOrder', () => {
  it('creates dead-letter queues before the queues that redrive to them', () => {
    const template: CfnTemplate = {
      Resources: {
        ClickQueue: {
          Type: 'AWS::SQS::Queue',
          Properties: { RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['ClickDlq', 'Arn'] }, maxReceiveCount: 3 } },
        },
        Table: { Type: 'AWS::DynamoDB::Table' },
        ClickDlq: { Type: 'AWS::SQS::Queue', Properties: {} },
        Failures: { Type: 'AWS::SQS::Queue' },
      },
    };
    expect(queuesInCreationOrder(template).map((queue) => queue.logicalId)).toEqual(['ClickDlq', 'ClickQueue', 'Failures']);
  });

  it('refuses a redrive cycle', () => {
    const redriveTo = (target: string) => ({
      Type: 'AWS::SQS::Queue',
      Properties: { RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [target, 'Arn'] }, maxReceiveCount: 1 } },
    });
    expect(() => queuesInCreationOrder({ Resources: { A: redriveTo('B'), B: redriveTo('A') } })).toThrow(/redrive cycle/);
  });
});

describe('tableDefinition', () => {
  it('turns the CloudFormation table into an on-demand CreateTable input, remembering TTL', () => {
    const definition = tableDefinition('RawClicks', {
      Type: 'AWS::DynamoDB::Table',
      Properties: {
        ...stringKeys('code', 'clickKey'),
        GlobalSecondaryIndexes: [
          {
            IndexName: 'byVisitor',
            KeySchema: [{ AttributeName: 'code', KeyType: 'HASH' }],
            Projection: { ProjectionType: 'KEYS_ONLY' },
            ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
          },
        ],
        BillingMode: 'PROVISIONED',
        StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      },
    });
    expect(definition).toEqual({
      TableName: 'RawClicks',
      // The keys as the template gives them.
      ...stringKeys('code', 'clickKey'),
      GlobalSecondaryIndexes: [
        { IndexName: 'byVisitor', KeySchema: [{ AttributeName: 'code', KeyType: 'HASH' }], Projection: { ProjectionType: 'KEYS_ONLY' } },
      ],
      LocalSecondaryIndexes: undefined,
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
      ttlAttribute: 'expiresAt',
    });
  });
});
