import { randomBytes } from 'node:crypto';
import { normaliseIntegration, normaliseStatusCheck } from '../../lambdas/domain/normalise';
import { fingerprintSecrets, isFingerprint, SecretPolicy } from '../../lambdas/domain/secrets';
import type { ServiceDeskIntegration } from '../../lambdas/isc/schemas';

const key = randomBytes(32);
const options = { tenant: 'acme', secretPolicy: new SecretPolicy(), hmacKey: key };
const base: ServiceDeskIntegration = {
  id: 'a1',
  name: 'ServiceNow',
  description: 'd',
  type: 'ServiceNowSDIM',
  modified: '2026-01-01T00:00:00Z',
  created: '2025-01-01T00:00:00Z',
  ownerRef: { type: 'IDENTITY', id: 'o1', name: 'Owner' },
  managedSources: ['s2', 's1'],
  provisioningConfig: {
    managedResourceRefs: [
      { type: 'SOURCE', id: 's2', name: 'B' },
      { type: 'SOURCE', id: 's1', name: 'A' },
    ],
  },
  attributes: { url: 'https://x', password: 'hunter2', nested: { apiKey: 'k-123', projectKey: 'IAM' } },
};

describe('normaliseIntegration', () => {
  it('keeps modified out of the content and its hash', () => {
    const a = normaliseIntegration(base, options);
    const b = normaliseIntegration({ ...base, modified: '2027-01-01T00:00:00Z' }, options);
    expect(a.content).not.toHaveProperty('modified');
    expect(a.meta.modified).toBe('2026-01-01T00:00:00Z');
    expect(b.contentHash).toBe(a.contentHash);
  });

  it('fingerprints credentials at any depth and leaves look-alikes such as projectKey alone', () => {
    const { content } = normaliseIntegration(base, options);
    const attributes = content.attributes as Record<string, unknown>;
    expect(isFingerprint(attributes.password)).toBe(true);
    expect(isFingerprint((attributes.nested as Record<string, unknown>).apiKey)).toBe(true);
    expect((attributes.nested as Record<string, unknown>).projectKey).toBe('IAM');
    expect(JSON.stringify(content)).not.toMatch(/hunter2|k-123/);
  });

  it('gives a changed secret a changed fingerprint and hash, and the same secret the same ones', () => {
    const a = normaliseIntegration(base, options);
    const same = normaliseIntegration(structuredClone(base), options);
    const changed = normaliseIntegration({ ...base, attributes: { ...base.attributes, password: 'hunter3' } }, options);
    expect(same.contentHash).toBe(a.contentHash);
    expect(changed.contentHash).not.toBe(a.contentHash);
  });

  it('fingerprints the same secret differently in another tenant and under another key', () => {
    const fp = (tenant: string, k: Buffer) => fingerprintSecrets({ password: 'hunter2' }, new SecretPolicy(), k, tenant).password;
    expect(fp('acme', key)).not.toEqual(fp('globex', key));
    expect(fp('acme', key)).not.toEqual(fp('acme', randomBytes(32)));
  });

  it('treats reordered source lists and renamed references as the same content', () => {
    const a = normaliseIntegration(base, options);
    const reordered = normaliseIntegration(
      {
        ...base,
        managedSources: ['s1', 's2'],
        ownerRef: { type: 'IDENTITY', id: 'o1', name: 'Owner (renamed)' },
        provisioningConfig: { managedResourceRefs: [...(base.provisioningConfig?.managedResourceRefs ?? [])].reverse() },
      },
      options,
    );
    expect(reordered.contentHash).toBe(a.contentHash);
  });

  it('counts reference names when told to', () => {
    const exact = { ...options, ignoreReferenceNames: false };
    const a = normaliseIntegration(base, exact);
    const renamed = normaliseIntegration({ ...base, ownerRef: { type: 'IDENTITY', id: 'o1', name: 'Other' } }, exact);
    expect(renamed.contentHash).not.toBe(a.contentHash);
  });

  it('refuses an integration without an id', () => {
    expect(() => normaliseIntegration({ ...base, id: undefined }, options)).toThrow(/has no id/);
  });

  it('normalises the status-check configuration as one tenant-wide resource', () => {
    const r = normaliseStatusCheck({ provisioningStatusCheckIntervalMinutes: '30', provisioningMaxStatusCheckDays: '2' }, options);
    expect(r).toMatchObject({ key: 'status-check:tenant', kind: 'status-check', id: 'tenant' });
  });
});

describe('SecretPolicy', () => {
  it('adds configured patterns to the built-in ones and refuses invalid ones', () => {
    expect(new SecretPolicy({ extraPatterns: ['^otp$'] }).isSecretKey('OTP')).toBe(true);
    expect(new SecretPolicy({ extraPatterns: ['^otp$'] }).isSecretKey('password')).toBe(true);
    expect(() => new SecretPolicy({ extraPatterns: ['(unclosed'] })).toThrow(/not a valid regular expression/);
  });
});
