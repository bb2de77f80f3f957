import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSMessageAttribute, SQSRecord, SQSRecordAttributes } from 'aws-lambda';
import type { LocalFunction, Stoppable } from '../types';
import { failedItemIdentifiers } from './batch-item-failures';
import { backoffMs as retryBackoffMs, describeError, sleep } from '../retry';

export interface SqsPollerOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly fn: LocalFunction;
  readonly batchSize: number;
  readonly maxBatchingWindowSeconds: number;
  readonly reportBatchItemFailures: boolean;
  readonly maxConcurrency: number;
  /**
   * Lambda leaves a failed message invisible until its visibility timeout expires (6x the
   * function timeout, minutes). Locally we make it visible again after this many seconds.
   */
  readonly retryDelaySeconds: number;
  readonly region: string;
}

const LONG_POLL_SECONDS = 20;
const SQS_MAX_MESSAGES_PER_CALL = 10;
const BACKOFF_FIRST_MS = 200;
const DRAIN_CHECK_MS = 50;

const backoffMs = (failures: number): number => retryBackoffMs(failures, BACKOFF_FIRST_MS);

/**
 * Lambda's SQS event source mapping, played locally: long-polls the queue, gathers batches,
 * invokes the function, deletes what succeeded. Retries and the DLQ come from the queue itself
 * (its RedrivePolicy, which fauxqs applies on receive, like SQS).
 */
export class SqsPoller implements Stoppable {
  private running = false;
  private loop?: Promise<void>;
  private abort = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  /** Messages received and not yet handed to an invocation. */
  private gathering = 0;

  constructor(private readonly options: SqsPollerOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.loop = this.pollLoop();
  }

  /** Stops receiving, then waits for the invocations under way (and their deletes) to end. */
  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.loop;
    await Promise.all(this.inFlight);
  }

  /** True once the queue holds no visible, delayed or in-flight message and no invocation runs. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let sqsFailures = 0;
    while (Date.now() < deadline) {
      try {
        if (this.inFlight.size === 0 && this.gathering === 0 && (await this.queueIsEmpty())) return true;
      } catch (error) {
        sqsFailures += 1;
        console.error(`[sqs-poller ${this.options.fn.name}] could not read the queue's attributes:`, error);
      }
      await sleep(sqsFailures > 0 ? backoffMs(sqsFailures) : DRAIN_CHECK_MS);
    }
    return false;
  }

  private async queueIsEmpty(): Promise<boolean> {
    const { Attributes = {} } = await this.options.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.options.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }),
    );
    return Object.values(Attributes).every((count) => count === '0');
  }

  private async pollLoop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      if (this.inFlight.size >= this.options.maxConcurrency) {
        await Promise.race(this.inFlight);
        continue;
      }
      try {
        const batch = await this.gatherBatch();
        failures = 0;
        if (batch.length > 0) this.dispatch(batch);
      } catch (error) {
        if (!this.running) break;
        failures += 1;
        console.error(`[sqs-poller ${this.options.fn.name}] receiving failed, retrying in ${backoffMs(failures)} ms: ${describeError(error)}`);
        await sleep(backoffMs(failures));
      }
    }
  }

  /**
   * Long-polls until a first message arrives, then keeps receiving until the batch is full or the
   * batching window (counted from the first message) has passed.
   */
  private async gatherBatch(): Promise<Message[]> {
    const { batchSize, maxBatchingWindowSeconds } = this.options;
    const batch: Message[] = [];
    let windowEnd = 0;
    try {
      while (this.running && batch.length < batchSize) {
        const waitMs = batch.length === 0 ? LONG_POLL_SECONDS * 1000 : windowEnd - Date.now();
        if (waitMs <= 0) break;
        const received = await this.receive(Math.min(batchSize - batch.length, SQS_MAX_MESSAGES_PER_CALL), Math.floor(waitMs / 1000));
        if (received.length > 0 && batch.length === 0) windowEnd = Date.now() + maxBatchingWindowSeconds * 1000;
        batch.push(...received);
        this.gathering = batch.length;
        // A short poll (under a second left) that found nothing: wait a little instead of spinning.
        if (received.length === 0 && batch.length > 0 && waitMs < 1000) await sleep(Math.min(waitMs, 100));
      }
    } catch (error) {
      // Whatever was already received is still handed to the function; the error is raised next time.
      if (batch.length === 0) throw error;
      if (this.running) console.error(`[sqs-poller ${this.options.fn.name}] receiving failed, invoking with the messages gathered so far:`, error);
    }
    return batch;
  }

  private async receive(maxMessages: number, waitSeconds: number): Promise<Message[]> {
    const { Messages = [] } = await this.options.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.options.queueUrl,
        MaxNumberOfMessages: maxMessages,
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: this.abort.signal },
    );
    return Messages;
  }

  private dispatch(batch: readonly Message[]): void {
    this.gathering = 0;
    const invocation = this.invokeAndSettle(batch).catch((error: unknown) =>
      console.error(`[sqs-poller ${this.options.fn.name}] settling a batch failed:`, error),
    );
    this.inFlight.add(invocation);
    void invocation.finally(() => this.inFlight.delete(invocation));
  }

  private async invokeAndSettle(batch: readonly Message[]): Promise<void> {
    const records = batch.map((message) => this.toRecord(message));
    const event: SQSEvent = { Records: records };
    let failedIds: ReadonlySet<string>;
    try {
      const result = await this.options.fn.invoke(event);
      const allIds = new Set(records.map((record) => record.messageId));
      const reported = this.options.reportBatchItemFailures ? failedItemIdentifiers(result, allIds) : new Set<string>();
      if (reported === null) {
        console.error(`[sqs-poller ${this.options.fn.name}] invalid batchItemFailures in ${JSON.stringify(result)}: the whole batch fails, as on Lambda`);
      }
      failedIds = reported ?? allIds;
    } catch (error) {
      console.error(`[sqs-poller ${this.options.fn.name}] invocation failed, the whole batch of ${records.length} will be retried:`, error);
      failedIds = new Set(records.map((record) => record.messageId));
    }
    const succeeded = records.filter((record) => !failedIds.has(record.messageId));
    const failed = records.filter((record) => failedIds.has(record.messageId));
    await Promise.all([this.deleteMessages(succeeded), this.retryLater(failed)]);
  }

  private toRecord(message: Message): SQSRecord {
    const { MessageId, ReceiptHandle, Body, MD5OfBody, MD5OfMessageAttributes, Attributes = {}, MessageAttributes = {} } = message;
    if (MessageId === undefined || ReceiptHandle === undefined) throw new Error('SQS returned a message without id or receipt handle');
    return {
      messageId: MessageId,
      receiptHandle: ReceiptHandle,
      body: Body ?? '',
      attributes: Attributes as unknown as SQSRecordAttributes,
      messageAttributes: Object.fromEntries(
        Object.entries(MessageAttributes).map(([name, value]) => [name, toLambdaMessageAttribute(value)]),
      ),
      md5OfBody: MD5OfBody ?? '',
      ...(MD5OfMessageAttributes === undefined ? {} : { md5OfMessageAttributes: MD5OfMessageAttributes }),
      eventSource: 'aws:sqs',
      eventSourceARN: this.options.queueArn,
      awsRegion: this.options.region,
    };
  }

  private async deleteMessages(records: readonly SQSRecord[]): Promise<void> {
    await this.inChunksWithRetry(records, 'deleting', async (entries) => {
      const { Failed = [] } = await this.options.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: entries.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })),
        }),
      );
      // A receipt handle that expired meanwhile cannot be deleted: the message comes back, as on AWS.
      for (const failure of Failed) console.warn(`[sqs-poller ${this.options.fn.name}] could not delete a message:`, failure);
    });
  }

  private async retryLater(records: readonly SQSRecord[]): Promise<void> {
    await this.inChunksWithRetry(records, 'changing visibility', async (entries) => {
      await this.options.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: entries.map((record, index) => ({
            Id: String(index),
            ReceiptHandle: record.receiptHandle,
            VisibilityTimeout: this.options.retryDelaySeconds,
          })),
        }),
      );
    });
  }

  private async inChunksWithRetry(
    records: readonly SQSRecord[],
    what: string,
    send: (entries: readonly SQSRecord[]) => Promise<void>,
  ): Promise<void> {
    const maxAttempts = 5;
    for (let start = 0; start < records.length; start += SQS_MAX_MESSAGES_PER_CALL) {
      const entries = records.slice(start, start + SQS_MAX_MESSAGES_PER_CALL);
      for (let attempt = 1; ; attempt += 1) {
        try {
          await send(entries);
          break;
        } catch (error) {
          if (attempt === maxAttempts) {
            // The messages reappear after their visibility timeout and are processed again.
            console.error(`[sqs-poller ${this.options.fn.name}] ${what} failed ${maxAttempts} times, giving up:`, error);
            break;
          }
          await sleep(backoffMs(attempt));
        }
      }
    }
  }
}

function toLambdaMessageAttribute(value: MessageAttributeValue): SQSMessageAttribute {
  const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
  return {
    ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
    ...(value.BinaryValue === undefined ? {} : { binaryValue: base64(value.BinaryValue) }),
    stringListValues: value.StringListValues ?? [],
    binaryListValues: (value.BinaryListValues ?? []).map(base64),
    dataType: value.DataType ?? 'String',
  };
}
