/**
 * The stack as a whole: what every part's function shares (the house construct), the one HTTP API both
 * the redirect and the statistics API route on, least privilege across all functions, and the alarm set.
 * Each part's own resources are tested in the file named after it.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { RESERVED_CODES } from '../../lambdas/domain/short-code';
import { actionsOf, type PolicyStatement, synthesize } from './synth';

const { stack, template, logicalId, roleStatements, actionsOn } = synthesize();
const { tables, edge, enrichment, aggregation, rollup, statisticsApi, dashboard } = stack;
const functions = [edge.redirectFunction, enrichment.enrichFunction, aggregation.aggregateFunction, rollup.rollupFunction, statisticsApi.apiFunction];
/** The pipeline's functions, without CDK's deploy-time one that copies the dashboard's files (test/infra/dashboard-site.test.ts). */
const pipelineTemplate = Template.fromJSON({
  Resources: Object.fromEntries(
    Object.entries(template.toJSON().Resources as Record<string, { Type: string; Properties?: { Role?: unknown } }>).filter(
      ([, resource]) =>
        resource.Type !== 'AWS::Lambda::Function' ||
        JSON.stringify(resource.Properties?.Role) !== JSON.stringify({ 'Fn::GetAtt': [logicalId(dashboard.deploymentRole), 'Arn'] }),
    ),
  ),
});

describe('functions', () => {
  it("creates five functions besides the dashboard deployment's, all Node.js 22 on arm64 without X-Ray tracing, with source maps and Powertools settings", () => {
    template.resourceCountIs('AWS::Lambda::Function', 6);
    pipelineTemplate.resourceCountIs('AWS::Lambda::Function', 5);
    pipelineTemplate.allResourcesProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      TracingConfig: Match.absent(),
      MemorySize: Match.anyValue(),
      Timeout: Match.anyValue(),
      LoggingConfig: { LogGroup: Match.anyValue() },
      Environment: {
        Variables: Match.objectLike({
          NODE_OPTIONS: Match.stringLikeRegexp('^--enable-source-maps( |$)'),
          POWERTOOLS_SERVICE_NAME: Match.stringLikeRegexp('^(redirect|enrich|aggregate|rollup|api)$'),
          POWERTOOLS_METRICS_NAMESPACE: 'ClickAnalytics',
        }),
      },
    });
  });

  it.each([
    ['redirect', () => edge.redirectFunction, 'lambdas/handlers/redirect-function.mts', 512, 5],
    ['enrich', () => enrichment.enrichFunction, 'lambdas/handlers/enrich.ts', 512, 30],
    ['aggregate', () => aggregation.aggregateFunction, 'lambdas/handlers/aggregate.ts', 256, 30],
    ['rollup', () => rollup.rollupFunction, 'lambdas/handlers/rollup.ts', 512, 120],
    ['api', () => statisticsApi.apiFunction, 'lambdas/handlers/api.ts', 512, 10],
  ])('records the %s entry file, with explicit memory and timeout', (_name, fn, entry, memory, timeout) => {
    template.hasResource('AWS::Lambda::Function', {
      Metadata: { 'ClickAnalytics:Entry': entry, 'ClickAnalytics:Assets': Match.anyValue() },
      Properties: Match.objectLike({ MemorySize: memory, Timeout: timeout }),
    });
    expect(template.toJSON().Resources[logicalId(fn())].Metadata['ClickAnalytics:Entry']).toBe(entry);
  });

  it("gives only the API function V8 options: a young generation that holds a stats query's garbage", () => {
    const nodeOptions = (fn: IFunction): unknown => template.toJSON().Resources[logicalId(fn)].Properties.Environment.Variables.NODE_OPTIONS;
    expect(nodeOptions(statisticsApi.apiFunction)).toBe('--enable-source-maps --max-semi-space-size=32');
    for (const fn of [edge.redirectFunction, enrichment.enrichFunction, aggregation.aggregateFunction, rollup.rollupFunction]) {
      expect(nodeOptions(fn)).toBe('--enable-source-maps');
    }
  });

  it('gives each function its own log group, with retention (redirect click log: 14 days) and removal', () => {
    const retentionOf = (fn: IFunction): number => {
      const fnProps = template.toJSON().Resources[logicalId(fn)].Properties;
      const groupId = fnProps.LoggingConfig.LogGroup.Ref as string;
      const group = template.toJSON().Resources[groupId];
      expect(group.Type).toBe('AWS::Logs::LogGroup');
      expect(group.DeletionPolicy).toBe('Delete');
      return group.Properties.RetentionInDays as number;
    };
    expect(retentionOf(edge.redirectFunction)).toBe(14);
    expect(retentionOf(enrichment.enrichFunction)).toBe(30);
    expect(retentionOf(aggregation.aggregateFunction)).toBe(30);
    expect(retentionOf(rollup.rollupFunction)).toBe(30);
    expect(retentionOf(statisticsApi.apiFunction)).toBe(30);
  });
});

describe('HTTP API', () => {
  it('integrates the functions with payload format 2.0', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Integration', 2);
    template.allResourcesProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
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
});

describe('least privilege', () => {
  it('grants Resource * only for actions that have no resource-level permissions (no X-Ray: tracing is off)', () => {
    const wildcardActions = functions
      .flatMap(roleStatements)
      .filter((statement) => statement.Resource === '*')
      .flatMap(actionsOf);
    expect(new Set(wildcardActions)).toEqual(
      new Set(['dynamodb:ListStreams']),
    );
  });

  it("grants no wildcard action anywhere but BucketDeployment's own grants to the dashboard deployment", () => {
    const wildcardActions = (roles: 'deployment' | 'others'): string[] => {
      const policies = Object.values(template.findResources('AWS::IAM::Policy')) as {
        Properties: { Roles: unknown[]; PolicyDocument: { Statement: PolicyStatement[] } };
      }[];
      const deploymentRole = JSON.stringify([{ Ref: logicalId(dashboard.deploymentRole) }]);
      return policies
        .filter((policy) => (JSON.stringify(policy.Properties.Roles) === deploymentRole) === (roles === 'deployment'))
        .flatMap((policy) => policy.Properties.PolicyDocument.Statement.flatMap(actionsOf))
        .filter((action) => action.includes('*'));
    };
    expect(wildcardActions('others')).toEqual([]);
    expect(new Set(wildcardActions('deployment'))).toEqual(new Set(['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*']));
  });

  it('grants each function data access only on its own resources', () => {
    const dataResources = [
      tables.linksTable, tables.saltsTable, tables.rawClicksTable, tables.quarterHourTable, tables.dailyTable, tables.monthlyTable,
      tables.pendingRollupsTable, enrichment.queue, enrichment.deadLetterQueue, aggregation.streamFailureQueue,
      rollup.scheduleDeadLetterQueue, statisticsApi.apiKeySecret,
    ].map(logicalId);
    const touched = (fn: IFunction): string[] =>
      dataResources.filter((id) => actionsOn(fn, id).length > 0).sort();
    expect(touched(edge.redirectFunction)).toEqual(
      [logicalId(enrichment.queue), logicalId(tables.linksTable), logicalId(tables.saltsTable)].sort(),
    );
    expect(touched(enrichment.enrichFunction)).toEqual([logicalId(enrichment.queue), logicalId(tables.rawClicksTable)].sort());
    expect(touched(aggregation.aggregateFunction)).toEqual(
      [tables.quarterHourTable, tables.pendingRollupsTable, tables.rawClicksTable, aggregation.streamFailureQueue].map(logicalId).sort(),
    );
    expect(touched(rollup.rollupFunction)).toEqual(
      [tables.quarterHourTable, tables.dailyTable, tables.monthlyTable, tables.pendingRollupsTable].map(logicalId).sort(),
    );
    expect(touched(statisticsApi.apiFunction)).toEqual(
      [
        statisticsApi.apiKeySecret,
        tables.linksTable,
        tables.rawClicksTable,
        tables.quarterHourTable,
        tables.dailyTable,
        tables.monthlyTable,
        tables.pendingRollupsTable,
      ]
        .map(logicalId)
        .sort(),
    );
  });

  it('attaches no managed policies to function roles', () => {
    template.allResourcesProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
  });
});

describe('alarms', () => {
  it('alarms on click queue depth and age, stream and rollup lag, failed runs, oversized items and every failure queue', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 9);
  });
});
