import { detectionSeq, unbackedReason } from '../domain/classify';
import type { DetectedChange, KnownResource } from '../domain/detect';
import type { ResourceKey } from '../domain/resources';
import type { DriftRecord, SnapshotStore, TenantState } from '../ports/snapshot-store';

/** A drift item that would have excused a change (acceptance) or closed it (restored) but is not the flow's own. */
export interface UnbackedDrift {
  readonly key: ResourceKey;
  readonly use: 'acceptance' | 'restoring';
  readonly reason: string;
  readonly message: string;
}

/**
 * The standing drift items this run may rely on. Any role that writes `T#<tenant>` items can put a drift item (an
 * acceptance ready for a hash a planned hand edit will produce, or an open drift whose "before" is that hash) with a
 * matching journal entry, so a drift item is trusted only when the chain backs it (`unbackedReason`). Only the drift
 * items that would decide a change of this run are checked: one BatchGet of their detection records (and the record
 * after each), nothing for an unchanged tenant.
 */
export async function untrustedDrifts(
  tenant: string,
  detected: readonly DetectedChange[],
  state: TenantState,
  store: Pick<SnapshotStore, 'snapshotRecords'>,
): Promise<UnbackedDrift[]> {
  const driftByKey = new Map(state.drifts.map((d) => [d.key, d]));
  const relevant: Array<{ change: DetectedChange; drift: DriftRecord; use: UnbackedDrift['use'] }> = [];
  for (const change of detected) {
    const drift = driftByKey.get(change.key);
    if (!drift) continue;
    if (drift.status === 'accepted' && drift.acceptance?.key === change.key && drift.acceptance.contentHash === change.toHash)
      relevant.push({ change, drift, use: 'acceptance' });
    else if (change.toHash === drift.fromHash) relevant.push({ change, drift, use: 'restoring' });
  }
  if (relevant.length === 0) return [];
  const latest = state.latest;
  const seqs = new Set<number>();
  for (const { drift } of relevant) {
    const seq = detectionSeq(drift);
    if (!Number.isInteger(seq) || seq < 1) continue;
    seqs.add(seq);
    if (latest && seq < latest.seq) seqs.add(seq + 1);
  }
  const records = await store.snapshotRecords(tenant, [...seqs]);
  const out: UnbackedDrift[] = [];
  for (const { change, drift, use } of relevant) {
    const seq = detectionSeq(drift);
    const head: KnownResource | undefined = state.known.get(change.key);
    const reason = unbackedReason(drift, {
      detection: records.get(seq),
      next: latest && seq === latest.seq ? 'latest' : records.get(seq + 1),
      latestHash: latest?.hash,
      change,
      headVersion: head?.version,
    });
    // acceptDrifts accepts exactly the drifted state; an acceptance of any other state was not made through it.
    const accepted = drift.acceptance?.contentHash;
    const wrongState =
      use === 'acceptance' && !reason && accepted !== drift.toHash
        ? `it accepts ${accepted === null ? 'nothing' : `${String(accepted).slice(0, 12)}…`}, not the state the drift recorded`
        : undefined;
    if (!reason && !wrongState) continue;
    const what =
      use === 'acceptance'
        ? `the acceptance of ${change.key} (by ${drift.acceptance?.by ?? '?'} at ${drift.acceptance?.at ?? '?'})`
        : `the drift item of ${change.key} that would call this change a return to its earlier state`;
    out.push({
      key: change.key,
      use,
      reason: (reason ?? wrongState) as string,
      message: `${what} is not backed by a detected drift: ${reason ?? wrongState}; the change is treated as unexpected drift`,
    });
  }
  return out;
}
