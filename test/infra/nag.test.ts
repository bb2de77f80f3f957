import { App } from 'aws-cdk-lib';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { ClickAnalyticsStack } from '../../lib/click-analytics-stack';
import { SKIP_BUNDLING } from './synth';

/**
 * cdk-nag 3 runs as a CDK validation plugin (bin/app.ts registers it, so `cdk synth` fails on a finding);
 * `validateScope` is its documented entry point for tests. Acknowledgements live in lib/, next to the
 * resources they excuse.
 */
describe.each([
  ['AwsSolutions', () => new AwsSolutionsChecks()],
  ['Serverless', () => new ServerlessChecks()],
])('cdk-nag %s pack', (_name, pack) => {
  const findings = (stack: ClickAnalyticsStack) =>
    pack()
      .validateScope(stack)
      .violations.flatMap((violation) =>
        violation.violatingResources.map((resource) => `${violation.ruleName} ${resource.constructPath ?? resource.resourceLogicalId}`),
      );

  it('reports nothing on the default stack', () => {
    const stack = new ClickAnalyticsStack(new App({ context: SKIP_BUNDLING }), 'NagDefault');
    expect(findings(stack)).toEqual([]);
  });

  it('reports nothing for a stack deployed to an account and region (as `cdk synth` makes it)', () => {
    const stack = new ClickAnalyticsStack(new App({ context: SKIP_BUNDLING }), 'NagEnvironment', {
      env: { account: '123456789012', region: 'eu-west-1' },
    });
    expect(findings(stack)).toEqual([]);
  });

  // In us-east-1, the one region edge mode deploys to (its standard-log delivery source exists only there).
  it('reports nothing on the edge-mode stack', () => {
    const stack = new ClickAnalyticsStack(new App({ context: SKIP_BUNDLING }), 'NagEdge', {
      redirectMode: 'edge',
      env: { account: '123456789012', region: 'us-east-1' },
    });
    expect(findings(stack)).toEqual([]);
  });

  it('reports nothing with every option set', () => {
    const stack = new ClickAnalyticsStack(new App({ context: SKIP_BUNDLING }), 'NagOptions', {
      alarmEmail: 'ops@example.com',
      publicBaseUrl: 'https://sho.rt',
      enrichmentMaxConcurrency: 3,
      reportingTimeZone: 'America/New_York',
    });
    expect(findings(stack)).toEqual([]);
  });
});

it('still finds what is not acknowledged (the check is live)', () => {
  const stack = new ClickAnalyticsStack(new App({ context: SKIP_BUNDLING }), 'NagLive');
  // A queue without TLS enforcement or a DLQ, which nothing in lib/ acknowledges.
  new Queue(stack, 'Unacknowledged');
  const rules = new AwsSolutionsChecks().validateScope(stack).violations.map((violation) => violation.ruleName);
  expect(rules).toEqual(expect.arrayContaining(['AwsSolutions-SQS3', 'AwsSolutions-SQS4']));
});
