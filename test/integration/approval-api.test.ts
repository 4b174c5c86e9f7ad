import type { APIGatewayProxyEvent } from 'aws-lambda';
import { StaticTenantDirectory } from '../../lambdas/adapters/static-tenant-directory';
import { DEFAULT_ACCESS } from '../../lambdas/domain/identity';
import { type ApprovalApiDeps, main } from '../../lambdas/handlers/approval-api';
import { propose } from '../../lambdas/use-cases/change-requests';
import { changeHarness } from '../support/change-harness';

type Harness = Awaited<ReturnType<typeof changeHarness>>;

const event = (method: string, path: string, caller: string | null, body?: unknown): APIGatewayProxyEvent =>
  ({
    httpMethod: method,
    path,
    body: body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body),
    isBase64Encoded: false,
    queryStringParameters: null,
    requestContext: { identity: { userArn: caller } },
  }) as unknown as APIGatewayProxyEvent;

describe('the approval API handler', () => {
  let h: Harness;
  let deps: ApprovalApiDeps;
  let id: string;
  const alice = 'arn:aws:iam::111122223333:user/alice';
  const bob = 'arn:aws:sts::111122223333:assumed-role/ChangeBoard/bob';

  beforeAll(async () => {
    h = await changeHarness({ integrations: 4, seed: 71 });
    await h.snapshot();
    id = h.emulator.state.ids()[0] as string;
    deps = {
      ...h.changeDeps,
      tenants: new StaticTenantDirectory([{ name: 'acme', url: h.url, apiVersion: 'v3' }]),
      history: h.store,
      tenantFor: async () => ({ isc: h.tenantContext.isc, normalise: h.tenantContext.normalise }),
    };
  });
  afterAll(() => h.close());

  const proposal = {
    tenant: 'acme',
    reason: 'CHG-9',
    operation: { kind: 'patch', integrationId: '', patch: [{ op: 'replace', path: '/description', value: 'via API' }] },
  };

  it('takes the requester from the IAM caller, never from the body', async () => {
    const body = { ...proposal, requester: 'someone-else', operation: { ...proposal.operation, integrationId: id } };
    const created = await main(event('POST', '/requests', alice, body), deps);
    expect(created.statusCode).toBe(201);
    expect(JSON.parse(created.body)).toMatchObject({ requester: alice, status: 'pending' });
    // Withdrawn, so the next test may propose for the same integration (one open request per resource).
    expect(
      (await main(event('POST', `/requests/${JSON.parse(created.body).id}/reject`, alice, { reason: 'test done' }), deps)).statusCode,
    ).toBe(200);
  });

  it('answers 403 to the requester approving, 200 to another caller, 409 to a second approval', async () => {
    const request = await propose(
      { kind: 'patch', integrationId: id, patch: [{ op: 'replace', path: '/description', value: 'four eyes' }] },
      alice,
      'r',
      h.tenantContext,
      h.changeDeps,
    );
    expect((await main(event('POST', `/requests/${request.id}/approve`, alice), deps)).statusCode).toBe(403);
    const approved = await main(event('POST', `/requests/${request.id}/approve`, bob), deps);
    expect(approved.statusCode).toBe(200);
    expect(JSON.parse(approved.body).status).toBe('queued');
    const again = await main(event('POST', `/requests/${request.id}/approve`, 'arn:aws:iam::111122223333:user/carol'), deps);
    expect(again.statusCode).toBe(409);
    expect(JSON.parse(again.body)).toEqual({ error: 'conflict', message: expect.stringMatching(/is queued, not pending/) });
  });

  it('shows approvers the change as a JSON Patch from the live object, then and now, and refuses a second open request', async () => {
    const target = h.emulator.state.ids()[2] as string;
    const live = h.emulator.state.get(target);
    const body = {
      tenant: 'acme',
      reason: 'one field',
      operation: { kind: 'replace', integrationId: target, integration: { ...live, description: 'one field changed' } },
    };
    const created = await main(event('POST', '/requests', alice, body), deps);
    expect(created.statusCode).toBe(201);
    const requestId = JSON.parse(created.body).id;
    const second = await main(event('POST', '/requests', alice, { ...body, reason: 'again' }), deps);
    expect(second.statusCode).toBe(409);
    expect(JSON.parse(second.body).message).toMatch(
      new RegExp(`request ${requestId} \\(pending, by .*alice\\) is already open for integration:${target}`),
    );

    const shown = JSON.parse((await main(event('GET', `/requests/${requestId}`, bob), deps)).body);
    expect(shown.proposedPatch).toEqual([{ op: 'replace', path: '/description', value: 'one field changed' }]);
    expect(shown.review).toMatchObject({ proposed: shown.proposedPatch, now: shown.proposedPatch, liveChangedSinceProposal: false });

    h.emulator.state.patch(target, [{ op: 'replace', path: '/name', value: 'renamed meanwhile' }]);
    const later = JSON.parse((await main(event('GET', `/requests/${requestId}`, bob), deps)).body);
    expect(later.review.liveChangedSinceProposal).toBe(true);
    expect(later.review.now).toEqual(
      expect.arrayContaining([
        { op: 'replace', path: '/description', value: 'one field changed' },
        { op: 'replace', path: '/name', value: live.name },
      ]),
    );
    await main(event('POST', `/requests/${requestId}/reject`, alice, { reason: 'done' }), deps);
  });

  describe('four eyes against one person with several principals', () => {
    const role = (name: string, session: string) => `arn:aws:sts::111122223333:assumed-role/${name}/${session}`;
    const proposeAs = async (caller: string, value: string, extra: Partial<ApprovalApiDeps> = {}) => {
      const body = {
        ...proposal,
        operation: {
          ...proposal.operation,
          integrationId: h.emulator.state.ids()[1],
          patch: [{ op: 'replace', path: '/description', value }],
        },
      };
      const response = await main(event('POST', '/requests', caller, body), { ...deps, ...extra });
      expect(response.statusCode).toBe(201);
      return JSON.parse(response.body).id as string;
    };
    const approveAs = (requestId: string, caller: string, extra: Partial<ApprovalApiDeps> = {}) =>
      main(event('POST', `/requests/${requestId}/approve`, caller), { ...deps, ...extra });
    const withdraw = (requestId: string) => main(event('POST', `/requests/${requestId}/reject`, alice, { reason: 'cleanup' }), deps);

    it('refuses mallory approving her own proposal from another session of the same role', async () => {
      const requestId = await proposeAs(role('ChangeBoard', 'mallory'), 'self-approved');
      const response = await approveAs(requestId, role('ChangeBoard', 'mallory-2'));
      expect(response.statusCode).toBe(403);
      expect(JSON.parse(response.body).message).toMatch(
        /cannot approve it \(.*mallory-2 and .*mallory are the same person as far as sdim-guard can tell\)/,
      );
      expect((await h.requests.get(requestId))?.status).toBe('pending');
      await withdraw(requestId);
    });

    it('refuses a case variant of the requester, and one person counting twice when two approvals are required', async () => {
      const two = { approvalsRequired: 2 };
      const iamRequest = await proposeAs('arn:aws:iam::111122223333:user/mallory', 'case variant', two);
      expect((await approveAs(iamRequest, 'arn:aws:iam::111122223333:user/Mallory', two)).statusCode).toBe(403);
      await withdraw(iamRequest);
      const requestId = await proposeAs(alice, 'two sessions', two);
      expect((await approveAs(requestId, role('ChangeBoard', 'mallory'), two)).statusCode).toBe(200);
      const second = await approveAs(requestId, role('ChangeBoard', 'Mallory'), two);
      expect(second.statusCode).toBe(409);
      expect(JSON.parse(second.body).message).toMatch(/already approved request .* as .*ChangeBoard\/mallory \(the same person/);
      const third = await approveAs(requestId, role('ChangeBoard', 'mallory-2'), two);
      expect(third.statusCode).toBe(409);
      expect((await h.requests.get(requestId))?.status).toBe('pending');
      await withdraw(requestId);
    });

    it('lets Identity Center users of the same permission set approve each other, and applies the change', async () => {
      const sso = (user: string) => role('AWSReservedSSO_ChangeBoard_0123456789abcdef', user);
      const requestId = await proposeAs(sso('alice@example.com'), 'identity center four eyes');
      expect((await approveAs(requestId, sso('ALICE@example.com'))).statusCode).toBe(403);
      const approved = await approveAs(requestId, sso('bob@example.com'));
      expect(approved.statusCode).toBe(200);
      expect(JSON.parse(approved.body)).toMatchObject({
        status: 'queued',
        approvals: [{ by: sso('bob@example.com'), persons: ['sso:bob@example.com'] }],
      });
      await h.drain();
      expect((await h.requests.get(requestId))?.status).toBe('applied');
      expect(h.emulator.state.get(h.emulator.state.ids()[1] as string).description).toBe('identity center four eyes');
    });

    it('joins principals through people: alice as IAM user cannot approve alice as Identity Center user', async () => {
      const access = { ...DEFAULT_ACCESS, people: { alice: [alice, role('AWSReservedSSO_*', 'alice@example.com')] } };
      const requestId = await proposeAs(alice, 'people join', { access });
      const response = await approveAs(requestId, role('AWSReservedSSO_Admin_1', 'alice@example.com'), { access });
      expect(response.statusCode).toBe(403);
      await withdraw(requestId);
    });

    it('answers 403 with the reason to callers the access configuration does not name for a route', async () => {
      const access = { ...DEFAULT_ACCESS, proposers: ['arn:aws:iam::*:user/*'], approvers: [role('AWSReservedSSO_ChangeBoard_*', '*')] };
      const body = { ...proposal, operation: { ...proposal.operation, integrationId: id } };
      const proposed = await main(event('POST', '/requests', bob, body), { ...deps, access });
      expect(proposed.statusCode).toBe(403);
      expect(JSON.parse(proposed.body).message).toBe(`${bob} may not propose change requests: it matches none of the configured proposers`);
      const requestId = await proposeAs(alice, 'authorized proposer', { access });
      const approval = await approveAs(requestId, bob, { access });
      expect(approval.statusCode).toBe(403);
      expect(JSON.parse(approval.body).message).toMatch(/may not approve change requests/);
      const read = await main(event('GET', `/requests/${requestId}`, 'arn:aws:iam::999999999999:role/x'), {
        ...deps,
        access: { ...access, proposers: ['nobody'] },
      });
      expect(read.statusCode).toBe(403);
      // The requester may withdraw their own request without being an approver; someone else may not reject it.
      expect(
        (
          await main(event('POST', `/requests/${requestId}/reject`, 'arn:aws:iam::111122223333:user/carol', { reason: 'no' }), {
            ...deps,
            access,
          })
        ).statusCode,
      ).toBe(403);
      expect(
        (await main(event('POST', `/requests/${requestId}/reject`, alice, { reason: 'withdrawn' }), { ...deps, access })).statusCode,
      ).toBe(200);
    });
  });

  it.each([
    ['no caller', event('GET', '/requests', null), 403],
    ['an unknown request', event('GET', '/requests/nope', alice), 404],
    ['an unknown route', event('DELETE', '/requests/x', alice), 404],
    ['a body that is not JSON', event('POST', '/requests', alice, '{oops'), 400],
    ['a missing reason', event('POST', '/requests', alice, { ...proposal, reason: '' }), 400],
    ['an unknown operation kind', event('POST', '/requests', alice, { ...proposal, operation: { kind: 'rename' } }), 400],
    [
      'an unknown tenant',
      event('POST', '/requests', alice, { ...proposal, tenant: 'globex', operation: { ...proposal.operation, integrationId: 'x' } }),
      404,
    ],
    [
      'a non-replace patch',
      event('POST', '/requests', alice, {
        ...proposal,
        operation: { kind: 'patch', integrationId: 'x', patch: [{ op: 'add', path: '/a', value: 1 }] },
      }),
      400,
    ],
    ['a rejection without a reason', event('POST', '/requests/x/reject', alice, {}), 400],
    [
      'an unknown status filter',
      { ...event('GET', '/requests', alice), queryStringParameters: { status: 'done' } } as APIGatewayProxyEvent,
      400,
    ],
  ])('answers %s with %i and a message, never a stack trace', async (_case, request, status) => {
    const response = await main(request, deps);
    expect(response.statusCode).toBe(status);
    const body = JSON.parse(response.body);
    expect(body).toEqual({ error: expect.any(String), message: expect.any(String) });
    expect(response.body).not.toMatch(/at .*\.ts:\d+/);
  });

  it('lists requests by status', async () => {
    const response = await main(
      { ...event('GET', '/requests', bob), queryStringParameters: { status: 'pending' } } as APIGatewayProxyEvent,
      deps,
    );
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body).every((r: { status: string }) => r.status === 'pending')).toBe(true);
  });
});
