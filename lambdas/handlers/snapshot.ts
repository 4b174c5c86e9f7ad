import { randomUUID } from 'node:crypto';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import middy from '@middy/core';
import { AwsNotifier } from '../adapters/aws/aws-notifier';
import { SecretsManagerSecrets } from '../adapters/aws/secrets-manager';
import { createDocumentClient } from '../adapters/dynamodb/clients';
import { DynamoSnapshotStore } from '../adapters/dynamodb/snapshot-store';
import { StaticTenantDirectory } from '../adapters/static-tenant-directory';
import { type Clock, systemClock } from '../ports/clock';
import type { Notifier } from '../ports/notifier';
import type { SecretsPort } from '../ports/secrets';
import type { AppliedChangeLedger, SnapshotStore } from '../ports/snapshot-store';
import type { TenantDirectory } from '../ports/tenants';
import { type GuardSettings, parseSettings } from '../settings';
import { type SnapshotResult, takeSnapshot } from '../use-cases/take-snapshot';
import { snapshotDeps } from '../wiring';
import { getStringFromEnv } from './env';
import { snapshotMetrics } from './metrics';

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
  deps ??= {
    tenants: StaticTenantDirectory.fromJson(getStringFromEnv('TENANTS'), 'TENANTS'),
    store: new DynamoSnapshotStore(createDocumentClient(), getStringFromEnv('TABLE_NAME')),
    secrets: new SecretsManagerSecrets(new SecretsManagerClient({}), getStringFromEnv('FINGERPRINT_KEY_SECRET_ARN')),
    notifier: new AwsNotifier(
      new EventBridgeClient({}),
      getStringFromEnv('EVENT_BUS_NAME'),
      new SNSClient({}),
      getStringFromEnv('TOPIC_ARN'),
    ),
    clock: systemClock,
    settings: parseSettings(process.env.SETTINGS, 'SETTINGS'),
  };
  return deps;
}

export const handler = middy<SnapshotEvent, SnapshotResult>()
  .use(snapshotMetrics())
  .handler((event) => main(event, depsFromEnvironment()));
