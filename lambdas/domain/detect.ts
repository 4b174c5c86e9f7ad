import { compare, type Operation } from 'fast-json-patch';
import type { JsonObject } from './canonical';
import { isNoisePath, type NormaliseOptions } from './normalise';
import type { NormalisedResource, ResourceKey, ResourceRef } from './resources';
import type { Severity, SeverityRules } from './severity';

export type ChangeKind = 'added' | 'removed' | 'modified';

/** What the store remembers of a resource between runs: enough to tell whether it changed. */
export interface KnownResource {
  readonly key: ResourceKey;
  readonly ref: ResourceRef;
  readonly contentHash: string;
  readonly version: number;
  /** The keyed digest of the raw document this hash was normalised from (domain/raw-digest.ts); absent in older heads. */
  readonly rawDigest?: string;
}

export interface DetectedChange {
  readonly key: ResourceKey;
  readonly resource: ResourceRef;
  readonly change: ChangeKind;
  readonly fromHash: string | null;
  readonly toHash: string | null;
  /** RFC 6902, from the previous stored content to the new one (against {} for added and removed). */
  readonly patch: Operation[];
  readonly severity: Severity;
}

/** Keys whose hash differs from what is known, plus additions and removals: the only ones whose content is loaded. */
export function changedKeys(
  known: ReadonlyMap<ResourceKey, KnownResource>,
  current: readonly NormalisedResource[],
): {
  added: NormalisedResource[];
  modified: NormalisedResource[];
  removed: KnownResource[];
} {
  const seen = new Set<ResourceKey>();
  const added: NormalisedResource[] = [];
  const modified: NormalisedResource[] = [];
  for (const resource of current) {
    seen.add(resource.key);
    const before = known.get(resource.key);
    if (!before) added.push(resource);
    else if (before.contentHash !== resource.contentHash) modified.push(resource);
  }
  const removed = [...known.values()].filter((k) => !seen.has(k.key));
  return { added, modified, removed };
}

/**
 * Field-level changes between the stored state and the live one. `previousContent` must hold the stored content of
 * every modified and removed key.
 */
export function detectChanges(
  known: ReadonlyMap<ResourceKey, KnownResource>,
  current: readonly NormalisedResource[],
  previousContent: ReadonlyMap<ResourceKey, JsonObject>,
  rules: SeverityRules,
  noise: Pick<NormaliseOptions, 'ignoreReferenceNames'> = {},
): DetectedChange[] {
  const { added, modified, removed } = changedKeys(known, current);
  const contentOf = (key: ResourceKey): JsonObject => {
    const content = previousContent.get(key);
    if (!content) throw new Error(`the stored content of ${key} is needed to diff it and was not loaded`);
    return content;
  };
  const changes: DetectedChange[] = [];
  for (const resource of added) {
    const patch = compare({}, resource.content);
    changes.push({
      key: resource.key,
      resource: refOf(resource),
      change: 'added',
      fromHash: null,
      toHash: resource.contentHash,
      patch,
      severity: rules.forChange('added', []),
    });
  }
  for (const resource of modified) {
    const before = known.get(resource.key) as KnownResource;
    const patch = compare(contentOf(resource.key), resource.content).filter((op) => !isNoisePath(op.path, noise));
    changes.push({
      key: resource.key,
      resource: refOf(resource),
      change: 'modified',
      fromHash: before.contentHash,
      toHash: resource.contentHash,
      patch,
      severity: rules.forChange(
        'modified',
        patch.map((op) => op.path),
      ),
    });
  }
  for (const before of removed) {
    changes.push({
      key: before.key,
      resource: before.ref,
      change: 'removed',
      fromHash: before.contentHash,
      toHash: null,
      patch: compare(contentOf(before.key), {}),
      severity: rules.forChange('removed', []),
    });
  }
  return changes.sort((a, b) => a.key.localeCompare(b.key));
}

export function refOf(resource: NormalisedResource): ResourceRef {
  return { kind: resource.kind, id: resource.id, name: resource.name };
}

/** A patch value larger than this is left out of stored drift and alerts (`sdim-guard diff` shows it whole). */
export const MAX_PATCH_VALUE_BYTES = 8_192;

/**
 * The patch with oversized values replaced by a note of their size: drift items and alerts must fit in one
 * DynamoDB item and one SNS message, and a 1 MB script is read with `diff`, not in an e-mail.
 */
export function boundedPatch(patch: Operation[], maxValueBytes = MAX_PATCH_VALUE_BYTES): Operation[] {
  return patch.map((op) => {
    if (!('value' in op)) return op;
    const size = JSON.stringify(op.value ?? null).length;
    return size <= maxValueBytes ? op : ({ ...op, value: { $omitted: `${size} bytes; see sdim-guard diff` } } as Operation);
  });
}
