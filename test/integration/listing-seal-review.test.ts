import { randomBytes } from 'node:crypto';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { pad, tenantPk } from '../../lambdas/adapters/dynamodb/table';
import { StaticTenantDirectory } from '../../lambdas/adapters/static-tenant-directory';
import type { Clock } from '../../lambdas/ports/clock';
import { acceptDrifts } from '../../lambdas/use-cases/console-reads';
import { verifyHistory } from '../../lambdas/use-cases/verify-history';
import { snapshotHarness } from '../support/snapshot-harness';

// From the review of the listing seal: runs that straddle midnight, clocks that move during a run, and record
// attributes retyped or re-dated by a table writer. Each test states the property the design promises (docs,
// listing-seal.test.ts) and failed against the first version of the seal.

type Harness = Awaited<ReturnType<typeof snapshotHarness>>;

describe('listing seal review', () => {
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

  it('a run that starts just before midnight UTC and commits after it: the first run started on the new day still reads (and checks) the heads', async () => {
    // A head someone with table write access got wrong: only a run that reads heads reports it.
    await h.table.db.send(
      new UpdateCommand({
        TableName: h.table.tableName,
        Key: { pk: tenantPk('acme'), sk: `H#integration:${id0()}` },
        UpdateExpression: 'SET contentHash = :h REMOVE rawDigest',
        ExpressionAttributeValues: { ':h': 'e'.repeat(64) },
      }),
    );
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
    await h.table.db.send(
      new UpdateCommand({
        TableName: h.table.tableName,
        Key: { pk: tenantPk('acme'), sk: `H#integration:${id0()}` },
        UpdateExpression: 'SET contentHash = :h REMOVE rawDigest',
        ExpressionAttributeValues: { ':h': 'e'.repeat(64) },
      }),
    );
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
  it("a table writer re-dating the latest record's takenAt, then putting it back: the next day's first run still reads the heads", async () => {
    await h.table.db.send(
      new UpdateCommand({
        TableName: h.table.tableName,
        Key: { pk: tenantPk('acme'), sk: `H#integration:${id0()}` },
        UpdateExpression: 'SET contentHash = :h REMOVE rawDigest',
        ExpressionAttributeValues: { ':h': 'e'.repeat(64) },
      }),
    );
    const latest = (await h.store.chainTip('acme')) as { seq: number; takenAt: string };
    h.advance(24 * 3_600_000);
    // The first run of the 25th: the record it finds says it was taken today (only the attribute; its seal still fits).
    await h.table.db.send(
      new UpdateCommand({
        TableName: h.table.tableName,
        Key: { pk: tenantPk('acme'), sk: `S#${pad(latest.seq)}` },
        UpdateExpression: 'SET takenAt = :t',
        ConditionExpression: 'attribute_exists(sk)',
        ExpressionAttributeValues: { ':t': h.deps.clock.now().toISOString() },
      }),
    );
    const firstOfDay = await h.snapshot();
    // Put back afterwards, the edit leaves no trace: the record's hash was never touched, verify passes.
    await h.table.db.send(
      new UpdateCommand({
        TableName: h.table.tableName,
        Key: { pk: tenantPk('acme'), sk: `S#${pad(latest.seq)}` },
        UpdateExpression: 'SET takenAt = :t',
        ExpressionAttributeValues: { ':t': latest.takenAt },
      }),
    );
    expect((await verifyHistory(h.store, 'acme', { now: h.deps.clock.now() })).ok).toBe(true);
    expect(firstOfDay.stats.listingSealMatched).toBe(false);
    expect(firstOfDay.warnings?.map((w) => w.code)).toEqual(['heads-disagree']);
  });
  it("a table writer storing the latest record's seq as a string: the run still commits the next sequence number, and verify names the record", async () => {
    await h.table.db.send(
      new UpdateCommand({
        TableName: h.table.tableName,
        Key: { pk: tenantPk('acme'), sk: `S#${pad(1)}` },
        UpdateExpression: 'SET seq = :s',
        ExpressionAttributeValues: { ':s': '1' },
      }),
    );
    const run = await h.snapshot();
    // Before the fix: sealed, and seq '1' + 1 = '11': a record S#0000000011 chained to #1, nine sequence numbers skipped.
    expect(run).toMatchObject({ seq: 2, stats: { listingSealMatched: false } });
    expect((await h.snapshot()).seq).toBe(3);
    const verdict = await verifyHistory(h.store, 'acme', { now: h.deps.clock.now() });
    expect(verdict.ok).toBe(false);
    expect(verdict.firstBroken).toMatchObject({ reason: 'the snapshot record was altered: its seq is "1", not a number' });
  });
});
