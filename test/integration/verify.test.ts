import { gzipSync } from 'node:zlib';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { canonicalJson } from '../../lambdas/domain/canonical';
import { verifyHistory } from '../../lambdas/use-cases/verify-history';
import { snapshotHarness } from '../support/snapshot-harness';

type Harness = Awaited<ReturnType<typeof snapshotHarness>>;

describe('verify catches tampering with stored history', () => {
  let h: Harness;
  let id: string;

  beforeEach(async () => {
    h = await snapshotHarness({ integrations: 6, seed: 21 });
    id = h.emulator.state.ids()[2] as string;
    await h.snapshot();
    const current = h.emulator.state.get(id);
    h.emulator.state.replace(id, { ...current, description: 'second version' });
    await h.snapshot();
    await h.snapshot();
    expect((await verifyHistory(h.store, 'acme')).ok).toBe(true);
  });
  afterEach(() => h.close());

  const key = {
    pk: () => `R#acme#integration:${id}`,
    snapshot: (seq: number) => ({ pk: 'T#acme', sk: `S#${String(seq).padStart(10, '0')}` }),
  };

  it('a stored version whose document was edited', async () => {
    const versionKey = { pk: key.pk(), sk: 'V#0000000002' };
    const { Item } = await h.table.db.send(new GetCommand({ TableName: h.table.tableName, Key: versionKey }));
    const forged = { ...h.emulator.state.get(id), description: 'nothing to see here' };
    await h.table.db.send(new PutCommand({ TableName: h.table.tableName, Item: { ...Item, doc: gzipSync(canonicalJson(forged)) } }));
    const verdict = await verifyHistory(h.store, 'acme');
    expect(verdict.ok).toBe(false);
    expect(verdict.firstBroken).toEqual({
      part: 'snapshots',
      seq: 2,
      reason: expect.stringMatching(new RegExp(`version 2 of integration:${id} was altered`)),
    });
  });

  it('a snapshot record whose time was changed', async () => {
    await h.table.db.send(
      new UpdateCommand({
        TableName: h.table.tableName,
        Key: key.snapshot(2),
        UpdateExpression: 'SET takenAt = :t',
        ExpressionAttributeValues: { ':t': '2020-01-01T00:00:00.000Z' },
      }),
    );
    const verdict = await verifyHistory(h.store, 'acme');
    expect(verdict.firstBroken).toEqual({
      part: 'snapshots',
      seq: 2,
      reason: expect.stringMatching(/snapshot record was altered/),
    });
  });

  it('a snapshot record that was removed', async () => {
    await h.table.db.send(new DeleteCommand({ TableName: h.table.tableName, Key: key.snapshot(2) }));
    const verdict = await verifyHistory(h.store, 'acme');
    expect(verdict.firstBroken).toEqual({
      part: 'snapshots',
      seq: 3,
      reason: expect.stringMatching(/expected snapshot #2 here, found #3/),
    });
  });

  it('a change list rewritten together with its hash (the link to the next record breaks)', async () => {
    const { Item } = await h.table.db.send(new GetCommand({ TableName: h.table.tableName, Key: key.snapshot(2) }));
    await h.table.db.send(new PutCommand({ TableName: h.table.tableName, Item: { ...Item, hash: 'f'.repeat(64) } }));
    const verdict = await verifyHistory(h.store, 'acme');
    expect(verdict.ok).toBe(false);
    expect(verdict.firstBroken?.seq).toBe(2);
  });

  it('a version slipped into the history of another integration', async () => {
    const other = h.emulator.state.ids()[4] as string;
    const { Item } = await h.table.db.send(new GetCommand({ TableName: h.table.tableName, Key: { pk: key.pk(), sk: 'V#0000000002' } }));
    await h.table.db.send(
      new PutCommand({
        TableName: h.table.tableName,
        Item: { ...Item, pk: `R#acme#integration:${other}`, key: `integration:${other}`, id: other },
      }),
    );
    const verdict = await verifyHistory(h.store, 'acme');
    expect(verdict.firstBroken).toEqual({
      part: 'snapshots',
      seq: 2,
      reason: `version 2 of integration:${other} is not recorded by any snapshot (inserted?)`,
    });
  });
});
