import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpIscClient } from '../../lambdas/isc/client';
import type { IscEmulator } from '../../local/emulator/server';
import { cliWorkspace, registrationArgs, runCli } from '../support/cli';
import { startEmulator, TEST_CLIENT } from '../support/emulator';

// The read side as a user drives it: one CLI process per command, on one data directory.

const MALLORY = { clientId: 'mallory-pat', clientSecret: 'fake-mallory-secret-for-tests', identity: 'mallory' };
/** Within the default 90-day cap on acceptances. */
const inAMonth = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);

describe('sdim-guard snapshot, history, diff, drift, accept, verify and export', () => {
  let emulator: IscEmulator;
  let url: string;
  const { dataDir, env, cli, json } = cliWorkspace('cli');

  beforeAll(async () => {
    ({ emulator, url } = await startEmulator({ integrations: 12, seed: 31, clients: [TEST_CLIENT, MALLORY] }));
  });
  afterAll(() => emulator.stop());

  it('runs a whole story: baseline, an edit, drift, acceptance, history, diff, verify, export', async () => {
    // Prepare
    const first = await json<{ seq: number; baseline: boolean; resources: number; changes: unknown[] }>(...registrationArgs(url));
    expect(first).toMatchObject({ seq: 1, baseline: true, resources: 13, changes: [] });
    const id = emulator.state.ids()[3] as string;
    // mallory edits through her own token, so ISC's audit trail names her.
    await new HttpIscClient({ tenantUrl: url, credentials: MALLORY, rateLimit: false }).patchIntegration(id, [
      { op: 'replace', path: '/description', value: 'changed by someone' },
    ]);

    // Act: the tenant is remembered by name now.
    const second = await json<{
      seq: number;
      changes: Array<{ resource: { id: string }; change: string; patch: unknown[]; severity: string; classification: string }>;
      stats: Record<string, number>;
    }>('snapshot', '--tenant', 'acme');

    // Assess
    expect(second.changes).toEqual([
      {
        resource: { kind: 'integration', id, name: expect.any(String) },
        change: 'modified',
        patch: [{ op: 'replace', path: '/description', value: 'changed by someone' }],
        severity: 'low',
        classification: 'unexpected',
        attribution: expect.objectContaining({ confidence: 'exact', actor: 'mallory', actors: ['mallory'] }),
      },
    ]);
    expect(Object.keys(second.stats).sort()).toEqual(
      expect.arrayContaining(['fetchMs', 'iscRequests', 'itemsWritten', 'searchRequests', 'totalMs']),
    );
    expect(second.stats.searchRequests).toBe(1);

    const drifts = await json<Array<{ key: string; status: string }>>('drift', '--tenant', 'acme');
    expect(drifts).toEqual([
      expect.objectContaining({ key: `integration:${id}`, status: 'open', attribution: expect.objectContaining({ actor: 'mallory' }) }),
    ]);
    const driftText = await cli('drift', '--tenant', 'acme');
    expect(driftText.stdout).toMatch(/mallory \(exact\)/);
    expect(driftText.stdout).toMatch(/SERVICE_DESK_INTEGRATION_UPDATED {2}tracking [0-9a-f]{32}/);
    const accepted = await json<{ status: string; acceptance: { reason: string } }>(
      'accept',
      '--tenant',
      'acme',
      '--integration',
      id,
      '--reason',
      'ticket CHG-1',
      '--until',
      inAMonth,
    );
    expect(accepted).toMatchObject({ status: 'accepted', acceptance: { reason: 'ticket CHG-1' } });
    expect(await json('drift', '--tenant', 'acme', '--open')).toEqual([]);

    const history = await json<Array<{ seq: number; changeCount: number }>>('history', '--tenant', 'acme');
    expect(history.map((s) => [s.seq, s.changeCount])).toEqual([
      [1, 13],
      [2, 1],
    ]);
    const versions = await json<Array<{ version: number; change: string }>>('history', '--tenant', 'acme', '--integration', id);
    expect(versions.map((v) => [v.version, v.change])).toEqual([
      [1, 'added'],
      [2, 'modified'],
    ]);
    const diff = await json<Array<{ key: string; patch: unknown[] }>>('diff', '--tenant', 'acme', '--from', '1', '--to', '2');
    expect(diff).toEqual([
      {
        key: `integration:${id}`,
        name: expect.any(String),
        from: 1,
        to: 2,
        patch: [{ op: 'replace', path: '/description', value: 'changed by someone' }],
        by: [expect.objectContaining({ actor: 'mallory' })],
      },
    ]);
    expect((await cli('history', '--tenant', 'acme')).stdout).toMatch(/\bmallory\s*$/m);

    const verify = await cli('verify', '--tenant', 'acme');
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/OK: 2 snapshots and 14 versions of acme verified/);
    // Each snapshot anchored its head in the workspace's append-only anchor file, and verify compared them.
    const anchorFile = join(dataDir, 'anchors', 'acme.jsonl');
    expect(verify.stdout).toContain(`2 anchors in ${anchorFile} (the last at snapshot #2 and journal entry #1,`);

    const csvFile = join(dataDir, 'evidence.csv');
    const exported = await cli('export', '--tenant', 'acme', '--format', 'csv', '--out', csvFile);
    expect(exported.code).toBe(0);
    const csv = readFileSync(csvFile, 'utf8').trim().split('\n');
    expect(csv[0]).toBe(
      'seq,takenAt,snapshotHash,prevHash,resourceKey,name,change,severity,classification,requestId,fromHash,toHash,version,actor,actors,attribution,eventTime,trackingNumber',
    );
    expect(csv).toHaveLength(1 + 13 + 1);
    expect(csv.at(-1)).toMatch(
      new RegExp(`^2,.*,integration:${id},.*,modified,low,unexpected,.*,2,mallory,mallory,mallory \\(exact\\),.+,[0-9a-f]{32}$`),
    );
    const evidence = await json<{
      chain: { ok: boolean };
      snapshots: unknown[];
      journal: Array<{ seq: number; type: string }>;
      anchors: { source: string; evidence: Array<{ where: string; body: string }> };
    }>('export', '--tenant', 'acme', '--format', 'json');
    expect(evidence.chain.ok).toBe(true);
    expect(evidence.snapshots).toHaveLength(2);
    // What an auditor needs without sdim-guard (docs/audit-recipe.md): the journal and every anchor, byte for byte.
    expect(evidence.journal.map((e) => [e.seq, e.type])).toEqual([
      [1, 'drift-opened'],
      [2, 'drift-accepted'],
    ]);
    expect(evidence.anchors.evidence).toEqual(
      readFileSync(anchorFile, 'utf8')
        .trim()
        .split('\n')
        .map((body, i) => ({ where: `${anchorFile} line ${i + 1}`, body })),
    );

    // Someone edits the first anchor line to match a rewritten table: verify fails and names where.
    const lines = readFileSync(anchorFile, 'utf8');
    const [line1 = '', ...rest] = lines.split('\n');
    writeFileSync(anchorFile, [JSON.stringify({ ...JSON.parse(line1), hash: 'f'.repeat(64) }), ...rest].join('\n'));
    const tampered = await cli('verify', '--tenant', 'acme');
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toMatch(/BROKEN at anchors: .*acme\.jsonl line 2 does not link to line 1/);
    writeFileSync(anchorFile, lines);

    // Credentials sit in the secrets file, readable by its owner only, and nowhere in the store.
    const secretsFile = join(dataDir, 'secrets.json');
    expect(statSync(secretsFile).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(secretsFile, 'utf8')).tenants.acme).toEqual(TEST_CLIENT);
    expect(JSON.stringify(evidence)).not.toContain(TEST_CLIENT.clientSecret);
  }, 180_000);

  describe('bad input gets a clear message, a non-zero exit, and no snapshot', () => {
    const snapshotsOf = async (tenant: string) => {
      const result = await cli('history', '--tenant', tenant, '--json');
      return result.code === 0 ? (JSON.parse(result.stdout) as unknown[]).length : 0;
    };

    it('an unknown tenant', async () => {
      const result = await cli('snapshot', '--tenant', 'nobody');
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/unknown tenant 'nobody': name it once with --tenant-url/);
    });

    it('an unreachable URL', async () => {
      const { emulator: gone, url: goneUrl } = await startEmulator({ integrations: 0 });
      await gone.stop();
      const result = await cli('snapshot', '--tenant', 'gone', '--tenant-url', goneUrl, '--client-id', 'x', '--client-secret', 'y');
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/cannot reach ISC at http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
      expect(await snapshotsOf('gone')).toBe(0);
    });

    it('wrong credentials, without echoing the secret', async () => {
      const result = await cli(
        'snapshot',
        '--tenant',
        'wrong',
        '--tenant-url',
        url,
        '--client-id',
        TEST_CLIENT.clientId,
        '--client-secret',
        'not-the-secret-42',
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/cannot sign in to http:\/\/127\.0\.0\.1:\d+: Bad credentials \(check the client id and secret\)/);
      expect(result.stderr + result.stdout).not.toContain('not-the-secret-42');
      expect(await snapshotsOf('wrong')).toBe(0);
      expect(JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8')).tenants.wrong).toBeUndefined();
    });

    it('a malformed URL and a half-given credential pair', async () => {
      expect(
        (await cli('snapshot', '--tenant', 'x', '--tenant-url', 'not a url', '--client-id', 'a', '--client-secret', 'b')).stderr,
      ).toMatch(/--tenant-url: 'not a url' is not a URL/);
      const half = await cli('snapshot', '--tenant', 'x', '--tenant-url', url, '--client-id', 'a');
      expect(half.code).toBe(2);
      expect(half.stderr).toMatch(/--client-id and --client-secret go together/);
    });

    it('a corrupt local secrets file, left as it was', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sdim-guard-corrupt-'));
      const file = join(dir, 'secrets.json');
      writeFileSync(file, '{"version": 1, "fingerprintKey": ');
      chmodSync(file, 0o600);
      const result = await runCli(['snapshot', '--tenant', 'acme', '--data-dir', dir], { env });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/the local secrets file .*secrets\.json is corrupt: it is not valid JSON\. Restore it from a backup/);
      expect(readFileSync(file, 'utf8')).toBe('{"version": 1, "fingerprintKey": ');
    });

    it('accepting a drift that does not exist, or until a past date', async () => {
      const none = await cli('accept', '--tenant', 'acme', '--integration', 'nope', '--reason', 'r', '--until', inAMonth);
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(/no drift on integration:nope in tenant 'acme'/);
      const past = await cli('accept', '--tenant', 'acme', '--integration', 'nope', '--reason', 'r', '--until', '2001-01-01');
      expect(past.stderr).toMatch(/--until 2001-01-01 is not in the future/);
      const garbage = await cli('accept', '--tenant', 'acme', '--status-check', '--reason', 'r', '--until', 'tomorrowish');
      expect(garbage.stderr).toMatch(/--until must be a date/);
    });

    it('a diff against a snapshot that does not exist, and an unknown export format', async () => {
      expect((await cli('diff', '--tenant', 'acme', '--from', '99')).stderr).toMatch(/--from 99: tenant 'acme' has snapshots 1 to \d+/);
      expect((await cli('export', '--tenant', 'acme', '--format', 'xml')).stderr).toMatch(/--format must be json or csv, not 'xml'/);
    });
  });
});
