import { type ChainVerdict, verifyChain } from '../domain/chain';
import { type JournalVerdict, verifyJournal } from '../domain/journal';
import { hashOf } from '../domain/normalise';
import type { SnapshotStore } from '../ports/snapshot-store';

/** Where the first break is: a snapshot (seq), a journal entry (journalSeq) or a guarded item (item). */
export interface BrokenLink {
  readonly part: 'snapshots' | 'journal';
  readonly seq?: number;
  readonly item?: string;
  readonly reason: string;
}

export interface HistoryVerdict {
  readonly ok: boolean;
  readonly snapshotsChecked: number;
  readonly versionsChecked: number;
  readonly journalEntriesChecked: number;
  readonly recordsChecked: number;
  readonly journalHead: JournalVerdict['head'];
  readonly firstBroken?: BrokenLink;
}

/**
 * Re-reads a tenant's whole history and recomputes every hash: the snapshot chain with every version it wrote, and
 * the journal with every drift, ledger and change-request item it vouches for. What an auditor runs.
 */
export async function verifyHistory(
  store: SnapshotStore,
  tenant: string,
  options: { ignoreReferenceNames?: boolean; now?: Date } = {},
): Promise<HistoryVerdict> {
  const [snapshots, versions, entries, records] = await Promise.all([
    store.listSnapshots(tenant),
    store.versionsWithContent(tenant),
    store.journal.list(tenant),
    store.journal.storedRecords(tenant),
  ]);
  const chain: ChainVerdict = verifyChain(
    snapshots,
    versions.map((v) => ({
      key: v.key,
      version: v.version,
      seq: v.seq ?? v.version,
      storedHash: v.contentHash,
      recomputedHash: v.content === null ? null : hashOf(v.content, { ignoreReferenceNames: options.ignoreReferenceNames ?? true }),
    })),
  );
  const journal = verifyJournal(tenant, entries, records, Math.floor((options.now ?? new Date()).getTime() / 1000));
  const firstBroken: BrokenLink | undefined = chain.firstBroken
    ? { part: 'snapshots', ...chain.firstBroken }
    : journal.firstBroken
      ? { part: 'journal', ...journal.firstBroken }
      : undefined;
  return {
    ok: chain.ok && journal.ok,
    snapshotsChecked: chain.snapshotsChecked,
    versionsChecked: chain.versionsChecked,
    journalEntriesChecked: journal.entriesChecked,
    recordsChecked: journal.recordsChecked,
    journalHead: journal.head,
    ...(firstBroken ? { firstBroken } : {}),
  };
}

/** One line naming the first break, for people. */
export function describeBreak(broken: BrokenLink): string {
  if (broken.part === 'snapshots') return `snapshot #${broken.seq}: ${broken.reason}`;
  return broken.seq !== undefined ? `journal entry #${broken.seq}: ${broken.reason}` : `journal: ${broken.reason}`;
}
