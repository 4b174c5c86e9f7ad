import { GetObjectCommand, ListObjectVersionsCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { anchorKey, anchorOfKey, S3AnchorStore } from '../../lambdas/adapters/aws/s3-anchors';
import { type Anchor, anchorJson, verifyAnchors } from '../../lambdas/domain/anchors';

// No S3 emulator runs here: the adapter is driven through aws-sdk-client-mock, matched on command input. The bucket
// behaviour it relies on (versions listed newest first, a delete marker per DeleteObject) is S3's documented one.

const s3 = mockClient(S3Client);
const BUCKET = 'anchors-bucket';
const anchor = (seq: number, hash = String(seq).repeat(64).slice(0, 64)): Anchor => ({
  tenant: 'acme',
  seq,
  hash,
  takenAt: `2026-11-24T10:0${seq}:00.000Z`,
  journalSeq: seq,
  journalHash: 'e'.repeat(64),
  anchoredAt: `2026-11-24T10:0${seq}:01.000Z`,
});
/** What the SDK's GetObject body offers the adapter: transformToString. */
const body = (text: string) => ({ transformToString: async () => text }) as never;

/** Serves a bucket: key → versions newest first (as S3 lists them), with optional delete markers. */
function serve(
  objects: Record<string, string[]>,
  deleteMarkers: string[] = [],
  storedAt: Record<string, Date> = {},
  /** Versions per ListObjectVersions page (S3's is 1,000): smaller splits a key's versions across pages, as S3 may. */
  pageSize = 1_000,
) {
  const versions = Object.entries(objects)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .flatMap(([Key, list]) =>
      list.map((_, i) => ({
        Key,
        VersionId: `${Key}#v${list.length - i}`,
        IsLatest: i === 0,
        LastModified: storedAt[Key] ?? new Date(Date.UTC(2026, 10, 24, 10, 0, 60 - i)),
      })),
    );
  const markers = deleteMarkers.map((Key) => ({ Key, VersionId: 'dm', IsLatest: true, LastModified: new Date('2026-11-25T00:00:00Z') }));
  s3.on(ListObjectVersionsCommand, { Bucket: BUCKET, Prefix: 'anchors/acme/' }).callsFake(
    (input: { KeyMarker?: string; VersionIdMarker?: string }) => {
      const start = input.KeyMarker ? versions.findIndex((v) => v.Key === input.KeyMarker && v.VersionId === input.VersionIdMarker) + 1 : 0;
      const page = versions.slice(start, start + pageSize);
      const last = page.at(-1);
      const truncated = start + pageSize < versions.length;
      return {
        IsTruncated: truncated,
        ...(truncated && last ? { NextKeyMarker: last.Key, NextVersionIdMarker: last.VersionId } : {}),
        Versions: page,
        DeleteMarkers: start === 0 ? markers : [],
      };
    },
  );
  for (const [Key, versions] of Object.entries(objects)) {
    versions.forEach((text, i) => {
      s3.on(GetObjectCommand, { Bucket: BUCKET, Key, VersionId: `${Key}#v${versions.length - i}` }).callsFake(() => ({ Body: body(text) }));
    });
  }
}

const table = {
  snapshots: [1, 2, 3].map((seq) => ({ seq, hash: anchor(seq).hash, takenAt: anchor(seq).takenAt })),
  journal: [1, 2, 3].map((seq) => ({ seq, hash: 'e'.repeat(64) })),
};
const check = async (store: S3AnchorStore) => {
  const ledger = await store.read('acme');
  return verifyAnchors(table, { tenant: 'acme', ...ledger, nowMs: Date.parse('2026-11-24T10:10:00Z'), graceMs: 30 * 60_000 });
};

describe('S3AnchorStore', () => {
  beforeEach(() => s3.reset());
  const store = () => new S3AnchorStore(new S3Client({}), BUCKET);
  const untouched = () => Object.fromEntries([1, 2, 3].map((seq) => [anchorKey(anchor(seq)), [anchorJson(anchor(seq))]]));

  it('names each object after the anchor it holds, so the listing alone is the evidence', () => {
    const key = anchorKey(anchor(7));
    expect(key).toBe(`anchors/acme/0000000007_20261124T100700.000Z_${'7'.repeat(64)}_0000000007_${'e'.repeat(64)}.json`);
    expect(anchorOfKey('acme', key, '2026-11-24T10:07:02.000Z')).toEqual({ ...anchor(7), anchoredAt: '2026-11-24T10:07:02.000Z' });
    expect(anchorOfKey('acme', 'anchors/acme/0000000007.json', 'x')).toBeUndefined();
    expect(anchorOfKey('globex', key, 'x')).toBeUndefined();
  });

  it('writes one object per anchor under anchors/<tenant>/, never overwriting (If-None-Match)', async () => {
    s3.on(PutObjectCommand).resolves({});
    await expect(store().write(anchor(7))).resolves.toBe('written');
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: BUCKET,
      Key: anchorKey(anchor(7)),
      Body: anchorJson(anchor(7)),
      ContentType: 'application/json',
      ChecksumAlgorithm: 'SHA256',
      IfNoneMatch: '*',
    });
  });

  it('treats 412 (the anchor exists: a retried write) as already anchored, and rethrows anything else', async () => {
    s3.on(PutObjectCommand).rejects(
      new S3ServiceException({
        name: 'PreconditionFailed',
        $fault: 'client',
        $metadata: { httpStatusCode: 412 },
        message: 'At least one of the pre-conditions you specified did not hold',
      }),
    );
    await expect(store().write(anchor(7))).resolves.toBe('already-present');
    s3.reset();
    s3.on(PutObjectCommand).rejects(
      new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'Access Denied' }),
    );
    await expect(store().write(anchor(7))).rejects.toThrow('Access Denied');
  });

  it('untouched anchors verify against the table from the listing alone: no GET per anchor', async () => {
    serve(untouched());
    const verdict = await check(store());
    expect(verdict).toMatchObject({ ok: true, anchorsChecked: 3, source: `s3://${BUCKET}/anchors/acme/`, lastAnchor: { seq: 3 } });
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    expect((await store().read('acme')).evidence).toHaveLength(3);
  });

  it('an anchor object overwritten with another body: reported, and the name (what was first written) is compared', async () => {
    const key = anchorKey(anchor(2));
    // newest first: someone put a body matching a rewritten table; the locked original stays
    serve({ ...untouched(), [key]: [anchorJson(anchor(2, 'f'.repeat(64))), anchorJson(anchor(2))] });
    const ledger = await store().read('acme');
    expect(ledger.anchors.find((a) => a.seq === 2)?.hash).toBe(anchor(2).hash);
    expect((await check(store())).firstBroken).toEqual({
      seq: 2,
      reason: `the anchor of snapshot #2 was overwritten: 2 versions of s3://${BUCKET}/${key}, 1 not the anchor its name records (the name, written 2026-11-24T10:00:59.000Z, is what is compared)`,
    });
  });

  it('a second, different anchor written for the same snapshot: reported, the older one compared', async () => {
    const forged = anchorKey(anchor(2, 'f'.repeat(64)));
    serve({ ...untouched(), [forged]: [anchorJson(anchor(2, 'f'.repeat(64)))] }, [], { [forged]: new Date('2026-12-01T00:00:00Z') });
    const verdict = await check(store());
    expect(verdict.firstBroken).toEqual({
      seq: 2,
      reason: expect.stringMatching(/^snapshot #2 is anchored 2 times with different content: /),
    });
    expect((await store().read('acme')).anchors.find((a) => a.seq === 2)?.hash).toBe(anchor(2).hash);
  });

  it('reads every page of the listing, also when the versions of an overwritten anchor straddle two pages', async () => {
    const key = anchorKey(anchor(2));
    // 4 versions in pages of 2: page 1 ends with the forged (newest) version of #2, page 2 starts with its original.
    serve({ ...untouched(), [key]: [anchorJson(anchor(2, 'f'.repeat(64))), anchorJson(anchor(2))] }, [], {}, 2);
    const ledger = await store().read('acme');
    expect(s3.commandCalls(ListObjectVersionsCommand).map((c) => c.args[0].input.KeyMarker ?? null)).toEqual([null, key]);
    expect(ledger.anchors.map((a) => [a.seq, a.hash])).toEqual([1, 2, 3].map((seq) => [seq, anchor(seq).hash]));
    expect(ledger.evidence).toHaveLength(4);
    expect((await check(store())).firstBroken).toEqual({
      seq: 2,
      reason: expect.stringMatching(/^the anchor of snapshot #2 was overwritten: 2 versions/),
    });
  });

  it('the same anchor written twice with the same bytes is a warning, not a break', async () => {
    const key = anchorKey(anchor(3));
    serve({ ...untouched(), [key]: [anchorJson(anchor(3)), anchorJson(anchor(3))] });
    const verdict = await check(store());
    expect(verdict.ok).toBe(true);
    expect(verdict.warnings).toEqual([`s3://${BUCKET}/${key} was written 2 times with the same content`]);
  });

  it('a delete marker on an anchor (an attempted deletion) is reported', async () => {
    serve(untouched(), [anchorKey(anchor(3))]);
    expect((await check(store())).firstBroken).toEqual({
      seq: 3,
      reason: expect.stringMatching(/^someone deleted s3:\/\/anchors-bucket\/anchors\/acme\/0000000003_.*\.json \(a delete marker/),
    });
  });

  it('an object under the prefix that is not an anchor is reported', async () => {
    serve({ ...untouched(), 'anchors/acme/notes.txt': ['hello'] });
    expect((await check(store())).firstBroken).toEqual({
      reason: `s3://${BUCKET}/anchors/acme/notes.txt is not an anchor of acme (unexpected object name)`,
    });
  });

  it('a truncated table is caught from the anchors in S3', async () => {
    serve(untouched());
    const ledger = await store().read('acme');
    const truncated = { snapshots: table.snapshots.slice(0, 2), journal: table.journal };
    expect(verifyAnchors(truncated, { tenant: 'acme', ...ledger, nowMs: 0, graceMs: 1 }).firstBroken).toEqual({
      seq: 3,
      reason: expect.stringMatching(/^history truncated: the table ends at snapshot #2, but snapshot #3 was anchored/),
    });
  });
});
