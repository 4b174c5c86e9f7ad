import type { JsonObject } from './canonical';

export type ResourceKind = 'integration' | 'status-check';

/** `integration:<id>` or `status-check:tenant`: unique within a tenant, stable across renames. */
export type ResourceKey = string;

export const STATUS_CHECK_KEY: ResourceKey = 'status-check:tenant';

export function resourceKey(kind: ResourceKind, id: string): ResourceKey {
  return `${kind}:${id}`;
}

export function parseResourceKey(key: ResourceKey): { kind: ResourceKind; id: string } {
  const at = key.indexOf(':');
  const kind = key.slice(0, at);
  if (at < 1 || (kind !== 'integration' && kind !== 'status-check')) throw new Error(`not a resource key: '${key}'`);
  return { kind, id: key.slice(at + 1) };
}

/** One guarded object as stored: secrets already fingerprinted, volatile fields moved out of `content`. */
export interface NormalisedResource {
  readonly key: ResourceKey;
  readonly kind: ResourceKind;
  readonly id: string;
  readonly name: string;
  /** What is compared and hashed. */
  readonly content: JsonObject;
  readonly contentHash: string;
  /** Volatile facts kept for the record but outside the hash (ISC's `modified`). */
  readonly meta: { readonly modified?: string };
}

export interface ResourceRef {
  readonly kind: ResourceKind;
  readonly id: string;
  readonly name: string;
}
