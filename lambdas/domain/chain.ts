import type { Attribution } from './attribution';
import { canonicalJson, sha256Hex } from './canonical';
import type { ChangeKind } from './detect';
import type { ResourceKey } from './resources';

export const GENESIS_HASH = '0'.repeat(64);

/** One line of a snapshot's change list: enough to replay the manifest and to find the version written. */
export interface ChainedChange {
  readonly key: ResourceKey;
  /** Display name when the change was recorded, so evidence reads without a lookup. */
  readonly name?: string;
  readonly change: ChangeKind;
  readonly fromHash: string | null;
  readonly toHash: string | null;
  /** The resource version this change wrote; for a removal, the tombstone version. */
  readonly version: number;
  /** Recorded in the chain so exported evidence of how a change was judged cannot be edited afterwards. */
  readonly severity?: 'low' | 'medium' | 'high';
  readonly classification?: 'expected' | 'accepted' | 'unexpected' | 'restored' | 'repoint';
  readonly requestId?: string;
  /** Who made it, as the audit events known when it was recorded said; a late event is added as an annotation. */
  readonly attribution?: Attribution;
}

export interface SnapshotLink {
  readonly tenant: string;
  readonly seq: number;
  readonly snapshotId: string;
  readonly takenAt: string;
  readonly prevHash: string;
  /** Hash of the sorted (key, contentHash) list of every resource after this snapshot. */
  readonly manifestHash: string;
  readonly resourceCount: number;
  readonly changes: readonly ChainedChange[];
}

export interface ChainedSnapshot extends SnapshotLink {
  readonly hash: string;
  /**
   * Set only when the stored record's `seq` attribute is not the number in its key (written by hand): the key's number
   * is `seq`, this is what the attribute said.
   */
  readonly seqAttribute?: unknown;
}

export function snapshotHash(link: SnapshotLink): string {
  const { tenant, seq, snapshotId, takenAt, prevHash, manifestHash, resourceCount, changes } = link;
  return sha256Hex(canonicalJson({ tenant, seq, snapshotId, takenAt, prevHash, manifestHash, resourceCount, changes }));
}

export function manifestHash(manifest: ReadonlyMap<ResourceKey, string>): string {
  const entries = [...manifest.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return sha256Hex(canonicalJson(entries));
}

/** Which version of each resource was current after snapshot `seq`, replayed from the change lists. */
export function versionsAt(
  snapshots: readonly ChainedSnapshot[],
  seq: number,
): Map<ResourceKey, { version: number; hash: string; name?: string }> {
  const state = new Map<ResourceKey, { version: number; hash: string; name?: string }>();
  for (const snapshot of snapshots) {
    if (snapshot.seq > seq) break;
    for (const c of snapshot.changes) {
      if (c.change === 'removed') state.delete(c.key);
      else state.set(c.key, { version: c.version, hash: c.toHash as string, name: c.name });
    }
  }
  return state;
}

export function applyChanges(manifest: Map<ResourceKey, string>, changes: readonly ChainedChange[]): void {
  for (const c of changes) {
    if (c.change === 'removed') manifest.delete(c.key);
    else manifest.set(c.key, c.toHash as string);
  }
}

export interface StoredVersionForVerify {
  readonly key: ResourceKey;
  readonly version: number;
  readonly seq: number;
  readonly storedHash: string | null;
  /** Hash recomputed from the stored document; null for a tombstone. */
  readonly recomputedHash: string | null;
}

export interface ChainVerdict {
  readonly ok: boolean;
  readonly snapshotsChecked: number;
  readonly versionsChecked: number;
  readonly firstBroken?: { readonly seq: number; readonly reason: string };
}

/**
 * Recomputes every link: each snapshot's hash, its link to the previous one, the manifest it claims (replayed from
 * the change lists), and every version it wrote (re-hashed from the stored document). The first break is reported.
 * `linksOnly` leaves the versions out: the records alone, as the snapshot checks them before replaying heads.
 */
export function verifyChain(
  snapshots: readonly ChainedSnapshot[],
  versions: readonly StoredVersionForVerify[],
  options: { readonly linksOnly?: boolean } = {},
): ChainVerdict {
  const byVersion = new Map(versions.map((v) => [`${v.key}#${v.version}`, v]));
  const manifest = new Map<ResourceKey, string>();
  let prevHash = GENESIS_HASH;
  let versionsChecked = 0;
  const broken = (seq: number, reason: string, checked: number): ChainVerdict => ({
    ok: false,
    snapshotsChecked: checked,
    versionsChecked,
    firstBroken: { seq, reason },
  });
  for (const [index, snapshot] of snapshots.entries()) {
    // (The replay takes numbers from the keys: a retyped attribute matters to verify, not to a links-only check.)
    if (snapshot.seqAttribute !== undefined && !options.linksOnly)
      return broken(
        snapshot.seq,
        `the snapshot record was altered: its seq attribute is ${JSON.stringify(snapshot.seqAttribute)}, its key says ${snapshot.seq}`,
        index,
      );
    if (snapshot.seq !== index + 1)
      return broken(snapshot.seq, `expected snapshot #${index + 1} here, found #${snapshot.seq} (one is missing)`, index);
    if (snapshot.prevHash !== prevHash) return broken(snapshot.seq, 'prevHash does not match the previous snapshot', index);
    if (snapshotHash(snapshot) !== snapshot.hash)
      return broken(snapshot.seq, 'the snapshot record was altered: its hash does not match its content', index);
    for (const change of options.linksOnly ? [] : snapshot.changes) {
      const stored = byVersion.get(`${change.key}#${change.version}`);
      if (!stored) return broken(snapshot.seq, `version ${change.version} of ${change.key} is missing`, index);
      if (stored.storedHash !== change.toHash || stored.recomputedHash !== change.toHash) {
        return broken(
          snapshot.seq,
          `version ${change.version} of ${change.key} was altered: its content no longer hashes to ${change.toHash}`,
          index,
        );
      }
      versionsChecked++;
    }
    applyChanges(manifest, snapshot.changes);
    if (manifestHash(manifest) !== snapshot.manifestHash)
      return broken(snapshot.seq, 'the manifest does not match the changes recorded so far', index);
    if (manifest.size !== snapshot.resourceCount) return broken(snapshot.seq, 'the resource count does not match the manifest', index);
    prevHash = snapshot.hash;
  }
  if (options.linksOnly) return { ok: true, snapshotsChecked: snapshots.length, versionsChecked };
  const referenced = new Set(snapshots.flatMap((s) => s.changes.map((c) => `${c.key}#${c.version}`)));
  const lastSeq = snapshots.at(-1)?.seq ?? 0;
  const stray = versions.find((v) => v.seq <= lastSeq && !referenced.has(`${v.key}#${v.version}`));
  if (stray)
    return broken(stray.seq, `version ${stray.version} of ${stray.key} is not recorded by any snapshot (inserted?)`, snapshots.length);
  return { ok: true, snapshotsChecked: snapshots.length, versionsChecked };
}
