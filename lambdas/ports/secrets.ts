import type { IscCredentials } from '../isc/token-provider';
import type { TenantConfig } from './tenants';

export interface SecretsPort {
  tenantCredentials(tenant: TenantConfig): Promise<IscCredentials>;
  /** The HMAC key that fingerprints credentials; it must never change, or every secret would look changed. */
  fingerprintKey(): Promise<Buffer>;
  /** The snapshot function's own key for the raw-document digests, where one is configured (AWS); see SnapshotDeps. */
  rawDigestKey?(): Promise<Buffer | undefined>;
}

/**
 * What a tenant secret the stack created holds until an operator puts credentials there: a JSON object with only
 * this key. Never change the key or UNSET_CREDENTIALS_TEXT: CloudFormation would write the new placeholder over
 * credentials an operator has stored.
 */
export const UNSET_CREDENTIALS_KEY = 'sdimGuardUnset';
export const UNSET_CREDENTIALS_TEXT =
  'Not set yet: put {"clientId": "...", "clientSecret": "..."} of a personal access token of an ORG_ADMIN identity here (docs/deploy.md).';
