import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitOf, runCli, startCli } from '../support/cli';

const portOpen = (endpoint: string) =>
  new Promise<boolean>((resolve) => {
    const { hostname, port } = new URL(endpoint);
    const socket = createConnection({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

describe('sdim-guard start (npm start)', () => {
  it('snapshots the embedded emulator on schedule and stops cleanly on Ctrl-C, leaving no DynamoDB Local behind', async () => {
    // Prepare
    const dataDir = mkdtempSync(join(tmpdir(), 'sdim-guard-start-'));
    const { child, output } = await startCli(
      ['start', '--interval', '1', '--data-dir', dataDir, '--integrations', '30'],
      /snapshot demo #2/,
    );
    const runtime = JSON.parse(readFileSync(join(dataDir, 'runtime.json'), 'utf8')) as { dynamodbEndpoint: string };
    expect(await portOpen(runtime.dynamodbEndpoint)).toBe(true);
    // Another CLI on the same data directory uses the running stack's store instead of starting its own.
    const drift = await runCli(['drift', '--tenant', 'demo', '--data-dir', dataDir]);
    expect(drift).toMatchObject({ code: 0, stdout: 'No drift.\n' });
    // Act
    child.kill('SIGINT');
    // Assess
    expect(await exitOf(child)).toBe(0);
    expect(output()).toMatch(/snapshot demo #1: 31 resources, baseline recorded/);
    expect(output()).toMatch(/snapshot demo #2: 31 resources, no changes .*1 item written/);
    expect(output()).toMatch(/Stopped\./);
    expect(existsSync(join(dataDir, 'runtime.json'))).toBe(false);
    expect(await portOpen(runtime.dynamodbEndpoint)).toBe(false);
  }, 120_000);

  it('runs one tick with `local --once` and keeps history across runs in the data directory', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sdim-guard-once-'));
    const first = await runCli(['local', '--once', '--data-dir', dataDir]);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/snapshot demo #1: 26 resources, baseline recorded/);
    const second = await runCli(['local', '--once', '--data-dir', dataDir]);
    expect(second.stdout).toMatch(/snapshot demo #2: 26 resources, no changes/);
  }, 120_000);
});
