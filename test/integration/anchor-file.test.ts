import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Anchor, anchorLine } from '../../lambdas/domain/anchors';
import { LocalAnchorFile } from '../../local/anchor-file';

const anchor = (seq: number, hash = 'a'.repeat(64)): Anchor => ({
  tenant: 'acme',
  seq,
  hash,
  takenAt: '2026-11-24T10:00:00.000Z',
  journalSeq: 0,
  journalHash: '0'.repeat(64),
  anchoredAt: '2026-11-24T10:00:01.000Z',
});

describe('the local anchor file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sdim-anchor-file-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('appends one line per anchor; the same anchor again is already present, another one for that seq is refused', async () => {
    const file = new LocalAnchorFile(dir);
    await expect(file.write(anchor(1))).resolves.toBe('written');
    await expect(file.write(anchor(1))).resolves.toBe('already-present');
    await expect(file.write(anchor(1, 'b'.repeat(64)))).rejects.toThrow(/snapshot #1 of acme is already anchored in .* with other content/);
    await expect(file.write(anchor(2))).resolves.toBe('written');
    expect(readFileSync(join(dir, 'acme.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
    expect((await file.read('acme')).anchors.map((a) => a.seq)).toEqual([1, 2]);
  });

  it('takes over the lock of a writer that died, gives up on a live one after 5 s, and refuses a bad tenant name', async () => {
    const file = new LocalAnchorFile(dir);
    await file.write(anchor(1));
    const lock = join(dir, 'acme.jsonl.lock');
    writeFileSync(lock, '');
    const stale = new Date(Date.now() - 60_000);
    utimesSync(lock, stale, stale);
    await expect(file.write(anchor(2))).resolves.toBe('written');
    writeFileSync(lock, '');
    await expect(file.write(anchor(3))).rejects.toThrow(/the anchor file is locked by another process/);
    rmSync(lock);
    await expect(file.write({ ...anchor(3), tenant: '../etc' })).rejects.toThrow(/tenant name/);
    expect((await file.read('acme')).anchors.map((a) => a.seq)).toEqual([1, 2]);
  });

  it('a line appended twice for one seq with different content (a hand edit that kept the chain) is reported', async () => {
    const file = new LocalAnchorFile(dir);
    await file.write(anchor(1));
    // Appended by hand with a correct prevLine: the chain holds, the duplicate does not.
    const text = readFileSync(join(dir, 'acme.jsonl'), 'utf8');
    writeFileSync(join(dir, 'acme.jsonl'), `${text}${anchorLine(anchor(1, 'c'.repeat(64)), text.trim())}\n`);
    expect((await file.read('acme')).problems).toEqual([
      { seq: 1, reason: expect.stringMatching(/snapshot #1 is anchored twice .* with different content/) },
    ]);
  });

  it('appends after the last line without rereading the file, and still finds a retried older seq anywhere in it', async () => {
    const file = new LocalAnchorFile(dir);
    for (let seq = 1; seq <= 60; seq++) await file.write(anchor(seq));
    await expect(file.write(anchor(10))).resolves.toBe('already-present');
    await expect(file.write(anchor(10, 'b'.repeat(64)))).rejects.toThrow(/snapshot #10 of acme is already anchored/);
    const ledger = await file.read('acme');
    expect([ledger.problems, ledger.anchors.map((a) => a.seq)]).toEqual([[], Array.from({ length: 60 }, (_, i) => i + 1)]);
  });

  it('links the next anchor to a last line longer than the first piece read from the end of the file', async () => {
    const file = new LocalAnchorFile(dir);
    await file.write(anchor(1));
    // Not an anchor (someone appended 10 KB): the next line must still link to all of it, so verify names it.
    const junk = `{"note":"${'x'.repeat(10_000)}"}`;
    writeFileSync(join(dir, 'acme.jsonl'), `${readFileSync(join(dir, 'acme.jsonl'), 'utf8')}${junk}`);
    await expect(file.write(anchor(2))).resolves.toBe('written');
    const lines = readFileSync(join(dir, 'acme.jsonl'), 'utf8').split('\n');
    expect(lines[1]).toBe(junk);
    expect(JSON.parse(lines[2] as string).prevLine).toBe(createHash('sha256').update(junk).digest('hex'));
    expect((await file.read('acme')).problems).toEqual([{ seq: 2, reason: expect.stringMatching(/line 2/) }]);
  });
});
