import type { JsonObject } from '../domain/canonical';
import { verifyChain, versionsAt } from '../domain/chain';
import type { KnownResource } from '../domain/detect';
import { headsDiffering, headsManifestHash, knownFromChain } from '../domain/heads';
import { hashOf } from '../domain/normalise';
import type { ResourceKey } from '../domain/resources';
import { ConcurrentSnapshotError, type SnapshotStore, type TenantState } from '../ports/snapshot-store';

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
  // A chain read that does not reach the latest record yet (reads are eventually consistent; another run just
  // committed) is no evidence of anything: this run stops as if it had lost the race, and the next one goes on.
  if ((records.at(-1)?.seq ?? 0) < latest.seq)
    throw new ConcurrentSnapshotError(
      `the snapshot records read for tenant ${tenant} end before #${latest.seq}, which another run has just committed; the next run goes on`,
    );
  // The change lists are plain item attributes too: replayed only if every record still hashes, links and claims the
  // manifest its changes give, up to the latest one. Otherwise there is nothing left to compare ISC with: stop loudly.
  const links = verifyChain(records, [], { linksOnly: true });
  if (!links.ok || records.at(-1)?.manifestHash !== latest.manifestHash)
    throw new Error(
      `the stored heads disagree with the manifest of snapshot #${latest.seq}, and the chain they would be rebuilt from does not verify (${links.firstBroken ? `snapshot #${links.firstBroken.seq}: ${links.firstBroken.reason}` : `snapshot #${latest.seq} was read with another manifest`}): the table was edited by hand. This run recorded nothing; run 'sdim-guard verify' and restore the edited items (the table keeps point-in-time recovery)`,
    );
  const chain = knownFromChain(versionsAt(records, latest.seq));
  const wrong = headsDiffering(state.known, chain);
  const shown = wrong.slice(0, 10).join(', ') + (wrong.length > 10 ? ` and ${wrong.length - 10} more` : '');
  return {
    state: { ...state, known: chain },
    headsWarning: `the stored heads disagree with the manifest of snapshot #${latest.seq} (${wrong.length} wrong: ${shown}); this run compared ISC with the chain's change lists instead. Heads are plain table items: someone wrote them, or a write was lost`,
  };
}

/**
 * The stored content of each head's version, checked against the head's hash. A head's `version` (and the `V#` item
 * it names) is no part of the manifest check above: a head whose hash is right but whose version names an older
 * version (or a version item whose content was replaced) would have the change described against other content — an
 * owner put back to an old value would show as no owner change at all. Content that does not hash to the head's hash
 * is looked up again at the version the chain names; what still does not match is returned as `suspect` (the caller
 * reports the change with no patch, as high).
 */
export async function checkedContents(
  tenant: string,
  state: TenantState,
  keys: readonly ResourceKey[],
  store: Pick<SnapshotStore, 'loadContents' | 'snapshotChain'>,
): Promise<{ contents: Map<ResourceKey, JsonObject>; suspect: ResourceKey[]; warning?: string }> {
  const head = (key: ResourceKey) => state.known.get(key) as KnownResource;
  const contents = await store.loadContents(
    tenant,
    keys.map((key) => ({ key, version: head(key).version })),
  );
  const matches = (key: ResourceKey) => {
    const content = contents.get(key);
    // The hash as either setting of ignoreReferenceNames gives it: the setting may have changed since it was stored.
    return (
      content !== undefined && [true, false].some((ignore) => hashOf(content, { ignoreReferenceNames: ignore }) === head(key).contentHash)
    );
  };
  const wrong = keys.filter((key) => !matches(key));
  const latest = state.latest;
  if (wrong.length === 0 || !latest) return { contents, suspect: wrong };
  const chain = versionsAt(
    (await store.snapshotChain(tenant)).filter((r) => r.seq <= latest.seq),
    latest.seq,
  );
  const retry = wrong.flatMap((key) => {
    const named = chain.get(key);
    return named && named.hash === head(key).contentHash && named.version !== head(key).version ? [{ key, version: named.version }] : [];
  });
  if (retry.length > 0) for (const [key, content] of await store.loadContents(tenant, retry)) contents.set(key, content);
  const suspect = wrong.filter((key) => !matches(key));
  const shown = (list: readonly ResourceKey[]) => list.slice(0, 10).join(', ') + (list.length > 10 ? ` and ${list.length - 10} more` : '');
  return {
    contents,
    suspect,
    warning: `the stored content named by ${wrong.length} head(s) does not hash to the head's hash (${shown(wrong)}): ${
      suspect.length === 0
        ? "the heads' versions are not the chain's; this run described the changes against the versions the chain names"
        : `no stored version matches for ${shown(suspect)}, so their changes are reported as high with no patch`
    }. Heads and versions are plain table items: someone wrote them`,
  };
}
