import { createHash, randomBytes } from 'node:crypto';
import type { Json, JsonObject } from '../../lambdas/domain/canonical';
import { type NormaliseOptions, normaliseIntegration } from '../../lambdas/domain/normalise';
import { type HeadDigest, NORMALISER_VERSION, RawDigests } from '../../lambdas/domain/raw-digest';
import { SecretPolicy } from '../../lambdas/domain/secrets';
import type { ServiceDeskIntegration } from '../../lambdas/isc/schemas';
import { seedIntegrations } from '../../local/emulator/seed';

/** Test credentials, recognisably fake (not literals a secret scanner would take for real ones). */
const fakeCredential = (label: string) => `fake-${label}-for-tests`;
const key = randomBytes(32);
const options: NormaliseOptions = { tenant: 'acme', secretPolicy: new SecretPolicy(), hmacKey: key };
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
  attributes: {
    url: 'https://x',
    password: fakeCredential('password'),
    connection: `Server=db;User Id=svc;Password=${fakeCredential('connection')}`,
    nested: { apiKey: 'k-123' },
  },
};
const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** What the head keeps after a run that normalised `dto`. */
function headAfter(dto: ServiceDeskIntegration, opts: NormaliseOptions = options): HeadDigest {
  const resolved = new RawDigests(opts).resolve(dto, undefined);
  return { contentHash: resolved.resource.contentHash, rawDigest: resolved.rawDigest };
}

/** The first 8 hex digits of the pinned content hash: any change to the normaliser's output changes them. */
const PINNED_HASH_PREFIX = 'b97d1a07';

describe('raw digests: an unchanged raw document keeps its hash without being normalised', () => {
  it('pins what the normaliser produces to NORMALISER_VERSION (if this fails, bump the version and this hash)', () => {
    const fixed: NormaliseOptions = { tenant: 'acme', secretPolicy: new SecretPolicy(), hmacKey: Buffer.alloc(32, 7) };
    expect(NORMALISER_VERSION).toBe(1);
    expect(normaliseIntegration(base, fixed).contentHash.slice(0, 8)).toBe(PINNED_HASH_PREFIX);
  });

  it('reuses the head hash for the same raw document, and the content it would need is the normalised one', () => {
    const head = headAfter(base);
    const digests = new RawDigests(options);
    const again = digests.resolve(copy(base), head);
    expect(again.normalised).toBe(false);
    expect(again.rawDigest).toBe(head.rawDigest);
    expect(again.resource.contentHash).toBe(head.contentHash);
    expect(again.resource).toMatchObject({ key: 'integration:a1', kind: 'integration', id: 'a1', name: 'ServiceNow' });
    expect(again.resource.meta).toEqual({ modified: '2026-01-01T00:00:00Z' });
    expect(again.resource.content).toEqual(normaliseIntegration(base, options).content);
  });

  it('gives the same digest whether a page was digested as it arrived or not', () => {
    const page = seedIntegrations(5, 3);
    const primed = new RawDigests(options);
    primed.prime(page);
    for (const dto of page) expect(primed.of(dto, 'h')).toBe(new RawDigests(options).of(copy(dto), 'h'));
    expect(primed.of(page[0] as ServiceDeskIntegration, 'h')).not.toBe(primed.of(page[0] as ServiceDeskIntegration, 'other'));
  });

  it('normalises a head written before digests, and gives it one', () => {
    const { contentHash } = headAfter(base);
    const resolved = new RawDigests(options).resolve(base, { contentHash });
    expect(resolved).toMatchObject({ normalised: true, vouched: false });
    expect(resolved.rawDigest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('never reuses a hash for a document with any leaf changed: every leaf of 40 seeded integrations, one at a time', () => {
    const digests = new RawDigests(options);
    let leaves = 0;
    for (const dto of seedIntegrations(40, 17)) {
      const head = headAfter(dto);
      for (const path of leafPaths(dto as unknown as JsonObject)) {
        if (path.join('/') === 'modified') continue;
        const changed = copy(dto) as unknown as JsonObject;
        setAt(changed, path, mutate(getAt(changed, path)));
        const resolved = digests.resolve(changed as unknown as ServiceDeskIntegration, head);
        expect([path.join('/'), resolved.normalised]).toEqual([path.join('/'), true]);
        leaves++;
      }
    }
    expect(leaves).toBeGreaterThan(400);
  });

  it('sees a changed credential: normalised again, and its fingerprint changes', () => {
    const head = headAfter(base);
    const changed = copy(base);
    (changed.attributes as Record<string, unknown>).password = 'hunter3';
    const resolved = new RawDigests(options).resolve(changed, head);
    expect(resolved.normalised).toBe(true);
    expect(resolved.resource.contentHash).not.toBe(head.contentHash);
    const fingerprintOf = (dto: ServiceDeskIntegration) =>
      JSON.stringify((normaliseIntegration(dto, options).content.attributes as JsonObject).password);
    expect(fingerprintOf(changed)).not.toBe(fingerprintOf(base));
  });

  it.each<[string, NormaliseOptions]>([
    ['another fingerprint key', { ...options, hmacKey: randomBytes(32) }],
    ['another tenant', { ...options, tenant: 'other' }],
    ['an added secret pattern', { ...options, secretPolicy: new SecretPolicy({ extraPatterns: ['^description$'] }) }],
    ['a removed built-in pattern', { ...options, secretPolicy: new SecretPolicy({ removedBuiltIns: ['token'] }) }],
    ['reference names hashed', { ...options, ignoreReferenceNames: false }],
  ])('normalises everything again under %s', (_what, changedOptions) => {
    const head = headAfter(base);
    const resolved = new RawDigests(changedOptions).resolve(base, head);
    expect(resolved).toMatchObject({ normalised: true, vouched: false });
    expect(resolved.resource.contentHash).toBe(normaliseIntegration(base, changedOptions).contentHash);
  });

  it('falls back to normalising when ISC sends the same object with its keys in another order: no false change', () => {
    const head = headAfter(base);
    const reordered = Object.fromEntries(Object.entries(base).reverse()) as ServiceDeskIntegration;
    const resolved = new RawDigests(options).resolve(reordered, head);
    expect(resolved.normalised).toBe(true);
    expect(resolved.resource.contentHash).toBe(head.contentHash);
    expect(resolved.rawDigest).not.toBe(head.rawDigest);
  });

  it("ignores ISC's modified field, as the content hash does", () => {
    const head = headAfter(base);
    const resolved = new RawDigests(options).resolve({ ...base, modified: '2027-03-03T00:00:00Z' }, head);
    expect(resolved.normalised).toBe(false);
    expect(resolved.resource.contentHash).toBe(normaliseIntegration({ ...base, modified: '2027-03-03T00:00:00Z' }, options).contentHash);
    expect(resolved.resource.meta).toEqual({ modified: '2027-03-03T00:00:00Z' });
  });

  it('a digest vouches only for the hash it was computed with: copied from an older version or another integration, it is refused', () => {
    const v1 = headAfter(base);
    const v2doc = { ...copy(base), description: 'v2' };
    const v2 = headAfter(v2doc);
    const digests = new RawDigests(options);
    // ISC back at v1, the head still at v2 with v1's digest pasted in: the revert is normalised and seen.
    const replayed = digests.resolve(copy(base), { contentHash: v2.contentHash, rawDigest: v1.rawDigest });
    expect(replayed).toMatchObject({ normalised: true, vouched: false });
    expect(replayed.resource.contentHash).toBe(v1.contentHash);
    // Another integration's digest.
    const other = { ...copy(base), id: 'b2' };
    expect(digests.resolve(other, v1)).toMatchObject({ normalised: true, vouched: false });
    // Only a head whose contentHash is the true one for this document is vouched for.
    expect(digests.resolve(copy(base), v1).normalised).toBe(false);
  });

  it('a digest forged with the fingerprint key for a stale hash: the content check throws, and a full pass tells', () => {
    const digests = new RawDigests(options);
    const stale = headAfter(base).contentHash;
    const changed = { ...copy(base), description: 'hidden' };
    const forged: HeadDigest = { contentHash: stale, rawDigest: digests.of(changed, stale) };
    const reused = digests.resolve(changed, forged);
    expect(reused.resource.contentHash).toBe(stale);
    expect(() => reused.resource.content).toThrow(/raw digest vouched for a content hash its normalisation does not give/);
    const full = digests.resolve(changed, forged, false);
    expect(full).toMatchObject({ normalised: true, vouched: true });
    expect(full.resource.contentHash).not.toBe(stale);
  });

  it('is keyed: no digest can be computed without the fingerprint key, and none is a plain hash of the document', () => {
    const digest = headAfter(base).rawDigest as string;
    const { modified: _m, ...rest } = base;
    expect(digest).not.toBe(createHash('sha256').update(JSON.stringify(rest)).digest('hex'));
    expect(new RawDigests({ ...options, hmacKey: randomBytes(32) }).of(base, headAfter(base).contentHash)).not.toBe(digest);
  });
});

describe('listing digest and seal: one digest of the whole fetch, bound to the record it vouches for', () => {
  const page = seedIntegrations(30, 4);
  const statusCheck = { provisioningStatusCheckIntervalMinutes: '30', provisioningMaxStatusCheckDays: '2' };
  const tip = {
    seq: 7,
    hash: 'a'.repeat(64),
    takenAt: '2026-11-24T10:00:00.000Z',
    manifestHash: 'b'.repeat(64),
    resourceCount: 31,
    fullCheckDay: '2026-11-24',
  };
  const listingOf = (items: ServiceDeskIntegration[], check = statusCheck, opts: NormaliseOptions = options, digestKey?: Buffer) =>
    new RawDigests(opts, digestKey).listing(items, check);

  it('is the same for the same documents in any page order, primed or not', () => {
    const primed = new RawDigests(options);
    primed.prime(page);
    expect(primed.listing(page, statusCheck)).toBe(listingOf(copy(page).reverse()));
  });

  it('changes with any leaf of any integration, an integration added or removed, or the status-check configuration', () => {
    const listing = listingOf(page);
    const seen = new Set([listing]);
    const target = page[3] as ServiceDeskIntegration;
    for (const path of leafPaths(target as unknown as Json)) {
      if (path[0] === 'modified') continue;
      const edited = copy(target) as unknown as Json;
      setAt(edited, path, mutate(getAt(edited, path)));
      const other = listingOf(page.map((dto) => (dto === target ? (edited as unknown as ServiceDeskIntegration) : dto)));
      expect([path.join('.'), seen.has(other)]).toEqual([path.join('.'), false]);
      seen.add(other);
    }
    expect(seen.has(listingOf(page.slice(1)))).toBe(false);
    expect(seen.has(listingOf([...page, { ...base, id: 'new-one' }]))).toBe(false);
    expect(seen.has(listingOf(page, { ...statusCheck, provisioningMaxStatusCheckDays: '3' }))).toBe(false);
    // Only ISC's own change stamp is left out, as the content hash leaves it out.
    expect(listingOf(page.map((dto) => ({ ...dto, modified: '2030-01-01T00:00:00Z' })))).toBe(listing);
  });

  it('changes with every setting of normalisation, the fingerprint key and the digest key', () => {
    const listing = listingOf(page);
    expect(listingOf(page, statusCheck, { ...options, tenant: 'other' })).not.toBe(listing);
    expect(listingOf(page, statusCheck, { ...options, ignoreReferenceNames: false })).not.toBe(listing);
    expect(listingOf(page, statusCheck, { ...options, secretPolicy: new SecretPolicy({ extraPatterns: ['^description$'] }) })).not.toBe(
      listing,
    );
    expect(listingOf(page, statusCheck, { ...options, hmacKey: randomBytes(32) })).not.toBe(listing);
    const digestKey = randomBytes(32);
    expect(listingOf(page, statusCheck, options, digestKey)).not.toBe(listing);
    // Another fingerprint key under the same digest key (the AWS layout): secrets fingerprint differently, so no reuse.
    expect(listingOf(page, statusCheck, { ...options, hmacKey: randomBytes(32) }, digestKey)).not.toBe(
      listingOf(page, statusCheck, options, digestKey),
    );
  });

  it('a page digest is bound to its offset, its documents in order and the key; pages() cuts a listing the way the client pages it', () => {
    const digests = new RawDigests(options);
    const first = page.slice(0, 10);
    expect(digests.page(first, 0)).toBe(new RawDigests(options).page(copy(first), 0));
    expect(digests.page(first, 0)).not.toBe(digests.page(first, 250));
    expect(digests.page(first, 0)).not.toBe(digests.page([...first].reverse(), 0));
    expect(digests.page(first, 0)).not.toBe(digests.page(first.slice(1), 0));
    expect(digests.page(first, 0)).not.toBe(new RawDigests(options, randomBytes(32)).page(first, 0));
    expect(digests.pages(page, 10)).toEqual([
      digests.page(page.slice(0, 10), 0),
      digests.page(page.slice(10, 20), 10),
      digests.page(page.slice(20), 20),
    ]);
    expect(digests.pages([], 10)).toEqual([digests.page([], 0)]);
  });

  it('a full-check tag is bound to the record (seq, hash, takenAt) and its day, and to the key', () => {
    const digests = new RawDigests(options);
    const tag = digests.fullCheckTag(tip);
    expect(tag).toMatch(/^[0-9a-f]{64}$/);
    for (const edited of [
      { ...tip, seq: 8 },
      { ...tip, hash: 'c'.repeat(64) },
      { ...tip, takenAt: '2026-11-24T11:00:00.000Z' },
      { ...tip, fullCheckDay: '2026-11-25' },
    ])
      expect(digests.fullCheckTag(edited)).not.toBe(tag);
    expect(new RawDigests(options, randomBytes(32)).fullCheckTag(tip)).not.toBe(tag);
    expect(tag).not.toBe(digests.seal(digests.listing(page, statusCheck), tip));
  });

  it('a seal is bound to every field of the record it was made for, and to the key', () => {
    const digests = new RawDigests(options);
    const listing = digests.listing(page, statusCheck);
    const seal = digests.seal(listing, tip);
    expect(seal).toMatch(/^[0-9a-f]{64}$/);
    expect(new RawDigests(options).seal(listing, tip)).toBe(seal);
    for (const edited of [
      { ...tip, seq: 8 },
      { ...tip, hash: 'c'.repeat(64) },
      { ...tip, manifestHash: 'c'.repeat(64) },
      { ...tip, resourceCount: 30 },
      { ...tip, takenAt: '2026-11-25T10:00:00.000Z' },
      { ...tip, fullCheckDay: '2026-11-25' },
    ])
      expect(digests.seal(listing, edited)).not.toBe(seal);
    expect(digests.seal(listingOf(page.slice(1)), tip)).not.toBe(seal);
    expect(new RawDigests({ ...options, hmacKey: randomBytes(32) }).seal(listing, tip)).not.toBe(seal);
    expect(new RawDigests(options, randomBytes(32)).seal(listing, tip)).not.toBe(seal);
  });
});

function leafPaths(node: Json, path: string[] = []): string[][] {
  if (node !== null && typeof node === 'object') {
    const entries = Array.isArray(node) ? node.map((v, i) => [String(i), v] as const) : Object.entries(node);
    return entries.flatMap(([k, v]) => leafPaths(v, [...path, k]));
  }
  return [path];
}

function getAt(node: Json, path: string[]): Json {
  return path.reduce<Json>((n, k) => (n as Record<string, Json>)[k] as Json, node);
}

function setAt(node: Json, path: string[], value: Json): void {
  const parent = getAt(node, path.slice(0, -1)) as Record<string, Json>;
  parent[path.at(-1) as string] = value;
}

function mutate(value: Json): Json {
  if (typeof value === 'string') return `${value}x`;
  if (typeof value === 'number') return value + 1;
  if (typeof value === 'boolean') return !value;
  return 'was null';
}
