import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { IscCredentials } from '../../isc/token-provider';
import { type SecretsPort, UNSET_CREDENTIALS_KEY } from '../../ports/secrets';
import type { TenantConfig } from '../../ports/tenants';

/**
 * Secrets Manager behind the Secrets port: a tenant secret is JSON {clientId, clientSecret}; the fingerprint key is
 * a secret string of at least 32 characters. Values are cached for `ttlMs` (a rotation is seen within that time) and
 * never logged; errors name the secret, not its content.
 */
export class SecretsManagerSecrets implements SecretsPort {
  private readonly cache = new Map<string, { value: string; fetchedAt: number }>();

  private readonly ttlMs: number;
  private readonly now: () => number;
  /** Set for the snapshot function only (RAW_DIGEST_KEY_SECRET_ARN): the key of the raw-document digests. */
  private readonly rawDigestKeySecretId: string | undefined;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly fingerprintKeySecretId: string,
    options: { readonly ttlMs?: number; readonly now?: () => number; readonly rawDigestKeySecretId?: string } = {},
  ) {
    this.ttlMs = options.ttlMs ?? 5 * 60_000;
    this.now = options.now ?? Date.now;
    this.rawDigestKeySecretId = options.rawDigestKeySecretId;
  }

  async tenantCredentials(tenant: TenantConfig): Promise<IscCredentials> {
    if (!tenant.secretRef) throw new Error(`tenant '${tenant.name}' has no secret configured`);
    const raw = await this.read(tenant.secretRef);
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new Error(`secret ${tenant.secretRef} of tenant '${tenant.name}' is not JSON; expected {"clientId": …, "clientSecret": …}`);
    }
    if (typeof parsed === 'object' && parsed !== null && UNSET_CREDENTIALS_KEY in parsed) {
      throw new Error(
        `credentials of tenant '${tenant.name}' are not set yet: secret ${tenant.secretRef} still holds the placeholder the stack created; put {"clientId": …, "clientSecret": …} of an ORG_ADMIN personal access token there (docs/deploy.md)`,
      );
    }
    const { clientId, clientSecret } = (parsed ?? {}) as Partial<IscCredentials>;
    if (typeof clientId !== 'string' || typeof clientSecret !== 'string' || !clientId || !clientSecret) {
      throw new Error(`secret ${tenant.secretRef} of tenant '${tenant.name}' needs non-empty clientId and clientSecret strings`);
    }
    return { clientId, clientSecret };
  }

  fingerprintKey(): Promise<Buffer> {
    return this.key(this.fingerprintKeySecretId);
  }

  async rawDigestKey(): Promise<Buffer | undefined> {
    return this.rawDigestKeySecretId ? this.key(this.rawDigestKeySecretId) : undefined;
  }

  private async key(secretId: string): Promise<Buffer> {
    const raw = await this.read(secretId);
    if (raw.length < 32) throw new Error(`secret ${secretId} must hold at least 32 characters of key material`);
    return Buffer.from(raw, 'utf8');
  }

  private async read(secretId: string): Promise<string> {
    const cached = this.cache.get(secretId);
    if (cached && this.now() - cached.fetchedAt < this.ttlMs) return cached.value;
    const { SecretString } = await this.client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (!SecretString) throw new Error(`secret ${secretId} has no string value`);
    this.cache.set(secretId, { value: SecretString, fetchedAt: this.now() });
    return SecretString;
  }
}
