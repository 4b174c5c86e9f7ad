import type { StoredSnapshot, TenantState } from '../../lambdas/ports/snapshot-store';
import { ConcurrentSnapshotError } from '../../lambdas/ports/snapshot-store';
import { checkedState } from '../../lambdas/use-cases/checked-heads';

// When the heads disagree with the latest record, they are rebuilt from the chain: what that read must show first.

const latest = { seq: 2, manifestHash: 'f'.repeat(64) } as StoredSnapshot;
const state: TenantState = { latest, known: new Map(), drifts: [] };

describe('checkedState', () => {
  it('a chain read that ends before the latest record (eventually consistent, another run just committed) is a lost race, not tampering', async () => {
    const store = { loadState: async () => state, snapshotChain: async () => [] as StoredSnapshot[] };
    const error = await checkedState('acme', store).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(ConcurrentSnapshotError);
    expect(error?.message).toMatch(/end before #2, which another run has just committed/);
  });

  it('a chain that reaches the latest record but does not verify is reported as edited by hand', async () => {
    const forged = [{ ...latest, seq: 1 }, latest].map((r) => ({
      ...r,
      tenant: 'acme',
      changes: [],
      prevHash: '0'.repeat(64),
      hash: 'e'.repeat(64),
    }));
    const store = { loadState: async () => state, snapshotChain: async () => forged as StoredSnapshot[] };
    await expect(checkedState('acme', store)).rejects.toThrow(/does not verify \(snapshot #1: .*\): the table was edited by hand/);
  });
});
