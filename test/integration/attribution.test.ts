import { describeAttribution } from '../../lambdas/domain/attribution';
import { normaliseIntegration } from '../../lambdas/domain/normalise';
import { HttpIscClient } from '../../lambdas/isc/client';
import { takeSnapshot } from '../../lambdas/use-cases/take-snapshot';
import { TEST_CLIENT } from '../support/emulator';
import { snapshotHarness } from '../support/snapshot-harness';

// Who changed it: the snapshot flow against the emulator's audit events, with people acting through their own tokens.

const MALLORY = { clientId: 'mallory-pat', clientSecret: 'fake-mallory-secret-for-tests', identity: 'mallory' };
const ALICE = { clientId: 'alice-pat', clientSecret: 'alice-secret-91fe', identity: 'alice' };
const GUARD = { ...TEST_CLIENT, identity: 'sdim.guard' };

async function harness(extra: { eventDelayMs?: number; guardScopes?: string[] } = {}) {
  const h = await snapshotHarness(
    { integrations: 4, seed: 12, clients: [{ ...GUARD, scopes: extra.guardScopes }, MALLORY, ALICE], eventDelayMs: extra.eventDelayMs },
    {},
    { attribution: true },
  );
  const as = (credentials: { clientId: string; clientSecret: string }) =>
    new HttpIscClient({ tenantUrl: h.url, credentials, rateLimit: false });
  return { ...h, as, target: h.emulator.state.ids()[1] as string };
}

type Harness = Awaited<ReturnType<typeof harness>>;
const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});
const start = async (extra?: Parameters<typeof harness>[0]) => {
  const h = await harness(extra);
  open.push(h);
  return h;
};

describe('attribution of detected changes', () => {
  it("attributes mallory's edit between two snapshots to mallory, exactly, with one search request", async () => {
    const h = await start();
    await h.snapshot();
    h.advance(60_000);
    await h.as(MALLORY).patchIntegration(h.target, [{ op: 'replace', path: '/description', value: 'mallory was here' }]);
    h.advance(60_000);

    const result = await h.snapshot();

    const [change] = result.changes;
    expect(change?.attribution).toMatchObject({
      confidence: 'exact',
      actor: 'mallory',
      actors: ['mallory'],
      eventTime: '2026-11-24T10:01:00.000Z',
      trackingNumber: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(result.stats.searchRequests).toBe(1);
    const alert = h.notifier.events.find((e) => e.type === 'Drift Detected');
    expect(alert?.detail).toMatchObject({ by: 'mallory (exact)', attribution: { actor: 'mallory', confidence: 'exact' } });
    const { drifts } = await h.store.loadState('acme');
    expect(drifts[0]?.attribution?.actor).toBe('mallory');
    // The chained record keeps who, as evidence.
    const recorded = (await h.store.getSnapshot('acme', result.seq))?.changes[0];
    expect(recorded?.attribution?.actor).toBe('mallory');
  });

  it('lists both actors when two people edited one integration, the last one as the actor', async () => {
    const h = await start();
    await h.snapshot();
    h.advance(10_000);
    await h.as(ALICE).patchIntegration(h.target, [{ op: 'replace', path: '/description', value: 'alice first' }]);
    h.advance(10_000);
    await h.as(MALLORY).patchIntegration(h.target, [{ op: 'replace', path: '/description', value: 'mallory second' }]);
    // A failed attempt by someone else is not a change they made.
    await h
      .as(GUARD)
      .patchIntegration(h.target, [{ op: 'replace', path: '/attributes', value: 'not an object' }])
      .catch(() => undefined);
    h.advance(10_000);

    const [change] = (await h.snapshot()).changes;

    expect(change?.attribution).toMatchObject({ actors: ['alice', 'mallory'], actor: 'mallory', confidence: 'exact' });
    expect(change?.attribution?.events.map((e) => e.action)).toEqual([
      'SERVICE_DESK_INTEGRATION_UPDATED',
      'SERVICE_DESK_INTEGRATION_UPDATED',
    ]);
    expect(describeAttribution(change?.attribution)).toBe('alice, mallory (exact)');
  });

  it('attributes creations and deletions, and leaves edits of other integrations out', async () => {
    const h = await start();
    await h.snapshot();
    h.advance(5_000);
    const created = await h
      .as(ALICE)
      .createIntegration({ name: 'Made by alice', description: 'd', type: 'ServiceNowSDIM', attributes: {} });
    await h.as(MALLORY).deleteIntegration(h.target);
    h.advance(5_000);

    const result = await h.snapshot();

    const byId = new Map(result.changes.map((c) => [c.resource.id, c]));
    expect(byId.get(created.id as string)?.attribution).toMatchObject({ actors: ['alice'], confidence: 'exact' });
    expect(byId.get(h.target)?.attribution).toMatchObject({ actors: ['mallory'], confidence: 'exact' });
    expect(result.stats.searchRequests).toBe(1);
  });

  it('picks up an event indexed 2 minutes late on the next run: the drift is annotated and one follow-up alert says who', async () => {
    const h = await start({ eventDelayMs: 120_000 });
    await h.snapshot();
    h.advance(30_000);
    await h.as(MALLORY).patchIntegration(h.target, [{ op: 'replace', path: '/description', value: 'sneaky' }]);
    h.advance(30_000);

    const first = await h.snapshot();
    expect(first.changes[0]?.attribution).toMatchObject({ confidence: 'unknown', reason: 'not-indexed-yet' });
    expect(h.notifier.events.filter((e) => e.type === 'Drift Detected')).toHaveLength(1);

    h.advance(5 * 60_000);
    const second = await h.snapshot();

    expect(second.changes).toEqual([]);
    expect(second.stats.searchRequests).toBe(1);
    expect(second.lateAttributions).toEqual([
      expect.objectContaining({ snapshotSeq: first.seq, attribution: expect.objectContaining({ actor: 'mallory', confidence: 'exact' }) }),
    ]);
    const followUps = h.notifier.events.filter((e) => e.type === 'Drift Attributed');
    expect(followUps).toHaveLength(1);
    expect(followUps[0]?.detail).toMatchObject({ by: 'mallory (exact)', snapshotSeq: first.seq });
    const { drifts } = await h.store.loadState('acme');
    expect(drifts[0]).toMatchObject({
      attribution: { actor: 'mallory' },
      attributionAnnotatedAt: expect.any(String),
      alert: 'sent',
    });
    // The chained record is left as written: the annotation is a record of its own.
    expect((await h.store.getSnapshot('acme', first.seq))?.changes[0]?.attribution?.confidence).toBe('unknown');
    expect(await h.store.listAnnotations('acme')).toEqual([expect.objectContaining({ snapshotSeq: first.seq, annotatedSeq: second.seq })]);

    h.advance(60_000);
    const third = await h.snapshot();
    expect(third.stats.searchRequests).toBe(0);
    expect(h.notifier.events.filter((e) => e.type === 'Drift Attributed')).toHaveLength(1);
  });

  it('retries the follow-up alert when the notifier was down, without a second annotation', async () => {
    const h = await start({ eventDelayMs: 120_000 });
    await h.snapshot();
    h.advance(1_000);
    await h.as(MALLORY).patchIntegration(h.target, [{ op: 'replace', path: '/description', value: 'late again' }]);
    h.advance(1_000);
    await h.snapshot();
    h.advance(3 * 60_000);
    h.notifier.failNext = 1;
    await h.snapshot();
    expect(h.notifier.events.filter((e) => e.type === 'Drift Attributed')).toHaveLength(0);
    h.advance(60_000);
    await h.snapshot();
    expect(h.notifier.events.filter((e) => e.type === 'Drift Attributed')).toHaveLength(1);
    expect(await h.store.listAnnotations('acme')).toHaveLength(1);
  });

  it('says "unknown: no search scope" without sp:search:read, and detects the drift as before', async () => {
    const h = await start({ guardScopes: ['idn:service-desk-integration:read'] });
    await h.snapshot();
    h.advance(1_000);
    await h.as(MALLORY).patchIntegration(h.target, [{ op: 'replace', path: '/description', value: 'unseen hand' }]);
    h.advance(1_000);

    const result = await h.snapshot();

    expect(result.changes.map((c) => c.classification)).toEqual(['unexpected']);
    expect(result.changes[0]?.attribution).toMatchObject({ confidence: 'unknown', reason: 'no-search-scope' });
    expect(describeAttribution(result.changes[0]?.attribution)).toBe('unknown: no search scope');
    expect(h.notifier.events.find((e) => e.type === 'Drift Detected')?.detail.by).toBe('unknown: no search scope');
    // Not retried: a missing scope does not fix itself between runs.
    h.advance(1_000);
    expect((await h.snapshot()).stats.searchRequests).toBe(0);
  });

  it('recognises a change made by sdim-guard\'s own apply as "sdim-guard (request id)"', async () => {
    const h = await start();
    await h.snapshot();
    h.advance(1_000);
    // What the apply flow does: one ISC call with sdim-guard's credential, and a ledger entry for the transition it made.
    const hashOf = (integration: Parameters<typeof normaliseIntegration>[0]) =>
      normaliseIntegration(integration, {
        tenant: 'acme',
        secretPolicy: h.deps.secretPolicy,
        hmacKey: h.deps.fingerprintKey,
        ignoreReferenceNames: true,
      }).contentHash;
    const baseHash = hashOf(await h.isc.getIntegration(h.target));
    const resultHash = hashOf(await h.isc.patchIntegration(h.target, [{ op: 'replace', path: '/description', value: 'approved change' }]));
    const ledger = {
      appliedChanges: async () => [
        { requestId: 'req-42', key: `integration:${h.target}`, baseHash, resultHash, appliedAt: '2026-11-24T10:00:01.000Z' },
      ],
    };
    h.advance(1_000);

    const result = await takeSnapshot('acme', { ...h.deps, ledger });

    const [change] = result.changes;
    expect(change?.classification).toBe('expected');
    expect(change?.attribution).toMatchObject({ confidence: 'exact', actor: 'sdim-guard (request req-42)', requestId: 'req-42' });
    expect(describeAttribution(change?.attribution)).toBe('sdim-guard (request req-42)');
    // ISC's own event for it (made with sdim-guard's credential) is kept as evidence.
    expect(change?.attribution?.events.map((e) => e.actor)).toEqual(['sdim.guard']);
  });
});
