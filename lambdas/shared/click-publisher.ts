/**
 * Buffered click publisher for the redirect: enqueue() never waits on the network, so the
 * redirect never waits on analytics. Every click is also logged by the redirect; that log
 * line is the backfill source for clicks this publisher drops or fails to send.
 *
 * Clicks leave through a ClickTransport (the click queue: lambdas/transport/sqs.ts), a batch of its
 * maxBatch at a time. A send the queue never answered (connection refused, timeout, throttling, a
 * server fault) puts its clicks back at the front of the buffer and marks the queue failing:
 * nothing more is sent until a retry, after a backoff, gets an answer. Clicks the queue refuses
 * are logged as not queued: sending them again would not help.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { ClickMessage } from '../domain/click';
import type { ClickTransport, SendPolicy } from '../transport/click-transport';

/** Backpressure: past this many waiting clicks the oldest are dropped (recent data is worth more). */
export const MAX_BUFFERED_CLICKS = 10_000;
/** Bounds concurrent sends so a slow queue fills the buffer instead of opening sockets without end. */
const MAX_BATCHES_IN_FLIGHT = 8;
/** Retries of a failing queue wait 250 ms, 500 ms, … up to 15 s (halved at random, so instances spread out). */
const RETRY_BASE_MS = 250;
const RETRY_MAX_MS = 15_000;
/**
 * The SDK already retries whole requests; clicks the queue failed get one more try. A send it never
 * answered is not tried again here: its clicks go back to the buffer, which the retry timer sends.
 */
const SEND_POLICY: SendPolicy = { attempts: 2, retryUnanswered: false };

export interface ClickPublisherOptions {
  readonly transport: ClickTransport;
  /**
   * How long a partial batch waits for company before it is sent. 0 (the default) starts the
   * send at once, so it is done before Lambda's extension lets the environment freeze. Under
   * load clicks still travel 10 to a batch, gathered while the maximum number of sends is in flight.
   */
  readonly flushDelayMs: number;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** A buffered click and its place in arrival order, which a failed send's clicks go back to. */
interface Queued {
  readonly seq: number;
  readonly click: ClickMessage;
}

export class ClickPublisher {
  /** Oldest first. */
  readonly #buffer: Queued[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  /** settled() callers, told whenever a send ends (and with it, maybe, the failing mark changed). */
  readonly #sendEnded = new Set<() => void>();
  #flushTimer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #failing = false;
  #retries = 0;
  #nextSeq = 0;

  constructor(private readonly options: ClickPublisherOptions) {}

  /** Clicks waiting to be sent (not those in flight). */
  get buffered(): number {
    return this.#buffer.length;
  }

  enqueue(click: ClickMessage): void {
    this.#buffer.push({ seq: this.#nextSeq++, click });
    this.#dropOverflow();
    // While the queue fails, the retry timer sends; a send per click would only wait on timeouts.
    if (this.#failing) return;
    if (this.#buffer.length >= this.#batchSize) {
      this.#drain(this.#batchSize);
    } else if (this.options.flushDelayMs === 0) {
      this.#drain(1);
    } else if (this.#flushTimer === undefined) {
      this.#flushTimer = setTimeout(() => {
        this.#flushTimer = undefined;
        this.#drain(1);
      }, this.options.flushDelayMs);
    }
  }

  /**
   * Resolves once nothing is buffered or in flight, once `budgetMs` has passed, or at once while
   * the queue is failing (its clicks wait for a retry; holding the caller would not send them).
   */
  settled(budgetMs: number): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.#failing || (this.#buffer.length === 0 && this.#inFlight.size === 0)) finish();
      };
      const finish = (): void => {
        clearTimeout(timer);
        this.#sendEnded.delete(check);
        resolve();
      };
      const timer = setTimeout(finish, Math.max(0, budgetMs));
      this.#sendEnded.add(check);
      check();
    });
  }

  /**
   * Sends everything buffered now, a failing queue included (one more try: this is the last
   * chance before a shutdown), and resolves once nothing is in flight. Clicks the queue still
   * cannot take stay buffered for the next retry.
   */
  async flush(): Promise<void> {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#failing = false;
    while ((this.#buffer.length > 0 && !this.#failing) || this.#inFlight.size > 0) {
      this.#drain(1);
      await Promise.race(this.#inFlight);
    }
  }

  /** Starts batches while at least `minimumBatch` clicks are buffered, a send slot is free and the queue is not failing. */
  #drain(minimumBatch: number): void {
    while (!this.#failing && this.#buffer.length >= minimumBatch && this.#inFlight.size < MAX_BATCHES_IN_FLIGHT) {
      this.#start(this.#buffer.splice(0, this.#batchSize));
    }
  }

  get #batchSize(): number {
    return this.options.transport.maxBatch;
  }

  #start(batch: readonly Queued[]): void {
    const sending = this.#send(batch).finally(() => {
      this.#inFlight.delete(sending);
      // Whatever waited for a free slot goes now, full batch or not: it has waited long enough.
      this.#drain(1);
      for (const check of this.#sendEnded) check();
    });
    this.#inFlight.add(sending);
  }

  /** Never rejects: clicks the queue refuses are logged (for backfill) and counted; unanswered ones are buffered again. */
  async #send(batch: readonly Queued[]): Promise<void> {
    const notSent = await this.options.transport.send(batch.map(({ click }) => click), SEND_POLICY);
    const unanswered = notSent.filter(({ kind }) => kind === 'unanswered');
    // The queue answered for some click, whatever it said: it is reachable.
    if (unanswered.length < batch.length) this.#reachable();
    const refused = notSent.filter(({ kind }) => kind !== 'unanswered');
    for (const { click, reason } of refused) this.options.logger.error('click not queued', { click, error: reason });
    if (refused.length > 0) this.#count('ClicksNotQueued', refused.length);
    if (unanswered.length === 0) return;
    const kept = new Set(unanswered.map(({ click }) => click));
    this.#unreachable(batch.filter(({ click }) => kept.has(click)), unanswered[0].reason);
  }

  /** The queue answered: it is healthy, and what waited for a retry goes now (the send's end drains). */
  #reachable(): void {
    if (this.#failing) this.options.logger.info('click queue reachable again', { buffered: this.#buffer.length });
    this.#failing = false;
    this.#retries = 0;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  #unreachable(batch: readonly Queued[], reason: string): void {
    // Back where they arrived: at the front, unless older clicks of another failed send are there.
    const newer = this.#buffer.findIndex((queued) => queued.seq > batch[0].seq);
    this.#buffer.splice(newer === -1 ? this.#buffer.length : newer, 0, ...batch);
    this.#dropOverflow();
    if (!this.#failing) {
      this.options.logger.warn('click queue unreachable: clicks kept for a retry', { buffered: this.#buffer.length, error: reason });
    }
    this.#failing = true;
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (this.#retryTimer !== undefined) return;
    const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** this.#retries) * (0.5 + Math.random() / 2);
    this.#retries += 1;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      // One batch probes the queue; when it gets an answer, the rest follows.
      if (this.#buffer.length > 0 && this.#inFlight.size < MAX_BATCHES_IN_FLIGHT) this.#start(this.#buffer.splice(0, this.#batchSize));
    }, delay);
    // A retry never keeps a process alive on its own (Lambda's runtime does; a local stop flushes).
    this.#retryTimer.unref();
  }

  #dropOverflow(): void {
    const overflow = this.#buffer.length - MAX_BUFFERED_CLICKS;
    if (overflow <= 0) return;
    for (const { click } of this.#buffer.splice(0, overflow)) {
      // The click's own log line (written by the redirect) is what a backfill replays.
      this.options.logger.warn('click dropped: publisher buffer full', { eventId: click.eventId });
    }
    this.#count('ClicksDropped', overflow);
  }

  #count(name: string, value: number): void {
    // Published at once: the publisher outlives the invocation that enqueued the click.
    this.options.metrics.singleMetric().addMetric(name, MetricUnit.Count, value);
  }
}
