import { App, type CfnElement, type Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { type AccessConfig, DEFAULT_ACCESS, forbiddenReason, type Route } from '../../lambdas/domain/identity';
import { SdimGuardStack, type SdimGuardStackProps } from '../../lib/sdim-guard-stack';
import { apiResourcePolicy, isAllowed, type Json, resolveIntrinsics, type Statement } from '../support/iam-policy';

// The two IAM gates this stack draws from its configuration: each function's table access (dynamodb:LeadingKeys),
// and the approval API's resource policy (derived from the same access configuration the function enforces).

const ACCOUNT = '111122223333';
const TENANTS = [{ name: 'acme', url: 'https://acme.api.identitynow.com' }];
const PSEUDO = { 'AWS::Partition': 'aws', 'AWS::AccountId': ACCOUNT, 'AWS::Region': 'eu-west-1' };

function synth(props: Partial<SdimGuardStackProps> = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new SdimGuardStack(app, 'Access', { tenants: TENANTS, apiGatewayLogsRole: 'existing', ...props });
  return { app, stack, template: Template.fromStack(stack) };
}

const logicalId = (stack: Stack, construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as CfnElement);

/** The DynamoDB statements of a function's role, table ARN as `TABLE`. */
function tableStatements(stack: SdimGuardStack, template: Template, role: IRole | undefined) {
  const roleId = logicalId(stack, role as unknown as { node: { defaultChild?: unknown } });
  const tableId = logicalId(stack, stack.store.table);
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Json[])
    .map((s) => resolveIntrinsics(s, { [tableId]: 'TABLE' }, PSEUDO) as unknown as Statement)
    .filter((s) => [s.Action].flat().some((a) => a.startsWith('dynamodb:')));
}

const leading = (keys: string[]) => ({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': keys } });

describe('table access per function (dynamodb:LeadingKeys)', () => {
  const { stack, template } = synth();

  it('lets the snapshot function read and write its tenants and resource versions, and nothing of change requests', () => {
    expect(tableStatements(stack, template, stack.snapshots.function.role)).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:BatchGetItem', 'dynamodb:Query'],
        Resource: 'TABLE',
        Condition: leading(['T#*', 'R#*']),
      },
      { Effect: 'Allow', Action: 'dynamodb:Query', Resource: 'TABLE', Condition: leading(['L#*']) },
      {
        Effect: 'Allow',
        Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
        Resource: 'TABLE',
        Condition: leading(['T#*', 'R#*']),
      },
    ]);
  });

  it('lets the apply function get and write requests, and write its tenant ledger and journal', () => {
    expect(tableStatements(stack, template, stack.changes.function.role)).toEqual([
      { Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: 'TABLE', Condition: leading(['CR#*']) },
      { Effect: 'Allow', Action: 'dynamodb:Query', Resource: 'TABLE', Condition: leading(['T#*']) },
      { Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: 'TABLE', Condition: leading(['CR#*', 'T#*', 'L#*']) },
    ]);
  });

  it('lets the sweeper list requests on gsi1 (the CR partition only)', () => {
    expect(tableStatements(stack, template, stack.changes.sweeper.role)).toEqual([
      { Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: 'TABLE', Condition: leading(['CR#*']) },
      { Effect: 'Allow', Action: 'dynamodb:Query', Resource: 'TABLE', Condition: leading(['T#*']) },
      { Effect: 'Allow', Action: 'dynamodb:Query', Resource: 'TABLE/index/gsi1', Condition: leading(['CR']) },
      { Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: 'TABLE', Condition: leading(['CR#*', 'T#*']) },
    ]);
  });

  it('lets the approval API read everything it serves and write only requests and tenant items', () => {
    expect(tableStatements(stack, template, stack.approvals.function.role)).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'],
        Resource: 'TABLE',
        Condition: leading(['CR#*', 'T#*', 'R#*']),
      },
      { Effect: 'Allow', Action: 'dynamodb:Query', Resource: 'TABLE/index/gsi1', Condition: leading(['CR', 'T#*#S']) },
      { Effect: 'Allow', Action: 'dynamodb:Query', Resource: 'TABLE', Condition: leading(['L#*']) },
      { Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: 'TABLE', Condition: leading(['CR#*', 'T#*']) },
    ]);
  });

  it('lets no role of the stack but the approval API, apply and sweeper write a change request, nor read one but them', () => {
    // Every role in the template, not only the four functions: a function added later is checked too.
    const tableId = logicalId(stack, stack.store.table);
    const byRole = new Map<string, Statement[]>();
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
      for (const role of policy.Properties.Roles as Array<{ Ref: string }>) {
        const statements = (policy.Properties.PolicyDocument.Statement as Json[]).map(
          (st) => resolveIntrinsics(st, { [tableId]: 'TABLE' }, PSEUDO) as unknown as Statement,
        );
        byRole.set(role.Ref, [...(byRole.get(role.Ref) ?? []), ...statements]);
      }
    }
    const can = (action: string, key: string, resource = 'TABLE') =>
      [...byRole.entries()]
        .filter(([, statements]) => isAllowed(statements, { action, resource, keys: { 'dynamodb:LeadingKeys': [key] } }))
        .map(([role]) => role)
        .sort();
    const roleOf = (fn: { role?: IRole }) => logicalId(stack, fn.role as unknown as { node: { defaultChild?: unknown } });
    const writers = [stack.approvals.function, stack.changes.function, stack.changes.sweeper].map(roleOf).sort();
    expect(byRole.size).toBeGreaterThan(4);
    for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'])
      expect([action, can(action, 'CR#r-1').every((r) => writers.includes(r))]).toEqual([action, true]);
    expect(can('dynamodb:PutItem', 'CR#r-1')).toEqual(writers);
    expect(can('dynamodb:GetItem', 'CR#r-1')).toEqual(writers);
    expect(can('dynamodb:Query', 'CR', 'TABLE/index/gsi1')).toEqual([stack.approvals.function, stack.changes.sweeper].map(roleOf).sort());
    expect(can('dynamodb:Query', 'T#acme#S', 'TABLE/index/gsi1')).toEqual([roleOf(stack.approvals.function)]);
    // And of every role in the template, only the apply function's may write the ledger.
    for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'])
      expect([action, can(action, 'L#acme')]).toEqual([action, action === 'dynamodb:PutItem' ? [roleOf(stack.changes.function)] : []]);
  });

  it('lets only the apply role write the ledger, the items that make a change "expected"', () => {
    // A role that writes drift, journal or request items (the approval API) must not also be able to write a ledger
    // entry: with one it could make a hand edit in ISC pass as an approved change.
    const statementsOf = (fn: { role?: IRole }) => tableStatements(stack, template, fn.role);
    const ledgerWriters = [stack.snapshots.function, stack.changes.function, stack.changes.sweeper, stack.approvals.function].filter((fn) =>
      ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'].some((action) =>
        isAllowed(statementsOf(fn), { action, resource: 'TABLE', keys: { 'dynamodb:LeadingKeys': ['L#acme'] } }),
      ),
    );
    expect(ledgerWriters).toEqual([stack.changes.function]);
    for (const fn of [stack.snapshots.function, stack.approvals.function])
      expect(
        isAllowed(statementsOf(fn), { action: 'dynamodb:Query', resource: 'TABLE', keys: { 'dynamodb:LeadingKeys': ['L#acme'] } }),
      ).toBe(true);
  });

  it('grants no function Scan, nor any index but gsi1, nor the whole table without a partition-key condition', () => {
    const fns = [stack.snapshots.function, stack.changes.function, stack.changes.sweeper, stack.approvals.function];
    for (const fn of fns) {
      for (const statement of tableStatements(stack, template, fn.role)) {
        expect([statement.Action].flat()).not.toContain('dynamodb:Scan');
        expect(statement.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys']).toEqual(expect.any(Array));
        expect(['TABLE', 'TABLE/index/gsi1']).toContain(statement.Resource);
      }
    }
  });
});

const resourcePolicy = (template: Template) => apiResourcePolicy(template, { account: ACCOUNT, region: 'eu-west-1', apiId: 'api1234' });

const invoke = (statements: Statement[], principalArn: string, method: string, path: string) =>
  isAllowed(
    statements,
    { action: 'execute-api:Invoke', resource: `arn:aws:execute-api:eu-west-1:${ACCOUNT}:api1234/prod/${method}${path}`, principalArn },
    { resourcePolicy: true },
  );

describe('the approval API resource policy', () => {
  const role = (account: string, name: string, path = '/') => ({
    userArn: `arn:aws:sts::${account}:assumed-role/${name}/someone`,
    principalArn: `arn:aws:iam::${account}:role${path}${name}`,
  });
  const engineers = role(ACCOUNT, 'AWSReservedSSO_Engineers_0123abcd', '/aws-reserved/sso.amazonaws.com/eu-west-1/');
  const board = role(ACCOUNT, 'AWSReservedSSO_ChangeBoard_99ff', '/aws-reserved/sso.amazonaws.com/');
  const deployer = role(ACCOUNT, 'Deployer');
  const stranger = role('444455556666', 'AWSReservedSSO_ChangeBoard_99ff', '/aws-reserved/sso.amazonaws.com/');
  const user = { userArn: `arn:aws:iam::${ACCOUNT}:user/ops/carol`, principalArn: `arn:aws:iam::${ACCOUNT}:user/ops/carol` };
  const access = {
    proposers: [`arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_Engineers_*/*`],
    approvers: [`arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_ChangeBoard_*/*`, `arn:aws:iam::${ACCOUNT}:user/ops/carol`],
  };
  const routes: Array<[string, string, Route[]]> = [
    ['POST', '/requests', ['propose']],
    ['POST', '/requests/r-1/approve', ['approve']],
    ['POST', '/requests/r-1/reject', ['reject', 'withdraw']],
    ['POST', '/tenants/acme/drift/accept', ['approve']],
    ['GET', '/requests', ['read']],
    ['GET', '/tenants/acme/history', ['read']],
    ['GET', '/whoami', ['read']],
  ];

  it('allows only the deploying account when every list is open, and denies no route', () => {
    const policy = resourcePolicy(synth().template);
    expect(policy).toEqual([
      {
        Sid: 'AccountCallersOnly',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
        Action: 'execute-api:Invoke',
        Resource: [`arn:aws:execute-api:eu-west-1:${ACCOUNT}:api1234/*`],
      },
    ]);
    expect(invoke(policy, deployer.principalArn, 'POST', '/requests/r-1/approve')).toBe(true);
    expect(invoke(policy, stranger.principalArn, 'GET', '/whoami')).toBe(false);
  });

  it('denies each route at IAM to exactly the callers the function refuses there (listed roles, any session)', () => {
    const { template } = synth({ access });
    const policy = resourcePolicy(template);
    const config: AccessConfig = { ...DEFAULT_ACCESS, ...access };
    for (const caller of [engineers, board, deployer, stranger, user]) {
      for (const [method, path, checks] of routes) {
        const inner = checks.some((route) => forbiddenReason(caller.userArn, route, config) === undefined);
        // The deploying account's own principals only: a caller of another account is refused whatever its lists.
        const expected = inner && caller !== stranger;
        expect([caller.userArn, method, path, invoke(policy, caller.principalArn, method, path)]).toEqual([
          caller.userArn,
          method,
          path,
          expected,
        ]);
      }
    }
    expect(Annotations.fromStack(synth({ access }).stack).findWarning('*', Match.stringLikeRegexp('sdim-guard:access'))).toEqual([]);
  });

  it('lets more accounts and an organization in when apiCallers says so, and the route denies still hold for them', () => {
    const anyAccount = { ...access, approvers: ['arn:aws:sts::*:assumed-role/AWSReservedSSO_ChangeBoard_*/*'] };
    expect(invoke(resourcePolicy(synth({ access: anyAccount }).template), stranger.principalArn, 'POST', '/requests/r-1/approve')).toBe(
      false,
    );
    const policy = resourcePolicy(
      synth({ access: anyAccount, apiCallers: { accounts: ['444455556666'], organizationId: 'o-abcdef1234' } }).template,
    );
    expect(invoke(policy, stranger.principalArn, 'POST', '/requests/r-1/approve')).toBe(true);
    expect(invoke(policy, stranger.principalArn, 'POST', '/requests')).toBe(false);
    expect(invoke(policy, role('777788889999', 'AWSReservedSSO_ChangeBoard_1').principalArn, 'GET', '/whoami')).toBe(false);
    expect(policy.find((s) => s.Sid === 'OrganizationCallers')).toMatchObject({
      Principal: { AWS: '*' },
      Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-abcdef1234' } },
    });
  });

  it.each([
    [{ accounts: ['12345'] }, /apiCallers.accounts must be a list of 12-digit/],
    [{ organizationId: 'org-1' }, /apiCallers.organizationId must be an AWS Organizations id/],
    [{ account: ['111122223333'] }, /apiCallers: unknown field\(s\) account/],
    [['111122223333'], /apiCallers must be an object/],
  ])('refuses apiCallers %j', (apiCallers, message) => {
    expect(() => synth({ apiCallers: apiCallers as SdimGuardStackProps['apiCallers'] })).toThrow(message);
  });

  it('warns at synth, naming the pattern, when a list holds a pattern IAM cannot express, and leaves that route to the function', () => {
    const { stack, template } = synth({ access: { ...access, proposers: ['alice-local-name'] } });
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('alice-local-name'));
    expect(warnings.map((w) => w.entry.data)).toEqual([
      expect.stringMatching(/^POST \/requests gets no IAM-level deny: 'alice-local-name' is not an IAM ARN pattern/),
      expect.stringMatching(/^POST \/requests\/\*\/reject gets no IAM-level deny/),
      expect.stringMatching(/^GET \/\* gets no IAM-level deny/),
    ]);
    const policy = resourcePolicy(template);
    expect(invoke(policy, deployer.principalArn, 'POST', '/requests')).toBe(true);
    expect(invoke(policy, deployer.principalArn, 'POST', '/requests/r-1/approve')).toBe(false);
  });

  it('refuses a policy over API Gateway 8 KB limit at synth', () => {
    const many = Array.from({ length: 120 }, (_, i) => `arn:aws:iam::${ACCOUNT}:user/person-number-${i}`);
    expect(() => synth({ access: { proposers: many, approvers: many } })).toThrow(/over API Gateway's 8192/);
  });

  it('keeps cdk-nag clean with route denies and extra callers', () => {
    const { app } = synth({ access, apiCallers: { accounts: ['444455556666'], organizationId: 'o-abcdef1234' } });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
    expect(() => app.synth()).not.toThrow();
  });
});
