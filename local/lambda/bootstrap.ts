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
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { callRuntimeApi, headerOf, type RuntimeApiResponse } from '../../lambdas/shared/runtime-api-client';

const RUNTIME_PREFIX = '/2018-06-01/runtime';
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
/** A result post the Runtime API has not answered by then is given up on (AWS's client does not look at the answer either). */
const BLOCKING_POST_TIMEOUT_MS = 10_000;

function call(method: 'GET' | 'POST', pathname: string, body?: string, headers: Record<string, string> = {}): Promise<RuntimeApiResponse> {
  return callRuntimeApi(process.env.AWS_LAMBDA_RUNTIME_API ?? '', agent, method, pathname, headers, body);
}

interface PostRequest {
  readonly pathname: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Posts an invocation's result the way AWS's runtime interface client does: with a blocking call on
 * the JavaScript thread (its native `done()` and `error()` run `post_success`/`post_failure` of the
 * C++ runtime client), so no callback the handler left behind runs before the Runtime API has the
 * result. Node has no blocking HTTP: a worker thread makes the request while this thread waits on
 * shared memory ([0] set to 1 when done, [1] the HTTP status, 0 on failure).
 */
class BlockingPoster {
  readonly #state = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
  readonly #worker: Worker;

  constructor(bootstrapFile: string) {
    this.#worker = new Worker(bootstrapFile, { workerData: this.#state });
  }

  /** Resolves once the worker runs, so the first post does not wait for its start. */
  async ready(): Promise<void> {
    await new Promise((resolve, reject) => {
      this.#worker.once('online', resolve);
      this.#worker.once('error', reject);
    });
    // From here the runtime loop keeps the process alive, never this thread.
    this.#worker.unref();
  }

  /** The Runtime API's status, 0 when the call failed or timed out. */
  post(request: PostRequest): number {
    Atomics.store(this.#state, 0, 0);
    this.#worker.postMessage(request);
    Atomics.wait(this.#state, 0, 0, BLOCKING_POST_TIMEOUT_MS);
    return Atomics.load(this.#state, 0) === 1 ? Atomics.load(this.#state, 1) : 0;
  }
}

/** The worker side of BlockingPoster. */
function servePosts(state: Int32Array): void {
  parentPort?.on('message', ({ pathname, body, headers }: PostRequest) => {
    void call('POST', pathname, body, headers).then(
      (response) => response.status,
      () => 0,
    ).then((status) => {
      Atomics.store(state, 1, status);
      Atomics.store(state, 0, 1);
      Atomics.notify(state, 0);
    });
  });
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

const errorPost = (pathname: string, error: ErrorBody): PostRequest => ({
  pathname,
  body: JSON.stringify(error),
  headers: { 'Lambda-Runtime-Function-Error-Type': error.errorType },
});

/** For errors outside an invocation's result (init, or the process failing), which AWS's client posts over plain HTTP. */
async function postError(pathname: string, error: ErrorBody): Promise<void> {
  const { body, headers } = errorPost(pathname, error);
  await call('POST', pathname, body, headers);
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

async function main(): Promise<void> {
  process.on('uncaughtException', (error) => failAndExit(error, 'Runtime.UncaughtException'));
  process.on('unhandledRejection', (reason) => failAndExit(reason, 'Runtime.UnhandledPromiseRejection'));
  const poster = new BlockingPoster(process.argv[1]);
  let handler: Handler;
  try {
    [handler] = await Promise.all([loadHandler(), poster.ready()]);
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
    let result: PostRequest;
    try {
      const value = await handler(JSON.parse(next.body) as unknown, contextFor(next));
      result = { pathname: `${RUNTIME_PREFIX}/invocation/${requestId}/response`, body: JSON.stringify(value ?? null), headers: {} };
    } catch (error) {
      result = errorPost(`${RUNTIME_PREFIX}/invocation/${requestId}/error`, errorBody(error, 'Error'));
    }
    const status = poster.post(result);
    if (status !== 202) process.stderr.write(`runtime: the Runtime API answered ${status} to ${result.pathname}\n`);
    currentRequestId = undefined;
  }
}

if (isMainThread) {
  main().catch((error: unknown) => {
    process.stderr.write(`runtime loop failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
} else {
  servePosts(workerData as Int32Array);
}
