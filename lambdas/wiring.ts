import { randomUUID } from 'node:crypto';
import type { NormaliseOptions } from './domain/normalise';
import { HttpIscClient, type HttpIscClientOptions } from './isc/client';
import type { AnchorStore } from './ports/anchors';
import type { Clock } from './ports/clock';
import type { Notifier } from './ports/notifier';
import type { SecretsPort } from './ports/secrets';
import type { AppliedChangeLedger, SnapshotStore } from './ports/snapshot-store';
import type { TenantConfig, TenantDirectory } from './ports/tenants';
import { type GuardSettings, toPolicies } from './settings';
import type { SnapshotDeps } from './use-cases/take-snapshot';

/** An ISC client for a tenant whose credentials are read from the Secrets port on every token request. */
export function iscClientFor(tenant: TenantConfig, secrets: SecretsPort, extra: Partial<HttpIscClientOptions> = {}): HttpIscClient {
  return new HttpIscClient({
    tenantUrl: tenant.url,
    apiVersion: tenant.apiVersion,
    credentials: () => secrets.tenantCredentials(tenant),
    ...extra,
  });
}

export interface SnapshotWiring {
  readonly store: SnapshotStore & AppliedChangeLedger;
  readonly secrets: SecretsPort;
  readonly notifier: Notifier;
  readonly clock: Clock;
  readonly settings: GuardSettings;
  readonly clientOptions?: Partial<HttpIscClientOptions>;
  /** Where chain heads are anchored after each commit (S3 Object Lock, or the local anchor file). */
  readonly anchors?: AnchorStore;
}

/** The same composition in Lambda, in the local runtime and in the CLI: only the adapters passed in differ. */
export async function snapshotDeps(tenant: TenantConfig, wiring: SnapshotWiring): Promise<SnapshotDeps> {
  const { secretPolicy, severityRules } = toPolicies(wiring.settings);
  const isc = iscClientFor(tenant, wiring.secrets, wiring.clientOptions);
  return {
    isc,
    // The same client searches the audit events (sp:search:read; without it changes say "unknown: no search scope").
    auditEvents: isc,
    store: wiring.store,
    ledger: wiring.store,
    notifier: wiring.notifier,
    clock: wiring.clock,
    newId: randomUUID,
    fingerprintKey: await wiring.secrets.fingerprintKey(),
    ...(await digestKeyOf(wiring.secrets)),
    secretPolicy,
    severityRules,
    ignoreReferenceNames: wiring.settings.ignoreReferenceNames,
    apiVersion: tenant.apiVersion,
    ...(wiring.anchors ? { anchors: wiring.anchors } : {}),
    ...(tenant.repointedFrom && tenant.repointedAt
      ? { repoint: { from: tenant.repointedFrom, to: tenant.url, at: tenant.repointedAt } }
      : {}),
  };
}

async function digestKeyOf(secrets: SecretsPort): Promise<{ rawDigestKey?: Buffer }> {
  const key = await secrets.rawDigestKey?.();
  return key ? { rawDigestKey: key } : {};
}

/** ISC client and fingerprinting for a tenant by name, built once per tenant and reused. */
export function tenantResolver(
  tenants: TenantDirectory,
  secrets: SecretsPort,
  settings: GuardSettings,
  clientOptions: Partial<HttpIscClientOptions> = {},
) {
  const cache = new Map<string, Promise<{ isc: HttpIscClient; normalise: NormaliseOptions }>>();
  return (name: string) => {
    let entry = cache.get(name);
    if (!entry) {
      entry = (async () => {
        const tenant = await tenants.get(name);
        if (!tenant) throw new Error(`unknown tenant '${name}'`);
        const { secretPolicy } = toPolicies(settings);
        return {
          isc: iscClientFor(tenant, secrets, clientOptions),
          normalise: {
            tenant: name,
            secretPolicy,
            hmacKey: await secrets.fingerprintKey(),
            ignoreReferenceNames: settings.ignoreReferenceNames,
          },
        };
      })();
      entry.catch(() => cache.delete(name));
      cache.set(name, entry);
    }
    return entry;
  };
}
