import type { ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { type JavaLaunch, keepRecordedArchive } from './java-launch';
import { liveLeases, releaseStore, type StoreRecord, storeLog, updateStore } from './store-file';

/** What local/store-spawn.ts computes for a background store, and local/store-boot.js starts. */
export interface StorePlan {
  readonly dataDir: string;
  readonly idleSeconds: number;
  readonly launch: JavaLaunch;
  /** Where in `launch.args` the port goes (chosen by the boot, just before Java starts). */
  readonly portIndex: number;
}

/**
 * The background store: DynamoDB Local on `<data-dir>/dynamodb`, shared by consecutive one-shot commands and stopped
 * once no command has used it for its idle time. local/store-boot.js (plain JavaScript, so Java starts before any
 * TypeScript compiles) has claimed the data directory's record and started Java; this supervises it, in the same
 * detached process. It loads no AWS SDK.
 *
 * Never two on one data directory: the record is claimed exclusively before Java starts, and a daemon that loses the
 * claim exits at once. Never orphaned: the JVM carries a parent-death signal where Linux offers one, and stops with
 * this daemon; this daemon stops when idle, on SIGTERM/SIGINT/SIGHUP, or when Java exits.
 */
export function superviseStore(options: { plan: StorePlan; record: StoreRecord; port: number; java: ChildProcess }): void {
  runStore(options).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${String(error)}\n`);
      process.exit(1);
    },
  );
}

async function runStore({
  plan,
  record: base,
  port,
  java,
}: {
  plan: StorePlan;
  record: StoreRecord;
  port: number;
  java: ChildProcess;
}): Promise<number> {
  const { dataDir, launch } = plan;
  const idleMs = plan.idleSeconds * 1000;
  const log = (line: string) => appendFileSync(storeLog(dataDir), `${new Date().toISOString()} ${line}\n`);
  const started = await new Promise<boolean>((resolve) => {
    java.once('spawn', () => resolve(true));
    java.once('error', (error: NodeJS.ErrnoException) => {
      log(
        error.code === 'ENOENT'
          ? 'DynamoDB Local needs Java 17 or newer on the PATH (e.g. apt-get install openjdk-17-jre-headless)'
          : `cannot start DynamoDB Local: ${error.message}`,
      );
      resolve(false);
    });
  });
  if (!started || java.pid === undefined) {
    releaseStore(dataDir, process.pid);
    return 1;
  }
  const record: StoreRecord = { ...base, endpoint: `http://127.0.0.1:${port}`, javaPid: java.pid };
  updateStore(dataDir, record);
  log(
    `DynamoDB Local pid ${java.pid} on ${record.endpoint}, idle stop after ${plan.idleSeconds} s${launch.archiveSkipped ? ` (class-data archive: ${launch.archiveSkipped})` : launch.training ? ' (recording the class-data archive)' : ''}`,
  );

  let exited = false;
  const javaExit = new Promise<void>((resolve) =>
    java.once('exit', (code, signal) => {
      exited = true;
      log(`DynamoDB Local exited (${signal ?? code})`);
      resolve();
    }),
  );
  let stopping: Promise<number> | undefined;
  const stop = (why: string) => {
    stopping ??= (async () => {
      log(`stopping: ${why}`);
      updateStore(dataDir, { ...record, stopping: true });
      if (!exited) {
        java.kill('SIGTERM');
        // Recording the class-data archive happens while the JVM exits and takes a few seconds: give it time.
        const escalate = setTimeout(() => java.kill('SIGKILL'), launch.training ? 60_000 : 10_000);
        await javaExit;
        clearTimeout(escalate);
      }
      try {
        if (launch.training) keepRecordedArchive(launch.training);
      } catch (error) {
        log(`class-data archive not kept: ${(error as Error).message}`);
      }
      releaseStore(dataDir, process.pid);
      return 0;
    })();
    return stopping;
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => void stop(signal));

  let lastUsed = Date.now();
  for (;;) {
    await Promise.race([javaExit, new Promise((r) => setTimeout(r, 500))]);
    if (stopping) return stopping;
    if (exited) {
      releaseStore(dataDir, process.pid);
      return 1;
    }
    if (liveLeases(dataDir) > 0) {
      lastUsed = Date.now();
      continue;
    }
    if (Date.now() - lastUsed < idleMs) continue;
    // Two-phase: announce, then look once more; a command that took its lease before the announcement is seen here.
    updateStore(dataDir, { ...record, stopping: true });
    if (liveLeases(dataDir) > 0) {
      updateStore(dataDir, record);
      lastUsed = Date.now();
      continue;
    }
    return stop(`idle for ${Math.round((Date.now() - lastUsed) / 1000)} s`);
  }
}
