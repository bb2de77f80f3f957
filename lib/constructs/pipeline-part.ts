import { createHash } from 'node:crypto';
import type { CfnElement } from 'aws-cdk-lib';
import { Construct, type IConstruct } from 'constructs';

/**
 * A part of the click pipeline: one stage (or what the stages share: the tables, the alarm topic) with
 * the resources, grants, alarms and outputs that belong to it.
 *
 * A part groups its resources in the construct tree (construct paths, cdk-nag findings) but, in
 * ClickAnalyticsStack, not in their logical IDs: the stack allocates each resource the logical ID it
 * would have as if every part between it and the stack were left out ({@link logicalIdOutsideParts}).
 * The stack was one flat construct before it was split into parts, and CloudFormation replaces a
 * resource whose logical ID changes: this way a table, a queue or a log group deployed before the
 * split keeps its logical ID, and so its data. Two parts holding a resource of the same name would
 * collide; the stack refuses that at synth.
 */
export abstract class PipelinePart extends Construct {}

/** The components CDK hides: `Default` from the whole ID, `Resource` from its readable part. */
const HIDDEN_ID = 'Default';
const HIDDEN_FROM_HUMAN_ID = 'Resource';
const HASH_LENGTH = 8;
const MAX_HUMAN_LENGTH = 240;
const MAX_ID_LENGTH = 255;

const alphanumeric = (s: string): string => s.replace(/[^A-Za-z0-9]/g, '');

/** Drops a component its predecessor ends with (`Table/TableResource` reads `TableResource` once). */
function withoutRepeats(components: readonly string[]): string[] {
  const kept: string[] = [];
  for (const component of components) {
    if (kept.length === 0 || !kept[kept.length - 1].endsWith(component)) kept.push(component);
  }
  return kept;
}

/**
 * CDK's unique ID of a construct path (aws-cdk-lib core's makeUniqueId, which is not exported): the
 * readable components, then the first 8 hex digits of the MD5 of the whole path. CDK keeps this
 * algorithm unchanged across versions (logical IDs of deployed stacks depend on it); an infra test
 * checks this copy against Stack.getLogicalId.
 */
function uniqueIdOf(path: readonly string[]): string {
  const components = path.filter((component) => component !== HIDDEN_ID);
  if (components.length === 0) throw new Error('A unique ID needs at least one path component other than Default');
  if (components.length === 1 && alphanumeric(components[0]).length <= MAX_ID_LENGTH) return alphanumeric(components[0]);
  const hash = createHash('md5').update(components.join('/')).digest('hex').slice(0, HASH_LENGTH).toUpperCase();
  const human = withoutRepeats(components)
    .filter((component) => component !== HIDDEN_FROM_HUMAN_ID)
    .map(alphanumeric)
    .join('')
    .slice(0, MAX_HUMAN_LENGTH);
  return human + hash;
}

const idsOutsideParts = (scopes: readonly IConstruct[]): string[] =>
  scopes.filter((scope) => !(scope instanceof PipelinePart)).map((scope) => scope.node.id);

/** The logical ID CDK would allocate to `element` if no part stood between it and its stack. */
export function logicalIdOutsideParts(element: CfnElement): string {
  const scopes = element.node.scopes;
  return uniqueIdOf(idsOutsideParts(scopes.slice(scopes.indexOf(element.stack) + 1)));
}

/**
 * `Names.nodeUniqueId` of a construct as if no part stood between it and its stack. Some CDK constructs
 * name a child after another construct's unique ID (an event source mapping after its source): where
 * that child must keep its logical ID, name it with this.
 */
export function uniqueIdOutsideParts(construct: IConstruct): string {
  return uniqueIdOf(idsOutsideParts(construct.node.scopes.slice(1)));
}
