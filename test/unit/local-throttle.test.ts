import { TokenBucket } from '../../local/throttle';

describe("the local front's throttle (API Gateway's token bucket)", () => {
  let nowMs = 0;
  const clock = (): number => nowMs;

  it('lets a burst through, then the steady rate, and nothing more', () => {
    nowMs = 0;
    const bucket = new TokenBucket({ rateLimit: 10, burstLimit: 5 }, clock);
    expect(Array.from({ length: 6 }, () => bucket.take())).toEqual([true, true, true, true, true, false]);
    nowMs += 100; // one token back at 10 per second
    expect([bucket.take(), bucket.take()]).toEqual([true, false]);
    nowMs += 10_000; // refills only up to the burst
    expect(Array.from({ length: 6 }, () => bucket.take()).filter(Boolean)).toHaveLength(5);
  });

  it('throttles everything with a burst of 0, as API Gateway does', () => {
    nowMs = 0;
    const bucket = new TokenBucket({ rateLimit: 100, burstLimit: 0 }, clock);
    nowMs += 1_000;
    expect(bucket.take()).toBe(false);
  });
});
