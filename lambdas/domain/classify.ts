import type { DetectedChange } from './detect';
import type { ResourceKey } from './resources';

export type Classification = 'expected' | 'accepted' | 'unexpected';

/** An approved change request that was applied, as the apply flow registers it. */
export interface AppliedChange {
  readonly requestId: string;
  readonly key: ResourceKey;
  /** Content hash ISC held right after the apply; null for a deletion. */
  readonly resultHash: string | null;
  readonly appliedAt: string;
}

/** An operator's acknowledgement that a resource may stay at `contentHash` until `until`. */
export interface Acceptance {
  readonly key: ResourceKey;
  readonly contentHash: string | null;
  readonly reason: string;
  readonly by: string;
  readonly at: string;
  readonly until: string;
}

export interface ClassifiedChange extends DetectedChange {
  readonly classification: Classification;
  readonly requestId?: string;
  readonly acceptance?: Acceptance;
}

export function isActive(acceptance: Acceptance, now: Date): boolean {
  return Date.parse(acceptance.until) > now.getTime();
}

/**
 * expected: the new state is exactly what an applied change request produced;
 * accepted: an unexpired acknowledgement covers exactly this state;
 * unexpected: anything else, and worth an alert.
 */
export function classify(
  change: DetectedChange,
  applied: readonly AppliedChange[],
  acceptances: readonly Acceptance[],
  now: Date,
): ClassifiedChange {
  const match = applied.find((a) => a.key === change.key && a.resultHash === change.toHash);
  if (match) return { ...change, classification: 'expected', requestId: match.requestId };
  const acceptance = acceptances.find((a) => a.key === change.key && a.contentHash === change.toHash && isActive(a, now));
  if (acceptance) return { ...change, classification: 'accepted', acceptance };
  return { ...change, classification: 'unexpected' };
}
