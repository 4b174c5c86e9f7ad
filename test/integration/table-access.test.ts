import { randomBytes } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import type { APIGatewayProxyEvent, SQSEvent } from 'aws-lambda';
import { DynamoChangeRequestStore } from '../../lambdas/adapters/dynamodb/change-request-store';
import { createDocumentClient } from '../../lambdas/adapters/dynamodb/clients';
import { DynamoSnapshotStore } from '../../lambdas/adapters/dynamodb/snapshot-store';
import { StaticTenantDirectory } from '../../lambdas/adapters/static-tenant-directory';
import type { ChangeRequest } from '../../lambdas/domain/change-request';
import { DEFAULT_ACCESS } from '../../lambdas/domain/identity';
import { type ApplyHandlerDeps, main as applyMain } from '../../lambdas/handlers/apply';
import { type ApprovalApiDeps, main as apiMain } from '../../lambdas/handlers/approval-api';
import { main as snapshotMain } from '../../lambdas/handlers/snapshot';
import { main as sweeperMain } from '../../lambdas/handlers/sweeper';
import type { Clock } from '../../lambdas/ports/clock';
import type { SecretsPort } from '../../lambdas/ports/secrets';
import { DEFAULT_SETTINGS } from '../../lambdas/settings';
import { applyChange, resolveByReading } from '../../lambdas/use-cases/apply-change';
import type { ChangeDeps } from '../../lambdas/use-cases/change-requests';
import { tenantResolver } from '../../lambdas/wiring';
import { SdimGuardStack } from '../../lib/sdim-guard-stack';
import { LocalFifoQueue } from '../../local/runtime/fifo-queue';
import { MemoryVault } from '../support/change-harness';
import { freshTable } from '../support/dynamodb';
import { startEmulator, TEST_CLIENT } from '../support/emulator';
import { isAllowed, type Json, resolveIntrinsics, type Statement } from '../support/iam-policy';
import { MemoryNotifier } from '../support/memory-notifier';
import { recordAccesses, type TableAccess } from '../support/table-recorder';

// Every DynamoDB request each function's real flows send (recorded from the wire, against DynamoDB Local), checked
// against the IAM policy the stack synthesizes for that function. A request the policy would refuse is a deployment
// that breaks in AWS; a request outside what the function is meant to touch is a grant wider than it should be.

const ACCOUNT = '111122223333';
const TABLE_ARN = `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/sdim-guard-history`;
const alice = `arn:aws:iam::${ACCOUNT}:user/alice`;
const bob = `arn:aws:sts::${ACCOUNT}:assumed-role/ChangeBoard/bob`;

type Fn = 'snapshot' | 'apply' | 'sweeper' | 'approvalApi';

/** The statements of every identity policy attached to a function's role, with the table's ARN filled in. */
function synthesizedPolicies(): Record<Fn, Statement[]> {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new SdimGuardStack(app, 'Access', {
    tenants: [{ name: 'acme', url: 'https://acme.api.identitynow.com' }],
    apiGatewayLogsRole: 'existing',
  });
  const template = Template.fromStack(stack);
  const id = (construct: { node: { defaultChild?: unknown } }) => Stack.of(stack).getLogicalId(construct.node.defaultChild as CfnElement);
  const tableId = id(stack.store.table);
  const statementsOf = (role: IRole | undefined) => {
    if (!role) throw new Error('a function without a role');
    const roleId = id(role as unknown as { node: { defaultChild?: unknown } });
    return Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Json[])
      .map(
        (s) =>
          resolveIntrinsics(
            s,
            { [tableId]: TABLE_ARN },
            { 'AWS::Partition': 'aws', 'AWS::AccountId': ACCOUNT, 'AWS::Region': 'eu-west-1' },
          ) as unknown as Statement,
      );
  };
  return {
    snapshot: statementsOf(stack.snapshots.function.role),
    apply: statementsOf(stack.changes.function.role),
    sweeper: statementsOf(stack.changes.sweeper.role),
    approvalApi: statementsOf(stack.approvals.function.role),
  };
}

/** Would AWS allow this access to this function? */
const allows = (statements: Statement[], access: TableAccess) =>
  isAllowed(statements, {
    action: `dynamodb:${access.action}`,
    resource: access.index ? `${TABLE_ARN}/index/${access.index}` : TABLE_ARN,
    keys: { 'dynamodb:LeadingKeys': access.leadingKeys },
  });

/** `Action family` per access, e.g. `PutItem CR#*`, for readable assertions. */
const family = (a: TableAccess) =>
  a.leadingKeys.map(
    (k) => `${a.action}${a.index ? ` index:${a.index}` : ''} ${k.replace(/^(T#|CR#|R#|L#)[^#]*(#S)?.*$/, (_m, p, s) => `${p}*${s ?? ''}`)}`,
  );

describe('each function touches only the table items its grant names, and its grant covers everything it touches', () => {
  const recorded: Record<Fn, TableAccess[]> = { snapshot: [], apply: [], sweeper: [], approvalApi: [] };
  let policies: Record<Fn, Statement[]>;

  beforeAll(async () => {
    policies = synthesizedPolicies();

    // Prepare: one tenant (the emulator, 120 integrations so the first snapshot commits in phases with batch writes),
    // one table, and each function's dependencies composed as its Lambda wiring composes them, each on its own
    // recorded client.
    const { emulator, url } = await startEmulator({ integrations: 120, seed: 909, rateLimit: false });
    const table = await freshTable();
    const client = (fn: Fn) => {
      const db = createDocumentClient({ endpoint: process.env.SDIM_GUARD_TEST_DYNAMODB });
      recordAccesses(db, recorded[fn]);
      return db;
    };
    const dbs = { snapshot: client('snapshot'), apply: client('apply'), sweeper: client('sweeper'), approvalApi: client('approvalApi') };
    let now = new Date('2026-11-24T10:00:00.000Z');
    const advance = (ms: number) => {
      now = new Date(now.getTime() + ms);
    };
    const clock: Clock = { now: () => new Date(now) };
    const key = randomBytes(32);
    const secrets: SecretsPort = { tenantCredentials: async () => TEST_CLIENT, fingerprintKey: async () => key };
    const tenants = new StaticTenantDirectory([{ name: 'acme', url, apiVersion: 'v1' }]);
    const access = { ...DEFAULT_ACCESS };
    const notifier = new MemoryNotifier();
    const vault = new MemoryVault();
    const queue = new LocalFifoQueue({ visibilityTimeoutMs: 20, maxReceiveCount: 6 });
    const resolver = () => tenantResolver(tenants, secrets, DEFAULT_SETTINGS, { rateLimit: false });
    const changeDeps = (fn: 'sweeper' | 'approvalApi'): ChangeDeps => ({
      requests: new DynamoChangeRequestStore(dbs[fn], table.tableName),
      vault,
      queue,
      clock,
      newId: () => `req-${randomBytes(6).toString('hex')}`,
      approvalsRequired: 1,
      access,
      sealKey: secrets.fingerprintKey,
    });
    const api: ApprovalApiDeps = {
      ...changeDeps('approvalApi'),
      tenants,
      history: new DynamoSnapshotStore(dbs.approvalApi, table.tableName, clock.now),
      tenantFor: resolver(),
      maxAcceptanceDays: 90,
    };
    const applyDeps: ApplyHandlerDeps = {
      requests: new DynamoChangeRequestStore(dbs.apply, table.tableName),
      vault,
      notifier,
      clock,
      tenantFor: resolver(),
      deadLetters: queue,
      maxReceiveCount: 6,
      access,
      leaseMs: 0,
    };
    const snapshot = () =>
      snapshotMain({ tenant: 'acme' }, {
        tenants,
        store: new DynamoSnapshotStore(dbs.snapshot, table.tableName, clock.now),
        secrets,
        notifier,
        clock,
        settings: DEFAULT_SETTINGS,
        clientOptions: { rateLimit: false },
      } as Parameters<typeof snapshotMain>[1]);
    const call = async (method: string, path: string, caller: string, body?: unknown, query?: Record<string, string>) => {
      const event = {
        httpMethod: method,
        path,
        body: body === undefined ? null : JSON.stringify(body),
        isBase64Encoded: false,
        queryStringParameters: query ?? null,
        requestContext: { identity: { userArn: caller } },
      } as unknown as APIGatewayProxyEvent;
      const response = await apiMain(event, api);
      if (response.statusCode >= 300) throw new Error(`${method} ${path}: ${response.statusCode} ${response.body}`);
      return JSON.parse(response.body);
    };
    const propose = async (operation: Record<string, unknown>) =>
      (await call('POST', '/requests', alice, { tenant: 'acme', reason: 'CHG-1', operation })).id as string;
    const approve = (id: string) => call('POST', `/requests/${id}/approve`, bob);
    const drain = () => queue.drain((event: SQSEvent) => applyMain(event, applyDeps));
    const admin = new DynamoChangeRequestStore(table.db, table.tableName);
    const status = async (id: string) => (await admin.get(id))?.status;
    const ids = emulator.state.ids();
    const integration = (n: number) => ids[n] as string;
    /** The real credentials behind the fingerprints version 1 of an integration holds (a revert must supply them). */
    const credentialsOf = async (id: string) => {
      const stored = (await new DynamoSnapshotStore(table.db, table.tableName).getVersionContent('acme', `integration:${id}`, 1)) as {
        attributes: Record<string, unknown>;
      };
      const secretKeys = Object.keys(stored.attributes).filter((k) => JSON.stringify(stored.attributes[k]).includes('$secret'));
      return Object.fromEntries(secretKeys.map((k) => [`/attributes/${k}`, emulator.state.get(id).attributes[k]]));
    };
    const patch = (n: number, value: string) => ({
      kind: 'patch',
      integrationId: integration(n),
      patch: [{ op: 'replace', path: '/description', value }],
    });

    try {
      // Act. Snapshot: the baseline (in phases), then a drift, then alerts marked sent.
      await snapshot();
      emulator.state.patch(integration(0), [{ op: 'replace', path: '/description', value: 'by hand' }]);
      advance(15 * 60_000);
      await snapshot();

      // The approval API's read side and drift acceptance.
      await call('GET', '/whoami', alice);
      await call('GET', '/tenants', alice);
      await call('GET', '/tenants/acme/drift', alice);
      await call('POST', '/tenants/acme/drift/accept', bob, {
        keys: [`integration:${integration(0)}`],
        reason: 'known',
        until: '2026-12-20',
      });
      await call('GET', '/tenants/acme/history', alice);
      await call('GET', '/tenants/acme/versions', alice, undefined, { key: `integration:${integration(0)}` });
      await call('GET', '/tenants/acme/compare', alice, undefined, { key: `integration:${integration(0)}`, from: '1', to: '2' });
      await call('GET', '/tenants/acme/verify', alice);
      await call('GET', '/tenants/acme/integrations', alice);

      // Every operation proposed, reviewed and approved through the API, then applied.
      const live = emulator.state.get(integration(3));
      const applied = [
        await propose(patch(1, 'patched')),
        await propose({ kind: 'delete', integrationId: integration(2) }),
        await propose({ kind: 'replace', integrationId: integration(3), integration: { ...live, description: 'replaced' } }),
        await propose({ kind: 'create', integration: { ...live, name: 'created by request', description: 'new' } }),
        await propose({
          kind: 'status-check',
          config: { provisioningStatusCheckIntervalMinutes: '45', provisioningMaxStatusCheckDays: '3' },
        }),
        await propose({ kind: 'revert', integrationId: integration(0), version: 1, secrets: await credentialsOf(integration(0)) }),
      ];
      await call('GET', '/requests', alice);
      await call('GET', '/requests', alice, undefined, { status: 'pending', tenant: 'acme' });
      await call('GET', `/requests/${applied[0]}`, bob);
      await call('GET', `/requests/${applied[0]}/view`, bob);
      for (const id of applied) await approve(id);
      await drain();
      expect(await Promise.all(applied.map(status))).toEqual(applied.map(() => 'applied'));
      // A duplicate delivery of a finished request.
      queue.sendRaw(JSON.stringify({ requestId: applied[0] }), 'dup');
      await drain();

      // A conflict (the live object moved after approval) and a refusal (the item edited after approval).
      const conflicting = await propose(patch(4, 'approved'));
      await approve(conflicting);
      emulator.state.patch(integration(4), [{ op: 'replace', path: '/description', value: 'moved meanwhile' }]);
      const tampered = await propose(patch(5, 'approved'));
      await approve(tampered);
      const item = (await admin.get(tampered)) as ChangeRequest;
      await admin.save({ ...item, operation: patch(5, 'insider') as ChangeRequest['operation'], revision: item.revision + 1 });
      await drain();
      expect([await status(conflicting), await status(tampered)]).toEqual(['conflict', 'refused']);

      // Rejected by an approver, withdrawn by the requester.
      await call('POST', `/requests/${await propose(patch(6, 'no'))}/reject`, bob, { reason: 'no' });
      await call('POST', `/requests/${await propose(patch(6, 'withdrawn'))}/reject`, alice, { reason: 'mine' });

      // The snapshot after the applied changes: the ledger explains them.
      advance(15 * 60_000);
      await snapshot();

      // Sweeper: an approval whose queue send was lost (re-queued), an apply that died holding its claim (re-sent),
      // a request that ran out of time (expired).
      const stranded = await propose(patch(7, 'stranded'));
      await apiMain(
        {
          httpMethod: 'POST',
          path: `/requests/${stranded}/approve`,
          body: null,
          isBase64Encoded: false,
          queryStringParameters: null,
          requestContext: { identity: { userArn: bob } },
        } as unknown as APIGatewayProxyEvent,
        { ...api, queue: { enqueue: async () => Promise.reject(new Error('SQS unreachable')) } },
      );
      const dying = await propose(patch(8, 'dying'));
      await approve(dying);
      await expect(
        applyChange(dying, {
          ...applyDeps,
          checkpoint: (step) => {
            if (step === 'claimed') throw new Error('killed');
          },
        }),
      ).rejects.toThrow('killed');
      const expiring = await propose(patch(9, 'too late'));
      advance(3 * 60_000);
      await sweeperMain(changeDeps('sweeper'));
      advance(8 * 24 * 3_600_000);
      await sweeperMain(changeDeps('sweeper'));
      expect(await status(expiring)).toBe('expired');

      // The last delivery settles a request by reading ISC; and one that ISC cannot be read for stays applying.
      const settled = await propose(patch(10, 'settled'));
      await approve(settled);
      await expect(
        applyChange(settled, {
          ...applyDeps,
          checkpoint: (step) => {
            if (step === 'isc-called') throw new Error('killed');
          },
        }),
      ).rejects.toThrow('killed');
      expect(await resolveByReading(settled, 'gave up after 6 deliveries', applyDeps)).toBe('applied');
      await drain();
      // The API's list expires what ran out on the way (a write from a read route).
      await propose(patch(11, 'expires on a list'));
      advance(8 * 24 * 3_600_000);
      await call('GET', '/requests', alice);
    } finally {
      await emulator.stop();
      for (const db of Object.values(dbs)) db.destroy();
      await table.drop();
    }
  }, 240_000);

  it.each(['snapshot', 'apply', 'sweeper', 'approvalApi'] as const)('%s: its synthesized policy allows every access it made', (fn) => {
    expect(recorded[fn].length).toBeGreaterThan(0);
    const refused = recorded[fn].filter((a) => !allows(policies[fn], a)).flatMap(family);
    expect([...new Set(refused)]).toEqual([]);
  });

  it('records what each function really does (the flows above reach every kind of access the grants name)', () => {
    const kinds = (fn: Fn) => [...new Set(recorded[fn].flatMap(family))].sort();
    console.log(
      `table access recorded: ${(Object.keys(recorded) as Fn[]).map((fn) => `${fn} ${recorded[fn].length} accesses (transaction parts counted apart) in ${kinds(fn).length} kinds`).join(', ')}`,
    );
    expect(kinds('snapshot')).toEqual([
      'BatchGetItem R#*',
      // the detection records of the drift items a change would close (the revert of a drifted integration)
      'BatchGetItem T#*',
      'BatchWriteItem R#*',
      'BatchWriteItem T#*',
      'DeleteItem T#*',
      'PutItem R#*',
      'PutItem T#*',
      'Query L#*',
      'Query T#*',
      'UpdateItem T#*',
    ]);
    expect(kinds('apply')).toEqual(['GetItem CR#*', 'PutItem CR#*', 'PutItem L#*', 'PutItem T#*', 'Query T#*']);
    // (Its GetItem CR#* grant is for a re-queue that loses a race, which these flows do not provoke.)
    expect(kinds('sweeper')).toEqual(['PutItem CR#*', 'PutItem T#*', 'Query T#*', 'Query index:gsi1 CR']);
    expect(kinds('approvalApi')).toEqual([
      'BatchGetItem T#*',
      'GetItem CR#*',
      'GetItem R#*',
      'PutItem CR#*',
      'PutItem T#*',
      'Query L#*',
      'Query R#*',
      'Query T#*',
      'Query index:gsi1 CR',
      'Query index:gsi1 T#*#S',
    ]);
  });

  it('the snapshot function never touched a change request nor the request index', () => {
    expect(recorded.snapshot.filter((a) => a.index !== undefined || a.leadingKeys.some((k) => k === 'CR' || k.startsWith('CR#')))).toEqual(
      [],
    );
  });

  it('refuses, with the same evaluator, what each function must not do', () => {
    const forbidden: Array<[Fn, TableAccess]> = [
      ['snapshot', { action: 'PutItem', leadingKeys: ['CR#x'] }],
      ['snapshot', { action: 'GetItem', leadingKeys: ['CR#x'] }],
      ['snapshot', { action: 'Query', index: 'gsi1', leadingKeys: ['CR'] }],
      ['snapshot', { action: 'BatchWriteItem', leadingKeys: ['T#acme', 'CR#x'] }],
      ['snapshot', { action: 'PutItem', leadingKeys: ['TENANT'] }],
      ['snapshot', { action: 'Scan', leadingKeys: [] }],
      ['approvalApi', { action: 'PutItem', leadingKeys: ['R#acme#integration:1'] }],
      ['approvalApi', { action: 'DeleteItem', leadingKeys: ['T#acme'] }],
      // A forged ledger entry would make a hand edit in ISC look approved.
      ['approvalApi', { action: 'PutItem', leadingKeys: ['L#acme'] }],
      ['snapshot', { action: 'PutItem', leadingKeys: ['L#acme'] }],
      ['sweeper', { action: 'PutItem', leadingKeys: ['L#acme'] }],
      ['snapshot', { action: 'BatchWriteItem', leadingKeys: ['T#acme', 'L#acme'] }],
      ['approvalApi', { action: 'Query', index: 'other', leadingKeys: ['CR'] }],
      ['apply', { action: 'PutItem', leadingKeys: ['R#acme#integration:1'] }],
      ['apply', { action: 'Query', index: 'gsi1', leadingKeys: ['CR'] }],
      ['apply', { action: 'GetItem', leadingKeys: ['T#acme'] }],
      ['sweeper', { action: 'Query', index: 'gsi1', leadingKeys: ['T#acme#S'] }],
      ['sweeper', { action: 'UpdateItem', leadingKeys: ['CR#x'] }],
    ];
    for (const [fn, access] of forbidden) expect([fn, access, allows(policies[fn], access)]).toEqual([fn, access, false]);
    // And the same evaluator allows what the grants name (so the refusals above are not an evaluator that says no).
    expect(allows(policies.approvalApi, { action: 'PutItem', leadingKeys: ['CR#x'] })).toBe(true);
    expect(allows(policies.snapshot, { action: 'BatchWriteItem', leadingKeys: ['T#acme', 'R#acme#k'] })).toBe(true);
  });
});

describe('a large snapshot that dies between its commit and its heads', () => {
  it('leaves the approval API reading the committed state within its grant, writing nothing', async () => {
    // Prepare: a baseline, then 60 integrations renamed by hand (versions, heads and drifts: too many for one
    // transaction, so the snapshot commits in phases), and a snapshot killed right after its commit, as a Lambda
    // timeout would: its first batch of heads never leaves.
    const policies = synthesizedPolicies();
    const recorded: TableAccess[] = [];
    const { emulator, url } = await startEmulator({ integrations: 80, seed: 313, rateLimit: false });
    const table = await freshTable();
    const snapshotDb = createDocumentClient({ endpoint: process.env.SDIM_GUARD_TEST_DYNAMODB });
    const apiDb = createDocumentClient({ endpoint: process.env.SDIM_GUARD_TEST_DYNAMODB });
    recordAccesses(apiDb, recorded);
    const bySnapshot: TableAccess[] = [];
    recordAccesses(snapshotDb, bySnapshot);
    let killAtHeads = false;
    snapshotDb.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { RequestItems?: unknown };
        if (killAtHeads && input.RequestItems && JSON.stringify(input.RequestItems).includes('"H#'))
          throw new Error('killed before its heads');
        return next(args);
      },
      { step: 'initialize', name: 'killAtHeads' },
    );
    const now = new Date('2026-11-24T10:00:00.000Z');
    const clock: Clock = { now: () => new Date(now) };
    const key = randomBytes(32);
    const secrets: SecretsPort = { tenantCredentials: async () => TEST_CLIENT, fingerprintKey: async () => key };
    const tenants = new StaticTenantDirectory([{ name: 'acme', url, apiVersion: 'v1' }]);
    const snapshot = () =>
      snapshotMain({ tenant: 'acme' }, {
        tenants,
        store: new DynamoSnapshotStore(snapshotDb, table.tableName, clock.now),
        secrets,
        notifier: new MemoryNotifier(),
        clock,
        settings: DEFAULT_SETTINGS,
        clientOptions: { rateLimit: false },
      } as Parameters<typeof snapshotMain>[1]);
    const api: ApprovalApiDeps = {
      requests: new DynamoChangeRequestStore(apiDb, table.tableName),
      vault: new MemoryVault(),
      queue: new LocalFifoQueue({ visibilityTimeoutMs: 20, maxReceiveCount: 6 }),
      clock,
      newId: () => `req-${randomBytes(6).toString('hex')}`,
      approvalsRequired: 1,
      access: { ...DEFAULT_ACCESS },
      sealKey: secrets.fingerprintKey,
      tenants,
      history: new DynamoSnapshotStore(apiDb, table.tableName, clock.now),
      tenantFor: tenantResolver(tenants, secrets, DEFAULT_SETTINGS, { rateLimit: false }),
      maxAcceptanceDays: 90,
    };
    const call = async (path: string) => {
      const event = {
        httpMethod: 'GET',
        path,
        body: null,
        isBase64Encoded: false,
        queryStringParameters: null,
        requestContext: { identity: { userArn: alice } },
      } as unknown as APIGatewayProxyEvent;
      const response = await apiMain(event, api);
      return { status: response.statusCode, body: JSON.parse(response.body) };
    };
    const heads = async () =>
      (
        await table.db.send(
          new QueryCommand({
            TableName: table.tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :h)',
            ExpressionAttributeValues: { ':pk': 'T#acme', ':h': 'H#' },
          }),
        )
      ).Items ?? [];
    try {
      await snapshot();
      const renamed = emulator.state.ids().slice(0, 60);
      for (const id of renamed) emulator.state.patch(id, [{ op: 'replace', path: '/name', value: `renamed ${id}` }]);
      now.setTime(now.getTime() + 15 * 60_000);
      killAtHeads = true;
      await expect(snapshot()).rejects.toThrow('killed before its heads');
      killAtHeads = false;
      const stale = await heads();
      expect(stale.filter((h) => String(h.name).startsWith('renamed '))).toEqual([]);

      // Act: the approval API's reads of that tenant.
      const integrations = await call('/tenants/acme/integrations');
      const drift = await call('/tenants/acme/drift');
      const history = await call('/tenants/acme/history');

      // Assess: every access allowed by the API's synthesized policy, and none of them a write.
      expect(recorded.length).toBeGreaterThan(0);
      expect([...new Set(recorded.filter((a) => !allows(policies.approvalApi, a)).flatMap(family))]).toEqual([]);
      expect(recorded.filter((a) => !['GetItem', 'BatchGetItem', 'Query'].includes(a.action)).flatMap(family)).toEqual([]);
      // The reads show the committed snapshot #2, not the stale heads.
      expect([integrations.status, drift.status, history.status]).toEqual([200, 200, 200]);
      const rows = integrations.body as Array<{ ref: { id: string; name: string }; version: number }>;
      expect(rows).toHaveLength(81);
      for (const id of renamed) expect(rows.find((r) => r.ref.id === id)).toMatchObject({ ref: { name: `renamed ${id}` }, version: 2 });
      expect((history.body as Array<{ seq: number }>)[0]?.seq).toBe(2);
      // The dead run's drift items (written after its heads) are not there yet: the next snapshot writes them.
      expect(drift.body).toEqual([]);
      expect(await heads()).toEqual(stale);

      // The next snapshot (whose grant may write heads) rolls them forward, finds nothing new, and writes (and alerts)
      // the dead run's drift items, all within its own grant.
      now.setTime(now.getTime() + 15 * 60_000);
      bySnapshot.length = 0;
      const next = await snapshot();
      expect(next).toMatchObject({ seq: 3, changes: [], alerts: { sent: 60, pending: 0 } });
      expect((await heads()).filter((h) => String(h.name).startsWith('renamed '))).toHaveLength(60);
      expect((await call('/tenants/acme/drift')).body).toHaveLength(60);
      expect(bySnapshot.length).toBeGreaterThan(0);
      expect([...new Set(bySnapshot.filter((a) => !allows(policies.snapshot, a)).flatMap(family))]).toEqual([]);
    } finally {
      await emulator.stop();
      snapshotDb.destroy();
      apiDb.destroy();
      await table.drop();
    }
  }, 120_000);
});
