import type { IscCredentials } from '../isc/token-provider';
import type { TenantConfig } from './tenants';

export interface SecretsPort {
  tenantCredentials(tenant: TenantConfig): Promise<IscCredentials>;
  /** The HMAC key that fingerprints credentials; it must never change, or every secret would look changed. */
  fingerprintKey(): Promise<Buffer>;
}
