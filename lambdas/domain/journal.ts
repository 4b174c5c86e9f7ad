import { canonicalJson, type JsonObject, sha256Hex } from './canonical';
import { GENESIS_HASH } from './chain';

/**
 * The tenant's journal: an append-only, hash-chained record of every state change that is not a snapshot — drift
 * openings, acceptances, drift status changes, annotations, change-request decisions and applied-change ledger
 * entries. Entries are never edited; a later state is a later entry.
 *
 * The mutable items the product reads (drift `D#`, ledger `A#`, change request `CR#`) are projections: each entry
 * that changes one names it (`record`) with the digest of its new content (null when it is gone). `verify` folds the
 * journal and compares the result with the items in the table, so an edited, deleted or inserted item is caught.
 */
export type JournalEntryType =
  | 'drift-opened'
  | 'drift-reopened'
  | 'drift-accepted'
  | 'drift-closed'
  | 'drift-restored'
  | 'drift-annotated'
  | 'request'
  | 'ledger';

export const JOURNAL_ENTRY_TYPES: readonly JournalEntryType[] = [
  'drift-opened',
  'drift-reopened',
  'drift-accepted',
  'drift-closed',
  'drift-restored',
  'drift-annotated',
  'request',
  'ledger',
];

/** Which guarded item an entry sets. */
export type RecordKind = 'drift' | 'ledger' | 'request';

export interface RecordState {
  readonly kind: RecordKind;
  /** Resource key (drift), `<resource key>#<request id>` (ledger) or request id (request). */
  readonly id: string;
  /** `recordDigest` of the item's content after this entry; null when the item is removed. */
  readonly digest: string | null;
  /** Epoch seconds after which the table may have expired the item (DynamoDB TTL); a missing item is fine then. */
  readonly expiresAt?: number;
}

/** What a caller appends. Never holds credential values: only what the projections already hold, fingerprinted. */
export interface JournalEntryInput {
  readonly type: JournalEntryType;
  /** What the entry is about: a resource key or a request id. */
  readonly subject: string;
  /** When it happened (ISO 8601). */
  readonly at: string;
  /** Who caused it, when known (an operator, an approver, `sdim-guard` for the snapshot flow). */
  readonly by?: string;
  /** Evidence of what happened, readable without the projection. */
  readonly data: JsonObject;
  readonly record?: RecordState;
}

export interface JournalEntry extends JournalEntryInput {
  readonly tenant: string;
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
}

export interface JournalHead {
  readonly seq: number;
  readonly hash: string;
}

export const EMPTY_JOURNAL: JournalHead = { seq: 0, hash: GENESIS_HASH };

export function journalEntryHash(entry: Omit<JournalEntry, 'hash'>): string {
  const { tenant, seq, prevHash, type, subject, at, by, data, record } = entry;
  return sha256Hex(canonicalJson({ tenant, seq, prevHash, type, subject, at, by: by ?? null, data, record: record ?? null }));
}

/** Chains new entries after `head`; pure, so the adapter can write them in the same transaction as their items. */
export function chainEntries(tenant: string, head: JournalHead, inputs: readonly JournalEntryInput[]): JournalEntry[] {
  const out: JournalEntry[] = [];
  let prev = head;
  for (const input of inputs) {
    if (!JOURNAL_ENTRY_TYPES.includes(input.type)) throw new Error(`unknown journal entry type '${input.type}'`);
    if (!input.subject) throw new Error('a journal entry needs a subject');
    if (Number.isNaN(Date.parse(input.at))) throw new Error(`journal entry time '${input.at}' is not a date`);
    const unhashed = { ...input, tenant, seq: prev.seq + 1, prevHash: prev.hash };
    const entry: JournalEntry = { ...unhashed, hash: journalEntryHash(unhashed) };
    out.push(entry);
    prev = entry;
  }
  return out;
}

/** Digest of a guarded item's content, as the journal records it. Operational fields are left out by the caller. */
export function recordDigest(content: unknown): string {
  return sha256Hex(canonicalJson(content));
}

export interface StoredRecord {
  readonly kind: RecordKind;
  readonly id: string;
  readonly digest: string;
}

export interface JournalVerdict {
  readonly ok: boolean;
  readonly entriesChecked: number;
  readonly recordsChecked: number;
  readonly head: JournalHead;
  readonly firstBroken?: { readonly seq?: number; readonly item?: string; readonly reason: string };
}

/**
 * Recomputes the journal chain (order, links, hashes) and checks that every guarded item in the table is exactly
 * what the journal says it should be: none edited, none deleted (unless expired by TTL), none inserted.
 */
export function verifyJournal(
  tenant: string,
  entries: readonly JournalEntry[],
  records: readonly StoredRecord[],
  nowEpochSeconds: number,
): JournalVerdict {
  let prev: JournalHead = EMPTY_JOURNAL;
  const expected = new Map<string, RecordState>();
  const broken = (firstBroken: JournalVerdict['firstBroken'], checked: number): JournalVerdict => ({
    ok: false,
    entriesChecked: checked,
    recordsChecked: 0,
    head: prev,
    firstBroken,
  });
  for (const [index, entry] of entries.entries()) {
    const seq = index + 1;
    if (entry.seq !== seq)
      return broken({ seq: entry.seq, reason: `expected journal entry #${seq} here, found #${entry.seq} (missing or reordered)` }, index);
    if (entry.tenant !== tenant) return broken({ seq, reason: `journal entry #${seq} belongs to tenant '${entry.tenant}'` }, index);
    if (entry.prevHash !== prev.hash) return broken({ seq, reason: `journal entry #${seq} does not link to the previous entry` }, index);
    if (journalEntryHash(entry) !== entry.hash)
      return broken({ seq, reason: `journal entry #${seq} was altered: its hash does not match its content` }, index);
    if (entry.record) expected.set(recordId(entry.record), entry.record);
    prev = { seq, hash: entry.hash };
  }
  const stored = new Map(records.map((r) => [recordId(r), r]));
  let recordsChecked = 0;
  for (const [id, state] of [...expected.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const actual = stored.get(id);
    if (state.digest === null) {
      if (actual) return brokenItem(id, 'exists although the journal removed it', entries.length, prev);
      continue;
    }
    if (!actual) {
      if (state.expiresAt !== undefined && state.expiresAt <= nowEpochSeconds) continue;
      return brokenItem(id, 'was deleted: the journal holds it but the table does not', entries.length, prev);
    }
    if (actual.digest !== state.digest) return brokenItem(id, 'was edited: its content differs from the journal', entries.length, prev);
    recordsChecked++;
  }
  const inserted = [...stored.keys()].sort().find((id) => !expected.has(id));
  if (inserted) return brokenItem(inserted, 'is not in the journal (inserted or edited outside sdim-guard)', entries.length, prev);
  return { ok: true, entriesChecked: entries.length, recordsChecked, head: prev };
}

function recordId(r: { kind: RecordKind; id: string }): string {
  return `${r.kind} ${r.id}`;
}

function brokenItem(item: string, why: string, checked: number, head: JournalHead): JournalVerdict {
  return { ok: false, entriesChecked: checked, recordsChecked: 0, head, firstBroken: { item, reason: `${item} ${why}` } };
}

// ---- the guarded items, as the journal records them ----

/** A drift item's journalled content: everything but its alert outbox flag, which delivery flips in place. */
export function driftDigest(drift: { readonly alert?: unknown }): string {
  const { alert: _alert, ...content } = drift;
  return recordDigest(content);
}

export interface DriftLike {
  readonly key: string;
  readonly change: string;
  readonly severity: string;
  readonly fromHash: string | null;
  readonly toHash: string | null;
  readonly snapshotSeq: number;
  readonly detectedSeq?: number;
  readonly status: string;
  readonly detectedAt: string;
  readonly acceptance?: { readonly reason: string; readonly by: string; readonly at: string; readonly until: string };
  readonly alert?: unknown;
}

/** The entry for a drift item written (opened, reopened, accepted, annotated): evidence plus the new digest. */
export function driftEntry(
  type: Extract<JournalEntryType, `drift-${string}`>,
  drift: DriftLike,
  at: string,
  by: string,
  extra: JsonObject = {},
): JournalEntryInput {
  const data: JsonObject = {
    change: drift.change,
    severity: drift.severity,
    fromHash: drift.fromHash,
    toHash: drift.toHash,
    snapshotSeq: drift.snapshotSeq,
    ...(drift.detectedSeq !== undefined ? { detectedSeq: drift.detectedSeq } : {}),
    status: drift.status,
    detectedAt: drift.detectedAt,
    ...(drift.acceptance ? { acceptance: { ...drift.acceptance } } : {}),
    ...extra,
  };
  return { type, subject: drift.key, at, by, data, record: { kind: 'drift', id: drift.key, digest: driftDigest(drift) } };
}

/** The entry for a drift item removed (closed by an expected change, auto-close, ...). */
export function driftClosedEntry(key: string, at: string, by: string, reason: string, extra: JsonObject = {}): JournalEntryInput {
  return { type: 'drift-closed', subject: key, at, by, data: { reason, ...extra }, record: { kind: 'drift', id: key, digest: null } };
}

/**
 * The entry for a drift that closed itself: its resource went back to the state it had before the drift (someone
 * undid the change in ISC by hand). An entry of its own, so an auditor tells "put right" from "explained by a
 * request" without reading the snapshot, and verify catches its deletion like any other.
 */
export function driftRestoredEntry(
  key: string,
  at: string,
  by: string,
  evidence: {
    /** The state the drift had changed the resource to. */
    readonly driftedHash: string | null;
    /** The state it is back in (the drift's starting point). */
    readonly restoredHash: string | null;
    readonly snapshotSeq: number;
    readonly snapshotId: string;
  },
): JournalEntryInput {
  return {
    type: 'drift-restored',
    subject: key,
    at,
    by,
    data: { reason: 'the resource is back in the state it had before the drift', ...evidence },
    record: { kind: 'drift', id: key, digest: null },
  };
}

export interface RequestLike {
  readonly id: string;
  readonly resourceKey: string;
  readonly status: string;
  readonly revision: number;
  readonly history: ReadonlyArray<{
    readonly at: string;
    readonly by: string;
    readonly from: string | null;
    readonly to: string;
    readonly note?: string;
  }>;
}

/** The entry for a change request written (created or moved): the transition and the digest of the whole record. */
export function requestEntry(request: RequestLike, at: string): JournalEntryInput {
  const last = request.history.at(-1);
  return {
    type: 'request',
    subject: request.id,
    at,
    by: last?.by ?? 'sdim-guard',
    data: {
      resourceKey: request.resourceKey,
      status: request.status,
      revision: request.revision,
      ...(last ? { transition: { from: last.from, to: last.to, at: last.at, ...(last.note ? { note: last.note } : {}) } } : {}),
    },
    record: { kind: 'request', id: request.id, digest: recordDigest(request) },
  };
}

export interface LedgerLike {
  readonly requestId: string;
  readonly key: string;
  readonly baseHash?: string | null;
  readonly resultHash: string | null;
  readonly appliedAt: string;
}

export const ledgerRecordId = (applied: { key: string; requestId: string }) => `${applied.key}#${applied.requestId}`;

export function ledgerDigest(applied: LedgerLike): string {
  const { requestId, key, baseHash, resultHash, appliedAt } = applied;
  return recordDigest({ requestId, key, ...(baseHash !== undefined ? { baseHash } : {}), resultHash, appliedAt });
}

/** The entry for an applied-change ledger item; the item expires (TTL) at `expiresAt`, the entry never does. */
export function ledgerEntry(applied: LedgerLike, expiresAt: number): JournalEntryInput {
  return {
    type: 'ledger',
    subject: applied.requestId,
    at: applied.appliedAt,
    data: {
      key: applied.key,
      ...(applied.baseHash !== undefined ? { baseHash: applied.baseHash } : {}),
      resultHash: applied.resultHash,
      appliedAt: applied.appliedAt,
    },
    record: { kind: 'ledger', id: ledgerRecordId(applied), digest: ledgerDigest(applied), expiresAt },
  };
}
