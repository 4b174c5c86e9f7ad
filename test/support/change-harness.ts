import { randomUUID } from 'node:crypto';
import { DynamoChangeRequestStore } from '../../lambdas/adapters/dynamodb/change-request-store';
import type { SecretValues } from '../../lambdas/domain/payload-secrets';
import { type ApplyHandlerDeps, main as applyMain } from '../../lambdas/handlers/apply';
import type { RequestSecretVault } from '../../lambdas/ports/change-requests';
import type { ChangeDeps, TenantContext } from '../../lambdas/use-cases/change-requests';
import type { EmulatorOptions } from '../../local/emulator/server';
import { LocalFifoQueue } from '../../local/runtime/fifo-queue';
import { snapshotHarness } from './snapshot-harness';

/** An in-memory vault that remembers what passed through it, to prove credentials never reach the request store. */
export class MemoryVault implements RequestSecretVault {
  readonly values = new Map<string, SecretValues>();
  async stash(id: string, values: SecretValues) {
    this.values.set(id, values);
  }
  async load(id: string) {
    const values = this.values.get(id);
    if (!values) throw new Error(`no secrets for ${id}`);
    return values;
  }
  async discard(id: string) {
    this.values.delete(id);
  }
}

/** The snapshot harness plus the change flow: request store, vault, a local FIFO queue and the apply handler. */
export async function changeHarness(emulatorOptions: EmulatorOptions = {}) {
  const h = await snapshotHarness(emulatorOptions);
  const requests = new DynamoChangeRequestStore(h.table.db, h.table.tableName);
  const vault = new MemoryVault();
  const queue = new LocalFifoQueue({ visibilityTimeoutMs: 20, maxReceiveCount: 6 });
  const changeDeps: ChangeDeps = {
    requests,
    vault,
    queue,
    clock: h.deps.clock,
    newId: randomUUID,
    approvalsRequired: 1,
    sealKey: async () => h.deps.fingerprintKey,
  };
  const tenant: TenantContext = {
    tenant: h.tenant,
    isc: h.deps.isc,
    history: h.store,
    normalise: { tenant: h.tenant, secretPolicy: h.deps.secretPolicy, hmacKey: h.deps.fingerprintKey },
  };
  let checkpoint: ApplyHandlerDeps['checkpoint'];
  const applyDeps: ApplyHandlerDeps = {
    requests,
    vault,
    notifier: h.notifier,
    clock: h.deps.clock,
    tenantFor: async () => ({ isc: h.deps.isc, normalise: tenant.normalise }),
    deadLetters: queue,
    maxReceiveCount: 6,
    leaseMs: 0,
    get checkpoint() {
      return checkpoint;
    },
  };
  return {
    ...h,
    requests,
    vault,
    queue,
    changeDeps,
    tenantContext: tenant,
    /** Makes the apply stop (throw, as a crash would) whenever `crash(step)` says so. */
    crashWhen: (crash: ((step: 'claimed' | 'isc-called' | 'recorded') => boolean) | undefined) => {
      checkpoint = crash
        ? (step) => {
            if (crash(step)) throw new Error(`crash injected after ${step}`);
          }
        : undefined;
    },
    drain: () => queue.drain((event) => applyMain(event, applyDeps)),
    applyDeps,
    /** Writes the emulator served for one integration id (PUT, PATCH, DELETE), to count ISC calls. */
    writesTo: (id: string) =>
      h.emulator.requests.filter(
        (r) =>
          /\/service-desk-integrations(\/v1)?\/[0-9a-f]+$/.test(r.path) &&
          r.path.endsWith(`/${id}`) &&
          r.method !== 'GET' &&
          r.status < 300,
      ).length,
  };
}
