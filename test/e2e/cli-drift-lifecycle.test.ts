import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IscEmulator } from '../../local/emulator/server';
import { cliWorkspace } from '../support/cli';
import { startEmulator } from '../support/emulator';

// Drift that goes away by itself closes itself; many drifts are accepted in one command; integrations are listed
// from the store without asking ISC.

const inAMonth = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);

describe('drift lifecycle and the integrations list', () => {
  let emulator: IscEmulator;
  const { dataDir, cli, json, registerTenant } = cliWorkspace('lifecycle');

  beforeAll(async () => {
    let url: string;
    ({ emulator, url } = await startEmulator({ integrations: 6, seed: 21 }));
    await registerTenant(url);
  });
  afterAll(() => emulator.stop());

  it('closes a drift whose resource returns to its known state, without an alert', async () => {
    const id = emulator.state.ids()[0] as string;
    const before = emulator.state.get(id).description ?? '';
    emulator.state.patch(id, [{ op: 'replace', path: '/description', value: 'temporary edit' }]);
    await json('snapshot', '--tenant', 'acme');
    expect(await json<unknown[]>('drift', '--tenant', 'acme')).toHaveLength(1);
    emulator.state.patch(id, [{ op: 'replace', path: '/description', value: before }]);
    const back = await json<{ changes: Array<{ classification: string }>; alerts: { sent: number } }>('snapshot', '--tenant', 'acme');
    expect(back.changes.map((c) => c.classification)).toEqual(['restored']);
    expect(back.alerts.sent).toBe(0);
    expect(await json<unknown[]>('drift', '--tenant', 'acme')).toEqual([]);
    const alerts = readFileSync(join(dataDir, 'events.jsonl'), 'utf8').trim().split('\n');
    expect(alerts).toHaveLength(1);
  });

  it('accepts several drifts by id, by severity, by type or all at once, and prints what it accepted', async () => {
    const ids = emulator.state.ids();
    for (const id of ids) emulator.state.patch(id, [{ op: 'replace', path: '/description', value: `edit of ${id}` }]);
    await json('snapshot', '--tenant', 'acme');
    const all = await json<Array<{ key: string; status: string }>>('drift', '--tenant', 'acme', '--open');
    expect(all).toHaveLength(ids.length);

    const two = await cli(
      'accept',
      '--tenant',
      'acme',
      '--integration',
      ids[0] as string,
      '--integration',
      ids[1] as string,
      '--reason',
      'CHG-1',
      '--until',
      inAMonth,
    );
    expect(two.code).toBe(0);
    expect(two.stdout).toMatch(/Accepted 2 drifts until/);
    const typo = await cli(
      'accept',
      '--tenant',
      'acme',
      '--integration',
      ids[2] as string,
      '--integration',
      'nope',
      '--reason',
      'r',
      '--until',
      inAMonth,
    );
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/no drift on integration:nope/);

    const type = emulator.state.get(ids[2] as string).type as string;
    const byType = await json<Array<{ key: string }>>(
      'accept',
      '--tenant',
      'acme',
      '--type',
      type,
      '--reason',
      'CHG-2',
      '--until',
      inAMonth,
    );
    const ofType = ids.slice(2).filter((id) => emulator.state.get(id).type === type);
    expect(byType.map((d) => d.key).sort()).toEqual(ofType.map((id) => `integration:${id}`).sort());

    const bySeverity = await json<unknown[]>('accept', '--tenant', 'acme', '--severity', 'high', '--reason', 'r', '--until', inAMonth);
    expect(bySeverity).toEqual([]);
    const rest = await json<unknown[]>('accept', '--tenant', 'acme', '--all', '--reason', 'CHG-3', '--until', inAMonth);
    expect(rest).toHaveLength(ids.length - 2 - ofType.length);
    expect(await json<unknown[]>('drift', '--tenant', 'acme', '--open')).toEqual([]);

    const both = await cli('accept', '--tenant', 'acme', '--all', '--integration', ids[0] as string, '--reason', 'r', '--until', inAMonth);
    expect(both.code).toBe(2);
  });

  it('lists integrations with id, name, type, last change and standing drift, in 120 columns', async () => {
    const rows = await json<
      Array<{ id: string; name: string; type: string; lastChange: { seq: number }; drift: { status: string } | null }>
    >('integrations', '--tenant', 'acme');
    expect(rows.map((r) => r.id).sort()).toEqual([...emulator.state.ids()].sort());
    for (const row of rows) {
      expect(row).toMatchObject({ name: emulator.state.get(row.id).name, type: emulator.state.get(row.id).type });
      expect(row.drift?.status).toBe('accepted');
      expect(row.lastChange.seq).toBe(4);
    }
    const table = await cli('integrations', '--tenant', 'acme');
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(rows.length + 1);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(120);
  });
});
