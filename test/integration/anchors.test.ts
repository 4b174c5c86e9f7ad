import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoChangeRequestStore } from '../../lambdas/adapters/dynamodb/change-request-store';
import { canonicalJson } from '../../lambdas/domain/canonical';
import { type ChainedSnapshot, GENESIS_HASH, manifestHash, snapshotHash } from '../../lambdas/domain/chain';
import { type ChangeRequest, newRequest } from '../../lambdas/domain/change-request';
import { type JournalEntry, journalEntryHash } from '../../lambdas/domain/journal';
import { hashOf, normaliseIntegration } from '../../lambdas/domain/normalise';
import type { ServiceDeskIntegration } from '../../lambdas/isc/schemas';
import type { AnchorStore } from '../../lambdas/ports/anchors';
import { verifyHistory } from '../../lambdas/use-cases/verify-history';
import { LocalAnchorFile } from '../../local/anchor-file';
import { snapshotHarness } from '../support/snapshot-harness';

type Harness = Awaited<ReturnType<typeof snapshotHarness>>;
type Item = Record<string, unknown>;

const pad = (n: number) => String(n).padStart(10, '0');
const MINUTE = 60_000;

/**
 * The attacker here can write the table (and, for the local file, the workspace): every forgery keeps the table's
 * own chains consistent — recomputed hashes, a truncated tail — so only the anchors outside the table can tell.
 * History: #1 baseline, #2 a drift, then an acceptance, a request (created, approved, applied with its ledger item),
 * #3, #4 unchanged. Every snapshot is anchored in a local anchor file.
 */
describe('verify against the anchors outside the table', () => {
  let h: Harness;
  let dir: string;
  let anchors: LocalAnchorFile;
  let drifted: string;
  const db = () => h.table.db;
  const table = () => h.table.tableName;
  const get = async (pk: string, sk: string) => (await db().send(new GetCommand({ TableName: table(), Key: { pk, sk } }))).Item as Item;
  const put = (item: Item) => db().send(new PutCommand({ TableName: table(), Item: item }));
  const del = (pk: string, sk: string) => db().send(new DeleteCommand({ TableName: table(), Key: { pk, sk } }));
  const now = () => h.deps.clock.now();
  /** `null`: the table alone, as verify was before anchors (what a careful forger gets past). */
  const verdict = (store: AnchorStore | null = anchors) =>
    verifyHistory(h.store, 'acme', { now: now(), ...(store ? { anchors: store } : {}) });
  const file = () => join(dir, 'acme.jsonl');

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sdim-anchors-'));
    anchors = new LocalAnchorFile(dir);
    h = await snapshotHarness({ integrations: 4, seed: 9 }, { anchors: new LocalAnchorFile(dir) });
    drifted = h.emulator.state.ids()[1] as string;
    await h.snapshot();
    h.advance(MINUTE);
    h.emulator.state.replace(drifted, { ...h.emulator.state.get(drifted), description: 'changed behind our back' });
    await h.snapshot();
    const [drift] = (await h.store.loadState('acme')).drifts;
    if (!drift) throw new Error('expected a drift');
    const acceptance = {
      key: drift.key,
      contentHash: drift.toHash,
      reason: 'known',
      by: 'ann',
      at: now().toISOString(),
      until: '2026-12-24T00:00:00.000Z',
    };
    await h.store.putDrift('acme', { ...drift, status: 'accepted', acceptance }, { type: 'drift-accepted', at: acceptance.at, by: 'ann' });
    const requests = new DynamoChangeRequestStore(h.table.db, h.table.tableName);
    const request = newRequest({
      id: 'req-1',
      tenant: 'acme',
      resourceKey: `integration:${drifted}`,
      operation: { kind: 'delete', integrationId: drifted },
      baseHash: drift.toHash,
      targetHash: null,
      secretPaths: [],
      requester: 'bob',
      reason: 'retire it',
      createdAt: '2026-11-24T10:02:00.000Z',
      expiresAt: '2026-11-25T10:02:00.000Z',
      approvalsRequired: 1,
    });
    await requests.create(request);
    const approved: ChangeRequest = {
      ...request,
      status: 'approved',
      approvals: [{ by: 'carol', at: '2026-11-24T10:03:00.000Z' }] as unknown as ChangeRequest['approvals'],
      history: [...request.history, { at: '2026-11-24T10:03:00.000Z', by: 'carol', from: 'pending', to: 'approved' }],
      revision: request.revision + 1,
    };
    await requests.save(approved);
    await requests.saveApplied(
      { ...approved, revision: approved.revision + 1 },
      {
        requestId: 'req-1',
        key: `integration:${drifted}`,
        baseHash: drift.toHash,
        resultHash: null,
        appliedAt: '2026-11-24T10:04:00.000Z',
      },
    );
    h.advance(MINUTE);
    await h.snapshot();
    h.advance(MINUTE);
    await h.snapshot();
  });
  afterEach(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Rewrites snapshot records from `fromSeq` on so the table's chain recomputes (what a careful forger does). */
  async function recomputeChain(mutate: (snapshots: ChainedSnapshot[]) => void): Promise<void> {
    const snapshots = (await h.store.listSnapshots('acme')).map((s) => ({ ...s, changes: [...s.changes] })) as ChainedSnapshot[];
    mutate(snapshots);
    const manifest = new Map<string, string>();
    let prev = GENESIS_HASH;
    for (const s of snapshots) {
      for (const c of s.changes) c.change === 'removed' ? manifest.delete(c.key) : manifest.set(c.key, c.toHash as string);
      const link = { ...s, prevHash: prev, manifestHash: manifestHash(manifest), resourceCount: manifest.size };
      const hash = snapshotHash(link);
      await db().send(
        new UpdateCommand({
          TableName: table(),
          Key: { pk: 'T#acme', sk: `S#${pad(s.seq)}` },
          UpdateExpression: 'SET prevHash = :p, manifestHash = :m, resourceCount = :n, changes = :c, #hash = :h',
          ExpressionAttributeNames: { '#hash': 'hash' },
          ExpressionAttributeValues: {
            ':p': prev,
            ':m': link.manifestHash,
            ':n': link.resourceCount,
            ':c': JSON.stringify(s.changes),
            ':h': hash,
          },
        }),
      );
      prev = hash;
    }
  }

  /** Makes the journal agree with the guarded items as they are now, recomputing every hash (a perfect journal forgery). */
  async function recomputeJournal(): Promise<void> {
    type Mutable = { -readonly [K in keyof JournalEntry]: JournalEntry[K] };
    const entries: Mutable[] = (await h.store.journal.list('acme')).map((e) => ({ ...e }));
    const stored = new Map((await h.store.journal.storedRecords('acme')).map((r) => [`${r.kind} ${r.id}`, r.digest]));
    const lastFor = new Map<string, number>();
    for (const [i, e] of entries.entries()) if (e.record) lastFor.set(`${e.record.kind} ${e.record.id}`, i);
    for (const [id, i] of lastFor) {
      const entry = entries[i];
      if (entry?.record) entry.record = { ...entry.record, digest: stored.get(id) ?? null };
    }
    let prev = GENESIS_HASH;
    for (const e of entries) {
      e.prevHash = prev;
      e.hash = journalEntryHash(e);
      prev = e.hash;
      await put({
        pk: 'T#acme',
        sk: `J#${pad(e.seq)}`,
        tenant: e.tenant,
        seq: e.seq,
        type: e.type,
        subject: e.subject,
        at: e.at,
        ...(e.by !== undefined ? { by: e.by } : {}),
        data: JSON.stringify(e.data),
        ...(e.record ? { record: JSON.stringify(e.record) } : {}),
        prevHash: e.prevHash,
        hash: e.hash,
      });
    }
  }

  it('untouched history verifies: every anchor matches, no unanchored tail', async () => {
    const v = await verdict();
    expect(v).toMatchObject({ ok: true, snapshotsChecked: 4, chainHead: { seq: 4 }, journalHead: { seq: 6 } });
    expect(v.anchors).toMatchObject({ ok: true, anchorsChecked: 4, lastAnchor: { seq: 4, journalSeq: 6 }, warnings: [] });
    expect(v.anchors?.unanchoredTail).toBeUndefined();
    expect(readFileSync(file(), 'utf8').trim().split('\n')).toHaveLength(4);
  });

  it('tail truncation: the newest records deleted, the chain that is left still checks', async () => {
    await del('T#acme', `S#${pad(4)}`);
    await del('T#acme', `S#${pad(3)}`);
    expect((await verdict(null)).firstBroken).toBeUndefined();
    const v = await verdict();
    expect(v.ok).toBe(false);
    expect(v.firstBroken).toEqual({
      part: 'anchors',
      seq: 3,
      reason: expect.stringMatching(/history truncated: the table ends at snapshot #2, but snapshot #3 was anchored/),
    });
  });

  it('a forged version with the chain recomputed after it', async () => {
    const sk = `V#${pad(2)}`;
    const pk = `R#acme#integration:${drifted}`;
    const forged = { ...h.emulator.state.get(drifted), description: 'nothing to see here' };
    const version = await get(pk, sk);
    const forgedHash = hashOf(forged as never, { ignoreReferenceNames: true });
    await put({ ...version, doc: gzipSync(canonicalJson(forged)), contentHash: forgedHash });
    await recomputeChain((snapshots) => {
      const two = snapshots[1] as ChainedSnapshot;
      snapshots[1] = { ...two, changes: two.changes.map((c) => (c.key === `integration:${drifted}` ? { ...c, toHash: forgedHash } : c)) };
    });
    expect((await verdict(null)).firstBroken).toBeUndefined();
    const v = await verdict();
    expect(v.firstBroken).toEqual({
      part: 'anchors',
      seq: 2,
      reason: expect.stringMatching(/^snapshot #2 was rewritten: the table's hash/),
    });
  });

  it('a gap: a record in the middle deleted', async () => {
    await del('T#acme', `S#${pad(3)}`);
    const v = await verdict();
    expect(v.firstBroken).toEqual({ part: 'snapshots', seq: 4, reason: expect.stringMatching(/expected snapshot #3 here, found #4/) });
  });

  it('reordered records: two snapshot records swapped', async () => {
    const [three, four] = [await get('T#acme', `S#${pad(3)}`), await get('T#acme', `S#${pad(4)}`)];
    await put({ ...four, sk: `S#${pad(3)}`, seq: 3 });
    await put({ ...three, sk: `S#${pad(4)}`, seq: 4 });
    const v = await verdict();
    expect(v.ok).toBe(false);
    expect(v.firstBroken).toMatchObject({ part: 'snapshots', seq: 3 });
  });

  it('a version without a committed record: no snapshot #5 exists', async () => {
    const version = await get(`R#acme#integration:${drifted}`, `V#${pad(2)}`);
    await put({ ...version, sk: `V#${pad(5)}`, seq: 5, snapshotId: randomUUID() });
    const v = await verdict();
    expect(v.firstBroken).toEqual({
      part: 'snapshots',
      seq: 5,
      item: `version 5 of integration:${drifted}`,
      reason: `version 5 of integration:${drifted} has no snapshot record #5`,
    });
  });

  it('a version without a committed record: snapshot #3 was committed by another run', async () => {
    const version = await get(`R#acme#integration:${drifted}`, `V#${pad(2)}`);
    await put({ ...version, sk: `V#${pad(3)}`, seq: 3, snapshotId: randomUUID() });
    const v = await verdict();
    expect(v.firstBroken).toMatchObject({
      part: 'snapshots',
      seq: 3,
      reason: expect.stringMatching(/not written by the run that committed snapshot #3/),
    });
  });

  it("a version of an integration never recorded, carrying snapshot #2's id, is shown by no reader", async () => {
    const version = await get(`R#acme#integration:${drifted}`, `V#${pad(2)}`);
    await put({ ...version, pk: 'R#acme#integration:ghost', key: 'integration:ghost', id: 'ghost' });
    expect(await h.store.listVersions('acme', 'integration:ghost')).toEqual([]);
    expect(await h.store.getVersionContent('acme', 'integration:ghost', 2)).toBeUndefined();
    // The real one still reads.
    expect((await h.store.listVersions('acme', `integration:${drifted}`)).map((v) => v.version)).toEqual([1, 2]);
  });

  it('leftovers of a run that died holding its claim are no insertion once the next run took the claim over', async () => {
    // A large snapshot #5 claimed its seq, wrote a version and died; its claim goes stale.
    const dead = randomUUID();
    const claimedAt = new Date(now().getTime() - 20 * MINUTE).toISOString();
    await put({ pk: 'T#acme', sk: `S#${pad(5)}`, state: 'pending', snapshotId: dead, claimedAt });
    const version = await get(`R#acme#integration:${drifted}`, `V#${pad(2)}`);
    await put({ ...version, sk: `V#${pad(5)}`, seq: 5, snapshotId: dead });
    // In flight (or dead, not taken over yet): not reported.
    expect((await verdict()).firstBroken).toBeUndefined();
    h.advance(MINUTE);
    const next = await h.snapshot();
    expect(next.seq).toBe(5);
    expect((await get('T#acme', `S#${pad(5)}`)).supersedes).toEqual([dead]);
    expect(await verdict()).toMatchObject({ ok: true, chainHead: { seq: 5 } });
    // Without that record of the takeover, the same item is a version no committed snapshot wrote.
    await db().send(
      new UpdateCommand({ TableName: table(), Key: { pk: 'T#acme', sk: `S#${pad(5)}` }, UpdateExpression: 'REMOVE supersedes' }),
    );
    expect((await verdict()).firstBroken).toMatchObject({
      seq: 5,
      reason: expect.stringMatching(/not written by the run that committed snapshot #5/),
    });
  });

  it.each([
    ['a deleted drift item', async (drift: string) => del('T#acme', `D#integration:${drift}`)],
    [
      'an edited acceptance (extended by a year)',
      async (drift: string) => {
        const item = await get('T#acme', `D#integration:${drift}`);
        await put({ ...item, acceptance: { ...(item.acceptance as object), until: '2027-12-24' } });
      },
    ],
    ['a deleted ledger item', async (drift: string) => del('L#acme', `A#integration:${drift}#req-1`)],
    ['a deleted request', async () => del('CR#req-1', 'CR')],
  ])('%s, with the journal rewritten to agree (table-only verify passes)', async (_name, tamper) => {
    await tamper(drifted);
    await recomputeJournal();
    expect((await verdict(null)).firstBroken).toBeUndefined();
    const v = await verdict();
    expect(v.ok).toBe(false);
    // The first anchor taken after the forged entry names the journal head it vouched for.
    expect(v.firstBroken).toEqual({
      part: 'anchors',
      seq: 3,
      journalSeq: 6,
      reason: expect.stringMatching(/^journal entry #6 was rewritten: .* anchored with snapshot #3$/),
    });
  });

  it('a journal truncated with the items put back (the applied change erased)', async () => {
    await del('T#acme', `J#${pad(6)}`);
    await del('L#acme', `A#integration:${drifted}#req-1`);
    expect((await verdict(null)).firstBroken).toBeUndefined();
    const v = await verdict();
    expect(v.firstBroken).toEqual({
      part: 'anchors',
      seq: 3,
      journalSeq: 6,
      reason: expect.stringMatching(/journal entry #6, .* is missing: the journal ends at #5/),
    });
  });

  it('an edited local anchor file: a line in the middle changed', async () => {
    const lines = readFileSync(file(), 'utf8').split('\n');
    const two = JSON.parse(lines[1] as string);
    lines[1] = JSON.stringify({ ...two, anchoredAt: '2026-11-24T09:00:00.000Z' });
    writeFileSync(file(), lines.join('\n'));
    const v = await verdict();
    expect(v.firstBroken).toEqual({
      part: 'anchors',
      seq: 2,
      reason: expect.stringMatching(/acme\.jsonl line 3 does not link to line 2 .* edited at line 2 or 3/),
    });
  });

  it('an edited local anchor file: the last line re-hashed to match a rewritten table', async () => {
    const lines = readFileSync(file(), 'utf8').trim().split('\n');
    const last = JSON.parse(lines[3] as string);
    lines[3] = JSON.stringify({ ...last, hash: 'a'.repeat(64) });
    writeFileSync(file(), `${lines.join('\n')}\n`);
    expect((await verdict()).firstBroken).toMatchObject({
      part: 'anchors',
      seq: 4,
      reason: expect.stringMatching(/snapshot #4 was rewritten/),
    });
  });

  it('a failed anchor write never loses the snapshot; the next snapshot anchors the head again', async () => {
    const failing: AnchorStore = {
      source: 's3://unreachable/anchors/',
      write: async () => {
        throw new Error('connect ETIMEDOUT');
      },
      read: (tenant) => anchors.read(tenant),
    };
    h.advance(MINUTE);
    const result = await h.snapshot();
    expect(result.anchor?.status).toBe('written');
    Object.assign(h.deps, { anchors: failing });
    h.advance(MINUTE);
    const unanchored = await h.snapshot();
    expect(unanchored.seq).toBe(6);
    expect(unanchored.anchor).toMatchObject({ status: 'failed', seq: 6, error: 'Error: connect ETIMEDOUT' });
    expect(unanchored.warnings).toEqual([expect.objectContaining({ code: 'anchor-failed', seq: 6 })]);
    expect(h.notifier.events.map((e) => [e.type, e.detail.code])).toContainEqual(['Snapshot Warning', 'anchor-failed']);
    expect((await h.store.listSnapshots('acme')).at(-1)?.seq).toBe(6);
    // Within two intervals (default 15 min) an unanchored record is a warning...
    const fresh = await verdict();
    expect(fresh.ok).toBe(true);
    expect(fresh.anchors?.unanchoredTail).toMatchObject({ records: 1, fromSeq: 6, toSeq: 6, stale: false });
    expect(fresh.anchors?.warnings).toEqual([expect.stringMatching(/^unanchored tail \(1 record, #6–#6/)]);
    // ...after that, a failure naming the first unanchored record.
    h.advance(31 * MINUTE);
    expect((await verdict()).firstBroken).toEqual({
      part: 'anchors',
      seq: 6,
      reason: expect.stringMatching(/unanchored tail .* older than 30 minutes/),
    });
    Object.assign(h.deps, { anchors });
    const next = await h.snapshot();
    expect(next.anchor).toMatchObject({ status: 'written', seq: 7 });
    const healed = await verdict();
    expect(healed.ok).toBe(true);
    expect(healed.anchors?.unanchoredTail).toBeUndefined();
  });
  it('journal entries written after the last anchor are the unanchored tail: a warning that never turns into a failure while no snapshot ran', async () => {
    // A request proposed after the last snapshot: its journal entry (#7) is in no anchor yet. What a CLI-only user does
    // (accept, propose, approve) between rare snapshots, or anyone while ISC is down and snapshots fail before their
    // commit: anchoring is not failing, no snapshot has run since to anchor the entry.
    const requests = new DynamoChangeRequestStore(h.table.db, h.table.tableName);
    const other = h.emulator.state.ids()[2] as string;
    await requests.create(
      newRequest({
        id: 'req-2',
        tenant: 'acme',
        resourceKey: `integration:${other}`,
        operation: { kind: 'delete', integrationId: other },
        baseHash: 'c'.repeat(64),
        targetHash: null,
        secretPaths: [],
        requester: 'bob',
        reason: 'retire it too',
        createdAt: now().toISOString(),
        expiresAt: '2026-11-25T10:02:00.000Z',
        approvalsRequired: 1,
      }),
    );
    const fresh = await verdict();
    expect(fresh.ok).toBe(true);
    expect(fresh.anchors?.unanchoredTail).toMatchObject({ records: 0, journalEntries: 1, fromJournalSeq: 7, stale: false });
    expect(fresh.anchors?.warnings).toEqual([
      expect.stringMatching(/^unanchored tail \(1 journal entry, #7–#7\): written after the last anchor \(snapshot #4/),
    ]);
    for (const later of [31 * MINUTE, 7 * 24 * 60 * MINUTE]) {
      h.advance(later);
      const v = await verdict();
      expect(v.ok).toBe(true);
      expect(v.anchors?.unanchoredTail).toMatchObject({ records: 0, journalEntries: 1, fromJournalSeq: 7, stale: false });
      expect(v.anchors?.warnings).toEqual([
        expect.stringMatching(
          /^unanchored tail \(1 journal entry, #7–#7\): written after the last anchor \(snapshot #4, .*\); no snapshot has run since/,
        ),
      ]);
    }
    // A snapshot that commits without anchoring makes it a failure again (records prove anchoring is failing) …
    const working = h.deps.anchors;
    Object.assign(h.deps, {
      anchors: {
        source: 's3://unreachable/anchors/',
        write: async () => Promise.reject(new Error('AccessDenied')),
        read: (t: string) => anchors.read(t),
      },
    });
    await h.snapshot();
    expect((await verdict()).firstBroken).toEqual({
      part: 'anchors',
      seq: 5,
      reason: expect.stringMatching(
        /^unanchored tail \(1 record, #5–#5; 1 journal entry, #7–#7\): the last anchor \(snapshot #4, .*\) is older than 30 minutes/,
      ),
    });
    // … and the next snapshot that anchors heals it.
    Object.assign(h.deps, { anchors: working });
    await h.snapshot();
    expect((await verdict()).ok).toBe(true);
  });

  it('a re-dated tail: records never anchored, dated "just now" by whoever rewrote them, still fail', async () => {
    Object.assign(h.deps, {
      anchors: {
        source: 's3://unreachable/anchors/',
        write: async () => Promise.reject(new Error('blocked')),
        read: (t: string) => anchors.read(t),
      },
    });
    h.advance(MINUTE);
    expect((await h.snapshot()).anchor?.status).toBe('failed');
    h.advance(MINUTE);
    expect((await h.snapshot()).anchor?.status).toBe('failed');
    h.advance(40 * MINUTE);
    expect((await verdict()).firstBroken).toMatchObject({ part: 'anchors', seq: 5 });
    // The rewrite: #5 and #6 re-dated to the verifier's present, the chain recomputed (the table alone agrees).
    for (const seq of [5, 6]) {
      await db().send(
        new UpdateCommand({
          TableName: table(),
          Key: { pk: 'T#acme', sk: `S#${pad(seq)}` },
          UpdateExpression: 'SET takenAt = :t, gsi1sk = :t',
          ExpressionAttributeValues: { ':t': now().toISOString() },
        }),
      );
    }
    await recomputeChain(() => undefined);
    expect((await verdict(null)).ok).toBe(true);
    const v = await verdict();
    expect(v.anchors?.unanchoredTail).toMatchObject({ records: 2, fromSeq: 5, toSeq: 6, oldestTakenAt: now().toISOString(), stale: true });
    expect(v.firstBroken).toEqual({
      part: 'anchors',
      seq: 5,
      reason: expect.stringMatching(/the last anchor \(snapshot #4, written at .*\) is older than 30 minutes/),
    });
  });
  it('a chain rewrite that backs a forged drift: the snapshot calls the hand edit restored, verify names the record', async () => {
    // The standing drift of #2 (accepted): its record rewritten so its "before" is the state a planned edit produces,
    // every later record re-hashed, the drift item and the journal made to agree. (What the drift check cannot stop.)
    const edited = { ...h.emulator.state.get(drifted), description: 'planned by the forger' } as ServiceDeskIntegration;
    const planned = normaliseIntegration(edited, {
      tenant: 'acme',
      secretPolicy: h.deps.secretPolicy,
      hmacKey: h.deps.fingerprintKey,
      ignoreReferenceNames: true,
    }).contentHash;
    await recomputeChain((snapshots) => {
      const two = snapshots[1] as ChainedSnapshot;
      snapshots[1] = { ...two, changes: two.changes.map((c) => (c.key === `integration:${drifted}` ? { ...c, fromHash: planned } : c)) };
    });
    const item = await get('T#acme', `D#integration:${drifted}`);
    await put({ ...item, fromHash: planned });
    await recomputeJournal();
    expect((await verdict(null)).ok).toBe(true);
    h.emulator.state.replace(drifted, edited);
    h.advance(MINUTE);
    const result = await h.snapshot();
    expect(result.changes.map((c) => c.classification)).toEqual(['restored']);
    expect(result.warnings).toBeUndefined();
    expect(h.notifier.events.filter((e) => e.type === 'Drift Detected')).toHaveLength(1);
    expect((await verdict(null)).ok).toBe(true);
    expect((await verdict()).firstBroken).toMatchObject({
      part: 'anchors',
      seq: 2,
      reason: expect.stringMatching(/snapshot #2 was rewritten/),
    });
  });
});
