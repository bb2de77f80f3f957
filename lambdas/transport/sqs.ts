/**
 * The click queue as a ClickTransport: one SendMessageBatch per send, at most 10 entries (SQS's limit;
 * ten click bodies of a few KB each stay far below its 256 KiB), each the click's SQS-safe JSON.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type BatchResultErrorEntry, SendMessageBatchCommand, SQSServiceException } from '@aws-sdk/client-sqs';
import { clickMessageBody, type ClickMessage } from '../domain/click';
import { sqsClient } from '../shared/clients/sqs';
import { errorText } from '../shared/error-text';
import type { ClickTransport, NotSent, SendPolicy } from './click-transport';

const MAX_ENTRIES = 10;

/**
 * The queue will not take the request however often it is sent: it answered with a client error
 * other than throttling, or no request could be made (no credentials, no region).
 */
function isRefusal(error: unknown): boolean {
  if (error instanceof SQSServiceException) {
    return (
      error.$fault === 'client' &&
      !error.$retryable &&
      error.$metadata.httpStatusCode !== 429 &&
      !/throttl|overlimit|toomanyrequests|timeout|unavailable/i.test(error.name)
    );
  }
  return error instanceof Error && (error.name === 'CredentialsProviderError' || /region is missing/i.test(error.message));
}

/** A click still to send, with why its last try failed. */
interface Pending extends NotSent {
  readonly id: string;
}

export class SqsClickTransport implements ClickTransport {
  readonly maxBatch = MAX_ENTRIES;

  constructor(private readonly queueUrl: string) {}

  async send(clicks: readonly ClickMessage[], policy: SendPolicy): Promise<NotSent[]> {
    const notSent: NotSent[] = [];
    let pending: Pending[] = clicks.map((click, index) => ({ id: String(index), click, kind: 'unanswered', reason: 'not sent: sending was stopped' }));
    const stopped = (): boolean => policy.signal?.aborted === true;
    for (let attempt = 1; pending.length > 0 && attempt <= policy.attempts && !stopped(); attempt++) {
      const backoff = attempt > 1 ? policy.backoffMs?.(attempt) : undefined;
      if (backoff !== undefined) {
        await sleep(backoff);
        if (stopped()) break;
      }
      let failed: readonly BatchResultErrorEntry[];
      try {
        ({ Failed: failed = [] } = await sqsClient().send(
          new SendMessageBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: pending.map(({ id, click }) => ({ Id: id, MessageBody: clickMessageBody(click) })),
          }),
        ));
      } catch (error) {
        const kind = isRefusal(error) ? 'refused' : 'unanswered';
        pending = pending.map((entry) => ({ ...entry, kind, reason: errorText(error) }));
        if (kind === 'refused' || !policy.retryUnanswered) break;
        continue;
      }
      const failures = new Map(failed.map((failure) => [failure.Id, failure]));
      const retry: Pending[] = [];
      for (const entry of pending) {
        const failure = failures.get(entry.id);
        if (failure === undefined) continue;
        const reason = `${failure.Code ?? 'error'}: ${failure.Message ?? ''}`;
        // The sender's fault (e.g. a body the queue refuses) fails again the same way.
        if (failure.SenderFault === true) notSent.push({ click: entry.click, kind: 'rejected', reason });
        else retry.push({ ...entry, kind: 'failed', reason });
      }
      pending = retry;
    }
    return [...notSent, ...pending.map(({ click, kind, reason }) => ({ click, kind, reason }))];
  }
}
