import { randomBytes, randomUUID } from 'node:crypto';
import type { ClickMessage } from '../lambdas/domain/click';
import { networkPrefix } from '../lambdas/domain/client-ip';
import { referrerHost } from '../lambdas/domain/referrer';
import { visitorHash } from '../lambdas/domain/visitor';
import { seededRandom, syntheticVisits } from '../test/fixtures/synthetic-traffic';

export interface SyntheticClickOptions {
  /** The link of each click, called once per click in order; default 'bench'. */
  readonly codeOf?: (index: number) => string;
  /** Owner of every click's link; default 'bench'. */
  readonly owner?: string;
  /** Time of each click; default now. */
  readonly tsOf?: (index: number) => Date;
  /** How many distinct visitors the clicks are drawn from (at random); default a new visitor per click. */
  readonly visitors?: number;
  readonly seed?: number;
}

/** Queue messages as the redirect would send them for synthetic visits. */
export function syntheticClickMessages(count: number, options: SyntheticClickOptions = {}): ClickMessage[] {
  const { codeOf = () => 'bench', owner = 'bench', visitors, seed = 1 } = options;
  const salt = randomBytes(32);
  const now = new Date();
  const visits = syntheticVisits(visitors ?? count, seed).map((visit) => ({
    ...visit,
    // One HMAC per visitor, not per click.
    visitor: visitorHash(salt, visit.ip, visit.userAgent),
  }));
  const random = seededRandom(seed + 1);
  return Array.from({ length: count }, (_, index) => {
    const visit = visits[visitors === undefined ? index : Math.floor(random() * visits.length)];
    return {
      v: 1,
      eventId: randomUUID(),
      code: codeOf(index),
      owner,
      ts: (options.tsOf?.(index) ?? now).toISOString(),
      visitor: visit.visitor,
      ipPrefix: networkPrefix(visit.ip),
      userAgent: visit.userAgent,
      referrerHost: referrerHost(visit.referrer ?? undefined),
      method: visit.method,
      purpose: null,
    };
  });
}

/** Draws ranks 0..n-1 with Zipf(s) popularity: rank k has weight 1 / (k + 1)^s. */
export function zipfSampler(n: number, s: number, random: () => number): () => number {
  const cumulative: number[] = [];
  let total = 0;
  for (let rank = 1; rank <= n; rank++) {
    total += 1 / rank ** s;
    cumulative.push(total);
  }
  return () => {
    const target = random() * total;
    let low = 0;
    let high = n - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (cumulative[middle] <= target) low = middle + 1;
      else high = middle;
    }
    return low;
  };
}
