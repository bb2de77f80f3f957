/**
 * Work after the response, kept from Lambda's freeze: an internal Lambda extension (one that
 * lives in the runtime's process) takes each INVOKE event and calls `next` again only when the
 * invocation's after-response work is done, or a bounded time has passed. Lambda freezes an
 * environment only once the runtime and every registered extension wait on `next`. See the AWS
 * Compute Blog, "Running code after returning a response from an AWS Lambda function", and the
 * Extensions API: https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html
 */
import { Agent } from 'node:http';
import type { Logger } from '@aws-lambda-powertools/logger';
import { callRuntimeApi, headerOf, type RuntimeApiResponse } from './runtime-api-client';

/** The hold ends this long before the invocation's deadline: a timeout would reset the environment. */
export const DEADLINE_MARGIN_MS = 500;
/**
 * Once the work is done (the click is in the publisher's hands), sending gets at most this long: a
 * slow queue must not bill every invocation for seconds. The work itself (a slow salts table) may
 * take until the deadline's margin, because until it is done the click exists nowhere else.
 */
export const HOLD_AFTER_RESPONSE_MS = 1_000;
/** One invocation at a time per environment: the request the extension waits for is always among the newest. */
const TRACKED_REQUESTS = 16;

const TIMED_OUT = Symbol('timed out');

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}

/** The promise's value, or TIMED_OUT once the clock reaches `atMs` (epoch ms). */
async function before<T>(promise: Promise<T>, atMs: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, atMs - Date.now()));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Meets the handler's side of an invocation (by request id) with the extension's. The extension
 * gets the INVOKE event when the invocation starts, before or after the handler ran, so whichever
 * side comes first creates the entry.
 */
export class AfterResponseWork {
  /** Per request id: resolved when its after-response work has ended. */
  readonly #requests = new Map<string, Deferred<void>>();

  /** The after-response work of the request has ended, however it ended. */
  done(requestId: string): void {
    this.#request(requestId).resolve();
  }

  /**
   * The extension's wait for one invocation: until the request's work is done and then `settle`
   * (given the budget left) resolves; never past `deadlineMs - DEADLINE_MARGIN_MS`, and `settle`
   * gets at most HOLD_AFTER_RESPONSE_MS. Never rejects if `settle` does not.
   */
  async hold(requestId: string, deadlineMs: number, settle: (budgetMs: number) => Promise<void>): Promise<void> {
    const done = this.#request(requestId);
    try {
      const releaseBy = deadlineMs - DEADLINE_MARGIN_MS;
      if ((await before(done.promise, releaseBy)) === TIMED_OUT) return;
      await settle(Math.min(HOLD_AFTER_RESPONSE_MS, releaseBy - Date.now()));
    } finally {
      this.#requests.delete(requestId);
    }
  }

  #request(requestId: string): Deferred<void> {
    let work = this.#requests.get(requestId);
    if (work === undefined) {
      work = deferred<void>();
      this.#requests.set(requestId, work);
      // Entries nobody waits for (no extension, or one that gave up on the request) go, oldest first.
      if (this.#requests.size > TRACKED_REQUESTS) this.#requests.delete(this.#requests.keys().next().value as string);
    }
    return work;
  }
}

/** The INVOKE event of `GET /extension/event/next`, as far as an extension holding the environment needs it. */
export interface InvokeEvent {
  readonly eventType: 'INVOKE';
  readonly requestId: string;
  /** Epoch ms. */
  readonly deadlineMs: number;
}

export interface InternalExtensionOptions {
  /** `Lambda-Extension-Name`: a name that matches no file in /opt/extensions makes the extension internal. */
  readonly name: string;
  /** `host:port` of the Runtime API (`AWS_LAMBDA_RUNTIME_API`); outside Lambda it is unset and nothing starts. */
  readonly runtimeApi: string | undefined;
  readonly logger: Logger;
  /** Resolves when the environment may freeze again; called once per INVOKE event, one at a time. Must not reject. */
  readonly onInvoke: (event: InvokeEvent) => Promise<void>;
}

export interface RunningExtension {
  readonly id: string;
  /** Resolves when the event loop has stopped (the Extensions API failed); it never rejects. */
  readonly stopped: Promise<void>;
}

const EXTENSION_API = '/2020-01-01/extension';
/** Its own keep-alive socket: independent of the SDK's agents and of the runtime's own Runtime API client. */
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function call(runtimeApi: string, method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: string): Promise<RuntimeApiResponse> {
  return callRuntimeApi(runtimeApi, agent, method, `${EXTENSION_API}${path}`, headers, body);
}

/**
 * Registers an internal extension for INVOKE events (internal extensions may not ask for SHUTDOWN:
 * the runtime gets SIGTERM instead) and starts its event loop. Call it during init, before the
 * runtime's first `next`: registration closes then. Resolves undefined, after logging why, when
 * there is no Runtime API or it refused: the function then runs without the extension.
 */
export async function startInternalExtension(options: InternalExtensionOptions): Promise<RunningExtension | undefined> {
  const { name, runtimeApi, logger } = options;
  if (runtimeApi === undefined || runtimeApi === '') return undefined;
  let id: string;
  try {
    const registered = await call(runtimeApi, 'POST', '/register', { 'Lambda-Extension-Name': name }, JSON.stringify({ events: ['INVOKE'] }));
    const header = headerOf(registered, 'lambda-extension-identifier');
    if (registered.status !== 200 || header === '') {
      throw new Error(`register answered ${registered.status}: ${registered.body}`);
    }
    id = header;
  } catch (error) {
    logger.error('extension not registered', { extension: name, error: (error as Error).message });
    return undefined;
  }
  return { id, stopped: eventLoop(runtimeApi, id, options) };
}

async function eventLoop(runtimeApi: string, id: string, { name, logger, onInvoke }: InternalExtensionOptions): Promise<void> {
  for (;;) {
    let event: unknown;
    try {
      const next = await call(runtimeApi, 'GET', '/event/next', { 'Lambda-Extension-Identifier': id });
      if (next.status !== 200) throw new Error(`event/next answered ${next.status}: ${next.body}`);
      event = JSON.parse(next.body);
    } catch (error) {
      // The Runtime API is gone (or broken): nothing left to hold for; the process must go on.
      logger.error('extension stopped', { extension: name, error: (error as Error).message });
      return;
    }
    if (isInvokeEvent(event)) await onInvoke(event);
  }
}

function isInvokeEvent(event: unknown): event is InvokeEvent {
  if (typeof event !== 'object' || event === null) return false;
  const { eventType, requestId, deadlineMs } = event as Record<string, unknown>;
  return eventType === 'INVOKE' && typeof requestId === 'string' && typeof deadlineMs === 'number';
}
