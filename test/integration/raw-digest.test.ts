import { randomBytes } from 'node:crypto';
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoSnapshotStore } from '../../lambdas/adapters/dynamodb/snapshot-store';
import { pad, tenantPk } from '../../lambdas/adapters/dynamodb/table';
import { RawDigests } from '../../lambdas/domain/raw-digest';
import { SecretPolicy } from '../../lambdas/domain/secrets';
import { type SnapshotDeps, type SnapshotResult, takeSnapshot } from '../../lambdas/use-cases/take-snapshot';
import { verifyHistory } from '../../lambdas/use-cases/verify-history';
import { seededRandom } from '../../local/emulator/prng';
import { freshTable } from '../support/dynamodb';
import { secretValues, snapshotHarness } from '../support/snapshot-harness';

// The snapshot keeps a keyed digest of each integration's raw document in its head and skips normalising integrations
// whose digest still matches. These tests hold that skip to "never changes an outcome": against DynamoDB Local and
// the emulator, with heads edited the way someone with table write access could.

type Harness = Awaited<ReturnType<typeof snapshotHarness>>;
const N = 14;

describe('raw-document digests in the heads', () => {
  let h: Harness;
  let ids: string[];

  beforeEach(async () => {
    h = await snapshotHarness({ integrations: N, seed: 5 });
    ids = h.emulator.state.ids();
  });
  afterEach(() => h.close());

  const heads = async () => {
    const { Items = [] } = await h.table.db.send(
      new QueryCommand({
        TableName: h.table.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :h)',
        ExpressionAttributeValues: { ':pk': tenantPk('acme'), ':h': 'H#integration:' },
      }),
    );
    return new Map(Items.map((i) => [i.id as string, i as { contentHash: string; rawDigest?: string; version: number }]));
  };
  const setHead = (id: string, values: Record<string, unknown>) =>
    h.table.db.send(
      new UpdateCommand({
        TableName: h.table.tableName,
        Key: { pk: tenantPk('acme'), sk: `H#integration:${id}` },
        UpdateExpression: `SET ${Object.keys(values)
          .map((_k, i) => `#k${i} = :v${i}`)
          .join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(Object.keys(values).map((k, i) => [`#k${i}`, k])),
        ExpressionAttributeValues: Object.fromEntries(Object.values(values).map((v, i) => [`:v${i}`, v])),
      }),
    );
  const id0 = () => ids[0] as string;
  const edit = (id: string, change: (i: ReturnType<Harness['emulator']['state']['get']>) => void) => {
    const current = h.emulator.state.get(id);
    change(current);
    h.emulator.state.replace(id, current);
  };

  it('the baseline gives every integration head a keyed digest and stores no credential; an unchanged run normalises nothing', async () => {
    const first = await h.snapshot();
    expect(first.stats.normalised).toBe(N);
    const stored = await heads();
    expect(stored.size).toBe(N);
    for (const head of stored.values()) expect(head.rawDigest).toMatch(/^[0-9a-f]{64}$/);
    const text = await h.storedText();
    for (const secret of secretValues(h.emulator)) expect(text).not.toContain(secret);

    const second = await h.snapshot();
    expect(second.changes).toEqual([]);
    expect(second.stats).toMatchObject({ normalised: 0, headsRefreshed: 0, itemsWritten: 1 });
    expect(second.hash).not.toBe(first.hash);
    expect((await verifyHistory(h.store, 'acme')).ok).toBe(true);
  });

  it('an edited field or a changed credential is normalised and detected, then skipped again', async () => {
    await h.snapshot();
    edit(id0(), (i) => {
      i.description = 'edited by hand';
    });
    const secretId = ids.find(
      (id) => id !== id0() && Object.keys(h.emulator.state.get(id).attributes ?? {}).some((k) => new SecretPolicy().isSecretKey(k)),
    );
    if (!secretId) throw new Error('the seed needs a second integration with a credential');
    const secretKey = Object.keys(h.emulator.state.get(secretId).attributes ?? {}).find((k) => new SecretPolicy().isSecretKey(k)) as string;
    edit(secretId, (i) => {
      (i.attributes as Record<string, unknown>)[secretKey] = `rotated-${randomBytes(6).toString('hex')}`;
    });
    const changed = await h.snapshot();
    expect(changed.stats.normalised).toBe(2);
    expect(changed.changes.map((c) => [c.resource.id, c.change]).sort()).toEqual(
      [
        [id0(), 'modified'],
        [secretId, 'modified'],
      ].sort(),
    );
    const credential = changed.changes.find((c) => c.resource.id === secretId);
    expect(JSON.stringify(credential?.patch)).toMatch(/\$secret/);
    const after = await h.snapshot();
    expect(after).toMatchObject({ changes: [], stats: { normalised: 0, headsRefreshed: 0, itemsWritten: 1 } });
  });

  it.each([
    ['another secret policy', { secretPolicy: new SecretPolicy({ extraPatterns: ['^description$'] }) }, true],
    ['reference names hashed', { ignoreReferenceNames: false }, true],
    ['another fingerprint key', { fingerprintKey: randomBytes(32) }, true],
  ])('%s: every integration is normalised again (the changes are what full normalisation finds)', async (_what, settings, changes) => {
    await h.snapshot();
    const before = { ...h.deps };
    Object.assign(h.deps, settings);
    const run = await h.snapshot();
    expect(run.stats.normalised).toBe(N);
    // What the same settings find with no digests at all: the digests changed nothing.
    expect(run.changes.length > 0).toBe(changes);
    const next = await h.snapshot();
    expect(next).toMatchObject({ changes: [], stats: { normalised: 0, headsRefreshed: 0 } });
    Object.assign(h.deps, before);
  });

  it("keys reordered inside ISC's JSON and a bare 'modified' move: no false change; the digest is refreshed after a reorder", async () => {
    await h.snapshot();
    edit(id0(), (i) => {
      i.attributes = Object.fromEntries(Object.entries(i.attributes ?? {}).reverse());
    });
    const reordered = await h.snapshot();
    expect(reordered.changes).toEqual([]);
    expect(reordered.stats).toMatchObject({ normalised: 1, headsRefreshed: 1, itemsWritten: 2 });
    expect((await h.snapshot()).stats).toMatchObject({ normalised: 0, headsRefreshed: 0 });

    // A replace with the same content: ISC moves 'modified' only. Like the content hash, the digest leaves it out.
    edit(id0(), () => undefined);
    const touched = await h.snapshot();
    expect(touched.changes).toEqual([]);
    expect(touched.stats).toMatchObject({ normalised: 0, headsRefreshed: 0, itemsWritten: 1 });
  });

  it('a digest refresh touches only a head still holding the hash and version it was computed for, and creates none', async () => {
    await h.snapshot();
    const before = (await heads()).get(id0()) as { contentHash: string; version: number; rawDigest: string };
    const refresh = (key: string, contentHash: string, version: number) =>
      h.store.refreshRawDigests('acme', [{ key, contentHash, version, rawDigest: 'f'.repeat(64) }]);
    expect(await refresh(`integration:${id0()}`, 'other-hash', before.version)).toBe(0);
    expect(await refresh(`integration:${id0()}`, before.contentHash, before.version + 1)).toBe(0);
    expect(await refresh('integration:no-such-id', before.contentHash, before.version)).toBe(0);
    expect((await heads()).get(id0())).toEqual(before);
    expect((await heads()).has('no-such-id')).toBe(false);
    expect(await refresh(`integration:${id0()}`, before.contentHash, before.version)).toBe(1);
    expect((await heads()).get(id0())).toEqual({ ...before, rawDigest: 'f'.repeat(64) });
    // A digest that does not match is only a missed skip: the next run that reads heads (here: another integration
    // edited, so the latest record's seal no longer vouches for the fetch) normalises it and refreshes it.
    edit(ids[1] as string, (i) => {
      i.description = 'edited so the run reads heads';
    });
    expect((await h.snapshot()).stats).toMatchObject({ normalised: 2, headsRefreshed: 1, listingSealMatched: false });
  });

  it('heads and records written before digests (no rawDigest, no listingSeal) are normalised, no change is reported, and they get one', async () => {
    const first = await h.snapshot();
    for (const id of ids)
      await h.table.db.send(
        new UpdateCommand({
          TableName: h.table.tableName,
          Key: { pk: tenantPk('acme'), sk: `H#integration:${id}` },
          UpdateExpression: 'REMOVE rawDigest',
        }),
      );
    await h.table.db.send(
      new UpdateCommand({
        TableName: h.table.tableName,
        Key: { pk: tenantPk('acme'), sk: `S#${pad(first.seq)}` },
        UpdateExpression: 'REMOVE listingSeal',
        ConditionExpression: 'attribute_exists(listingSeal)',
      }),
    );
    const upgraded = await h.snapshot();
    expect(upgraded.changes).toEqual([]);
    expect(upgraded.stats).toMatchObject({ normalised: N, headsRefreshed: N, itemsWritten: 1 + N });
    expect((await h.snapshot()).stats).toMatchObject({ normalised: 0, headsRefreshed: 0, itemsWritten: 1 });
    expect((await verifyHistory(h.store, 'acme')).ok).toBe(true);
  });

  it('a table writer pasting digests (another head, an older version) gets a normalisation, never a hidden change', async () => {
    await h.snapshot();
    const v1 = await heads();
    const original = h.emulator.state.get(id0()).description;
    edit(id0(), (i) => {
      i.description = 'v2';
    });
    await h.snapshot();
    // Back to v1 in ISC by hand, and v1's digest pasted into the v2 head: the revert is still detected.
    edit(id0(), (i) => {
      i.description = original;
    });
    await setHead(id0(), { rawDigest: v1.get(id0())?.rawDigest });
    // Another integration's digest on a third head.
    await setHead(ids[2] as string, { rawDigest: v1.get(ids[1] as string)?.rawDigest });
    const run = await h.snapshot();
    expect(run.stats.normalised).toBe(2);
    expect(run.changes.map((c) => [c.resource.id, c.change])).toEqual([[id0(), 'modified']]);
    expect((await heads()).get(id0())?.contentHash).toBe(v1.get(id0())?.contentHash);
    expect((await verifyHistory(h.store, 'acme')).ok).toBe(true);
  });

  it("a head's contentHash rolled back to hide a revert (with or without its digest): the heads disagree with the chain, the revert is found", async () => {
    for (const withDigest of [true, false]) {
      const own = await snapshotHarness({ integrations: 4, seed: 6 });
      try {
        const id = own.emulator.state.ids()[0] as string;
        const change = (description: string) => {
          const current = own.emulator.state.get(id);
          current.description = description;
          own.emulator.state.replace(id, current);
        };
        const original = own.emulator.state.get(id).description as string;
        // Once through ISC's own serialiser, so v1 is the exact document a revert brings back ('modified' aside).
        change(original);
        await own.snapshot();
        const { Items: [v1] = [] } = await own.table.db.send(
          new QueryCommand({
            TableName: own.table.tableName,
            KeyConditionExpression: 'pk = :pk AND sk = :sk',
            ExpressionAttributeValues: { ':pk': tenantPk('acme'), ':sk': `H#integration:${id}` },
          }),
        );
        change('v2');
        expect((await own.snapshot()).changes).toHaveLength(1);
        change(original);
        // The head rolled back to v1: its contentHash, with (or without) v1's digest.
        await own.table.db.send(
          new UpdateCommand({
            TableName: own.table.tableName,
            Key: { pk: tenantPk('acme'), sk: `H#integration:${id}` },
            UpdateExpression: withDigest ? 'SET contentHash = :h, rawDigest = :d' : 'SET contentHash = :h REMOVE rawDigest',
            ExpressionAttributeValues: withDigest ? { ':h': v1?.contentHash, ':d': v1?.rawDigest } : { ':h': v1?.contentHash },
          }),
        );
        // The rolled-back head no longer hides the revert: the heads disagree with snapshot #2's chained manifest, so
        // the run takes them from the chain (use-cases/checked-heads.ts), finds the revert, says so, and its record is
        // right (verify passes).
        const seen = await own.snapshot();
        expect([withDigest, seen.changes.map((c) => [c.resource.id, c.classification])]).toEqual([withDigest, [[id, 'restored']]]);
        expect([withDigest, seen.warnings?.map((w) => w.code)]).toEqual([withDigest, ['heads-disagree']]);
        const verdict = await verifyHistory(own.store, 'acme');
        expect([withDigest, verdict.ok]).toEqual([withDigest, true]);
      } finally {
        await own.close();
      }
    }
  });

  it('a digest forged with the fingerprint key hides a change until the first snapshot of the next UTC day, which finds it and warns', async () => {
    await h.snapshot();
    const stale = (await heads()).get(id0()) as { contentHash: string };
    edit(id0(), (i) => {
      i.description = 'hidden by a key holder';
    });
    const live = h.emulator.state.get(id0());
    const forged = new RawDigests({
      tenant: 'acme',
      secretPolicy: h.deps.secretPolicy,
      hmacKey: h.deps.fingerprintKey,
      ignoreReferenceNames: true,
    }).of(live, stale.contentHash);
    await setHead(id0(), { rawDigest: forged });
    h.advance(15 * 60_000);
    expect((await h.snapshot()).changes).toEqual([]);

    h.advance(24 * 3_600_000);
    const nextDay = await h.snapshot();
    expect(nextDay.stats.normalised).toBe(N);
    expect(nextDay.changes.map((c) => [c.resource.id, c.change])).toEqual([[id0(), 'modified']]);
    expect(nextDay.warnings).toEqual([
      expect.objectContaining({
        code: 'raw-digest-mismatch',
        keys: [`integration:${id0()}`],
        message: expect.stringContaining('fingerprint key'),
      }),
    ]);
    expect(
      h.notifier.events.some((e) => e.type === 'Snapshot Warning' && (e.detail as { code?: string }).code === 'raw-digest-mismatch'),
    ).toBe(true);
  });

  it('with a digest key of its own (AWS: a secret only the snapshot role reads), a digest forged with the fingerprint key vouches for nothing: the edit is found at once', async () => {
    const own = await snapshotHarness({ integrations: N, seed: 5 }, { rawDigestKey: randomBytes(32) });
    try {
      await own.snapshot();
      const id = own.emulator.state.ids()[0] as string;
      const head = async () => {
        const { Items = [] } = await own.table.db.send(
          new QueryCommand({
            TableName: own.table.tableName,
            KeyConditionExpression: 'pk = :pk AND sk = :sk',
            ExpressionAttributeValues: { ':pk': tenantPk('acme'), ':sk': `H#integration:${id}` },
          }),
        );
        return Items[0] as { contentHash: string; rawDigest: string };
      };
      const before = await head();
      const current = own.emulator.state.get(id);
      current.description = 'hidden by a fingerprint-key holder';
      own.emulator.state.replace(id, current);
      // What the approval, apply and sweeper roles can compute: they hold the fingerprint key, not the digest key.
      const forged = new RawDigests({
        tenant: 'acme',
        secretPolicy: own.deps.secretPolicy,
        hmacKey: own.deps.fingerprintKey,
        ignoreReferenceNames: true,
      }).of(own.emulator.state.get(id), before.contentHash);
      expect(forged).not.toBe(before.rawDigest);
      await own.table.db.send(
        new UpdateCommand({
          TableName: own.table.tableName,
          Key: { pk: tenantPk('acme'), sk: `H#integration:${id}` },
          UpdateExpression: 'SET rawDigest = :d',
          ExpressionAttributeValues: { ':d': forged },
        }),
      );
      own.advance(15 * 60_000);
      const seen = await own.snapshot();
      expect(seen.changes.map((c) => [c.resource.id, c.change, c.classification])).toEqual([[id, 'modified', 'unexpected']]);
      expect(seen.stats.normalised).toBe(1);
    } finally {
      await own.close();
    }
  });

  it('the limit, exactly: a key holder who puts ISC back before the next UTC day leaves the edit unrecorded, and the next run overwrites the forged digest', async () => {
    await h.snapshot();
    const stale = (await heads()).get(id0()) as { contentHash: string };
    const original = structuredClone(h.emulator.state.get(id0()));
    edit(id0(), (i) => {
      i.description = 'live for a few hours, then put back';
    });
    const forged = new RawDigests({
      tenant: 'acme',
      secretPolicy: h.deps.secretPolicy,
      hmacKey: h.deps.fingerprintKey,
      ignoreReferenceNames: true,
    }).of(h.emulator.state.get(id0()), stale.contentHash);
    await setHead(id0(), { rawDigest: forged });
    for (let run = 0; run < 4; run++) {
      h.advance(15 * 60_000);
      expect((await h.snapshot()).changes).toEqual([]);
    }
    h.emulator.state.replace(id0(), original);
    h.advance(15 * 60_000);
    const afterRevert = await h.snapshot();
    expect(afterRevert.changes).toEqual([]);
    // The revert is normalised (the forged digest vouches for nothing now) and the head's digest refreshed: no trace.
    expect(afterRevert.stats.headsRefreshed).toBe(1);
    expect((await heads()).get(id0())?.rawDigest).not.toBe(forged);
    h.advance(24 * 3_600_000);
    const nextDay = await h.snapshot();
    expect(nextDay.changes).toEqual([]);
    expect(nextDay.warnings ?? []).toEqual([]);
    const history = await h.store.listSnapshots('acme');
    expect(history.flatMap((r) => r.changes).filter((c) => c.key === `integration:${id0()}` && c.change !== 'added')).toEqual([]);
    expect((await verifyHistory(h.store, 'acme', { now: h.deps.clock.now() })).ok).toBe(true);
  });

  it('the first snapshot of each UTC day normalises everything and finds nothing when nothing changed', async () => {
    await h.snapshot();
    h.advance(24 * 3_600_000);
    const run = await h.snapshot();
    expect(run).toMatchObject({ changes: [], stats: { normalised: N, headsRefreshed: 0, itemsWritten: 1 } });
    expect(run.warnings ?? []).toEqual([]);
  });
});

describe('raw digests change no outcome: the same tenant through two stores, one never trusting a digest', () => {
  it('gives the same changes, patches, classifications, heads and manifests over 16 rounds of mixed edits and quiet rounds', async () => {
    const h = await snapshotHarness({ integrations: 24, seed: 11 });
    const other = await freshTable();
    try {
      const storeB = new DynamoSnapshotStore(other.db, other.tableName, h.deps.clock.now);
      // Store B's heads are read without their digests and its records without their seals: every run reads the heads
      // and normalises everything, as before digests existed.
      const blind = Object.create(storeB) as DynamoSnapshotStore;
      blind.loadState = async (tenant, options) => {
        const state = await storeB.loadState(tenant, options);
        return { ...state, known: new Map([...state.known].map(([k, v]) => [k, { ...v, rawDigest: undefined }])) };
      };
      blind.chainTip = async (tenant) => {
        const tip = await storeB.chainTip(tenant);
        return tip && { ...tip, listingSeal: undefined };
      };
      const depsB: SnapshotDeps = { ...h.deps, store: blind, ledger: storeB };
      const ids = h.emulator.state.ids();
      const random = seededRandom(42);
      const pick = () => ids[Math.floor(random() * ids.length)] as string;
      const saved = new Map(ids.map((id) => [id, h.emulator.state.get(id)]));
      const policy = new SecretPolicy();
      const edits: Array<(id: string) => void> = [
        (id) => replace(id, (i) => ({ ...i, description: `edited ${random().toFixed(6)}` })),
        (id) =>
          replace(id, (i) => {
            const key = Object.keys(i.attributes ?? {}).find((k) => policy.isSecretKey(k));
            return key ? { ...i, attributes: { ...i.attributes, [key]: `rotated-${random().toFixed(8)}` } } : i;
          }),
        (id) => replace(id, (i) => ({ ...i, attributes: Object.fromEntries(Object.entries(i.attributes ?? {}).reverse()) })),
        (id) => replace(id, (i) => ({ ...i, ownerRef: { ...i.ownerRef, name: `Renamed ${random().toFixed(4)}` } })),
        (id) =>
          replace(id, (i) => ({
            ...i,
            provisioningConfig: {
              ...i.provisioningConfig,
              managedResourceRefs: [...(i.provisioningConfig?.managedResourceRefs ?? [])].reverse(),
            },
          })),
        (id) => replace(id, (i) => i),
        (id) => replace(id, () => saved.get(id) as ReturnType<typeof h.emulator.state.get>),
      ];
      function replace(id: string, change: (i: ReturnType<typeof h.emulator.state.get>) => ReturnType<typeof h.emulator.state.get>) {
        h.emulator.state.replace(id, change(h.emulator.state.get(id)));
      }
      const view = (r: SnapshotResult) =>
        r.changes.map((c) => ({
          id: c.resource.id,
          change: c.change,
          classification: c.classification,
          patch: c.patch,
          severity: c.severity,
        }));
      const headsOf = async (db: typeof other.db, table: string) => {
        const { Items = [] } = await db.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :h)',
            ExpressionAttributeValues: { ':pk': tenantPk('acme'), ':h': 'H#' },
          }),
        );
        return Items.map((i) => [i.key, i.contentHash, i.version]).sort();
      };
      await h.snapshot();
      await takeSnapshot('acme', depsB);
      let skipped = 0;
      let sealed = 0;
      for (let round = 0; round < 16; round++) {
        // Every fourth round edits nothing (or only what changes no byte): the seal must then vouch for the fetch.
        const quiet = round % 4 === 3;
        if (!quiet) for (let n = 0; n < 3; n++) (edits[Math.floor(random() * edits.length)] as (id: string) => void)(pick());
        h.advance(15 * 60_000);
        const a = await h.snapshot();
        const b = await takeSnapshot('acme', depsB);
        expect(b.stats).toMatchObject({ normalised: ids.length, listingSealMatched: false });
        if (a.stats.listingSealMatched) sealed++;
        expect([round, quiet || !a.stats.listingSealMatched || a.changes.length === 0]).toEqual([round, true]);
        expect([round, (await h.store.chainTip('acme'))?.manifestHash]).toEqual([round, (await storeB.chainTip('acme'))?.manifestHash]);
        skipped += ids.length - a.stats.normalised;
        expect([round, view(a)]).toEqual([round, view(b)]);
        expect([round, await headsOf(h.table.db, h.table.tableName)]).toEqual([round, await headsOf(other.db, other.tableName)]);
      }
      expect(skipped).toBeGreaterThan(12 * (ids.length - 3) - 1);
      expect(sealed).toBeGreaterThanOrEqual(4);
    } finally {
      await other.drop();
      await h.close();
    }
  });
});
