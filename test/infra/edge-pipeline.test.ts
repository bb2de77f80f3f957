import { Match } from 'aws-cdk-lib/assertions';
import { LINKS_BY_EDGE_RECENCY_INDEX } from '../../lambdas/tables/links';
import { actionsOf, synthesize } from './synth';

const edgeMode = synthesize({ redirectMode: 'edge' });
const { stack, template, logicalId, actionsOn, roleStatements, environmentOf } = edgeMode;

function edgeStages() {
  const { edgeRedirects, edgeEnrichment, edgeStoreSync } = stack;
  if (edgeRedirects === undefined || edgeEnrichment === undefined || edgeStoreSync === undefined) {
    throw new Error('redirectMode=edge built no edge stages');
  }
  return { edgeRedirects, edgeEnrichment, edgeStoreSync };
}

describe('edge click enrichment (redirectMode=edge)', () => {
  const { edgeRedirects, edgeEnrichment } = edgeStages();
  const fn = edgeEnrichment.edgeEnrichFunction;

  it('reads the click stream in batches of 100, bisecting, 5 retries, partial failures, failed batches to its queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(fn) },
      EventSourceArn: { 'Fn::GetAtt': [logicalId(edgeRedirects.clickStream), 'Arn'] },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 1,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(edgeEnrichment.streamFailureQueue), 'Arn'] } } },
    });
  });

  it("gets the origin redirect's visitor settings and enrichment's tables, with only the access it uses", () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          RAW_CLICKS_TABLE_NAME: { Ref: logicalId(stack.tables.rawClicksTable) },
          LINKS_TABLE_NAME: { Ref: logicalId(stack.tables.linksTable) },
          SALTS_TABLE_NAME: { Ref: logicalId(stack.tables.saltsTable) },
          VISITOR_SALT_PERIOD: 'month',
          LINK_CACHE_TTL_SECONDS: '60',
          POWERTOOLS_SERVICE_NAME: 'enrich-edge',
        }),
      },
    });
    expect(actionsOn(fn, logicalId(stack.tables.rawClicksTable))).toEqual(['dynamodb:BatchWriteItem']);
    expect(actionsOn(fn, logicalId(stack.tables.linksTable))).toEqual(['dynamodb:GetItem']);
    expect(actionsOn(fn, logicalId(stack.tables.saltsTable))).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
  });

  it('alarms on the stream iterator age and on any failed batch', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IteratorAge',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(fn) } }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(edgeEnrichment.streamFailureQueue), 'QueueName'] } }],
      Threshold: 1,
    });
  });
});

describe('edge store sync (redirectMode=edge)', () => {
  const { edgeRedirects, edgeStoreSync } = edgeStages();
  const fn = edgeStoreSync.storeSyncFunction;

  it('follows the links stream in order, bisecting, 5 retries, partial failures, failed batches to its queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(fn) },
      EventSourceArn: { 'Fn::GetAtt': [logicalId(stack.tables.linksTable), 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
      ParallelizationFactor: 1,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(edgeStoreSync.streamFailureQueue), 'Arn'] } } },
    });
  });

  it('writes to its store only, and is told which', () => {
    const storeArn = { 'Fn::GetAtt': [logicalId(edgeRedirects.keyValueStore), 'Arn'] };
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ KEY_VALUE_STORE_ARN: storeArn, POWERTOOLS_SERVICE_NAME: 'kvs-sync' }) },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalId(fn.role) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          { Action: ['cloudfront-keyvaluestore:DescribeKeyValueStore', 'cloudfront-keyvaluestore:UpdateKeys'], Effect: 'Allow', Resource: storeArn },
        ]),
      },
    });
  });

  it('reads the links stream, marks the links it holds (UpdateItem on the table) and lists them (Query on their index alone)', () => {
    const links = logicalId(stack.tables.linksTable);
    const onLinks = roleStatements(fn).filter((statement) => JSON.stringify(statement.Resource).includes(`"${links}"`));
    const byResource = Object.fromEntries(onLinks.map((statement) => [JSON.stringify(statement.Resource), [...actionsOf(statement)].sort()]));
    expect(byResource).toEqual({
      [JSON.stringify({ 'Fn::GetAtt': [links, 'StreamArn'] })]: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
      [JSON.stringify({ 'Fn::GetAtt': [links, 'Arn'] })]: ['dynamodb:UpdateItem'],
      [JSON.stringify({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [links, 'Arn'] }, `/index/${LINKS_BY_EDGE_RECENCY_INDEX.indexName}`]] })]: ['dynamodb:Query'],
    });
    expect(environmentOf(fn)).toMatchObject({ LINKS_TABLE_NAME: { Ref: links }, REPORTING_TIME_ZONE: 'UTC' });
  });

  it('has the sparse index of held links by click day on the links table, with the URL that sizes each entry', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'code', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: Match.arrayWith([
        {
          IndexName: 'byEdgeRecency',
          KeySchema: [
            { AttributeName: 'edgeStore', KeyType: 'HASH' },
            { AttributeName: 'lastClickDay', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['url'] },
        },
      ]),
    });
  });
});

describe('the rollup records click days (redirectMode=edge)', () => {
  const origin = synthesize();

  it('edge mode: told the links table, allowed UpdateItem on the table alone', () => {
    const fn = stack.rollup.rollupFunction;
    const links = logicalId(stack.tables.linksTable);
    expect(environmentOf(fn)).toMatchObject({ LINKS_TABLE_NAME: { Ref: links } });
    const onLinks = roleStatements(fn).filter((statement) => JSON.stringify(statement.Resource).includes(`"${links}"`));
    expect(onLinks).toEqual([{ Action: 'dynamodb:UpdateItem', Effect: 'Allow', Resource: { 'Fn::GetAtt': [links, 'Arn'] } }]);
  });

  it('origin mode: neither the variable nor any access to the links table, which has no index of held links', () => {
    const fn = origin.stack.rollup.rollupFunction;
    expect(origin.environmentOf(fn)).not.toHaveProperty('LINKS_TABLE_NAME');
    expect(origin.actionsOn(fn, origin.logicalId(origin.stack.tables.linksTable))).toEqual([]);
    const linksTable = origin.template.toJSON().Resources[origin.logicalId(origin.stack.tables.linksTable)];
    expect(linksTable.Properties.GlobalSecondaryIndexes.map(({ IndexName }: { IndexName: string }) => IndexName)).toEqual(['byOwner']);
  });
});
