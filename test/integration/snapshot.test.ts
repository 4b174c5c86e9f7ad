import { InconsistentListingError } from '../../lambdas/isc/errors';
import type { SnapshotResult } from '../../lambdas/use-cases/take-snapshot';
import { verifyHistory } from '../../lambdas/use-cases/verify-history';
import { secretValues, snapshotHarness } from '../support/snapshot-harness';

type Harness = Awaited<ReturnType<typeof snapshotHarness>>;

describe('snapshots and change detection against DynamoDB Local and the emulator', () => {
  let h: Harness;
  let integrationId: string;

  beforeEach(async () => {
    h = await snapshotHarness({ integrations: 14, seed: 5 });
    // An integration with a credential, a script and managed sources: the seed data has every type in turn.
    integrationId = h.emulator.state.ids()[0] as string;
  });
  afterEach(() => h.close());

  const only = (result: SnapshotResult) => {
    expect(result.changes).toHaveLength(1);
    return result.changes[0] as SnapshotResult['changes'][number];
  };
  const edit = (patch: (i: ReturnType<Harness['emulator']['state']['get']>) => void) => {
    const current = h.emulator.state.get(integrationId);
    patch(current);
    h.emulator.state.replace(integrationId, current);
  };

  it('takes the first snapshot as the baseline: every resource stored, no changes, no alerts', async () => {
    const result = await h.snapshot();
    expect(result).toMatchObject({ tenant: 'acme', seq: 1, baseline: true, resources: 15, changes: [] });
    expect(result.stats.itemsWritten).toBe(1 + 15 * 2);
    expect(h.notifier.events).toEqual([]);
  });

  it('writes exactly one item for an unchanged tenant, whatever its size', async () => {
    await h.snapshot();
    const before = await h.itemCount();
    const second = await h.snapshot();
    const third = await h.snapshot();
    expect(second.changes).toEqual([]);
    expect(second.stats.itemsWritten).toBe(1);
    expect(third.stats.itemsWritten).toBe(1);
    expect((await h.itemCount()) - before).toBe(2);
  });

  it('reports a description edit as one low-severity replace, unexpected, alerted once', async () => {
    await h.snapshot();
    edit((i) => {
      i.description = 'Edited in the ISC UI';
    });
    const change = only(await h.snapshot());
    expect(change).toEqual({
      resource: { kind: 'integration', id: integrationId, name: expect.any(String) },
      change: 'modified',
      patch: [{ op: 'replace', path: '/description', value: 'Edited in the ISC UI' }],
      severity: 'low',
      classification: 'unexpected',
    });
    expect(h.notifier.events.map((e) => e.type)).toEqual(['Drift Detected']);
    // The drift persists, but it is not news: no second alert.
    expect((await h.snapshot()).changes).toEqual([]);
    expect(h.notifier.events).toHaveLength(1);
  });

  it('detects a changed credential by its fingerprint, without the secret in any stored byte or alert', async () => {
    await h.snapshot();
    const secretKey = Object.keys(h.emulator.state.get(integrationId).attributes).find((k) => /password|token|secret/i.test(k)) as string;
    const newSecret = 'N3w-Sup3r-S3cret-value!';
    edit((i) => {
      i.attributes[secretKey] = newSecret;
    });
    const change = only(await h.snapshot());
    expect(change.severity).toBe('high');
    expect(change.patch).toEqual([
      { op: 'replace', path: `/attributes/${secretKey}/$secret`, value: expect.stringMatching(/^hmac-sha256:[0-9a-f]{32}$/) },
    ]);
    const everything = `${await h.storedText()}\n${JSON.stringify(h.notifier.events)}\n${JSON.stringify(change)}`;
    for (const secret of [newSecret, ...secretValues(h.emulator)]) expect(everything).not.toContain(secret);
  });

  it('reports an owner change and a managed-source change as high severity', async () => {
    await h.snapshot();
    edit((i) => {
      i.ownerRef = { type: 'IDENTITY', id: 'ffffffffffffffffffffffffffffffff', name: 'Mallory' };
      i.provisioningConfig = {
        ...i.provisioningConfig,
        managedResourceRefs: [{ type: 'SOURCE', id: '0000000000000000000000000000000a', name: 'Payroll' }],
      };
    });
    const change = only(await h.snapshot());
    expect(change.severity).toBe('high');
    const paths = change.patch.map((op) => (op as { path: string }).path);
    expect(paths).toEqual(expect.arrayContaining(['/ownerRef/id']));
    expect(paths.some((p) => p.startsWith('/provisioningConfig/managedResourceRefs'))).toBe(true);
  });

  it('reports a script edit as high severity with the new script in the patch', async () => {
    await h.snapshot();
    edit((i) => {
      i.provisioningConfig = { ...i.provisioningConfig, planInitializerScript: { source: '<Rule>evil()</Rule>' } };
    });
    const change = only(await h.snapshot());
    expect(change.severity).toBe('high');
    expect(JSON.stringify(change.patch)).toContain('evil()');
  });

  it('ignores an owner display-name change (an identity rename is not an SDIM edit)', async () => {
    await h.snapshot();
    edit((i) => {
      i.ownerRef = { ...i.ownerRef, name: 'Renamed Person' };
    });
    const result = await h.snapshot();
    expect(result.changes).toEqual([]);
    // The record, and the head's raw-document digest refreshed (the raw document moved, its content did not).
    expect(result.stats).toMatchObject({ itemsWritten: 2, headsRefreshed: 1 });
    expect((await h.snapshot()).stats).toMatchObject({ itemsWritten: 1, headsRefreshed: 0, normalised: 0 });
  });

  it('reports a deleted and a created integration', async () => {
    await h.snapshot();
    h.emulator.state.delete(integrationId);
    const created = h.emulator.state.create({
      name: 'Shadow IT desk',
      description: 'who made this?',
      type: 'Zendesk SDIM',
      attributes: { apiToken: 'zzz-secret' },
    });
    const result = await h.snapshot();
    expect(result.changes.map((c) => [c.change, c.resource.id, c.severity, c.classification])).toEqual(
      expect.arrayContaining([
        ['removed', integrationId, 'high', 'unexpected'],
        ['added', created.id, 'high', 'unexpected'],
      ]),
    );
    expect(result.resources).toBe(15);
    expect(await h.storedText()).not.toContain('zzz-secret');
  });

  it('reports a status-check configuration change', async () => {
    await h.snapshot();
    h.emulator.state.setStatusCheck({ provisioningStatusCheckIntervalMinutes: '5', provisioningMaxStatusCheckDays: '30' });
    const change = only(await h.snapshot());
    expect(change).toMatchObject({
      resource: { kind: 'status-check', id: 'tenant' },
      change: 'modified',
      severity: 'medium',
      patch: expect.arrayContaining([{ op: 'replace', path: '/provisioningStatusCheckIntervalMinutes', value: '5' }]),
    });
  });

  it('stores a document larger than one DynamoDB item whole, and reads it back byte for byte', async () => {
    await h.snapshot();
    // 1.6 MB of hex gzips to about 0.8 MB: more than two 350 KB parts.
    let seed = 7;
    const noise = Array.from({ length: 1_600_000 }, () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return (seed % 16).toString(16);
    }).join('');
    edit((i) => {
      i.provisioningConfig = { ...i.provisioningConfig, planInitializerScript: { source: noise } };
    });
    const result = await h.snapshot();
    expect(result.changes.map((c) => c.resource.id)).toEqual([integrationId]);
    const stored = await h.store.getVersionContent('acme', `integration:${integrationId}`, result.seq);
    const script = (stored?.provisioningConfig as { planInitializerScript?: { source: string } } | undefined)?.planInitializerScript;
    expect(script?.source).toBe(noise);
    expect(await h.itemCount()).toBeGreaterThan(3);
    expect((await verifyHistory(h.store, 'acme')).ok).toBe(true);
    // The drift and its alert carry the path and the size, not the megabyte: they must fit an item and a message.
    expect(JSON.stringify(h.notifier.events.at(-1)?.detail.patch)).toMatch(/"\$omitted":"\d+ bytes; see sdim-guard diff"/);
  });

  it('keeps a verifiable hash chain, and verify names the first altered record', async () => {
    await h.snapshot();
    edit((i) => {
      i.description = 'v2';
    });
    await h.snapshot();
    await h.snapshot();
    const good = await verifyHistory(h.store, 'acme');
    expect(good).toMatchObject({ ok: true, snapshotsChecked: 3, versionsChecked: 16 });
  });

  it('never reports drift from 429/5xx storms', async () => {
    await h.snapshot();
    h.emulator.faultRate = 0.7;
    const result = await h.snapshot();
    expect(result.changes).toEqual([]);
    expect(h.emulator.requests.some((r) => r.injectedFault)).toBe(true);
  });
});

describe('snapshots of a tenant that is edited while it is paged', () => {
  it('does not record an integration skipped by shifting pages as removed', async () => {
    // 600 integrations, three pages sorted by name. After page 1 is served, one integration it listed is deleted and
    // one is created further down: the total does not move, no id repeats, yet one integration slides from page 2
    // onto page 1 after page 1 was read. Offset paging cannot see that; the removal check must.
    const h = await snapshotHarness({ integrations: 600, seed: 11 });
    try {
      await h.snapshot();
      const before = new Set(h.emulator.state.ids());
      h.emulator.listingChurn = { deletes: 1, creates: 1, pages: 1 };
      const during = await h.snapshot();
      const stillThere = new Set(h.emulator.state.ids());
      const deleted = [...before].filter((id) => !stillThere.has(id));
      expect(deleted).toHaveLength(1);
      expect(during.stats.listingRecovered).toBe(1);
      expect(during.changes.filter((c) => c.change === 'removed')).toEqual([]);
      // The integration created mid-listing was listed, so it is reported now.
      expect(during.changes.map((c) => [c.change, c.resource.name])).toEqual([['added', expect.stringMatching(/^Churned integration/)]]);

      // Once the tenant holds still, the real deletion is reported, and nothing else.
      const after = await h.snapshot();
      expect(after.changes.map((c) => [c.change, c.resource.id])).toEqual([['removed', deleted[0]]]);
      expect(after.stats.removalsConfirmed).toBe(1);
      expect(after.resources).toBe(601);
    } finally {
      await h.close();
    }
  });

  it('fails loudly and records nothing when the listing never holds still', async () => {
    const h = await snapshotHarness({ integrations: 600, seed: 12 });
    try {
      await h.snapshot();
      const itemsBefore = await h.itemCount();
      h.emulator.listingChurn = { deletes: 0, creates: 1 };
      await expect(h.snapshot()).rejects.toThrow(InconsistentListingError);
      expect(await h.itemCount()).toBe(itemsBefore);
      expect((await h.store.listSnapshots('acme')).map((s) => s.seq)).toEqual([1]);
    } finally {
      await h.close();
    }
  });
});
