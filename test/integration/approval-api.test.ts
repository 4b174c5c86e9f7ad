import type { APIGatewayProxyEvent } from 'aws-lambda';
import { StaticTenantDirectory } from '../../lambdas/adapters/static-tenant-directory';
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
