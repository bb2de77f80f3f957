/**
 * A function's execution environments, as Lambda scales them: an invocation goes to an idle
 * (frozen) environment, or to a new one while under the function's concurrency limit; past it,
 * a synchronous caller is throttled and an event source waits. Idle environments are reclaimed
 * after LOCAL_IDLE_SECONDS. Each invocation prints one REPORT line.
 */
import { ExecutionEnvironment, type EnvironmentSpec, type InvokeOutcome, type InvokePhaseEnd } from './execution-environment';
import type { LocalFunction } from '../types';

export interface FunctionPoolOptions {
  readonly spec: Omit<EnvironmentSpec, 'onOutput'>;
  /** Reserved concurrency, the event source's maximum concurrency, or the account's limit. */
  readonly maxEnvironments: number;
  /** At the limit: `throttle` fails a synchronous invocation (HTTP API), `wait` holds an event source's. */
  readonly atLimit: 'throttle' | 'wait';
  readonly idleSeconds: number;
  /** One line per invocation, Lambda's REPORT. */
  readonly report: (line: string) => void;
  /** The function's own log lines (printed only in verbose mode). */
  readonly output: (functionName: string, line: string) => void;
}

/** A failed invocation, as the caller (front, poller, schedule) sees it. */
export class InvocationError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
  ) {
    super(message === '' ? errorType : `${errorType}: ${message}`);
    this.name = errorType;
  }
}

/** How long an invocation waits for an environment whose runtime has answered and is calling `next`. */
const FINISHING_WAIT_MS = 20;

interface Lease {
  readonly environment: ExecutionEnvironment;
  /** Set on a cold start. */
  readonly initDurationMs: number | undefined;
}

function failedRecords(payload: string): number {
  try {
    const parsed = JSON.parse(payload) as { batchItemFailures?: unknown };
    return Array.isArray(parsed?.batchItemFailures) ? parsed.batchItemFailures.length : 0;
  } catch {
    return 0;
  }
}

function resultOf(end: InvokePhaseEnd): string {
  const { outcome } = end;
  if (outcome.kind === 'error') {
    if (outcome.errorType === 'Sandbox.Timedout') return 'timeout';
    return `error ${outcome.errorType}${outcome.errorMessage ? `: ${outcome.errorMessage.slice(0, 200)}` : ''}`;
  }
  const failed = failedRecords(outcome.payload);
  return failed > 0 ? `ok, ${failed} record(s) failed` : 'ok';
}

export class FunctionPool implements LocalFunction {
  readonly name: string;
  readonly timeoutSeconds: number;
  readonly #environments = new Set<ExecutionEnvironment>();
  /** Most recently used last: Lambda favours warm environments. */
  readonly #idle: ExecutionEnvironment[] = [];
  readonly #idleTimers = new Map<ExecutionEnvironment, NodeJS.Timeout>();
  readonly #waiting: Array<{ resolve: (lease: Lease) => void; reject: (error: Error) => void }> = [];
  readonly #busy = new Set<Promise<unknown>>();
  /** Environments whose process is being spawned: they hold a slot already. */
  #starting = 0;
  #stopped = false;
  #peakEnvironments = 0;

  constructor(private readonly options: FunctionPoolOptions) {
    this.name = options.spec.functionName;
    this.timeoutSeconds = options.spec.timeoutMs / 1000;
  }

  /** How many environments exist now (initializing, busy or idle). */
  get environmentCount(): number {
    return this.#environments.size;
  }

  /** The most environments that existed at once. */
  get peakEnvironments(): number {
    return this.#peakEnvironments;
  }

  async invoke(event: unknown): Promise<unknown> {
    const lease = await this.#acquire();
    const { environment } = lease;
    const invocation = environment.invoke(event);
    const finished = invocation.finished.then((end) => {
      this.#printReport(invocation.requestId, lease, end);
      this.#release(environment, end.reusable);
    });
    this.#track(finished);
    return this.#unwrap(await invocation.response);
  }

  /** Stops taking invocations, lets the running ones finish their invoke phase, then shuts every environment down. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const waiter of this.#waiting.splice(0)) waiter.reject(new InvocationError('ResourceNotFoundException', `${this.name} is stopping`));
    await Promise.all(this.#busy);
    await Promise.all([...this.#environments].map((environment) => this.#retire(environment)));
  }

  #unwrap(outcome: InvokeOutcome): unknown {
    if (outcome.kind === 'error') throw new InvocationError(outcome.errorType, outcome.errorMessage);
    return JSON.parse(outcome.payload) as unknown;
  }

  #track(work: Promise<unknown>): void {
    const tracked = work.catch(() => undefined).finally(() => this.#busy.delete(tracked));
    this.#busy.add(tracked);
  }

  async #acquire(): Promise<Lease> {
    if (this.#stopped) throw new InvocationError('ResourceNotFoundException', `${this.name} is stopping`);
    const idle = this.#idle.pop();
    if (idle !== undefined) {
      clearTimeout(this.#idleTimers.get(idle));
      this.#idleTimers.delete(idle);
      return { environment: idle, initDurationMs: undefined };
    }
    if ([...this.#environments].some((environment) => environment.finishing)) {
      // Its runtime answered and is calling `next`: on AWS that takes well under a millisecond, here the
      // new request may win the race on loopback. A cold start would be an artefact of the emulation.
      const lease = await this.#waitFor(FINISHING_WAIT_MS);
      if (lease !== undefined) return lease;
      return this.#acquire();
    }
    if (this.#environments.size + this.#starting < this.options.maxEnvironments) return this.#coldStart();
    if (this.options.atLimit === 'throttle') {
      throw new InvocationError('TooManyRequestsException', `Rate Exceeded: ${this.name} is at ${this.options.maxEnvironments} concurrent executions`);
    }
    return new Promise<Lease>((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  /** The next released environment, if one is released within `ms`. */
  #waitFor(ms: number): Promise<Lease | undefined> {
    return new Promise<Lease | undefined>((resolve, reject) => {
      const waiter = {
        resolve: (lease: Lease) => {
          clearTimeout(timer);
          resolve(lease);
        },
        reject,
      };
      const timer = setTimeout(() => {
        const index = this.#waiting.indexOf(waiter);
        if (index >= 0) this.#waiting.splice(index, 1);
        resolve(undefined);
      }, ms);
      this.#waiting.push(waiter);
    });
  }

  async #coldStart(): Promise<Lease> {
    this.#starting += 1;
    let environment: ExecutionEnvironment;
    try {
      environment = await ExecutionEnvironment.start({
        ...this.options.spec,
        onOutput: (line) => this.options.output(this.name, line),
      });
    } finally {
      this.#starting -= 1;
    }
    this.#environments.add(environment);
    this.#peakEnvironments = Math.max(this.#peakEnvironments, this.#environments.size);
    try {
      return { environment, initDurationMs: await environment.initialized };
    } catch (error) {
      this.#environments.delete(environment);
      await environment.shutdown();
      const initError = error as Error;
      this.options.report(`INIT_FAILED ${this.name} ${initError.name}: ${initError.message}`);
      this.#offerSlot();
      throw new InvocationError(initError.name, initError.message);
    }
  }

  #release(environment: ExecutionEnvironment, reusable: boolean): void {
    if (!reusable || !environment.ready || this.#stopped) {
      void this.#retire(environment);
      return;
    }
    const waiter = this.#waiting.shift();
    if (waiter !== undefined) {
      waiter.resolve({ environment, initDurationMs: undefined });
      return;
    }
    this.#idle.push(environment);
    const timer = setTimeout(() => {
      this.#idleTimers.delete(environment);
      const index = this.#idle.indexOf(environment);
      if (index >= 0) this.#idle.splice(index, 1);
      void this.#retire(environment);
    }, this.options.idleSeconds * 1000);
    timer.unref();
    this.#idleTimers.set(environment, timer);
  }

  /** Shuts one environment down and gives its slot to a waiting invocation. */
  async #retire(environment: ExecutionEnvironment): Promise<void> {
    clearTimeout(this.#idleTimers.get(environment));
    this.#idleTimers.delete(environment);
    const index = this.#idle.indexOf(environment);
    if (index >= 0) this.#idle.splice(index, 1);
    await environment.shutdown();
    if (this.#environments.delete(environment)) this.#offerSlot();
  }

  #offerSlot(): void {
    const waiter = this.#waiting.shift();
    if (waiter === undefined) return;
    this.#coldStart().then(waiter.resolve, waiter.reject);
  }

  #printReport(requestId: string, lease: Lease, end: InvokePhaseEnd): void {
    const parts = [
      `REPORT ${this.name} ${requestId}`,
      `duration ${end.durationMs.toFixed(2)} ms`,
      ...(end.postResponseMs >= 0.5 ? [`after response ${end.postResponseMs.toFixed(1)} ms`] : []),
      ...(lease.initDurationMs === undefined ? [] : [`init ${lease.initDurationMs.toFixed(1)} ms`]),
      `max memory ${lease.environment.peakMemoryMb() ?? '?'}/${this.options.spec.memoryMb} MB`,
      resultOf(end),
    ];
    this.options.report(parts.join(' · '));
  }
}
