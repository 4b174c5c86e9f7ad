import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConcurrentSnapshotError } from '../../lambdas/ports/snapshot-store';
import { verifyHistory } from '../../lambdas/use-cases/verify-history';
import { snapshotHarness } from '../support/snapshot-harness';

// `large` and `headsSynced` are plain attributes of a snapshot record, outside its hash; a run stops while the latest
// record looks like a large run still writing (younger than 10 minutes). A table writer who marks the latest record
// so, dated in the future, must not stop every snapshot for good.
describe('a latest record marked unfinished and dated in the future by hand', () => {
  it('stops no snapshot beyond the ten minutes a live run may take; the edit itself breaks the chain for verify', async () => {
    const h = await snapshotHarness({ integrations: 4, seed: 3 });
    try {
      await h.snapshot();
      h.advance(60_000);
      await h.snapshot();
      await h.table.db.send(
        new UpdateCommand({
          TableName: h.table.tableName,
          Key: { pk: 'T#acme', sk: `S#${'2'.padStart(10, '0')}` },
          UpdateExpression: 'SET #large = :t, headsSynced = :f, takenAt = :when',
          ExpressionAttributeNames: { '#large': 'large' },
          ExpressionAttributeValues: { ':t': true, ':f': false, ':when': '2099-01-01T00:00:00.000Z' },
        }),
      );
      h.advance(60_000);
      const id = h.emulator.state.ids()[0] as string;
      h.emulator.state.replace(id, { ...h.emulator.state.get(id), description: 'edited while the guard was stopped?' });
      const run = await h.snapshot().catch((error: Error) => error);
      expect(run).not.toBeInstanceOf(ConcurrentSnapshotError);
      expect(run).toMatchObject({ seq: 3, changes: [expect.objectContaining({ classification: 'unexpected' })] });
      expect((await verifyHistory(h.store, 'acme', { now: h.deps.clock.now() })).firstBroken).toMatchObject({ part: 'snapshots', seq: 2 });
    } finally {
      await h.close();
    }
  });
});
