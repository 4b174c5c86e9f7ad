import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IscEmulator } from '../../local/emulator/server';
import { exitOf, runCli, startCli } from '../support/cli';
import { startEmulator, TEST_CLIENT } from '../support/emulator';

// `npm start` follows its workspace: what other CLI processes change in it (tenants, credentials, settings) takes
// effect on the next tick, and a restart picks up the emulator where it was, so nothing applied comes back as drift.

async function waitFor(output: () => string, pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = output().match(pattern);
    if (match) return match[0];
    if (Date.now() > deadline) throw new Error(`no output matching ${pattern} within ${timeoutMs} ms:\n${output()}`);
    await sleep(200);
  }
}

describe('a running stack follows its workspace', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sdim-guard-follow-'));
  let acme: IscEmulator;
  let acmeUrl: string;
  let stack: { child: ChildProcess; output: () => string };
  const cli = (...args: string[]) => runCli([...args, '--data-dir', dataDir], { timeoutMs: 90_000 });

  beforeAll(async () => {
    ({ emulator: acme, url: acmeUrl } = await startEmulator({ integrations: 3, seed: 77 }));
  });
  afterAll(async () => {
    if (stack?.child.exitCode === null) {
      stack.child.kill('SIGINT');
      await exitOf(stack.child);
    }
    await acme.stop();
  });

  it('uses a tenant, credentials and settings added while it runs, and applies approved changes to it', async () => {
    stack = await startCli(['start', '--interval', '1', '--data-dir', dataDir, '--integrations', '3'], /snapshot demo #1/);
    const named = await cli(
      'snapshot',
      '--tenant',
      'acme',
      '--tenant-url',
      acmeUrl,
      '--client-id',
      TEST_CLIENT.clientId,
      '--client-secret',
      TEST_CLIENT.clientSecret,
    );
    expect(named.code).toBe(0);
    await waitFor(stack.output, /snapshot acme #2: 4 resources, no changes/);

    // Settings changed on disk are used on the next tick.
    writeFileSync(join(dataDir, 'settings.json'), JSON.stringify({ severityRules: [{ path: '^/description$', severity: 'high' }] }));
    await sleep(1_500);
    const id = acme.state.ids()[0] as string;
    const name = acme.state.get(id).name;
    acme.state.patch(id, [{ op: 'replace', path: '/description', value: 'edited in ISC' }]);
    await waitFor(stack.output, new RegExp(`modified integration "${name}" high UNEXPECTED`));

    // An approved change to the new tenant is applied by the running stack with the credentials it was given.
    const proposed = await cli(
      'propose',
      '--tenant',
      'acme',
      '--integration',
      id,
      '--patch',
      '[{"op":"replace","path":"/description","value":"fixed"}]',
      '--as',
      'alice',
      '--reason',
      'CHG-13',
      '--json',
    );
    expect(proposed.code).toBe(0);
    const requestId = (JSON.parse(proposed.stdout) as { id: string }).id;
    expect((await cli('approve', requestId, '--as', 'bob')).code).toBe(0);
    await waitFor(stack.output, new RegExp(`request ${requestId}: applied`));
    expect(acme.state.get(id).description).toBe('fixed');
    expect(stack.output()).not.toMatch(/no credentials for tenant 'acme'/);
  }, 180_000);

  it('keeps the emulator state across restarts (no false drift), and re-seeds it with --fresh', async () => {
    // Prepare: an approved change applied to the embedded emulator.
    const integrations = await cli('integrations', '--tenant', 'demo', '--json');
    const [demo] = JSON.parse(integrations.stdout) as Array<{ id: string; name: string }>;
    const first = demo?.id as string;
    const proposed = await cli(
      'propose',
      '--tenant',
      'demo',
      '--integration',
      first,
      '--patch',
      '[{"op":"replace","path":"/description","value":"approved"}]',
      '--as',
      'alice',
      '--reason',
      'CHG-14',
      '--json',
    );
    const requestId = (JSON.parse(proposed.stdout) as { id: string }).id;
    expect((await cli('approve', requestId, '--as', 'bob')).code).toBe(0);
    await waitFor(stack.output, new RegExp(`request ${requestId}: applied`));
    // This integration's own line: the stack also printed acme's expected change in the test before.
    await waitFor(
      stack.output,
      new RegExp(`modified integration "${(demo?.name ?? '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" \\w+ expected`),
    );
    stack.child.kill('SIGINT');
    expect(await exitOf(stack.child)).toBe(0);

    // Act: restart on the same workspace.
    stack = await startCli(['start', '--interval', '1', '--data-dir', dataDir, '--integrations', '3'], /snapshot demo #\d+/);
    // Assess: the emulator came back as it was; the applied change is not reported again.
    const line = await waitFor(stack.output, /snapshot demo #\d+: 4 resources, [^\n]*/);
    expect(line).toMatch(/no changes/);
    stack.child.kill('SIGINT');
    expect(await exitOf(stack.child)).toBe(0);

    // --fresh re-seeds: the approved description is gone again, which the stack reports.
    stack = await startCli(['start', '--fresh', '--interval', '1', '--data-dir', dataDir, '--integrations', '3'], /snapshot demo #\d+/);
    expect(await waitFor(stack.output, /snapshot demo #\d+: 4 resources, [^\n]*/)).toMatch(/1 change/);
    stack.child.kill('SIGINT');
    expect(await exitOf(stack.child)).toBe(0);
  }, 240_000);
});
