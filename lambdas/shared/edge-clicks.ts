/**
 * From an edge click read in a CloudFront log (a real-time record, enrich-edge.ts; a standard-log line,
 * backfill-edge-logs.ts) to the click message the origin redirect would have sent (domain/click.ts,
 * clickMessageOf): the link's owner from the links table, the visitor key under the salt of the click's
 * period. Both consumers make it here, so a request both logs hold gives the same message.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { clickMessageOf, type ClickMessage } from '../domain/click';
import type { EdgeClick, EdgeLogSkipReason } from '../domain/edge-log';
import type { EdgeEnrichConfig } from './config';
import { getOrCreate } from './get-or-create';
import { followedLinks } from './link-lookup';
import { SaltStore } from './salt-store';

/** Why a log entry gave no click: the entry's own reasons, and the link's. */
export type EdgeRecordSkipReason =
  | EdgeLogSkipReason
  /** No live link has the code: unknown, deleted or disabled since the store was last written. */
  | 'unknown-link'
  /** The link has no owner to count its clicks for (an item written by hand); the origin does not record these either. */
  | 'link-without-owner';

const saltStores = new Map<string, SaltStore>();

// Failing rather than using a process-local salt: the entry is retried, and a local salt would key the visitor apart from every other instance.
const saltStore = (config: EdgeEnrichConfig, logger: Logger): SaltStore =>
  getOrCreate(saltStores, config.saltsTableName, () => new SaltStore(config.saltsTableName, logger, 'reject'));

/** The click's message, or why there is none; rejects when the links or salts table cannot be read. */
export async function edgeClickMessage(click: EdgeClick, config: EdgeEnrichConfig, logger: Logger): Promise<ClickMessage | { readonly skip: EdgeRecordSkipReason }> {
  const link = await followedLinks(config).get(click.code);
  if (link === null) return { skip: 'unknown-link' };
  if (link.owner === null) return { skip: 'link-without-owner' };
  // The salt of the period the click happened in, which the origin would have used then.
  const salt = await saltStore(config, logger).current(click.at, config.saltPeriod);
  return clickMessageOf({ ...click, owner: link.owner }, salt);
}

/** An invocation's skipped log entries by reason, published as counts: an entry's content holds the client's address. */
export class EdgeSkips {
  readonly #counts = new Map<EdgeRecordSkipReason, number>();

  add(reason: EdgeRecordSkipReason): void {
    this.#counts.set(reason, (this.#counts.get(reason) ?? 0) + 1);
  }

  /** The total as `totalMetric`, the unknown links' as EdgeClicksOfUnknownLinks, and one log line of counts when any. */
  publish(metrics: Metrics, logger: Logger, totalMetric: string): void {
    const total = [...this.#counts.values()].reduce((sum, count) => sum + count, 0);
    metrics.addMetric(totalMetric, MetricUnit.Count, total);
    metrics.addMetric('EdgeClicksOfUnknownLinks', MetricUnit.Count, this.#counts.get('unknown-link') ?? 0);
    if (total > 0) logger.info('edge log entries skipped', { skipped: Object.fromEntries(this.#counts) });
  }
}
