import { randomBytes, randomUUID } from 'node:crypto';
import { createDocumentClient } from '../../lambdas/adapters/dynamodb/clients';
import { DynamoSnapshotStore } from '../../lambdas/adapters/dynamodb/snapshot-store';
import { SecretPolicy } from '../../lambdas/domain/secrets';
import { SeverityRules } from '../../lambdas/domain/severity';
import { HttpIscClient } from '../../lambdas/isc/client';
import { systemClock } from '../../lambdas/ports/clock';
import { takeSnapshot } from '../../lambdas/use-cases/take-snapshot';
import { ensureTable } from '../dynamodb-local';
import { IscEmulator } from '../emulator/server';

export interface AttributionFigure {
  readonly run: string;
  readonly changes: number;
  readonly attributed: number;
  readonly searchRequests: number;
  readonly iscRequests: number;
}

/**
 * What attribution costs ISC: search requests per snapshot with no change, with edits by three people, and on the run
 * after an event that was indexed late. The goal: at most one per snapshot.
 */
export async function benchAttribution(endpoint: string, integrations: number): Promise<AttributionFigure[]> {
  const table = `bench-attribution-${randomUUID()}`;
  await ensureTable(endpoint, table);
  const guard = { clientId: 'bench-guard', clientSecret: 's', identity: 'sdim.guard' };
  const people = ['alice', 'bob', 'mallory'].map((name) => ({ clientId: `${name}-pat`, clientSecret: 's', identity: name }));
  const emulator = new IscEmulator({ integrations, clients: [guard, ...people], rateLimit: false });
  const url = await emulator.start();
  const store = new DynamoSnapshotStore(createDocumentClient({ endpoint }), table);
  const isc = new HttpIscClient({ tenantUrl: url, credentials: guard, rateLimit: false });
  const deps = {
    isc,
    auditEvents: isc,
    store,
    ledger: store,
    notifier: { publish: async () => undefined },
    clock: systemClock,
    newId: randomUUID,
    fingerprintKey: randomBytes(32),
    secretPolicy: new SecretPolicy(),
    severityRules: new SeverityRules(),
  };
  const edit = async (count: number, label: string) => {
    const ids = emulator.state.ids();
    for (let i = 0; i < count; i++) {
      const person = people[i % people.length] as (typeof people)[number];
      const client = new HttpIscClient({ tenantUrl: url, credentials: person, rateLimit: false });
      await client.patchIntegration(ids[(i * 37) % ids.length] as string, [
        { op: 'replace', path: '/description', value: `${label} ${i}` },
      ]);
    }
  };
  const figures: AttributionFigure[] = [];
  const run = async (name: string) => {
    const result = await takeSnapshot('bench', deps);
    figures.push({
      run: name,
      changes: result.changes.length,
      attributed:
        result.changes.filter((c) => c.attribution && c.attribution.confidence !== 'unknown').length +
        (result.lateAttributions?.length ?? 0),
      searchRequests: result.stats.searchRequests,
      iscRequests: result.stats.iscRequests,
    });
  };
  try {
    await takeSnapshot('bench', deps);
    await run('unchanged');
    await edit(Math.max(3, Math.floor(integrations / 100)), 'edited');
    await run('1 % edited by 3 people');
    emulator.events.indexingDelayMs = 60_000;
    await edit(3, 'late');
    await run('3 edits, events not yet indexed');
    emulator.events.indexPending();
    await run('next run (late events now indexed)');
  } finally {
    await emulator.stop();
  }
  return figures;
}
