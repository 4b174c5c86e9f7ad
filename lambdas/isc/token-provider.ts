import { IscApiError, IscUnavailableError } from './errors';
import type { RetryPolicy } from './transport';

export interface IscCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

interface CachedToken {
  readonly value: string;
  readonly refreshAt: number;
}

/**
 * Client-credentials tokens from `{tenantUrl}/oauth/token`, cached and refreshed before they expire.
 * Concurrent callers share one in-flight request. Credentials are read per fetch so a rotated secret is picked up.
 */
export class TokenProvider {
  private cached: CachedToken | undefined;
  private inFlight: Promise<CachedToken> | undefined;
  /** Token requests made, for request accounting. */
  requests = 0;

  constructor(
    private readonly tenantUrl: string,
    private readonly credentials: () => Promise<IscCredentials> | IscCredentials,
    private readonly fetchImpl: typeof fetch,
    private readonly timeoutMs: number,
    private readonly retry: RetryPolicy,
    private readonly backoff: (attempt: number) => Promise<unknown>,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<string> {
    if (this.cached && this.now() < this.cached.refreshAt) return this.cached.value;
    this.inFlight ??= this.fetchToken().finally(() => {
      this.inFlight = undefined;
    });
    this.cached = await this.inFlight;
    return this.cached.value;
  }

  /** Drops `token` if it is still the cached one: ISC said it is no longer valid. */
  invalidate(token: string): void {
    if (this.cached?.value === token) this.cached = undefined;
  }

  private async fetchToken(): Promise<CachedToken> {
    const { clientId, clientSecret } = await this.credentials();
    const url = `${this.tenantUrl}/oauth/token`;
    // Asking twice for a token has no effect beyond the first, so network errors, 429 and 5xx are all retried.
    for (let attempt = 1; ; attempt++) {
      const requestedAt = this.now();
      this.requests++;
      let response: Response;
      try {
        response = await this.fetchImpl(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (error) {
        if (attempt < this.retry.maxAttempts) {
          await this.backoff(attempt);
          continue;
        }
        throw new IscUnavailableError('createToken', `cannot reach ${url} after ${attempt} attempt(s): ${describeNetworkError(error)}`);
      }
      if ((response.status === 429 || response.status >= 500) && attempt < this.retry.maxAttempts) {
        await response.body?.cancel();
        await this.backoff(attempt);
        continue;
      }
      if (!response.ok) throw await IscApiError.fromResponse('createToken', response);
      return this.parse(response, requestedAt);
    }
  }

  private async parse(response: Response, requestedAt: number): Promise<CachedToken> {
    const body = (await response.json()) as { access_token?: unknown; expires_in?: unknown };
    if (typeof body.access_token !== 'string' || typeof body.expires_in !== 'number') {
      throw new IscApiError('createToken', response.status, undefined, undefined, 'the token answer has no access_token/expires_in');
    }
    // Refresh at 80 % of the lifetime or a minute early, whichever is sooner, so no request carries a token about to
    // expire; but never before half of it, so a short-lived token is not fetched again for every request.
    const lifetimeMs = body.expires_in * 1000;
    const refreshAt = requestedAt + Math.max(lifetimeMs * 0.5, Math.min(lifetimeMs * 0.8, lifetimeMs - 60_000));
    return { value: body.access_token, refreshAt };
  }
}

/** "ECONNREFUSED", "timed out", …: what went wrong on the wire, without the request (which may hold a secret). */
export function describeNetworkError(error: unknown): string {
  // Duck-typed: fetch's errors may come from another realm (a VM context, a test runner), where instanceof fails.
  if (typeof error === 'object' && error !== null && 'message' in error) {
    const { name, message, cause } = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
    if (name === 'TimeoutError' || name === 'AbortError') return 'timed out';
    return cause?.code ?? cause?.message ?? message ?? 'network error';
  }
  return String(error);
}
