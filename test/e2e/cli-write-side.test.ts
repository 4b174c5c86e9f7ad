import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IscEmulator } from '../../local/emulator/server';
import { cliWorkspace, runCli } from '../support/cli';
import { startEmulator } from '../support/emulator';

describe('sdim-guard propose, approve, reject, requests, show, and npm run demo', () => {
  let emulator: IscEmulator;
  let url: string;
  const { dataDir, cli, json, registerTenant } = cliWorkspace('write');

  beforeAll(async () => {
    ({ emulator, url } = await startEmulator({ integrations: 6, seed: 61 }));
    await registerTenant(url);
  });
  afterAll(() => emulator.stop());

  it('proposes, refuses self-approval, approves, lists and shows a request with --json id and status', async () => {
    const id = emulator.state.ids()[0] as string;
    const proposed = await json<{ id: string; status: string }>(
      'propose',
      '--tenant',
      'acme',
      '--integration',
      id,
      '--patch',
      '[{"op":"replace","path":"/description","value":"via CLI"}]',
      '--as',
      'alice',
      '--reason',
      'CHG-7',
    );
    expect(proposed).toMatchObject({ id: expect.any(String), status: 'pending' });
    const self = await cli('approve', proposed.id, '--as', 'alice');
    expect(self.code).toBe(1);
    expect(self.stderr).toMatch(/alice proposed request .* and cannot approve it/);
    expect(await json('approve', proposed.id, '--as', 'bob')).toMatchObject({ id: proposed.id, status: 'queued' });
    const listed = await json<Array<{ id: string; status: string }>>('requests', '--status', 'queued');
    expect(listed.map((r) => [r.id, r.status])).toEqual([[proposed.id, 'queued']]);
    const shown = await cli('show', proposed.id);
    expect(shown.stdout).toMatch(/replace +\/description "via CLI"/);
    expect(shown.stdout).toMatch(/pending → approved {2}by bob/);
  }, 120_000);

  it('rejects with a reason', async () => {
    const id = emulator.state.ids()[1] as string;
    const proposed = await json<{ id: string }>(
      'propose',
      '--tenant',
      'acme',
      '--integration',
      id,
      '--delete',
      '--as',
      'alice',
      '--reason',
      'cleanup',
    );
    expect(await json('reject', proposed.id, '--as', 'bob', '--reason', 'still in use')).toMatchObject({ status: 'rejected' });
  });

  it('keeps a credential in a create out of the store: the request holds only its fingerprint', async () => {
    const file = join(dataDir, 'new.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'New desk',
        description: 'd',
        type: 'Zendesk SDIM',
        attributes: { url: 'https://x.zendesk.com', apiToken: 'zd-very-secret-1' },
      }),
    );
    const proposed = await json<{ operation: unknown; secretPaths: string[] }>(
      'propose',
      '--tenant',
      'acme',
      '--create',
      file,
      '--as',
      'alice',
      '--reason',
      'new desk',
    );
    expect(JSON.stringify(proposed.operation)).not.toContain('zd-very-secret-1');
    expect(proposed.secretPaths).toEqual(['/integration/attributes/apiToken']);
  });

  it.each([
    [['propose', '--tenant', 'acme', '--as', 'a', '--reason', 'r'], /give exactly one operation/],
    [
      ['propose', '--tenant', 'acme', '--integration', 'x', '--patch', '{not json', '--as', 'a', '--reason', 'r'],
      /--patch is not valid JSON/,
    ],
    [
      [
        'propose',
        '--tenant',
        'acme',
        '--integration',
        'x',
        '--patch',
        '[{"op":"remove","path":"/description"}]',
        '--as',
        'a',
        '--reason',
        'r',
      ],
      /ISC accepts only 'replace'/,
    ],
    [
      ['propose', '--tenant', 'acme', '--create', '/no/such/file.json', '--as', 'a', '--reason', 'r'],
      /--create \/no\/such\/file\.json: cannot read it \(ENOENT\)/,
    ],
    [
      ['propose', '--tenant', 'acme', '--integration', 'f'.repeat(32), '--delete', '--as', 'a', '--reason', 'r'],
      /does not exist in ISC/,
      1,
    ],
    [
      [
        'propose',
        '--tenant',
        'acme',
        '--status-check',
        '{"provisioningStatusCheckIntervalMinutes":"x","provisioningMaxStatusCheckDays":"2"}',
        '--as',
        'a',
        '--reason',
        'r',
      ],
      /positive whole number/,
    ],
    [['approve', 'no-such-id', '--as', 'bob'], /no change request no-such-id/, 1],
    [['requests', '--status', 'done'], /--status must be one of/],
  ] as Array<[string[], RegExp, number?]>)(
    'refuses %j with a clear message (2: bad flags, 1: the state refuses)',
    async (args, message, code = 2) => {
      const result = await cli(...args);
      expect(result.code).toBe(code);
      expect(result.stderr).toMatch(message);
    },
  );

  it('npm run demo tells the whole story and exits 0', async () => {
    const result = await runCli(['demo'], { timeoutMs: 120_000 });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/✓ 7\. Snapshot #3 sees the change as EXPECTED/);
    expect(result.stdout).toMatch(/The demo behaved at every step\./);
  }, 180_000);
});
