import { setTimeout as sleep } from 'node:timers/promises';

export interface RateLimit {
  /** Requests allowed in any window. */
  readonly limit: number;
  readonly windowMs: number;
}

/** ISC's published limit: 100 requests per 10 s per client id and API version. */
export const ISC_RATE_LIMIT: RateLimit = { limit: 100, windowMs: 10_000 };

/**
 * Keeps every sliding window of `windowMs + guardMs` under `limit` requests, so whatever fixed window the server uses
 * (and however latency varies by up to guardMs) it never counts more than `limit`. Waiters are served in order.
 */
export class SlidingWindowLimiter {
  private readonly sentAt: number[] = [];
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly rate: RateLimit,
    private readonly guardMs = 250,
    private readonly now: () => number = Date.now,
    private readonly wait: (ms: number) => Promise<unknown> = sleep,
  ) {
    if (rate.limit < 1 || rate.windowMs <= 0) throw new Error('a rate limit needs limit ≥ 1 and windowMs > 0');
  }

  acquire(): Promise<void> {
    const turn = this.tail.then(async () => {
      const span = this.rate.windowMs + this.guardMs;
      for (;;) {
        const now = this.now();
        while (this.sentAt.length > 0 && (this.sentAt[0] as number) <= now - span) this.sentAt.shift();
        if (this.sentAt.length < this.rate.limit) {
          this.sentAt.push(now);
          return;
        }
        await this.wait((this.sentAt[0] as number) + span - now + 1);
      }
    });
    this.tail = turn.catch(() => undefined);
    return turn;
  }
}

const shared = new Map<string, SlidingWindowLimiter>();

/** One limiter per tenant, client id and API version in a process, since that is what ISC counts against. */
export function sharedLimiter(key: string, rate: RateLimit): SlidingWindowLimiter {
  let limiter = shared.get(key);
  if (!limiter) {
    limiter = new SlidingWindowLimiter(rate);
    shared.set(key, limiter);
  }
  return limiter;
}
