import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type Anchor, anchorLine, parseAnchor, readAnchorLines, sameAnchor } from '../lambdas/domain/anchors';
import type { AnchorLedger, AnchorStore } from '../lambdas/ports/anchors';
import { assertTenantName } from '../lambdas/ports/tenants';

/** A lock older than this belongs to a process that died while appending. */
const STALE_LOCK_MS = 10_000;
const LOCK_WAIT_MS = 5_000;

/**
 * The local stand-in for S3 Object Lock: `<dir>/<tenant>.jsonl`, opened with the append flag only, one line per
 * anchor, each line naming the sha256 of the line before it. It is tamper-evident, not write-once: whoever can write
 * the workspace can truncate it (the newest anchors vanish) or rewrite it entirely. An edit inside it is detected.
 */
export class LocalAnchorFile implements AnchorStore {
  constructor(readonly source: string) {}

  private fileOf(tenant: string): string {
    assertTenantName(tenant);
    return join(this.source, `${tenant}.jsonl`);
  }

  async write(anchor: Anchor): Promise<'written' | 'already-present'> {
    mkdirSync(this.source, { recursive: true, mode: 0o700 });
    const file = this.fileOf(anchor.tenant);
    return withLock(`${file}.lock`, () => {
      // Read under the lock, so no other writer appends between this read and the write below. Seqs only grow, so
      // the last line decides the common case; the whole file is read only for a seq at or below it (a retry).
      const { line: last, complete } = lastLine(file);
      let lastSeq: number | undefined;
      try {
        lastSeq = last === undefined ? undefined : parseAnchor(last, file).seq;
      } catch {
        lastSeq = undefined;
      }
      if (last !== undefined && (lastSeq === undefined || anchor.seq <= lastSeq)) {
        const same = readAnchorLines(readFileSync(file, 'utf8'), file).anchors.find((a) => a.seq === anchor.seq);
        if (same) {
          if (sameAnchor(same, anchor)) return 'already-present';
          throw new Error(`snapshot #${anchor.seq} of ${anchor.tenant} is already anchored in ${file} with other content`);
        }
      }
      const fd = openSync(file, 'a', 0o600);
      try {
        writeSync(fd, `${complete ? '' : '\n'}${anchorLine(anchor, last)}\n`);
      } finally {
        closeSync(fd);
      }
      return 'written';
    });
  }

  async read(tenant: string): Promise<AnchorLedger> {
    const file = this.fileOf(tenant);
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    const { anchors, problems } = readAnchorLines(text, file);
    const first = new Map<number, Anchor>();
    const duplicate: typeof problems = [];
    for (const anchor of anchors) {
      const seen = first.get(anchor.seq);
      if (!seen) first.set(anchor.seq, anchor);
      else if (!sameAnchor(seen, anchor))
        duplicate.push({ seq: anchor.seq, reason: `snapshot #${anchor.seq} is anchored twice in ${file} with different content` });
    }
    const lines = text.split('\n').filter((l) => l !== '');
    return {
      source: file,
      anchors: [...first.values()].sort((a, b) => a.seq - b.seq),
      problems: [...problems, ...duplicate],
      warnings: [],
      evidence: lines.map((body, i) => ({ where: `${file} line ${i + 1}`, body })),
    };
  }
}

/** How much of the file's end is read at first to find its last line (anchor lines are about 300 bytes). */
const TAIL_BYTES = 4_096;

/**
 * The file's last non-empty line, read from its end (a year of 30-second snapshots is a million lines), and whether
 * the file ends with a newline (a writer that died mid-line left none).
 */
function lastLine(file: string): { line?: string; complete: boolean } {
  if (!existsSync(file)) return { complete: true };
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    for (let length = Math.min(size, TAIL_BYTES); ; length = Math.min(size, length * 4)) {
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, size - length);
      const lines = buffer.toString('utf8').split('\n');
      const nonEmpty = lines.map((l, i) => [l, i] as const).filter(([l]) => l !== '');
      const found = nonEmpty.at(-1);
      // The first piece of a partial read may be cut mid-line: only a line with a newline before it is whole.
      const complete = buffer.at(-1) === 0x0a || size === 0;
      if (found && (found[1] > 0 || length === size)) return { line: found[0], complete };
      if (length === size) return { complete };
    }
  } finally {
    closeSync(fd);
  }
}

/** Serialises appends from several processes (npm start and a CLI snapshot) so each line links to the one before. */
function withLock<T>(lock: string, fn: () => T): T {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx', 0o600));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      try {
        if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmSync(lock, { force: true });
      } catch {
        // Removed by its owner meanwhile: try again.
      }
      if (Date.now() > deadline) throw new Error(`the anchor file is locked by another process (${lock})`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}
