/**
 * ISC's limit: `limit` requests per `windowMs` per client id and API version, in fixed windows that start with the
 * first request; over it, 429 with Retry-After = whole seconds until the window resets.
 */
export class FixedWindowLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  /** null when the request may proceed, otherwise the Retry-After seconds. */
  take(key: string): number | null {
    const now = this.now();
    let window = this.windows.get(key);
    if (!window || now - window.start >= this.windowMs) {
      window = { start: now, count: 0 };
      this.windows.set(key, window);
    }
    if (window.count >= this.limit) {
      return Math.max(1, Math.ceil((window.start + this.windowMs - now) / 1000));
    }
    window.count++;
    return null;
  }
}
