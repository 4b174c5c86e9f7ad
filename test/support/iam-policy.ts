/**
 * A small, strict evaluator of the IAM policy statements the stack synthesizes, for tests that ask "would AWS allow
 * this request?". It knows what those statements use (Action, Resource, Principal, and the condition operators
 * below) and throws on anything else, so a new construct in a policy fails the tests instead of being ignored.
 *
 * Semantics (IAM User Guide, "Policy evaluation logic" and "Condition operators"): an explicit Deny wins, else an
 * Allow is needed. A condition block is the AND of its operators and keys; a key's policy values are ORed (for
 * negated operators, none may match). A missing key makes a positive operator false and a negated one true.
 * `ForAllValues` is true when every request value matches some policy value (so also when there is none);
 * `ForAnyValue` when one does. StringLike/ArnLike: `*` any run, `?` one character, case-sensitive; ArnLike compares
 * the six colon-separated fields of an ARN one by one (a wildcard never spans a colon).
 */

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export interface Statement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource: string | string[];
  readonly Principal?: '*' | { AWS: string | string[] };
  readonly Condition?: Record<string, Record<string, string | string[]>>;
  readonly Sid?: string;
}

export interface RequestContext {
  readonly action: string;
  readonly resource: string;
  /** Caller's `aws:PrincipalArn` and account, for resource policies. */
  readonly principalArn?: string;
  readonly keys?: Readonly<Record<string, string | readonly string[] | undefined>>;
}

const KNOWN_STATEMENT_FIELDS = new Set(['Effect', 'Action', 'Resource', 'Principal', 'Condition', 'Sid']);

const compiled = new Map<string, RegExp>();

export function globLike(pattern: string, value: string, ignoreCase = false): boolean {
  const cacheKey = `${ignoreCase ? 'i' : 's'}:${pattern}`;
  let regex = compiled.get(cacheKey);
  if (!regex) {
    const source = pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
      .join('');
    regex = new RegExp(`^${source}$`, ignoreCase ? 'is' : 's');
    compiled.set(cacheKey, regex);
  }
  return regex.test(value);
}

/** IAM's ArnLike: six fields compared one by one; the last field takes any further colons. */
export function arnLike(pattern: string, value: string): boolean {
  const split = (arn: string) => {
    const parts = arn.split(':');
    return parts.length < 6 ? undefined : [...parts.slice(0, 5), parts.slice(5).join(':')];
  };
  const p = split(pattern);
  const v = split(value);
  if (!p || !v) return false;
  return p.every((field, i) => globLike(field, v[i] as string));
}

const list = <T>(value: T | readonly T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? [...value] : [value as T]);

function operatorMatches(operator: string, policyValues: string[], requestValue: string | readonly string[] | undefined): boolean {
  const [qualifier, base] = operator.includes(':') ? (operator.split(':') as [string, string]) : [undefined, operator];
  const compare: Record<string, (p: string, v: string) => boolean> = {
    StringLike: (p, v) => globLike(p, v),
    StringEquals: (p, v) => p === v,
    ArnLike: arnLike,
    ArnEquals: arnLike,
  };
  const negated = base.startsWith('StringNot') || base.startsWith('ArnNot');
  const positive = compare[negated ? base.replace('Not', '') : base];
  if (!positive) throw new Error(`the test evaluator does not know the condition operator ${operator}`);
  const matchesOne = (v: string) => policyValues.some((p) => positive(p, v));
  const values = list(requestValue as string | string[] | undefined);
  if (qualifier === 'ForAllValues') {
    if (negated) throw new Error(`the test evaluator does not know ${operator}`);
    return values.every(matchesOne);
  }
  if (qualifier === 'ForAnyValue') {
    if (negated) throw new Error(`the test evaluator does not know ${operator}`);
    return values.some(matchesOne);
  }
  if (qualifier !== undefined) throw new Error(`the test evaluator does not know ${operator}`);
  if (values.length > 1) throw new Error(`${operator} is single-valued, but the request has ${values.length} values`);
  const value = values[0];
  if (value === undefined) return negated;
  return negated ? !matchesOne(value) : matchesOne(value);
}

function applies(statement: Statement, request: RequestContext, resourcePolicy: boolean): boolean {
  for (const field of Object.keys(statement))
    if (!KNOWN_STATEMENT_FIELDS.has(field)) throw new Error(`the test evaluator does not know the statement field ${field}`);
  if (!list(statement.Action).some((a) => globLike(a, request.action, true))) return false;
  if (!list(statement.Resource).some((r) => globLike(r, request.resource))) return false;
  if (resourcePolicy) {
    const principal = statement.Principal;
    if (principal === undefined) throw new Error('a resource policy statement needs a Principal');
    if (principal !== '*') {
      const caller = request.principalArn ?? '';
      const account = caller.split(':')[4];
      const ok = list(principal.AWS).some(
        (p) => p === '*' || p === caller || (/^arn:[^:]+:iam::\d{12}:root$/.test(p) && p.split(':')[4] === account),
      );
      if (!ok) return false;
    }
  } else if (statement.Principal !== undefined) {
    throw new Error('an identity policy statement has no Principal');
  }
  for (const [operator, keys] of Object.entries(statement.Condition ?? {})) {
    for (const [key, values] of Object.entries(keys)) {
      const requestValue = key === 'aws:PrincipalArn' ? request.principalArn : request.keys?.[key];
      if (!operatorMatches(operator, list(values), requestValue)) return false;
    }
  }
  return true;
}

/** The decision: an explicit Deny wins, else an Allow is needed. For resource policies, Principal is checked too. */
export function decide(
  statements: readonly Statement[],
  request: RequestContext,
  { resourcePolicy = false } = {},
): 'allow' | 'explicit-deny' | 'implicit-deny' {
  const applying = statements.filter((s) => applies(s, request, resourcePolicy));
  if (applying.some((s) => s.Effect === 'Deny')) return 'explicit-deny';
  return applying.some((s) => s.Effect === 'Allow') ? 'allow' : 'implicit-deny';
}

export function isAllowed(statements: readonly Statement[], request: RequestContext, options: { resourcePolicy?: boolean } = {}): boolean {
  return decide(statements, request, options) === 'allow';
}

/**
 * The approval API's resource policy from a synthesized template, the account filled in and `execute-api:/` expanded
 * to `arn:aws:execute-api:<region>:<account>:<apiId>/`, as API Gateway does.
 */
export function apiResourcePolicy(
  template: { findResources(type: string): Record<string, Record<string, unknown>> },
  where: { account: string; region: string; apiId: string },
): Statement[] {
  const [api] = Object.values(template.findResources('AWS::ApiGateway::RestApi'));
  const pseudo = { 'AWS::Partition': 'aws', 'AWS::AccountId': where.account, 'AWS::Region': where.region };
  const policy = (api?.Properties as { Policy?: Json } | undefined)?.Policy ?? {};
  const document = resolveIntrinsics(policy, {}, pseudo) as unknown as { Statement?: Statement[] };
  return (document.Statement ?? []).map((statement) => ({
    ...statement,
    Resource: [statement.Resource]
      .flat()
      .map((r) => r.replace(/^execute-api:\//, `arn:aws:execute-api:${where.region}:${where.account}:${where.apiId}/`)),
  }));
}

/**
 * Resolves the CloudFormation intrinsics CDK writes into policies (Ref, Fn::GetAtt, Fn::Join) with fixed values, so
 * statements can be evaluated: `arns` maps a logical id to the ARN its `Fn::GetAtt [id, 'Arn']` stands for; any
 * other reference becomes `unresolved:<id>`, which matches no resource a test asks about.
 */
export function resolveIntrinsics(value: Json, arns: Record<string, string>, pseudo: Record<string, string>): Json {
  if (Array.isArray(value)) return value.map((v) => resolveIntrinsics(v, arns, pseudo));
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === 'Ref') {
    const id = value.Ref as string;
    return pseudo[id] ?? arns[id] ?? `unresolved:${id}`;
  }
  if (keys.length === 1 && keys[0] === 'Fn::GetAtt') {
    const [id, attribute] = value['Fn::GetAtt'] as [string, string];
    // Resources the test does not name resolve to a value no request of the test names.
    return (attribute === 'Arn' ? arns[id] : undefined) ?? `unresolved:${id}.${attribute}`;
  }
  if (keys.length === 1 && keys[0] === 'Fn::Join') {
    const [separator, parts] = value['Fn::Join'] as [string, Json[]];
    return parts.map((p) => resolveIntrinsics(p, arns, pseudo)).join(separator);
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveIntrinsics(v, arns, pseudo)]));
}
