import { randomUUID } from 'node:crypto';
import type { ChangeQueue } from '../../lambdas/ports/change-requests';
import { systemClock } from '../../lambdas/ports/clock';
import type { ChangeDeps } from '../../lambdas/use-cases/change-requests';
import { tenantResolver } from '../../lambdas/wiring';
import type { Workspace } from '../workspace';

// The change-request wiring one-shot CLI commands use. Kept apart from change-runtime.ts, whose Lambda handlers bring
// the S3, EventBridge and Secrets Manager clients: loading those made every command start ~0.3 s later.

/** Locally the caller names themselves; in AWS the API takes the IAM caller and this header means nothing. */
export const LOCAL_USER_HEADER = 'x-sdim-guard-user';

/**
 * Used by CLI processes that do not run the queue: a request's `queued` status in the store is the message, and
 * the local runtime dispatches it into its in-process FIFO queue (an outbox, so nothing approved is lost).
 */
export const storeOutbox: ChangeQueue = { enqueue: async () => undefined };

export function changeDeps(ws: Workspace, queue: ChangeQueue, approvalsRequired = 1): ChangeDeps {
  return {
    requests: ws.requests,
    vault: ws.secrets,
    queue,
    clock: systemClock,
    newId: randomUUID,
    approvalsRequired,
    access: ws.access,
    sealKey: () => ws.secrets.fingerprintKey(),
  };
}

export function tenantContexts(ws: Workspace) {
  const resolve = workspaceTenantResolver(ws);
  return async (tenant: string) => ({ ...(await resolve(tenant)), tenant, history: ws.store });
}

/**
 * The ISC client and fingerprinting of a tenant as the workspace says now: a tenant repointed or settings saved by
 * another process get a new client on the next use; unchanged ones keep theirs (and its token).
 */
export function workspaceTenantResolver(ws: Workspace) {
  const cache = new Map<string, { key: string; resolve: ReturnType<typeof tenantResolver> }>();
  return async (name: string) => {
    const tenant = await ws.tenants.get(name);
    if (!tenant) throw new Error(`unknown tenant '${name}'`);
    const settings = ws.settings;
    const key = JSON.stringify([tenant.url, tenant.apiVersion, settings]);
    let entry = cache.get(name);
    if (!entry || entry.key !== key) {
      entry = { key, resolve: tenantResolver(ws.tenants, ws.secrets, settings) };
      cache.set(name, entry);
    }
    return entry.resolve(name);
  };
}
