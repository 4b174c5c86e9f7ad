import { API_VERSIONS, isApiVersion } from '../isc/client';
import type { TenantConfig, TenantDirectory } from '../ports/tenants';
import { assertTenantName } from '../ports/tenants';

/** Tenants fixed at deploy time (the stack's props), passed to the Lambdas as JSON. */
export class StaticTenantDirectory implements TenantDirectory {
  private readonly tenants: Map<string, TenantConfig>;

  constructor(tenants: TenantConfig[]) {
    this.tenants = new Map(tenants.map((t) => [t.name, t]));
  }

  static fromJson(json: string, source: string): StaticTenantDirectory {
    let raw: unknown;
    try {
      raw = JSON.parse(json);
    } catch {
      throw new Error(`${source} is not JSON`);
    }
    if (!Array.isArray(raw)) throw new Error(`${source} must be a JSON list of tenants`);
    const tenants = raw.map((t: Partial<TenantConfig>, i) => {
      if (typeof t?.name !== 'string' || typeof t.url !== 'string') throw new Error(`${source}[${i}] needs name and url`);
      assertTenantName(t.name);
      if (t.apiVersion !== undefined && !isApiVersion(t.apiVersion)) {
        throw new Error(`${source}[${i}].apiVersion must be one of ${API_VERSIONS.join(', ')}`);
      }
      return { name: t.name, url: t.url, apiVersion: t.apiVersion ?? 'v1', secretRef: t.secretRef };
    });
    return new StaticTenantDirectory(tenants);
  }

  async get(name: string): Promise<TenantConfig | undefined> {
    return this.tenants.get(name);
  }

  async list(): Promise<TenantConfig[]> {
    return [...this.tenants.values()];
  }
}
