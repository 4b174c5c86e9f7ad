import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { javaLaunch } from './java-launch';
import { claimStore, liveLeases, releaseStore, type StoreRecord, storeLog, updateStore } from './store-file';

/**
 * The background store: DynamoDB Local on `<data-dir>/dynamodb`, shared by consecutive one-shot commands and stopped
 * once no command has used it for `--idle-seconds`. Started detached by a command that found no store (see
 * shared-store.ts); it loads no AWS SDK, so Java starts a moment after the command asked.
 *
 * Never two on one data directory: the record is claimed exclusively before Java starts, and a daemon that loses the
 * claim exits at once. Never orphaned: the JVM carries a parent-death signal where Linux offers one, and stops with
 * this daemon; this daemon stops when idle, on SIGTERM/SIGINT/SIGHUP, or when Java exits.
 */
export async function runStoreDaemon(argv: readonly string[]): Promise<number> {
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    const value = i >= 0 ? argv[i + 1] : undefined;
    if (value === undefined) throw new Error(`store daemon: ${name} is required`);
    return value;
  };
  const dataDir = arg('--data-dir');
  const port = await freePort();
  const idleMs = Number(arg('--idle-seconds')) * 1000;
  const dbPath = `${dataDir}/dynamodb`;
  const log = (line: string) => appendFileSync(storeLog(dataDir), `${new Date().toISOString()} ${line}\n`);
  const base: StoreRecord = {
    pid: process.pid,
    owner: 'background',
    dbPath,
    idleSeconds: idleMs / 1000,
    startedAt: new Date().toISOString(),
  };
  if (!claimStore(dataDir, base)) return 0;
  writeFileSync(storeLog(dataDir), '');
  let launch: ReturnType<typeof javaLaunch>;
  try {
    mkdirSync(dbPath, { recursive: true });
    launch = javaLaunch({ port, dbPath, mayTrain: true, quickStart: true });
  } catch (error) {
    log(`cannot start DynamoDB Local: ${(error as Error).message}`);
    releaseStore(dataDir, process.pid);
    return 1;
  }
  const out = openSync(storeLog(dataDir), 'a');
  const java = spawn(launch.command, launch.args, { cwd: launch.cwd, stdio: ['ignore', out, out] });
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
    `DynamoDB Local pid ${java.pid} on ${record.endpoint}, idle stop after ${idleMs / 1000} s${launch.archiveSkipped ? ` (class-data archive: ${launch.archiveSkipped})` : launch.training ? ' (recording the class-data archive)' : ''}`,
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
        launch.training?.finish();
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

/** A port nobody listens on now (the store is one process per data directory, so a race here is only with others). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

if (require.main === module) {
  runStoreDaemon(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${String(error)}\n`);
      process.exit(1);
    },
  );
}
