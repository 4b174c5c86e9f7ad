import {
  GetObjectCommand,
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandOutput,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type Anchor, type AnchorProblem, anchorJson } from '../../domain/anchors';
import type { AnchorLedger, AnchorStore } from '../../ports/anchors';
import { assertTenantName } from '../../ports/tenants';

export const anchorPrefix = (tenant: string) => `anchors/${tenant}/`;

const KEY = /^(\d{10})_(\d{8}T\d{6}\.\d{3}Z)_([0-9a-f]{64})_(\d{10})_([0-9a-f]{64})\.json$/;
const compactTime = (iso: string) => new Date(iso).toISOString().replace(/[-:]/g, '');

/**
 * Object key of an anchor: `anchors/<tenant>/<seq:10>_<takenAt>_<hash>_<journalSeq:10>_<journalHash>.json`. The key
 * itself holds what verify compares, so one ListObjectVersions page (1,000 keys) checks 1,000 anchors without a GET,
 * and a listing is in seq order. The object's body is the same anchor as JSON, for people.
 */
export const anchorKey = (anchor: Omit<Anchor, 'anchoredAt'>) =>
  `${anchorPrefix(anchor.tenant)}${String(anchor.seq).padStart(10, '0')}_${compactTime(anchor.takenAt)}_${anchor.hash}_${String(anchor.journalSeq).padStart(10, '0')}_${anchor.journalHash}.json`;

/** The anchor a key names (anchoredAt: when S3 stored its first version); undefined for any other name. */
export function anchorOfKey(tenant: string, key: string, storedAt: string): Anchor | undefined {
  const m = KEY.exec(key.slice(anchorPrefix(tenant).length));
  if (!key.startsWith(anchorPrefix(tenant)) || !m) return undefined;
  const [, seq, t, hash, journalSeq, journalHash] = m as unknown as [string, string, string, string, string, string];
  const takenAt = `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 11)}:${t.slice(11, 13)}:${t.slice(13)}`;
  return { tenant, seq: Number(seq), hash, takenAt, journalSeq: Number(journalSeq), journalHash, anchoredAt: storedAt };
}

const READ_CONCURRENCY = 16;

interface StoredVersion {
  readonly key: string;
  readonly versionId: string;
  readonly lastModified: string;
}

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
          Key: anchorKey(anchor),
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

    // Only keys written more than once are read: their bodies are compared with what the key says.
    const rewritten = [...versions.values()].filter((list) => list.length > 1).flat();
    const bodies = new Map<string, string>();
    for (let i = 0; i < rewritten.length; i += READ_CONCURRENCY) {
      await Promise.all(
        rewritten.slice(i, i + READ_CONCURRENCY).map(async (v) => {
          const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: v.key, VersionId: v.versionId }));
          bodies.set(v.versionId, (await object.Body?.transformToString('utf-8')) ?? '');
        }),
      );
    }

    const problems: AnchorProblem[] = [];
    const warnings: string[] = [];
    const evidence: Array<{ where: string; body: string }> = [];
    const bySeq = new Map<number, Array<{ anchor: Anchor; key: string }>>();
    const url = (key: string) => `s3://${this.bucket}/${key}`;
    for (const marker of deleteMarkers) {
      const seq = /^(\d{10})_/.exec(marker.key.slice(prefix.length))?.[1];
      problems.push({
        ...(seq ? { seq: Number(seq) } : {}),
        reason: `someone deleted ${url(marker.key)} (a delete marker of ${marker.lastModified}); Object Lock kept the anchored version`,
      });
    }
    for (const [key, list] of [...versions.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      // S3 lists a key's versions newest first; the last is the one written when the snapshot was committed.
      const original = list.at(-1) as StoredVersion;
      const anchor = anchorOfKey(tenant, key, original.lastModified);
      // The evidence of an S3 anchor is its name and version (what verify compares), as the listing gave them.
      for (const v of [...list].reverse())
        evidence.push({
          where: `${url(key)}?versionId=${v.versionId}`,
          body: anchor ? anchorJson({ ...anchor, anchoredAt: v.lastModified }) : '',
        });
      if (!anchor) {
        problems.push({ reason: `${url(key)} is not an anchor of ${tenant} (unexpected object name)` });
        continue;
      }
      if (list.length > 1) {
        const differing = list.filter((v) => !bodyMatches(bodies.get(v.versionId), anchor));
        if (differing.length > 0)
          problems.push({
            seq: anchor.seq,
            reason: `the anchor of snapshot #${anchor.seq} was overwritten: ${list.length} versions of ${url(key)}, ${differing.length} not the anchor its name records (the name, written ${original.lastModified}, is what is compared)`,
          });
        else warnings.push(`${url(key)} was written ${list.length} times with the same content`);
      }
      const same = bySeq.get(anchor.seq) ?? [];
      same.push({ anchor, key });
      bySeq.set(anchor.seq, same);
    }
    const anchors: Anchor[] = [];
    for (const [seq, copies] of [...bySeq.entries()].sort(([a], [b]) => a - b)) {
      // Two names for one seq: a second, different anchor was written beside the first; the older one is compared.
      const ordered = [...copies].sort((a, b) => (a.anchor.anchoredAt < b.anchor.anchoredAt ? -1 : 1));
      if (ordered.length > 1)
        problems.push({
          seq,
          reason: `snapshot #${seq} is anchored ${ordered.length} times with different content: ${ordered.map((c) => url(c.key)).join(', ')} (the oldest is compared)`,
        });
      anchors.push((ordered[0] as { anchor: Anchor }).anchor);
    }
    return { source: `s3://${this.bucket}/${prefix}`, anchors, problems, warnings, evidence };
  }
}

/** Whether a stored body is the anchor its key names (the body's anchoredAt is the writer's clock: not compared). */
function bodyMatches(body: string | undefined, anchor: Anchor): boolean {
  try {
    const stored = JSON.parse(body ?? '') as Partial<Anchor>;
    return anchorJson({ ...(stored as Anchor), anchoredAt: '' }) === anchorJson({ ...anchor, anchoredAt: '' });
  } catch {
    return false;
  }
}
