import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IscEmulator } from '../../local/emulator/server';
import { cliWorkspace } from '../support/cli';
import { startEmulator, TEST_CLIENT } from '../support/emulator';

// A tenant's URL is part of what is guarded: pointing it at another ISC is refused unless said so, and then it is
// recorded as a repoint, not raised as hundreds of drifts.

describe('repointing a tenant', () => {
  let first: { emulator: IscEmulator; url: string };
  let second: { emulator: IscEmulator; url: string };
  const { dataDir, cli, json } = cliWorkspace('repoint');
  const credentials = ['--client-id', TEST_CLIENT.clientId, '--client-secret', TEST_CLIENT.clientSecret];

  beforeAll(async () => {
    first = await startEmulator({ integrations: 5, seed: 1 });
    second = await startEmulator({ integrations: 7, seed: 2 });
    await json('snapshot', '--tenant', 'acme', '--tenant-url', first.url, ...credentials);
    const id = first.emulator.state.ids()[0] as string;
    first.emulator.state.patch(id, [{ op: 'replace', path: '/description', value: 'drift before the move' }]);
    await json('snapshot', '--tenant', 'acme');
  });
  afterAll(async () => {
    await first.emulator.stop();
    await second.emulator.stop();
  });

  it('refuses another URL without --repoint, and records a repoint without drift or alerts with it', async () => {
    const refused = await cli('snapshot', '--tenant', 'acme', '--tenant-url', second.url, ...credentials);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/tenant 'acme' is registered at http:\/\/127\.0\.0\.1:\d+; to point it at .* give --repoint/);
    expect(await json<unknown[]>('drift', '--tenant', 'acme')).toHaveLength(1);

    const moved = await json<{ changes: Array<{ classification: string }>; alerts: { sent: number; pending: number } }>(
      'snapshot',
      '--tenant',
      'acme',
      '--tenant-url',
      second.url,
      ...credentials,
      '--repoint',
    );
    expect(moved.changes.length).toBeGreaterThan(5);
    expect(new Set(moved.changes.map((c) => c.classification))).toEqual(new Set(['repoint']));
    expect(moved.alerts).toEqual({ sent: 0, pending: 0 });
    expect(await json<unknown[]>('drift', '--tenant', 'acme')).toEqual([]);

    const history = await cli('history', '--tenant', 'acme');
    expect(history.stdout).toMatch(/^3 .*repoint/m);
    const next = await json<{ changes: unknown[] }>('snapshot', '--tenant', 'acme');
    expect(next.changes).toEqual([]);
    const events = readFileSync(join(dataDir, 'events.jsonl'), 'utf8').trim().split('\n');
    expect(events.filter((e) => e.includes('Drift Detected'))).toHaveLength(1);
    expect((await cli('verify', '--tenant', 'acme')).code).toBe(0);
  });
});
