import { randomBytes, randomUUID } from 'node:crypto';
import type { ClickMessage } from '../lambdas/domain/click';
import { networkPrefix } from '../lambdas/domain/client-ip';
import { referrerHost } from '../lambdas/domain/referrer';
import { visitorHash } from '../lambdas/domain/visitor';
import { syntheticVisits } from '../test/fixtures/synthetic-traffic';

/** Queue messages as the redirect would send them for the synthetic visits. */
export function syntheticClickMessages(count: number): ClickMessage[] {
  const salt = randomBytes(32);
  const ts = new Date().toISOString();
  return syntheticVisits(count).map((visit) => ({
    v: 1,
    eventId: randomUUID(),
    code: 'bench',
    ts,
    visitor: visitorHash(salt, visit.ip, visit.userAgent),
    ipPrefix: networkPrefix(visit.ip),
    userAgent: visit.userAgent,
    referrerHost: referrerHost(visit.referrer ?? undefined),
    method: visit.method,
    purpose: null,
  }));
}
