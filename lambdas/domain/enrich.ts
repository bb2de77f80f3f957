/** Turns a click message into the stored raw click: bot flag, device/browser/os, country, referrer. */
import { detectBot } from './bots';
import { addDaysEpochSeconds, RAW_RETENTION_DAYS } from './buckets';
import { linkShardOf, type ClickMessage, type RawClick } from './click';
import { normaliseReferrer } from './referrer';
import { describeUserAgent, UNKNOWN } from './user-agent';

/** ISO country code of a network prefix, or null when the database does not know it. */
export type CountryLookup = (ipPrefix: string) => string | null;

function countryOf(ipPrefix: string | null, lookup: CountryLookup): string {
  if (ipPrefix === null) return UNKNOWN;
  try {
    return lookup(ipPrefix)?.toUpperCase() ?? UNKNOWN;
  } catch {
    // A lookup failure costs the click its country, never the click itself.
    return UNKNOWN;
  }
}

export function enrichClick(message: ClickMessage, countryLookup: CountryLookup): RawClick {
  const { bot, reason } = detectBot({ userAgent: message.userAgent, method: message.method, purpose: message.purpose });
  return {
    linkShard: linkShardOf(message.code, message.eventId),
    code: message.code,
    owner: message.owner,
    clickKey: `${message.ts}#${message.eventId}`,
    eventId: message.eventId,
    ts: message.ts,
    visitor: message.visitor,
    country: countryOf(message.ipPrefix, countryLookup),
    referrer: normaliseReferrer(message.referrerHost),
    ...describeUserAgent(message.userAgent),
    bot,
    botReason: reason,
    expiresAt: addDaysEpochSeconds(new Date(message.ts), RAW_RETENTION_DAYS),
  };
}
