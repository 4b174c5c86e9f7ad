import type { Operation } from 'fast-json-patch';
import type { Json, JsonObject } from './canonical';
import type { ChainedSnapshot } from './chain';
import type { ResourceKey } from './resources';
import { isFingerprint } from './secrets';

/**
 * What a reader of the console or the API sees in place of a credential: never the value, and not its fingerprint
 * either (a fingerprint of a weak password can be guessed offline by anyone holding the key), only whether it changed.
 */
export const CREDENTIAL_UNCHANGED = '•••••• (credential unchanged)';
export const CREDENTIAL_CHANGED = '•••••• (credential changed)';
export const CREDENTIAL_SET = '•••••• (credential)';

/**
 * Two documents of one resource, side by side: every fingerprinted credential becomes "changed" or "unchanged"
 * depending on the fingerprint at the same place on the other side. Fingerprints must already be in place
 * (normalised content), so a raw secret can never reach this point unmasked only if callers normalise first.
 */
export function maskPair(left: Json | null, right: Json | null): { left: Json | null; right: Json | null } {
  return { left: mask(left, right), right: mask(right, left) };
}

function mask(node: Json | null, other: Json | null | undefined): Json | null {
  if (isFingerprint(node)) {
    if (other === undefined) return CREDENTIAL_SET;
    return isFingerprint(other) && other.$secret === node.$secret ? CREDENTIAL_UNCHANGED : CREDENTIAL_CHANGED;
  }
  if (Array.isArray(node)) return node.map((v, i) => mask(v, Array.isArray(other) ? other[i] : undefined) as Json);
  if (node === null || typeof node !== 'object') return node;
  const otherObject = other !== null && typeof other === 'object' && !Array.isArray(other) ? other : undefined;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(node)) out[k] = mask(v, otherObject?.[k]) as Json;
  return out;
}

/** A JSON Patch as shown to a reader: values that are (or hold) fingerprints read "credential changed". */
export function maskPatch(patch: readonly Operation[]): Operation[] {
  const hide = (value: unknown): unknown => {
    if (isFingerprint(value)) return CREDENTIAL_CHANGED;
    if (Array.isArray(value)) return value.map(hide);
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, hide(v)]));
    return value;
  };
  return patch.map((op) => ('value' in op ? ({ ...op, value: hide(op.value) } as Operation) : { ...op }));
}

export interface LastChange {
  readonly key: ResourceKey;
  readonly seq: number;
  readonly takenAt: string;
  readonly change: string;
  readonly version: number;
  readonly classification?: string;
}

/** The latest recorded change of every resource, replayed from the snapshot chain (oldest first). */
export function lastChanges(snapshots: readonly ChainedSnapshot[]): Map<ResourceKey, LastChange> {
  const out = new Map<ResourceKey, LastChange>();
  for (const s of snapshots) {
    for (const c of s.changes) {
      out.set(c.key, {
        key: c.key,
        seq: s.seq,
        takenAt: s.takenAt,
        change: c.change,
        version: c.version,
        ...(c.classification ? { classification: c.classification } : {}),
      });
    }
  }
  return out;
}

/** Case-insensitive search over the given fields (the console passes an integration's name, id and key). */
export function matchesSearch(fields: readonly (string | undefined)[], search: string | undefined): boolean {
  const needle = search?.trim().toLowerCase();
  if (!needle) return true;
  return fields.some((f) => f?.toLowerCase().includes(needle));
}
