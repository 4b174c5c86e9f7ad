import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IscEmulator } from '../../local/emulator/server';
import type { StoreRecord } from '../../local/store-file';
import { CLI, exitOf, registrationArgs, runCli, startCli } from '../support/cli';
import { startEmulator } from '../support/emulator';

// One-shot commands without a running stack share a background DynamoDB Local per data directory: started by the
// first command, reused by the next, stopped after its idle time, never two on one data directory, never left
// running by a command that is interrupted or a store that is killed.

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every DynamoDB Local process serving `dbPath`, from /proc. */
function javasOn(dbPath: string): Array<{ pid: number; args: string[] }> {
  const out: Array<{ pid: number; args: string[] }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args.some((a) => a.includes('DynamoDBLocal')) && args.includes(dbPath)) out.push({ pid: Number(entry), args });
    } catch {
      // ended while we looked
    }
  }
  return out;
}

const storeOf = (dataDir: string): StoreRecord | undefined =>
  existsSync(join(dataDir, 'store.json')) ? (JSON.parse(readFileSync(join(dataDir, 'store.json'), 'utf8')) as StoreRecord) : undefined;

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (condition()) return true;
    await sleep(200);
  }
  return condition();
}

describe('the background store of one-shot commands', () => {
  let emulator: IscEmulator;
  let url: string;
  const cache = mkdtempSync(join(tmpdir(), 'sdim-guard-cache-'));
  const dirs: string[] = [];
  /** No shared endpoint: each command finds (or starts) the data directory's own DynamoDB Local. */
  const env = (idleSeconds: number): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = { ...process.env, SDIM_GUARD_STORE_IDLE_SECONDS: String(idleSeconds), SDIM_GUARD_CACHE_DIR: cache };
    delete e.SDIM_GUARD_DYNAMODB_ENDPOINT;
    delete e.SDIM_GUARD_TABLE;
    return e;
  };
  const workspace = () => {
    const dir = mkdtempSync(join(tmpdir(), 'sdim-guard-store-'));
    dirs.push(dir);
    return dir;
  };
  const snapshotArgs = (dataDir: string) => [...registrationArgs(url), '--data-dir', dataDir];

  beforeAll(async () => {
    ({ emulator, url } = await startEmulator({ integrations: 5, seed: 31 }));
  });
  afterAll(async () => {
    // Whatever a failed assertion left: stop it by its recorded pid, never by name.
    for (const dir of dirs) {
      const record = storeOf(dir);
      if (record && alive(record.pid)) process.kill(record.pid, 'SIGTERM');
      for (const java of javasOn(join(dir, 'dynamodb'))) process.kill(java.pid, 'SIGKILL');
    }
    await emulator.stop();
    rmSync(cache, { recursive: true, force: true });
  });

  it('is started by the first command, reused by the next, and exits after its idle time (recording the class-data archive)', async () => {
    // Prepare
    const dataDir = workspace();
    const dbPath = join(dataDir, 'dynamodb');
    // The command runs with AWS credentials in its environment (as a deployer's shell has): the store needs none.
    const secret = `not-a-real-secret-${Date.now()}`;
    const timeline = join(dataDir, 'timeline.txt');
    const withCredentials = {
      ...env(6),
      AWS_ACCESS_KEY_ID: secret,
      AWS_SECRET_ACCESS_KEY: secret,
      AWS_SESSION_TOKEN: secret,
      SDIM_GUARD_TIMELINE: timeline,
    };
    // Act: the first command starts it
    const first = await runCli(snapshotArgs(dataDir), { env: withCredentials });
    // Assess
    expect(first.code).toBe(0);
    expect(first.stderr).toBe('');
    const record = storeOf(dataDir) as StoreRecord;
    expect(record).toMatchObject({ owner: 'background', idleSeconds: 6 });
    expect(alive(record.pid)).toBe(true);
    expect(javasOn(dbPath).map((j) => j.pid)).toEqual([record.javaPid]);
    // Neither the daemon nor its Java was given the credentials, nor told to send telemetry
    for (const pid of [record.pid, record.javaPid as number]) {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      expect(environ).not.toContain(secret);
      expect(environ.split('\0').filter((v) => v.startsWith('AWS_'))).toEqual([]);
    }
    expect(javasOn(dbPath)[0]?.args).toContain('-disableTelemetry');
    // SDIM_GUARD_TIMELINE: each stage once, in order, from the command and from its store daemon
    const marks = readFileSync(timeline, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(' '))
      .map(([at, pid, ...label]) => ({ at: Number(at), pid: Number(pid), label: label.join(' ') }));
    const stages = [
      'node-start',
      'store-prestarted',
      'java-spawned',
      'cli-loaded',
      'store-answers',
      'table-ready',
      'snapshot-start',
      'snapshot-end',
      'exit',
    ];
    const found = stages.map((stage) => marks.filter((m) => m.label === stage));
    expect(found.map((f) => f.length)).toEqual(stages.map(() => 1));
    const at = (stage: string) => marks.find((m) => m.label === stage)?.at as number;
    const inOrder = (chain: string[]) => expect(chain.map(at)).toEqual(chain.map(at).sort((a, b) => a - b));
    inOrder(['node-start', 'store-prestarted', 'cli-loaded', 'store-answers', 'table-ready', 'snapshot-start', 'snapshot-end', 'exit']);
    inOrder(['store-prestarted', 'java-spawned', 'store-answers']);
    expect(marks.find((m) => m.label === 'java-spawned')?.pid).toBe(record.pid);
    expect(new Set(marks.filter((m) => m.label !== 'java-spawned' && !m.label.startsWith('store-boot')).map((m) => m.pid)).size).toBe(1);
    // Act: the next command uses the same store
    const second = await runCli(['history', '--tenant', 'acme', '--data-dir', dataDir, '--json'], { env: env(6) });
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toHaveLength(1);
    expect(storeOf(dataDir)?.pid).toBe(record.pid);
    expect(javasOn(dbPath).map((j) => j.pid)).toEqual([record.javaPid]);
    // Assess: idle for 6 s, it stops; the JVM recorded its class-data archive on the way out
    expect(await until(() => !alive(record.pid) && javasOn(dbPath).length === 0, 90_000)).toBe(true);
    expect(storeOf(dataDir)).toBeUndefined();
    const archives = readdirSync(cache).flatMap((d) => readdirSync(join(cache, d)).filter((f) => f === 'classes.jsa'));
    expect(archives).toEqual(['classes.jsa']);
    // Act: the next store maps the archive
    const third = await runCli(['history', '--tenant', 'acme', '--data-dir', dataDir], { env: env(1) });
    expect(third.code).toBe(0);
    const [java] = javasOn(dbPath);
    expect(java?.args.some((a) => a.startsWith('-XX:SharedArchiveFile='))).toBe(true);
    expect(await until(() => javasOn(dbPath).length === 0, 60_000)).toBe(true);
  }, 240_000);

  it('never starts two on one data directory, however many commands start at once', async () => {
    // Prepare: a workspace with its tenant, and no store running
    const dataDir = workspace();
    const dbPath = join(dataDir, 'dynamodb');
    expect((await runCli(snapshotArgs(dataDir), { env: env(0) })).code).toBe(0);
    expect(await until(() => javasOn(dbPath).length === 0 && !storeOf(dataDir), 60_000)).toBe(true);
    // Act: four commands at once
    let most = 0;
    const watching = setInterval(() => {
      most = Math.max(most, javasOn(dbPath).length);
    }, 50);
    const results = await Promise.all(
      [0, 1, 2, 3].map(() => runCli(['history', '--tenant', 'acme', '--data-dir', dataDir, '--json'], { env: env(3), timeoutMs: 110_000 })),
    );
    clearInterval(watching);
    // Assess
    for (const result of results) {
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toHaveLength(1);
    }
    expect(most).toBe(1);
    expect(await until(() => javasOn(dbPath).length === 0, 60_000)).toBe(true);
  }, 240_000);

  it('takes its Java with it when killed with SIGKILL, and the next command starts a fresh one', async () => {
    // Prepare
    const dataDir = workspace();
    const dbPath = join(dataDir, 'dynamodb');
    expect((await runCli(snapshotArgs(dataDir), { env: env(300) })).code).toBe(0);
    const record = storeOf(dataDir) as StoreRecord;
    // Act
    process.kill(record.pid, 'SIGKILL');
    // Assess: the JVM's parent-death signal stops it; the stale record does not stop the next command
    expect(await until(() => javasOn(dbPath).length === 0, 30_000)).toBe(true);
    const next = await runCli(['history', '--tenant', 'acme', '--data-dir', dataDir, '--json'], { env: env(1) });
    expect(next.code).toBe(0);
    expect(JSON.parse(next.stdout)).toHaveLength(1);
    expect(storeOf(dataDir)?.pid).not.toBe(record.pid);
    expect(await until(() => javasOn(dbPath).length === 0, 60_000)).toBe(true);
  }, 180_000);

  it('shows progress on a terminal while the store starts, and none with --json', async () => {
    // Prepare: a workspace with its tenant and no store running; `script` (util-linux) gives the command a terminal
    const dataDir = workspace();
    expect((await runCli(snapshotArgs(dataDir), { env: env(0) })).code).toBe(0);
    expect(await until(() => !storeOf(dataDir), 60_000)).toBe(true);
    const onTerminal = (args: string) =>
      new Promise<string>((resolve, reject) => {
        const run = spawn('script', ['-qfec', `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} ${args}`, '/dev/null'], {
          // The line appears at once (not after a second), so the test does not depend on how fast Java starts.
          env: { ...env(0), NO_COLOR: '1', SDIM_GUARD_PROGRESS_AFTER_MS: '0' },
        });
        let out = '';
        run.stdout.on('data', (d: Buffer) => {
          out += d.toString();
        });
        run.on('error', reject);
        run.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${out}`))));
      });
    // Act
    const human = await onTerminal(`history --tenant acme --data-dir ${JSON.stringify(dataDir)}`);
    expect(await until(() => !storeOf(dataDir), 60_000)).toBe(true);
    const json = await onTerminal(`history --tenant acme --data-dir ${JSON.stringify(dataDir)} --json`);
    // Assess: a line redrawn in place and erased before the table; nothing but JSON with --json
    const esc = '\x1b';
    expect(human).toContain(`\r${esc}[2K${esc}[2mstarting DynamoDB Local`);
    expect(human).toContain(`\r${esc}[2K#  taken at`);
    expect(json).not.toContain(`${esc}[2K`);
    expect(json).not.toContain('starting DynamoDB Local');
    expect(JSON.parse(json)).toHaveLength(1);
  }, 180_000);

  it('gives way to a stack started on the same data directory, whose store the next command then uses', async () => {
    // Prepare: a background store that would otherwise stay five minutes
    const dataDir = workspace();
    const dbPath = join(dataDir, 'dynamodb');
    expect((await runCli(snapshotArgs(dataDir), { env: env(300) })).code).toBe(0);
    const background = storeOf(dataDir) as StoreRecord;
    // Act
    const { child: stack } = await startCli(
      ['start', '--interval', '3600', '--data-dir', dataDir, '--integrations', '2'],
      /Ctrl-C to stop/,
      {
        env: env(300),
      },
    );
    try {
      // Assess: one Java, the stack's; the background daemon leaves (it releases the record, then exits)
      expect(await until(() => !alive(background.pid), 30_000)).toBe(true);
      const record = storeOf(dataDir) as StoreRecord;
      expect(record).toMatchObject({ owner: 'stack', pid: stack.pid });
      expect(javasOn(dbPath).map((j) => j.pid)).toEqual([record.javaPid]);
      const history = await runCli(['history', '--tenant', 'acme', '--data-dir', dataDir, '--json'], { env: env(300) });
      expect(history.code).toBe(0);
      // The background store's snapshot is there (the stack may have taken its own since: it ticks every tenant).
      expect(JSON.parse(history.stdout)[0]).toMatchObject({ seq: 1, baseline: true, tenant: 'acme' });
      expect(javasOn(dbPath).map((j) => j.pid)).toEqual([record.javaPid]);
    } finally {
      stack.kill('SIGINT');
      expect(await exitOf(stack)).toBe(0);
    }
    expect(javasOn(dbPath)).toEqual([]);
    expect(storeOf(dataDir)).toBeUndefined();
  }, 180_000);
});
