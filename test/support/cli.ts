import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dynamoEndpoint } from './dynamodb';
import { TEST_CLIENT } from './emulator';

export const CLI = join(__dirname, '..', '..', 'bin', 'sdim-guard.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `sdim-guard …` to completion in a child process, as a user would. */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: { ...process.env, NO_COLOR: '1', ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sdim-guard ${args.join(' ')} did not finish in time\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts a long-running `sdim-guard …` and resolves with the first stdout line that matches. */
export function startCli(
  args: string[],
  ready: RegExp,
  options: { env?: NodeJS.ProcessEnv } = {},
): Promise<{ child: ChildProcess; line: string; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...(options.env ?? process.env), NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`no line matching ${ready} in time:\n${stdout}\n${stderr}`)), 90_000);
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      const line = stdout.split('\n').find((l) => ready.test(l));
      if (line) {
        clearTimeout(timer);
        resolve({ child, line, output: () => stdout + stderr });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before ready:\n${stdout}\n${stderr}`));
    });
  });
}

export function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.on('exit', (code) => resolve(code));
  });
}

/** `snapshot` arguments that register a tenant on the emulator at `url` with the test client's credentials. */
export function registrationArgs(url: string, tenant = 'acme'): string[] {
  return [
    'snapshot',
    '--tenant',
    tenant,
    '--tenant-url',
    url,
    '--client-id',
    TEST_CLIENT.clientId,
    '--client-secret',
    TEST_CLIENT.clientSecret,
  ];
}

/**
 * `sdim-guard …` on a fresh data directory, with the suite's DynamoDB Local standing in for the embedded one (so
 * each command does not start Java again) and a table of its own; `json` parses `--json` output or fails loudly.
 */
export function cliWorkspace(prefix: string) {
  const dataDir = mkdtempSync(join(tmpdir(), `sdim-guard-${prefix}-`));
  const env: NodeJS.ProcessEnv = { SDIM_GUARD_DYNAMODB_ENDPOINT: dynamoEndpoint(), SDIM_GUARD_TABLE: `cli-${randomUUID()}` };
  const cli = (...args: string[]): Promise<CliResult> => runCli([...args, '--data-dir', dataDir], { env });
  const json = async <T>(...args: string[]): Promise<T> => {
    const result = await cli(...args, '--json');
    if (result.code !== 0) throw new Error(`sdim-guard ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  };
  /** First snapshot of a tenant on the emulator at `url`, registering it with the test client's credentials. */
  const registerTenant = (url: string, tenant = 'acme'): Promise<unknown> => json(...registrationArgs(url, tenant));
  return { dataDir, env, cli, json, registerTenant };
}
