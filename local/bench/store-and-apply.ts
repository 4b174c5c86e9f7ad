import { randomBytes, randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoChangeRequestStore } from '../../lambdas/adapters/dynamodb/change-request-store';
import { createDocumentClient } from '../../lambdas/adapters/dynamodb/clients';
import { DynamoSnapshotStore } from '../../lambdas/adapters/dynamodb/snapshot-store';
import { DynamoTenantDirectory } from '../../lambdas/adapters/dynamodb/tenant-directory';
import { SecretPolicy } from '../../lambdas/domain/secrets';
import { SeverityRules } from '../../lambdas/domain/severity';
import { main as applyMain } from '../../lambdas/handlers/apply';
import { main as snapshotMain } from '../../lambdas/handlers/snapshot';
import { HttpIscClient } from '../../lambdas/isc/client';
import { systemClock } from '../../lambdas/ports/clock';
import type { Notifier } from '../../lambdas/ports/notifier';
import type { SecretsPort } from '../../lambdas/ports/secrets';
import { DEFAULT_SETTINGS } from '../../lambdas/settings';
import { approveRequest, propose } from '../../lambdas/use-cases/change-requests';
import { takeSnapshot } from '../../lambdas/use-cases/take-snapshot';
import { ensureTable } from '../dynamodb-local';
import { IscEmulator } from '../emulator/server';
import { LocalFifoQueue } from '../runtime/fifo-queue';
import { TenantScheduler } from '../runtime/scheduler';

const silent: Notifier = { publish: async () => undefined };
const fingerprintKey = randomBytes(32);

async function footprint(db: DynamoDBDocumentClient, table: string): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) {
      let bytes = 0;
      for (const [k, v] of Object.entries(item)) bytes += k.length + (v instanceof Uint8Array ? v.length : JSON.stringify(v).length);
      sizes.set(`${item.pk}|${item.sk}`, bytes);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return sizes;
}

function diffBytes(before: Map<string, number>, after: Map<string, number>): number {
  let bytes = 0;
  for (const [key, size] of after) if (before.get(key) !== size) bytes += size;
  return bytes;
}

export interface StoreFigure {
  readonly integrations: number;
  readonly run: 'first' | 'unchanged' | '1% changed';
  readonly itemsWritten: number;
  readonly bytesWritten: number;
  readonly totalMs: number;
}

/** Items and bytes each kind of run writes, counted by the store and checked against a table scan. */
export async function benchStore(endpoint: string, sizes: number[]): Promise<StoreFigure[]> {
  const figures: StoreFigure[] = [];
  for (const size of sizes) {
    const table = `bench-store-${randomUUID()}`;
    await ensureTable(endpoint, table);
    const db = createDocumentClient({ endpoint });
    const client = { clientId: 'bench', clientSecret: 's' };
    const emulator = new IscEmulator({ integrations: size, clients: [client], rateLimit: false });
    const url = await emulator.start();
    const store = new DynamoSnapshotStore(db, table);
    const deps = {
      isc: new HttpIscClient({ tenantUrl: url, credentials: client, rateLimit: false }),
      store,
      ledger: store,
      notifier: silent,
      clock: systemClock,
      newId: randomUUID,
      fingerprintKey,
      secretPolicy: new SecretPolicy(),
      severityRules: new SeverityRules(),
    };
    try {
      for (const run of ['first', 'unchanged', '1% changed'] as const) {
        if (run === '1% changed') {
          const ids = emulator.state.ids();
          for (let i = 0; i < ids.length; i += 100)
            emulator.state.patch(ids[i] as string, [{ op: 'replace', path: '/description', value: `edited ${i}` }]);
        }
        const before = await footprint(db, table);
        const result = await takeSnapshot('bench', deps);
        const after = await footprint(db, table);
        figures.push({
          integrations: size,
          run,
          itemsWritten: result.stats.itemsWritten,
          bytesWritten: diffBytes(before, after),
          totalMs: result.stats.totalMs,
        });
      }
    } finally {
      await emulator.stop();
      db.destroy();
    }
  }
  return figures;
}

/**
 * Approved changes applied per minute for one tenant under ISC's limit (100 requests / 10 s per client), and the
 * 429s seen, sustained long enough (`changes` ≥ 900 takes over three minutes) that the first window's burst does not
 * make the rate. The proposals are read through five other client ids, as several people proposing would be, so
 * setting up does not eat the applier's budget.
 */
export async function benchApply(
  endpoint: string,
  changes: number,
): Promise<{ changes: number; seconds: number; perMinute: number; iscRequests: number; rateLimited: number; requestsPerChange: number }> {
  const table = `bench-apply-${randomUUID()}`;
  await ensureTable(endpoint, table);
  const db = createDocumentClient({ endpoint });
  const applier = { clientId: 'applier', clientSecret: 'a' };
  const proposers = [1, 2, 3, 4, 5].map((n) => ({ clientId: `proposer-${n}`, clientSecret: `p${n}` }));
  const emulator = new IscEmulator({ integrations: changes, clients: [applier, ...proposers] });
  const url = await emulator.start();
  try {
    const requests = new DynamoChangeRequestStore(db, table);
    const vault = { stash: async () => undefined, load: async () => ({}), discard: async () => undefined };
    const queue = new LocalFifoQueue({ visibilityTimeoutMs: 1_000 });
    const changeDeps = { requests, vault, queue, clock: systemClock, newId: randomUUID, sealKey: async () => fingerprintKey };
    const normalise = { tenant: 'bench', secretPolicy: new SecretPolicy(), hmacKey: fingerprintKey };
    const history = new DynamoSnapshotStore(db, table);
    const contexts = proposers.map((credentials) => ({
      tenant: 'bench',
      isc: new HttpIscClient({ tenantUrl: url, credentials }),
      history,
      normalise,
    }));
    const ids = emulator.state.ids();
    for (const [i, id] of ids.entries()) {
      const request = await propose(
        { kind: 'patch', integrationId: id, patch: [{ op: 'replace', path: '/description', value: 'bench' }] },
        'alice',
        'bench',
        contexts[i % contexts.length] as (typeof contexts)[number],
        changeDeps,
      );
      await approveRequest(request.id, 'bob', changeDeps);
    }
    const applying = new HttpIscClient({ tenantUrl: url, credentials: applier });
    const applyDeps = {
      requests,
      vault,
      notifier: silent,
      clock: systemClock,
      tenantFor: async () => ({ isc: applying, normalise }),
      deadLetters: queue,
      maxReceiveCount: 5,
    };
    const before = emulator.requests.length;
    const started = performance.now();
    await queue.drain((event) => applyMain(event, applyDeps), 3_600_000);
    const seconds = (performance.now() - started) / 1000;
    const served = emulator.requests.slice(before).filter((r) => r.clientId === applier.clientId);
    const applied = (await requests.list({ tenant: 'bench' })).filter((r) => r.status === 'applied').length;
    if (applied !== changes) throw new Error(`${applied} of ${changes} changes were applied`);
    return {
      changes,
      seconds,
      perMinute: (changes / seconds) * 60,
      iscRequests: served.length,
      rateLimited: served.filter((r) => r.status === 429).length,
      requestsPerChange: served.length / changes,
    };
  } finally {
    await emulator.stop();
    db.destroy();
  }
}

/** 100 tenants × 100 integrations through the local runtime's scheduler, every tenant at once. */
export async function benchScaleOut(endpoint: string, tenants: number, integrations: number, latencyMs: number) {
  const table = `bench-scale-${randomUUID()}`;
  await ensureTable(endpoint, table);
  const db = createDocumentClient({ endpoint });
  const client = { clientId: 'bench', clientSecret: 's' };
  const emulators = await Promise.all(
    Array.from({ length: tenants }, async (_, i) => {
      const emulator = new IscEmulator({ integrations, seed: i + 1, clients: [client], latencyMs });
      return { emulator, url: await emulator.start(), name: `tenant-${String(i).padStart(3, '0')}` };
    }),
  );
  try {
    const directory = new DynamoTenantDirectory(db, table);
    for (const e of emulators) await directory.put({ name: e.name, url: e.url, apiVersion: 'v1' });
    const secrets: SecretsPort = { tenantCredentials: async () => client, fingerprintKey: async () => fingerprintKey };
    const store = new DynamoSnapshotStore(db, table);
    const deps = { tenants: directory, store, secrets, notifier: silent, clock: systemClock, settings: DEFAULT_SETTINGS };
    const perTenant = new Map<string, number>();
    const scheduler = new TenantScheduler(
      async () => emulators.map((e) => e.name),
      async (tenant) => {
        const started = performance.now();
        await snapshotMain({ tenant }, deps);
        perTenant.set(tenant, performance.now() - started);
      },
      60_000,
    );
    const tick = async () => {
      perTenant.clear();
      const started = performance.now();
      await scheduler.tick();
      return { totalMs: performance.now() - started, slowestMs: Math.max(...perTenant.values()), tenants: perTenant.size };
    };
    return { first: await tick(), steady: await tick() };
  } finally {
    await Promise.all(emulators.map((e) => e.emulator.stop()));
    db.destroy();
  }
}
