/**
 * The CDK app's own template is the one source of truth for the local stack: it is
 * synthesized in-process (bundling skipped) and its intrinsics are resolved against the
 * local physical resources.
 */
import { App } from 'aws-cdk-lib';
import { ClickAnalyticsStack } from '../lib/click-analytics-stack';
import { stackPropsFromContext } from '../lib/stack-props';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION, STACK_ID } from '../lambdas/contract';
import { isRecord, type CfnResource, type CfnTemplate } from './types';

/**
 * Synthesizes the stack as bin/app.ts builds it (environment-agnostic, as with no AWS
 * profile; pseudo parameters resolve locally). With `outdir`, assets are bundled there exactly as
 * `cdk synth` bundles them (esbuild, the house construct's options), and each function's resource
 * names its bundle directory in `aws:asset:path`; without it, esbuild does not run and no asset is copied
 * (the dashboard deployment's AWS CLI layer alone is 22 MB).
 *
 * Only what never changes a resource is left out, to start faster: the built-in CloudFormation
 * validation (a WebAssembly engine that took about 2-3 s of the 4-6 s synth; `cdk synth` and the
 * infra tests still run it), the construct tree file, and the CDKMetadata version-reporting resource.
 */
export function synthesizeTemplate(context: Record<string, unknown> = {}, outdir?: string): CfnTemplate {
  const app = new App({
    outdir,
    builtinCloudFormationValidation: false,
    treeMetadata: false,
    analyticsReporting: false,
    context:
      outdir === undefined
        ? { 'aws:cdk:bundling-stacks': [], 'aws:cdk:disable-asset-staging': true, ...context }
        : { 'aws:cdk:enable-asset-metadata': true, ...context },
  });
  const stack = new ClickAnalyticsStack(app, STACK_ID, stackPropsFromContext(app.node));
  return app.synth().getStackByName(stack.stackName).template as CfnTemplate;
}

export interface TypedResource {
  readonly logicalId: string;
  readonly resource: CfnResource;
}

export function resourcesOfType(template: CfnTemplate, type: string): TypedResource[] {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([logicalId, resource]) => ({ logicalId, resource }));
}

/** What `Ref` and `Fn::GetAtt` yield for a resource that exists locally. */
export interface PhysicalResource {
  readonly ref: string;
  readonly attributes: Readonly<Record<string, string>>;
}

export type PhysicalValues = Readonly<Record<string, PhysicalResource>>;

const PSEUDO_PARAMETERS: Readonly<Record<string, string>> = {
  'AWS::Region': LOCAL_REGION,
  'AWS::AccountId': LOCAL_ACCOUNT_ID,
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': STACK_ID,
};

function resolveRef(name: unknown, physical: PhysicalValues): string | undefined {
  if (typeof name !== 'string') return undefined;
  return PSEUDO_PARAMETERS[name] ?? physical[name]?.ref;
}

function resolveGetAtt(logicalId: unknown, attribute: unknown, physical: PhysicalValues): string | undefined {
  if (typeof logicalId !== 'string' || typeof attribute !== 'string') return undefined;
  return physical[logicalId]?.attributes[attribute];
}

/** A list whose every item must resolve to a string: one unknown part makes the whole value unknown. */
function resolveStrings(values: unknown, physical: PhysicalValues): string[] | undefined {
  const list = Array.isArray(values) ? values : resolveIntrinsics(values, physical);
  if (!Array.isArray(list)) return undefined;
  const resolved = list.map((item: unknown) => resolveIntrinsics(item, physical));
  return resolved.every((item): item is string => typeof item === 'string') ? resolved : undefined;
}

/** `${Name}` / `${Name.Attribute}` placeholders, `${!Literal}` escapes. */
function resolveSub(args: unknown, physical: PhysicalValues): string | undefined {
  const [pattern, variables] = Array.isArray(args) ? args : [args, {}];
  if (typeof pattern !== 'string' || !isRecord(variables)) return undefined;
  let unresolved = false;
  const result = pattern.replace(/\$\{([^}]*)\}/g, (_match, name: string) => {
    if (name.startsWith('!')) return `\${${name.slice(1)}}`;
    const variable = name in variables ? resolveIntrinsics(variables[name], physical) : undefined;
    const dot = name.indexOf('.');
    const value =
      variable ?? (dot > 0 ? resolveGetAtt(name.slice(0, dot), name.slice(dot + 1), physical) : resolveRef(name, physical));
    if (typeof value !== 'string') {
      unresolved = true;
      return '';
    }
    return value;
  });
  return unresolved ? undefined : result;
}

function resolveFunction(name: string, args: unknown, physical: PhysicalValues): unknown {
  switch (name) {
    case 'Ref':
      return resolveRef(args, physical);
    case 'Fn::GetAtt': {
      const [logicalId, attribute] = typeof args === 'string' ? args.split('.', 2) : Array.isArray(args) ? args : [];
      return resolveGetAtt(logicalId, attribute, physical);
    }
    case 'Fn::Join': {
      if (!Array.isArray(args) || typeof args[0] !== 'string') return undefined;
      return resolveStrings(args[1], physical)?.join(args[0]);
    }
    case 'Fn::Split': {
      if (!Array.isArray(args) || typeof args[0] !== 'string') return undefined;
      const source = resolveIntrinsics(args[1], physical);
      return typeof source === 'string' ? source.split(args[0]) : undefined;
    }
    case 'Fn::Select': {
      if (!Array.isArray(args)) return undefined;
      const index = Number(resolveIntrinsics(args[0], physical));
      const list = resolveIntrinsics(args[1], physical);
      return Array.isArray(list) && Number.isInteger(index) ? list[index] : undefined;
    }
    case 'Fn::Sub':
      return resolveSub(args, physical);
    default:
      return undefined;
  }
}

/**
 * Replaces intrinsic functions with local values. Anything that cannot be resolved
 * locally (a secret's ARN, a condition) becomes undefined and is dropped from its
 * object or list, so callers see only values that mean something here.
 */
export function resolveIntrinsics(value: unknown, physical: PhysicalValues): unknown {
  if (Array.isArray(value)) {
    return value.map((item) => resolveIntrinsics(item, physical)).filter((item) => item !== undefined);
  }
  if (!isRecord(value)) return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) {
    return resolveFunction(keys[0], value[keys[0]], physical);
  }
  const resolved: Record<string, unknown> = {};
  for (const key of keys) {
    const item = resolveIntrinsics(value[key], physical);
    if (item !== undefined) resolved[key] = item;
  }
  return resolved;
}

/** Which logical ID a `Ref` or `Fn::GetAtt` points at: wires triggers and routes to their resources. */
export function referencedLogicalId(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  if (typeof value.Ref === 'string') return value.Ref;
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  return undefined;
}
