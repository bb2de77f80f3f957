/**
 * Every AWS::Lambda::Function of the synthesized template that runs at run time, from the bundle `cdk synth` built
 * for it, in execution environments with the template's timeout, memory, environment and
 * concurrency limit.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../../lambdas/contract';
import { referencedLogicalId, resolveIntrinsics, resourcesOfType, type PhysicalValues } from '../template';
import { asRecord, isRecord, type CfnTemplate } from '../types';
import { FunctionPool } from './function-pool';
import { environmentProcesses } from './processes';

/** Lambda's defaults when the template leaves them out. */
const DEFAULT_TIMEOUT_SECONDS = 3;
const DEFAULT_MEMORY_MB = 128;
const ASSET_PATH_METADATA_KEY = 'aws:asset:path';

export interface FunctionDefinition {
  readonly logicalId: string;
  /** The function's bundle directory (its code asset in the cloud assembly). */
  readonly codeDir: string;
  readonly handler: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** ReservedConcurrentExecutions, when set. */
  readonly reservedConcurrency: number | undefined;
  /** Resolved against local resources; values with no local meaning are dropped. */
  readonly environment: Readonly<Record<string, string>>;
}

/**
 * Functions only CloudFormation invokes, while deploying: the providers of custom resources (CDK's
 * BucketDeployment, which copies the dashboard's files into S3). Nothing is deployed locally, so they
 * never run here; the local front serves the dashboard's files itself.
 */
function deployTimeFunctions(template: CfnTemplate): Set<string> {
  const providers = Object.values(template.Resources)
    .filter((resource) => resource.Type.startsWith('Custom::') || resource.Type === 'AWS::CloudFormation::CustomResource')
    .map((resource) => referencedLogicalId(resource.Properties?.ServiceToken));
  return new Set(providers.filter((logicalId): logicalId is string => logicalId !== undefined));
}

/** Every function of the template that runs at run time (not only while deploying), as the local stack runs it. */
export function functionDefinitions(template: CfnTemplate, physical: PhysicalValues, assemblyDir: string): FunctionDefinition[] {
  const deployTime = deployTimeFunctions(template);
  const runTime = resourcesOfType(template, 'AWS::Lambda::Function').filter(({ logicalId }) => !deployTime.has(logicalId));
  return runTime.map(({ logicalId, resource }) => {
    const assetPath = resource.Metadata?.[ASSET_PATH_METADATA_KEY];
    if (typeof assetPath !== 'string') {
      throw new Error(`Function ${logicalId} has no ${ASSET_PATH_METADATA_KEY} metadata: synthesize with bundling and asset metadata`);
    }
    const properties = resource.Properties ?? {};
    const environment = asRecord(asRecord(resolveIntrinsics(properties.Environment, physical)).Variables);
    const variables = Object.entries(environment).filter((entry): entry is [string, string] => typeof entry[1] === 'string');
    return {
      logicalId,
      codeDir: path.resolve(assemblyDir, assetPath),
      handler: typeof properties.Handler === 'string' ? properties.Handler : 'index.handler',
      timeoutSeconds: typeof properties.Timeout === 'number' ? properties.Timeout : DEFAULT_TIMEOUT_SECONDS,
      memoryMb: typeof properties.MemorySize === 'number' ? properties.MemorySize : DEFAULT_MEMORY_MB,
      reservedConcurrency: typeof properties.ReservedConcurrentExecutions === 'number' ? properties.ReservedConcurrentExecutions : undefined,
      environment: Object.fromEntries(variables),
    };
  });
}

/**
 * Compiles the runtime client every environment runs (one small file, no dependencies),
 * after killing any environment a previous stack on the same data folder left behind.
 */
export async function buildBootstrap(outDir: string): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const outfile = path.join(outDir, 'bootstrap.mjs');
  for (const { pid } of environmentProcesses(outfile)) process.kill(pid, 'SIGKILL');
  await build({
    entryPoints: [path.join(__dirname, 'bootstrap.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'silent',
  });
  return outfile;
}

/** `{ "RedirectFunction": { "AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:4100" } }`: a proxy in front of an emulator, for fault tests. */
export type EndpointOverrides = Readonly<Record<string, Readonly<Record<string, string>>>>;

/** LOCAL_ENDPOINTS: only endpoint variables, each an http URL on this machine. */
export function parseEndpointOverrides(raw: string | undefined): EndpointOverrides {
  if (raw === undefined || raw.trim() === '') return {};
  const fail = (why: string): never => {
    throw new Error(`LOCAL_ENDPOINTS ${why}; example: {"RedirectFunction":{"AWS_ENDPOINT_URL_SQS":"http://127.0.0.1:4100"}}`);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return fail('is not JSON');
  }
  if (!isRecord(parsed)) return fail('must be an object of function prefixes');
  return Object.fromEntries(
    Object.entries(parsed).map(([prefix, variables]) => {
      if (!isRecord(variables)) return fail(`: ${prefix} must map to an object of variables`);
      for (const [name, value] of Object.entries(variables)) {
        if (!/^AWS_ENDPOINT_URL_[A-Z_]+$/.test(name)) fail(`: ${name} is not an AWS_ENDPOINT_URL_* variable`);
        if (typeof value !== 'string' || !/^http:\/\/127\.0\.0\.1:\d+\/?$/.test(value)) fail(`: ${name} must be http://127.0.0.1:<port>`);
      }
      return [prefix, variables as Record<string, string>];
    }),
  );
}

export interface FunctionPoolsOptions {
  readonly definitions: readonly FunctionDefinition[];
  readonly bootstrapFile: string;
  /** Endpoints, region and credentials every environment gets besides the function's own variables. */
  readonly localEnvironment: Readonly<Record<string, string>>;
  /** The concurrency limit of a function by logical ID, when a trigger sets one (an SQS event source's maximum). */
  readonly eventSourceLimits: ReadonlyMap<string, number>;
  /** Functions event sources or schedules invoke: at their limit the invocation waits; any other is throttled. */
  readonly asynchronous: ReadonlySet<string>;
  /** Per-function endpoint variables that replace the local ones (LOCAL_ENDPOINTS), by logical-ID prefix. */
  readonly endpointOverrides: EndpointOverrides;
  /** The account's unreserved concurrency (LOCAL_CONCURRENCY_LIMIT). */
  readonly accountLimit: number;
  readonly idleSeconds: number;
  readonly report: (line: string) => void;
  readonly output: (functionName: string, line: string) => void;
}

export function createFunctionPools(options: FunctionPoolsOptions): Map<string, FunctionPool> {
  return new Map(
    options.definitions.map((definition) => {
      const limit = definition.reservedConcurrency ?? options.eventSourceLimits.get(definition.logicalId) ?? options.accountLimit;
      const pool = new FunctionPool({
        spec: {
          functionName: definition.logicalId,
          invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${definition.logicalId}`,
          codeDir: definition.codeDir,
          handler: definition.handler,
          bootstrapFile: options.bootstrapFile,
          timeoutMs: definition.timeoutSeconds * 1000,
          memoryMb: definition.memoryMb,
          environment: {
            ...definition.environment,
            ...options.localEnvironment,
            ...Object.entries(options.endpointOverrides)
              .filter(([prefix]) => definition.logicalId.startsWith(prefix))
              .reduce((merged, [, variables]) => ({ ...merged, ...variables }), {}),
          },
        },
        maxEnvironments: Math.min(limit, options.accountLimit),
        atLimit: options.asynchronous.has(definition.logicalId) ? 'wait' : 'throttle',
        idleSeconds: options.idleSeconds,
        report: options.report,
        output: options.output,
      });
      return [definition.logicalId, pool];
    }),
  );
}
