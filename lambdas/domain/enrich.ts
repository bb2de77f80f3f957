/** Turns a click message into the stored raw click: bot flag, device/browser/os, country, referrer. */
import { BoundedCache } from './bounded-cache';
import { requestBotReason, userAgentBotReason } from './bots';
import { addDaysEpochSeconds, RAW_RETENTION_DAYS } from './buckets';
import { linkShardOf, type BotReason, type ClickMessage, type RawClick } from './click';
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

/** Everything enrichment reads from a User-Agent: a function of the string alone. */
export interface UserAgentFacts {
  readonly device: string;
  readonly browser: string;
  readonly os: string;
  readonly botReason: BotReason | null;
}

export function userAgentFacts(userAgent: string): UserAgentFacts {
  return { ...describeUserAgent(userAgent), botReason: userAgentBotReason(userAgent) };
}

/** Where enrichment gets the facts that depend only on the User-Agent or the network: computed, or cached. */
interface FactSources {
  readonly userAgent: (userAgent: string) => UserAgentFacts;
  readonly country: (ipPrefix: string | null) => string;
}

function enrichWith(message: ClickMessage, sources: FactSources): RawClick {
  const { botReason: userAgentReason, ...described } = sources.userAgent(message.userAgent);
  const reason = requestBotReason(message) ?? userAgentReason;
  return {
    linkShard: linkShardOf(message.code, message.eventId),
    code: message.code,
    owner: message.owner,
    clickKey: `${message.ts}#${message.eventId}`,
    eventId: message.eventId,
    ts: message.ts,
    visitor: message.visitor,
    country: sources.country(message.ipPrefix),
    referrer: normaliseReferrer(message.referrerHost),
    ...described,
    bot: reason !== null,
    botReason: reason,
    expiresAt: addDaysEpochSeconds(new Date(message.ts), RAW_RETENTION_DAYS),
  };
}

/** Enriches one click, computing everything afresh (the reference the cached Enricher must agree with). */
export function enrichClick(message: ClickMessage, countryLookup: CountryLookup): RawClick {
  return enrichWith(message, { userAgent: userAgentFacts, country: (ipPrefix) => countryOf(ipPrefix, countryLookup) });
}

/**
 * Distinct User-Agents and networks remembered by an Enricher. Real traffic repeats both heavily
 * (a few hundred browser builds carry most clicks); past this a flood of distinct ones evicts the
 * least recent, and costs only the uncached speed.
 */
export const ENRICHMENT_CACHE_ENTRIES = 10_000;

/** Enriches clicks as enrichClick does, parsing each distinct User-Agent and looking up each network once. */
export class Enricher {
  readonly #userAgents: BoundedCache<UserAgentFacts>;
  readonly #countries: BoundedCache<string>;
  readonly #sources: FactSources;

  constructor(countryLookup: CountryLookup, capacity = ENRICHMENT_CACHE_ENTRIES) {
    this.#userAgents = new BoundedCache(capacity);
    this.#countries = new BoundedCache(capacity);
    const lookUp = (ipPrefix: string): string => countryOf(ipPrefix, countryLookup);
    this.#sources = {
      userAgent: (userAgent) => this.#userAgents.get(userAgent, userAgentFacts),
      country: (ipPrefix) => (ipPrefix === null ? UNKNOWN : this.#countries.get(ipPrefix, lookUp)),
    };
  }

  enrich(message: ClickMessage): RawClick {
    return enrichWith(message, this.#sources);
  }
}
