import { referencedLogicalId, resolveIntrinsics, resourcesOfType, type PhysicalValues } from '../../local/template';
import type { CfnTemplate } from '../../local/types';

const physical: PhysicalValues = {
  ClickQueue: {
    ref: 'http://sqs.us-east-1.localhost:9324/000000000000/ClickQueue',
    attributes: { Arn: 'arn:aws:sqs:us-east-1:000000000000:ClickQueue', QueueName: 'ClickQueue' },
  },
  RawClicks: {
    ref: 'RawClicks',
    attributes: { Arn: 'arn:aws:dynamodb:ddblocal:000000000000:table/RawClicks', StreamArn: 'stream-arn' },
  },
};

describe('resolveIntrinsics', () => {
  it('resolves Ref and Fn::GetAtt against local physical values', () => {
    expect(resolveIntrinsics({ Ref: 'RawClicks' }, physical)).toBe('RawClicks');
    expect(resolveIntrinsics({ 'Fn::GetAtt': ['RawClicks', 'StreamArn'] }, physical)).toBe('stream-arn');
    expect(resolveIntrinsics({ 'Fn::GetAtt': 'ClickQueue.Arn' }, physical)).toBe(
      'arn:aws:sqs:us-east-1:000000000000:ClickQueue',
    );
    expect(resolveIntrinsics({ Ref: 'AWS::Region' }, physical)).toBe('us-east-1');
  });

  it('resolves Join, Split, Select and Sub', () => {
    const join = { 'Fn::Join': ['', ['https://', { Ref: 'AWS::Region' }, '/', { Ref: 'RawClicks' }]] };
    expect(resolveIntrinsics(join, physical)).toBe('https://us-east-1/RawClicks');
    const select = { 'Fn::Select': [5, { 'Fn::Split': [':', { 'Fn::GetAtt': ['ClickQueue', 'Arn'] }] }] };
    expect(resolveIntrinsics(select, physical)).toBe('ClickQueue');
    expect(resolveIntrinsics({ 'Fn::Sub': 'table ${RawClicks} in ${AWS::Region}, ${!Literal}' }, physical)).toBe(
      'table RawClicks in us-east-1, ${Literal}',
    );
    expect(resolveIntrinsics({ 'Fn::Sub': ['${Name}-${ClickQueue.QueueName}', { Name: 'x' }] }, physical)).toBe(
      'x-ClickQueue',
    );
  });

  it('drops values with no local meaning instead of inventing them', () => {
    const environment = {
      Variables: {
        RAW_CLICKS_TABLE_NAME: { Ref: 'RawClicks' },
        API_KEY_SECRET_ARN: { Ref: 'ApiKeySecret' },
        PARTLY_KNOWN: { 'Fn::Join': ['/', [{ Ref: 'RawClicks' }, { Ref: 'ApiKeySecret' }]] },
        UNSUPPORTED: { 'Fn::If': ['Condition', 'a', 'b'] },
        PLAIN: 'month',
      },
    };
    expect(resolveIntrinsics(environment, physical)).toEqual({
      Variables: { RAW_CLICKS_TABLE_NAME: 'RawClicks', PLAIN: 'month' },
    });
  });
});

describe('template helpers', () => {
  it('lists resources by type and follows references', () => {
    const template: CfnTemplate = {
      Resources: {
        A: { Type: 'AWS::SQS::Queue' },
        B: { Type: 'AWS::DynamoDB::Table' },
        C: { Type: 'AWS::SQS::Queue' },
      },
    };
    expect(resourcesOfType(template, 'AWS::SQS::Queue').map((resource) => resource.logicalId)).toEqual(['A', 'C']);
    expect(referencedLogicalId({ Ref: 'A' })).toBe('A');
    expect(referencedLogicalId({ 'Fn::GetAtt': ['B', 'StreamArn'] })).toBe('B');
    expect(referencedLogicalId('arn:aws:sqs:literal')).toBeUndefined();
  });
});
