import { type AnchorVerdict, verifyAnchors } from '../domain/anchors';
import { type ChainVerdict, verifyChain } from '../domain/chain';
import { type JournalVerdict, verifyJournal } from '../domain/journal';
import { hashOf } from '../domain/normalise';
import type { AnchorStore } from '../ports/anchors';
import type { SnapshotStore } from '../ports/snapshot-store';

/** Where the first break is: a snapshot (seq), a journal entry (journalSeq) or a guarded item (item), or an anchor. */
export interface BrokenLink {
  readonly part: 'snapshots' | 'journal' | 'anchors';
  readonly seq?: number;
  readonly journalSeq?: number;
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
  /** The table's newest committed snapshot: what the next anchor must vouch for. */
  readonly chainHead: { readonly seq: number; readonly hash: string } | null;
  /** The check against the anchors outside the table; `null` when no anchor store was given (nothing proven there). */
  readonly anchors: AnchorVerdict | null;
  readonly firstBroken?: BrokenLink;
  /** The first break in one line, for people (the CLI, the console). */
  readonly message?: string;
}

/** Two snapshot intervals: a record may stay unanchored this long (a snapshot in flight, one failed anchor write). */
export const anchorGraceMs = (intervalMinutes: number) => 2 * intervalMinutes * 60_000;
/** The deployed default schedule (lib/snapshot-schedule.ts). */
export const DEFAULT_INTERVAL_MINUTES = 15;

export interface VerifyOptions {
  readonly ignoreReferenceNames?: boolean;
  readonly now?: Date;
  /** The anchors outside the table; without them only the table's own chains are checked. */
  readonly anchors?: AnchorStore;
  /** Minutes between snapshots of the tenant; records unanchored for more than two of them fail. @default 15 */
  readonly intervalMinutes?: number;
}

/**
 * Re-reads a tenant's whole history and recomputes every hash: the snapshot chain with every version it wrote, and
 * the journal with every drift, ledger and change-request item it vouches for; then compares the chain heads with
 * the anchors written outside the table. What an auditor runs.
 */
export async function verifyHistory(store: SnapshotStore, tenant: string, options: VerifyOptions = {}): Promise<HistoryVerdict> {
  const [snapshots, versions, uncommitted, entries, records, ledger] = await Promise.all([
    store.listSnapshots(tenant),
    store.versionsWithContent(tenant),
    store.uncommittedVersions(tenant),
    store.journal.list(tenant),
    store.journal.storedRecords(tenant),
    options.anchors?.read(tenant),
  ]);
  const now = options.now ?? new Date();
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
  const journal = verifyJournal(tenant, entries, records, Math.floor(now.getTime() / 1000));
  const anchors = ledger
    ? verifyAnchors(
        { snapshots, journal: entries },
        {
          tenant,
          source: ledger.source,
          anchors: ledger.anchors,
          problems: ledger.problems,
          warnings: ledger.warnings,
          nowMs: now.getTime(),
          graceMs: anchorGraceMs(options.intervalMinutes ?? DEFAULT_INTERVAL_MINUTES),
        },
      )
    : null;
  const orphan = uncommitted[0];
  const firstBroken: BrokenLink | undefined = chain.firstBroken
    ? { part: 'snapshots', ...chain.firstBroken }
    : orphan
      ? { part: 'snapshots', seq: orphan.seq, item: `version ${orphan.seq} of ${orphan.key}`, reason: orphan.reason }
      : journal.firstBroken
        ? { part: 'journal', ...journal.firstBroken }
        : anchors?.firstBroken
          ? { part: 'anchors', ...anchors.firstBroken }
          : undefined;
  const head = snapshots.at(-1);
  return {
    ok: chain.ok && !orphan && journal.ok && (anchors?.ok ?? true),
    snapshotsChecked: chain.snapshotsChecked,
    versionsChecked: chain.versionsChecked,
    journalEntriesChecked: journal.entriesChecked,
    recordsChecked: journal.recordsChecked,
    journalHead: journal.head,
    chainHead: head ? { seq: head.seq, hash: head.hash } : null,
    anchors,
    ...(firstBroken ? { firstBroken, message: describeBreak(firstBroken) } : {}),
  };
}

/** One line naming the first break, for people. */
export function describeBreak(broken: BrokenLink): string {
  if (broken.part === 'snapshots') return `snapshot #${broken.seq}: ${broken.reason}`;
  // Anchor findings name their snapshot and journal entry themselves.
  if (broken.part === 'anchors') return `anchors: ${broken.reason}`;
  return broken.seq !== undefined ? `journal entry #${broken.seq}: ${broken.reason}` : `journal: ${broken.reason}`;
}

/** One line about the anchors, for people: what was compared, and the unanchored tail if any. */
export function describeAnchors(verdict: HistoryVerdict): string {
  const a = verdict.anchors;
  if (!a) return 'anchors: not checked (no anchor store)';
  const last = a.lastAnchor
    ? `the last at snapshot #${a.lastAnchor.seq} and journal entry #${a.lastAnchor.journalSeq}, ${a.lastAnchor.anchoredAt}`
    : 'none yet';
  const t = a.unanchoredTail;
  const tail = t
    ? `; unanchored tail (${[
        ...(t.records > 0 ? [`${t.records} record${t.records === 1 ? '' : 's'}`] : []),
        ...(t.journalEntries > 0 ? [`${t.journalEntries} journal entr${t.journalEntries === 1 ? 'y' : 'ies'}`] : []),
      ].join(', ')})`
    : '';
  return `${a.anchorsChecked} anchor${a.anchorsChecked === 1 ? '' : 's'} in ${a.source} (${last})${tail}`;
}
