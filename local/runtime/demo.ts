import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pc from 'picocolors';
import type { ChangeRequest } from '../../lambdas/domain/change-request';
import { main as snapshotMain } from '../../lambdas/handlers/snapshot';
import { systemClock } from '../../lambdas/ports/clock';
import type { GuardEvent } from '../../lambdas/ports/notifier';
import type { SnapshotResult } from '../../lambdas/use-cases/take-snapshot';
import { LOCAL_USER_HEADER } from './change-runtime';
import { startLocalStack } from './local-stack';

class StepFailed extends Error {}

/**
 * The story of the design brief, on embedded defaults, checking every step: snapshot → an unexpected edit → alert →
 * propose → approve → apply → the next snapshot shows the change as expected, with no alert. Exits non-zero if any
 * step did not behave.
 */
export async function runDemo(out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<boolean> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sdim-guard-demo-'));
  const quiet: string[] = [];
  const stack = await startLocalStack({ dataDir, intervalMs: 60_000, emulator: { integrations: 12, seed: 7 }, log: (l) => quiet.push(l) });
  const deps = {
    tenants: stack.workspace.tenants,
    store: stack.workspace.store,
    secrets: stack.workspace.secrets,
    notifier: stack.workspace.notifier,
    clock: systemClock,
    settings: stack.workspace.settings,
  };
  const snapshot = () => snapshotMain({ tenant: stack.tenant }, deps);
  const events = (): GuardEvent[] =>
    readFileSync(stack.workspace.eventsFile, { encoding: 'utf8', flag: 'a+' })
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as GuardEvent);
  const api = async (method: string, path: string, user: string, body?: unknown) => {
    const response = await fetch(`${stack.approvalApiUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json', [LOCAL_USER_HEADER]: user },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as ChangeRequest & { message?: string } };
  };
  let step = 0;
  const check = (condition: boolean, what: string, detail = '') => {
    if (!condition) throw new StepFailed(`${what}${detail ? `: ${detail}` : ''}`);
  };
  const ok = (text: string) => out(`${pc.green('✓')} ${++step}. ${text}`);

  try {
    out(pc.bold(`sdim-guard demo — tenant "${stack.tenant}" is an ISC emulator at ${stack.emulator.url}`));
    const baseline = await snapshot();
    check(baseline.baseline && baseline.changes.length === 0, 'the first snapshot is a baseline');
    ok(`Baseline snapshot #${baseline.seq}: ${baseline.resources} resources recorded (hash ${baseline.hash.slice(0, 12)}).`);

    const id = stack.emulator.state.ids()[0] as string;
    const original = stack.emulator.state.get(id);
    stack.emulator.state.patch(id, [
      { op: 'replace', path: '/ownerRef', value: { type: 'IDENTITY', id: 'ffffffffffffffffffffffffffffffff', name: 'Mallory' } },
      { op: 'replace', path: '/description', value: 'changed in the ISC UI, no ticket' },
    ]);
    ok(`Someone edits "${original.name}" directly in ISC: new owner, new description.`);

    const drift = await snapshot();
    const change = drift.changes[0];
    check(
      drift.changes.length === 1 && change?.classification === 'unexpected' && change.severity === 'high',
      'the edit is detected as high-severity unexpected drift',
      JSON.stringify(drift.changes),
    );
    const alerts = events().filter((e) => e.type === 'Drift Detected');
    check(alerts.length === 1, 'exactly one drift alert', `${alerts.length} alerts`);
    ok(`Snapshot #${drift.seq} detects it: ${change?.patch.length} fields, severity high, UNEXPECTED; one alert sent.`);

    const proposal = await api('POST', '/requests', 'alice', {
      tenant: stack.tenant,
      reason: 'CHG-1042: restore the approved owner',
      operation: {
        kind: 'patch',
        integrationId: id,
        patch: [
          { op: 'replace', path: '/ownerRef', value: original.ownerRef },
          { op: 'replace', path: '/description', value: original.description },
        ],
      },
    });
    check(proposal.status === 201 && proposal.body.status === 'pending', 'alice proposes a change', JSON.stringify(proposal.body));
    ok(`alice proposes request ${proposal.body.id} to restore it (base hash ${proposal.body.baseHash?.slice(0, 12)}).`);

    const self = await api('POST', `/requests/${proposal.body.id}/approve`, 'alice');
    check(self.status === 403, 'alice cannot approve her own request', `HTTP ${self.status}`);
    const approved = await api('POST', `/requests/${proposal.body.id}/approve`, 'bob');
    check(approved.status === 200 && approved.body.status === 'queued', 'bob approves', JSON.stringify(approved.body));
    ok('alice cannot approve her own request (403); bob approves it and it is queued.');

    await stack.changes.drain();
    const applied = await api('GET', `/requests/${proposal.body.id}`, 'carol');
    check(applied.body.status === 'applied', 'the apply function applies it', applied.body.status);
    const live = stack.emulator.state.get(id);
    check(live.ownerRef?.id === original.ownerRef?.id && live.description === original.description, 'ISC holds the approved state');
    ok('The apply function re-reads ISC, finds it unchanged since approval, applies the patch once: applied.');

    const after: SnapshotResult = await snapshot();
    const expected = after.changes[0];
    check(
      after.changes.length === 1 && expected?.classification === 'expected',
      'the next snapshot calls the change expected',
      JSON.stringify(after.changes),
    );
    check(events().filter((e) => e.type === 'Drift Detected').length === 1, 'no new drift alert');
    ok(`Snapshot #${after.seq} sees the change as EXPECTED (request ${expected?.requestId}); no new alert.`);
    out(pc.green(pc.bold('The demo behaved at every step.')));
    return true;
  } catch (error) {
    out(`${pc.red('✗')} ${step + 1}. ${error instanceof StepFailed ? error.message : `failed: ${(error as Error).message}`}`);
    for (const line of quiet) out(pc.dim(`   ${line}`));
    return false;
  } finally {
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
