/**
 * Who is a caller, as far as four eyes are concerned. A principal is what authentication gives us (an IAM ARN in AWS,
 * a name locally); a person is who stands behind it. The model is conservative: two principals count as the same
 * person unless the product can tell them apart, because a requester who can pass for two people approves alone.
 *
 * - IAM users are people, by account and user name (IAM user names are case-insensitive).
 * - IAM Identity Center roles (`AWSReservedSSO_*`, see `identityCenterRoles`) are people by session name: Identity
 *   Center sets the session name to the user name, not the caller. The same user under two permission sets (or two
 *   accounts) is one person.
 * - Any other assumed role is ONE person whatever its session name (the caller chooses the session name), unless the
 *   deployment declares the role trusted for session names (`trustedSessionRoles`: its trust policy enforces
 *   `sts:RoleSessionName` or `sts:SourceIdentity`).
 * - Federated users (GetFederationToken) choose their own name: one person per account. The root user: one per account.
 * - Local names (the CLI's `--as`): one person per name, ignoring case, surrounding blanks and Unicode compatibility
 *   forms.
 * - `people` joins principals into one person (never splits them): a principal matching a person's patterns is that
 *   person as well as itself, so joining only ever makes two principals more alike.
 */

export interface AccessConfig {
  /** Principal patterns allowed to propose (and withdraw) requests. @default ['*'] (IAM and the resource policy decide) */
  readonly proposers: readonly string[];
  /** Principal patterns allowed to approve or reject requests. @default ['*'] */
  readonly approvers: readonly string[];
  /** Roles whose session names identify people (trust policy enforces them), as role ARN patterns. @default [] */
  readonly trustedSessionRoles: readonly string[];
  /** Role names whose sessions Identity Center names. @default ['AWSReservedSSO_*'] */
  readonly identityCenterRoles: readonly string[];
  /** person → principal patterns that are that person. @default {} */
  readonly people: Readonly<Record<string, readonly string[]>>;
}

export const DEFAULT_ACCESS: AccessConfig = {
  proposers: ['*'],
  approvers: ['*'],
  trustedSessionRoles: [],
  identityCenterRoles: ['AWSReservedSSO_*'],
  people: {},
};

/** A caller as four eyes sees it: the principal, and every person key it may stand for. */
export interface Identity {
  readonly principal: string;
  /** Two identities are the same person when these sets share a key. Sorted. */
  readonly persons: readonly string[];
}

export type Route = 'propose' | 'approve' | 'reject' | 'withdraw' | 'read';

/** `*` matches any run of characters (slashes included), `?` one character; case-insensitive, otherwise exact. */
export function globMatches(pattern: string, value: string): boolean {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 'i').test(value);
}

const fold = (text: string) => text.normalize('NFKC').trim().toLowerCase();

const ARN = /^arn:([^:]+):(iam|sts)::(\d{12}|[^:]*):(.+)$/i;

/** The person key a principal stands for before any `people` join. */
export function baseKey(principal: string, config: AccessConfig = DEFAULT_ACCESS): string {
  const match = ARN.exec(principal.trim());
  if (!match) return principal.startsWith('arn:') ? `arn:${fold(principal)}` : `local:${fold(principal)}`;
  const [, partition, service, account, resource] = match as unknown as [string, string, string, string, string];
  const parts = resource.split('/');
  if (service.toLowerCase() === 'iam' && parts[0] === 'user' && parts.length >= 2)
    return `iam-user:${account}:${fold(parts.at(-1) as string)}`;
  if (service.toLowerCase() === 'iam' && resource === 'root') return `root:${account}`;
  if (service.toLowerCase() === 'sts' && parts[0] === 'assumed-role' && parts.length === 3) {
    const role = parts[1] as string;
    const session = parts[2] as string;
    if (config.identityCenterRoles.some((p) => globMatches(p, role))) return `sso:${fold(session)}`;
    const roleArn = `arn:${partition}:iam::${account}:role/${role}`;
    if (config.trustedSessionRoles.some((p) => globMatches(p, roleArn) || globMatches(p, role)))
      return `role:${account}:${fold(role)}/${fold(session)}`;
    return `role:${account}:${fold(role)}`;
  }
  if (service.toLowerCase() === 'sts' && parts[0] === 'federated-user') return `federated:${account}`;
  return `arn:${fold(principal)}`;
}

/** Every person a principal may be: itself, and each person of the `people` mapping it matches. */
export function identify(principal: string, config: AccessConfig = DEFAULT_ACCESS): Identity {
  const persons = new Set([baseKey(principal, config)]);
  for (const [person, patterns] of Object.entries(config.people)) {
    if (patterns.some((p) => globMatches(p, principal.trim()))) persons.add(`person:${fold(person)}`);
  }
  return { principal, persons: [...persons].sort() };
}

export function samePerson(a: Identity, b: Identity): boolean {
  return a.persons.some((p) => b.persons.includes(p));
}

/** Why a caller may not use a route, or undefined when they may. Reads are open to proposers and approvers. */
export function forbiddenReason(principal: string, route: Route, config: AccessConfig = DEFAULT_ACCESS): string | undefined {
  const allowed = (patterns: readonly string[]) => patterns.some((p) => globMatches(p, principal.trim()));
  const ok =
    route === 'propose' || route === 'withdraw'
      ? allowed(config.proposers)
      : route === 'approve' || route === 'reject'
        ? allowed(config.approvers)
        : allowed(config.proposers) || allowed(config.approvers);
  if (ok) return undefined;
  const who = route === 'propose' || route === 'withdraw' ? 'proposers' : route === 'read' ? 'proposers or approvers' : 'approvers';
  return `${principal} may not ${route === 'read' ? 'read change requests' : `${route} change requests`}: it matches none of the configured ${who}`;
}

/** Parses the access configuration (a file locally, an environment variable in Lambda); every problem is named. */
export function parseAccessConfig(json: string | undefined, source: string): AccessConfig {
  if (json === undefined || json.trim() === '') return DEFAULT_ACCESS;
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error(`${source}: the access configuration is not valid JSON`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new Error(`${source}: the access configuration must be a JSON object`);
  const value = raw as Record<string, unknown>;
  const known = Object.keys(DEFAULT_ACCESS);
  const unknown = Object.keys(value).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new Error(`${source}: unknown access setting(s) ${unknown.join(', ')}; known: ${known.join(', ')}`);
  const patterns = (name: keyof AccessConfig): readonly string[] => {
    // Only a missing key takes the default: `"proposers": null` is a mistake, not "anyone".
    const list = name in value ? value[name] : DEFAULT_ACCESS[name];
    if (!Array.isArray(list) || list.some((p) => typeof p !== 'string' || !p.trim()))
      throw new Error(`${source}: ${name} must be a list of principal patterns (non-empty strings), not ${JSON.stringify(list)}`);
    // An empty list of who may propose or approve locks everyone out: a mistake, never a setting (["*"] opens it).
    if ((name === 'proposers' || name === 'approvers') && list.length === 0)
      throw new Error(
        `${source}: ${name} is empty, so nobody could ${name === 'proposers' ? 'propose' : 'approve'}; list at least one principal pattern`,
      );
    return list as string[];
  };
  const people = 'people' in value ? value.people : {};
  if (typeof people !== 'object' || people === null || Array.isArray(people))
    throw new Error(`${source}: people must be an object mapping a person to a list of principal patterns`);
  for (const [person, list] of Object.entries(people)) {
    if (!person.trim() || !Array.isArray(list) || list.length === 0 || list.some((p) => typeof p !== 'string' || !p.trim()))
      throw new Error(`${source}: people.${person} must be a non-empty list of principal patterns`);
  }
  return {
    proposers: patterns('proposers'),
    approvers: patterns('approvers'),
    trustedSessionRoles: patterns('trustedSessionRoles'),
    identityCenterRoles: patterns('identityCenterRoles'),
    people: people as Record<string, string[]>,
  };
}
