import type { IscApiVersion } from '../isc/client';

/** One ISC org under guard. Credentials are never part of it: they live behind the Secrets port. */
export interface TenantConfig {
  readonly name: string;
  /** e.g. https://acme.api.identitynow.com */
  readonly url: string;
  readonly apiVersion: IscApiVersion;
  /** Where its credentials are: a Secrets Manager ARN in AWS; unused locally (the secrets file is keyed by name). */
  readonly secretRef?: string;
  /**
   * Set when the tenant was deliberately pointed at another ISC (`snapshot --repoint`): the first snapshot after
   * `repointedAt` records the differences as the repoint, without drift or alerts.
   */
  readonly repointedFrom?: string;
  readonly repointedAt?: string;
}

export interface TenantDirectory {
  get(name: string): Promise<TenantConfig | undefined>;
  list(): Promise<TenantConfig[]>;
}

export interface WritableTenantDirectory extends TenantDirectory {
  put(tenant: TenantConfig): Promise<void>;
}

const TENANT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** Tenant names become key parts and file keys: keep them plain. */
export function assertTenantName(name: string): void {
  if (!TENANT_NAME.test(name)) {
    throw new Error(`tenant name '${name}' must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
}

/**
 * Two names that differ only in case or punctuation ('acme-sb', 'acme_sb', 'Acme.SB') would become the same
 * CloudFormation id, alarm and metric in a deployment: refused, naming both. Returns the names unchanged.
 */
export function assertDistinctTenantNames(names: readonly string[]): readonly string[] {
  const seen = new Map<string, string>();
  for (const name of names) {
    const folded = name.toLowerCase().replace(/[^a-z0-9]/g, '');
    const earlier = seen.get(folded);
    if (earlier === name) throw new Error(`tenant '${name}' is listed twice`);
    if (earlier !== undefined) {
      throw new Error(
        `tenant names '${earlier}' and '${name}' collide: ignoring case and punctuation both are '${folded}', which deployed ids, alarms and metrics cannot tell apart; rename one`,
      );
    }
    seen.set(folded, name);
  }
  return names;
}
