// The background store's first moments, in plain JavaScript so that Java starts before any TypeScript is compiled:
// Node.js with tsx took about 200 ms to reach the first line of the TypeScript daemon, this file about 40 ms, and the
// JVM's start-up is what a command without a running store waits for. Node.js built-ins only.
//
// Started by local/store-spawn.ts with a plan it computed in SDIM_GUARD_STORE_PLAN (the Java command line of
// java-launch.ts, the port left open). In order: claim the data directory's record exactly as local/store-file.ts's
// claimStore does (created `wx`, so never two stores on one data directory: a daemon that loses the claim exits at
// once), pick a free port, start Java, and hand the running process to local/store-daemon.ts, which supervises it
// until the store goes idle.
const { spawn } = require('node:child_process');
const { existsSync, mkdirSync, openSync, rmSync, writeFileSync } = require('node:fs');
const { createServer } = require('node:net');
const { join } = require('node:path');

const timeline = process.env.SDIM_GUARD_TIMELINE;
/** See local/timeline.ts. */
const mark = (label) =>
  timeline &&
  writeFileSync(timeline, `${(performance.timeOrigin + performance.now()).toFixed(1)} ${process.pid} ${label}\n`, { flag: 'a' });
mark('store-boot');

/** @type {{ dataDir: string, idleSeconds: number, portIndex: number, launch: { command: string, args: string[], cwd: string } }} */
const plan = JSON.parse(process.env.SDIM_GUARD_STORE_PLAN);
delete process.env.SDIM_GUARD_STORE_PLAN;
const storeFile = join(plan.dataDir, 'store.json');
const storeLog = join(plan.dataDir, 'store.log');
const dbPath = join(plan.dataDir, 'dynamodb');
const base = {
  pid: process.pid,
  owner: 'background',
  dbPath,
  idleSeconds: plan.idleSeconds,
  startedAt: new Date().toISOString(),
};

function claim() {
  try {
    writeFileSync(storeFile, `${JSON.stringify(base)}\n`, { flag: 'wx' });
    return true;
  } catch (error) {
    if (error.code === 'EEXIST') return false;
    throw error;
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function boot() {
  if (!claim()) return;
  writeFileSync(storeLog, '');
  let port;
  try {
    // Not recursive: the data directory exists (Node's recursive mkdir spins forever on paths under /proc).
    if (!existsSync(dbPath)) mkdirSync(dbPath);
    port = await freePort();
  } catch (error) {
    writeFileSync(storeLog, `${new Date().toISOString()} cannot start DynamoDB Local: ${error.message}\n`, { flag: 'a' });
    rmSync(storeFile, { force: true });
    process.exitCode = 1;
    return;
  }
  const args = [...plan.launch.args];
  args[plan.portIndex] = String(port);
  const out = openSync(storeLog, 'a');
  const java = spawn(plan.launch.command, args, { cwd: plan.launch.cwd, stdio: ['ignore', out, out] });
  mark('java-spawned');
  // Synchronous, so the daemon's listeners are on `java` before any of its events can fire.
  require(require.resolve('tsx/cjs'));
  require('./store-daemon.ts').superviseStore({ plan, record: base, port, java });
}

boot().catch((error) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
