import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { verifyHistory } from '../../lambdas/use-cases/verify-history';
import { snapshotHarness } from '../support/snapshot-harness';

type Harness = Awaited<ReturnType<typeof snapshotHarness>>;

const pad = (n: number) => String(n).padStart(10, '0');

describe('a drift that closes itself (restored) is a journal entry of its own', () => {
  let h: Harness;
  let id: string;
  let original: string;

  beforeEach(async () => {
    // Prepare: a baseline, an edit behind our back (drift), then someone puts the old text back by hand.
    h = await snapshotHarness({ integrations: 4, seed: 17 });
    id = h.emulator.state.ids()[1] as string;
    await h.snapshot();
    original = h.emulator.state.get(id).description as string;
    h.emulator.state.replace(id, { ...h.emulator.state.get(id), description: 'changed behind our back' });
    h.advance(60_000);
    await h.snapshot();
    h.emulator.state.replace(id, { ...h.emulator.state.get(id), description: original });
    h.advance(60_000);
    await h.snapshot();
  });
  afterEach(() => h.close());

  it('records drift-restored with the drifted and restored states, and verify passes', async () => {
    // Assess
    const entries = await h.store.journal.list('acme');
    expect(entries.map((e) => e.type)).toEqual(['drift-opened', 'drift-restored']);
    const [opened, restored] = entries;
    expect(restored).toMatchObject({
      subject: `integration:${id}`,
      by: 'sdim-guard',
      data: {
        reason: 'the resource is back in the state it had before the drift',
        driftedHash: opened?.data.toHash,
        restoredHash: opened?.data.fromHash,
        snapshotSeq: 3,
      },
      record: { kind: 'drift', id: `integration:${id}`, digest: null },
    });
    expect((await h.store.loadState('acme')).drifts).toEqual([]);
    expect((await verifyHistory(h.store, 'acme')).ok).toBe(true);
  });

  it('verify names the drift when its close entry is deleted', async () => {
    // Act: someone with table write access removes the close entry (the journal's tail)
    await h.table.db.send(new DeleteCommand({ TableName: h.table.tableName, Key: { pk: 'T#acme', sk: `J#${pad(2)}` } }));
    // Assess: the journal still says the drift stands, the table has no drift item
    const verdict = await verifyHistory(h.store, 'acme');
    expect(verdict.ok).toBe(false);
    expect(verdict.firstBroken).toMatchObject({
      part: 'journal',
      reason: expect.stringMatching(new RegExp(`drift integration:${id} was deleted`)),
    });
  });

  it('verify names the entry when a close is turned into a request-explained close', async () => {
    // Act: the entry is rewritten as an ordinary close with a request id, hashes kept
    const key = { pk: 'T#acme', sk: `J#${pad(2)}` };
    const { Item } = await h.table.db.send(new GetCommand({ TableName: h.table.tableName, Key: key }));
    expect(Item?.type).toBe('drift-restored');
    await h.table.db.send(
      new PutCommand({
        TableName: h.table.tableName,
        Item: {
          ...Item,
          type: 'drift-closed',
          data: JSON.stringify({ reason: 'an applied change request explains the current state', requestId: 'req-forged' }),
        },
      }),
    );
    // Assess
    const verdict = await verifyHistory(h.store, 'acme');
    expect(verdict.ok).toBe(false);
    expect(verdict.firstBroken).toMatchObject({ part: 'journal', seq: 2, reason: expect.stringMatching(/was altered/) });
  });
});
