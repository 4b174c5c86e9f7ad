import { type AccessConfig, globMatches } from './identity';

/**
 * The access configuration's principal patterns as IAM sees callers, so the API's resource policy can refuse, before
 * the function runs, every caller the function would refuse anyway (two gates from one source of truth).
 *
 * The function matches a pattern against the caller the API reports (`requestContext.identity.userArn`): for a role
 * session `arn:aws:sts::A:assumed-role/Role/session`, without the role's path. IAM's `aws:PrincipalArn` is the role
 * itself, path included: `arn:aws:iam::A:role/aws-reserved/sso.amazonaws.com/Role`. So:
 *
 * - `…:assumed-role/ROLE/SESSION` → `arn:…:iam::A:role/ROLE` and the same under any path (`role/<path>/ROLE`).
 *   The session is not in aws:PrincipalArn (only in aws:userid, `<role id>:<session>`, unused here): the resource
 *   policy lets every session of the role through, and the function decides.
 * - IAM users (`…:iam::A:user/…`) and the root user as written, users also under any path; federated users
 *   (`…:sts::A:federated-user/NAME`) as written: their `aws:PrincipalArn` is the same ARN.
 * - `*` (a pattern of stars only) matches everyone: the route gets no IAM-level deny.
 * - Anything else (a local name, a pattern whose wildcard could span the ARN's fields) cannot be converted; the route
 *   then gets no IAM-level deny either (the function still enforces the pattern) and synth warns, naming it.
 *
 * IAM compares ARNs case-sensitively (`ArnLike`) where the function ignores case: write patterns in the case IAM shows
 * the names, or the resource policy refuses a caller the function would let through (it fails closed, never open).
 * Every result is a superset, in IAM's terms, of what the pattern lets through: wildcards keep their meaning (`*` any
 * run, `?` one character) and a converted pattern never loses a caller the function allows (test/unit/iam-patterns).
 */

export type PatternConversion =
  /** Matches any caller: no deny. */
  | { readonly kind: 'anyone' }
  /** `aws:PrincipalArn` patterns (`ArnLike`) that cover every caller the pattern matches; empty when it matches none. */
  | { readonly kind: 'principals'; readonly arns: readonly string[]; readonly note?: string }
  /** Not expressible in IAM: the reason, for the synth warning. */
  | { readonly kind: 'unconvertible'; readonly reason: string };

const WILDCARD = /[*?]/;

/** The literal text before the first wildcard. */
const literalPrefix = (glob: string) => glob.slice(0, glob.search(WILDCARD) === -1 ? glob.length : glob.search(WILDCARD));

/** Could a glob (case-insensitive, `*` spanning anything) match some string starting with `prefix`? */
function mayStartWith(glob: string, prefix: string): boolean {
  const literal = literalPrefix(glob).toLowerCase();
  const p = prefix.toLowerCase();
  return literal.length >= p.length ? literal.startsWith(p) : p.startsWith(literal);
}

/** Could a glob match the empty string? (Only stars, or nothing.) */
const matchesEmpty = (glob: string) => /^\**$/.test(glob);

/** One principal pattern of the access configuration as `aws:PrincipalArn` patterns. */
export function principalArnPatterns(pattern: string): PatternConversion {
  const glob = pattern.trim();
  if (/^\*+$/.test(glob)) return { kind: 'anyone' };
  const fields = glob.split(':');
  if (fields.length !== 6 || fields[0]?.toLowerCase() !== 'arn')
    return {
      kind: 'unconvertible',
      reason: `'${pattern}' is not an IAM ARN pattern of six colon-separated fields (arn:partition:service:region:account:resource)`,
    };
  // A caller ARN has exactly five colons and so does the pattern: its colons can only match the caller's, so each
  // field of the pattern matches exactly one field of the caller, as ArnLike compares them.
  const [, partition, service, region, account, resource] = fields as [string, string, string, string, string, string];
  if (!matchesEmpty(region)) return { kind: 'principals', arns: [], note: `'${pattern}' has a region; IAM and STS ARNs have none` };
  const arns: string[] = [];
  const sts = globMatches(service, 'sts');
  const iam = globMatches(service, 'iam');
  const arn = (svc: string, res: string) => `arn:${partition}:${svc}::${account}:${res}`;
  let note: string | undefined;
  if (sts) {
    if (/^assumed-role\//i.test(resource)) {
      const rest = resource.slice('assumed-role/'.length);
      const slashes = rest.split('/').length - 1;
      if (slashes === 1) {
        // Role and session names hold no slash, so the pattern's one slash is the caller's: the role part is exact.
        const role = rest.slice(0, rest.indexOf('/'));
        arns.push(arn('iam', `role/${role}`), arn('iam', `role/*/${role}`));
      } else if (slashes === 0) {
        // A wildcard takes the slash: the role starts with the literal text before the first wildcard.
        if (WILDCARD.test(rest)) {
          const start = literalPrefix(rest);
          arns.push(arn('iam', `role/${start}*`), arn('iam', `role/*/${start}*`));
        }
      }
      // Two slashes or more match no role session.
    } else if (mayStartWith(resource, 'assumed-role/')) {
      arns.push(arn('iam', 'role/*'));
    }
    if (/^federated-user\//i.test(resource)) arns.push(arn('sts', `federated-user/${resource.slice('federated-user/'.length)}`));
    else if (mayStartWith(resource, 'federated-user/')) arns.push(arn('sts', 'federated-user/*'));
  }
  if (iam) {
    if (/^user\//i.test(resource)) {
      const rest = resource.slice('user/'.length);
      // An IAM user's ARN carries its path; the same pattern under any path covers it whichever way IAM reports it.
      arns.push(arn('iam', `user/${rest}`), arn('iam', `user/*/${rest}`));
    } else if (mayStartWith(resource, 'user/')) {
      arns.push(arn('iam', 'user/*'));
    }
    if (globMatches(resource, 'root')) arns.push(arn('iam', 'root'));
    if (/^role\//i.test(resource))
      note = `'${pattern}' names a role, but the API reports a role's callers as arn:aws:sts::<account>:assumed-role/<role>/<session>: write that form`;
  }
  if (!sts && !iam) note = `'${pattern}' names neither iam nor sts: it matches no caller`;
  return { kind: 'principals', arns: [...new Set(arns)], ...(note && arns.length === 0 ? { note } : {}) };
}

/** The access lists a gate is open to (the function's own rule for the same route). */
type AccessList = 'proposers' | 'approvers';

/** An API route, as the resource policy names it (`execute-api:/<stage>/<METHOD>/<path>`). */
export interface ApiGate {
  readonly method: 'GET' | 'POST';
  /** The path, `*` for one path parameter (or, for GET, every path). */
  readonly path: string;
  /** The function lets a caller through when it matches one of these lists. */
  readonly lists: readonly AccessList[];
}

/**
 * Which list guards which route, as the approval function checks them (lambdas/handlers/approval-api.ts and
 * use-cases/change-requests.ts): proposing needs a proposer; approving and accepting drift an approver; rejecting an
 * approver, or the requester withdrawing (a proposer), so IAM admits both lists; every read either list.
 */
export const API_GATES: readonly ApiGate[] = [
  { method: 'POST', path: '/requests', lists: ['proposers'] },
  { method: 'POST', path: '/requests/*/approve', lists: ['approvers'] },
  { method: 'POST', path: '/requests/*/reject', lists: ['proposers', 'approvers'] },
  { method: 'POST', path: '/tenants/*/drift/accept', lists: ['approvers'] },
  { method: 'GET', path: '/*', lists: ['proposers', 'approvers'] },
];

export interface GateRule {
  readonly gate: ApiGate;
  /**
   * `anyone`: no IAM-level deny (a list admits everyone, or holds a pattern IAM cannot express); otherwise the
   * `aws:PrincipalArn` patterns outside which the resource policy denies the route (empty: deny everyone).
   */
  readonly allow: 'anyone' | readonly string[];
  /** Patterns that kept the route open although the list restricts it, with why. */
  readonly unconvertible: readonly string[];
  /** Patterns that match no API caller at all, with why (they admit nobody at either gate). */
  readonly notes: readonly string[];
}

/** The resource policy's rule for each gated route, from the same access configuration the function enforces. */
export function gateRules(access: AccessConfig): GateRule[] {
  return API_GATES.map((gate) => {
    const patterns = [...new Set(gate.lists.flatMap((list) => access[list]))];
    const conversions = patterns.map(principalArnPatterns);
    const unconvertible = conversions.flatMap((c) => (c.kind === 'unconvertible' ? [c.reason] : []));
    const notes = conversions.flatMap((c) => (c.kind === 'principals' && c.note ? [c.note] : []));
    const open = conversions.some((c) => c.kind === 'anyone') || unconvertible.length > 0;
    const arns = [...new Set(conversions.flatMap((c) => (c.kind === 'principals' ? c.arns : [])))];
    return { gate, allow: open ? 'anyone' : arns, unconvertible, notes };
  });
}
