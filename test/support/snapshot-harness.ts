import { randomBytes, randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoSnapshotStore } from '../../lambdas/adapters/dynamodb/snapshot-store';
import { SecretPolicy } from '../../lambdas/domain/secrets';
import { SeverityRules } from '../../lambdas/domain/severity';
import { HttpIscClient } from '../../lambdas/isc/client';
import type { Clock } from '../../lambdas/ports/clock';
import { type SnapshotDeps, takeSnapshot } from '../../lambdas/use-cases/take-snapshot';
import type { EmulatorOptions, IscEmulator } from '../../local/emulator/server';
import { freshTable } from './dynamodb';
import { startEmulator, TEST_CLIENT } from './emulator';
import { MemoryNotifier } from './memory-notifier';

/**
 * A tenant (the emulator), a store (a fresh DynamoDB Local table) and the snapshot flow wired between them.
 * `attribution: true` lets the flow search the emulator's audit events, and runs the emulator on the harness clock so
 * event times and snapshot times are comparable.
 */
export async function snapshotHarness(
  emulatorOptions: EmulatorOptions = {},
  overrides: Partial<SnapshotDeps> = {},
  { attribution = false }: { attribution?: boolean } = {},
) {
  let now = new Date('2026-11-24T10:00:00.000Z');
  const { emulator, url } = await startEmulator(
    attribution ? { rateLimit: false, ...emulatorOptions, now: () => now.getTime() } : emulatorOptions,
  );
  const table = await freshTable();
  const clock: Clock = { now: () => new Date(now) };
  const store = new DynamoSnapshotStore(table.db, table.tableName, clock.now);
  const notifier = new MemoryNotifier();
  const isc = new HttpIscClient({
    tenantUrl: url,
    credentials: TEST_CLIENT,
    rateLimit: false,
    retry: { baseDelayMs: 2, maxDelayMs: 50, maxAttempts: 10 },
  });
  const deps: SnapshotDeps = {
    isc,
    store,
    ledger: store,
    notifier,
    clock,
    newId: randomUUID,
    fingerprintKey: randomBytes(32),
    secretPolicy: new SecretPolicy(),
    severityRules: new SeverityRules(),
    ...(attribution ? { auditEvents: isc } : {}),
    ...overrides,
  };
  return {
    emulator,
    url,
    store,
    notifier,
    deps,
    isc,
    tenant: 'acme',
    snapshot: (tenant = 'acme') => takeSnapshot(tenant, deps),
    advance: (ms: number) => {
      now = new Date(now.getTime() + ms);
    },
    /** Every item in the table, with gzip'd documents inflated to text: "every stored byte". */
    storedText: async () => {
      const { Items = [] } = await table.db.send(new ScanCommand({ TableName: table.tableName }));
      return Items.map((item) =>
        JSON.stringify(item, (_k, v) => {
          if (v instanceof Uint8Array) {
            try {
              return gunzipSync(v).toString('utf8');
            } catch {
              return Buffer.from(v).toString('latin1');
            }
          }
          return v;
        }),
      ).join('\n');
    },
    itemCount: async () => {
      const { Count = 0 } = await table.db.send(new ScanCommand({ TableName: table.tableName, Select: 'COUNT' }));
      return Count;
    },
    table,
    close: async (extra: IscEmulator[] = []) => {
      await Promise.all([emulator.stop(), ...extra.map((e) => e.stop())]);
      await table.drop();
    },
  };
}

/** Every credential value the emulator holds, to prove none of them reached the store or a log. */
export function secretValues(emulator: IscEmulator, policy = new SecretPolicy()): string[] {
  const values: string[] = [];
  for (const id of emulator.state.ids()) {
    const integration = emulator.state.get(id);
    for (const [key, value] of Object.entries(integration.attributes ?? {})) {
      if (policy.isSecretKey(key) && typeof value === 'string' && value.length > 3) values.push(value);
    }
  }
  return values;
}
