import { StaticTenantDirectory } from '../../lambdas/adapters/static-tenant-directory';
import { HttpIscClient } from '../../lambdas/isc/client';
import type { AuditEventSearch } from '../../lambdas/ports/audit-events';
import { acceptDrifts } from '../../lambdas/use-cases/console-reads';
import { verifyHistory } from '../../lambdas/use-cases/verify-history';
import { TEST_CLIENT } from '../support/emulator';
import { snapshotHarness } from '../support/snapshot-harness';

// An accept that lands while a snapshot is running (between its read of the drifts and its own writes to them) must
// not be undone by that snapshot: the accept was refused only when the snapshot had already replaced the drift
// (forged-drift.test.ts); here the snapshot is the one writing last.

const MALLORY = { clientId: 'mallory-pat', clientSecret: 'fake-mallory-secret-for-tests', identity: 'mallory' };
const GUARD = { ...TEST_CLIENT, identity: 'sdim.guard' };

describe('an accept made while a snapshot runs', () => {
  it("is not undone by that snapshot's late attribution of the drift; the next run annotates the accepted drift", async () => {
    const h = await snapshotHarness(
      { integrations: 4, seed: 12, clients: [GUARD, MALLORY], eventDelayMs: 120_000 },
      {},
      { attribution: true },
    );
    try {
      const target = h.emulator.state.ids()[1] as string;
      await h.snapshot();
      h.advance(30_000);
      await new HttpIscClient({ tenantUrl: h.url, credentials: MALLORY, rateLimit: false }).patchIntegration(target, [
        { op: 'replace', path: '/description', value: 'sneaky' },
      ]);
      h.advance(30_000);
      const first = await h.snapshot();
      expect(first.changes[0]?.attribution).toMatchObject({ confidence: 'unknown', reason: 'not-indexed-yet' });
      h.advance(5 * 60_000);

      // bob accepts the drift while the next snapshot is searching the audit events (after it read the drifts).
      const search = h.deps.auditEvents as AuditEventSearch;
      let accepted = false;
      const during: AuditEventSearch = {
        searchEvents: async (query) => {
          if (!accepted) {
            accepted = true;
            await acceptDrifts('acme', { keys: [`integration:${target}`], reason: 'CHG-7', until: '2026-12-20' }, 'bob', {
              history: h.store,
              tenants: new StaticTenantDirectory([{ name: 'acme', url: h.url, apiVersion: 'v1' }]),
              clock: h.deps.clock,
            });
          }
          return search.searchEvents(query);
        },
      };
      Object.assign(h.deps, { auditEvents: during });
      const second = await h.snapshot();
      expect(accepted).toBe(true);
      // The snapshot read the drift before the accept: it leaves the accepted item alone rather than write its older copy.
      expect(second.lateAttributions ?? []).toEqual([]);
      expect((await h.store.loadState('acme')).drifts[0]).toMatchObject({ status: 'accepted', acceptance: { by: 'bob', reason: 'CHG-7' } });
      // The next run reads the accepted drift and annotates that.
      h.advance(60_000);
      const third = await h.snapshot();
      expect(third.lateAttributions).toEqual([expect.objectContaining({ snapshotSeq: first.seq })]);
      const [drift] = (await h.store.loadState('acme')).drifts;
      expect(drift).toMatchObject({ status: 'accepted', acceptance: { by: 'bob', reason: 'CHG-7' }, attribution: { actor: 'mallory' } });
      expect((await verifyHistory(h.store, 'acme', { now: h.deps.clock.now() })).ok).toBe(true);
    } finally {
      await h.close();
    }
  });
});
