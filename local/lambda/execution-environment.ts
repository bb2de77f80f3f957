/**
 * One Lambda execution environment: a Node.js process running the bootstrap, and the Runtime and
 * Extensions API it talks to, served on a 127.0.0.1 port of its own. It keeps AWS's lifecycle
 * (docs/lambda-runtime.md): init within 10 s; one invocation at a time; frozen (SIGSTOP) once the
 * runtime and every registered extension wait on `next`, thawed (SIGCONT) by the next invocation;
 * killed on a timeout; shut down with SIGKILL, or with SIGTERM and a grace period when an
 * extension registered.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

/** On-demand functions must finish init within 10 s. */
export const INIT_TIMEOUT_MS = 10_000;
/** The shutdown grace period when only internal extensions are registered (none is external here). */
export const SHUTDOWN_GRACE_MS = 500;
/** Synchronous invocation response payload quota. */
export const MAX_RESPONSE_BYTES = 6 * 1024 * 1024;
/** Lambda's limit of extensions per function. */
const MAX_EXTENSIONS = 10;

const RUNTIME_PREFIX = '/2018-06-01/runtime';
const EXTENSION_PREFIX = '/2020-01-01/extension';

/** Every child still alive, killed if the local stack exits without stopping them (no orphan survives it). */
const liveChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

export interface EnvironmentSpec {
  readonly functionName: string;
  readonly invokedFunctionArn: string;
  /** The bundle directory: LAMBDA_TASK_ROOT. */
  readonly codeDir: string;
  /** `index.handler`. */
  readonly handler: string;
  readonly bootstrapFile: string;
  readonly timeoutMs: number;
  readonly memoryMb: number;
  /** The function's own variables plus the local endpoints and credentials. */
  readonly environment: Readonly<Record<string, string>>;
  /** Each line the process writes to stdout or stderr (its CloudWatch log). */
  readonly onOutput: (line: string) => void;
}

export type InvokeOutcome =
  | { readonly kind: 'response'; readonly payload: string }
  | { readonly kind: 'error'; readonly errorType: string; readonly errorMessage: string };

/** How an invocation's invoke phase ended: the runtime and extensions back on `next`, or the environment gone. */
export interface InvokePhaseEnd {
  readonly outcome: InvokeOutcome;
  /** From the event's delivery to the runtime's response. */
  readonly durationMs: number;
  /** From the runtime's response until the runtime and every extension waited on `next` again (extensions' work). */
  readonly postResponseMs: number;
  /** Whether the environment survived (false after a timeout or a crash). */
  readonly reusable: boolean;
}

export interface Invocation {
  readonly requestId: string;
  /** Settles when the runtime posts the response or error (or the invocation fails): what the caller waits for. */
  readonly response: Promise<InvokeOutcome>;
  /** Settles when the invoke phase ends. */
  readonly finished: Promise<InvokePhaseEnd>;
}

export class InitError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
  ) {
    super(message);
    this.name = errorType;
  }
}

type Phase = 'init' | 'ready' | 'invoking' | 'post-response' | 'shutting-down' | 'dead';

interface Extension {
  readonly id: string;
  readonly name: string;
  pendingNext: ServerResponse | undefined;
}

interface ActiveInvocation {
  readonly requestId: string;
  readonly deliveredAt: number;
  respondedAt: number | undefined;
  outcome: InvokeOutcome | undefined;
  readonly settleResponse: (outcome: InvokeOutcome) => void;
  readonly settleFinished: (end: InvokePhaseEnd) => void;
  readonly timer: NodeJS.Timeout;
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

function readBody(request: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    request.on('end', () => resolve(size <= limit ? Buffer.concat(chunks) : undefined));
    request.on('error', reject);
  });
}

function reply(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

function parseError(body: Buffer | undefined, fallbackType: string): { errorType: string; errorMessage: string } {
  try {
    const parsed = JSON.parse(body?.toString('utf8') ?? '') as { errorType?: unknown; errorMessage?: unknown };
    return {
      errorType: typeof parsed.errorType === 'string' ? parsed.errorType : fallbackType,
      errorMessage: typeof parsed.errorMessage === 'string' ? parsed.errorMessage : '',
    };
  } catch {
    return { errorType: fallbackType, errorMessage: '' };
  }
}

/** Peak resident memory of a process in MB (Linux), as Lambda reports Max Memory Used. */
function peakMemoryMb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round(Number(match[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

export class ExecutionEnvironment {
  /** Resolves with the init duration in ms once the runtime and every extension first wait on `next`. */
  readonly initialized: Promise<number>;
  #phase: Phase = 'init';
  #server: Server;
  #child: ChildProcess | undefined;
  #runtimeNext: ServerResponse | undefined;
  readonly #extensions = new Map<string, Extension>();
  #invocation: ActiveInvocation | undefined;
  readonly #exited = deferred<void>();
  #initStarted = 0;
  #initSettle: { resolve: (ms: number) => void; reject: (error: Error) => void } | undefined;
  #initTimer: NodeJS.Timeout | undefined;

  private constructor(private readonly spec: EnvironmentSpec) {
    this.#server = createServer((request, response) => {
      this.#route(request, response).catch((error: unknown) => {
        if (!response.headersSent) reply(response, 500, { errorType: 'ServiceException', errorMessage: String(error) });
      });
    });
    this.initialized = new Promise<number>((resolve, reject) => {
      this.#initSettle = { resolve, reject };
    });
    // Init failures are reported through `initialized`; nobody else must see an unhandled rejection.
    this.initialized.catch(() => undefined);
  }

  /** Starts the process; `initialized` tells when it is ready for its first invocation. */
  static async start(spec: EnvironmentSpec): Promise<ExecutionEnvironment> {
    const environment = new ExecutionEnvironment(spec);
    await environment.#listen();
    environment.#spawn();
    return environment;
  }

  /** True when frozen between invocations, ready for the next one. */
  get ready(): boolean {
    return this.#phase === 'ready';
  }

  /** The runtime has answered and no extension is busy: only the runtime's own `next` call is still on its way. */
  get finishing(): boolean {
    return this.#phase === 'post-response' && this.#runtimeNext === undefined && this.#extensionsWaiting();
  }

  peakMemoryMb(): number | undefined {
    return peakMemoryMb(this.#child?.pid);
  }

  async #listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => resolve());
    });
  }

  #spawn(): void {
    const { port } = this.#server.address() as AddressInfo;
    const { spec } = this;
    const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
    this.#initStarted = performance.now();
    // Lambda's own variables; nothing of the local stack's process environment leaks in.
    // As AWS's Node.js start-up script does: the heap gets 90% of the function's memory.
    const heapMb = Math.floor(spec.memoryMb * 0.9);
    const child = spawn(process.execPath, [`--max-old-space-size=${heapMb}`, spec.bootstrapFile], {
      cwd: spec.codeDir,
      // Its own process group: a terminal's Ctrl-C reaches the local stack, which stops environments in order.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...spec.environment,
        AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${port}`,
        AWS_LAMBDA_FUNCTION_NAME: spec.functionName,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMb),
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.functionName}`,
        AWS_LAMBDA_LOG_STREAM_NAME: `${day}/[$LATEST]${randomBytes(16).toString('hex')}`,
        AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
        LAMBDA_TASK_ROOT: spec.codeDir,
        LAMBDA_RUNTIME_DIR: spec.codeDir,
        _HANDLER: spec.handler,
        TZ: ':UTC',
        LANG: 'en_US.UTF-8',
      },
    });
    this.#child = child;
    liveChildren.add(child);
    for (const stream of [child.stdout, child.stderr]) {
      let partial = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) spec.onOutput(line);
      });
    }
    child.on('exit', (code, signal) => this.#onExit(code, signal));
    this.#initTimer = setTimeout(
      () => this.#failInit(new InitError('Sandbox.Timedout', `INIT_REPORT Status: timeout (init exceeded ${INIT_TIMEOUT_MS / 1000} s)`)),
      INIT_TIMEOUT_MS,
    );
  }

  /** Delivers one event; the environment must be ready (frozen between invocations). */
  invoke(event: unknown): Invocation {
    if (this.#phase !== 'ready' || this.#runtimeNext === undefined) {
      throw new Error(`${this.spec.functionName}: invoked while ${this.#phase}`);
    }
    const requestId = randomUUID();
    const deadline = Date.now() + this.spec.timeoutMs;
    const response = deferred<InvokeOutcome>();
    const finished = deferred<InvokePhaseEnd>();
    this.#invocation = {
      requestId,
      deliveredAt: performance.now(),
      respondedAt: undefined,
      outcome: undefined,
      settleResponse: response.resolve,
      settleFinished: finished.resolve,
      timer: setTimeout(() => this.#timeOut(), this.spec.timeoutMs),
    };
    this.#phase = 'invoking';
    this.#signal('SIGCONT');
    const traceId = `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')};Sampled=0`;
    const body = JSON.stringify(event);
    const next = this.#runtimeNext;
    this.#runtimeNext = undefined;
    next.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'lambda-runtime-aws-request-id': requestId,
      'lambda-runtime-deadline-ms': String(deadline),
      'lambda-runtime-invoked-function-arn': this.spec.invokedFunctionArn,
      'lambda-runtime-trace-id': traceId,
    });
    next.end(body);
    for (const extension of this.#extensions.values()) {
      const pending = extension.pendingNext;
      extension.pendingNext = undefined;
      if (pending !== undefined) {
        reply(pending, 200, {
          eventType: 'INVOKE',
          deadlineMs: deadline,
          requestId,
          invokedFunctionArn: this.spec.invokedFunctionArn,
          tracing: { type: 'X-Amzn-Trace-Id', value: traceId },
        });
      }
    }
    return { requestId, response: response.promise, finished: finished.promise };
  }

  /**
   * Ends the environment as Lambda reclaims one: SIGKILL at once without extensions; with one, the
   * runtime gets SIGTERM and the grace period to exit before SIGKILL.
   */
  async shutdown(): Promise<void> {
    if (this.#phase === 'dead') return;
    if (this.#phase !== 'shutting-down') {
      this.#phase = 'shutting-down';
      if (this.#extensions.size === 0) {
        this.#signal('SIGKILL');
      } else {
        this.#signal('SIGCONT');
        this.#signal('SIGTERM');
        const grace = setTimeout(() => this.#signal('SIGKILL'), SHUTDOWN_GRACE_MS);
        void this.#exited.promise.then(() => clearTimeout(grace));
      }
    }
    await this.#exited.promise;
  }

  #signal(signal: NodeJS.Signals): void {
    const child = this.#child;
    if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(child.pid, signal);
    } catch {
      // Already gone: its exit event follows.
    }
  }

  async #route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = request.url ?? '';
    const method = request.method ?? 'GET';
    if (method === 'GET' && url === `${RUNTIME_PREFIX}/invocation/next`) return this.#onRuntimeNext(response);
    if (method === 'POST' && url === `${RUNTIME_PREFIX}/init/error`) {
      const { errorType, errorMessage } = parseError(await readBody(request, MAX_RESPONSE_BYTES), 'Runtime.Unknown');
      reply(response, 202, { status: 'OK' });
      return this.#failInit(new InitError(errorType, errorMessage));
    }
    const invocationPath = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(url);
    if (method === 'POST' && invocationPath) {
      return this.#onInvocationResult(request, response, invocationPath[1], invocationPath[2] === 'error');
    }
    if (method === 'POST' && url === `${EXTENSION_PREFIX}/register`) return this.#onRegister(request, response);
    if (method === 'GET' && url === `${EXTENSION_PREFIX}/event/next`) return this.#onExtensionNext(request, response);
    if (method === 'POST' && (url === `${EXTENSION_PREFIX}/init/error` || url === `${EXTENSION_PREFIX}/exit/error`)) {
      const { errorType, errorMessage } = parseError(await readBody(request, MAX_RESPONSE_BYTES), 'Extension.Unknown');
      reply(response, 202, { status: 'OK' });
      if (this.#phase === 'init') return this.#failInit(new InitError(errorType, errorMessage));
      return this.#kill(`extension error ${errorType}: ${errorMessage}`);
    }
    reply(response, 404, { errorType: 'InvalidRequest', errorMessage: `No such endpoint: ${method} ${url}` });
  }

  #onRuntimeNext(response: ServerResponse): void {
    if (this.#runtimeNext !== undefined) {
      reply(response, 400, { errorType: 'InvalidStateTransition', errorMessage: 'The runtime already waits on next' });
      return;
    }
    if (this.#phase === 'invoking') {
      // Next without a response: Lambda treats it as an error of the current invocation.
      this.#respond({ kind: 'error', errorType: 'Runtime.InvalidStateTransition', errorMessage: 'next called before a response' });
    }
    this.#runtimeNext = response;
    this.#maybeFreeze();
  }

  async #onInvocationResult(request: IncomingMessage, response: ServerResponse, requestId: string, isError: boolean): Promise<void> {
    const body = await readBody(request, MAX_RESPONSE_BYTES);
    const invocation = this.#invocation;
    if (invocation?.requestId !== requestId || this.#phase !== 'invoking') {
      reply(response, 400, { errorType: 'InvalidRequestID', errorMessage: `No invocation ${requestId} awaits a result` });
      return;
    }
    reply(response, 202, { status: 'OK' });
    if (body === undefined) {
      this.#respond({
        kind: 'error',
        errorType: 'Function.ResponseSizeTooLarge',
        errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
      });
    } else if (isError) {
      this.#respond({ kind: 'error', ...parseError(body, 'Unhandled') });
    } else {
      this.#respond({ kind: 'response', payload: body.toString('utf8') });
    }
  }

  async #onRegister(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const name = request.headers['lambda-extension-name'];
    const body = await readBody(request, 64 * 1024);
    if (this.#phase !== 'init' || this.#runtimeNext !== undefined) {
      reply(response, 403, { errorType: 'Extension.RegistrationClosed', errorMessage: 'Extension registration closed already' });
      return;
    }
    let events: unknown;
    try {
      events = (JSON.parse(body?.toString('utf8') ?? '') as { events?: unknown }).events;
    } catch {
      events = undefined;
    }
    if (typeof name !== 'string' || name === '' || !Array.isArray(events) || !events.every((event) => event === 'INVOKE' || event === 'SHUTDOWN')) {
      reply(response, 400, { errorType: 'InvalidRequest', errorMessage: 'Need a Lambda-Extension-Name header and { "events": ["INVOKE" | "SHUTDOWN", ...] }' });
      return;
    }
    // Every extension here lives in the runtime's process (no layers run locally): internal ones get no SHUTDOWN.
    if (events.includes('SHUTDOWN')) {
      reply(response, 403, { errorType: 'Extension.InvalidEventType', errorMessage: 'SHUTDOWN: ShutdownEventNotSupportedForInternalExtension' });
      return;
    }
    if (this.#extensions.size >= MAX_EXTENSIONS) {
      reply(response, 403, { errorType: 'Extension.TooManyExtensions', errorMessage: `At most ${MAX_EXTENSIONS} extensions per function` });
      return;
    }
    const id = randomUUID();
    this.#extensions.set(id, { id, name, pendingNext: undefined });
    reply(
      response,
      200,
      { functionName: this.spec.functionName, functionVersion: '$LATEST', handler: this.spec.handler },
      { 'lambda-extension-identifier': id },
    );
  }

  #onExtensionNext(request: IncomingMessage, response: ServerResponse): void {
    const id = request.headers['lambda-extension-identifier'];
    const extension = typeof id === 'string' ? this.#extensions.get(id) : undefined;
    if (extension === undefined) {
      reply(response, 403, { errorType: 'Extension.Unknown', errorMessage: 'Unknown Lambda-Extension-Identifier' });
      return;
    }
    extension.pendingNext = response;
    this.#maybeFreeze();
  }

  /** The runtime's answer (or its failure) goes to the caller at once; the invoke phase may go on. */
  #respond(outcome: InvokeOutcome): void {
    const invocation = this.#invocation;
    if (invocation === undefined || invocation.outcome !== undefined) return;
    invocation.outcome = outcome;
    invocation.respondedAt = performance.now();
    invocation.settleResponse(outcome);
    if (this.#phase === 'invoking') this.#phase = 'post-response';
  }

  #extensionsWaiting(): boolean {
    return [...this.#extensions.values()].every((extension) => extension.pendingNext !== undefined);
  }

  #allWaiting(): boolean {
    return this.#runtimeNext !== undefined && this.#extensionsWaiting();
  }

  #maybeFreeze(): void {
    if (!this.#allWaiting()) return;
    if (this.#phase === 'init') {
      clearTimeout(this.#initTimer);
      this.#phase = 'ready';
      this.#signal('SIGSTOP');
      this.#initSettle?.resolve(performance.now() - this.#initStarted);
      return;
    }
    if (this.#phase !== 'post-response') return;
    this.#phase = 'ready';
    this.#signal('SIGSTOP');
    this.#endInvocation(true);
  }

  #timeOut(): void {
    const seconds = (this.spec.timeoutMs / 1000).toFixed(2);
    this.#kill(`Task timed out after ${seconds} seconds`, 'Sandbox.Timedout');
  }

  /** Ends the current invocation with an error and the environment with SIGKILL. */
  #kill(message: string, errorType = 'Runtime.ExitError'): void {
    this.#respond({ kind: 'error', errorType, errorMessage: message });
    this.#endInvocation(false);
    if (this.#phase !== 'dead') this.#phase = 'shutting-down';
    this.#signal('SIGKILL');
  }

  #endInvocation(reusable: boolean): void {
    const invocation = this.#invocation;
    if (invocation === undefined || invocation.outcome === undefined) return;
    this.#invocation = undefined;
    clearTimeout(invocation.timer);
    const now = performance.now();
    invocation.settleFinished({
      outcome: invocation.outcome,
      durationMs: (invocation.respondedAt ?? now) - invocation.deliveredAt,
      postResponseMs: invocation.respondedAt === undefined ? 0 : now - invocation.respondedAt,
      reusable,
    });
  }

  #failInit(error: InitError): void {
    if (this.#phase !== 'init') return;
    clearTimeout(this.#initTimer);
    this.#phase = 'shutting-down';
    this.#initSettle?.reject(error);
    this.#signal('SIGKILL');
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#child) liveChildren.delete(this.#child);
    clearTimeout(this.#initTimer);
    const how = signal === null ? `exit status ${code ?? 'unknown'}` : `signal: ${signal}`;
    if (this.#phase === 'init') {
      this.#initSettle?.reject(new InitError('Runtime.ExitError', `Runtime exited during init with ${how}`));
    }
    this.#respond({ kind: 'error', errorType: 'Runtime.ExitError', errorMessage: `Runtime exited with ${how}` });
    this.#endInvocation(false);
    this.#phase = 'dead';
    this.#server.closeAllConnections();
    this.#server.close();
    this.#exited.resolve();
  }
}
