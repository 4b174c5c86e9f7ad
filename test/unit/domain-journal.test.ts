import { chainEntries, driftClosedEntry, driftEntry, EMPTY_JOURNAL, type JournalEntry, verifyJournal } from '../../lambdas/domain/journal';

const at = '2026-11-24T10:00:00.000Z';
const drift = {
  key: 'integration:a',
  change: 'modified',
  severity: 'high',
  fromHash: 'a'.repeat(64),
  toHash: 'b'.repeat(64),
  snapshotSeq: 2,
  status: 'open',
  detectedAt: at,
  alert: 'pending',
};

describe('journal chaining (pure)', () => {
  const opened = driftEntry('drift-opened', drift, at, 'sdim-guard');
  const entries = chainEntries('acme', EMPTY_JOURNAL, [opened, driftClosedEntry('integration:a', at, 'ann', 'fixed')]);

  it('numbers and links entries after the head', () => {
    expect(entries.map((e) => [e.seq, e.prevHash === (entries[e.seq - 2]?.hash ?? EMPTY_JOURNAL.hash)])).toEqual([
      [1, true],
      [2, true],
    ]);
    const more = chainEntries('acme', { seq: 2, hash: entries[1]?.hash as string }, [opened]);
    expect(more[0]).toMatchObject({ seq: 3, prevHash: entries[1]?.hash });
  });

  it('digests a drift without its alert outbox flag, so delivering an alert is not an edit', () => {
    expect(driftEntry('drift-opened', { ...drift, alert: 'sent' }, at, 'x').record).toEqual(opened.record);
    expect(driftEntry('drift-opened', { ...drift, severity: 'low' }, at, 'x').record?.digest).not.toBe(opened.record?.digest);
  });

  it('refuses entries without a known type, a subject or a real time', () => {
    expect(() => chainEntries('acme', EMPTY_JOURNAL, [{ ...opened, type: 'drift-deleted' as never }])).toThrow(
      /unknown journal entry type/,
    );
    expect(() => chainEntries('acme', EMPTY_JOURNAL, [{ ...opened, subject: '' }])).toThrow(/subject/);
    expect(() => chainEntries('acme', EMPTY_JOURNAL, [{ ...opened, at: 'yesterday' }])).toThrow(/not a date/);
  });

  it('verifies a journal whose items match and names the first break otherwise', () => {
    expect(verifyJournal('acme', entries, [], 0)).toMatchObject({ ok: true, entriesChecked: 2, head: { seq: 2 } });
    expect(verifyJournal('other', entries, [], 0).firstBroken?.reason).toMatch(/belongs to tenant 'acme'/);
    const relinked: JournalEntry[] = [entries[0] as JournalEntry, { ...(entries[1] as JournalEntry), prevHash: 'f'.repeat(64) }];
    expect(verifyJournal('acme', relinked, [], 0).firstBroken).toEqual({ seq: 2, reason: expect.stringMatching(/does not link/) });
    const stillThere = [{ kind: 'drift' as const, id: 'integration:a', digest: opened.record?.digest as string }];
    expect(verifyJournal('acme', entries, stillThere, 0).firstBroken?.reason).toMatch(/exists although the journal removed it/);
    expect(verifyJournal('acme', entries.slice(0, 1), stillThere, 0)).toMatchObject({ ok: true, recordsChecked: 1 });
  });
});
