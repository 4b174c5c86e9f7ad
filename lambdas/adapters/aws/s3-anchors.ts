import {
  GetObjectCommand,
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandOutput,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type Anchor, type AnchorProblem, anchorJson, parseAnchor } from '../../domain/anchors';
import type { AnchorLedger, AnchorStore } from '../../ports/anchors';
import { assertTenantName } from '../../ports/tenants';

/** Object key of an anchor: `anchors/<tenant>/<seq:10>.json`, so a listing is in seq order. */
export const anchorKey = (tenant: string, seq: number) => `${anchorPrefix(tenant)}${String(seq).padStart(10, '0')}.json`;
export const anchorPrefix = (tenant: string) => `anchors/${tenant}/`;

const READ_CONCURRENCY = 64;

interface StoredVersion {
  readonly key: string;
  readonly versionId: string;
  readonly lastModified: string;
}

/**
 * Anchors in an S3 bucket with Object Lock (compliance mode, default retention; lib/history-anchors.ts): one object
 * per anchor, written with PutObject only. The writer may not overwrite (`If-None-Match: *`), and were anything else
 * to write the same key, versioning keeps the original: `read` compares every version of every anchor.
 */
export class S3AnchorStore implements AnchorStore {
  readonly source: string;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {
    this.source = `s3://${bucket}/anchors/`;
  }

  async write(anchor: Anchor): Promise<'written' | 'already-present'> {
    assertTenantName(anchor.tenant);
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: anchorKey(anchor.tenant, anchor.seq),
          Body: anchorJson(anchor),
          ContentType: 'application/json',
          // Object Lock needs a checksum on every write; SHA-256 is also what an auditor can recompute.
          ChecksumAlgorithm: 'SHA256',
          IfNoneMatch: '*',
        }),
      );
      return 'written';
    } catch (error) {
      // 412: this snapshot is anchored already (a retried write whose first answer was lost). Nothing is replaced;
      // verify compares what is there with the table.
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412) return 'already-present';
      throw error;
    }
  }

  async read(tenant: string): Promise<AnchorLedger> {
    assertTenantName(tenant);
    const prefix = anchorPrefix(tenant);
    const versions = new Map<string, StoredVersion[]>();
    const deleteMarkers: Array<{ key: string; lastModified: string }> = [];
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    do {
      const page: ListObjectVersionsCommandOutput = await this.s3.send(
        new ListObjectVersionsCommand({ Bucket: this.bucket, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }),
      );
      for (const v of page.Versions ?? []) {
        if (!v.Key || !v.VersionId) continue;
        const list = versions.get(v.Key) ?? [];
        list.push({ key: v.Key, versionId: v.VersionId, lastModified: v.LastModified?.toISOString() ?? '' });
        versions.set(v.Key, list);
      }
      for (const m of page.DeleteMarkers ?? [])
        if (m.Key) deleteMarkers.push({ key: m.Key, lastModified: m.LastModified?.toISOString() ?? '' });
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      versionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
    } while (keyMarker);

    const all = [...versions.values()].flat();
    const bodies = new Map<string, string>();
    for (let i = 0; i < all.length; i += READ_CONCURRENCY) {
      await Promise.all(
        all.slice(i, i + READ_CONCURRENCY).map(async (v) => {
          const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: v.key, VersionId: v.versionId }));
          bodies.set(`${v.key}?versionId=${v.versionId}`, (await object.Body?.transformToString('utf-8')) ?? '');
        }),
      );
    }

    const anchors: Anchor[] = [];
    const problems: AnchorProblem[] = [];
    const warnings: string[] = [];
    const seqOf = (key: string) => {
      const match = /^(\d{10})\.json$/.exec(key.slice(prefix.length));
      return match ? Number(match[1]) : undefined;
    };
    for (const marker of deleteMarkers) {
      problems.push({
        ...(seqOf(marker.key) !== undefined ? { seq: seqOf(marker.key) } : {}),
        reason: `someone deleted s3://${this.bucket}/${marker.key} (a delete marker of ${marker.lastModified}); Object Lock kept the anchored version`,
      });
    }
    for (const [key, list] of [...versions.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const seq = seqOf(key);
      const where = (v: StoredVersion) => `s3://${this.bucket}/${v.key}?versionId=${v.versionId}`;
      if (seq === undefined) {
        problems.push({ reason: `s3://${this.bucket}/${key} is not an anchor of ${tenant} (unexpected object name)` });
        continue;
      }
      // S3 lists a key's versions newest first; reversed, the first is the one written when the snapshot was committed.
      const ordered = [...list].reverse();
      const parsed: Array<{ v: StoredVersion; body: string; anchor?: Anchor; error?: string }> = ordered.map((v) => {
        const body = bodies.get(`${v.key}?versionId=${v.versionId}`) ?? '';
        try {
          return { v, body, anchor: parseAnchor(body, where(v)) };
        } catch (error) {
          return { v, body, error: (error as Error).message };
        }
      });
      const [original, ...later] = parsed;
      if (!original) continue;
      if (!original.anchor) {
        problems.push({ seq, reason: original.error ?? `${where(original.v)} is not an anchor` });
        continue;
      }
      if (original.anchor.seq !== seq || original.anchor.tenant !== tenant) {
        problems.push({ seq, reason: `${where(original.v)} holds the anchor of ${original.anchor.tenant} #${original.anchor.seq}` });
        continue;
      }
      const differing = later.filter((l) => l.body !== original.body);
      if (differing.length > 0) {
        problems.push({
          seq,
          reason: `the anchor of snapshot #${seq} was overwritten: ${list.length} versions of s3://${this.bucket}/${key}, ${differing.length} differing from the original of ${original.v.lastModified} (which is the one compared)`,
        });
      } else if (later.length > 0) {
        warnings.push(`s3://${this.bucket}/${key} was written ${list.length} times with the same content`);
      }
      anchors.push(original.anchor);
    }
    return {
      source: `s3://${this.bucket}/${prefix}`,
      anchors: anchors.sort((a, b) => a.seq - b.seq),
      problems,
      warnings,
      evidence: [...bodies.entries()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([where, body]) => ({ where: `s3://${this.bucket}/${where}`, body })),
    };
  }
}
