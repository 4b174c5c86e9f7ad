import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoChangeRequestStore } from '../../lambdas/adapters/dynamodb/change-request-store';
import { type ChangeRequest, newRequest } from '../../lambdas/domain/change-request';
import { verifyHistory } from '../../lambdas/use-cases/verify-history';
import { snapshotHarness } from '../support/snapshot-harness';

type Harness = Awaited<ReturnType<typeof snapshotHarness>>;

const pad = (n: number) => String(n).padStart(10, '0');

describe('the journal: drift, acceptance, request and ledger changes are chained and verified', () => {
  let h: Harness;
  let requests: DynamoChangeRequestStore;
  let drifted: string;
  let request: ChangeRequest;
  const db = () => h.table.db;
  const table = () => h.table.tableName;
  const get = async (pk: string, sk: string) => (await db().send(new GetCommand({ TableName: table(), Key: { pk, sk } }))).Item;
  const put = (item: Record<string, unknown>) => db().send(new PutCommand({ TableName: table(), Item: item }));
  const del = (pk: string, sk: string) => db().send(new DeleteCommand({ TableName: table(), Key: { pk, sk } }));

  beforeEach(async () => {
    h = await snapshotHarness({ integrations: 4, seed: 5 });
    requests = new DynamoChangeRequestStore(h.table.db, h.table.tableName);
    drifted = h.emulator.state.ids()[1] as string;
    await h.snapshot();
    h.emulator.state.replace(drifted, { ...h.emulator.state.get(drifted), description: 'changed behind our back' });
    h.advance(60_000);
    await h.snapshot();
    const [drift] = (await h.store.loadState('acme')).drifts;
    if (!drift) throw new Error('expected a drift');
    const acceptance = {
      key: drift.key,
      contentHash: drift.toHash,
      reason: 'known',
      by: 'ann',
      at: '2026-11-24T10:05:00.000Z',
      until: '2026-12-24T00:00:00.000Z',
    };
    await h.store.putDrift('acme', { ...drift, status: 'accepted', acceptance }, { type: 'drift-accepted', at: acceptance.at, by: 'ann' });
    request = newRequest({
      id: 'req-1',
      tenant: 'acme',
      resourceKey: `integration:${drifted}`,
      operation: { kind: 'delete', integrationId: drifted },
      baseHash: drift.toHash,
      targetHash: null,
      secretPaths: [],
      requester: 'bob',
      reason: 'retire it',
      createdAt: '2026-11-24T10:06:00.000Z',
      expiresAt: '2026-11-25T10:06:00.000Z',
      approvalsRequired: 1,
    });
    await requests.create(request);
    const approvedAt = '2026-11-24T10:07:00.000Z';
    const approved: ChangeRequest = {
      ...request,
      status: 'approved',
      approvals: [{ by: 'carol', at: approvedAt }] as unknown as ChangeRequest['approvals'],
      history: [...request.history, { at: approvedAt, by: 'carol', from: 'pending', to: 'approved' }],
      revision: request.revision + 1,
    };
    expect(await requests.save(approved)).toBe(true);
    expect(
      await requests.saveApplied(
        { ...approved, revision: approved.revision + 1 },
        {
          requestId: 'req-1',
          key: `integration:${drifted}`,
          baseHash: drift.toHash,
          resultHash: null,
          appliedAt: '2026-11-24T10:08:00.000Z',
        },
      ),
    ).toBe(true);
    const verdict = await verifyHistory(h.store, 'acme', { now: new Date('2026-11-24T11:00:00.000Z') });
    expect(verdict).toMatchObject({ ok: true, journalEntriesChecked: 6, recordsChecked: 3 });
  });
  afterEach(() => h.close());

  const verdictNow = () => verifyHistory(h.store, 'acme', { now: new Date('2026-11-24T11:00:00.000Z') });
  const driftSk = () => `D#integration:${drifted}`;

  it('records each change as its own entry, in order, never by editing an earlier one', async () => {
    const entries = await h.store.journal.list('acme');
    expect(entries.map((e) => [e.seq, e.type, e.subject])).toEqual([
      [1, 'drift-opened', `integration:${drifted}`],
      [2, 'drift-accepted', `integration:${drifted}`],
      [3, 'request', 'req-1'],
      [4, 'request', 'req-1'],
      [5, 'request', 'req-1'],
      [6, 'ledger', 'req-1'],
    ]);
    expect(entries.filter((e) => e.type === 'request').map((e) => e.data.status)).toEqual(['pending', 'approved', 'approved']);
    expect(entries[1]?.data).toMatchObject({ status: 'accepted', acceptance: { by: 'ann', until: '2026-12-24T00:00:00.000Z' } });
  });

  it('an edited drift item (its patch emptied)', async () => {
    await db().send(
      new UpdateCommand({
        TableName: table(),
        Key: { pk: 'T#acme', sk: driftSk() },
        UpdateExpression: 'SET patch = :l',
        ExpressionAttributeValues: { ':l': '[]' },
      }),
    );
    expect((await verdictNow()).firstBroken).toEqual({
      part: 'journal',
      item: `drift integration:${drifted}`,
      reason: expect.stringMatching(/was edited/),
    });
  });

  it('an edited acceptance (extended by a year)', async () => {
    const item = await get('T#acme', driftSk());
    await put({ ...item, acceptance: { ...(item?.acceptance as object), until: '2027-12-24T00:00:00.000Z' } });
    expect((await verdictNow()).firstBroken).toMatchObject({
      item: `drift integration:${drifted}`,
      reason: expect.stringMatching(/was edited/),
    });
  });

  it('a deleted drift item', async () => {
    await del('T#acme', driftSk());
    expect((await verdictNow()).firstBroken).toMatchObject({ part: 'journal', reason: expect.stringMatching(/was deleted/) });
  });

  it('an inserted drift item', async () => {
    const item = await get('T#acme', driftSk());
    const other = h.emulator.state.ids()[3] as string;
    await put({ ...item, sk: `D#integration:${other}`, key: `integration:${other}` });
    expect((await verdictNow()).firstBroken).toMatchObject({
      item: `drift integration:${other}`,
      reason: expect.stringMatching(/not in the journal/),
    });
  });

  it('a deleted ledger item (before it expires)', async () => {
    await del('L#acme', `A#integration:${drifted}#req-1`);
    expect((await verdictNow()).firstBroken).toMatchObject({
      item: `ledger integration:${drifted}#req-1`,
      reason: expect.stringMatching(/was deleted/),
    });
    // Once its TTL passed, DynamoDB may remove it: that is not tampering.
    expect((await verifyHistory(h.store, 'acme', { now: new Date('2027-01-30T00:00:00.000Z') })).ok).toBe(true);
  });

  it('a forged ledger item that would make an unexpected change look expected', async () => {
    const item = await get('L#acme', `A#integration:${drifted}#req-1`);
    await put({ ...item, sk: `A#integration:${drifted}#req-forged`, requestId: 'req-forged', resultHash: 'f'.repeat(64) });
    expect((await verdictNow()).firstBroken).toMatchObject({
      item: `ledger integration:${drifted}#req-forged`,
      reason: expect.stringMatching(/not in the journal/),
    });
  });

  it("ignores a ledger entry written among the tenant items, where the approval API's role may write", async () => {
    // IAM cannot limit sort keys, so the approval API's role may put any T#<tenant> item; the ledger lives in L#<tenant>,
    // which only the apply function's role may write, and classification reads it from there only.
    const item = await get('L#acme', `A#integration:${drifted}#req-1`);
    await put({ ...item, pk: 'T#acme', sk: `A#integration:${drifted}#req-forged`, requestId: 'req-forged' });
    const ledger = await h.store.appliedChanges('acme', [`integration:${drifted}`]);
    expect(ledger.map((entry) => entry.requestId)).toEqual(['req-1']);
  });

  it('an edited ledger item (its base hash)', async () => {
    await db().send(
      new UpdateCommand({
        TableName: table(),
        Key: { pk: 'L#acme', sk: `A#integration:${drifted}#req-1` },
        UpdateExpression: 'SET baseHash = :h',
        ExpressionAttributeValues: { ':h': 'e'.repeat(64) },
      }),
    );
    expect((await verdictNow()).firstBroken).toMatchObject({
      item: `ledger integration:${drifted}#req-1`,
      reason: expect.stringMatching(/was edited/),
    });
  });

  it('an edited ledger item', async () => {
    await db().send(
      new UpdateCommand({
        TableName: table(),
        Key: { pk: 'L#acme', sk: `A#integration:${drifted}#req-1` },
        UpdateExpression: 'SET resultHash = :h',
        ExpressionAttributeValues: { ':h': 'e'.repeat(64) },
      }),
    );
    expect((await verdictNow()).firstBroken).toMatchObject({
      item: `ledger integration:${drifted}#req-1`,
      reason: expect.stringMatching(/was edited/),
    });
  });

  it('an edited request decision (approver renamed)', async () => {
    const item = await get('CR#req-1', 'CR');
    const data = JSON.parse(item?.data as string) as ChangeRequest;
    await put({ ...item, data: JSON.stringify({ ...data, approvals: [{ by: 'mallory', at: data.approvals[0]?.at }] }) });
    expect((await verdictNow()).firstBroken).toMatchObject({ item: 'request req-1', reason: expect.stringMatching(/was edited/) });
  });

  it('a request whose listed status disagrees with its record', async () => {
    await db().send(
      new UpdateCommand({
        TableName: table(),
        Key: { pk: 'CR#req-1', sk: 'CR' },
        UpdateExpression: 'SET #s = :p',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':p': 'pending' },
      }),
    );
    expect((await verdictNow()).firstBroken).toMatchObject({ item: 'request req-1', reason: expect.stringMatching(/was edited/) });
  });

  it('a deleted request', async () => {
    await del('CR#req-1', 'CR');
    expect((await verdictNow()).firstBroken).toMatchObject({ item: 'request req-1', reason: expect.stringMatching(/was deleted/) });
  });

  it('a deleted journal entry', async () => {
    await del('T#acme', `J#${pad(2)}`);
    expect((await verdictNow()).firstBroken).toEqual({
      part: 'journal',
      seq: 3,
      reason: expect.stringMatching(/expected journal entry #2 here, found #3/),
    });
  });

  it('an edited journal entry', async () => {
    const item = await get('T#acme', `J#${pad(2)}`);
    await put({ ...item, by: 'someone-else' });
    expect((await verdictNow()).firstBroken).toEqual({ part: 'journal', seq: 2, reason: expect.stringMatching(/was altered/) });
  });

  it('reordered journal entries (two swapped, hashes kept)', async () => {
    const [two, three] = [await get('T#acme', `J#${pad(2)}`), await get('T#acme', `J#${pad(3)}`)];
    await put({ ...three, sk: `J#${pad(2)}` });
    await put({ ...two, sk: `J#${pad(3)}` });
    expect((await verdictNow()).firstBroken).toMatchObject({
      part: 'journal',
      seq: 3,
      reason: expect.stringMatching(/missing or reordered/),
    });
  });

  it('a drift reopened and closed through the store keeps the journal and the items in step', async () => {
    const [drift] = (await h.store.loadState('acme')).drifts;
    await h.store.putDrift(
      'acme',
      { ...(drift as NonNullable<typeof drift>), status: 'open', acceptance: undefined },
      { type: 'drift-reopened', at: '2026-11-24T10:30:00.000Z', by: 'ann' },
    );
    await h.store.deleteDrift('acme', `integration:${drifted}`, { at: '2026-11-24T10:31:00.000Z', by: 'ann', reason: 'resolved' });
    await expect(
      h.store.deleteDrift('acme', `integration:${drifted}`, { at: '2026-11-24T10:32:00.000Z', by: 'ann', reason: 'again' }),
    ).rejects.toThrow();
    const verdict = await verdictNow();
    expect(verdict).toMatchObject({ ok: true, journalEntriesChecked: 8 });
  });

  it('concurrent appenders never share a sequence number and the chain stays intact', async () => {
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        h.store.journal.append('acme', [
          { type: 'drift-annotated', subject: `integration:${drifted}`, at: '2026-11-24T10:40:00.000Z', by: `w${i}`, data: { note: i } },
        ]),
      ),
    );
    const entries = await h.store.journal.list('acme');
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 14 }, (_, i) => i + 1));
    expect((await verdictNow()).ok).toBe(true);
    expect((await h.store.journal.list('acme', { afterSeq: 12 })).map((e) => e.seq)).toEqual([13, 14]);
    expect(await h.store.journal.head('acme')).toEqual({ seq: 14, hash: entries[13]?.hash });
  });

  it('a stale request write appends nothing', async () => {
    const before = await h.store.journal.head('acme');
    expect(await requests.save({ ...request, revision: 2 })).toBe(false);
    await expect(requests.create(request)).rejects.toThrow(/exists/);
    expect(await h.store.journal.head('acme')).toEqual(before);
  });
});
