/**
 * Buffered SQS publisher for the redirect: enqueue() never waits on the network, so the
 * redirect never waits on analytics. Every click is also logged by the redirect; that log
 * line is the backfill source for clicks this publisher drops or fails to send.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { clickMessageBody, type ClickMessage } from '../domain/click';
import { sqsClient } from './aws-clients';

/** SendMessageBatch accepts at most 10 entries. */
const BATCH_SIZE = 10;
/** Backpressure: past this many waiting clicks the oldest are dropped (recent data is worth more). */
export const MAX_BUFFERED_CLICKS = 10_000;
/** Bounds concurrent sends so a slow queue fills the buffer instead of opening sockets without end. */
const MAX_BATCHES_IN_FLIGHT = 8;

export interface ClickPublisherOptions {
  readonly queueUrl: string;
  /**
   * How long a partial batch waits for company before it is sent. 0 (the default) starts the
   * send at once: Lambda freezes a container as soon as the response is out, so a timer would
   * rarely fire before the next invocation. Under load clicks still travel 10 to a batch,
   * gathered while the maximum number of sends is in flight.
   */
  readonly flushDelayMs: number;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export class ClickPublisher {
  readonly #buffer: ClickMessage[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ClickPublisherOptions) {}

  enqueue(click: ClickMessage): void {
    if (this.#buffer.length >= MAX_BUFFERED_CLICKS) {
      const dropped = this.#buffer.shift();
      // The click's own log line (written by the redirect) is what a backfill replays.
      this.options.logger.warn('click dropped: publisher buffer full', { eventId: dropped?.eventId });
      this.#count('ClicksDropped', 1);
    }
    this.#buffer.push(click);
    if (this.#buffer.length >= BATCH_SIZE) {
      this.#drain(BATCH_SIZE);
    } else if (this.options.flushDelayMs === 0) {
      this.#drain(1);
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#drain(1);
      }, this.options.flushDelayMs);
    }
  }

  /** Sends everything buffered and resolves once nothing is buffered or in flight. */
  async flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    while (this.#buffer.length > 0 || this.#inFlight.size > 0) {
      this.#drain(1);
      await Promise.race(this.#inFlight);
    }
  }

  /** Starts batches while at least `minimumBatch` clicks are buffered and a send slot is free. */
  #drain(minimumBatch: number): void {
    while (this.#buffer.length >= minimumBatch && this.#inFlight.size < MAX_BATCHES_IN_FLIGHT) {
      this.#start(this.#buffer.splice(0, BATCH_SIZE));
    }
  }

  #start(batch: readonly ClickMessage[]): void {
    const sending = this.#send(batch).finally(() => {
      this.#inFlight.delete(sending);
      // Whatever waited for a free slot goes now, full batch or not: it has waited long enough.
      this.#drain(1);
    });
    this.#inFlight.add(sending);
  }

  /** Never rejects: clicks that cannot be sent are logged (for backfill) and counted. */
  async #send(batch: readonly ClickMessage[]): Promise<void> {
    let pending = batch.map((click, index): [string, ClickMessage] => [String(index), click]);
    let lastError = '';
    // The SDK already retries whole requests; entries the queue reports as failed get one more try.
    for (let attempt = 1; attempt <= 2 && pending.length > 0; attempt++) {
      try {
        const { Failed = [] } = await sqsClient().send(
          new SendMessageBatchCommand({ QueueUrl: this.options.queueUrl, Entries: pending.map(toEntry) }),
        );
        const failedIds = new Set(Failed.map((failure) => failure.Id));
        lastError = Failed.map((failure) => `${failure.Code ?? 'error'}: ${failure.Message ?? ''}`).join('; ');
        pending = pending.filter(([id]) => failedIds.has(id));
      } catch (error) {
        lastError = (error as Error).message;
        break;
      }
    }
    if (pending.length === 0) return;
    for (const [, click] of pending) {
      this.options.logger.error('click not queued', { click, error: lastError });
    }
    this.#count('ClicksNotQueued', pending.length);
  }

  #count(name: string, value: number): void {
    // Published at once: the publisher outlives the invocation that enqueued the click.
    this.options.metrics.singleMetric().addMetric(name, MetricUnit.Count, value);
  }
}

function toEntry([id, click]: [string, ClickMessage]): SendMessageBatchRequestEntry {
  return { Id: id, MessageBody: clickMessageBody(click) };
}
