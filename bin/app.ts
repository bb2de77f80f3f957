#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { STACK_ID } from '../lambdas/contract';
import { ClickAnalyticsStack } from '../lib/click-analytics-stack';
import { refuseUndeployableProps, stackPropsFromContext } from '../lib/stack-props';

const app = new App();
new ClickAnalyticsStack(app, STACK_ID, {
  ...refuseUndeployableProps(stackPropsFromContext(app.node)),
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
// Every synth is checked, so a finding fails `cdk synth` instead of surfacing after deploy.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
