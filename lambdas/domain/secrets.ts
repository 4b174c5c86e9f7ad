import { canonicalJson, hmacSha256Hex, type Json, type JsonObject } from './canonical';

/**
 * THE secret policy: one definition of "credential" used by snapshots, diffs, change requests (and their patches),
 * alerts, exports, logs and error messages. A value is a credential when
 *   - its attribute NAME says so (built-in list below, plus patterns a tenant adds; exclusions such as `tokenUrl`
 *     or `passwordPolicy` name settings about credentials, not credentials), or
 *   - it sits in a name/value pair that names a credential (`{"name": "Authorization", "value": "Basic …"}`), or
 *   - its STRUCTURE says so, wherever it appears inside a string: URL userinfo (`https://svc:pw@host`), an
 *     Authorization scheme and its credential (`Bearer …`, `Basic …`), a JWT, a PEM private key, or a
 *     `name=value` / `"name": "value"` pair whose name is a credential name (connection strings, query strings,
 *     header lines, embedded JSON).
 * Names are compared with `-`, `_`, `.` and spaces removed, case-insensitively (`X-Api-Key` is `xapikey`).
 */
export const DEFAULT_SECRET_KEY_PATTERNS: readonly string[] = [
  'pass(word|wd|phrase|code)',
  '^pass$',
  'pwd$',
  'secret',
  'token',
  '(api|private|access|signing|secret|encryption|master|shared|hmac|app|auth|session|subscription|consumer|license)key',
  '^key$',
  'credential',
  'clientcertificate',
  '^auth$',
  'authorization',
  'auth(header|string|value|code|info|data)',
  'cookie',
  'sessionid',
  'connectionstring',
  'bearer',
  '^pin$',
];

/**
 * Names that contain a credential word but hold something else: where a token is fetched, a password policy, a
 * header's name. Matched against the normalised name; the value is still checked by structure.
 */
export const SECRET_NAME_EXCLUSIONS =
  /(url|uri|endpoint|host|path|policy|policies|type|types|expiry|expires|expiresat|expiration|expirationdate|ttl|length|format|field|fields|name|names|(?<!session)ids?|arn|label|hint|enabled|required|rotation|rotationdays|changed|changedat|updatedat|reset|location|prefix|scope|scopes|lifetime|timeout|count|attribute|mode|method|strategy|provider|flow|grant|granttype|style|scheme|version)$/;

/** How a fingerprinted value looks in stored documents, diffs and alerts: never the value, only its keyed hash. */
export type SecretFingerprint = { $secret: string };

export function isFingerprint(value: unknown): value is SecretFingerprint {
  return typeof value === 'object' && value !== null && typeof (value as { $secret?: unknown }).$secret === 'string';
}

/** What replaces a credential found inside a longer string. */
export const INLINE_MARKER = /\[secret hmac-sha256:[0-9a-f]{32}\]/;
const INLINE_MARKER_G = new RegExp(INLINE_MARKER.source, 'g');
export const REDACTED = '[redacted]';

const NAME_FIELDS = ['name', 'key', 'header', 'headerName', 'field', 'param', 'parameter', 'attribute', 'property'];
const VALUE_FIELDS = ['value', 'val', 'headerValue', 'content', 'data'];

const AUTH_SCHEME = /\b(Bearer|Basic|Token|Digest|Negotiate|NTLM|SSWS|ApiKey|Api-Key|OAuth)([ \t]+)([A-Za-z0-9\-._~+/]+=*)/gi;
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@:'"<>]*)(?::([^\s/?#@'"<>]*))?@/gi;
const JWT = /\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;
const PEM_PRIVATE = /(-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----)[\s\S]*?(-----END \2PRIVATE KEY-----)/g;
/** name=value, name: value, "name": "value", 'name' = 'value' — the name is judged by the name policy. */
const NAMED_VALUE =
  /(["']?)([A-Za-z_][A-Za-z0-9_.-]{0,60})\1([ \t]*[=:][ \t]*)(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|(?!\/\/|\[secret |\[redacted\])([^\s"',;&}<>)\]]+))/g;
/** Bounds the memory of isSecretKey answers (names seen; a few hundred in practice). */
const MAX_REMEMBERED_NAMES = 10_000;
const SCHEME_WORD = /^(Bearer|Basic|Token|Digest|Negotiate|NTLM|SSWS|ApiKey|Api-Key|OAuth)$/i;

export interface SecretPolicyOptions {
  /** Patterns added to the built-in ones (case-insensitive, on the normalised name). */
  readonly extraPatterns?: readonly string[];
  /** Built-in patterns switched off by an explicit, logged override; each must be a built-in. */
  readonly removedBuiltIns?: readonly string[];
}

export class SecretPolicy {
  private readonly patterns: RegExp[];
  private readonly answers = new Map<string, boolean>();
  readonly removedBuiltIns: readonly string[];

  /**
   * Everything that decides what this policy calls a credential, as one string: its name patterns, the exclusions, the
   * name/value pair fields and the structural detectors. Equal for two policies that fingerprint every document the
   * same way; the raw-document digests of the heads are bound to it (see raw-digest.ts).
   */
  readonly rules: string;

  constructor(options: SecretPolicyOptions = {}) {
    const removed = options.removedBuiltIns ?? [];
    for (const r of removed) {
      if (!DEFAULT_SECRET_KEY_PATTERNS.includes(r)) throw new Error(`'${r}' is not a built-in secret key pattern, so it cannot be removed`);
    }
    this.removedBuiltIns = [...removed];
    const sources = [...DEFAULT_SECRET_KEY_PATTERNS.filter((p) => !removed.includes(p)), ...(options.extraPatterns ?? [])];
    this.patterns = sources.map((p) => {
      try {
        return new RegExp(p, 'i');
      } catch {
        throw new Error(`secret key pattern '${p}' is not a valid regular expression`);
      }
    });
    this.rules = JSON.stringify({
      patterns: sources,
      exclusions: SECRET_NAME_EXCLUSIONS.source,
      nameFields: NAME_FIELDS,
      valueFields: VALUE_FIELDS,
      structure: [AUTH_SCHEME, URL_USERINFO, JWT, PEM_PRIVATE, NAMED_VALUE, SCHEME_WORD, INLINE_MARKER].map((r) => r.source),
    });
  }

  /** Is a value under this attribute (or header, or parameter) name a credential? */
  isSecretKey(key: string): boolean {
    // Names repeat across every integration of every snapshot (and each `name: value` inside a string asks again),
    // and each answer costs a score of regular expressions: remember answers. The keys are what stands before a `=` or
    // `:` (in free text that can be any word); they stay in this process's memory and are never logged or stored.
    const known = this.answers.get(key);
    if (known !== undefined) return known;
    const name = normaliseName(key);
    const answer = name !== '' && !SECRET_NAME_EXCLUSIONS.test(name) && this.patterns.some((p) => p.test(name) || p.test(key));
    if (this.answers.size >= MAX_REMEMBERED_NAMES) this.answers.clear();
    this.answers.set(key, answer);
    return answer;
  }

  /** Does a JSON Pointer pass through a credential name (`/attributes/password`, `/attributes/auth/token`)? */
  isSecretPath(pointer: string): boolean {
    return pointer
      .split('/')
      .slice(1)
      .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'))
      .some((t) => !/^\d+$/.test(t) && this.isSecretKey(t));
  }

  /** For a name/value pair naming a credential, the field holding the value. */
  credentialPairValueField(node: JsonObject): string | undefined {
    const nameField = NAME_FIELDS.find((f) => typeof node[f] === 'string');
    if (!nameField || !this.isSecretKey(node[nameField] as string)) return undefined;
    return VALUE_FIELDS.find((f) => f in node && f !== nameField && node[f] !== null);
  }

  /**
   * Replaces every credential found by structure inside `text` with `replace(credential)`, keeping what is not a
   * credential (the URL's host, the scheme word, the setting's name) readable.
   */
  redactInString(text: string, replace: (credential: string) => string): string {
    if (text.length < 6) return text;
    let out = text;
    if (out.includes('PRIVATE KEY-----'))
      out = out.replace(PEM_PRIVATE, (match, begin: string, _type, end: string) => {
        const body = match.slice(begin.length, match.length - end.length);
        return isMarker(body) ? match : `${begin}${replace(body)}${end}`;
      });
    if (out.includes('://'))
      out = out.replace(URL_USERINFO, (match, scheme: string, user: string, password: string | undefined) => {
        if (password !== undefined && password !== '' && !INLINE_MARKER.test(password)) return `${scheme}${user}:${replace(password)}@`;
        // A lone userinfo that looks like a token (https://ghp_xxx@host) is one.
        if (password === undefined && user.length >= 16 && /\d/.test(user) && !INLINE_MARKER.test(user))
          return `${scheme}${replace(user)}@`;
        return match;
      });
    out = out.replace(AUTH_SCHEME, (match, scheme: string, space: string, credential: string) =>
      looksLikeCredential(scheme, credential) ? `${scheme}${space}${replace(credential)}` : match,
    );
    if (out.includes('eyJ')) out = out.replace(JWT, (jwt) => replace(jwt));
    if (/[=:]/.test(out)) {
      out = out.replace(NAMED_VALUE, (match, quote: string, name: string, sep: string, dq?: string, sq?: string, bare?: string) => {
        const value = dq ?? sq ?? bare ?? '';
        if (value === '' || !this.isSecretKey(name) || SCHEME_WORD.test(value) || INLINE_MARKER.test(value) || value === REDACTED)
          return match;
        if (/^(true|false|null|\d{1,3})$/i.test(value)) return match;
        const shown = dq !== undefined ? `"${replace(value)}"` : sq !== undefined ? `'${replace(value)}'` : replace(value);
        return `${quote}${name}${quote}${sep}${shown}`;
      });
    }
    return out;
  }

  /** Text for logs and error messages: every credential found by structure replaced by `[redacted]`. */
  scrub(text: string): string {
    return this.redactInString(text, () => REDACTED);
  }
}

function isMarker(text: string): boolean {
  return new RegExp(`^${INLINE_MARKER.source}$`).test(text.trim()) || text.trim() === REDACTED;
}

function normaliseName(key: string): string {
  return key.replace(/[-_.\s]/g, '').toLowerCase();
}

function looksLikeCredential(scheme: string, credential: string): boolean {
  if (INLINE_MARKER.test(credential) || credential === REDACTED) return false;
  if (/^basic$/i.test(scheme)) {
    if (credential.length < 8) return false;
    const decoded = Buffer.from(credential, 'base64').toString('utf8');
    return decoded.includes(':') || credential.length >= 16;
  }
  // Prose ("Token based", "OAuth flows") is not a credential: those have digits or mixed symbols and some length.
  return credential.length >= 12 && /\d/.test(credential) && /[A-Za-z]/.test(credential);
}

/**
 * Replaces every credential in a document — by name, by name/value pair and by structure inside strings — with
 * HMAC-SHA-256(key, tenant ‖ value). Keyed so a fingerprint cannot be brute-forced without the key, and
 * tenant-scoped so equal passwords in two tenants do not look equal. A changed credential gives a changed
 * fingerprint (so the change is still detected); the value never leaves this function.
 */
export function fingerprintSecrets(value: JsonObject, policy: SecretPolicy, hmacKey: Buffer, tenant: string): JsonObject {
  const inline = (credential: string) => inlineFingerprint(credential, hmacKey, tenant);
  const walk = (node: Json): Json => {
    if (typeof node === 'string') return policy.redactInString(node, inline);
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== 'object') return node;
    // Already a fingerprint (a stored version being normalised again): its `$secret` is not a credential to hash.
    if (isFingerprint(node)) return node;
    const pairValue = policy.credentialPairValueField(node);
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(node)) {
      const secret = k === pairValue || (policy.isSecretKey(k) && !(pairValue && NAME_FIELDS.includes(k)));
      out[k] = secret && v !== null && !isFingerprint(v) ? fingerprint(v, hmacKey, tenant) : walk(v);
    }
    return out;
  };
  return walk(value) as JsonObject;
}

export function fingerprint(value: Json, hmacKey: Buffer, tenant: string): SecretFingerprint {
  return { $secret: `hmac-sha256:${hmacSha256Hex(hmacKey, `${tenant}\u0000${canonicalJson(value)}`).slice(0, 32)}` };
}

/** A credential found inside a longer string, as the string keeps it: `[secret hmac-sha256:…]`. */
export function inlineFingerprint(credential: string, hmacKey: Buffer, tenant: string): string {
  return `[secret ${fingerprint(credential, hmacKey, tenant).$secret}]`;
}

/** Does a stored string still hold inline fingerprints (credentials that must be supplied again to be sent)? */
export function hasInlineFingerprint(text: string): boolean {
  return INLINE_MARKER.test(text);
}

/** Replaces inline fingerprints (for display, `[secret]` is enough). */
export function countInlineFingerprints(text: string): number {
  return text.match(INLINE_MARKER_G)?.length ?? 0;
}

const BUILT_IN_POLICY = new SecretPolicy();

/** Log and error text with every credential the built-in policy finds by structure replaced by `[redacted]`. */
export function scrubText(text: string): string {
  return BUILT_IN_POLICY.scrub(text);
}

/** An error as a log line: name, scrubbed message and stack; never the raw object (it may hold request bodies). */
export function scrubError(error: unknown): string {
  if (!(error instanceof Error)) return scrubText(String(error));
  return scrubText(`${error.name}: ${error.message}${error.stack ? `\n${error.stack.split('\n').slice(1).join('\n')}` : ''}`);
}
