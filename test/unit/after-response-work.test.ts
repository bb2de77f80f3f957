/**
 * The hold rules of the after-response extension (AfterResponseWork) on real timers: which side
 * arrives first, the budget settle() gets, the two bounds, and entries nobody waits for.
 */
import { AfterResponseWork, DEADLINE_MARGIN_MS, HOLD_AFTER_RESPONSE_MS } from '../../lambdas/shared/after-response-extension';

/** Timers may fire a little early or late; the bounds below are checked to this tolerance. */
const SLACK_MS = 20;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs a hold and reports how long it took and the budgets settle() was given. */
async function timedHold(work: AfterResponseWork, requestId: string, deadlineInMs: number, settle = async (): Promise<void> => undefined) {
  const budgets: number[] = [];
  const started = Date.now();
  await work.hold(requestId, started + deadlineInMs, async (budgetMs) => {
    budgets.push(budgetMs);
    await settle();
  });
  return { tookMs: Date.now() - started, budgets };
}

describe('AfterResponseWork', () => {
  it('ends the hold once the work is done and settle resolved, whichever side came first', async () => {
    const work = new AfterResponseWork();
    work.done('early');
    const early = await timedHold(work, 'early', 5_000);
    expect(early.tookMs).toBeLessThan(50);
    expect(early.budgets).toHaveLength(1);
    expect(early.budgets[0]).toBeGreaterThan(HOLD_AFTER_RESPONSE_MS - 50);
    expect(early.budgets[0]).toBeLessThanOrEqual(HOLD_AFTER_RESPONSE_MS);

    const late = timedHold(work, 'late', 5_000, () => sleep(100));
    await sleep(100);
    work.done('late');
    const { tookMs, budgets } = await late;
    expect(tookMs).toBeGreaterThanOrEqual(200 - SLACK_MS);
    expect(tookMs).toBeLessThan(400);
    expect(budgets[0]).toBeGreaterThan(HOLD_AFTER_RESPONSE_MS - SLACK_MS);
    expect(budgets[0]).toBeLessThanOrEqual(HOLD_AFTER_RESPONSE_MS);
  });

  it(`ends ${DEADLINE_MARGIN_MS} ms before the deadline when the handler never marked its work done, without settling`, async () => {
    const work = new AfterResponseWork();
    const { tookMs, budgets } = await timedHold(work, 'silent', DEADLINE_MARGIN_MS + 150);
    expect(tookMs).toBeGreaterThanOrEqual(150 - SLACK_MS);
    expect(tookMs).toBeLessThan(400);
    expect(budgets).toEqual([]);
  });

  it(`waits for unfinished work (a slow salt) until ${DEADLINE_MARGIN_MS} ms before the deadline, and settle gets only what is left`, async () => {
    const work = new AfterResponseWork();
    const slow = await timedHold(work, 'slow', DEADLINE_MARGIN_MS + 1_500);
    expect(slow.tookMs).toBeGreaterThanOrEqual(1_500 - SLACK_MS);
    expect(slow.tookMs).toBeLessThan(1_500 + 300);
    expect(slow.budgets).toEqual([]);

    const salted = timedHold(work, 'salted-late', DEADLINE_MARGIN_MS + 5_000);
    await sleep(1_200);
    work.done('salted-late');
    // Done after more than HOLD_AFTER_RESPONSE_MS: still held for, and the send gets its whole budget.
    expect((await salted).budgets[0]).toBeGreaterThan(HOLD_AFTER_RESPONSE_MS - SLACK_MS);

    work.done('near-deadline');
    const near = await timedHold(work, 'near-deadline', DEADLINE_MARGIN_MS + 100);
    expect(near.budgets[0]).toBeLessThanOrEqual(100);
  });

  it('forgets requests nobody held for, oldest first, so a process without the extension keeps no more than a few', async () => {
    const work = new AfterResponseWork();
    const ids = Array.from({ length: 17 }, (_, index) => `request-${index}`);
    for (const id of ids) {
      work.done(id);
    }
    // The oldest entry is gone: a hold for it waits as for a request whose handler never ran.
    expect((await timedHold(work, ids[0], DEADLINE_MARGIN_MS + 100)).budgets).toEqual([]);
    expect((await timedHold(work, ids[16], 5_000)).budgets).toHaveLength(1);
  });
});
