import { type ChainedSnapshot, snapshotHash } from './chain';
import type { DetectedChange } from './detect';
import type { ResourceKey } from './resources';

/**
 * `restored`: the resource went back to the state it had before its standing drift, which closes that drift;
 * `repoint`: the tenant was pointed at another ISC on purpose; every difference is the move, not drift.
 */
export type Classification = 'expected' | 'accepted' | 'unexpected' | 'restored' | 'repoint';

/**
 * An approved change request that was applied, as the apply flow registers it: one transition of one resource,
 * from `baseHash` to `resultHash` (snapshot content hashes). It explains that transition once, in one snapshot.
 */
export interface AppliedChange {
  readonly requestId: string;
  readonly key: ResourceKey;
  /** Content hash ISC held right before the apply; null for a creation (and absent on entries older than this field). */
  readonly baseHash?: string | null;
  /** Content hash ISC held right after the apply; null for a deletion. */
  readonly resultHash: string | null;
  readonly appliedAt: string;
}

/** What the previous snapshot tells about which ledger entries it already explained. */
export interface PreviousSnapshot {
  /** When its listing started (takenAt minus its fetch time): entries applied before that were seen by it. */
  readonly fetchStartedAt: string;
  readonly takenAt: string;
  /** Request ids its expected changes named. */
  readonly explained: ReadonlySet<string>;
}

/**
 * Ledger entries a snapshot may still use: each entry explains a transition in exactly one snapshot. An entry applied
 * before the previous snapshot's listing started was seen by that snapshot (explained or superseded); one applied
 * while it listed is eligible unless that snapshot named it; anything later is eligible.
 */
export function eligibleEntries(applied: readonly AppliedChange[], previous: PreviousSnapshot | undefined): AppliedChange[] {
  if (!previous) return [...applied];
  const fetchStart = Date.parse(previous.fetchStartedAt);
  const takenAt = Date.parse(previous.takenAt);
  return applied.filter((a) => {
    const at = Date.parse(a.appliedAt);
    if (at < fetchStart) return false;
    if (at <= takenAt) return !previous.explained.has(a.requestId);
    return true;
  });
}

/**
 * The applied changes that together explain `from → to` on `key`, in the order they were applied (each one's base is
 * the previous one's result); undefined when none do. Several requests applied between two snapshots compose.
 */
export function explainingChain(
  key: ResourceKey,
  from: string | null,
  to: string | null,
  applied: readonly AppliedChange[],
): AppliedChange[] | undefined {
  const entries = applied.filter((a) => a.key === key && a.baseHash !== undefined).sort((a, b) => a.appliedAt.localeCompare(b.appliedAt));
  const search = (start: number, at: string | null, path: AppliedChange[]): AppliedChange[] | undefined => {
    for (let i = start; i < entries.length; i++) {
      const entry = entries[i] as AppliedChange;
      if (entry.baseHash !== at) continue;
      const next = [...path, entry];
      if (entry.resultHash === to) return next;
      const longer = search(i + 1, entry.resultHash, next);
      if (longer) return longer;
    }
    return undefined;
  };
  return search(0, from, []);
}

/** An operator's acknowledgement that a resource may stay at `contentHash` until `until`. */
export interface Acceptance {
  readonly key: ResourceKey;
  readonly contentHash: string | null;
  readonly reason: string;
  readonly by: string;
  readonly at: string;
  readonly until: string;
}

export interface ClassifiedChange extends DetectedChange {
  readonly classification: Classification;
  readonly requestId?: string;
  readonly acceptance?: Acceptance;
}

export function isActive(acceptance: Acceptance, now: Date): boolean {
  return Date.parse(acceptance.until) > now.getTime();
}

/**
 * expected: the transition (old state → new state) is exactly what applied change requests produced, in order
 *   (pass only `eligibleEntries`, so an entry explains one snapshot's transition, never a later return to its state);
 * accepted: an unexpired acknowledgement covers exactly this state;
 * unexpected: anything else, and worth an alert.
 */
export function classify(
  change: DetectedChange,
  applied: readonly AppliedChange[],
  acceptances: readonly Acceptance[],
  now: Date,
): ClassifiedChange {
  const chain = explainingChain(change.key, change.fromHash, change.toHash, applied);
  if (chain) return { ...change, classification: 'expected', requestId: (chain.at(-1) as AppliedChange).requestId };
  const acceptance = acceptances.find((a) => a.key === change.key && a.contentHash === change.toHash && isActive(a, now));
  if (acceptance) return { ...change, classification: 'accepted', acceptance };
  return { ...change, classification: 'unexpected' };
}

/**
 * An unexpected change that takes a drifted resource back to the state it held before the drift (the last known
 * or accepted state) undoes the drift: it is `restored`, closes the drift and alerts nobody.
 */
export function restoring(change: ClassifiedChange, standingDrift: { readonly fromHash: string | null } | undefined): ClassifiedChange {
  if (change.classification !== 'unexpected' || !standingDrift) return change;
  return change.toHash === standingDrift.fromHash ? { ...change, classification: 'restored' } : change;
}

/** A standing drift item as the snapshot flow reads it back from the table (any role that writes `T#` may write one). */
export interface StandingDrift {
  readonly key: ResourceKey;
  readonly fromHash: string | null;
  readonly toHash: string | null;
  readonly snapshotSeq: number;
  /** The snapshot whose chained change list recorded this drift; absent on items older than the field (then `snapshotSeq`). */
  readonly detectedSeq?: number;
}

/** The snapshot that recorded a drift: `detectedSeq`, or `snapshotSeq` on items written before `detectedSeq` existed. */
export const detectionSeq = (drift: StandingDrift): number => drift.detectedSeq ?? drift.snapshotSeq;

/** What the snapshot flow knows when it checks a standing drift against the chain. */
export interface DriftBacking {
  /** The committed record at `detectionSeq(drift)`, if there is one. */
  readonly detection: ChainedSnapshot | undefined;
  /** The committed record after it, or `'latest'` when the detection is the chain head the new snapshot links to. */
  readonly next: ChainedSnapshot | 'latest' | undefined;
  /** The hash of the chain head (the new snapshot's prevHash). */
  readonly latestHash: string | undefined;
  /** The change being classified now: it must start from the drift's state, since nothing recorded came after it. */
  readonly change: DetectedChange;
  /** The version (snapshot seq) of the resource's head, undefined when it has none (removed). */
  readonly headVersion: number | undefined;
}

/**
 * Why a standing drift item is NOT the snapshot flow's own, still standing detection; undefined when it is. An
 * acceptance is honoured, and a return to the state before a drift called `restored`, only for a drift that is:
 * the chained record it names recorded exactly this change (key, from → to) as unexpected, that record's hash
 * recomputes and the next record (or the new snapshot) links to it, and the resource has not changed since that record
 * (the change being classified starts from the drifted state). A drift item put into the table by hand, or one of an
 * earlier, closed drift put back, fails this; only a rewrite of the chain itself (which `verify` and the anchors
 * catch) could pass it.
 */
export function unbackedReason(drift: StandingDrift, backing: DriftBacking): string | undefined {
  const seq = detectionSeq(drift);
  const { detection, next } = backing;
  if (!detection || detection.seq !== seq) return `no committed snapshot #${seq} recorded it`;
  if (snapshotHash(detection) !== detection.hash) return `snapshot #${seq} does not hash to its recorded hash`;
  const linked = next === 'latest' ? backing.latestHash === detection.hash : next?.prevHash === detection.hash;
  if (!linked) return `snapshot #${seq} is not linked into the chain (the next record does not name its hash)`;
  const recorded = detection.changes.find((c) => c.key === drift.key);
  if (recorded?.classification !== 'unexpected' || recorded.fromHash !== drift.fromHash || recorded.toHash !== drift.toHash)
    return `snapshot #${seq} recorded no unexpected change of ${drift.key} from ${short(drift.fromHash)} to ${short(drift.toHash)}`;
  const sinceUnchanged =
    backing.change.fromHash === drift.toHash && (backing.headVersion === undefined ? drift.toHash === null : backing.headVersion === seq);
  if (!sinceUnchanged) return `${drift.key} changed after snapshot #${seq}, so that drift no longer stands`;
  return undefined;
}

const short = (hash: string | null) => (hash === null ? 'nothing' : `${hash.slice(0, 12)}…`);
