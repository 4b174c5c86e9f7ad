import { SlidingWindowLimiter } from '../../lambdas/isc/rate-limiter';

describe('SlidingWindowLimiter', () => {
  it('never lets more than `limit` requests into any window of windowMs + guard', async () => {
    // Prepare: a fake clock that the limiter advances by waiting.
    let now = 0;
    const sentAt: number[] = [];
    const limiter = new SlidingWindowLimiter(
      { limit: 100, windowMs: 10_000 },
      250,
      () => now,
      async (ms) => {
        now += ms;
      },
    );
    // Act
    for (let i = 0; i < 450; i++) {
      await limiter.acquire();
      sentAt.push(now);
      now += 7; // requests trickle in
    }
    // Assess: slide a 10.25 s window over the send times.
    let worst = 0;
    for (let i = 0, j = 0; i < sentAt.length; i++) {
      while ((sentAt[i] as number) - (sentAt[j] as number) >= 10_250) j++;
      worst = Math.max(worst, i - j + 1);
    }
    expect(worst).toBe(100);
    // 450 requests need at least four full windows after the first.
    expect(now).toBeGreaterThanOrEqual(4 * 10_250);
  });

  it('serves waiters in the order they arrived', async () => {
    let now = 0;
    const limiter = new SlidingWindowLimiter(
      { limit: 1, windowMs: 100 },
      0,
      () => now,
      async (ms) => {
        now += ms;
      },
    );
    const order: number[] = [];
    await Promise.all([0, 1, 2, 3].map((n) => limiter.acquire().then(() => order.push(n))));
    expect(order).toEqual([0, 1, 2, 3]);
  });

  it('refuses a nonsensical limit', () => {
    expect(() => new SlidingWindowLimiter({ limit: 0, windowMs: 10 })).toThrow(/limit ≥ 1/);
  });
});
