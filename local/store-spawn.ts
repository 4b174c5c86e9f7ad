import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { javaLaunch, storeEnv } from './java-launch';
import type { StorePlan } from './store-daemon';
import { alive, readStore } from './store-file';

// Node.js built-ins only (and java-launch.ts, also built-ins only): bin/sdim-guard.js loads this before the CLI's
// own modules (the AWS SDK among them), so the background store's JVM starts while they load.

const BOOT = join(__dirname, 'store-boot.js');
/** Read (and removed from its environment before Java starts) by local/store-boot.js. */
const PLAN_VARIABLE = 'SDIM_GUARD_STORE_PLAN';

/** Seconds a background store outlives the last command that used it (`SDIM_GUARD_STORE_IDLE_SECONDS`, 0 = none). */
export function storeIdleSeconds(): number {
  const raw = process.env.SDIM_GUARD_STORE_IDLE_SECONDS;
  if (raw === undefined || raw.trim() === '') return 120;
  if (!/^\d+$/.test(raw.trim())) throw new Error(`SDIM_GUARD_STORE_IDLE_SECONDS must be a whole number of seconds, not '${raw}'`);
  return Number(raw);
}

/**
 * Starts a store daemon for `dataDir` (detached, its own session); it exits at once if another one holds the record.
 * The Java command line is computed here, by a process that has its modules loaded already, so that the daemon
 * (local/store-boot.js, plain JavaScript) starts Java as the first thing it does.
 */
export function spawnStoreDaemon(dataDir: string, idleSeconds = storeIdleSeconds()): ChildProcess {
  const launch = javaLaunch({ port: 0, dbPath: join(dataDir, 'dynamodb'), mayTrain: true, quickStart: true });
  const plan: StorePlan = { dataDir, idleSeconds, launch, portIndex: launch.args.indexOf('-port') + 1 };
  // The plan goes in the environment, not on the command line: `ps` shows a short line, and nothing that looks for
  // Java by its command line mistakes the daemon for one.
  const child = spawn(process.execPath, [BOOT, '--data-dir', dataDir], {
    detached: true,
    stdio: 'ignore',
    env: { ...storeEnv(), [PLAN_VARIABLE]: JSON.stringify(plan) },
  });
  child.unref();
  return child;
}

/** Commands that open the local store (a running stack's, or the background one). */
const STORE_COMMANDS = new Set([
  'snapshot',
  'history',
  'diff',
  'drift',
  'integrations',
  'accept',
  'verify',
  'export',
  'requests',
  'show',
  'propose',
  'approve',
  'reject',
  'retry',
]);

/**
 * Called first thing by bin/sdim-guard.js: when the command line names a command that will open an existing data
 * directory with no store running, the store starts now rather than after the CLI's modules have loaded (about a
 * second). Best effort and silent: anything unusual (help, a remote API, a named endpoint, no such folder) is left to
 * the command, which starts the store itself if it still needs one.
 */
export function prestartStore(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): boolean {
  const [command] = argv;
  if (!command || !STORE_COMMANDS.has(command)) return false;
  if (argv.includes('--help') || argv.includes('-h') || argv.some((a) => a === '--api-url' || a.startsWith('--api-url='))) return false;
  if (env.SDIM_GUARD_DYNAMODB_ENDPOINT || env.SDIM_GUARD_API_URL) return false;
  const at = argv.indexOf('--data-dir');
  const named = at >= 0 ? argv[at + 1] : argv.find((a) => a.startsWith('--data-dir='))?.slice('--data-dir='.length);
  const dataDir = resolve(named ?? '.sdim-guard');
  try {
    if (!existsSync(dataDir) || !statSync(dataDir).isDirectory()) return false;
    const record = readStore(dataDir);
    if (record && alive(record.pid)) return false;
    storeIdleSeconds(); // a bad value throws here; the command then reports it
  } catch {
    return false;
  }
  spawnStoreDaemon(dataDir);
  return true;
}
