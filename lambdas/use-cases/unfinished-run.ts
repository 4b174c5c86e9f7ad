import { parseResourceKey } from '../domain/resources';
import {
  ConcurrentSnapshotError,
  DriftChangedError,
  type DriftRecord,
  type SnapshotStore,
  type TenantState,
} from '../ports/snapshot-store';

/**
 * A large snapshot that has committed but not marked its heads synced is still running if it is younger than this:
 * the snapshot function times out after 5 minutes (lib/snapshot-schedule.ts); older, the run died.
 */
export const UNFINISHED_AFTER_MS = 10 * 60_000;

/**
 * Finishes the drift work of a large snapshot that died after its commit (TenantState.unfinished): its heads are
 * rolled forward by loadState, but its drift items, written after the heads, may be missing, and then its unexpected
 * changes would be in the chain with no drift and no alert (the next run sees no change). From its committed change
 * list: every `unexpected` change without a drift item of that snapshot gets one (alert pending, so this run alerts;
 * the patch is not recomputed), and drifts its expected, restored or repoint changes closed are closed. Each write is
 * journalled. Then the record is marked synced. A younger unfinished snapshot may still be running: this run stops.
 */
export async function finishUnfinished(
  tenant: string,
  state: TenantState,
  store: Pick<SnapshotStore, 'putDrift' | 'deleteDrift' | 'markHeadsSynced'>,
  now: Date,
  by: string,
): Promise<TenantState> {
  const run = state.unfinished;
  if (!run) return state;
  // Only a record dated within the last ten minutes (a minute of clock skew allowed) can be a live run: `takenAt` and
  // the flags are plain attributes, and one dated in the future by hand must not stop every later run.
  const age = now.getTime() - Date.parse(run.takenAt);
  if (age > -60_000 && age < UNFINISHED_AFTER_MS)
    throw new ConcurrentSnapshotError(
      `snapshot #${run.seq} of ${tenant} (taken at ${run.takenAt}) is still writing its heads and drift items; a later run finishes it if it died`,
    );
  const at = now.toISOString();
  const evidence = { snapshotSeq: run.seq, snapshotId: run.snapshotId, finishedLate: true };
  const drifts = new Map(state.drifts.map((d) => [d.key, d]));
  const close = async (key: string, reason: string) => {
    await store.deleteDrift(tenant, key, { at, by, reason, data: evidence });
    drifts.delete(key);
  };
  for (const change of run.changes) {
    const existing = drifts.get(change.key);
    if (change.classification === 'unexpected') {
      if (existing && existing.snapshotSeq >= run.seq) continue;
      const { kind, id } = parseResourceKey(change.key);
      const drift: DriftRecord = {
        key: change.key,
        resource: { kind, id, name: change.name ?? id },
        change: change.change,
        fromHash: change.fromHash,
        toHash: change.toHash,
        patch: [],
        severity: change.severity ?? 'high',
        detectedAt: run.takenAt,
        snapshotSeq: run.seq,
        status: 'open',
        alert: 'pending',
        alertReason: 'new-drift',
        ...(change.attribution ? { attribution: change.attribution } : {}),
      };
      // Another run finishing the same dead run at the same time opens it once, not twice.
      const opened = await store
        .putDrift(tenant, drift, { type: 'drift-opened', at, by, data: evidence }, { ifNoDriftSince: run.seq })
        .then(
          () => true,
          (error: Error) => {
            if (error instanceof DriftChangedError) return false;
            throw error;
          },
        );
      if (opened) drifts.set(change.key, drift);
    } else if (existing && existing.snapshotSeq < run.seq) {
      if (change.classification === 'expected') await close(change.key, 'an applied change request explains the current state');
      else if (change.classification === 'restored') await close(change.key, 'the resource is back in the state it had before the drift');
    }
  }
  if (run.changes.some((c) => c.classification === 'repoint'))
    for (const d of [...drifts.values()]) if (d.snapshotSeq < run.seq) await close(d.key, 'the tenant was repointed');
  await store.markHeadsSynced(tenant, run.seq);
  const { unfinished: _done, ...rest } = state;
  return { ...rest, drifts: [...drifts.values()] };
}
