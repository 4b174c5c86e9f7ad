import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type Anchor, anchorLine, readAnchorLines, sameAnchor } from '../lambdas/domain/anchors';
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
      const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
      const existing = readAnchorLines(text, file).anchors;
      const same = existing.find((a) => a.seq === anchor.seq);
      if (same) {
        if (sameAnchor(same, anchor)) return 'already-present';
        throw new Error(`snapshot #${anchor.seq} of ${anchor.tenant} is already anchored in ${file} with other content`);
      }
      // Read under the lock, so no other writer appends between this read and the write below.
      const previous = text
        .split('\n')
        .filter((l) => l !== '')
        .at(-1);
      const fd = openSync(file, 'a', 0o600);
      try {
        writeSync(fd, `${text !== '' && !text.endsWith('\n') ? '\n' : ''}${anchorLine(anchor, previous)}\n`);
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
