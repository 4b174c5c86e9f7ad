import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDocumentClient } from '../../lambdas/adapters/dynamodb/clients';
import { DynamoSnapshotStore } from '../../lambdas/adapters/dynamodb/snapshot-store';
import { SecretPolicy } from '../../lambdas/domain/secrets';
import { SeverityRules } from '../../lambdas/domain/severity';
import { HttpIscClient } from '../../lambdas/isc/client';
import type { Clock } from '../../lambdas/ports/clock';
import type { Notifier } from '../../lambdas/ports/notifier';
import { type SnapshotDeps, takeSnapshot } from '../../lambdas/use-cases/take-snapshot';
import { verifyHistory } from '../../lambdas/use-cases/verify-history';
import { LocalAnchorFile } from '../anchor-file';
import { ensureTable } from '../dynamodb-local';
import { IscEmulator } from '../emulator/server';

export interface VerifyFigure {
  readonly snapshots: number;
  readonly integrations: number;
  readonly versions: number;
  readonly journalEntries: number;
  readonly anchors: number;
  /** Median of three full verifies: chains, versions re-hashed, journal and items, and every anchor compared. */
  readonly withAnchorsMs: number;
  /** The same without the anchor file: what the anchors add. */
  readonly tableOnlyMs: number;
  readonly ok: boolean;
}

const silent: Notifier = { publish: async () => undefined };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/**
 * `snapshots` snapshots of one tenant (every 10th one with an edit, which opens a drift: a journal entry), each
 * anchored in a local anchor file, then `verify` timed over the whole history, with and without the anchors.
 */
export async function benchVerify(endpoint: string, snapshots = 1000, integrations = 25): Promise<VerifyFigure> {
  const table = `bench-verify-${randomUUID()}`;
  await ensureTable(endpoint, table);
  const db = createDocumentClient({ endpoint });
  const client = { clientId: 'bench', clientSecret: 's' };
  const emulator = new IscEmulator({ integrations, clients: [client], rateLimit: false, seed: 3 });
  const url = await emulator.start();
  const dir = mkdtempSync(join(tmpdir(), 'sdim-bench-anchors-'));
  // Fifteen minutes apart, as deployed, so the history spans ten days and no record is "unanchored".
  let now = Date.parse('2026-01-01T00:00:00Z');
  const clock: Clock = { now: () => new Date(now) };
  const store = new DynamoSnapshotStore(db, table, clock.now);
  const anchors = new LocalAnchorFile(dir);
  const deps: SnapshotDeps = {
    isc: new HttpIscClient({ tenantUrl: url, credentials: client, rateLimit: false }),
    store,
    ledger: store,
    notifier: silent,
    clock,
    newId: randomUUID,
    fingerprintKey: randomBytes(32),
    secretPolicy: new SecretPolicy(),
    severityRules: new SeverityRules(),
    anchors,
  };
  try {
    const ids = emulator.state.ids();
    for (let i = 1; i <= snapshots; i++) {
      if (i % 10 === 0) {
        const id = ids[(i / 10) % ids.length] as string;
        emulator.state.replace(id, { ...emulator.state.get(id), description: `edit ${i}` });
      }
      await takeSnapshot('bench', deps);
      now += 15 * 60_000;
    }
    const options = { now: new Date(now) };
    const timed = async (withAnchors: boolean) => {
      const times: number[] = [];
      let verdict: Awaited<ReturnType<typeof verifyHistory>> | undefined;
      for (let run = 0; run < 3; run++) {
        const started = performance.now();
        verdict = await verifyHistory(store, 'bench', withAnchors ? { ...options, anchors } : options);
        times.push(performance.now() - started);
      }
      return { ms: median(times), verdict: verdict as Awaited<ReturnType<typeof verifyHistory>> };
    };
    const anchored = await timed(true);
    const tableOnly = await timed(false);
    return {
      snapshots,
      integrations,
      versions: anchored.verdict.versionsChecked,
      journalEntries: anchored.verdict.journalEntriesChecked,
      anchors: anchored.verdict.anchors?.anchorsChecked ?? 0,
      withAnchorsMs: anchored.ms,
      tableOnlyMs: tableOnly.ms,
      ok: anchored.verdict.ok,
    };
  } finally {
    await emulator.stop();
    db.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}
