import { randomBytes } from 'node:crypto';
import { canonicalJson } from '../../lambdas/domain/canonical';
import { detectChanges } from '../../lambdas/domain/detect';
import { normaliseIntegration } from '../../lambdas/domain/normalise';
import { restoreSecrets, splitSecrets } from '../../lambdas/domain/payload-secrets';
import { DEFAULT_SECRET_KEY_PATTERNS, fingerprintSecrets, SecretPolicy } from '../../lambdas/domain/secrets';
import { SeverityRules } from '../../lambdas/domain/severity';
import type { ServiceDeskIntegration } from '../../lambdas/isc/schemas';
import { CORPUS_SECRETS, CORPUS_VISIBLE, corpusIntegrations, leakedIn } from '../support/secret-corpus';

const hmacKey = randomBytes(32);
const policy = new SecretPolicy();
const options = { tenant: 'acme', secretPolicy: policy, hmacKey };
const corpus = corpusIntegrations().map((c, i) => ({ ...c, id: `id${i}` }) as unknown as ServiceDeskIntegration);

describe('one secret policy, by name and by structure', () => {
  it.each([
    ['password', true],
    ['pwd', true],
    ['proxyPassword', true],
    ['apiToken', true],
    ['authHeader', true],
    ['Authorization', true],
    ['Cookie', true],
    ['X-Api-Key', true],
    ['client_secret', true],
    ['sessionId', true],
    ['tokenUrl', false],
    ['passwordPolicy', false],
    ['authType', false],
    ['token_type', false],
    ['secretArn', false],
    ['projectKey', false],
    ['author', false],
  ])('name %s is a credential: %s', (name, expected) => {
    expect(policy.isSecretKey(name)).toBe(expected);
  });

  it.each(corpus.map((c) => [c.type, c.name, c] as const))('%s (%s): no credential byte survives normalising', (_t, _n, integration) => {
    const { content } = normaliseIntegration(integration, options);
    expect(leakedIn(canonicalJson(content))).toEqual([]);
  });

  it('keeps settings about credentials readable: tokenUrl, passwordPolicy, authType, the URL host', () => {
    const text = corpus.map((c) => canonicalJson(normaliseIntegration(c, options).content)).join('\n');
    for (const visible of Object.values(CORPUS_VISIBLE)) expect(text).toContain(visible);
    expect(text).toContain('https://svc_corpus:[secret hmac-sha256:');
    expect(text).toContain('@corpus.service-now.com/api');
    expect(text).toContain('Authorization: Bearer [secret hmac-sha256:');
    expect(text).toContain(`${'-'.repeat(5)}BEGIN PRIVATE KEY${'-'.repeat(5)}[secret hmac-sha256:`);
  });

  it('normalising a normalised document changes nothing (stored versions re-hash to the same value)', () => {
    for (const c of corpus) {
      const once = normaliseIntegration(c, options).content;
      expect(fingerprintSecrets(once, policy, hmacKey, 'acme')).toEqual(once);
    }
  });

  it.each([
    ['password by name', '/attributes/password', 'Sn0w!Changed-1'],
    ['userinfo in a URL', '/attributes/instanceUrl', 'https://svc_corpus:other-pw-1@corpus.service-now.com/api'],
  ])('a changed credential (%s) is still detected as a change, without showing it', (_what, path, value) => {
    const before = normaliseIntegration(corpus[0] as ServiceDeskIntegration, options);
    const edited = structuredClone(corpus[0]) as ServiceDeskIntegration;
    (edited.attributes as Record<string, unknown>)[path.split('/')[2] as string] = value;
    const after = normaliseIntegration(edited, options);
    expect(after.contentHash).not.toBe(before.contentHash);
    const known = new Map([
      [
        before.key,
        { key: before.key, ref: { kind: 'integration' as const, id: 'id0', name: 'x' }, contentHash: before.contentHash, version: 1 },
      ],
    ]);
    const [change] = detectChanges(known, [after], new Map([[before.key, before.content]]), new SeverityRules(), {
      ignoreReferenceNames: true,
    });
    expect(change?.patch.map((p) => p.path)).toEqual([expect.stringContaining(path)]);
    expect(JSON.stringify(change)).not.toContain(value.includes('other-pw-1') ? 'other-pw-1' : value);
  });

  it('a tokenUrl edit is visible in the diff', () => {
    const generic = corpus[5] as ServiceDeskIntegration;
    const before = normaliseIntegration(generic, options);
    const after = normaliseIntegration(
      { ...generic, attributes: { ...(generic.attributes as object), tokenUrl: 'https://evil.example/token' } } as ServiceDeskIntegration,
      options,
    );
    const known = new Map([
      [
        before.key,
        { key: before.key, ref: { kind: 'integration' as const, id: 'id5', name: 'x' }, contentHash: before.contentHash, version: 1 },
      ],
    ]);
    const [change] = detectChanges(known, [after], new Map([[before.key, before.content]]), new SeverityRules(), {
      ignoreReferenceNames: true,
    });
    expect(change?.patch).toEqual([expect.objectContaining({ path: '/attributes/tokenUrl', value: 'https://evil.example/token' })]);
  });

  it('prose is left alone: "Basic authentication", "OAuth flows", a plain URL', () => {
    const text = 'Uses Basic authentication and OAuth flows via https://itsm.example/api?verbose=1, token: none';
    expect(policy.scrub(text)).toBe(text.replace('token: none', 'token: [redacted]'));
  });

  it('scrubs every structural form from log and error text', () => {
    const message = [
      `POST https://svc:${CORPUS_SECRETS.snowUrlPassword}@host/x failed`,
      `Authorization: Bearer ${CORPUS_SECRETS.genericBearer}`,
      `body {"password":"${CORPUS_SECRETS.snowPassword}","apiToken": "${CORPUS_SECRETS.zendeskToken}"}`,
      `jwt ${CORPUS_SECRETS.helixJwt}`,
      `?access_token=${CORPUS_SECRETS.genericQueryToken}&x=1`,
    ].join('\n');
    const scrubbed = policy.scrub(message);
    expect(leakedIn(scrubbed)).toEqual([]);
    expect(scrubbed).toContain('https://svc:[redacted]@host/x failed');
  });

  it('refuses to remove a pattern that is not built in, and removes a built-in only when named', () => {
    expect(() => new SecretPolicy({ removedBuiltIns: ['nope'] })).toThrow(/not a built-in/);
    expect(new SecretPolicy({ removedBuiltIns: ['^pin$'] }).isSecretKey('pin')).toBe(false);
    expect(DEFAULT_SECRET_KEY_PATTERNS).toContain('^pin$');
  });
});

describe('change request payloads use the same policy', () => {
  it.each(corpus.map((c) => [c.name, c] as const))('create of %s: nothing stored, everything restored', (_n, integration) => {
    const operation = { kind: 'create', integration } as unknown as Parameters<typeof splitSecrets>[0];
    const { redacted, secrets } = splitSecrets(operation, policy, hmacKey, 'acme');
    expect(leakedIn(JSON.stringify(redacted))).toEqual([]);
    expect(restoreSecrets(redacted, secrets)).toEqual(operation);
  });

  it('patch values at secret paths, and credential-bearing values anywhere, go to the vault', () => {
    const patch = [
      { op: 'replace', path: '/attributes/password', value: 'n3w-Pass-word-1' },
      { op: 'replace', path: '/attributes/nested~1odd/apiToken', value: { v: 'tok-nested-998877' } },
      { op: 'replace', path: '/attributes/headers', value: [{ name: 'Authorization', value: 'Basic dXNlcjpwYXNzLTEyMzQ1' }] },
      { op: 'replace', path: '/attributes/url', value: 'https://u:url-pw-4455@host' },
      { op: 'replace', path: '/attributes/tokenUrl', value: 'https://host/oauth/token' },
    ];
    const operation = { kind: 'patch', integrationId: 'x', patch };
    const { redacted, secrets } = splitSecrets(operation, policy, hmacKey, 'acme');
    const stored = JSON.stringify(redacted);
    for (const leak of ['n3w-Pass-word-1', 'tok-nested-998877', 'dXNlcjpwYXNzLTEyMzQ1', 'url-pw-4455']) expect(stored).not.toContain(leak);
    expect(stored).toContain('https://host/oauth/token');
    expect(stored).toContain('/attributes/password');
    expect(Object.keys(secrets).sort()).toEqual(['/patch/0/value', '/patch/1/value', '/patch/2/value/0/value', '/patch/3/value']);
    expect(restoreSecrets(redacted, secrets)).toEqual(operation);
  });

  it('a stored string with an inline fingerprint is reported as needing its value', () => {
    const stored = normaliseIntegration(corpus[0] as ServiceDeskIntegration, options).content;
    const { fingerprintsFound } = splitSecrets(stored, policy, hmacKey, 'acme');
    expect(fingerprintsFound).toEqual(expect.arrayContaining(['/attributes/password', '/attributes/instanceUrl']));
    expect(() => restoreSecrets(stored, {})).toThrow(/\/attributes\/instanceUrl/);
  });
});
