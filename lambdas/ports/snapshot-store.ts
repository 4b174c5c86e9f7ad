import type { Operation } from 'fast-json-patch';
import type { Attribution } from '../domain/attribution';
import type { JsonObject } from '../domain/canonical';
import type { ChainedChange, ChainedSnapshot } from '../domain/chain';
import type { Acceptance, AppliedChange, Classification } from '../domain/classify';
import type { ChangeKind, KnownResource } from '../domain/detect';
import type { JournalEntryInput, JournalEntryType } from '../domain/journal';
import type { NormalisedResource, ResourceKey, ResourceRef } from '../domain/resources';
import type { Severity } from '../domain/severity';
import type { Journal } from './journal';

export interface SnapshotStats {
  readonly iscRequests: number;
  readonly fetchMs: number;
  readonly totalMs: number;
  readonly itemsWritten: number;
}

/** A committed snapshot as stored: the chained record plus what the run measured. */
export interface StoredSnapshot extends ChainedSnapshot {
  readonly baseline: boolean;
  readonly stats?: Omit<SnapshotStats, 'itemsWritten'>;
  /** See SnapshotCommit.fullCheckDay (read back; absent on records written before it). */
  readonly fullCheckDay?: string;
  readonly fullCheckTag?: string;
}

/** The latest unexpected change of a resource, until it is accepted or superseded. */
export interface DriftRecord {
  readonly key: ResourceKey;
  readonly resource: ResourceRef;
  readonly change: ChangeKind;
  readonly fromHash: string | null;
  readonly toHash: string | null;
  readonly patch: Operation[];
  readonly severity: Severity;
  readonly detectedAt: string;
  readonly snapshotSeq: number;
  /**
   * The snapshot whose chained change list recorded this drift (a reopened drift keeps it while `snapshotSeq` names
   * the reopening run). Absent on items written before it existed: then `snapshotSeq` is taken.
   */
  readonly detectedSeq?: number;
  readonly status: 'open' | 'accepted';
  readonly acceptance?: Acceptance;
  /** Outbox state: an alert stays pending until the notifier took it, so a failed delivery is retried next run. */
  readonly alert: 'pending' | 'sent';
  /** Why the pending alert exists: a new drift, or an acceptance that ran out. */
  readonly alertReason?: 'new-drift' | 'acceptance-expired' | 'attributed';
  /** Who made the change: as known when detected, or from a later annotation (then `attributionAnnotatedAt` is set). */
  readonly attribution?: Attribution;
  readonly attributionAnnotatedAt?: string;
}

/** An attribution found after the change was recorded (its audit event was indexed late): a drift-annotated entry. */
export interface AttributionAnnotation {
  readonly key: ResourceKey;
  /** The snapshot that recorded the change. */
  readonly snapshotSeq: number;
  readonly attribution: Attribution;
  readonly annotatedAt: string;
  /** The snapshot run that found it. */
  readonly annotatedSeq: number;
}

export interface TenantState {
  readonly latest: StoredSnapshot | undefined;
  readonly known: ReadonlyMap<ResourceKey, KnownResource>;
  readonly drifts: readonly DriftRecord[];
  /**
   * With `syncHeads` only: the latest snapshot, committed in phases by a run that died before it marked its heads
   * synced, so its drift items (written after its heads) may be missing. Its heads are already rolled forward.
   */
  readonly unfinished?: StoredSnapshot;
}

/** The latest committed record as `chainTip` reads it. */
export interface ChainTip {
  readonly seq: number;
  readonly hash: string;
  readonly takenAt: string;
  readonly manifestHash: string;
  readonly resourceCount: number;
  /** false for a large snapshot whose run died before its heads and drift items were complete (TenantState.unfinished). */
  readonly finished: boolean;
  /** The seal the run that wrote it made of its fetch; absent on records written before seals, or by hand. */
  readonly listingSeal?: string;
  /** See SnapshotCommit.fullCheckDay; absent on records written before it. */
  readonly fullCheckDay?: string;
  /** See SnapshotCommit.pageHints. */
  readonly pageHints?: readonly string[];
}

export interface SnapshotCommit {
  readonly record: StoredSnapshot;
  /** New or changed resources, with their content: each becomes a version at `record.seq`. */
  readonly written: readonly NormalisedResource[];
  /** Keys removed in this snapshot: each gets a tombstone version. */
  readonly removed: readonly { key: ResourceKey; ref: ResourceRef }[];
  readonly driftsToPut: readonly DriftRecord[];
  readonly driftsToDelete: readonly ResourceKey[];
  /** Journal entries for the drift changes above (driftEntry / driftClosedEntry), written in the same commit. */
  readonly journal: readonly JournalEntryInput[];
  /** The raw-document digest each written head keeps (domain/raw-digest.ts); a head without one is normalised next run. */
  readonly rawDigests?: ReadonlyMap<ResourceKey, string>;
  /** Kept on the record item, outside what its hash covers (it is keyed, and bound to that hash itself). */
  readonly listingSeal?: string;
  /**
   * The UTC day (YYYY-MM-DD) on which the latest run up to this one started that normalised every integration and read
   * every head: a run started on another day does both (the daily full check). Kept on the record item.
   */
  readonly fullCheckDay?: string;
  /** RawDigests.fullCheckTag of this record and its fullCheckDay: only a holder of the digest key can move the day. */
  readonly fullCheckTag?: string;
  /**
   * The page digests of this run's listing (RawDigests.page): hints that let the next run start reading the heads as
   * soon as a page differs. Kept on the record item; trusted for nothing but when to start that read.
   */
  readonly pageHints?: readonly string[];
}

/** A head whose content is unchanged but whose raw digest is stale (the raw document or the settings moved). */
export interface RawDigestRefresh {
  readonly key: ResourceKey;
  /** The head is updated only while it still holds this hash and version. */
  readonly contentHash: string;
  readonly version: number;
  readonly rawDigest: string;
}

/** Why a drift item is written or removed outside a snapshot; journalled with it in one transaction. */
export interface DriftEvent {
  readonly type: Extract<JournalEntryType, `drift-${string}`>;
  readonly at: string;
  readonly by: string;
  /** Extra evidence for the journal entry (a reason, an attribution); never credential values. */
  readonly data?: JsonObject;
}

export interface StoredVersion {
  readonly key: ResourceKey;
  /** Set when the stored record is written by a snapshot. */
  readonly seq?: number;
  readonly ref: ResourceRef;
  /** The snapshot sequence number that recorded this version. */
  readonly version: number;
  readonly change: ChangeKind;
  readonly contentHash: string | null;
  readonly takenAt: string;
  readonly modified?: string;
}

export interface ChangeInTime extends ChainedChange {
  readonly seq: number;
  readonly takenAt: string;
  readonly classification?: Classification;
}

/** Versioned, hash-chained history of one tenant's guarded resources. */
export interface SnapshotStore {
  /** The tenant journal this store writes drift changes to (and others append to: see docs/data-model.md). */
  readonly journal: Journal;
  /**
   * The tenant's latest committed snapshot, heads and drift. When the latest large snapshot died between its commit and
   * its heads, the heads are rolled forward from its committed change list in the returned view; only with
   * `syncHeads` (the snapshot flow, whose grant may write them) are they also written back.
   */
  loadState(tenant: string, options?: { readonly syncHeads?: boolean }): Promise<TenantState>;
  /**
   * The latest committed snapshot record without its change list (one small read): its size lets the listing start at
   * once, its listing seal may spare the run the heads (domain/raw-digest.ts `seal`).
   */
  chainTip?(tenant: string): Promise<ChainTip | undefined>;
  /** The drift items alone (no heads, no records). */
  loadDrifts?(tenant: string): Promise<DriftRecord[]>;
  loadContents(tenant: string, refs: ReadonlyArray<{ key: ResourceKey; version: number }>): Promise<Map<ResourceKey, JsonObject>>;
  /** Writes the snapshot; throws ConcurrentSnapshotError if another run committed this sequence number first. */
  commit(tenant: string, commit: SnapshotCommit): Promise<{ itemsWritten: number }>;
  /**
   * After a commit: stores fresh raw digests in heads whose hash and version are still the given ones (any other head
   * is left alone). Only an optimisation for the next run; returns how many heads were updated.
   */
  refreshRawDigests?(tenant: string, heads: readonly RawDigestRefresh[]): Promise<number>;
  markAlertsSent(tenant: string, drifts: readonly DriftRecord[]): Promise<void>;
  /** Records that a large snapshot's heads and drift items are complete (see TenantState.unfinished). */
  markHeadsSynced(tenant: string, seq: number): Promise<void>;
  /** Late attributions of drifts, from the journal's drift-annotated entries, oldest first. */
  listAnnotations(tenant: string): Promise<AttributionAnnotation[]>;
  /**
   * Writes a drift item and its journal entry (accepted, reopened, annotated...) in one transaction. With
   * `ifStillDetectedBy`, only if the stored item is still the drift of that detection (else DriftChangedError); with
   * `status` and `acceptedAt` as well, only if its status and its acceptance's time are still those (null: none).
   */
  putDrift(
    tenant: string,
    drift: DriftRecord,
    event: DriftEvent,
    options?: {
      readonly ifStillDetectedBy?: {
        readonly snapshotSeq: number;
        readonly detectedAt: string;
        readonly status?: DriftRecord['status'];
        readonly acceptedAt?: string | null;
      };
      /** Only if there is no drift item on the key of this snapshot or a later one (else DriftChangedError). */
      readonly ifNoDriftSince?: number;
    },
  ): Promise<void>;
  /** Removes a drift item (closed) and journals why, in one transaction. */
  deleteDrift(tenant: string, key: ResourceKey, event: Omit<DriftEvent, 'type'> & { readonly reason: string }): Promise<void>;

  listSnapshots(tenant: string, options?: { from?: string; to?: string; limit?: number }): Promise<StoredSnapshot[]>;
  getSnapshot(tenant: string, seq: number): Promise<StoredSnapshot | undefined>;
  /** Every committed snapshot record in seq order, read the way the snapshot role may (Query, not the index). */
  snapshotChain(tenant: string): Promise<StoredSnapshot[]>;
  /** The committed records of these sequence numbers (absent ones left out), read the way the snapshot role may. */
  snapshotRecords(tenant: string, seqs: readonly number[]): Promise<Map<number, StoredSnapshot>>;
  listVersions(tenant: string, key: ResourceKey): Promise<StoredVersion[]>;
  getVersionContent(tenant: string, key: ResourceKey, version: number): Promise<JsonObject | undefined>;
  /** Every version with its stored document, for `verify` to re-hash. */
  versionsWithContent(tenant: string): Promise<Array<StoredVersion & { content: JsonObject | null }>>;
  /**
   * Version items (of every resource the history, heads or drift name) that no committed snapshot wrote: their
   * `S#<seq>` record is missing, or was committed by another run. Readers ignore them; `verify` reports them.
   * A version whose record is still a pending claim (a run in flight, or one that died) is not listed.
   */
  uncommittedVersions(tenant: string): Promise<Array<{ key: ResourceKey; seq: number; snapshotId: string; reason: string }>>;
}

/** Where the snapshot flow learns which changes were applied from approved requests (filled by the apply flow). */
export interface AppliedChangeLedger {
  appliedChanges(tenant: string, keys: readonly ResourceKey[]): Promise<AppliedChange[]>;
}

export class ConcurrentSnapshotError extends Error {}

/** A conditional drift write found another drift (a snapshot replaced or closed it since it was read). */
export class DriftChangedError extends Error {}
