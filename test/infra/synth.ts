import { App, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { ClickAnalyticsStack } from '../../lib/click-analytics-stack';
import type { ClickAnalyticsStackProps } from '../../lib/stack-props';

/**
 * Context that skips esbuild and leaves assets where they are: template assertions need no bundle, and
 * no copy of the AWS CLI layer (22 MB, the dashboard deployment's) in a new folder per synth.
 */
export const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [], 'aws:cdk:disable-asset-staging': true };

export interface PolicyStatement {
  readonly Action: string | readonly string[];
  readonly Effect: string;
  readonly Resource: unknown;
}

export interface Synthesized {
  readonly stack: ClickAnalyticsStack;
  readonly template: Template;
  /** Logical ID of the CloudFormation resource behind an L2 construct. */
  readonly logicalId: (construct: IConstruct) => string;
  /** The statements of the policies attached to a function's role. */
  readonly roleStatements: (fn: IFunction) => readonly PolicyStatement[];
  /** Actions granted to a function on one resource (matched by logical ID inside the Resource value), sorted. */
  readonly actionsOn: (fn: IFunction, resourceLogicalId: string) => readonly string[];
  /** The environment variables of a function, as synthesized. */
  readonly environmentOf: (fn: IFunction) => Record<string, unknown>;
}

export const actionsOf = (statement: PolicyStatement): readonly string[] =>
  typeof statement.Action === 'string' ? [statement.Action] : statement.Action;

/** The variables every house function gets. */
export const houseEnvironment = (serviceName: string): Record<string, string> => ({
  NODE_OPTIONS: '--enable-source-maps',
  POWERTOOLS_SERVICE_NAME: serviceName,
  POWERTOOLS_METRICS_NAMESPACE: 'ClickAnalytics',
});

export function synthesize(props: ClickAnalyticsStackProps = {}): Synthesized {
  const app = new App({ context: SKIP_BUNDLING });
  const stack = new ClickAnalyticsStack(app, 'ClickAnalyticsTest', props);
  const template = Template.fromStack(stack);
  const logicalId = (construct: IConstruct): string => stack.getLogicalId(construct.node.defaultChild as CfnElement);
  const roleStatements = (fn: IFunction): readonly PolicyStatement[] => {
    if (fn.role === undefined) throw new Error(`${fn.node.id} has no role`);
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: logicalId(fn.role) }] } });
    return Object.values(policies).flatMap(
      (policy) => (policy as { Properties: { PolicyDocument: { Statement: PolicyStatement[] } } }).Properties.PolicyDocument.Statement,
    );
  };
  return {
    stack,
    template,
    logicalId,
    roleStatements,
    actionsOn: (fn, resourceLogicalId) =>
      roleStatements(fn)
        .filter((statement) => JSON.stringify(statement.Resource).includes(`"${resourceLogicalId}"`))
        .flatMap(actionsOf)
        .sort(),
    environmentOf: (fn) => template.toJSON().Resources[logicalId(fn)].Properties.Environment.Variables as Record<string, unknown>,
  };
}

/** The queue's policy denies every action without TLS. */
export function expectTlsOnly(template: Template, queueLogicalId: string): void {
  template.hasResourceProperties('AWS::SQS::QueuePolicy', {
    Queues: [{ Ref: queueLogicalId }],
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
}

/** A queue alarm as the stages make them: the per-minute maximum at or above a threshold, notifying the topic on ALARM and OK. */
export function expectQueueAlarm(
  synthesized: Synthesized,
  queue: IConstruct,
  metricName: 'ApproximateNumberOfMessagesVisible' | 'ApproximateAgeOfOldestMessage',
  threshold: number,
): void {
  const { template, logicalId, stack } = synthesized;
  const topic = logicalId(stack.alarms.topic);
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    Namespace: 'AWS/SQS',
    MetricName: metricName,
    Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(queue), 'QueueName'] } }],
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    Threshold: threshold,
    TreatMissingData: 'notBreaching',
    AlarmActions: [{ Ref: topic }],
    OKActions: [{ Ref: topic }],
    Statistic: 'Maximum',
    Period: 60,
    EvaluationPeriods: 1,
  });
}

/** The HTTP API route `routeKey` leads to `fn` through its one Lambda integration. */
export function expectRouteTo(synthesized: Synthesized, routeKey: string, fn: IFunction): void {
  const { template, logicalId } = synthesized;
  const integrations = template.findResources('AWS::ApiGatewayV2::Integration', {
    Properties: { IntegrationUri: { 'Fn::GetAtt': [logicalId(fn), 'Arn'] } },
  });
  expect(Object.keys(integrations)).toHaveLength(1);
  template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
    RouteKey: routeKey,
    Target: { 'Fn::Join': ['', ['integrations/', { Ref: Object.keys(integrations)[0] }]] },
  });
}
