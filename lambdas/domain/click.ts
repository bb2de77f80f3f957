/** The click as it leaves the redirect: nothing in it identifies a person on its own. */
export interface ClickMessage {
  readonly v: 1;
  readonly eventId: string;
  readonly code: string;
  /** ISO 8601 UTC with milliseconds, server time at the redirect. */
  readonly ts: string;
  /** Hex HMAC-SHA256 of client IP and User-Agent under the current period's secret salt. */
  readonly visitor: string;
  /** Network address of the client's /24 (IPv4) or /48 (IPv6), for GeoIP only. */
  readonly ipPrefix: string | null;
  readonly userAgent: string;
  readonly referrerHost: string | null;
  readonly method: 'GET' | 'HEAD';
  /** From `Purpose`/`Sec-Purpose`/`X-Purpose`/`X-Moz` headers: prefetches and previews are not human clicks. */
  readonly purpose: string | null;
}

export type BotReason = 'head-request' | 'prefetch' | 'link-preview' | 'user-agent' | 'empty-user-agent';

/** The click as stored in the raw clicks table. */
export interface RawClick {
  readonly code: string;
  /** Sort key: `${ts}#${eventId}`, so a redelivered message maps to the same item. */
  readonly clickKey: string;
  readonly eventId: string;
  readonly ts: string;
  readonly visitor: string;
  readonly country: string;
  readonly referrer: string;
  readonly device: string;
  readonly browser: string;
  readonly os: string;
  readonly bot: boolean;
  readonly botReason: BotReason | null;
  /** Epoch seconds: click time + 90 days (DynamoDB TTL). */
  readonly expiresAt: number;
}
