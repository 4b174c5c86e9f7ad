import { type ChainedChange, type ChainedSnapshot, GENESIS_HASH, snapshotHash } from '../../lambdas/domain/chain';
import { type DriftBacking, type StandingDrift, unbackedReason } from '../../lambdas/domain/classify';
import type { DetectedChange } from '../../lambdas/domain/detect';

const h = (c: string) => c.repeat(64);
const record = (seq: number, prevHash: string, changes: ChainedChange[]): ChainedSnapshot => {
  const link = {
    tenant: 't',
    seq,
    snapshotId: `s${seq}`,
    takenAt: `2026-01-0${seq}T00:00:00Z`,
    prevHash,
    manifestHash: h('m'),
    resourceCount: 1,
    changes,
  };
  return { ...link, hash: snapshotHash(link) };
};
const K = 'integration:a';
const drifted: ChainedChange = { key: K, change: 'modified', fromHash: h('a'), toHash: h('b'), version: 2, classification: 'unexpected' };
const one = record(1, GENESIS_HASH, []);
const two = record(2, one.hash, [drifted]);
const three = record(3, two.hash, []);
const drift: StandingDrift = { key: K, fromHash: h('a'), toHash: h('b'), snapshotSeq: 2 };
const change = (fromHash: string | null, toHash: string | null): DetectedChange => ({
  key: K,
  resource: { kind: 'integration', id: 'a', name: 'A' },
  change: 'modified',
  fromHash,
  toHash,
  patch: [],
  severity: 'low',
});
const backing = (over: Partial<DriftBacking> = {}): DriftBacking => ({
  detection: two,
  next: three,
  latestHash: three.hash,
  change: change(h('b'), h('a')),
  headVersion: 2,
  ...over,
});

describe('unbackedReason: a drift item is trusted only when the chain recorded it and it still stands', () => {
  it("trusts the flow's own detection, linked by the next record or being the chain head", () => {
    expect(unbackedReason(drift, backing())).toBeUndefined();
    expect(unbackedReason(drift, backing({ next: 'latest', latestHash: two.hash }))).toBeUndefined();
    // a reopened drift names its detection apart from the reopening run
    expect(unbackedReason({ ...drift, snapshotSeq: 3, detectedSeq: 2 }, backing())).toBeUndefined();
  });

  it.each([
    ['no record at that seq', backing({ detection: undefined }), /no committed snapshot #2 recorded it/],
    ['a record of another seq', backing({ detection: three }), /no committed snapshot #2 recorded it/],
    ['a record edited without its hash', backing({ detection: { ...two, changes: [{ ...drifted, toHash: h('c') }] } }), /does not hash/],
    ['a record re-hashed but not linked', backing({ next: record(3, h('x'), []) }), /not linked into the chain/],
    ['a head record the new snapshot would not link to', backing({ next: 'latest', latestHash: h('x') }), /not linked/],
    ['a missing next record', backing({ next: undefined }), /not linked/],
    [
      'a change of the key recorded as expected',
      backing({ detection: record(2, one.hash, [{ ...drifted, classification: 'expected' }]) }),
      /no unexpected change/,
    ],
    ['a change to another state', backing({ detection: record(2, one.hash, [{ ...drifted, toHash: h('c') }]) }), /no unexpected change/],
    ['a resource changed since (head moved on)', backing({ headVersion: 3 }), /changed after snapshot #2/],
    ['a change that does not start from the drifted state', backing({ change: change(h('c'), h('a')) }), /changed after snapshot #2/],
  ])('refuses %s', (_label, input, reason) => {
    // A re-recorded detection gets a next record that links to it, so the check under test is the one that fails.
    const realNext =
      input.detection === two || input.next !== three ? input : { ...input, next: record(3, input.detection?.hash ?? '', []) };
    expect(unbackedReason(drift, realNext)).toMatch(reason);
  });

  it('a removal drift stands while the resource has no head', () => {
    const removal: ChainedChange = { ...drifted, change: 'removed', toHash: null };
    const detection = record(2, one.hash, [removal]);
    const d = { ...drift, toHash: null };
    const b = backing({ detection, next: record(3, detection.hash, []), change: change(null, h('a')), headVersion: undefined });
    expect(unbackedReason(d, b)).toBeUndefined();
    expect(unbackedReason({ ...d, toHash: h('b') }, b)).toMatch(/no unexpected change/);
  });
});
