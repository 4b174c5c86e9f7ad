import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoChangeRequestStore } from '../../lambdas/adapters/dynamodb/change-request-store';
import { newRequest } from '../../lambdas/domain/change-request';
import { normaliseIntegration } from '../../lambdas/domain/normalise';
import type { ServiceDeskIntegration } from '../../lambdas/isc/schemas';
import { ConcurrentSnapshotError } from '../../lambdas/ports/snapshot-store';
import { verifyHistory } from '../../lambdas/use-cases/verify-history';
import { snapshotHarness } from '../support/snapshot-harness';

type Harness = Awaited<ReturnType<typeof snapshotHarness>>;
const MINUTE = 60_000;

// A snapshot with more changes than one transaction holds commits in phases: claim, versions, the record, heads,
// drift items (with their journal entries), then "heads synced". A Lambda timeout between the commit and the last
// step used to lose the drift items for good: the next run rolled the heads forward and saw no change, so those
// unexpected changes were in the chain and never alerted.
describe('a large snapshot killed after its commit: the next run finishes its drift items and alerts them', () => {
  let h: Harness;
  let killWhen: ((input: string) => boolean) | undefined;
  let renamed: string[];

  beforeEach(async () => {
    h = await snapshotHarness({ integrations: 80, seed: 77 });
    killWhen = undefined;
    h.table.db.middlewareStack.add(
      (next) => async (args) => {
        if (killWhen?.(JSON.stringify(args.input))) throw new Error('killed');
        return next(args);
      },
      { step: 'initialize', name: 'kill' },
    );
    await h.snapshot();
    renamed = h.emulator.state.ids().slice(0, 60);
    for (const id of renamed) h.emulator.state.patch(id, [{ op: 'replace', path: '/name', value: `renamed ${id}` }]);
    h.advance(15 * MINUTE);
  });
  afterEach(() => h.close());

  const record2 = async () =>
    (
      await h.table.db.send(
        new QueryCommand({
          TableName: h.table.tableName,
          KeyConditionExpression: 'pk = :pk AND sk = :sk',
          ExpressionAttributeValues: { ':pk': 'T#acme', ':sk': `S#${'2'.padStart(10, '0')}` },
        }),
      )
    ).Items?.[0];

  it('two runs finishing the same dead run at once open each drift once (one journal entry, one alert)', async () => {
    killWhen = (input: string) => input.includes('"RequestItems"') && input.includes('"H#');
    await expect(h.snapshot()).rejects.toThrow('killed');
    killWhen = undefined;
    h.advance(15 * MINUTE);
    const runs = await Promise.allSettled([h.snapshot(), h.snapshot()]);
    expect(runs.filter((r) => r.status === 'fulfilled').length).toBeGreaterThanOrEqual(1);
    const drifts = (await h.store.loadState('acme')).drifts;
    expect(drifts).toHaveLength(60);
    // What the run that lost the commit race opened stays pending: the next run alerts it, each drift once in all.
    h.advance(15 * MINUTE);
    await h.snapshot();
    const opened = (await h.store.journal.list('acme')).filter((e) => e.type === 'drift-opened');
    expect(opened).toHaveLength(60);
    const alerted = h.notifier.events.filter((e) => e.type === 'Drift Detected').map((e) => e.id);
    expect(new Set(alerted).size).toBe(60);
    expect(alerted).toHaveLength(60);
    expect((await verifyHistory(h.store, 'acme', { now: h.deps.clock.now() })).ok).toBe(true);
  });

  it.each([
    ['before its heads', (input: string) => input.includes('"RequestItems"') && input.includes('"H#')],
    ['after its heads, before its drift items', (input: string) => input.includes('"TransactItems"') && input.includes('"D#')],
  ])('killed %s', async (_when, kill) => {
    killWhen = kill;
    await expect(h.snapshot()).rejects.toThrow('killed');
    killWhen = undefined;
    expect(await record2()).toMatchObject({ state: 'committed', large: true, headsSynced: false });
    expect((await h.store.loadState('acme')).drifts).toEqual([]);

    // A run soon after may be racing a live one: it stops (no drift item, no record of its own).
    h.advance(MINUTE);
    await expect(h.snapshot()).rejects.toThrow(ConcurrentSnapshotError);
    expect((await h.store.loadState('acme')).drifts).toEqual([]);
    expect((await h.store.listSnapshots('acme')).map((s) => s.seq)).toEqual([1, 2]);

    h.advance(15 * MINUTE);
    const next = await h.snapshot();
    expect(next).toMatchObject({ seq: 3, changes: [] });
    const drifts = (await h.store.loadState('acme')).drifts;
    expect(drifts.map((d) => d.resource.id).sort()).toEqual([...renamed].sort());
    expect(drifts.every((d) => d.status === 'open' && d.snapshotSeq === 2 && d.alert === 'sent')).toBe(true);
    expect(next.alerts).toEqual({ sent: 60, pending: 0 });
    expect(h.notifier.events.filter((e) => e.type === 'Drift Detected')).toHaveLength(60);
    expect(await record2()).toMatchObject({ headsSynced: true });
    const opened = (await h.store.journal.list('acme')).filter((e) => e.type === 'drift-opened');
    expect(opened).toHaveLength(60);
    expect((await verifyHistory(h.store, 'acme', { now: h.deps.clock.now() })).ok).toBe(true);
    // Finished once: the run after it changes nothing.
    h.advance(15 * MINUTE);
    expect((await h.snapshot()).alerts).toEqual({ sent: 0, pending: 0 });
    expect((await h.store.journal.list('acme')).filter((e) => e.type === 'drift-opened')).toHaveLength(60);
  });
  it('applies the closings of the dead run too: a drift it found restored is closed by the next run', async () => {
    // A standing drift on an integration outside the renamed ones: #2 records it with beforeEach's 60 renames.
    const [other] = h.emulator.state.ids().slice(60);
    const before = h.emulator.state.get(other as string).description as string;
    h.emulator.state.patch(other as string, [{ op: 'replace', path: '/description', value: 'by hand' }]);
    await h.snapshot(); // #2: the 60 renames and the drift on `other`, committed in phases, complete
    expect((await h.store.loadState('acme')).drifts.filter((d) => d.resource.id === other)).toHaveLength(1);
    // #3, killed before its heads: 60 more renames and `other` put back by hand (restored).
    for (const id of renamed) h.emulator.state.patch(id, [{ op: 'replace', path: '/name', value: `again ${id}` }]);
    h.emulator.state.patch(other as string, [{ op: 'replace', path: '/description', value: before }]);
    h.advance(15 * MINUTE);
    killWhen = (input) => input.includes('"RequestItems"') && input.includes('"H#');
    await expect(h.snapshot()).rejects.toThrow('killed');
    killWhen = undefined;
    h.advance(15 * MINUTE);
    const next = await h.snapshot();
    expect(next.changes).toEqual([]);
    const drifts = (await h.store.loadState('acme')).drifts;
    expect(drifts.find((d) => d.resource.id === other)).toBeUndefined();
    expect(drifts.filter((d) => d.snapshotSeq === 3)).toHaveLength(60);
    const closed = (await h.store.journal.list('acme')).filter((e) => e.type === 'drift-closed');
    expect(closed.map((e) => [e.subject, e.data.reason, e.data.snapshotSeq])).toEqual([
      [`integration:${other}`, 'the resource is back in the state it had before the drift', 3],
    ]);
    expect((await verifyHistory(h.store, 'acme', { now: h.deps.clock.now() })).ok).toBe(true);
  });
  it('and a drift the dead run found explained by an applied request is closed by the next run', async () => {
    const [other] = h.emulator.state.ids().slice(60) as [string];
    h.emulator.state.patch(other, [{ op: 'replace', path: '/description', value: 'by hand' }]);
    await h.snapshot(); // #2: the 60 renames and a drift on `other`, complete
    const [drift] = (await h.store.loadState('acme')).drifts.filter((d) => d.resource.id === other);
    // A request applied to `other` (its ledger entry, as the apply flow writes it), then 60 more renames: #3 is killed.
    const target = { ...h.emulator.state.get(other), description: 'set by request' } as ServiceDeskIntegration;
    const targetHash = normaliseIntegration(target, {
      tenant: 'acme',
      secretPolicy: h.deps.secretPolicy,
      hmacKey: h.deps.fingerprintKey,
      ignoreReferenceNames: true,
    }).contentHash;
    h.advance(MINUTE);
    const requests = new DynamoChangeRequestStore(h.table.db, h.table.tableName);
    const request = newRequest({
      id: 'req-1',
      tenant: 'acme',
      resourceKey: `integration:${other}`,
      operation: { kind: 'patch', integrationId: other, patch: [{ op: 'replace', path: '/description', value: 'set by request' }] },
      baseHash: drift?.toHash ?? null,
      targetHash,
      secretPaths: [],
      requester: 'bob',
      reason: 'CHG-9',
      createdAt: h.deps.clock.now().toISOString(),
      expiresAt: '2026-11-30T10:00:00.000Z',
      approvalsRequired: 1,
    });
    await requests.create(request);
    h.emulator.state.replace(other, target);
    expect(
      await requests.saveApplied(
        { ...request, status: 'applied', revision: request.revision + 1 },
        {
          requestId: 'req-1',
          key: `integration:${other}`,
          baseHash: drift?.toHash ?? null,
          resultHash: targetHash,
          appliedAt: h.deps.clock.now().toISOString(),
        },
      ),
    ).toBe(true);
    for (const id of renamed) h.emulator.state.patch(id, [{ op: 'replace', path: '/name', value: `again ${id}` }]);
    h.advance(15 * MINUTE);
    killWhen = (input) => input.includes('"RequestItems"') && input.includes('"H#');
    await expect(h.snapshot()).rejects.toThrow('killed');
    killWhen = undefined;
    const dead = (await h.store.listSnapshots('acme')).at(-1);
    expect(dead?.changes.find((c) => c.key === `integration:${other}`)).toMatchObject({ classification: 'expected', requestId: 'req-1' });
    h.advance(15 * MINUTE);
    await h.snapshot();
    expect((await h.store.loadState('acme')).drifts.find((d) => d.resource.id === other)).toBeUndefined();
    const closed = (await h.store.journal.list('acme')).filter((e) => e.type === 'drift-closed');
    expect(closed.map((e) => [e.subject, e.data.reason, e.data.snapshotSeq])).toEqual([
      [`integration:${other}`, 'an applied change request explains the current state', 3],
    ]);
    expect((await verifyHistory(h.store, 'acme', { now: h.deps.clock.now() })).ok).toBe(true);
  });
});
