/**
 * API Gateway's throttle: a token bucket holding up to `burstLimit` requests, refilled at `rateLimit`
 * per second, a request taking one token; none left is a 429
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html).
 * AWS applies it on a best-effort basis and may let a few more through; locally it is exact.
 */
export interface ThrottleLimits {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export class TokenBucket {
  #tokens: number;
  #refilledAtMs: number;

  constructor(
    readonly limits: ThrottleLimits,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.#tokens = limits.burstLimit;
    this.#refilledAtMs = clock();
  }

  /** Takes a token: false when the bucket is empty (the request is throttled). */
  take(): boolean {
    const now = this.clock();
    this.#tokens = Math.min(this.limits.burstLimit, this.#tokens + ((now - this.#refilledAtMs) / 1000) * this.limits.rateLimit);
    this.#refilledAtMs = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
