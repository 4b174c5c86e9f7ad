import { GetObjectCommand, ListObjectVersionsCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { anchorKey, S3AnchorStore } from '../../lambdas/adapters/aws/s3-anchors';
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
function serve(objects: Record<string, string[]>, deleteMarkers: string[] = []) {
  s3.on(ListObjectVersionsCommand, { Bucket: BUCKET, Prefix: 'anchors/acme/' }).resolves({
    IsTruncated: false,
    Versions: Object.entries(objects).flatMap(([Key, versions]) =>
      versions.map((_, i) => ({
        Key,
        VersionId: `${Key}#v${versions.length - i}`,
        IsLatest: i === 0,
        LastModified: new Date(Date.UTC(2026, 10, 24, 10, 0, 60 - i)),
      })),
    ),
    DeleteMarkers: deleteMarkers.map((Key) => ({ Key, VersionId: 'dm', IsLatest: true, LastModified: new Date('2026-11-25T00:00:00Z') })),
  });
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

  it('writes one object per anchor under anchors/<tenant>/<seq:10>.json, never overwriting (If-None-Match)', async () => {
    s3.on(PutObjectCommand).resolves({});
    await expect(new S3AnchorStore(new S3Client({}), BUCKET).write(anchor(7))).resolves.toBe('written');
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: BUCKET,
      Key: 'anchors/acme/0000000007.json',
      Body: anchorJson(anchor(7)),
      ContentType: 'application/json',
      ChecksumAlgorithm: 'SHA256',
      IfNoneMatch: '*',
    });
  });

  it('treats 412 (the anchor exists: a retried write) as already anchored, and rethrows anything else', async () => {
    const store = new S3AnchorStore(new S3Client({}), BUCKET);
    s3.on(PutObjectCommand).rejects(
      new S3ServiceException({
        name: 'PreconditionFailed',
        $fault: 'client',
        $metadata: { httpStatusCode: 412 },
        message: 'At least one of the pre-conditions you specified did not hold',
      }),
    );
    await expect(store.write(anchor(7))).resolves.toBe('already-present');
    s3.reset();
    s3.on(PutObjectCommand).rejects(
      new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'Access Denied' }),
    );
    await expect(store.write(anchor(7))).rejects.toThrow('Access Denied');
  });

  it('reads every anchor: untouched anchors verify against the table', async () => {
    serve(Object.fromEntries([1, 2, 3].map((seq) => [anchorKey('acme', seq), [anchorJson(anchor(seq))]])));
    const verdict = await check(new S3AnchorStore(new S3Client({}), BUCKET));
    expect(verdict).toMatchObject({ ok: true, anchorsChecked: 3, source: `s3://${BUCKET}/anchors/acme/`, lastAnchor: { seq: 3 } });
  });

  it('an anchor overwritten with another hash: the original version is compared and the overwrite reported', async () => {
    serve({
      [anchorKey('acme', 1)]: [anchorJson(anchor(1))],
      // newest first: someone wrote a version matching a rewritten table; the locked original stays
      [anchorKey('acme', 2)]: [anchorJson(anchor(2, 'f'.repeat(64))), anchorJson(anchor(2))],
      [anchorKey('acme', 3)]: [anchorJson(anchor(3))],
    });
    const store = new S3AnchorStore(new S3Client({}), BUCKET);
    const ledger = await store.read('acme');
    expect(ledger.anchors.find((a) => a.seq === 2)?.hash).toBe(anchor(2).hash);
    expect(ledger.evidence).toHaveLength(4);
    expect((await check(store)).firstBroken).toEqual({
      seq: 2,
      reason: `the anchor of snapshot #2 was overwritten: 2 versions of s3://${BUCKET}/anchors/acme/0000000002.json, 1 differing from the original of 2026-11-24T10:00:59.000Z (which is the one compared)`,
    });
  });

  it('the same anchor written twice with the same bytes is a warning, not a break', async () => {
    serve({
      [anchorKey('acme', 1)]: [anchorJson(anchor(1))],
      [anchorKey('acme', 2)]: [anchorJson(anchor(2))],
      [anchorKey('acme', 3)]: [anchorJson(anchor(3)), anchorJson(anchor(3))],
    });
    const verdict = await check(new S3AnchorStore(new S3Client({}), BUCKET));
    expect(verdict.ok).toBe(true);
    expect(verdict.warnings).toEqual([`s3://${BUCKET}/anchors/acme/0000000003.json was written 2 times with the same content`]);
  });

  it('a delete marker on an anchor (an attempted deletion) is reported', async () => {
    serve(Object.fromEntries([1, 2, 3].map((seq) => [anchorKey('acme', seq), [anchorJson(anchor(seq))]])), [anchorKey('acme', 3)]);
    expect((await check(new S3AnchorStore(new S3Client({}), BUCKET))).firstBroken).toEqual({
      seq: 3,
      reason: expect.stringMatching(/^someone deleted s3:\/\/anchors-bucket\/anchors\/acme\/0000000003\.json \(a delete marker/),
    });
  });

  it('an object that is not an anchor of this tenant (wrong seq inside) is reported', async () => {
    serve({
      [anchorKey('acme', 1)]: [anchorJson(anchor(1))],
      [anchorKey('acme', 2)]: [anchorJson(anchor(3))],
      [anchorKey('acme', 3)]: [anchorJson(anchor(3))],
    });
    expect((await check(new S3AnchorStore(new S3Client({}), BUCKET))).firstBroken).toMatchObject({
      seq: 2,
      reason: expect.stringMatching(/holds the anchor of acme #3/),
    });
  });

  it('a truncated table is caught from the anchors in S3', async () => {
    serve(Object.fromEntries([1, 2, 3].map((seq) => [anchorKey('acme', seq), [anchorJson(anchor(seq))]])));
    const ledger = await new S3AnchorStore(new S3Client({}), BUCKET).read('acme');
    const truncated = { snapshots: table.snapshots.slice(0, 2), journal: table.journal };
    expect(verifyAnchors(truncated, { tenant: 'acme', ...ledger, nowMs: 0, graceMs: 1 }).firstBroken).toEqual({
      seq: 3,
      reason: expect.stringMatching(/^history truncated: the table ends at snapshot #2, but snapshot #3 was anchored/),
    });
  });
});
