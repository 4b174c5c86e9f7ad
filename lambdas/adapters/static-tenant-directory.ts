import { API_VERSIONS, isApiVersion } from '../isc/client';
import type { TenantConfig, TenantDirectory } from '../ports/tenants';
import { assertDistinctTenantNames, assertTenantName } from '../ports/tenants';

/** Tenants fixed at deploy time (the stack's props), bundled with the Lambdas as JSON (lambdas/deploy-config.ts). */
export class StaticTenantDirectory implements TenantDirectory {
  private readonly tenants: Map<string, TenantConfig>;

  constructor(tenants: TenantConfig[]) {
    this.tenants = new Map(tenants.map((t) => [t.name, t]));
  }

  /** Checks every entry (names, URL, API version) and refuses colliding names. */
  static fromList(raw: unknown, source: string): StaticTenantDirectory {
    if (!Array.isArray(raw)) throw new Error(`${source} must be a JSON list of tenants`);
    const tenants = raw.map((t: Partial<TenantConfig>, i) => {
      if (typeof t?.name !== 'string' || typeof t.url !== 'string') throw new Error(`${source}[${i}] needs name and url`);
      assertTenantName(t.name);
      if (t.apiVersion !== undefined && !isApiVersion(t.apiVersion)) {
        throw new Error(`${source}[${i}].apiVersion must be one of ${API_VERSIONS.join(', ')}`);
      }
      if (t.secretRef !== undefined && typeof t.secretRef !== 'string') throw new Error(`${source}[${i}].secretRef must be a string`);
      return { name: t.name, url: t.url, apiVersion: t.apiVersion ?? 'v1', secretRef: t.secretRef };
    });
    assertDistinctTenantNames(tenants.map((t) => t.name));
    return new StaticTenantDirectory(tenants);
  }

  async get(name: string): Promise<TenantConfig | undefined> {
    return this.tenants.get(name);
  }

  async list(): Promise<TenantConfig[]> {
    return [...this.tenants.values()];
  }
}
