import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IscEmulator } from '../../local/emulator/server';
import { CLI, cliWorkspace, exitOf, registrationArgs, runCli, startCli } from '../support/cli';
import { startEmulator, TEST_CLIENT, tokenFor } from '../support/emulator';

// What a user hits when a path is wrong, a signal arrives, or a client sends garbage: a clear message, the right
// exit code, and nothing left behind.

/** Pids of the direct children of `pid` (from /proc), with their command lines. */
function childrenOf(pid: number): Array<{ pid: number; cmd: string }> {
  const out: Array<{ pid: number; cmd: string }> = [];
  for (const entry of require('node:fs').readdirSync('/proc') as string[]) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push({ pid: Number(entry), cmd: readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ') });
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Within the default 90-day cap on acceptances. */
const inAMonth = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);

describe('CLI robustness', () => {
  let emulator: IscEmulator;
  let url: string;
  const ws = cliWorkspace('robust');

  beforeAll(async () => {
    ({ emulator, url } = await startEmulator({ integrations: 4, seed: 13 }));
    await ws.registerTenant(url);
  });
  afterAll(() => emulator.stop());

  it('fails fast and clearly on a data directory under /proc instead of spinning', async () => {
    const started = Date.now();
    const result = await runCli(['history', '--tenant', 'acme', '--data-dir', '/proc/nope'], { timeoutMs: 15_000 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no sdim-guard workspace at \/proc\/nope/);
    const creating = await runCli(
      ['snapshot', '--tenant', 'acme', '--tenant-url', url, '--client-id', 'a', '--client-secret', 'b', '--data-dir', '/proc/nope/deeper'],
      { timeoutMs: 15_000 },
    );
    expect(creating.code).toBe(2);
    expect(creating.stderr).toMatch(/cannot create the workspace \/proc\/nope\/deeper: its parent folder \/proc\/nope does not exist/);
  });

  it('refuses a mistyped data directory for read commands instead of creating an empty store', async () => {
    const typo = `${ws.dataDir}-typo`;
    for (const args of [['history', '--tenant', 'acme'], ['drift', '--tenant', 'acme'], ['requests'], ['verify', '--tenant', 'acme']]) {
      const result = await runCli([...args, '--data-dir', typo], { env: ws.env });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/no sdim-guard workspace at .*-typo .*snapshot --tenant NAME --tenant-url URL/);
    }
    expect(existsSync(typo)).toBe(false);
  });

  it('creates a new workspace when a tenant is first named, in a folder whose parent exists', async () => {
    const fresh = join(mkdtempSync(join(tmpdir(), 'sdim-guard-parent-')), 'workspace');
    const result = await runCli([...registrationArgs(url), '--data-dir', fresh], {
      env: { ...ws.env, SDIM_GUARD_TABLE: `fresh-${Date.now()}` },
    });
    expect(result.code).toBe(0);
    expect(existsSync(join(fresh, 'secrets.json'))).toBe(true);
  });

  it('names the missing folder of export --out instead of a raw ENOENT', async () => {
    const out = join(ws.dataDir, 'no-such-folder', 'evidence.csv');
    const result = await ws.cli('export', '--tenant', 'acme', '--format', 'csv', '--out', out);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--out .*evidence\.csv: the folder .*no-such-folder does not exist/);
    expect(result.stderr).not.toMatch(/ENOENT/);
  });

  it('exits 1 on a domain refusal and 2 on a bad flag', async () => {
    const refused = await ws.cli('accept', '--tenant', 'acme', '--integration', 'nope', '--reason', 'r', '--until', inAMonth);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/no drift on integration:nope/);
    const unknown = await ws.cli('history', '--tenant', 'nobody');
    expect(unknown.code).toBe(1);
    const badFlag = await ws.cli('history', '--tenant', 'acme', '--limit', 'lots');
    expect(badFlag.code).toBe(2);
    const unknownOption = await ws.cli('history', '--tenant', 'acme', '--colour');
    expect(unknownOption.code).toBe(2);
  });

  it('leaves no DynamoDB Local behind when a one-shot command gets SIGINT: its store stops after its idle time', async () => {
    // Prepare: a slow ISC keeps the snapshot busy while the data directory's background store serves it (no shared
    // endpoint here). The store is not the command's child but a process of its own, so that the next command finds
    // it warm; "no orphan" therefore means it stops by itself once idle, and the command never holds a JVM.
    const { emulator: slow, url: slowUrl } = await startEmulator({ integrations: 2, latencyMs: 20_000 });
    const dataDir = mkdtempSync(join(tmpdir(), 'sdim-guard-sigint-'));
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', SDIM_GUARD_STORE_IDLE_SECONDS: '3' };
    delete env.SDIM_GUARD_DYNAMODB_ENDPOINT;
    const child = spawn(
      process.execPath,
      [
        CLI,
        'snapshot',
        '--tenant',
        'slow',
        '--tenant-url',
        slowUrl,
        '--client-id',
        TEST_CLIENT.clientId,
        '--client-secret',
        TEST_CLIENT.clientSecret,
        '--data-dir',
        dataDir,
      ],
      { env, stdio: 'ignore' },
    );
    let store: { pid: number; javaPid: number } | undefined;
    try {
      // Wait until the snapshot is waiting on ISC (the slow listing was requested).
      for (let i = 0; i < 900 && slow.requests.length === 0; i++) await sleep(100);
      expect(slow.requests.length).toBeGreaterThan(0);
      store = JSON.parse(readFileSync(join(dataDir, 'store.json'), 'utf8')) as { pid: number; javaPid: number };
      expect(alive(store.javaPid)).toBe(true);
      expect(childrenOf(child.pid as number).filter((c) => /java/.test(c.cmd))).toEqual([]);
      // Act
      child.kill('SIGINT');
      const code = await exitOf(child);
      // Assess
      expect(code).toBe(130);
      for (let i = 0; i < 600 && (alive(store.javaPid) || alive(store.pid)); i++) await sleep(100);
      expect(alive(store.javaPid)).toBe(false);
      expect(alive(store.pid)).toBe(false);
      expect(existsSync(join(dataDir, 'store.json'))).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      if (store && alive(store.pid)) process.kill(store.pid, 'SIGTERM');
      await slow.stop();
    }
  }, 120_000);

  it('the emulator answers a malformed percent-escape with 400, not 500', async () => {
    const token = await tokenFor(url);
    const response = await fetch(`${url}/v3/service-desk-integrations/%E0%A4%A`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(400);
    expect(JSON.stringify(await response.json())).toMatch(/malformed percent-escape/i);
  });
});

describe('the local approval API of a running stack', () => {
  it('answers an oversized body with 413 and garbage with 400, and stays up', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sdim-guard-api-'));
    const { child, output } = await startCli(
      ['start', '--interval', '3600', '--data-dir', dataDir, '--integrations', '2'],
      /Ctrl-C to stop/,
    );
    try {
      const { approvalApiUrl } = JSON.parse(readFileSync(join(dataDir, 'runtime.json'), 'utf8')) as { approvalApiUrl: string };
      const headers = { 'content-type': 'application/json', 'x-sdim-guard-user': 'alice' };
      const big = await fetch(`${approvalApiUrl}/requests`, { method: 'POST', headers, body: 'x'.repeat(2 * 1024 * 1024) });
      expect(big.status).toBe(413);
      expect(await big.json()).toMatchObject({ error: 'too-large' });
      const garbage = await fetch(`${approvalApiUrl}/requests`, { method: 'POST', headers, body: '{"tenant": ' });
      expect(garbage.status).toBe(400);
      const list = await fetch(`${approvalApiUrl}/requests`, { headers });
      expect(list.status).toBe(200);
      expect(child.exitCode).toBeNull();
      expect(output()).not.toMatch(/Error: body too large/);
    } finally {
      child.kill('SIGINT');
      expect(await exitOf(child)).toBe(0);
    }
  }, 120_000);
});
