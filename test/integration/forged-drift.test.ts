import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { StaticTenantDirectory } from '../../lambdas/adapters/static-tenant-directory';
import { type Acceptance, detectionSeq } from '../../lambdas/domain/classify';
import { chainEntries, driftEntry } from '../../lambdas/domain/journal';
import { normaliseIntegration } from '../../lambdas/domain/normalise';
import type { ServiceDeskIntegration } from '../../lambdas/isc/schemas';
import type { DriftRecord } from '../../lambdas/ports/snapshot-store';
import { acceptDrifts } from '../../lambdas/use-cases/console-reads';
import { verifyHistory } from '../../lambdas/use-cases/verify-history';
import { snapshotHarness } from '../support/snapshot-harness';

type Harness = Awaited<ReturnType<typeof snapshotHarness>>;

const pad = (n: number) => String(n).padStart(10, '0');
const DAY = 86_400_000;

// Any role that may write T#<tenant> items (approval API, apply, sweeper, snapshot: DynamoDB's LeadingKeys cannot
// limit sort keys) can put a drift item and a journal entry that chains onto the head (the journal has no key). These
// tests write both straight to the table, as such a role could, and then make the hand edit the forged item is for.
describe('a drift item the snapshot flow did not detect excuses nothing', () => {
  let h: Harness;
  let id: string;
  const db = () => h.table.db;
  const put = (item: Record<string, unknown>) => db().send(new PutCommand({ TableName: h.table.tableName, Item: item }));
  const key = () => `integration:${id}`;

  /** The content hash ISC will hold after `edit`: what an insider computes before making the edit. */
  const hashAfter = (edit: Partial<ServiceDeskIntegration>) =>
    normaliseIntegration({ ...h.emulator.state.get(id), ...edit } as ServiceDeskIntegration, {
      tenant: 'acme',
      secretPolicy: h.deps.secretPolicy,
      hmacKey: h.deps.fingerprintKey,
      ignoreReferenceNames: true,
    }).contentHash;
  const headHash = async () => (await h.store.loadState('acme')).known.get(key())?.contentHash as string;

  /** Writes a drift item and a matching journal entry directly (PutItem), the entry chained onto the journal head. */
  const forge = async (drift: DriftRecord) => {
    const [entry] = chainEntries('acme', await h.store.journal.head('acme'), [
      driftEntry(drift.status === 'accepted' ? 'drift-accepted' : 'drift-opened', drift, '2026-11-24T10:20:00.000Z', 'mallory'),
    ]);
    if (!entry) throw new Error('no entry');
    await put({ pk: 'T#acme', sk: `D#${drift.key}`, ...drift, patch: JSON.stringify(drift.patch) });
    await put({
      pk: 'T#acme',
      sk: `J#${pad(entry.seq)}`,
      tenant: entry.tenant,
      seq: entry.seq,
      type: entry.type,
      subject: entry.subject,
      at: entry.at,
      by: entry.by,
      data: JSON.stringify(entry.data),
      record: JSON.stringify(entry.record),
      prevHash: entry.prevHash,
      hash: entry.hash,
    });
    // The forgery is consistent: the table's own chains cannot tell.
    expect((await verifyHistory(h.store, 'acme', { now: h.deps.clock.now() })).ok).toBe(true);
  };
  const acceptance = (contentHash: string | null): Acceptance => ({
    key: key(),
    contentHash,
    reason: 'CHG-4711',
    by: 'alice',
    at: '2026-11-24T10:20:00.000Z',
    until: '2026-12-20T00:00:00.000Z',
  });
  const driftItem = (fields: Partial<DriftRecord> & Pick<DriftRecord, 'fromHash' | 'toHash' | 'snapshotSeq' | 'status'>): DriftRecord => ({
    key: key(),
    resource: { kind: 'integration', id, name: h.emulator.state.get(id).name as string },
    change: 'modified',
    patch: [],
    severity: 'medium',
    detectedAt: '2026-11-24T10:01:00.000Z',
    alert: 'sent',
    ...fields,
  });
  const alertsFor = () =>
    h.notifier.events.filter((e) => e.type === 'Drift Detected' && (e.detail as { resource: { id: string } }).resource.id === id);
  const warningsOf = (result: Awaited<ReturnType<Harness['snapshot']>>) =>
    (result.warnings ?? []).filter((w) => w.code === 'unbacked-drift');
  const change = (result: Awaited<ReturnType<Harness['snapshot']>>) => result.changes.find((c) => c.resource.id === id);
  const editBehindOurBack = async (description: string) => {
    h.emulator.state.replace(id, { ...h.emulator.state.get(id), description });
    h.advance(60_000);
    return h.snapshot();
  };

  beforeEach(async () => {
    h = await snapshotHarness({ integrations: 4, seed: 29 });
    id = h.emulator.state.ids()[2] as string;
    await h.snapshot();
    h.advance(60_000);
    await h.snapshot();
  });
  afterEach(() => h.close());

  it('a forged acceptance ready for the hash a planned hand edit produces: unexpected, alerted, and the reason given', async () => {
    const planned = hashAfter({ description: 'quietly widened' });
    const current = await headHash();
    await forge(driftItem({ fromHash: current, toHash: planned, snapshotSeq: 2, status: 'accepted', acceptance: acceptance(planned) }));

    const result = await editBehindOurBack('quietly widened');

    expect(change(result)).toMatchObject({ classification: 'unexpected' });
    expect(alertsFor()).toHaveLength(1);
    expect(warningsOf(result)).toEqual([
      expect.objectContaining({
        key: key(),
        message: expect.stringMatching(
          new RegExp(
            `acceptance of ${key()} \\(by alice .*\\) is not backed by a detected drift: snapshot #2 recorded no unexpected change`,
          ),
        ),
      }),
    ]);
    expect(h.notifier.events.filter((e) => e.type === 'Snapshot Warning').map((e) => e.detail.code)).toContain('unbacked-drift');
    // The forged item is replaced by the drift the snapshot detected, open.
    const [drift] = (await h.store.loadState('acme')).drifts;
    expect(drift).toMatchObject({ key: key(), status: 'open', toHash: planned, snapshotSeq: 3 });
    expect(drift?.acceptance).toBeUndefined();
  });

  it('a forged acceptance naming a seq that does not exist, or the seq of the edit itself', async () => {
    const planned = hashAfter({ description: 'quietly widened' });
    const current = await headHash();
    await forge(driftItem({ fromHash: current, toHash: planned, snapshotSeq: 3, status: 'accepted', acceptance: acceptance(planned) }));
    const result = await editBehindOurBack('quietly widened');
    expect(change(result)).toMatchObject({ classification: 'unexpected' });
    expect(warningsOf(result)[0]?.message).toMatch(/no committed snapshot #3 recorded it/);
    expect(alertsFor()).toHaveLength(1);
  });

  it('a forged open drift whose "before" is the planned state: the edit is not called restored', async () => {
    const planned = hashAfter({ description: 'quietly widened' });
    const current = await headHash();
    await forge(driftItem({ fromHash: planned, toHash: current, snapshotSeq: 2, status: 'open' }));
    const result = await editBehindOurBack('quietly widened');
    expect(change(result)).toMatchObject({ classification: 'unexpected' });
    expect(warningsOf(result)[0]?.message).toMatch(
      /would call this change a return to its earlier state is not backed by a detected drift/,
    );
    expect(alertsFor()).toHaveLength(1);
    expect((await h.store.journal.list('acme')).map((e) => e.type)).not.toContain('drift-restored');
  });

  it('a real, standing drift whose acceptance is rewritten to cover the planned state instead of the drifted one', async () => {
    await editBehindOurBack('edited, and the drift accepted');
    const [real] = (await h.store.loadState('acme')).drifts;
    const planned = hashAfter({ description: 'edited again, quietly' });
    await forge({ ...(real as DriftRecord), status: 'accepted', acceptance: acceptance(planned) });
    const result = await editBehindOurBack('edited again, quietly');
    expect(change(result)).toMatchObject({ classification: 'unexpected' });
    expect(warningsOf(result)[0]?.message).toMatch(/is not backed by a detected drift: it accepts .*, not the state the drift recorded/);
    expect(alertsFor()).toHaveLength(2);
  });

  it('a real drift that was closed, put back accepted (a replayed detection): the return to its state is unexpected', async () => {
    const original = h.emulator.state.get(id).description as string;
    const first = await editBehindOurBack('edited once');
    expect(change(first)).toMatchObject({ classification: 'unexpected' });
    const [detected] = (await h.store.loadState('acme')).drifts;
    expect((await editBehindOurBack(original)).changes.map((c) => c.classification)).toEqual(['restored']);
    expect((await h.store.loadState('acme')).drifts).toEqual([]);
    // The detection at #3 is real and chained, but the resource moved on (#4): it no longer stands.
    const replayed = { ...(detected as DriftRecord), status: 'accepted' as const, acceptance: acceptance(detected?.toHash ?? null) };
    await forge(replayed);
    const result = await editBehindOurBack('edited once');
    expect(change(result)).toMatchObject({ classification: 'unexpected' });
    expect(warningsOf(result)[0]?.message).toMatch(/changed after snapshot #3, so that drift no longer stands/);
    expect(alertsFor()).toHaveLength(2);
  });

  describe('legitimate drift keeps working', () => {
    const reads = () => ({
      history: h.store,
      tenants: new StaticTenantDirectory([{ name: 'acme', url: h.url, apiVersion: 'v1' }]),
      clock: h.deps.clock,
    });

    it('accepted through acceptDrifts stays quiet; put back by hand it is restored; nothing is warned', async () => {
      const original = h.emulator.state.get(id).description as string;
      await editBehindOurBack('edited, then accepted');
      const until = new Date(h.deps.clock.now().getTime() + 10 * DAY).toISOString();
      await acceptDrifts('acme', { keys: [key()], reason: 'CHG-1', until }, 'bob', reads());
      h.advance(60_000);
      const quiet = await h.snapshot();
      expect(quiet.changes).toEqual([]);
      expect((await h.store.loadState('acme')).drifts).toEqual([expect.objectContaining({ status: 'accepted' })]);
      const back = await editBehindOurBack(original);
      expect(back.changes.map((c) => c.classification)).toEqual(['restored']);
      expect(back.warnings).toBeUndefined();
      expect(alertsFor()).toHaveLength(1);
    });

    it('an acceptance that runs out reopens the drift (keeping its detection); a later restore still closes it', async () => {
      const original = h.emulator.state.get(id).description as string;
      await editBehindOurBack('edited, accepted for a day');
      const until = new Date(h.deps.clock.now().getTime() + DAY).toISOString();
      await acceptDrifts('acme', { keys: [key()], reason: 'CHG-2', until }, 'bob', reads());
      h.advance(2 * DAY);
      const reopened = await h.snapshot();
      expect(reopened.alerts.sent).toBe(1);
      const [drift] = (await h.store.loadState('acme')).drifts;
      expect(drift).toMatchObject({ status: 'open', snapshotSeq: 4, detectedSeq: 3 });
      expect(detectionSeq(drift as DriftRecord)).toBe(3);
      const back = await editBehindOurBack(original);
      expect(back.changes.map((c) => c.classification)).toEqual(['restored']);
      expect(back.warnings).toBeUndefined();
      expect((await verifyHistory(h.store, 'acme', { now: h.deps.clock.now() })).ok).toBe(true);
    });

    it('an accept that read a drift a snapshot has since replaced is refused (409), not written over the newer drift', async () => {
      await editBehindOurBack('first edit');
      const stale = await h.store.loadState('acme');
      await editBehindOurBack('second edit, not yet seen by whoever accepts');
      const history = Object.assign(Object.create(h.store) as typeof h.store, { loadState: async () => stale });
      const until = new Date(h.deps.clock.now().getTime() + 10 * DAY).toISOString();
      await expect(acceptDrifts('acme', { keys: [key()], reason: 'CHG-3', until }, 'bob', { ...reads(), history })).rejects.toMatchObject({
        name: 'RequestRefused',
        code: 'conflict',
        message: expect.stringMatching(/is no longer the one detected by snapshot #3: a snapshot changed it while it was being accepted/),
      });
      const [drift] = (await h.store.loadState('acme')).drifts;
      expect(drift).toMatchObject({ status: 'open', snapshotSeq: 4 });
      // The same accept against what is there now goes through.
      await acceptDrifts('acme', { keys: [key()], reason: 'CHG-3', until }, 'bob', reads());
      expect((await h.store.loadState('acme')).drifts[0]).toMatchObject({ status: 'accepted', snapshotSeq: 4 });
      expect((await verifyHistory(h.store, 'acme', { now: h.deps.clock.now() })).ok).toBe(true);
    });

    it('an item written before detectedSeq existed (snapshotSeq only) is checked against that snapshot', async () => {
      const original = h.emulator.state.get(id).description as string;
      await editBehindOurBack('edited before the upgrade');
      const item = (await db().send(new GetCommand({ TableName: h.table.tableName, Key: { pk: 'T#acme', sk: `D#${key()}` } }))).Item;
      expect(item?.detectedSeq).toBeUndefined();
      const back = await editBehindOurBack(original);
      expect(back.changes.map((c) => c.classification)).toEqual(['restored']);
      expect(back.warnings).toBeUndefined();
    });
  });
});

describe('a head (H#) the chain does not vouch for hides nothing', () => {
  let h: Harness;
  let id: string;
  const key = () => `integration:${id}`;
  const headItem = async (k: string) =>
    (await h.table.db.send(new GetCommand({ TableName: h.table.tableName, Key: { pk: 'T#acme', sk: `H#${k}` } }))).Item as Record<
      string,
      unknown
    >;
  const putHead = (item: Record<string, unknown>) => h.table.db.send(new PutCommand({ TableName: h.table.tableName, Item: item }));

  beforeEach(async () => {
    h = await snapshotHarness({ integrations: 4, seed: 31 });
    id = h.emulator.state.ids()[1] as string;
    await h.snapshot();
    h.advance(60_000);
    await h.snapshot();
  });
  afterEach(() => h.close());

  it('a head forged to the hash a planned hand edit produces: the edit is still detected, alerted, and the heads reported', async () => {
    const edited = { ...h.emulator.state.get(id), description: 'quietly widened' };
    const planned = normaliseIntegration(edited as ServiceDeskIntegration, {
      tenant: 'acme',
      secretPolicy: h.deps.secretPolicy,
      hmacKey: h.deps.fingerprintKey,
      ignoreReferenceNames: true,
    }).contentHash;
    const head = await headItem(key());
    const { rawDigest: _dropped, ...rest } = head;
    await putHead({ ...rest, contentHash: planned });
    h.emulator.state.replace(id, edited);
    h.advance(60_000);
    const result = await h.snapshot();
    expect(result.changes.map((c) => [c.resource.id, c.classification])).toEqual([[id, 'unexpected']]);
    expect(h.notifier.events.filter((e) => e.type === 'Drift Detected')).toHaveLength(1);
    expect(result.warnings).toEqual([
      expect.objectContaining({
        code: 'heads-disagree',
        message: expect.stringMatching(new RegExp(`disagree with the manifest of snapshot #2 \\(1 wrong: ${key()}\\)`)),
      }),
    ]);
    expect((await headItem(key())).contentHash).toBe(planned);
    expect((await verifyHistory(h.store, 'acme', { now: h.deps.clock.now() })).ok).toBe(true);
  });

  it('a wrong head of an unchanged resource, or a deleted one: reported by the next run that reads heads, nothing detected, the chain stays right', async () => {
    const other = `integration:${h.emulator.state.ids()[2]}`;
    await putHead({ ...(await headItem(key())), contentHash: 'e'.repeat(64) });
    await h.table.db.send(new DeleteCommand({ TableName: h.table.tableName, Key: { pk: 'T#acme', sk: `H#${other}` } }));
    h.advance(60_000);
    // ISC unchanged, same UTC day: the latest record's seal vouches for the fetch, and no head is read (or needed).
    const sealed = await h.snapshot();
    expect(sealed).toMatchObject({ changes: [], stats: { listingSealMatched: true } });
    expect(sealed.warnings).toBeUndefined();
    // The first run of the next UTC day reads (and checks) every head.
    h.advance(24 * 3_600_000);
    const result = await h.snapshot();
    expect(result.stats.listingSealMatched).toBe(false);
    expect(result.changes).toEqual([]);
    expect(result.warnings?.map((w) => w.message)).toEqual([expect.stringMatching(/\(2 wrong: integration:.*, integration:.*\)/)]);
    expect((await verifyHistory(h.store, 'acme', { now: h.deps.clock.now() })).ok).toBe(true);
  });

  it('untouched heads are trusted: no warning', async () => {
    h.advance(60_000);
    const result = await h.snapshot();
    expect(result.warnings).toBeUndefined();
  });
});
