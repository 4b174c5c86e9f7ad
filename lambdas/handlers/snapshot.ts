import { randomUUID } from 'node:crypto';
import middy from '@middy/core';
import { DynamoSnapshotStore } from '../adapters/dynamodb/snapshot-store';
import type { AnchorStore } from '../ports/anchors';
import { type Clock, systemClock } from '../ports/clock';
import type { Notifier } from '../ports/notifier';
import type { SecretsPort } from '../ports/secrets';
import type { AppliedChangeLedger, SnapshotStore } from '../ports/snapshot-store';
import type { TenantDirectory } from '../ports/tenants';
import type { GuardSettings } from '../settings';
import { type SnapshotResult, takeSnapshot } from '../use-cases/take-snapshot';
import { snapshotDeps } from '../wiring';
import { anchorsFromEnvironment } from './anchors-environment';
import { fromEnvironment } from './aws-environment';
import { snapshotMetrics } from './metrics';
import { notifierFromEnvironment } from './notifier-environment';

/** What the schedule sends: one invocation per tenant. */
export interface SnapshotEvent {
  readonly tenant: string;
}

export interface SnapshotHandlerDeps {
  readonly tenants: TenantDirectory;
  readonly store: SnapshotStore & AppliedChangeLedger;
  readonly secrets: SecretsPort;
  readonly notifier: Notifier;
  readonly clock: Clock;
  readonly settings: GuardSettings;
  /** Where each committed head is anchored; in Lambda the history-anchors bucket (ANCHOR_BUCKET). */
  readonly anchors?: AnchorStore;
}

/** The handler's core, called directly by tests and by the local runtime. */
export async function main(event: unknown, deps: SnapshotHandlerDeps): Promise<SnapshotResult> {
  const tenantName = (event as Partial<SnapshotEvent> | null)?.tenant;
  if (typeof tenantName !== 'string' || tenantName === '') throw new Error('the snapshot event needs {"tenant": "<name>"}');
  const tenant = await deps.tenants.get(tenantName);
  if (!tenant) throw new Error(`unknown tenant '${tenantName}'`);
  try {
    return await takeSnapshot(tenant.name, await snapshotDeps(tenant, deps));
  } catch (error) {
    // A failed snapshot records nothing; it must still be seen. The original error is what Lambda reports.
    await deps.notifier
      .publish({
        type: 'Snapshot Failed',
        tenant: tenant.name,
        time: deps.clock.now().toISOString(),
        id: `${tenant.name}:snapshot-failed:${randomUUID()}`,
        detail: { error: error instanceof Error ? error.message : String(error), errorType: error instanceof Error ? error.name : 'Error' },
      })
      .catch(() => undefined);
    throw error;
  }
}

let deps: SnapshotHandlerDeps | undefined;

/** Built once per container, from the environment the stack sets. */
function depsFromEnvironment(): SnapshotHandlerDeps {
  if (!deps) {
    const { db, tableName } = fromEnvironment.table();
    deps = {
      tenants: fromEnvironment.tenants(),
      store: new DynamoSnapshotStore(db, tableName),
      secrets: fromEnvironment.secrets(),
      notifier: notifierFromEnvironment(),
      clock: systemClock,
      settings: fromEnvironment.settings(),
      anchors: anchorsFromEnvironment(),
    };
  }
  return deps;
}

export const handler = middy<SnapshotEvent, SnapshotResult>()
  .use(snapshotMetrics())
  .handler((event) => main(event, depsFromEnvironment()));
