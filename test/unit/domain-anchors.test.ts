import { createHash } from 'node:crypto';
import { type Anchor, anchorLine, parseAnchor, readAnchorLines, verifyAnchors } from '../../lambdas/domain/anchors';

const anchor = (seq: number, extra: Partial<Anchor> = {}): Anchor => ({
  tenant: 'acme',
  seq,
  hash: String(seq % 10).repeat(64),
  takenAt: `2026-11-24T10:0${seq}:00.000Z`,
  journalSeq: seq,
  journalHash: String((seq + 5) % 10).repeat(64),
  anchoredAt: `2026-11-24T10:0${seq}:01.000Z`,
  ...extra,
});
const fileOf = (anchors: Anchor[]) => {
  const lines: string[] = [];
  for (const a of anchors) lines.push(anchorLine(a, lines.at(-1)));
  return lines;
};
const table = (n: number) => ({
  snapshots: Array.from({ length: n }, (_, i) => ({ seq: i + 1, hash: anchor(i + 1).hash, takenAt: anchor(i + 1).takenAt })),
  journal: Array.from({ length: n }, (_, i) => ({ seq: i + 1, hash: anchor(i + 1).journalHash })),
});
const input = (anchors: Anchor[], nowMs = Date.parse('2026-11-24T10:10:00Z')) => ({
  tenant: 'acme',
  source: 'test',
  anchors,
  problems: [],
  nowMs,
  graceMs: 30 * 60_000,
});

describe('anchor lines (the local anchor file)', () => {
  it('chains each line to the sha256 of the line before it, the first to 64 zeros', () => {
    const lines = fileOf([anchor(1), anchor(2)]);
    expect(JSON.parse(lines[0] as string).prevLine).toBe('0'.repeat(64));
    expect(JSON.parse(lines[1] as string).prevLine).toBe(
      createHash('sha256')
        .update(lines[0] as string)
        .digest('hex'),
    );
    expect(readAnchorLines(`${lines.join('\n')}\n`, 'f')).toEqual({ anchors: [anchor(1), anchor(2)], problems: [] });
  });

  it('catches a removed first line, an unparseable line and a line with a field missing', () => {
    const lines = fileOf([anchor(1), anchor(2), anchor(3)]);
    expect(readAnchorLines(lines.slice(1).join('\n'), 'f').problems).toEqual([
      { seq: 2, reason: expect.stringMatching(/^f line 1 does not start the chain .* removed from the start/) },
    ]);
    expect(readAnchorLines([lines[0], '{oops', lines[2]].join('\n'), 'f').problems).toEqual([{ seq: 2, reason: 'f line 2 is not JSON' }]);
    const noHash = JSON.stringify({ ...JSON.parse(lines[1] as string), hash: undefined });
    expect(readAnchorLines([lines[0], noHash].join('\n'), 'f').problems).toEqual([
      { seq: 2, reason: "f line 2: 'hash' is missing or malformed" },
    ]);
  });

  it.each([
    ['seq', 0],
    ['journalSeq', -1],
    ['takenAt', 'yesterday'],
    ['journalHash', 'abc'],
    ['tenant', ''],
  ])('parseAnchor refuses a bad %s', (field, value) => {
    expect(() => parseAnchor(JSON.stringify({ ...anchor(1), [field]: value }), 'x')).toThrow(`x: '${field}' is missing or malformed`);
  });
});

describe('verifyAnchors', () => {
  it('passes when every anchor matches the table', () => {
    expect(verifyAnchors(table(3), input([anchor(1), anchor(2), anchor(3)]))).toEqual({
      ok: true,
      source: 'test',
      anchorsChecked: 3,
      lastAnchor: { seq: 3, anchoredAt: anchor(3).anchoredAt, journalSeq: 3 },
      warnings: [],
    });
  });

  it('reports the earliest problem when several anchors disagree', () => {
    const t = table(3);
    const rewritten = { ...t, snapshots: t.snapshots.map((s) => (s.seq >= 2 ? { ...s, hash: 'f'.repeat(64) } : s)) };
    expect(verifyAnchors(rewritten, input([anchor(1), anchor(2), anchor(3)])).firstBroken).toEqual({
      seq: 2,
      reason: expect.stringMatching(/^snapshot #2 was rewritten/),
    });
  });

  it('refuses an anchor of another tenant', () => {
    expect(verifyAnchors(table(1), input([anchor(1, { tenant: 'globex' })])).firstBroken?.reason).toBe(
      "the anchor of snapshot #1 names tenant 'globex'",
    );
  });

  it('an anchored record missing inside the range (not the tail) is named', () => {
    const t = table(3);
    const holed = { ...t, snapshots: t.snapshots.filter((s) => s.seq !== 2) };
    expect(verifyAnchors(holed, input([anchor(1), anchor(2), anchor(3)])).firstBroken).toEqual({
      seq: 2,
      reason: `snapshot #2 was anchored at ${anchor(2).anchoredAt} but is missing from the table`,
    });
  });

  it('no anchor at all: the whole history is the unanchored tail, a failure once it is older than the grace period', () => {
    const fresh = verifyAnchors(table(2), input([], Date.parse('2026-11-24T10:20:00Z')));
    expect(fresh).toMatchObject({ ok: true, unanchoredTail: { records: 2, fromSeq: 1, toSeq: 2, since: null, stale: false } });
    const stale = verifyAnchors(table(2), input([], Date.parse('2026-11-24T11:00:00Z')));
    expect(stale.firstBroken).toEqual({
      seq: 1,
      reason: expect.stringMatching(
        /^unanchored tail \(2 records, #1–#2; 2 journal entries, #1–#2\): no anchor at all, .* older than 30 minutes/,
      ),
    });
  });

  it('reports journal entries written after the last anchor: a warning however old while no snapshot committed since', () => {
    // Anchors of #1–#3 (journal head #3 with #3); then a drift accepted, a request decided: journal #4, #5, no snapshot
    // (a CLI user between rare snapshots; ISC down). Nothing shows anchoring failing: the next snapshot anchors them.
    const t = table(3);
    const journal = [...t.journal, { seq: 4, hash: 'a'.repeat(64) }, { seq: 5, hash: 'b'.repeat(64) }];
    const anchored = [anchor(1), anchor(2), anchor(3)];
    const soon = verifyAnchors({ ...t, journal }, input(anchored, Date.parse('2026-11-24T10:20:00Z')));
    expect(soon).toMatchObject({
      ok: true,
      unanchoredTail: { records: 0, journalEntries: 2, fromJournalSeq: 4, toJournalSeq: 5, since: anchor(3).anchoredAt, stale: false },
      warnings: [
        expect.stringMatching(
          /^unanchored tail \(2 journal entries, #4–#5\): written after the last anchor \(snapshot #3, [^)]*\), anchored by the next snapshot$/,
        ),
      ],
    });
    const weekLater = verifyAnchors({ ...t, journal }, input(anchored, Date.parse('2026-12-01T10:40:00Z')));
    expect(weekLater).toMatchObject({ ok: true, unanchoredTail: { records: 0, journalEntries: 2, stale: false } });
    expect(weekLater.warnings).toEqual([expect.stringMatching(/; no snapshot has run since \(\d+ minutes\), the next one anchors them$/)]);
    // With a record after the last anchor (a snapshot committed but did not anchor) the same entries fail.
    const withRecord = { snapshots: table(4).snapshots, journal };
    const late = verifyAnchors(withRecord, input(anchored, Date.parse('2026-11-24T10:40:00Z')));
    expect(late.ok).toBe(false);
    expect(late.firstBroken).toEqual({
      seq: 4,
      reason: expect.stringMatching(
        /^unanchored tail \(1 record, #4–#4; 2 journal entries, #4–#5\): the last anchor \(snapshot #3, written at .*\) is older than 30 minutes/,
      ),
    });
  });

  it('ages the tail by the last anchor, never by the records: a re-dated tail is still stale', () => {
    // Anchored up to #2 at 10:02; #3–#4 never anchored; whoever rewrites them dates them "just now".
    const t = table(4);
    const now = Date.parse('2026-11-24T12:00:00Z');
    const redated = { ...t, snapshots: t.snapshots.map((s) => (s.seq > 2 ? { ...s, takenAt: '2026-11-24T11:59:00.000Z' } : s)) };
    const v = verifyAnchors(redated, input([anchor(1), anchor(2)], now));
    expect(v.unanchoredTail).toMatchObject({ records: 2, fromSeq: 3, journalEntries: 2, since: anchor(2).anchoredAt, stale: true });
    expect(v.firstBroken).toEqual({
      seq: 3,
      reason: expect.stringMatching(/the last anchor \(snapshot #2, written at 2026-11-24T10:02:01.000Z\) is older than 30 minutes/),
    });
  });

  it('without any anchor, more than two snapshot records are stale whatever they say their dates are', () => {
    const redated = (n: number) => {
      const t = table(n);
      return { ...t, snapshots: t.snapshots.map((s) => ({ ...s, takenAt: '2026-11-24T10:09:00.000Z' })) };
    };
    expect(verifyAnchors(redated(2), input([])).ok).toBe(true);
    const three = verifyAnchors(redated(3), input([]));
    expect(three.firstBroken).toEqual({ seq: 1, reason: expect.stringMatching(/no anchor at all for 3 snapshot records \(more than 2\)/) });
  });

  it('a fresh install passes: one record, or only journal entries, and no anchor yet', () => {
    const one = verifyAnchors(table(1), input([], Date.parse('2026-11-24T10:05:00Z')));
    expect(one).toMatchObject({ ok: true, unanchoredTail: { records: 1, journalEntries: 1, stale: false } });
    const journalOnly = verifyAnchors({ snapshots: [], journal: table(2).journal }, input([], Date.parse('2026-11-25T10:00:00Z')));
    expect(journalOnly).toMatchObject({ ok: true, unanchoredTail: { records: 0, journalEntries: 2, since: null, stale: false } });
    expect(journalOnly.warnings).toEqual([expect.stringMatching(/no snapshot and no anchor yet: the first snapshot anchors them/)]);
    expect(verifyAnchors({ snapshots: [], journal: [] }, input([])).unanchoredTail).toBeUndefined();
  });
});
