import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IscEmulator } from '../../local/emulator/server';
import { cliWorkspace } from '../support/cli';
import { startEmulator } from '../support/emulator';

// A change that gives up says so (a Change Failed event with the reason), can be found (requests --status failed) and
// retried (a new request linked to the old one, approved again).

describe('terminal outcomes of a change', () => {
  let emulator: IscEmulator;
  const { dataDir, cli, json, registerTenant } = cliWorkspace('outcomes');

  beforeAll(async () => {
    let url: string;
    ({ emulator, url } = await startEmulator({ integrations: 3, seed: 9 }));
    await registerTenant(url);
  });
  afterAll(() => emulator.stop());

  it('gives up visibly, lists the failure, and retries it as a new request that needs approval again', async () => {
    // Prepare: an approved change, and an ISC that serves reads but answers every write with 429/5xx.
    const id = emulator.state.ids()[0] as string;
    const patch = '[{"op":"replace","path":"/description","value":"retried"}]';
    const request = await json<{ id: string }>(
      'propose',
      '--tenant',
      'acme',
      '--integration',
      id,
      '--patch',
      patch,
      '--as',
      'alice',
      '--reason',
      'CHG-9',
    );
    await json('approve', request.id, '--as', 'bob');
    emulator.writeFaultRate = 1;

    // Act
    const run = await cli('local', '--once');

    // Assess: the request failed with its reason, said so on the console and as an event.
    emulator.writeFaultRate = 0;
    expect(run.stdout).toMatch(new RegExp(`request ${request.id}: failed \\(gave up after 5 deliveries: `));
    const failed = await json<Array<{ id: string; status: string }>>('requests', '--status', 'failed');
    expect(failed.map((r) => [r.id, r.status])).toEqual([[request.id, 'failed']]);
    const events = readFileSync(join(dataDir, 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; detail: { requestId?: string; outcome?: { error?: string } } });
    const event = events.find((e) => e.type === 'Change Failed' && e.detail.requestId === request.id);
    expect(event?.detail.outcome?.error).toMatch(/gave up after 5 deliveries/);

    // A retry is a new request, linked to the old one, pending approval.
    const retry = await json<{ id: string; status: string; reason: string; requester: string }>('retry', request.id, '--as', 'carol');
    expect(retry).toMatchObject({ status: 'pending', requester: 'carol', reason: `retry of ${request.id}: CHG-9`, retryOf: request.id });
    expect(retry.id).not.toBe(request.id);
    // The link is a field: in the list, and both ways in show.
    const listed = await json<Array<{ id: string; retryOf?: string }>>('requests');
    expect(listed.find((r) => r.id === retry.id)?.retryOf).toBe(request.id);
    expect(listed.find((r) => r.id === request.id)?.retryOf).toBeUndefined();
    expect((await cli('show', retry.id)).stdout).toMatch(new RegExp(`\\n  retry of ${request.id}\\n`));
    expect((await cli('show', request.id)).stdout).toMatch(new RegExp(`\\n  retried by ${retry.id}\\n`));
    expect(await json<{ retriedBy: string[] }>('show', request.id)).toMatchObject({ retriedBy: [retry.id] });
    const self = await cli('approve', retry.id, '--as', 'carol');
    expect(self.code).toBe(1);
    await json('approve', retry.id, '--as', 'dave');
    const applied = await cli('local', '--once');
    expect(applied.stdout).toMatch(new RegExp(`request ${retry.id}: applied`));
    expect(emulator.state.get(id).description).toBe('retried');

    // Only a request that ended without its change can be retried.
    const again = await cli('retry', retry.id, '--as', 'carol');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/request .* is applied; only failed, conflict or expired requests can be retried/);
  }, 240_000);
});
