import { versionsAt } from '../domain/chain';
import { headsDiffering, headsManifestHash, knownFromChain } from '../domain/heads';
import type { SnapshotStore, TenantState } from '../ports/snapshot-store';

/**
 * The tenant state with heads the snapshot may trust. Heads (`H#`) are plain items any role that writes `T#<tenant>`
 * may put, and a head showing the hash a planned hand edit will produce would hide that edit (no change detected).
 * So the heads are compared with the latest chained record's manifest hash (one hash over them, no read); when they
 * disagree (twice: a run committing between the two reads is not tampering), this run takes the heads from the
 * chain's change lists instead (one Query of the snapshot records) and says which heads were wrong. The commit then
 * writes correct heads for every resource that changed; a wrong head of an unchanged resource is reported again by the
 * next run.
 */
export async function checkedState(
  tenant: string,
  store: Pick<SnapshotStore, 'loadState' | 'snapshotChain'>,
): Promise<{ state: TenantState; headsWarning?: string }> {
  const agrees = (s: TenantState) => !s.latest || headsManifestHash(s.known) === s.latest.manifestHash;
  let state = await store.loadState(tenant, { syncHeads: true });
  if (agrees(state)) return { state };
  state = await store.loadState(tenant, { syncHeads: true });
  const latest = state.latest;
  if (!latest || agrees(state)) return { state };
  const records = (await store.snapshotChain(tenant)).filter((r) => r.seq <= latest.seq);
  const chain = knownFromChain(versionsAt(records, latest.seq));
  const wrong = headsDiffering(state.known, chain);
  const shown = wrong.slice(0, 10).join(', ') + (wrong.length > 10 ? ` and ${wrong.length - 10} more` : '');
  return {
    state: { ...state, known: chain },
    headsWarning: `the stored heads disagree with the manifest of snapshot #${latest.seq} (${wrong.length} wrong: ${shown}); this run compared ISC with the chain's change lists instead. Heads are plain table items: someone wrote them, or a write was lost`,
  };
}
