import { App, CfnElement, CfnResource, Names, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ClickAnalyticsStack } from '../../lib/click-analytics-stack';
import { logicalIdOutsideParts, PipelinePart, uniqueIdOutsideParts } from '../../lib/constructs/pipeline-part';
import { SKIP_BUNDLING } from './synth';

class Part extends PipelinePart {}

/** Constructs whose ids exercise every rule of CDK's unique IDs: Default, Resource, repeats, punctuation, length. */
function populate(scope: Construct): void {
  new Queue(scope, 'Queue');
  new CfnResource(new Construct(scope, 'Outer'), 'Default', { type: 'AWS::SNS::Topic' });
  const table = new Construct(scope, 'Table');
  new CfnResource(table, 'TableResource', { type: 'AWS::SNS::Topic' });
  new CfnResource(new Construct(scope, 'My-Thing_1.x'), 'Resource', { type: 'AWS::SNS::Topic' });
  new CfnResource(new Construct(scope, 'Long'.repeat(70)), 'Resource', { type: 'AWS::SNS::Topic' });
  new CfnResource(scope, 'Top-Level', { type: 'AWS::SNS::Topic' });
}

const elementsOf = (scope: Construct): CfnElement[] =>
  scope.node.findAll().filter((construct): construct is CfnElement => CfnElement.isCfnElement(construct));

describe('PipelinePart', () => {
  it('computes the logical IDs CDK allocates when no part is in the path', () => {
    const stack = new Stack(new App(), 'Plain');
    populate(stack);
    const elements = elementsOf(stack);
    expect(elements.length).toBeGreaterThanOrEqual(6);
    for (const element of elements) expect(logicalIdOutsideParts(element)).toBe(stack.getLogicalId(element));
  });

  it('gives a resource inside parts the logical ID and unique ID it has directly in the stack', () => {
    const plain = new Stack(new App(), 'Same');
    populate(plain);
    const parted = new Stack(new App(), 'Same');
    populate(new Part(new Part(parted, 'Stage'), 'Inner'));
    expect(elementsOf(parted).map(logicalIdOutsideParts).sort()).toEqual(elementsOf(plain).map((element) => plain.getLogicalId(element)).sort());
    const queueOf = (stack: Stack): Construct => stack.node.findAll().find((construct) => construct.node.id === 'Queue') as Construct;
    expect(uniqueIdOutsideParts(queueOf(parted))).toBe(Names.nodeUniqueId(queueOf(plain).node));
  });

  it('refuses, in ClickAnalyticsStack, two parts holding a resource of the same name', () => {
    const stack = new ClickAnalyticsStack(new App({ context: SKIP_BUNDLING }), 'Collision');
    new Queue(stack.edge, 'ClickQueue');
    expect(() => Template.fromStack(stack)).toThrow(
      /Collision\/(Edge|Enrichment)\/ClickQueue\/Resource and Collision\/(Edge|Enrichment)\/ClickQueue\/Resource would share the logical ID ClickQueue[0-9A-F]{8}/,
    );
  });
});
