/**
 * How click messages travel from the redirect (and the backfill) to the enrich function. Callers hold
 * their clicks, decide how many sends run at once and what to do with a click that was not sent; a
 * transport encodes, sends a batch and tries again the clicks it failed, as the caller's policy says.
 */
import type { ClickMessage } from '../domain/click';

/**
 * Why a click was not sent:
 * - `unanswered`: no answer to the last try (unreachable, timed out, throttled, a fault on its side),
 *   or the caller stopped the retries: a later try may pass;
 * - `failed`: the transport took the request but not this click, on every try: a later try may pass;
 * - `refused`: it refused the request as a whole (a missing queue, no permission, no credentials or
 *   region): no retry passes, for any click;
 * - `rejected`: it refused this click for what it is (the sender's fault): no retry passes.
 */
export type NotSentKind = 'unanswered' | 'failed' | 'refused' | 'rejected';

export interface NotSent {
  /** The click as it was given to send. */
  readonly click: ClickMessage;
  readonly kind: NotSentKind;
  /** The transport's own words, for logs. */
  readonly reason: string;
}

export interface SendPolicy {
  /** Tries of each click, the first included. */
  readonly attempts: number;
  /** Also try a request that got no answer again (else its clicks come back `unanswered` at once). */
  readonly retryUnanswered: boolean;
  /** Milliseconds to wait before try n (n ≥ 2); none when absent. */
  readonly backoffMs?: (attempt: number) => number;
  /** Stops the retries: what is still unsent comes back `unanswered`. */
  readonly signal?: AbortSignal;
}

export interface ClickTransport {
  /** Most clicks one send takes. */
  readonly maxBatch: number;
  /** Sends up to maxBatch clicks; resolves with those not sent, none when all were. Never rejects. */
  send(clicks: readonly ClickMessage[], policy: SendPolicy): Promise<NotSent[]>;
}
