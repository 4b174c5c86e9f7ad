import { API_GATES, gateRules, principalArnPatterns } from '../../lambdas/domain/iam-patterns';
import { type AccessConfig, DEFAULT_ACCESS, forbiddenReason, globMatches, type Route } from '../../lambdas/domain/identity';
import { arnLike } from '../support/iam-policy';

// The resource policy (outer gate) is derived from the same access configuration the function (inner gate) enforces.
// What must hold: the outer gate never denies a caller the inner gate lets through, and for ARN patterns it denies
// callers of other roles and accounts as the inner gate does.

/** A caller as the API reports it (userArn) and as IAM evaluates it (aws:PrincipalArn). */
interface Caller {
  readonly userArn: string;
  readonly principalArn: string;
}

const ACCOUNTS = ['111122223333', '444455556666'];
const ROLES = [
  { name: 'ChangeBoard', path: '/' },
  { name: 'AWSReservedSSO_Engineers_0123abcd4567ef89', path: '/aws-reserved/sso.amazonaws.com/eu-west-1/' },
  { name: 'AWSReservedSSO_ChangeBoard_99ff00ee11dd22cc', path: '/aws-reserved/sso.amazonaws.com/' },
  { name: 'BreakGlass', path: '/ops/' },
  { name: 'Deployer', path: '/' },
];
const SESSIONS = ['alice', 'bob@example.com', 'mallory-2'];
const USERS = [
  { name: 'alice', path: '/' },
  { name: 'bob', path: '/devs/' },
];

const CALLERS: Caller[] = ACCOUNTS.flatMap((a) => [
  ...ROLES.flatMap((r) =>
    SESSIONS.map((s) => ({
      userArn: `arn:aws:sts::${a}:assumed-role/${r.name}/${s}`,
      principalArn: `arn:aws:iam::${a}:role${r.path}${r.name}`,
    })),
  ),
  ...USERS.map((u) => ({ userArn: `arn:aws:iam::${a}:user${u.path}${u.name}`, principalArn: `arn:aws:iam::${a}:user${u.path}${u.name}` })),
  { userArn: `arn:aws:sts::${a}:federated-user/carol`, principalArn: `arn:aws:sts::${a}:federated-user/carol` },
  { userArn: `arn:aws:iam::${a}:root`, principalArn: `arn:aws:iam::${a}:root` },
]);

/** Does the derived IAM rule let this caller's aws:PrincipalArn through for a pattern? */
function outerAllows(pattern: string, caller: Caller): boolean {
  const converted = principalArnPatterns(pattern);
  if (converted.kind !== 'principals') return true;
  return converted.arns.some((arn) => arnLike(arn, caller.principalArn));
}

/** Patterns made from callers by replacing runs with `*` and characters with `?`, deterministic per seed. */
function generatedPatterns(count: number, seed: number): string[] {
  let state = seed;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let text = (CALLERS[Math.floor(random() * CALLERS.length)] as Caller).userArn;
    for (let edits = 1 + Math.floor(random() * 3); edits > 0; edits--) {
      const from = Math.floor(random() * text.length);
      const length = Math.floor(random() * 12);
      text = random() < 0.7 ? `${text.slice(0, from)}*${text.slice(from + length)}` : `${text.slice(0, from)}?${text.slice(from + 1)}`;
    }
    out.push(text);
  }
  return out;
}

const HANDWRITTEN = [
  '*',
  '**',
  'arn:aws:sts::111122223333:assumed-role/ChangeBoard/*',
  'arn:aws:sts::111122223333:assumed-role/ChangeBoard/bob@example.com',
  'arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_ChangeBoard_*/*',
  'arn:aws:sts::*:assumed-role/AWSReservedSSO_*/alice',
  'arn:aws:sts::111122223333:assumed-role/*',
  'arn:aws:sts::111122223333:assumed-role/Change*',
  'arn:aws:sts::111122223333:*',
  'arn:aws:iam::111122223333:user/alice',
  'arn:aws:iam::111122223333:user/*',
  'arn:aws:iam::*:user/devs/bob',
  'arn:aws:iam::111122223333:root',
  'arn:aws:sts::111122223333:federated-user/carol',
  'arn:aws:*::111122223333:*',
  'arn:*:*::*:*',
  'arn:aws:iam::111122223333:role/ChangeBoard',
  'arn:aws:sts:eu-west-1:111122223333:assumed-role/ChangeBoard/*',
  'arn:aws:sts::111122223333:assumed-role/a/b/c',
  'alice',
  '*alice*',
  'arn:aws:sts::*',
];

describe('access patterns as IAM principal ARNs', () => {
  it.each([
    ['*', { kind: 'anyone' }],
    [
      'arn:aws:sts::111122223333:assumed-role/ChangeBoard/*',
      { kind: 'principals', arns: ['arn:aws:iam::111122223333:role/ChangeBoard', 'arn:aws:iam::111122223333:role/*/ChangeBoard'] },
    ],
    [
      'arn:aws:sts::*:assumed-role/AWSReservedSSO_ChangeBoard_*/*',
      {
        kind: 'principals',
        arns: ['arn:aws:iam::*:role/AWSReservedSSO_ChangeBoard_*', 'arn:aws:iam::*:role/*/AWSReservedSSO_ChangeBoard_*'],
      },
    ],
    [
      'arn:aws:iam::111122223333:user/alice',
      { kind: 'principals', arns: ['arn:aws:iam::111122223333:user/alice', 'arn:aws:iam::111122223333:user/*/alice'] },
    ],
    ['arn:aws:iam::111122223333:root', { kind: 'principals', arns: ['arn:aws:iam::111122223333:root'] }],
    ['arn:aws:sts::111122223333:federated-user/carol', { kind: 'principals', arns: ['arn:aws:sts::111122223333:federated-user/carol'] }],
    ['alice', { kind: 'unconvertible', reason: expect.stringMatching(/'alice' is not an IAM ARN pattern/) }],
    ['arn:aws:sts::*', { kind: 'unconvertible', reason: expect.stringMatching(/six colon-separated fields/) }],
    ['arn:aws:iam::111122223333:role/ChangeBoard', { kind: 'principals', arns: [], note: expect.stringMatching(/assumed-role/) }],
    ['arn:aws:sts:eu-west-1:111122223333:assumed-role/X/*', { kind: 'principals', arns: [], note: expect.stringMatching(/has a region/) }],
  ])('%s', (pattern, expected) => {
    expect(principalArnPatterns(pattern)).toEqual(expected);
  });

  it('never denies a caller the function lets through: handwritten and 3,000 generated patterns, every caller', () => {
    const patterns = [...HANDWRITTEN, ...generatedPatterns(3000, 42)];
    let innerAllowed = 0;
    let denied = 0;
    for (const pattern of patterns) {
      const converted = principalArnPatterns(pattern);
      for (const caller of CALLERS) {
        const inner = globMatches(pattern, caller.userArn);
        const outer = converted.kind !== 'principals' || converted.arns.some((arn) => arnLike(arn, caller.principalArn));
        if (inner) innerAllowed++;
        if (!outer) denied++;
        if (inner && !outer)
          throw new Error(`${pattern} lets ${caller.userArn} through the function but IAM denies ${caller.principalArn}`);
      }
    }
    // The corpus is not vacuous: callers are let through and callers are denied.
    expect(innerAllowed).toBeGreaterThan(3000);
    expect(denied).toBeGreaterThan(30_000);
    console.log(
      `iam patterns: ${patterns.length} patterns x ${CALLERS.length} callers: ${innerAllowed} let through by the function (all by IAM), ${denied} denied by IAM`,
    );
  });

  it('denies callers of another role or account at both gates, for an ARN pattern', () => {
    const pattern = 'arn:aws:sts::111122223333:assumed-role/ChangeBoard/*';
    const others = CALLERS.filter((c) => !c.userArn.startsWith('arn:aws:sts::111122223333:assumed-role/ChangeBoard/'));
    expect(others.length).toBeGreaterThan(30);
    for (const caller of others)
      expect([caller.userArn, globMatches(pattern, caller.userArn), outerAllows(pattern, caller)]).toEqual([caller.userArn, false, false]);
    const user = 'arn:aws:iam::111122223333:user/alice';
    for (const caller of CALLERS.filter((c) => c.userArn !== user))
      expect([caller.userArn, globMatches(user, caller.userArn), outerAllows(user, caller)]).toEqual([caller.userArn, false, false]);
  });

  it('lets every session of a listed role through IAM: only the function can tell sessions apart', () => {
    const pattern = 'arn:aws:sts::111122223333:assumed-role/ChangeBoard/bob@example.com';
    const alice = CALLERS.find((c) => c.userArn === 'arn:aws:sts::111122223333:assumed-role/ChangeBoard/alice') as Caller;
    expect([globMatches(pattern, alice.userArn), outerAllows(pattern, alice)]).toEqual([false, true]);
  });

  it('compares case as IAM does: a pattern in another case than the role fails closed at IAM, never open', () => {
    const caller = CALLERS[0] as Caller;
    const lower = 'arn:aws:sts::111122223333:assumed-role/changeboard/*';
    expect([globMatches(lower, caller.userArn), outerAllows(lower, caller)]).toEqual([true, false]);
  });
});

describe('the routes the resource policy gates', () => {
  /** The route of the resource policy the function's check for `route` corresponds to. */
  const gateOf = (route: Route, drift = false) =>
    API_GATES.find((g) =>
      route === 'propose'
        ? g.path === '/requests'
        : route === 'approve'
          ? g.path === (drift ? '/tenants/*/drift/accept' : '/requests/*/approve')
          : route === 'reject' || route === 'withdraw'
            ? g.path === '/requests/*/reject'
            : g.method === 'GET',
    );
  const allowedByRule = (rules: ReturnType<typeof gateRules>, route: Route, caller: Caller, drift = false) => {
    const rule = rules.find((r) => r.gate === gateOf(route, drift));
    if (!rule) throw new Error(`no gate for ${route}`);
    return rule.allow === 'anyone' || rule.allow.some((arn) => arnLike(arn, caller.principalArn));
  };

  it('never denies at a route what the function allows there, for 500 generated configurations', () => {
    const patterns = [...HANDWRITTEN.filter((p) => p.startsWith('arn:')), ...generatedPatterns(1000, 7)];
    let checked = 0;
    for (let i = 0; i < 500; i++) {
      const pick = (n: number) =>
        Array.from({ length: 1 + (n % 3) }, (_, k) => patterns[(i * 7 + k * 131 + n) % patterns.length] as string);
      const config: AccessConfig = { ...DEFAULT_ACCESS, proposers: pick(i), approvers: pick(i + 17) };
      const rules = gateRules(config);
      for (const caller of CALLERS) {
        for (const route of ['propose', 'approve', 'reject', 'withdraw', 'read'] as const) {
          if (forbiddenReason(caller.userArn, route, config)) continue;
          checked++;
          if (!allowedByRule(rules, route, caller) || (route === 'approve' && !allowedByRule(rules, route, caller, true)))
            throw new Error(`${JSON.stringify(config)}: IAM denies ${caller.principalArn} the ${route} route the function allows`);
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
    console.log(`iam gates: 500 configurations x ${CALLERS.length} callers x 5 routes: ${checked} allowed by the function, all by IAM`);
  });

  it('leaves a route open at IAM, and says why, when a list holds a pattern IAM cannot express', () => {
    const rules = gateRules({ ...DEFAULT_ACCESS, proposers: ['alice'], approvers: ['arn:aws:iam::111122223333:user/bob'] });
    const propose = rules.find((r) => r.gate.path === '/requests');
    expect(propose).toMatchObject({ allow: 'anyone', unconvertible: [expect.stringMatching(/'alice'/)] });
    expect(rules.find((r) => r.gate.path === '/requests/*/approve')?.allow).toEqual([
      'arn:aws:iam::111122223333:user/bob',
      'arn:aws:iam::111122223333:user/*/bob',
    ]);
  });
});
