#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { STACK_ID } from '../lambdas/contract';
import { ClickAnalyticsStack } from '../lib/click-analytics-stack';
import { refuseUndeployableProps, stackPropsFromContext } from '../lib/stack-props';

const app = new App();
const region = process.env.CDK_DEFAULT_REGION;
new ClickAnalyticsStack(app, STACK_ID, {
  ...refuseUndeployableProps(stackPropsFromContext(app.node), region),
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region },
});
// Every synth is checked, so a finding fails `cdk synth` instead of surfacing after deploy.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
