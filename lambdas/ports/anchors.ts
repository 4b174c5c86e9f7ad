import type { Anchor, AnchorProblem } from '../domain/anchors';

/** What is stored outside the table for one tenant, ready for `verify`. */
export interface AnchorLedger {
  /** Where it was read, for people and exports: `s3://bucket/anchors/acme/`, or a file path. */
  readonly source: string;
  /** One anchor per snapshot seq, in seq order: the OLDEST stored copy (the one write-once storage kept). */
  readonly anchors: readonly Anchor[];
  /** What is wrong with the stored anchors themselves: an overwritten or deleted object, an edited file line. */
  readonly problems: readonly AnchorProblem[];
  /** Oddities that prove nothing false (e.g. a copy written twice with the same content). */
  readonly warnings: readonly string[];
  /** Every stored copy, for an export: where (file line; S3 name + version id) and what (the line's bytes; the anchor its S3 name states). */
  readonly evidence: ReadonlyArray<{ readonly where: string; readonly body: string }>;
}

/**
 * Write-once storage for chain heads (see lambdas/domain/anchors.ts). In AWS: S3 with Object Lock in compliance
 * mode, one object per anchor; locally: an append-only, line-chained file per tenant.
 */
export interface AnchorStore {
  /** Where anchors go, for people: `s3://bucket/anchors/`, or the local folder. */
  readonly source: string;
  /**
   * Stores one anchor. `already-present` when this snapshot was anchored before (a retried write): nothing is
   * overwritten. Throws when it could not be stored.
   */
  write(anchor: Anchor): Promise<'written' | 'already-present'>;
  read(tenant: string): Promise<AnchorLedger>;
}
