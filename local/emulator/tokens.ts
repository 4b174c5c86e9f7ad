import { createHmac, randomBytes, randomUUID } from 'node:crypto';

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
  /** The identity the credential belongs to (a personal access token's owner): audit events name it. @default clientId */
  identity?: string;
  /** Granted scopes; search needs sp:search:read (or sp:scopes:all). @default ['sp:scopes:all'] */
  scopes?: string[];
}

interface IssuedToken {
  clientId: string;
  expiresAt: number;
}

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Client-credentials tokens shaped like ISC's (a signed JWT with `exp`), expiring after `ttlSeconds`.
 * Only tokens this emulator issued and that have not expired are accepted.
 */
export class TokenIssuer {
  private readonly signingKey = randomBytes(32);
  private readonly issued = new Map<string, IssuedToken>();

  constructor(
    private readonly clients: readonly ClientCredentials[],
    private readonly ttlSeconds: number,
    private readonly now: () => number,
    private readonly org: string,
  ) {}

  /** Constant-time comparison is overkill for an emulator, but the secret must never be echoed back. */
  authenticate(clientId: string, clientSecret: string): boolean {
    return this.clients.some((c) => c.clientId === clientId && c.clientSecret === clientSecret);
  }

  issue(clientId: string) {
    const scopes = this.clients.find((c) => c.clientId === clientId)?.scopes ?? ['sp:scopes:all'];
    const jti = randomUUID();
    const issuedAt = Math.floor(this.now() / 1000);
    const header = b64url({ alg: 'HS256', typ: 'JWT' });
    const payload = b64url({
      tenant_id: `${this.org}-tenant`,
      pod: 'emulator',
      org: this.org,
      client_id: clientId,
      scope: scopes,
      iat: issuedAt,
      exp: issuedAt + this.ttlSeconds,
      jti,
    });
    const signature = createHmac('sha256', this.signingKey).update(`${header}.${payload}`).digest('base64url');
    const accessToken = `${header}.${payload}.${signature}`;
    this.issued.set(accessToken, { clientId, expiresAt: this.now() + this.ttlSeconds * 1000 });
    return {
      access_token: accessToken,
      token_type: 'bearer',
      expires_in: this.ttlSeconds,
      scope: scopes.join(' '),
      tenant_id: `${this.org}-tenant`,
      pod: 'emulator',
      strong_auth_supported: false,
      org: this.org,
      claims_supported: false,
      identity_id: '',
      strong_auth: false,
      jti,
    };
  }

  /** The client id behind a bearer token, or the reason it is refused (ISC's 401 wording). */
  verify(authorization: string | undefined): { clientId: string } | { error: string } {
    const match = authorization ? /^Bearer\s+(\S+)$/i.exec(authorization) : null;
    if (!match?.[1]) return { error: 'JWT validation failed: JWT is missing' };
    const token = this.issued.get(match[1]);
    if (!token) return { error: 'JWT validation failed: JWT is invalid' };
    if (token.expiresAt <= this.now()) {
      this.issued.delete(match[1]);
      return { error: 'JWT validation failed: JWT is expired' };
    }
    return { clientId: token.clientId };
  }
}
