import { IscApiError, IscUnavailableError } from './errors';

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
      throw new IscUnavailableError('createToken', `cannot reach ${url}: ${describeNetworkError(error)}`);
    }
    if (!response.ok) throw await IscApiError.fromResponse('createToken', response);
    const body = (await response.json()) as { access_token?: unknown; expires_in?: unknown };
    if (typeof body.access_token !== 'string' || typeof body.expires_in !== 'number') {
      throw new IscApiError('createToken', response.status, undefined, undefined, 'the token answer has no access_token/expires_in');
    }
    // Refresh at 80 % of the lifetime, and at least a minute early, so no request carries a token about to expire.
    const lifetimeMs = body.expires_in * 1000;
    const refreshAt = requestedAt + Math.max(0, Math.min(lifetimeMs * 0.8, lifetimeMs - 60_000));
    return { value: body.access_token, refreshAt };
  }
}

export function describeNetworkError(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'timed out';
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ?? cause?.message ?? error.message;
  }
  return String(error);
}
