import { Match } from 'aws-cdk-lib/assertions';
import { expectRouteTo, houseEnvironment, synthesize } from './synth';

const synthesized = synthesize();
const { stack, template, logicalId, actionsOn, environmentOf } = synthesized;
const { statisticsApi, tables } = stack;

describe('StatisticsApi', () => {
  it('wires the api environment (no PUBLIC_BASE_URL unless configured)', () => {
    expect(environmentOf(statisticsApi.apiFunction)).toEqual({
      LINKS_TABLE_NAME: { Ref: logicalId(tables.linksTable) },
      QUARTER_HOUR_TABLE_NAME: { Ref: logicalId(tables.quarterHourTable) },
      DAILY_TABLE_NAME: { Ref: logicalId(tables.dailyTable) },
      MONTHLY_TABLE_NAME: { Ref: logicalId(tables.monthlyTable) },
      PENDING_ROLLUPS_TABLE_NAME: { Ref: logicalId(tables.pendingRollupsTable) },
      REPORTING_TIME_ZONE: 'UTC',
      API_KEY_SECRET_ARN: { Ref: logicalId(statisticsApi.apiKeySecret) },
      SHORT_LINK_HOSTS: { 'Fn::GetAtt': [logicalId(stack.edge.distribution), 'DomainName'] },
      ALLOW_PRIVATE_DESTINATIONS: 'false',
      ...houseEnvironment('api'),
    });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ PasswordLength: 48 }),
    });
  });

  it('routes ANY /api/{proxy+} to the api function', () => {
    expectRouteTo(synthesized, 'ANY /api/{proxy+}', statisticsApi.apiFunction);
  });

  it('lets the api read/create links, query the three statistics levels and the pending days, and read its key', () => {
    const fn = statisticsApi.apiFunction;
    expect(actionsOn(fn, logicalId(tables.linksTable))).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
    for (const table of [tables.quarterHourTable, tables.dailyTable, tables.monthlyTable, tables.pendingRollupsTable]) {
      expect(actionsOn(fn, logicalId(table))).toEqual(['dynamodb:Query']);
    }
    // Powertools' SecretsProvider calls GetSecretValue only.
    expect(actionsOn(fn, logicalId(statisticsApi.apiKeySecret))).toEqual(['secretsmanager:GetSecretValue']);
  });

  it('outputs the ARN of the secret holding the API key', () => {
    template.hasOutput('ApiKeySecretArn', { Value: { Ref: logicalId(statisticsApi.apiKeySecret) } });
  });
});
