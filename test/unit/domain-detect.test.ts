import { randomBytes } from 'node:crypto';
import { type ChainedSnapshot, GENESIS_HASH, manifestHash, snapshotHash, verifyChain } from '../../lambdas/domain/chain';
import { type Acceptance, classify, eligibleEntries, explainingChain } from '../../lambdas/domain/classify';
import { detectChanges, type KnownResource } from '../../lambdas/domain/detect';
import { normaliseIntegration } from '../../lambdas/domain/normalise';
import { SecretPolicy } from '../../lambdas/domain/secrets';
import { SeverityRules } from '../../lambdas/domain/severity';

const options = { tenant: 't', secretPolicy: new SecretPolicy(), hmacKey: randomBytes(32) };
const integration = (description: string) => normaliseIntegration({ id: 'i1', name: 'n', description, type: 'x', attributes: {} }, options);
const known = (r: ReturnType<typeof integration>): KnownResource => ({
  key: r.key,
  ref: { kind: r.kind, id: r.id, name: r.name },
  contentHash: r.contentHash,
  version: 1,
});

describe('detectChanges', () => {
  const rules = new SeverityRules();

  it('diffs a modified resource field by field, old to new', () => {
    const before = integration('old');
    const after = integration('new');
    const [change] = detectChanges(new Map([[before.key, known(before)]]), [after], new Map([[before.key, before.content]]), rules);
    expect(change).toMatchObject({ change: 'modified', fromHash: before.contentHash, toHash: after.contentHash, severity: 'low' });
    expect(change?.patch).toEqual([{ op: 'replace', path: '/description', value: 'new' }]);
  });

  it('reports additions and removals as high severity', () => {
    const r = integration('x');
    expect(detectChanges(new Map(), [r], new Map(), rules)[0]).toMatchObject({ change: 'added', severity: 'high' });
    expect(detectChanges(new Map([[r.key, known(r)]]), [], new Map([[r.key, r.content]]), rules)[0]).toMatchObject({
      change: 'removed',
      toHash: null,
    });
  });

  it('refuses to diff without the stored content', () => {
    const before = integration('old');
    expect(() => detectChanges(new Map([[before.key, known(before)]]), [integration('new')], new Map(), rules)).toThrow(/was not loaded/);
  });
});

describe('SeverityRules', () => {
  it('rates a change by its most severe field, with configurable rules', () => {
    const rules = new SeverityRules();
    expect(rules.forChange('modified', ['/description'])).toBe('low');
    expect(rules.forChange('modified', ['/description', '/provisioningConfig/planInitializerScript/source'])).toBe('high');
    expect(rules.forChange('modified', ['/attributes/ticketType'])).toBe('medium');
    expect(new SeverityRules([{ path: '^/attributes/ticketType$', severity: 'high' }]).forPath('/attributes/ticketType')).toBe('high');
    expect(() => new SeverityRules([{ path: '(', severity: 'high' }])).toThrow(/not a valid regular expression/);
  });
});

describe('classify', () => {
  const change = detectChanges(new Map(), [integration('x')], new Map(), new SeverityRules())[0];
  if (!change) throw new Error('no change');
  const now = new Date('2026-06-01T00:00:00Z');
  const acceptance = (until: string): Acceptance => ({
    key: change.key,
    contentHash: change.toHash,
    reason: 'known',
    by: 'ann',
    at: '2026-05-01T00:00:00Z',
    until,
  });

  const entry = (requestId: string, baseHash: string | null, resultHash: string | null, appliedAt: string) => ({
    requestId,
    key: change.key,
    baseHash,
    resultHash,
    appliedAt,
  });
  it('is expected when an applied request made exactly this transition', () => {
    const applied = [entry('r1', null, change.toHash, '2026-05-31T00:00:00Z')];
    expect(classify(change, applied, [], now)).toMatchObject({ classification: 'expected', requestId: 'r1' });
  });
  it('is not expected when the applied request produced another state, or started from another one', () => {
    expect(classify(change, [entry('r1', null, 'other', '2026-05-31T00:00:00Z')], [], now).classification).toBe('unexpected');
    expect(classify(change, [entry('r1', 'b', change.toHash, '2026-05-31T00:00:00Z')], [], now).classification).toBe('unexpected');
    // An entry from before transitions were recorded explains nothing.
    const legacy = { requestId: 'r0', key: change.key, resultHash: change.toHash, appliedAt: '2026-05-31T00:00:00Z' };
    expect(classify(change, [legacy], [], now).classification).toBe('unexpected');
  });
  it('composes requests applied between two snapshots, in the order they were applied', () => {
    const modified = { ...change, fromHash: 'A', toHash: 'C' };
    const r1 = entry('r1', 'A', 'B', '2026-05-31T00:00:01Z');
    const r2 = entry('r2', 'B', 'C', '2026-05-31T00:00:02Z');
    expect(classify(modified, [r2, r1], [], now)).toMatchObject({ classification: 'expected', requestId: 'r2' });
    expect(explainingChain(change.key, 'A', 'C', [r1, r2])?.map((e) => e.requestId)).toEqual(['r1', 'r2']);
    // Out of order (C's request before B's) explains nothing.
    const early = entry('r2', 'B', 'C', '2026-05-31T00:00:00Z');
    expect(classify(modified, [r1, early], [], now).classification).toBe('unexpected');
  });
  it('lets an entry explain one snapshot only: a later return to its state is unexpected', () => {
    const r1 = entry('r1', 'A', 'B', '2026-05-31T10:00:00Z');
    const previous = (fetchStartedAt: string, takenAt: string, explained: string[] = []) => ({
      fetchStartedAt,
      takenAt,
      explained: new Set(explained),
    });
    expect(eligibleEntries([r1], undefined)).toEqual([r1]);
    expect(eligibleEntries([r1], previous('2026-05-31T09:00:00Z', '2026-05-31T09:01:00Z'))).toEqual([r1]);
    expect(eligibleEntries([r1], previous('2026-05-31T11:00:00Z', '2026-05-31T11:01:00Z'))).toEqual([]);
    // Applied while the previous snapshot listed: usable unless that snapshot already named it.
    expect(eligibleEntries([r1], previous('2026-05-31T09:59:00Z', '2026-05-31T10:01:00Z'))).toEqual([r1]);
    expect(eligibleEntries([r1], previous('2026-05-31T09:59:00Z', '2026-05-31T10:01:00Z', ['r1']))).toEqual([]);
  });
  it('is accepted only while the acceptance runs', () => {
    expect(classify(change, [], [acceptance('2026-07-01T00:00:00Z')], now).classification).toBe('accepted');
    expect(classify(change, [], [acceptance('2026-05-15T00:00:00Z')], now).classification).toBe('unexpected');
  });
});

describe('verifyChain', () => {
  const link = (seq: number, prevHash: string, changes: ChainedSnapshot['changes'], manifest: Map<string, string>): ChainedSnapshot => {
    const body = {
      tenant: 't',
      seq,
      snapshotId: `s${seq}`,
      takenAt: `2026-01-0${seq}T00:00:00Z`,
      prevHash,
      manifestHash: manifestHash(manifest),
      resourceCount: manifest.size,
      changes,
    };
    return { ...body, hash: snapshotHash(body) };
  };
  const one = link(
    1,
    GENESIS_HASH,
    [{ key: 'integration:a', change: 'added', fromHash: null, toHash: 'h1', version: 1 }],
    new Map([['integration:a', 'h1']]),
  );
  const two = link(
    2,
    one.hash,
    [{ key: 'integration:a', change: 'modified', fromHash: 'h1', toHash: 'h2', version: 2 }],
    new Map([['integration:a', 'h2']]),
  );
  const versions = [
    { key: 'integration:a', version: 1, seq: 1, storedHash: 'h1', recomputedHash: 'h1' },
    { key: 'integration:a', version: 2, seq: 2, storedHash: 'h2', recomputedHash: 'h2' },
  ];

  it('accepts an intact chain', () => {
    expect(verifyChain([one, two], versions)).toEqual({ ok: true, snapshotsChecked: 2, versionsChecked: 2 });
  });
  it('names a record whose manifest does not follow from the changes', () => {
    const lying = link(
      2,
      one.hash,
      [{ key: 'integration:a', change: 'modified', fromHash: 'h1', toHash: 'h2', version: 2 }],
      new Map([['integration:a', 'h9']]),
    );
    expect(verifyChain([one, lying], versions).firstBroken).toEqual({
      seq: 2,
      reason: 'the manifest does not match the changes recorded so far',
    });
  });
  it('names a broken link', () => {
    const unlinked = link(2, 'f'.repeat(64), two.changes, new Map([['integration:a', 'h2']]));
    expect(verifyChain([one, unlinked], versions).firstBroken?.reason).toBe('prevHash does not match the previous snapshot');
  });
  it('names a missing version', () => {
    expect(verifyChain([one, two], versions.slice(0, 1)).firstBroken?.reason).toBe('version 2 of integration:a is missing');
  });
});
