import { Match } from 'aws-cdk-lib/assertions';
import { expectRouteTo, houseEnvironment, synthesize } from './synth';

const synthesized = synthesize();
const { stack, template, logicalId, actionsOn, environmentOf } = synthesized;
const { statisticsApi, tables } = stack;

describe('StatisticsApi', () => {
  it('wires the api environment (no PUBLIC_BASE_URL unless configured)', () => {
    expect(environmentOf(statisticsApi.apiFunction)).toEqual({
      LINKS_TABLE_NAME: { Ref: logicalId(tables.linksTable) },
      API_KEYS_TABLE_NAME: { Ref: logicalId(tables.apiKeysTable) },
      API_REQUEST_COUNTS_TABLE_NAME: { Ref: logicalId(tables.apiRequestCountsTable) },
      API_KEY_REQUESTS_PER_MINUTE: '300',
      QUARTER_HOUR_TABLE_NAME: { Ref: logicalId(tables.quarterHourTable) },
      DAILY_TABLE_NAME: { Ref: logicalId(tables.dailyTable) },
      MONTHLY_TABLE_NAME: { Ref: logicalId(tables.monthlyTable) },
      PENDING_ROLLUPS_TABLE_NAME: { Ref: logicalId(tables.pendingRollupsTable) },
      RAW_CLICKS_TABLE_NAME: { Ref: logicalId(tables.rawClicksTable) },
      REPORTING_TIME_ZONE: 'UTC',
      API_KEY_SECRET_ARN: { Ref: logicalId(statisticsApi.apiKeySecret) },
      SHORT_LINK_HOSTS: { 'Fn::GetAtt': [logicalId(stack.edge.distribution), 'DomainName'] },
      ALLOW_PRIVATE_DESTINATIONS: 'false',
      ...houseEnvironment('api'),
      NODE_OPTIONS: '--enable-source-maps --max-semi-space-size=32',
    });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ PasswordLength: 48 }),
    });
  });

  it('routes ANY /api/{proxy+} to the api function', () => {
    expectRouteTo(synthesized, 'ANY /api/{proxy+}', statisticsApi.apiFunction);
  });

  it('lets the api manage links, read owner keys, manage share tokens, count requests, query the three statistics levels, the pending days and the raw clicks, and read its key', () => {
    const fn = statisticsApi.apiFunction;
    expect(actionsOn(fn, logicalId(tables.linksTable))).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
    // Query on the byOwner index alone; item actions on the table alone (no index/* wildcard).
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
            Resource: { 'Fn::GetAtt': [logicalId(tables.linksTable), 'Arn'] },
          }),
          Match.objectLike({
            Action: 'dynamodb:Query',
            Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(tables.linksTable), 'Arn'] }, '/index/byOwner']] },
          }),
        ]),
      },
      Roles: [{ Ref: logicalId(fn.role!) }],
    });
    // Share tokens: PutItem and UpdateItem (a share and its link's share list, revocation), BatchGetItem (the list); no Scan, Query or DeleteItem.
    expect(actionsOn(fn, logicalId(tables.apiKeysTable))).toEqual(['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    expect(actionsOn(fn, logicalId(tables.apiRequestCountsTable))).toEqual(['dynamodb:UpdateItem']);
    for (const table of [tables.quarterHourTable, tables.dailyTable, tables.monthlyTable, tables.pendingRollupsTable]) {
      expect(actionsOn(fn, logicalId(table))).toEqual(['dynamodb:Query']);
    }
    // The raw export reads raw clicks back with Query alone: no GetItem, Scan or write.
    expect(actionsOn(fn, logicalId(tables.rawClicksTable))).toEqual(['dynamodb:Query']);
    // Powertools' SecretsProvider calls GetSecretValue only.
    expect(actionsOn(fn, logicalId(statisticsApi.apiKeySecret))).toEqual(['secretsmanager:GetSecretValue']);
  });

  it('outputs the ARN of the secret holding the admin key, and the keys table for npm run keys', () => {
    template.hasOutput('ApiKeySecretArn', { Value: { Ref: logicalId(statisticsApi.apiKeySecret) } });
    template.hasOutput('ApiKeysTableName', { Value: { Ref: logicalId(tables.apiKeysTable) } });
  });

  it('throttles the /api route over all callers below the stage, and takes the per-key limit from the props', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
      RouteSettings: { 'ANY /api/{proxy+}': { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 } },
    });
    const tuned = synthesize({ apiKeyRequestsPerMinute: 30, apiRouteThrottle: { rateLimit: 5, burstLimit: 10 } });
    tuned.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      RouteSettings: { 'ANY /api/{proxy+}': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 } },
    });
    expect(tuned.environmentOf(tuned.stack.statisticsApi.apiFunction).API_KEY_REQUESTS_PER_MINUTE).toBe('30');
  });
});
