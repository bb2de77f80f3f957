/**
 * Runs the unchanged Lambda handlers in this process: the environment, task root, context
 * and timeout each AWS::Lambda::Function of the template declares.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION, resolveIntrinsics, resourcesOfType, type PhysicalValues } from './template';
import type { CfnTemplate, LocalFunction } from './types';

/** Lambda's defaults when the template leaves them out. */
const DEFAULT_TIMEOUT_SECONDS = 3;
const DEFAULT_MEMORY_MB = 128;

export interface BundleAsset {
  /** Relative to the project root. */
  readonly from: string;
  /** Relative to the bundle (task) root. */
  readonly to: string;
}

export interface FunctionDefinition {
  readonly logicalId: string;
  /** Entry file relative to the project root. */
  readonly entry: string;
  readonly assets: readonly BundleAsset[];
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** Resolved against local resources; values with no local meaning are dropped. */
  readonly environment: Readonly<Record<string, string>>;
}

function isAsset(value: unknown): value is BundleAsset {
  if (typeof value !== 'object' || value === null) return false;
  const { from, to } = value as Record<string, unknown>;
  return typeof from === 'string' && typeof to === 'string';
}

export function functionDefinitions(template: CfnTemplate, physical: PhysicalValues): FunctionDefinition[] {
  return resourcesOfType(template, 'AWS::Lambda::Function').map(({ logicalId, resource }) => {
    const entry = resource.Metadata?.['ClickAnalytics:Entry'];
    if (typeof entry !== 'string') {
      throw new Error(`Function ${logicalId} has no ClickAnalytics:Entry metadata: build it with the house construct`);
    }
    const assets = resource.Metadata?.['ClickAnalytics:Assets'] ?? [];
    if (!Array.isArray(assets) || !assets.every(isAsset)) {
      throw new Error(`Function ${logicalId}: ClickAnalytics:Assets must be a list of { from, to }`);
    }
    const properties = resource.Properties ?? {};
    const environment = resolveIntrinsics(properties.Environment, physical) as { Variables?: Record<string, unknown> };
    const variables = Object.entries(environment?.Variables ?? {}).filter(
      (entry): entry is [string, string] => typeof entry[1] === 'string',
    );
    return {
      logicalId,
      entry,
      assets,
      timeoutSeconds: typeof properties.Timeout === 'number' ? properties.Timeout : DEFAULT_TIMEOUT_SECONDS,
      memoryMb: typeof properties.MemorySize === 'number' ? properties.MemorySize : DEFAULT_MEMORY_MB,
      environment: Object.fromEntries(variables),
    };
  });
}

/** Copies every function's bundled files under one task root, as esbuild bundling would lay them out. */
export async function layOutTaskRoot(
  projectRoot: string,
  taskRoot: string,
  definitions: readonly FunctionDefinition[],
): Promise<void> {
  const sources = new Map<string, string>();
  for (const { logicalId, assets } of definitions) {
    for (const { from, to } of assets) {
      const previous = sources.get(to);
      if (previous !== undefined && previous !== from) {
        throw new Error(`Function ${logicalId} puts ${from} at ${to}, where another function puts ${previous}`);
      }
      sources.set(to, from);
    }
  }
  for (const [to, from] of sources) {
    const target = path.resolve(taskRoot, to);
    if (!target.startsWith(path.resolve(taskRoot) + path.sep)) throw new Error(`Asset target ${to} escapes the task root`);
    await mkdir(path.dirname(target), { recursive: true });
    await copyFile(path.resolve(projectRoot, from), target);
  }
}

/**
 * Environment variables the functions share go into process.env once; a variable whose
 * value differs between functions (POWERTOOLS_SERVICE_NAME, AWS_LAMBDA_FUNCTION_NAME) is
 * set just before that function's module is imported, which is when Powertools and the
 * SDK clients read it.
 */
export function partitionEnvironment(
  environments: readonly Readonly<Record<string, string>>[],
): { shared: Record<string, string>; perFunction: Record<string, string>[] } {
  const conflicting = new Set<string>();
  const shared: Record<string, string> = {};
  for (const environment of environments) {
    for (const [name, value] of Object.entries(environment)) {
      if (name in shared && shared[name] !== value) conflicting.add(name);
      shared[name] = value;
    }
  }
  for (const name of conflicting) delete shared[name];
  const perFunction = environments.map((environment) =>
    Object.fromEntries(Object.entries(environment).filter(([name]) => conflicting.has(name))),
  );
  return { shared, perFunction };
}

function lambdaEnvironment(definition: FunctionDefinition): Record<string, string> {
  return {
    ...definition.environment,
    AWS_LAMBDA_FUNCTION_NAME: definition.logicalId,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(definition.memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${definition.logicalId}`,
  };
}

export class LambdaTimeoutError extends Error {
  constructor(functionName: string, timeoutSeconds: number) {
    super(`Task timed out after ${timeoutSeconds.toFixed(2)} seconds (${functionName})`);
    this.name = 'LambdaTimeoutError';
  }
}

type Handler = (event: unknown, context: Context) => unknown;

function lambdaContext(definition: FunctionDefinition, deadline: number): Context {
  const functionName = definition.logicalId;
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  const unsupported = (): never => {
    throw new Error('Callback-style completion is not supported: return a promise');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${functionName}`,
    memoryLimitInMB: String(definition.memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `${day}/[$LATEST]${randomBytes(16).toString('hex')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

/** Invokes like Lambda: a fresh context per call, a rejection once the timeout passes. */
export function wrapHandler(definition: FunctionDefinition, handler: Handler): LocalFunction {
  return {
    name: definition.logicalId,
    timeoutSeconds: definition.timeoutSeconds,
    invoke: (event) => {
      const timeoutMs = definition.timeoutSeconds * 1000;
      const context = lambdaContext(definition, Date.now() + timeoutMs);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new LambdaTimeoutError(definition.logicalId, definition.timeoutSeconds)), timeoutMs);
      });
      const run = (async () => handler(event, context))();
      return Promise.race([run, timeout]).finally(() => clearTimeout(timer));
    },
  };
}

/** An export of a module loaded by `import()`: tsx may put a CommonJS module's exports under `default`. */
function exportNamed(module: unknown, name: string): unknown {
  if (typeof module !== 'object' || module === null) return undefined;
  const direct = (module as Record<string, unknown>)[name];
  if (direct !== undefined) return direct;
  const fallback = (module as Record<string, unknown>).default;
  return typeof fallback === 'object' && fallback !== null ? (fallback as Record<string, unknown>)[name] : undefined;
}

export interface LoadedFunctions {
  /** By logical ID. */
  readonly functions: ReadonlyMap<string, LocalFunction>;
  /** Calls every loaded module's `flushClicks` export (buffered publishers) once. */
  flushPublishers(): Promise<void>;
}

export interface LoadFunctionsOptions {
  readonly definitions: readonly FunctionDefinition[];
  readonly projectRoot: string;
  readonly taskRoot: string;
  /** Endpoints, region, credentials and other local settings every function sees. */
  readonly sharedEnvironment: Readonly<Record<string, string>>;
}

export async function loadFunctions(options: LoadFunctionsOptions): Promise<LoadedFunctions> {
  const { definitions, projectRoot, taskRoot } = options;
  await layOutTaskRoot(projectRoot, taskRoot, definitions);
  const { shared, perFunction } = partitionEnvironment(definitions.map(lambdaEnvironment));
  Object.assign(process.env, shared, options.sharedEnvironment, { LAMBDA_TASK_ROOT: taskRoot });

  const functions = new Map<string, LocalFunction>();
  const flushes = new Set<() => unknown>();
  for (const [index, definition] of definitions.entries()) {
    Object.assign(process.env, perFunction[index]);
    const module: unknown = await import(pathToFileURL(path.resolve(projectRoot, definition.entry)).href);
    const handler = exportNamed(module, 'handler');
    if (typeof handler !== 'function') throw new Error(`${definition.entry} does not export a handler function`);
    functions.set(definition.logicalId, wrapHandler(definition, handler as Handler));
    const flush = exportNamed(module, 'flushClicks');
    if (typeof flush === 'function') flushes.add(flush as () => unknown);
  }
  return {
    functions,
    flushPublishers: async () => {
      await Promise.all([...flushes].map(async (flush) => flush()));
    },
  };
}
