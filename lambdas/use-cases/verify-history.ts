import { type ChainVerdict, verifyChain } from '../domain/chain';
import { hashOf } from '../domain/normalise';
import type { SnapshotStore } from '../ports/snapshot-store';

/** Re-reads a tenant's whole history and recomputes every hash; what an auditor runs. */
export async function verifyHistory(
  store: SnapshotStore,
  tenant: string,
  options: { ignoreReferenceNames?: boolean } = {},
): Promise<ChainVerdict> {
  const [snapshots, versions] = await Promise.all([store.listSnapshots(tenant), store.versionsWithContent(tenant)]);
  return verifyChain(
    snapshots,
    versions.map((v) => ({
      key: v.key,
      version: v.version,
      seq: v.seq ?? v.version,
      storedHash: v.contentHash,
      recomputedHash: v.content === null ? null : hashOf(v.content, { ignoreReferenceNames: options.ignoreReferenceNames ?? true }),
    })),
  );
}
