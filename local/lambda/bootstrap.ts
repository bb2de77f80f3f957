/**
 * The runtime inside each local execution environment: a small runtime interface client that
 * loads the handler from the bundle ($LAMBDA_TASK_ROOT, $_HANDLER) and loops over the Lambda
 * Runtime API at $AWS_LAMBDA_RUNTIME_API, as AWS's Node.js runtime does. It is compiled by esbuild
 * when the local stack starts and run as its own process; besides Node built-ins it imports only the
 * project's Runtime API call.
 *
 * Written here rather than taken from aws-lambda-ric, whose client is a native addon built from C++
 * sources at install time.
 */
import { existsSync } from 'node:fs';
import { Agent } from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { callRuntimeApi, headerOf, type RuntimeApiResponse } from '../../lambdas/shared/runtime-api-client';

const RUNTIME_PREFIX = '/2018-06-01/runtime';
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function call(method: 'GET' | 'POST', pathname: string, body?: string, headers: Record<string, string> = {}): Promise<RuntimeApiResponse> {
  return callRuntimeApi(process.env.AWS_LAMBDA_RUNTIME_API ?? '', agent, method, pathname, headers, body);
}

interface ErrorBody {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly stackTrace: string[];
}

function errorBody(error: unknown, fallbackType: string): ErrorBody {
  if (error instanceof Error) {
    return {
      errorType: error.name && error.name !== 'Error' ? error.name : fallbackType,
      errorMessage: error.message,
      stackTrace: (error.stack ?? '').split('\n').slice(1).map((line) => line.trim()),
    };
  }
  return { errorType: fallbackType, errorMessage: String(error), stackTrace: [] };
}

async function postError(pathname: string, error: ErrorBody): Promise<void> {
  await call('POST', pathname, JSON.stringify(error), { 'Lambda-Runtime-Function-Error-Type': error.errorType });
}

type Handler = (event: unknown, context: object) => unknown;

/** `index.handler` → the `handler` export of index.mjs (or .js, .cjs) under the task root. */
async function loadHandler(): Promise<Handler> {
  const spec = process.env._HANDLER ?? '';
  const dot = spec.lastIndexOf('.');
  if (dot <= 0) throw Object.assign(new Error(`Bad handler "${spec}": expected module.function`), { name: 'Runtime.MalformedHandlerName' });
  const taskRoot = process.env.LAMBDA_TASK_ROOT ?? process.cwd();
  const base = path.resolve(taskRoot, spec.slice(0, dot));
  const file = ['.mjs', '.js', '.cjs'].map((extension) => base + extension).find((candidate) => existsSync(candidate));
  if (file === undefined) throw Object.assign(new Error(`Cannot find module ${base}`), { name: 'Runtime.ImportModuleError' });
  const loaded = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const handler = loaded[spec.slice(dot + 1)];
  if (typeof handler !== 'function') {
    throw Object.assign(new Error(`${spec} is undefined or not exported`), { name: 'Runtime.HandlerNotFound' });
  }
  return handler as Handler;
}

function contextFor(next: RuntimeApiResponse): object {
  const deadline = Number(headerOf(next, 'lambda-runtime-deadline-ms'));
  const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME ?? '';
  const unsupported = (): never => {
    throw new Error('Callback-style completion is not supported: return a promise');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION ?? '$LATEST',
    invokedFunctionArn: headerOf(next, 'lambda-runtime-invoked-function-arn'),
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '',
    awsRequestId: headerOf(next, 'lambda-runtime-aws-request-id'),
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME ?? '',
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? '',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

let currentRequestId: string | undefined;

/** As the Node.js runtime does: an error nobody caught fails the invocation (or the init) and ends the process. */
function failAndExit(error: unknown, type: string): void {
  const pathname = currentRequestId === undefined ? `${RUNTIME_PREFIX}/init/error` : `${RUNTIME_PREFIX}/invocation/${currentRequestId}/error`;
  process.stderr.write(`${JSON.stringify({ level: 'ERROR', message: 'Uncaught error', ...errorBody(error, type) })}\n`);
  postError(pathname, errorBody(error, type)).finally(() => process.exit(129));
}
process.on('uncaughtException', (error) => failAndExit(error, 'Runtime.UncaughtException'));
process.on('unhandledRejection', (reason) => failAndExit(reason, 'Runtime.UnhandledPromiseRejection'));

async function main(): Promise<void> {
  let handler: Handler;
  try {
    handler = await loadHandler();
  } catch (error) {
    await postError(`${RUNTIME_PREFIX}/init/error`, errorBody(error, 'Runtime.ImportModuleError'));
    process.exit(1);
  }
  for (;;) {
    const next = await call('GET', `${RUNTIME_PREFIX}/invocation/next`);
    if (next.status !== 200) throw new Error(`Runtime API answered ${next.status} to next: ${next.body}`);
    const requestId = headerOf(next, 'lambda-runtime-aws-request-id');
    currentRequestId = requestId;
    process.env._X_AMZN_TRACE_ID = headerOf(next, 'lambda-runtime-trace-id');
    try {
      const result = await handler(JSON.parse(next.body) as unknown, contextFor(next));
      await call('POST', `${RUNTIME_PREFIX}/invocation/${requestId}/response`, JSON.stringify(result ?? null));
    } catch (error) {
      await postError(`${RUNTIME_PREFIX}/invocation/${requestId}/error`, errorBody(error, 'Error'));
    }
    currentRequestId = undefined;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`runtime loop failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
