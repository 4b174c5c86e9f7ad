import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { registerExitHooks } from './exit-hooks';

/**
 * `<data-dir>/store.json` names the one DynamoDB Local that serves a data directory: a running stack's, or a
 * background store left by one-shot commands. It is created exclusively (`wx`), so two processes can never both
 * start Java on the same files; a record whose process has died is taken over under a second, short-lived lock.
 *
 * Commands using a background store hold a lease (`<data-dir>/store-leases/<pid>.<nonce>`) while they run; the store
 * stops once no live lease has been seen for its idle time. To stop, it first marks the record `stopping` and then
 * looks at the leases once more; a command first takes its lease and then re-reads the record. Whichever happens
 * first, a command never uses a store that is stopping under it.
 */
export interface StoreRecord {
  /** The process that owns the Java process (a background store daemon or a stack). */
  readonly pid: number;
  readonly owner: 'background' | 'stack';
  /** Absent while the owner is still starting Java. */
  readonly endpoint?: string;
  readonly javaPid?: number;
  readonly dbPath: string;
  readonly idleSeconds?: number;
  readonly startedAt: string;
  readonly stopping?: boolean;
}

export const storeFile = (dataDir: string) => join(dataDir, 'store.json');
export const storeLog = (dataDir: string) => join(dataDir, 'store.log');
const leaseDir = (dataDir: string) => join(dataDir, 'store-leases');
const LEASE_STALE_MS = 120_000;
export const LEASE_TOUCH_MS = 20_000;

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readStore(dataDir: string): StoreRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(storeFile(dataDir), 'utf8')) as StoreRecord;
    return typeof record.pid === 'number' ? record : undefined;
  } catch {
    return undefined;
  }
}

/** Creates the record only if there is none; false when another process holds it. */
export function claimStore(dataDir: string, record: StoreRecord): boolean {
  try {
    writeFileSync(storeFile(dataDir), `${JSON.stringify(record)}\n`, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** Replaces the record by rename (readers never see half a file); only its owner does this. */
export function updateStore(dataDir: string, record: StoreRecord): void {
  const temp = `${storeFile(dataDir)}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(record)}\n`);
  renameSync(temp, storeFile(dataDir));
}

/** Removes the record if it is still `pid`'s. */
export function releaseStore(dataDir: string, pid: number): void {
  if (readStore(dataDir)?.pid === pid) rmSync(storeFile(dataDir), { force: true });
}

/** True when `pid` is DynamoDB Local serving `dbPath` (checked on /proc, so a reused pid is never killed). */
export function isDynamoDbLocalOn(pid: number, dbPath: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline.some((a) => a.includes('DynamoDBLocal')) && cmdline.includes(dbPath);
  } catch {
    return false;
  }
}

/**
 * Removes a record whose owner has died, under a takeover lock so that two processes cannot each remove the other's
 * fresh claim. A Java process the dead owner left (only possible where no parent-death signal exists) is stopped
 * first, so the next owner never starts a second one on the same files.
 */
export async function takeOverDead(dataDir: string, dead: StoreRecord): Promise<void> {
  const lock = `${storeFile(dataDir)}.takeover`;
  let fd: number;
  try {
    fd = openSync(lock, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // A takeover is a few file operations; a lock older than 10 s belongs to a process that died holding it.
    try {
      if (Date.now() - statSync(lock).mtimeMs > 10_000) rmSync(lock, { force: true });
    } catch {
      // gone meanwhile
    }
    return;
  }
  try {
    const again = readStore(dataDir);
    if (!again || again.pid !== dead.pid || alive(again.pid)) return;
    if (again.javaPid && alive(again.javaPid) && isDynamoDbLocalOn(again.javaPid, again.dbPath)) {
      process.kill(again.javaPid, 'SIGTERM');
      for (let i = 0; i < 100 && alive(again.javaPid); i++) await new Promise((r) => setTimeout(r, 100));
      if (alive(again.javaPid)) process.kill(again.javaPid, 'SIGKILL');
    }
    rmSync(storeFile(dataDir), { force: true });
  } finally {
    closeSync(fd);
    rmSync(lock, { force: true });
  }
}

export interface Lease {
  readonly path: string;
  release(): void;
}

/**
 * This process uses the store until `release()`; refreshed while it runs so a long command keeps its store, and
 * removed however the process ends (a command stopped by Ctrl-C exits 130 and lets its store go idle).
 */
export function takeLease(dataDir: string): Lease {
  mkdirSync(leaseDir(dataDir), { recursive: true });
  const path = join(leaseDir(dataDir), `${process.pid}.${randomBytes(4).toString('hex')}`);
  writeFileSync(path, `${process.pid}\n`);
  const unhook = registerExitHooks({ atExit: () => rmSync(path, { force: true }) });
  const refresh = setInterval(() => {
    try {
      const now = new Date();
      utimesSync(path, now, now);
    } catch {
      // released meanwhile
    }
  }, LEASE_TOUCH_MS);
  refresh.unref();
  return {
    path,
    release: () => {
      clearInterval(refresh);
      unhook();
      rmSync(path, { force: true });
    },
  };
}

/** Leases of live processes; those of dead ones (a killed command) are removed. */
export function liveLeases(dataDir: string): number {
  if (!existsSync(leaseDir(dataDir))) return 0;
  let live = 0;
  for (const name of readdirSync(leaseDir(dataDir))) {
    const path = join(leaseDir(dataDir), name);
    const pid = Number(name.split('.')[0]);
    let fresh = false;
    try {
      fresh = Date.now() - statSync(path).mtimeMs < LEASE_STALE_MS;
    } catch {
      continue;
    }
    if (Number.isInteger(pid) && alive(pid) && fresh) live++;
    else rmSync(path, { force: true });
  }
  return live;
}
