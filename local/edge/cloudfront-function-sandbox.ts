/**
 * Runs a CloudFront Function (runtime cloudfront-js-2.0) locally under that runtime's restrictions, so code
 * that would fail at the edge fails here too: the deployed file itself, at most 10 KB, in a fresh `node:vm`
 * context with no `require`, `process`, timers, `fetch` or global `Buffer`, no `eval` or `new Function`,
 * modules only from `cloudfront`, `crypto` (hash and HMAC), `querystring` and `buffer`, a bound on run time
 * (see DEFAULT_TIME_LIMIT_MS for what it covers), and a result that must be a valid request or response. A failing run answers what CloudFront answers for
 * a function error: a 503. docs/edge.md lists the runtime's rules and where AWS states them.
 *
 * Modules: node:vm runs ES modules only behind --experimental-vm-modules, which jest does not pass. So the
 * function runs as a script, with one documented rewrite: each line `import name from 'module';` is blanked
 * (line numbers hold) and `name` becomes a parameter of the strict-mode function that wraps the file, bound to
 * the module. Any other import or export form is a syntax error in a script, so it fails to load.
 *
 * node:vm is not a security boundary: this catches what the runtime lacks, it does not contain hostile code.
 * The event, the KeyValueStore handle and its errors live in the function's own realm; crypto, querystring
 * and buffer are the host's, narrowed.
 */
import { createHash, createHmac, type BinaryLike, type Hash, type Hmac } from 'node:crypto';
import { escape, parse, stringify, unescape } from 'node:querystring';
import { performance } from 'node:perf_hooks';
import vm from 'node:vm';
import { utf8Bytes } from '../../lambdas/domain/edge-redirect';
import type { KeyValueReader } from './key-value-store';

/** CloudFront's "maximum size of a function" quota, 10 KB of code. */
export const MAX_FUNCTION_BYTES = 10 * 1024;

/**
 * A runaway guard, not a model of CloudFront's budget: CloudFront reports a function's run time as compute
 * utilization (0 to 100, a percentage of an unpublished maximum, on the order of a millisecond) and fails the
 * request beyond it. Local timings on a shared machine say little about that (a process's first run alone can
 * take tens of milliseconds), so the bound is generous; `durationMs` is reported so a slow function shows, and
 * TestFunction gives the real figure.
 *
 * It bounds the top-level code and the handler up to its first `await`. What runs after an `await` is a
 * promise job, and interrupting one aborts Node whenever async hooks are on (jest, AsyncLocalStorage:
 * nodejs/node#38503), so that part is not bounded; a handler whose promise is still pending once the
 * promise jobs have run fails as never settling.
 */
export const DEFAULT_TIME_LIMIT_MS = 1000;

const MODULE_NAMES = ['cloudfront', 'crypto', 'querystring', 'buffer'] as const;
type ModuleName = (typeof MODULE_NAMES)[number];

/** The digests the runtime's crypto module offers. */
const DIGEST_ALGORITHMS: ReadonlySet<string> = new Set(['md5', 'sha1', 'sha256']);

export interface CloudFrontValue {
  readonly value: string;
  readonly multiValue?: readonly { readonly value: string }[];
}
export type CloudFrontValues = Readonly<Record<string, CloudFrontValue>>;

export interface CloudFrontRequest {
  readonly method: string;
  readonly uri: string;
  readonly querystring: CloudFrontValues;
  readonly headers: CloudFrontValues;
  readonly cookies: CloudFrontValues;
}

export interface CloudFrontResponseCookie extends CloudFrontValue {
  readonly attributes?: string;
}

export interface CloudFrontResponse {
  readonly statusCode: number;
  readonly statusDescription?: string;
  readonly headers?: CloudFrontValues;
  readonly cookies?: Readonly<Record<string, CloudFrontResponseCookie>>;
  readonly body?: string | { readonly data: string; readonly encoding: 'text' | 'base64' };
}

export interface CloudFrontViewerRequestEvent {
  readonly version: '1.0';
  readonly context: {
    readonly eventType: 'viewer-request';
    readonly distributionDomainName?: string;
    readonly distributionId?: string;
    readonly requestId?: string;
  };
  readonly viewer: { readonly ip: string };
  readonly request: CloudFrontRequest;
}

interface RunFacts {
  /** Until the run's promise jobs have run: an upper bound on the function's own time. */
  readonly durationMs: number;
  /** What the function wrote with console.log during the run (runs that overlap may share lines). */
  readonly logs: readonly string[];
}

export type FunctionOutcome =
  | (RunFacts & { readonly kind: 'request'; readonly request: CloudFrontRequest })
  | (RunFacts & { readonly kind: 'response'; readonly response: CloudFrontResponse })
  /** CloudFront answers a function error (a throw, a timeout, an invalid result) with a 503. */
  | (RunFacts & { readonly kind: 'error'; readonly statusCode: 503; readonly error: string });

/** The function cannot be loaded: too large, not parseable, a forbidden import, or no handler. */
export class FunctionLoadError extends Error {
  override readonly name = 'FunctionLoadError';
}

export interface SandboxOptions {
  /** The store associated with the function; without one, `cf.kvs()` throws, as with none associated. */
  readonly keyValueStore?: KeyValueReader;
  readonly timeLimitMs?: number;
  /** Names the code in stack traces. */
  readonly filename?: string;
}

type Callable = (...args: readonly unknown[]) => unknown;

/** What the bootstrap builds inside the function's realm. */
interface RealmTools {
  readonly cloudfront: object;
  readonly console: object;
  readonly settle: (handler: Callable, eventJson: string) => SettleState;
}

/** Written by the handler's outcome in its realm; read once the run's promise jobs have run. */
interface SettleState {
  readonly done: boolean;
  readonly value: unknown;
  readonly error: string | undefined;
}

/**
 * Built in the function's realm, so what the function touches (the store handle, its promises and errors,
 * the event) has no way to the host's objects. readKey and writeLog are host functions reached only
 * through these closures.
 */
const BOOTSTRAP = `(function (readKey, writeLog) {
  'use strict';
  async function get(key, options) {
    if (typeof key !== 'string') throw new TypeError('The key must be a string.');
    var format = options !== undefined && options !== null && options.format !== undefined ? options.format : 'string';
    if (format !== 'string' && format !== 'json') throw new Error('Format not emulated: ' + String(format));
    var value;
    try {
      value = readKey(key);
    } catch (unreadable) {
      throw new Error('The key value store could not be read.');
    }
    if (value === undefined) throw new Error('Key not found: ' + key);
    return format === 'json' ? JSON.parse(value) : value;
  }
  var cloudfront = Object.freeze({
    kvs: function kvs() {
      if (readKey === null) throw new Error('No key value store is associated with this function.');
      return Object.freeze({ get: get });
    },
  });
  var console = Object.freeze({
    log: function log() {
      writeLog(Array.prototype.map.call(arguments, String).join(' '));
    },
  });
  function describe(error) {
    try {
      return error instanceof Error ? error.name + ': ' + error.message : 'thrown: ' + String(error);
    } catch (unprintable) {
      return 'thrown: an unprintable value';
    }
  }
  function settle(handler, eventJson) {
    var state = { done: false, value: undefined, error: undefined };
    var result;
    try {
      result = handler(JSON.parse(eventJson));
    } catch (error) {
      state.done = true;
      state.error = describe(error);
      return state;
    }
    Promise.resolve(result).then(
      function (value) { state.done = true; state.value = value; },
      function (error) { state.done = true; state.error = describe(error); }
    );
    return state;
  }
  return { cloudfront: cloudfront, console: console, settle: settle };
})`;

/** Holds the host function a run script calls; present only while that script runs. */
const CALL_SLOT = '__sandboxCall';
const CALL_SCRIPT = new vm.Script(`${CALL_SLOT}()`);

const IMPORT_LINE = /^[ \t]*import[ \t]+([A-Za-z_$][\w$]*)[ \t]+from[ \t]+(['"])([^'"\r\n]*)\2[ \t]*;?[ \t]*$/gm;

interface ModuleBinding {
  readonly name: string;
  readonly module: ModuleName;
}

/** The source with its import lines blanked, and what each bound. */
function rewriteImports(source: string): { readonly body: string; readonly bindings: readonly ModuleBinding[] } {
  const bindings: ModuleBinding[] = [];
  const body = source.replace(IMPORT_LINE, (_line: string, name: string, _quote: string, module: string) => {
    if (!isModuleName(module)) {
      throw new FunctionLoadError(`Module "${module}" is not available: only ${MODULE_NAMES.join(', ')} are.`);
    }
    if (bindings.some((binding) => binding.name === name)) throw new FunctionLoadError(`"${name}" is imported twice.`);
    bindings.push({ name, module });
    return '';
  });
  return { body, bindings };
}

function isModuleName(name: string): name is ModuleName {
  return (MODULE_NAMES as readonly string[]).includes(name);
}

function digestAlgorithm(algorithm: unknown): string {
  if (typeof algorithm !== 'string' || !DIGEST_ALGORITHMS.has(algorithm)) {
    throw new Error(`Digest algorithm not available: ${String(algorithm)} (md5, sha1, sha256 are).`);
  }
  return algorithm;
}

const CRYPTO_MODULE = Object.freeze({
  createHash: (algorithm: unknown): Hash => createHash(digestAlgorithm(algorithm)),
  createHmac: (algorithm: unknown, key: BinaryLike): Hmac => createHmac(digestAlgorithm(algorithm), key),
});
const QUERYSTRING_MODULE = Object.freeze({ escape, parse, stringify, unescape });
const BUFFER_MODULE = Object.freeze({ Buffer });

export class CloudFrontFunctionSandbox {
  private readonly context: vm.Context;
  private readonly handler: Callable;
  private readonly settle: RealmTools['settle'];
  private readonly timeLimitMs: number;
  private logs: string[] = [];

  /** Loads the function as CloudFront would deploy it; throws FunctionLoadError when CloudFront could not run it. */
  constructor(source: string, options: SandboxOptions = {}) {
    const size = utf8Bytes(source);
    if (size > MAX_FUNCTION_BYTES) {
      throw new FunctionLoadError(`The function is ${size} bytes; CloudFront takes at most ${MAX_FUNCTION_BYTES}.`);
    }
    this.timeLimitMs = options.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS;
    // A fresh realm: V8's built-ins only, none of Node's globals.
    this.context = vm.createContext(
      {},
      { codeGeneration: { strings: false, wasm: false }, name: 'cloudfront-js-2.0' },
    );
    const store = options.keyValueStore;
    const readKey = store === undefined ? null : (key: string): string | undefined => store.get(key);
    const tools = (new vm.Script(BOOTSTRAP).runInContext(this.context) as (...args: readonly unknown[]) => RealmTools)(
      readKey,
      (line: string) => this.logs.push(line),
    );
    this.settle = tools.settle;
    Object.defineProperty(this.context, 'console', { value: tools.console, writable: true, configurable: true });

    const { body, bindings } = rewriteImports(source);
    const modules: Record<ModuleName, unknown> = {
      cloudfront: tools.cloudfront,
      crypto: CRYPTO_MODULE,
      querystring: QUERYSTRING_MODULE,
      buffer: BUFFER_MODULE,
    };
    const parameters = bindings.map((binding) => binding.name).join(', ');
    // On the first line, so the file's line numbers hold.
    const wrapped = `(function (${parameters}) { 'use strict';${body}\nreturn typeof handler === 'function' ? handler : undefined;\n})`;
    let moduleFunction: Callable;
    try {
      moduleFunction = new vm.Script(wrapped, { filename: options.filename ?? 'function.js' }).runInContext(this.context) as Callable;
    } catch (error) {
      throw new FunctionLoadError(`The function does not parse: ${(error as Error).message}`);
    }
    let handler: unknown;
    try {
      handler = this.callInRealm(() => moduleFunction(...bindings.map((binding) => modules[binding.module])));
    } catch (error) {
      throw new FunctionLoadError(`The function's top-level code failed: ${(error as Error).message}`);
    }
    if (typeof handler !== 'function') throw new FunctionLoadError('The function defines no handler function.');
    this.handler = handler as Callable;
  }

  /** Runs the handler on `event` (copied into the function's realm) and checks what it returns. */
  async run(event: CloudFrontViewerRequestEvent): Promise<FunctionOutcome> {
    const logs: string[] = [];
    this.logs = logs;
    const started = performance.now();
    let state: SettleState;
    try {
      state = this.callInRealm(() => this.settle(this.handler, JSON.stringify(event))) as SettleState;
    } catch (error) {
      return failed(started, logs, (error as Error).message);
    }
    // Nothing in the realm waits on timers or I/O: once the promise jobs have run, the handler has settled or never will.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (!state.done) return failed(started, logs, 'The handler returned a promise that never settled.');
    if (state.error !== undefined) return failed(started, logs, state.error);
    const checked = checkResult(state.value, event.request.method);
    const facts = { durationMs: performance.now() - started, logs };
    if (typeof checked === 'string') return { kind: 'error', statusCode: 503, error: checked, ...facts };
    return { ...checked, ...facts };
  }

  /** Calls `call` from a script run in the function's realm, so the time limit covers it. */
  private callInRealm(call: () => unknown): unknown {
    Object.defineProperty(this.context, CALL_SLOT, { value: call, configurable: true });
    try {
      return CALL_SCRIPT.runInContext(this.context, { timeout: this.timeLimitMs });
    } finally {
      Reflect.deleteProperty(this.context, CALL_SLOT);
    }
  }
}

function failed(started: number, logs: readonly string[], error: string): FunctionOutcome {
  return { kind: 'error', statusCode: 503, error, durationMs: performance.now() - started, logs };
}

type CheckedResult =
  | { readonly kind: 'request'; readonly request: CloudFrontRequest }
  | { readonly kind: 'response'; readonly response: CloudFrontResponse };

/** A host copy of a valid request or response, or what makes it invalid. */
function checkResult(value: unknown, eventMethod: string): CheckedResult | string {
  if (!isRecord(value)) return 'The handler must return a request or a response object.';
  try {
    if ('statusCode' in value) return { kind: 'response', response: checkResponse(value) };
    return { kind: 'request', request: checkRequest(value, eventMethod) };
  } catch (error) {
    if (error instanceof InvalidResult) return error.message;
    throw error;
  }
}

class InvalidResult extends Error {}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
// RFC 9110 §5.5: a field value never holds CR, LF or NUL.
const FORBIDDEN_IN_FIELD_VALUE = /[\r\n\0]/;

function checkRequest(value: Readonly<Record<string, unknown>>, eventMethod: string): CloudFrontRequest {
  if (value.method !== eventMethod) throw new InvalidResult('A returned request must keep the method.');
  if (typeof value.uri !== 'string' || !value.uri.startsWith('/')) throw new InvalidResult('The request uri must be a string starting with "/".');
  return {
    method: eventMethod,
    uri: value.uri,
    querystring: checkValues(value.querystring, 'querystring', false),
    headers: checkValues(value.headers, 'headers', true),
    cookies: checkValues(value.cookies, 'cookies', false),
  };
}

function checkResponse(value: Readonly<Record<string, unknown>>): CloudFrontResponse {
  const { statusCode, statusDescription, headers, cookies, body } = value;
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode) || statusCode < 200 || statusCode > 599) {
    throw new InvalidResult('The response statusCode must be an integer from 200 to 599.');
  }
  if (statusDescription !== undefined && typeof statusDescription !== 'string') {
    throw new InvalidResult('The response statusDescription must be a string.');
  }
  return {
    statusCode,
    ...(statusDescription === undefined ? {} : { statusDescription }),
    ...(headers === undefined ? {} : { headers: checkValues(headers, 'headers', true) }),
    ...(cookies === undefined ? {} : { cookies: checkResponseCookies(cookies) }),
    ...(body === undefined ? {} : { body: checkBody(body) }),
  };
}

function checkValues(values: unknown, field: string, namesAreHeaders: boolean): CloudFrontValues {
  if (!isRecord(values)) throw new InvalidResult(`${field} must be an object.`);
  const copy: Record<string, CloudFrontValue> = {};
  for (const [name, entry] of Object.entries(values)) {
    if (namesAreHeaders && !HEADER_NAME.test(name)) throw new InvalidResult(`Header name "${name}" must be a lower-case token.`);
    copy[name] = checkValue(entry, `${field}.${name}`, namesAreHeaders);
  }
  return copy;
}

function checkValue(entry: unknown, where: string, isHeader: boolean): CloudFrontValue {
  if (!isRecord(entry) || !isFieldValue(entry.value, isHeader)) throw new InvalidResult(`${where} must be { value: string }.`);
  if (entry.multiValue === undefined) return { value: entry.value };
  const multiValue = entry.multiValue;
  if (!Array.isArray(multiValue) || !multiValue.every((item: unknown) => isRecord(item) && isFieldValue(item.value, isHeader))) {
    throw new InvalidResult(`${where}.multiValue must be an array of { value: string }.`);
  }
  return { value: entry.value, multiValue: multiValue.map((item: { value: string }) => ({ value: item.value })) };
}

function checkResponseCookies(cookies: unknown): Readonly<Record<string, CloudFrontResponseCookie>> {
  if (!isRecord(cookies)) throw new InvalidResult('cookies must be an object.');
  const copy: Record<string, CloudFrontResponseCookie> = {};
  for (const [name, cookie] of Object.entries(cookies)) {
    const value = checkValue(cookie, `cookies.${name}`, false);
    const attributes = isRecord(cookie) ? cookie.attributes : undefined;
    if (attributes !== undefined && typeof attributes !== 'string') throw new InvalidResult(`cookies.${name}.attributes must be a string.`);
    copy[name] = attributes === undefined ? value : { ...value, attributes };
  }
  return copy;
}

function checkBody(body: unknown): NonNullable<CloudFrontResponse['body']> {
  if (typeof body === 'string') return body;
  if (isRecord(body) && typeof body.data === 'string' && (body.encoding === 'text' || body.encoding === 'base64')) {
    return { data: body.data, encoding: body.encoding };
  }
  throw new InvalidResult('The response body must be a string or { data: string, encoding: "text" | "base64" }.');
}

function isFieldValue(value: unknown, isHeader: boolean): value is string {
  return typeof value === 'string' && !(isHeader && FORBIDDEN_IN_FIELD_VALUE.test(value));
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
