import type { JournalEntry, JournalEntryInput, JournalHead, StoredRecord } from '../domain/journal';

/**
 * The tenant's append-only, hash-chained journal (see lambdas/domain/journal.ts and docs/data-model.md).
 *
 * Writers that change a drift, ledger or change-request item do it through their store, which appends the journal
 * entry in the same transaction. `append` is for entries that change no item (an annotation, a note) or for callers
 * that own their item write elsewhere.
 */
export interface Journal {
  /** Chains and writes the entries after the current head, atomically; retries when another writer appended first. */
  append(tenant: string, entries: readonly JournalEntryInput[]): Promise<JournalEntry[]>;
  /** Entries in order, optionally only those after `afterSeq`. */
  list(tenant: string, options?: { afterSeq?: number }): Promise<JournalEntry[]>;
  head(tenant: string): Promise<JournalHead>;
  /** The guarded items as they are in the table now, digested the way the journal records them. */
  storedRecords(tenant: string): Promise<StoredRecord[]>;
}

export class JournalContentionError extends Error {}
