import { canonicalJson, hmacSha256Hex, type Json, type JsonObject } from './canonical';

/** Attribute names treated as credentials unless configured otherwise. Matched case-insensitively on the key. */
export const DEFAULT_SECRET_KEY_PATTERNS: readonly string[] = [
  'pass(word|wd|phrase)?$',
  'secret',
  'token',
  'api[-_]?key',
  'private[-_]?key',
  'access[-_]?key',
  'signing[-_]?key',
  'credential',
  '^key$',
  'client[-_]?certificate',
];

/** How a fingerprinted value looks in stored documents, diffs and alerts: never the value, only its keyed hash. */
export type SecretFingerprint = { $secret: string };

export function isFingerprint(value: unknown): value is SecretFingerprint {
  return typeof value === 'object' && value !== null && typeof (value as { $secret?: unknown }).$secret === 'string';
}

export class SecretPolicy {
  private readonly patterns: RegExp[];

  constructor(patterns: readonly string[] = DEFAULT_SECRET_KEY_PATTERNS) {
    this.patterns = patterns.map((p) => {
      try {
        return new RegExp(p, 'i');
      } catch {
        throw new Error(`secret key pattern '${p}' is not a valid regular expression`);
      }
    });
  }

  isSecretKey(key: string): boolean {
    return this.patterns.some((p) => p.test(key));
  }
}

/**
 * Replaces every value under a secret-looking key (at any depth) with HMAC-SHA-256(key, tenant ‖ value).
 * Keyed so a fingerprint cannot be brute-forced without the key, and tenant-scoped so equal passwords in two
 * tenants do not look equal. A changed secret gives a changed fingerprint; the value never leaves this function.
 */
export function fingerprintSecrets(value: JsonObject, policy: SecretPolicy, hmacKey: Buffer, tenant: string): JsonObject {
  const walk = (node: Json): Json => {
    // Already a fingerprint (a stored version being normalised again): its `$secret` is not a credential to hash.
    if (isFingerprint(node)) return node;
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== 'object') return node;
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(node)) {
      out[k] = policy.isSecretKey(k) && v !== null && !isFingerprint(v) ? fingerprint(v, hmacKey, tenant) : walk(v);
    }
    return out;
  };
  return walk(value) as JsonObject;
}

export function fingerprint(value: Json, hmacKey: Buffer, tenant: string): SecretFingerprint {
  return { $secret: `hmac-sha256:${hmacSha256Hex(hmacKey, `${tenant}\u0000${canonicalJson(value)}`).slice(0, 32)}` };
}
