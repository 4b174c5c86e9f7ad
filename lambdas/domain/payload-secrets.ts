import type { Json, JsonObject } from './canonical';
import { fingerprint, hasInlineFingerprint, inlineFingerprint, isFingerprint, type SecretPolicy } from './secrets';

/** Values taken out of a payload, by JSON Pointer, to be kept by the Secrets port instead of the request record. */
export type SecretValues = Record<string, Json>;

const escapeToken = (t: string) => t.replaceAll('~', '~0').replaceAll('/', '~1');
const unescapeToken = (t: string) => t.replaceAll('~1', '/').replaceAll('~0', '~');

/**
 * Splits a payload into what may be stored (credentials replaced by fingerprints) and the credentials themselves,
 * with the same secret policy as snapshots: by name, by name/value pair, by structure inside strings, and — for
 * JSON Patch operations — the `value` of an operation whose `path` names a credential (`/attributes/password`).
 * A string with a credential inside (a URL with userinfo, a header line) goes to the vault whole; the stored copy
 * keeps the rest readable with inline fingerprints.
 * `fingerprintsFound` lists pointers that already held a fingerprint (a stored version being reverted): those values
 * are gone and must be supplied.
 */
export function splitSecrets(payload: Json, policy: SecretPolicy, hmacKey: Buffer, tenant: string) {
  const secrets: SecretValues = {};
  const fingerprintsFound: string[] = [];
  const walk = (node: Json, path: string, underSecretKey: boolean): Json => {
    if (isFingerprint(node) || (typeof node === 'string' && hasInlineFingerprint(node))) {
      fingerprintsFound.push(path);
      return node;
    }
    if (underSecretKey && node !== null) {
      secrets[path] = node;
      return fingerprint(node, hmacKey, tenant);
    }
    if (typeof node === 'string') {
      const redacted = policy.redactInString(node, (credential) => inlineFingerprint(credential, hmacKey, tenant));
      if (redacted !== node) secrets[path] = node;
      return redacted;
    }
    if (Array.isArray(node)) return node.map((v, i) => walk(v, `${path}/${i}`, false));
    if (node === null || typeof node !== 'object') return node;
    const pairValue = policy.credentialPairValueField(node);
    const patchSecret = isPatchOperation(node) && policy.isSecretPath(node.path as string);
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(node)) {
      const secret =
        k === pairValue ||
        (patchSecret && k === 'value') ||
        (policy.isSecretKey(k) && !(pairValue && k !== pairValue && isNameField(node, k)));
      out[k] = walk(v, `${path}/${escapeToken(k)}`, secret);
    }
    return out;
  };
  const redacted = walk(payload, '', false);
  return { redacted, secrets, fingerprintsFound };
}

function isPatchOperation(node: JsonObject): boolean {
  return typeof node.op === 'string' && typeof node.path === 'string' && 'value' in node;
}

/** The name side of a name/value pair ({"key": "X-Api-Key", "value": …}) is a header name, not a credential. */
function isNameField(node: JsonObject, k: string): boolean {
  return (
    typeof node[k] === 'string' &&
    ['name', 'key', 'header', 'headerName', 'field', 'param', 'parameter', 'attribute', 'property'].includes(k)
  );
}

/** Puts supplied values back at their pointers; every fingerprint left over is a value nobody supplied. */
export function restoreSecrets(redacted: Json, secrets: SecretValues): Json {
  const copy = structuredClone(redacted);
  for (const [pointer, value] of Object.entries(secrets)) {
    const tokens = pointer.split('/').slice(1).map(unescapeToken);
    if (tokens.length === 0) continue;
    let node: Json = copy;
    for (const token of tokens.slice(0, -1)) {
      if (node === null || typeof node !== 'object') break;
      node = Array.isArray(node) ? (node[Number(token)] as Json) : (node[token] as Json);
    }
    const last = tokens.at(-1) as string;
    if (node !== null && typeof node === 'object') {
      if (Array.isArray(node)) node[Number(last)] = value;
      else node[last] = value;
    }
  }
  const missing: string[] = [];
  const check = (node: Json, path: string) => {
    if (isFingerprint(node) || (typeof node === 'string' && hasInlineFingerprint(node))) missing.push(path);
    else if (Array.isArray(node)) {
      for (const [i, v] of node.entries()) check(v, `${path}/${i}`);
    } else if (node !== null && typeof node === 'object') for (const [k, v] of Object.entries(node)) check(v, `${path}/${escapeToken(k)}`);
  };
  check(copy, '');
  if (missing.length > 0) throw new Error(`no value for the credential(s) at ${missing.join(', ')}`);
  return copy;
}
