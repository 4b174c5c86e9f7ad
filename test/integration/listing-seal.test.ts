import { randomBytes } from 'node:crypto';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { pad, tenantPk } from '../../lambdas/adapters/dynamodb/table';
import { StaticTenantDirectory } from '../../lambdas/adapters/static-tenant-directory';
import { RawDigests } from '../../lambdas/domain/raw-digest';
import type { Clock } from '../../lambdas/ports/clock';
import { acceptDrifts, listDrift } from '../../lambdas/use-cases/console-reads';
import { verifyHistory } from '../../lambdas/use-cases/verify-history';
import { snapshotHarness } from '../support/snapshot-harness';

// The latest snapshot record keeps a seal of the fetch it was made from (domain/raw-digest.ts `seal`); a later run
// whose fetch gives the same seal takes the record's manifest and reads no head. These tests hold the seal to "never
// hides a change": against DynamoDB Local and the emulator, with records edited the way someone with table write
// access could, and with seals forged with the keys the other roles hold.

type Harness = Awaited<ReturnType<typeof snapshotHarness>>;
const HOUR = 3_600_000;

describe('the listing seal of the latest record', () => {
  let h: Harness;
  let ids: string[];

  beforeEach(async () => {
    h = await snapshotHarness({ integrations: 12, seed: 8 }, { rawDigestKey: randomBytes(32) });
    ids = h.emulator.state.ids();
    await h.snapshot();
    h.advance(60_000);
  });
  afterEach(() => h.close());

  const id0 = () => ids[0] as string;
  const edit = (id: string, description: string) => h.emulator.state.replace(id, { ...h.emulator.state.get(id), description });
  const recordKey = (seq: number) => ({ pk: tenantPk('acme'), sk: `S#${pad(seq)}` });
  const recordItem = async (seq: number) =>
    (await h.table.db.send(new GetCommand({ TableName: h.table.tableName, Key: recordKey(seq) }))).Item as Record<string, unknown>;
  const setOnRecord = (seq: number, values: Record<string, unknown>) =>
    h.table.db.send(
      new UpdateCommand({
        TableName: h.table.tableName,
        Key: recordKey(seq),
        UpdateExpression: `SET ${Object.keys(values)
          .map((_k, i) => `#k${i} = :v${i}`)
          .join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(Object.keys(values).map((k, i) => [`#k${i}`, k])),
        ExpressionAttributeValues: Object.fromEntries(Object.values(values).map((v, i) => [`:v${i}`, v])),
      }),
    );
  /** The seal of what ISC serves now, for the latest record, made with `digests`: what a key holder could write. */
  const sealOfLiveFetch = async (digests: RawDigests, seq: number) => {
    const [listing, statusCheck] = await Promise.all([h.isc.listAllIntegrations(), h.isc.getStatusCheckConfig()]);
    const record = await recordItem(seq);
    return digests.seal(digests.listing(listing.items, statusCheck), {
      seq,
      hash: record.hash as string,
      takenAt: record.takenAt as string,
      manifestHash: record.manifestHash as string,
      resourceCount: record.resourceCount as number,
      fullCheckDay: record.fullCheckDay as string,
    });
  };
  const settings = () => ({
    tenant: 'acme',
    secretPolicy: h.deps.secretPolicy,
    hmacKey: h.deps.fingerprintKey,
    ignoreReferenceNames: true,
  });

  /** A head someone with table write access got wrong: only a run that reads heads reports it. */
  const forgeHead = (id: string) =>
    h.table.db.send(
      new UpdateCommand({
        TableName: h.table.tableName,
        Key: { pk: tenantPk('acme'), sk: `H#integration:${id}` },
        UpdateExpression: 'SET contentHash = :h REMOVE rawDigest',
        ExpressionAttributeValues: { ':h': 'e'.repeat(64) },
      }),
    );
  const setClockTo = (iso: string) => h.advance(Date.parse(iso) - h.deps.clock.now().getTime());
  /** Runs one snapshot whose clock moves `ms` forward right after the run reads it first (its `started`). */
  const snapshotTaking = async (ms: number) => {
    const clock = h.deps.clock as { now: Clock['now'] };
    const real = clock.now;
    let first = true;
    clock.now = () => {
      const at = real();
      if (first) {
        first = false;
        h.advance(ms);
      }
      return at;
    };
    try {
      return await h.snapshot();
    } finally {
      clock.now = real;
    }
  };

  it('an unchanged run the same UTC day reads no head: nothing normalised, one item written, the manifest repeated', async () => {
    const loadState = jest.spyOn(h.store, 'loadState');
    const before = await recordItem(1);
    const run = await h.snapshot();
    expect(run).toMatchObject({ changes: [], resources: 13, stats: { listingSealMatched: true, normalised: 0, itemsWritten: 1 } });
    expect(loadState).not.toHaveBeenCalled();
    const record = await recordItem(2);
    expect(record).toMatchObject({ manifestHash: before.manifestHash, resourceCount: before.resourceCount, prevHash: before.hash });
    expect(record.listingSeal).toMatch(/^[0-9a-f]{64}$/);
    expect(record.listingSeal).not.toBe(before.listingSeal);
    expect((await h.snapshot()).stats.listingSealMatched).toBe(true);
    expect((await verifyHistory(h.store, 'acme', { now: h.deps.clock.now() })).ok).toBe(true);
  });

  it.each([
    ['a description edited', () => edit(ids[3] as string, 'edited by hand'), 1],
    ['an integration added', () => h.emulator.state.create({ ...h.emulator.state.get(id0()), id: undefined, name: 'Brand new' }), 1],
    ['an integration deleted', () => h.emulator.state.delete(ids[5] as string), 1],
    [
      'the status-check configuration changed',
      () => h.emulator.state.setStatusCheck({ provisioningStatusCheckIntervalMinutes: '45', provisioningMaxStatusCheckDays: '9' }),
      1,
    ],
    [
      "ISC's keys reordered (no change)",
      () => h.emulator.state.replace(id0(), Object.fromEntries(Object.entries(h.emulator.state.get(id0())).reverse())),
      0,
    ],
  ])('%s: the seal does not match, the run reads the heads and finds what there is', async (_what, change, changes) => {
    change();
    const run = await h.snapshot();
    expect(run.stats.listingSealMatched).toBe(false);
    expect(run.changes).toHaveLength(changes);
    expect((await h.snapshot()).stats.listingSealMatched).toBe(true);
  });

  it("only ISC's 'modified' stamp moved: still sealed (the content hash leaves it out too)", async () => {
    // The emulator's first write of a seeded integration moves its read-only keys to the end (another byte order).
    h.emulator.state.replace(id0(), h.emulator.state.get(id0()));
    expect(await h.snapshot()).toMatchObject({ changes: [], stats: { listingSealMatched: false, normalised: 1 } });
    const before = h.emulator.state.get(id0()).modified;
    // A replace with the same content: ISC moves 'modified' only.
    h.emulator.state.replace(id0(), h.emulator.state.get(id0()));
    expect(h.emulator.state.get(id0()).modified).not.toBe(before);
    expect(await h.snapshot()).toMatchObject({ changes: [], stats: { listingSealMatched: true, normalised: 0 } });
  });

  it('a table writer copying an older seal onto the latest record, after putting ISC back to that older state: the revert is found', async () => {
    const original = h.emulator.state.get(id0());
    edit(id0(), 'edited by hand');
    const drifted = await h.snapshot();
    expect(drifted.changes.map((c) => c.classification)).toEqual(['unexpected']);
    h.emulator.state.replace(id0(), original);
    await setOnRecord(drifted.seq, { listingSeal: (await recordItem(1)).listingSeal });
    h.advance(60_000);
    const back = await h.snapshot();
    expect(back.stats.listingSealMatched).toBe(false);
    expect(back.changes.map((c) => [c.resource.id, c.classification])).toEqual([[id0(), 'restored']]);
  });

  it.each([
    ['resourceCount', 12],
    ['hash', 'e'.repeat(64)],
    ['takenAt', '2026-11-24T10:00:30.000Z'],
    ['fullCheckDay', '2026-11-23'],
    ['seq', '1'],
  ])("the latest record's %s edited, its seal kept: the seal vouches for nothing", async (field, value) => {
    await setOnRecord(1, { [field]: value });
    const run = await h.snapshot();
    expect(run.stats.listingSealMatched).toBe(false);
  });

  it("the latest record's manifestHash edited, its seal kept: no seal, and the heads, which no longer agree with it, cannot be rebuilt from a chain that does not verify: the run stops loudly", async () => {
    await setOnRecord(1, { manifestHash: 'e'.repeat(64) });
    await expect(h.snapshot()).rejects.toThrow(/does not verify \(snapshot #1: the snapshot record was altered/);
    expect((await h.store.chainTip('acme'))?.seq).toBe(1);
  });

  it('a seal forged with the fingerprint key (the approval, apply and sweeper roles hold it) hides no edit: it is found at once', async () => {
    edit(id0(), 'quietly widened');
    await setOnRecord(1, { listingSeal: await sealOfLiveFetch(new RawDigests(settings()), 1) });
    const run = await h.snapshot();
    expect(run.stats.listingSealMatched).toBe(false);
    expect(run.changes.map((c) => [c.resource.id, c.classification])).toEqual([[id0(), 'unexpected']]);
  });

  it('the limit, exactly: a holder of the digest key (the snapshot role) can seal an edit away until the first run of the next UTC day', async () => {
    edit(id0(), 'quietly widened');
    await setOnRecord(1, { listingSeal: await sealOfLiveFetch(new RawDigests(settings(), h.deps.rawDigestKey), 1) });
    const hidden = await h.snapshot();
    expect(hidden).toMatchObject({ changes: [], stats: { listingSealMatched: true } });
    h.advance(24 * HOUR);
    const nextDay = await h.snapshot();
    expect(nextDay.stats.listingSealMatched).toBe(false);
    expect(nextDay.changes.map((c) => [c.resource.id, c.classification])).toEqual([[id0(), 'unexpected']]);
  });

  it('a forged head is never used by a sealed run, and an edit after it is found with the heads checked', async () => {
    await forgeHead(id0());
    expect(await h.snapshot()).toMatchObject({ changes: [], stats: { listingSealMatched: true } });
    edit(id0(), 'edited by hand');
    const run = await h.snapshot();
    expect(run.changes.map((c) => [c.resource.id, c.classification])).toEqual([[id0(), 'unexpected']]);
    expect(run.warnings?.map((w) => w.code)).toEqual(['heads-disagree']);
  });

  it('an acceptance that runs out while nothing changes reopens the drift the same day (that run reads the heads)', async () => {
    edit(id0(), 'edited, accepted for an hour');
    await h.snapshot();
    const until = new Date(h.deps.clock.now().getTime() + HOUR).toISOString();
    const reads = {
      history: h.store,
      tenants: new StaticTenantDirectory([{ name: 'acme', url: h.url, apiVersion: 'v1' }]),
      clock: h.deps.clock,
    };
    await acceptDrifts('acme', { keys: [`integration:${id0()}`], reason: 'CHG-9', until }, 'bob', reads);
    h.advance(60_000);
    expect(await h.snapshot()).toMatchObject({ stats: { listingSealMatched: true }, alerts: { sent: 0 } });
    h.advance(2 * HOUR);
    const reopened = await h.snapshot();
    expect(reopened.stats.listingSealMatched).toBe(false);
    expect(reopened.alerts.sent).toBe(1);
    expect(h.notifier.events.at(-1)?.type).toBe('Drift Acceptance Expired');
    expect((await h.store.loadState('acme')).drifts).toEqual([expect.objectContaining({ status: 'open' })]);
  });

  it('an alert that could not be delivered is delivered by the next run, sealed or not', async () => {
    edit(id0(), 'edited by hand');
    h.notifier.failNext = 1;
    const drifted = await h.snapshot();
    expect(drifted.alerts).toEqual({ sent: 0, pending: 1 });
    const next = await h.snapshot();
    expect(next).toMatchObject({ stats: { listingSealMatched: true }, alerts: { sent: 1, pending: 0 } });
    expect(h.notifier.events.filter((e) => e.type === 'Drift Detected')).toHaveLength(1);
  });

  it('a large run that died before its heads and drifts were complete is finished, never sealed over', async () => {
    await setOnRecord(1, { large: true, headsSynced: false });
    h.advance(11 * 60_000);
    const run = await h.snapshot();
    expect(run.stats.listingSealMatched).toBe(false);
    expect((await recordItem(1)).headsSynced).toBe(true);
    expect((await h.snapshot()).stats.listingSealMatched).toBe(true);
  });

  it("a repoint's first snapshot reads the heads", async () => {
    Object.assign(h.deps, { repoint: { from: 'https://old.example', to: h.url, at: h.deps.clock.now().toISOString() } });
    h.advance(1);
    expect((await h.snapshot()).stats.listingSealMatched).toBe(false);
    expect((await h.snapshot()).stats.listingSealMatched).toBe(true);
  });

  it('page hints only decide when the heads are read: forged hints cost a read, never a change or a seal', async () => {
    const loadState = jest.spyOn(h.store, 'loadState');
    await setOnRecord(1, { pageHints: ['f'.repeat(64)] });
    const run = await h.snapshot();
    expect(run).toMatchObject({ changes: [], stats: { listingSealMatched: true } });
    expect(loadState).toHaveBeenCalled();
    loadState.mockClear();
    expect((await h.snapshot()).stats.listingSealMatched).toBe(true);
    expect(loadState).not.toHaveBeenCalled();
  });

  // From the second review: fullCheckDay sits outside the record's hash, so only its keyed tag stops a table writer
  // from sparing a day its full check; record keys are the only source of a record's number.
  /** A key holder's one-time forgery: the head's raw digest vouches the stale hash for the edited document. */
  const forgeDigestForEdit = async (id: string) => {
    const head = (
      await h.table.db.send(new GetCommand({ TableName: h.table.tableName, Key: { pk: tenantPk('acme'), sk: `H#integration:${id}` } }))
    ).Item as { contentHash: string };
    edit(id, 'hidden by a key holder');
    const forged = new RawDigests(settings(), h.deps.rawDigestKey).of(h.emulator.state.get(id), head.contentHash);
    await h.table.db.send(
      new UpdateCommand({
        TableName: h.table.tableName,
        Key: { pk: tenantPk('acme'), sk: `H#integration:${id}` },
        UpdateExpression: 'SET rawDigest = :d',
        ExpressionAttributeValues: { ':d': forged },
      }),
    );
  };
  it("a table writer WITHOUT the digest key moving the latest record's fullCheckDay to the next day: that day's first run still normalises everything and finds a forged digest", async () => {
    await forgeDigestForEdit(id0());
    expect((await h.snapshot()).changes).toEqual([]); // the documented limit: hidden until the next UTC day
    const latest = (await h.store.chainTip('acme')) as { seq: number; fullCheckDay: string };
    h.advance(24 * HOUR);
    const today = h.deps.clock.now().toISOString().slice(0, 10);
    // Only the unbound attribute: no key, no seal, the record's hash untouched.
    await setOnRecord(latest.seq, { fullCheckDay: today });
    const firstOfDay = await h.snapshot();
    await setOnRecord(latest.seq, { fullCheckDay: latest.fullCheckDay });
    expect((await verifyHistory(h.store, 'acme', { now: h.deps.clock.now() })).ok).toBe(true);
    expect(firstOfDay.stats.listingSealMatched).toBe(false);
    expect(firstOfDay.stats.normalised).toBe(12);
    expect(firstOfDay.changes.map((c) => [c.resource.id, c.classification])).toEqual([[id0(), 'unexpected']]);
    expect(firstOfDay.warnings?.map((w) => w.code)).toContain('raw-digest-mismatch');
  });
  it('a forged digest kept hidden for three days by one unbound fullCheckDay edit a day, verify passing throughout', async () => {
    await forgeDigestForEdit(id0());
    await h.snapshot();
    const foundOn: string[] = [];
    for (let day = 0; day < 3; day++) {
      const latest = (await h.store.chainTip('acme')) as { seq: number };
      h.advance(24 * HOUR);
      await setOnRecord(latest.seq, { fullCheckDay: h.deps.clock.now().toISOString().slice(0, 10) });
      const run = await h.snapshot();
      if (run.changes.length > 0) foundOn.push(h.deps.clock.now().toISOString().slice(0, 10));
    }
    expect((await verifyHistory(h.store, 'acme', { now: h.deps.clock.now() })).ok).toBe(true);
    // The docs: "until the first snapshot of the next UTC day". It is found on the first next day, not never.
    expect(foundOn).toEqual(['2026-11-25']);
  });
  it('the limit, exactly: a key holder with table write access who re-seals the latest record each day (day moved, seal remade) keeps an edit out for as long as they do it; verify passes', async () => {
    edit(id0(), 'quietly widened');
    await setOnRecord(1, { listingSeal: await sealOfLiveFetch(new RawDigests(settings(), h.deps.rawDigestKey), 1) });
    const hidden = await h.snapshot();
    expect(hidden).toMatchObject({ changes: [], stats: { listingSealMatched: true } });
    h.advance(24 * HOUR);
    // fullCheckDay is outside the record's hash; the seal binds it, and the key holder can make a seal.
    await setOnRecord(hidden.seq, { fullCheckDay: h.deps.clock.now().toISOString().slice(0, 10) });
    await setOnRecord(hidden.seq, {
      listingSeal: await sealOfLiveFetch(new RawDigests(settings(), h.deps.rawDigestKey), hidden.seq),
    });
    const nextDay = await h.snapshot();
    expect((await verifyHistory(h.store, 'acme', { now: h.deps.clock.now() })).ok).toBe(true);
    expect(nextDay).toMatchObject({ changes: [], stats: { listingSealMatched: true } });
    // Without that day's forgery, the next UTC day's first run finds it.
    h.advance(24 * HOUR);
    const found = await h.snapshot();
    expect(found.changes.map((c) => [c.resource.id, c.classification])).toEqual([[id0(), 'unexpected']]);
  });
  it('a committed S# item whose key has no number (written by hand) breaks no reader that does not need the number: the drift list still answers', async () => {
    edit(id0(), 'edited by hand');
    await h.snapshot();
    const reads = {
      history: h.store,
      tenants: new StaticTenantDirectory([{ name: 'acme', url: h.url, apiVersion: 'v1' }]),
      clock: h.deps.clock,
    };
    // Sorts above every S#0000000042 key: the Limit-3 query of chainTip and latestCommitted takes it first.
    await h.table.db.send(
      new PutCommand({
        TableName: h.table.tableName,
        Item: { pk: tenantPk('acme'), sk: 'S#~', state: 'committed', seq: 3, hash: 'e'.repeat(64), changes: '[]' },
      }),
    );
    await expect(listDrift('acme', {}, reads as unknown as Parameters<typeof listDrift>[2])).resolves.toHaveLength(1);
  });
  it("a table writer renumbering the latest record's seq attribute (a number, not the key's) and forging one head: the heads rebuilt from the chain still include that record, so a revert of its change is found", async () => {
    const original = h.emulator.state.get(id0());
    edit(id0(), 'edited by hand');
    const drifted = await h.snapshot();
    expect(drifted.changes.map((c) => [c.resource.id, c.classification])).toEqual([[id0(), 'unexpected']]);
    // ISC put back by hand: the next run should record it ('restored').
    h.emulator.state.replace(id0(), original);
    // Every reader takes a record's number from its key: the renumbered record stays in the rebuilt heads.
    await setOnRecord(drifted.seq, { seq: drifted.seq + 1000 });
    await forgeHead(ids[5] as string);
    h.advance(60_000);
    const run = await h.snapshot();
    expect(run.seq).toBe(drifted.seq + 1);
    expect(run.changes.map((c) => [c.resource.id, c.classification])).toEqual([[id0(), 'restored']]);
    const verdict = await verifyHistory(h.store, 'acme', { now: h.deps.clock.now() });
    expect(verdict.firstBroken).toMatchObject({
      reason: `the snapshot record was altered: its seq attribute is ${drifted.seq + 1000}, its key says ${drifted.seq}`,
    });
  });

  it('a change list edited by hand (the revert it would hide made in ISC, one head forged to force a rebuild): the run stops loudly and writes nothing', async () => {
    const original = h.emulator.state.get(id0());
    edit(id0(), 'edited by hand');
    const drifted = await h.snapshot();
    h.emulator.state.replace(id0(), original);
    // Record N now "says" the integration was changed to what ISC holds again, so a rebuild from it would see no change.
    const record = await recordItem(drifted.seq);
    const changes = JSON.parse(record.changes as string) as Array<{ key: string; fromHash: string; toHash: string }>;
    for (const change of changes) if (change.key === `integration:${id0()}`) change.toHash = change.fromHash;
    await setOnRecord(drifted.seq, { changes: JSON.stringify(changes) });
    await forgeHead(ids[5] as string);
    h.advance(60_000);
    await expect(h.snapshot()).rejects.toThrow(
      new RegExp(`the chain they would be rebuilt from does not verify \\(snapshot #${drifted.seq}: the snapshot record was altered`),
    );
    expect((await h.store.chainTip('acme'))?.seq).toBe(drifted.seq);
    expect((await verifyHistory(h.store, 'acme', { now: h.deps.clock.now() })).firstBroken).toMatchObject({ seq: drifted.seq });
  });

  it('three items written by hand under record keys above the latest one: the run still chains on from the real record, and no reader lists them', async () => {
    const latest = (await h.store.chainTip('acme')) as { seq: number };
    for (const suffix of ['a', 'b', 'c'])
      await h.table.db.send(
        new PutCommand({
          TableName: h.table.tableName,
          Item: {
            pk: tenantPk('acme'),
            sk: `S#9999999998${suffix}`,
            state: 'committed',
            seq: 9_999_999_998,
            hash: 'e'.repeat(64),
            changes: '[]',
            gsi1pk: `${tenantPk('acme')}#S`,
            gsi1sk: h.deps.clock.now().toISOString(),
          },
        }),
      );
    const run = await h.snapshot();
    expect(run.seq).toBe(latest.seq + 1);
    expect((await h.store.listSnapshots('acme')).map((r) => r.seq)).toEqual([1, 2]);
    expect((await verifyHistory(h.store, 'acme', { now: h.deps.clock.now() })).ok).toBe(true);
  });

  // From the review of the first version: runs straddling midnight, clocks moving during a run, record attributes
  // re-dated or retyped by a table writer (each failed against it).
  it('a run that starts just before midnight UTC and commits after it: the first run started on the new day still reads (and checks) the heads', async () => {
    // A head someone with table write access got wrong: only a run that reads heads reports it.
    await forgeHead(id0());
    setClockTo('2026-11-24T23:59:59.900Z');
    // Started on the 24th (the latest full check's day); its fetch takes 0.3 s, so its record is dated the 25th. It is
    // not sealed (a seal is checked as of the record's time), nor a full check for the 25th.
    const straddling = await snapshotTaking(300);
    expect(straddling.stats.listingSealMatched).toBe(false);
    expect(straddling.warnings?.map((w) => w.code)).toEqual(['heads-disagree']);
    h.advance(15 * 60_000);
    // The first run started on the 25th: "the first run of the next UTC day reads (and checks) every head".
    const firstOfDay = await h.snapshot();
    expect(firstOfDay.stats.listingSealMatched).toBe(false);
    expect(firstOfDay.warnings?.map((w) => w.code)).toEqual(['heads-disagree']);
  });
  it('a run that straddles midnight UTC is no full check for the new day: the first run started on it normalises everything', async () => {
    setClockTo('2026-11-24T23:59:59.900Z');
    const straddling = await snapshotTaking(300);
    expect(straddling).toMatchObject({ changes: [], stats: { listingSealMatched: false, normalised: 0 } });
    expect((await h.store.chainTip('acme'))?.takenAt).toMatch(/^2026-11-25T00:00:00/);
    h.advance(15 * 60_000);
    expect((await h.snapshot()).stats).toMatchObject({ listingSealMatched: false, normalised: 12 });
    expect((await h.snapshot()).stats).toMatchObject({ listingSealMatched: true, normalised: 0 });
  });
  it('runs that keep landing just before midnight (a rate schedule whose offset is 23:59:59.9): every UTC day still has a run that reads the heads', async () => {
    await forgeHead(id0());
    const readHeadsOn = new Set<string>();
    for (const day of ['2026-11-24', '2026-11-25', '2026-11-26']) {
      setClockTo(`${day}T12:00:00.000Z`);
      const midday = await h.snapshot();
      if (!midday.stats.listingSealMatched) readHeadsOn.add(day);
      setClockTo(`${day}T23:59:59.900Z`);
      const late = await snapshotTaking(300);
      if (!late.stats.listingSealMatched) readHeadsOn.add(day);
    }
    // The 24th read them (its first run of the day is beforeEach's baseline, 10:00; the midday run is sealed).
    expect([...readHeadsOn].filter((d) => d !== '2026-11-24')).toEqual(['2026-11-25', '2026-11-26']);
  });
  it('an acceptance that runs out while a sealed run works: no record dated after it passes it over', async () => {
    h.emulator.state.replace(id0(), { ...h.emulator.state.get(id0()), description: 'edited, accepted for an hour' });
    await h.snapshot();
    const until = new Date(h.deps.clock.now().getTime() + 3_600_000);
    const reads = {
      history: h.store,
      tenants: new StaticTenantDirectory([{ name: 'acme', url: h.url, apiVersion: 'v1' }]),
      clock: h.deps.clock,
    };
    await acceptDrifts('acme', { keys: [`integration:${id0()}`], reason: 'CHG-9', until: until.toISOString() }, 'bob', reads);
    h.advance(60_000);
    expect((await h.snapshot()).stats.listingSealMatched).toBe(true);
    // 100 ms before the acceptance runs out; the run's clock crosses it right after the sealed path checked it.
    setClockTo(new Date(until.getTime() - 100).toISOString());
    const clock = h.deps.clock as { now: Clock['now'] };
    const real = clock.now;
    const loadDrifts = h.store.loadDrifts.bind(h.store);
    let armed = false;
    let crossed = false;
    jest.spyOn(h.store, 'loadDrifts').mockImplementation(async (tenant) => {
      const drifts = await loadDrifts(tenant);
      armed = true;
      return drifts;
    });
    clock.now = () => {
      const at = real();
      if (armed && !crossed) {
        crossed = true;
        h.advance(200);
      }
      return at;
    };
    let run: Awaited<ReturnType<Harness['snapshot']>>;
    try {
      run = await h.snapshot();
    } finally {
      clock.now = real;
    }
    expect(crossed).toBe(true);
    // The record is dated when the acceptances were checked (one instant for both): still within the acceptance.
    const record = (await h.store.chainTip('acme')) as { takenAt: string };
    expect(run.stats.listingSealMatched).toBe(true);
    expect(Date.parse(record.takenAt)).toBeLessThanOrEqual(until.getTime());
    expect((await h.store.loadDrifts('acme'))[0]).toMatchObject({ status: 'accepted' });
    // The next run, dated after it, reopens it.
    const next = await h.snapshot();
    expect(next).toMatchObject({ stats: { listingSealMatched: false }, alerts: { sent: 1 } });
    expect((await h.store.loadDrifts('acme'))[0]).toMatchObject({ status: 'open', alertReason: 'acceptance-expired' });
  });
  it("a table writer re-dating the latest record's takenAt, then putting it back: the next day's first run still reads the heads (and stops while the record does not hash)", async () => {
    await forgeHead(id0());
    const latest = (await h.store.chainTip('acme')) as { seq: number; takenAt: string };
    h.advance(24 * 3_600_000);
    // The first run of the 25th: the record it finds says it was taken today (only the attribute, outside the seal's reach).
    await setOnRecord(latest.seq, { takenAt: h.deps.clock.now().toISOString() });
    // The run reads the heads (no seal vouches for a re-dated record), finds them forged, and cannot rebuild them from
    // a record that no longer hashes: it stops loudly, writing nothing.
    await expect(h.snapshot()).rejects.toThrow(/does not verify/);
    expect((await h.store.chainTip('acme'))?.seq).toBe(latest.seq);
    // Put back, the next run reads the heads, reports them and goes on.
    await setOnRecord(latest.seq, { takenAt: latest.takenAt });
    expect((await verifyHistory(h.store, 'acme', { now: h.deps.clock.now() })).ok).toBe(true);
    const firstOfDay = await h.snapshot();
    expect(firstOfDay.stats.listingSealMatched).toBe(false);
    expect(firstOfDay.warnings?.map((w) => w.code)).toEqual(['heads-disagree']);
  });
  it("a table writer storing the latest record's seq as a string: the run still commits the next sequence number, and verify names the record", async () => {
    await setOnRecord(1, { seq: '1' });
    const run = await h.snapshot();
    // Before the fix: sealed, and seq '1' + 1 = '11': a record S#0000000011 chained to #1, nine sequence numbers skipped.
    expect(run).toMatchObject({ seq: 2, stats: { listingSealMatched: false } });
    expect((await h.snapshot()).seq).toBe(3);
    const verdict = await verifyHistory(h.store, 'acme', { now: h.deps.clock.now() });
    expect(verdict.ok).toBe(false);
    expect(verdict.firstBroken).toMatchObject({ reason: 'the snapshot record was altered: its seq attribute is "1", its key says 1' });
  });
});

describe('page hints: a changed run starts reading the heads while the listing still arrives', () => {
  it('an edit on the first of three pages: the heads read starts before the listing is complete', async () => {
    const h = await snapshotHarness({ integrations: 600, seed: 3, latencyMs: 40 }, { rawDigestKey: randomBytes(32) });
    try {
      await h.snapshot();
      h.advance(60_000);
      const events: string[] = [];
      const list = h.isc.listAllIntegrations.bind(h.isc);
      jest.spyOn(h.isc, 'listAllIntegrations').mockImplementation(async (options) => {
        const listing = await list(options);
        events.push('listing complete');
        return listing;
      });
      const load = h.store.loadState.bind(h.store);
      jest.spyOn(h.store, 'loadState').mockImplementation(async (tenant, options) => {
        events.push('heads read starts');
        return load(tenant, options);
      });
      const first = [...h.emulator.state.all()].sort((a, b) => a.name.localeCompare(b.name))[0]?.id as string;
      h.emulator.state.replace(first, { ...h.emulator.state.get(first), description: 'edited on page one' });
      const run = await h.snapshot();
      expect(run.changes.map((c) => c.resource.id)).toEqual([first]);
      expect(run.stats.listingSealMatched).toBe(false);
      expect(events[0]).toBe('heads read starts');
      expect(events).toContain('listing complete');
    } finally {
      await h.close();
    }
  });
});

describe('a large record (its change list in parts) renumbered by hand', () => {
  it('is read by its key everywhere: the next run chains on, versions stay listed, verify names the record', async () => {
    const h = await snapshotHarness({ integrations: 600, seed: 6 }, { rawDigestKey: randomBytes(32) });
    try {
      const baseline = await h.snapshot();
      const key = `integration:${h.emulator.state.ids()[0]}`;
      await h.table.db.send(
        new UpdateCommand({
          TableName: h.table.tableName,
          Key: { pk: tenantPk('acme'), sk: `S#${pad(baseline.seq)}` },
          UpdateExpression: 'SET seq = :s',
          ExpressionAttributeValues: { ':s': 5 },
        }),
      );
      expect(
        (await h.table.db.send(new GetCommand({ TableName: h.table.tableName, Key: { pk: tenantPk('acme'), sk: `S#${pad(1)}` } }))).Item
          ?.changes,
      ).toBeUndefined();
      h.advance(60_000);
      const run = await h.snapshot();
      expect(run).toMatchObject({ seq: 2, changes: [] });
      expect((await h.store.listVersions('acme', key)).map((v) => v.version)).toEqual([1]);
      expect((await h.store.getVersionContent('acme', key, 1)) ?? null).not.toBeNull();
      expect((await verifyHistory(h.store, 'acme', { now: h.deps.clock.now() })).firstBroken).toMatchObject({
        seq: 1,
        reason: 'the snapshot record was altered: its seq attribute is 5, its key says 1',
      });
    } finally {
      await h.close();
    }
  });
});

describe("a large record's change list and the parts a dead run left behind", () => {
  it('parts of another run under the same record number are not read: the record, the next run and verify are intact', async () => {
    const h = await snapshotHarness({ integrations: 600, seed: 7 }, { rawDigestKey: randomBytes(32) });
    try {
      const baseline = await h.snapshot();
      // A run that claimed this number, wrote more parts than the run that took its claim over, and died.
      await h.table.db.send(
        new PutCommand({
          TableName: h.table.tableName,
          Item: { pk: tenantPk('acme'), sk: `SC#${pad(baseline.seq)}#0042`, snapshotId: 'a-run-that-died', json: '{"not json' },
        }),
      );
      h.advance(60_000);
      expect(await h.snapshot()).toMatchObject({ seq: 2, changes: [] });
      expect((await h.store.getSnapshot('acme', 1))?.changes).toHaveLength(601);
      expect((await verifyHistory(h.store, 'acme', { now: h.deps.clock.now() })).ok).toBe(true);
    } finally {
      await h.close();
    }
  });
});
