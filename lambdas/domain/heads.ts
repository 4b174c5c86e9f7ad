import { manifestHash } from './chain';
import type { KnownResource } from './detect';
import { parseResourceKey, type ResourceKey } from './resources';

/** The manifest hash the stored heads describe: what the latest chained record's `manifestHash` must be. */
export function headsManifestHash(known: ReadonlyMap<ResourceKey, KnownResource>): string {
  return manifestHash(new Map([...known.values()].map((k) => [k.key, k.contentHash])));
}

/** The heads as the chain's change lists replay them (what the heads must be), for a snapshot that cannot trust them. */
export function knownFromChain(
  replayed: ReadonlyMap<ResourceKey, { readonly version: number; readonly hash: string; readonly name?: string }>,
): Map<ResourceKey, KnownResource> {
  const out = new Map<ResourceKey, KnownResource>();
  for (const [key, r] of replayed) {
    const { kind, id } = parseResourceKey(key);
    out.set(key, { key, ref: { kind, id, name: r.name ?? id }, contentHash: r.hash, version: r.version });
  }
  return out;
}

/** Keys whose head differs from the chain (missing, extra, other hash or version), sorted. */
export function headsDiffering(
  heads: ReadonlyMap<ResourceKey, KnownResource>,
  chain: ReadonlyMap<ResourceKey, KnownResource>,
): ResourceKey[] {
  const keys = new Set([...heads.keys(), ...chain.keys()]);
  return [...keys]
    .filter((k) => {
      const h = heads.get(k);
      const c = chain.get(k);
      return !h || !c || h.contentHash !== c.contentHash || h.version !== c.version;
    })
    .sort();
}
