import { setTimeout as sleep } from 'node:timers/promises';
import { remainingMs } from './deadline';
import { IscApiError, IscUnavailableError } from './errors';
import type { SlidingWindowLimiter } from './rate-limiter';
import { describeNetworkError, type TokenProvider } from './token-provider';

export interface RetryPolicy {
  /** Attempts per request, the first included. @default 6 */
  readonly maxAttempts: number;
  /** First backoff step; doubles per attempt, with full jitter. @default 200 */
  readonly baseDelayMs: number;
  /** Ceiling of one exponential backoff step. @default 20_000 */
  readonly maxDelayMs: number;
  /** The longest Retry-After worth waiting for; a longer one fails the call at once. @default 60_000 */
  readonly maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 200, maxDelayMs: 20_000, maxRetryAfterMs: 60_000 };

export interface TransportEvent {
  readonly operation: string;
  readonly attempt: number;
  readonly status?: number;
  readonly reason: string;
  readonly delayMs: number;
}

export interface TransportDeps {
  readonly tokens: TokenProvider;
  readonly limiter: SlidingWindowLimiter | undefined;
  readonly fetchImpl: typeof fetch;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly random: () => number;
  readonly wait: (ms: number) => Promise<unknown>;
  readonly onRetry?: (event: TransportEvent) => void;
}

/**
 * Methods re-sent after a 5xx, a network error or a timeout. Writes are not: their first attempt may have been applied
 * with only the response lost, so the caller re-reads ISC before deciding to send again (apply-change.ts). A 429 or a
 * 401 says the request was not served, so those are retried for every method.
 */
const IDEMPOTENT = new Set(['GET', 'HEAD']);

/** The least time worth starting an attempt with. */
const MIN_ATTEMPT_MS = 1_000;

export class Transport {
  /** API requests sent, retries included (tokens are counted by the TokenProvider). */
  requests = 0;

  constructor(private readonly deps: TransportDeps) {}

  /**
   * A fetch for one named operation: authorizes, waits for the rate limiter, times out, retries what may be retried
   * (429 after Retry-After; 5xx, network errors and timeouts on idempotent methods; 401 once with a fresh token),
   * and turns a final failure into an IscApiError or IscUnavailableError.
   */
  forOperation(operation: string, mapUrl?: (url: string) => string): (request: Request) => Promise<Response> {
    return (request) => this.send(operation, request, mapUrl ? mapUrl(request.url) : request.url);
  }

  private async send(operation: string, request: Request, url: string): Promise<Response> {
    const { retry } = this.deps;
    const body = request.body ? await request.arrayBuffer() : undefined;
    const idempotent = IDEMPOTENT.has(request.method);
    let refreshedToken = false;
    for (let attempt = 1; ; attempt++) {
      if (remainingMs() < MIN_ATTEMPT_MS)
        throw new IscUnavailableError(operation, `ISC ${operation} not attempted: the caller's time budget is spent`);
      await this.deps.limiter?.acquire();
      const token = await this.deps.tokens.get();
      const headers = new Headers(request.headers);
      headers.set('authorization', `Bearer ${token}`);
      headers.set('accept', 'application/json');
      this.requests++;
      let response: Response;
      try {
        response = await this.deps.fetchImpl(url, {
          method: request.method,
          headers,
          body,
          signal: AbortSignal.timeout(Math.max(1, Math.min(this.deps.timeoutMs, remainingMs()))),
        });
      } catch (error) {
        const reason = describeNetworkError(error);
        if (idempotent && attempt < retry.maxAttempts) {
          await this.backoff(operation, attempt, undefined, reason, this.jittered(attempt));
          continue;
        }
        throw new IscUnavailableError(operation, `ISC ${operation} failed after ${attempt} attempt(s): ${reason}`);
      }
      if (response.ok) return response;

      if (response.status === 401 && !refreshedToken) {
        // A token can be revoked or expire early; one fresh token settles it, a second 401 is real.
        refreshedToken = true;
        this.deps.tokens.invalidate(token);
        await response.body?.cancel();
        attempt--;
        continue;
      }
      if (attempt < retry.maxAttempts) {
        if (response.status === 429) {
          const retryAfter = retryAfterMs(response.headers.get('retry-after'));
          if (retryAfter === undefined || retryAfter <= retry.maxRetryAfterMs) {
            // A little jitter on top, so clients told the same Retry-After do not all return in the same millisecond.
            const delay = (retryAfter ?? this.jittered(attempt)) + Math.floor(this.deps.random() * 250);
            await response.body?.cancel();
            await this.backoff(operation, attempt, 429, 'rate limited', delay);
            continue;
          }
        }
        if (response.status >= 500 && idempotent) {
          await response.body?.cancel();
          await this.backoff(operation, attempt, response.status, 'server error', this.jittered(attempt));
          continue;
        }
      }
      throw await IscApiError.fromResponse(operation, response);
    }
  }

  private jittered(attempt: number): number {
    return fullJitter(this.deps.retry, attempt, this.deps.random);
  }

  private async backoff(operation: string, attempt: number, status: number | undefined, reason: string, delayMs: number) {
    if (delayMs + MIN_ATTEMPT_MS > remainingMs())
      throw new IscUnavailableError(
        operation,
        `ISC ${operation} gave up after ${attempt} attempt(s) (${reason}): no time left to wait ${delayMs} ms`,
      );
    this.deps.onRetry?.({ operation, attempt, status, reason, delayMs });
    await this.deps.wait(delayMs);
  }
}

/** Exponential backoff with full jitter: a random wait up to base·2^(attempt-1), capped. */
export function fullJitter(retry: RetryPolicy, attempt: number, random: () => number): number {
  return Math.floor(random() * Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1)));
}

/** Retry-After is either delta-seconds or an HTTP date. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export const defaultWait = (ms: number) => sleep(ms);
