import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { ClickAnalyticsStack, type ClickAnalyticsStackProps } from '../../lib/click-analytics-stack';

/** Context that skips esbuild: template assertions need no bundle. */
export const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

export interface Synthesized {
  readonly stack: ClickAnalyticsStack;
  readonly template: Template;
  /** Logical ID of the CloudFormation resource behind an L2 construct. */
  readonly logicalId: (construct: IConstruct) => string;
}

export function synthesize(props: ClickAnalyticsStackProps = {}): Synthesized {
  const app = new App({ context: SKIP_BUNDLING });
  const stack = new ClickAnalyticsStack(app, 'ClickAnalyticsTest', props);
  return {
    stack,
    template: Template.fromStack(stack),
    logicalId: (construct) => stack.getLogicalId(construct.node.defaultChild as CfnElement),
  };
}
