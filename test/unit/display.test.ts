import type { Json } from '../../lambdas/domain/canonical';
import type { ChainedSnapshot } from '../../lambdas/domain/chain';
import {
  CREDENTIAL_CHANGED,
  CREDENTIAL_SET,
  CREDENTIAL_UNCHANGED,
  lastChanges,
  maskPair,
  maskPatch,
  matchesSearch,
} from '../../lambdas/domain/display';
import { fingerprintSecrets, SecretPolicy } from '../../lambdas/domain/secrets';

const key = Buffer.from('k'.repeat(32));
const fp = (value: string) => fingerprintSecrets({ password: value }, new SecretPolicy(), key, 'acme').password as Json;

describe('what the console shows of credentials and history', () => {
  it('shows a credential only as changed or unchanged against the other side, never its fingerprint', () => {
    const { left, right } = maskPair(
      { attributes: { password: fp('a'), token: fp('t') }, list: [fp('x')], name: 'n' },
      { attributes: { password: fp('b'), token: fp('t') }, list: [fp('x')], name: 'n' },
    );
    expect(left).toEqual({
      attributes: { password: CREDENTIAL_CHANGED, token: CREDENTIAL_UNCHANGED },
      list: [CREDENTIAL_UNCHANGED],
      name: 'n',
    });
    expect(right).toEqual({
      attributes: { password: CREDENTIAL_CHANGED, token: CREDENTIAL_UNCHANGED },
      list: [CREDENTIAL_UNCHANGED],
      name: 'n',
    });
    expect(JSON.stringify([left, right])).not.toContain('hmac-sha256');
  });

  it('shows a credential with nothing to compare to as merely set, and a removed document as null', () => {
    expect(maskPair({ password: fp('a') }, null)).toEqual({ left: { password: CREDENTIAL_SET }, right: null });
    expect(maskPair({ password: fp('a') }, { password: 'plain' })).toEqual({
      left: { password: CREDENTIAL_CHANGED },
      right: { password: 'plain' },
    });
  });

  it('hides fingerprints inside patch values, at any depth', () => {
    expect(
      maskPatch([
        { op: 'replace', path: '/attributes/password', value: fp('a') },
        { op: 'add', path: '/attributes', value: { password: fp('a'), url: 'u', list: [fp('b')] } },
        { op: 'remove', path: '/x' },
      ]),
    ).toEqual([
      { op: 'replace', path: '/attributes/password', value: CREDENTIAL_CHANGED },
      { op: 'add', path: '/attributes', value: { password: CREDENTIAL_CHANGED, url: 'u', list: [CREDENTIAL_CHANGED] } },
      { op: 'remove', path: '/x' },
    ]);
  });

  it('never fingerprints a fingerprint again when a stored document is normalised a second time', () => {
    const once = fingerprintSecrets({ attributes: { password: 'p' } }, new SecretPolicy(), key, 'acme');
    expect(fingerprintSecrets(once, new SecretPolicy(), key, 'acme')).toEqual(once);
  });

  it('finds the last recorded change of each resource in the chain', () => {
    const snap = (seq: number, changes: ChainedSnapshot['changes']) =>
      ({ seq, takenAt: `2026-01-0${seq}T00:00:00.000Z`, changes }) as unknown as ChainedSnapshot;
    const last = lastChanges([
      snap(1, [
        { key: 'integration:a', change: 'added', fromHash: null, toHash: 'h1', version: 1 },
        { key: 'integration:b', change: 'added', fromHash: null, toHash: 'h2', version: 1 },
      ]),
      snap(2, [{ key: 'integration:a', change: 'modified', fromHash: 'h1', toHash: 'h3', version: 2, classification: 'expected' }]),
    ]);
    expect(last.get('integration:a')).toEqual({
      key: 'integration:a',
      seq: 2,
      takenAt: '2026-01-02T00:00:00.000Z',
      change: 'modified',
      version: 2,
      classification: 'expected',
    });
    expect(last.get('integration:b')).toMatchObject({ seq: 1, change: 'added' });
  });

  it('searches case-insensitively, and an empty search matches everything', () => {
    expect(matchesSearch(['ServiceNow Desk', 'abc'], 'servicenow')).toBe(true);
    expect(matchesSearch(['ServiceNow Desk', 'abc'], 'ABC')).toBe(true);
    expect(matchesSearch(['ServiceNow Desk', undefined], 'jira')).toBe(false);
    expect(matchesSearch(['x'], '  ')).toBe(true);
    expect(matchesSearch(['x'], undefined)).toBe(true);
  });
});
